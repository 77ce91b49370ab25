//! Grouping voice embeddings into speakers without knowing how many there
//! are: spectral clustering with the auto-tuned neighbour graph of Park et
//! al. 2020 ("Auto-Tuning Spectral Clustering for Speaker Diarization Using
//! Normalized Maximum Eigengap", NME-SC). Each window keeps its `p` most
//! similar neighbours; the number of speakers is where the Laplacian's
//! eigenvalues jump most, and `p` is the one whose jump is clearest. Then
//! k-means on the eigenvectors. No threshold to tune per channel or language:
//! GE2E similarities all sit between about 0.5 and 0.9, and a fixed distance
//! threshold (agglomerative clustering) split or merged speakers in our
//! measurements (docs/diarization.md).
//!
//! Deterministic: the same embeddings always give the same labels.

use nalgebra::{DMatrix, SymmetricEigen};

/// Most windows clustered at once; the rest join their nearest speaker
/// (the eigen-decomposition grows with the cube of the count).
const MOST_CLUSTERED: usize = 320;
/// Fewest windows (0.75 s apart) that are split into voices at all: with
/// less speech than this (about 15 s) the eigengaps are noise, and one
/// speaker's 11 s (the JFK recording) came out as four voices.
const FEWEST_TO_SPLIT: usize = 20;
/// Smallest normalised eigengap, at the clearest neighbour count, that
/// counts as more than one voice. Calls with two or three voices measured
/// 0.129 to 0.21 (the pyannote call 0.129, the bundled sample call 0.146);
/// one speaker's 55 s (JFK, five times) 0.086, split into three voices
/// without this floor. Below it the recording is one voice: speakers then
/// stay unattributed, which is what a mono call was before diarization.
const MIN_EIGENGAP: f64 = 0.11;
/// k-means restarts (from evenly spread first centres).
const RESTARTS: usize = 8;
/// k-means iterations per restart.
const ITERATIONS: usize = 50;

/// Cosine similarity of two unit vectors.
pub fn similarity(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The neighbour counts tried: every small one, then growing by 40 %.
fn neighbour_counts(most: usize) -> Vec<usize> {
    let mut counts = Vec::new();
    let mut p = 1usize;
    while p <= most {
        counts.push(p);
        p = if p < 16 { p + 1 } else { (p * 7).div_ceil(5) };
    }
    counts
}

/// Labels each embedding with a speaker, `0..k` in order of first
/// appearance, with at most `most_speakers` speakers.
pub fn speakers(embeddings: &[Vec<f32>], most_speakers: usize) -> Vec<usize> {
    let n = embeddings.len();
    if n < FEWEST_TO_SPLIT || most_speakers < 2 {
        return vec![0; n];
    }
    let chosen: Vec<usize> = if n > MOST_CLUSTERED {
        (0..MOST_CLUSTERED)
            .map(|i| i * n / MOST_CLUSTERED)
            .collect()
    } else {
        (0..n).collect()
    };
    let sample: Vec<&[f32]> = chosen.iter().map(|&i| embeddings[i].as_slice()).collect();
    let sample_labels = spectral(&sample, most_speakers);
    let k = sample_labels.iter().max().map_or(1, |m| m + 1);
    let centroids = centroids(&sample, &sample_labels, k);
    let labels: Vec<usize> = embeddings.iter().map(|e| nearest(&centroids, e)).collect();
    in_order_of_appearance(&labels)
}

/// Unit-length mean embedding of each label.
pub fn centroids(embeddings: &[&[f32]], labels: &[usize], k: usize) -> Vec<Vec<f32>> {
    let dimensions = embeddings.first().map_or(0, |e| e.len());
    let mut sums = vec![vec![0f32; dimensions]; k];
    for (e, &label) in embeddings.iter().zip(labels) {
        for (s, v) in sums[label].iter_mut().zip(e.iter()) {
            *s += v;
        }
    }
    for sum in &mut sums {
        let norm = sum.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            sum.iter_mut().for_each(|v| *v /= norm);
        }
    }
    sums
}

/// The index of the centroid most similar to `e`.
pub fn nearest(centroids: &[Vec<f32>], e: &[f32]) -> usize {
    (0..centroids.len())
        .max_by(|&a, &b| similarity(&centroids[a], e).total_cmp(&similarity(&centroids[b], e)))
        .unwrap_or(0)
}

/// Renumbers labels so that speaker 0 is heard first, 1 second, ….
fn in_order_of_appearance(labels: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = Vec::new();
    labels
        .iter()
        .map(|&l| match order.iter().position(|&o| o == l) {
            Some(i) => i,
            None => {
                order.push(l);
                order.len() - 1
            }
        })
        .collect()
}

/// NME-SC on a set small enough to decompose.
fn spectral(embeddings: &[&[f32]], most_speakers: usize) -> Vec<usize> {
    let n = embeddings.len();
    let mut affinity = vec![vec![0f64; n]; n];
    for i in 0..n {
        for j in 0..n {
            if i != j {
                affinity[i][j] =
                    f64::from(similarity(embeddings[i], embeddings[j])).clamp(0.0, 1.0);
            }
        }
    }
    // Each row's neighbours, most similar first (ties by index, for determinism).
    let ranked: Vec<Vec<usize>> = affinity
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut order: Vec<usize> = (0..n).filter(|&j| j != i).collect();
            order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
            order
        })
        .collect();
    let most_speakers = most_speakers.min(n - 1);
    // The clearest cut so far: its ratio, and each window's coordinates in
    // the k eigenvectors of the smallest eigenvalues (k = their length); and
    // the widest normalised gap seen at any neighbour count that splits.
    let mut best: Option<(f64, Vec<Vec<f64>>)> = None;
    let mut widest_gap = 0f64;
    for p in neighbour_counts((n / 4).max(2)) {
        let mut graph = DMatrix::<f64>::zeros(n, n);
        for (i, order) in ranked.iter().enumerate() {
            for &j in order.iter().take(p) {
                graph[(i, j)] += 0.5;
                graph[(j, i)] += 0.5;
            }
        }
        let mut laplacian = -graph.clone();
        for i in 0..n {
            laplacian[(i, i)] = graph.row(i).sum();
        }
        let eigen = SymmetricEigen::new(laplacian);
        let mut ascending: Vec<usize> = (0..n).collect();
        ascending.sort_by(|&a, &b| eigen.eigenvalues[a].total_cmp(&eigen.eigenvalues[b]));
        let values: Vec<f64> = ascending.iter().map(|&i| eigen.eigenvalues[i]).collect();
        let largest = values.last().copied().unwrap_or(0.0).max(1e-10);
        let (k, gap) = (1..=most_speakers)
            .map(|k| (k, values[k] - values[k - 1]))
            .fold(
                (1, f64::MIN),
                |best, (k, gap)| if gap > best.1 { (k, gap) } else { best },
            );
        let normalised_gap = gap / largest;
        if k >= 2 {
            widest_gap = widest_gap.max(normalised_gap);
        }
        let ratio = p as f64 / normalised_gap.max(1e-10);
        if best.as_ref().is_none_or(|b| ratio < b.0) {
            let points = (0..n)
                .map(|i| {
                    ascending[..k]
                        .iter()
                        .map(|&c| eigen.eigenvectors[(i, c)])
                        .collect()
                })
                .collect();
            best = Some((ratio, points));
        }
    }
    match best {
        Some((_, points))
            if widest_gap >= MIN_EIGENGAP
                && points.first().is_some_and(|p: &Vec<f64>| p.len() >= 2) =>
        {
            let k = points[0].len();
            k_means(&points, k)
        }
        _ => vec![0; n],
    }
}

fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Lloyd's k-means from farthest-first starts; the restart with the least
/// inertia wins.
fn k_means(points: &[Vec<f64>], k: usize) -> Vec<usize> {
    let n = points.len();
    let mut best: Option<(f64, Vec<usize>)> = None;
    for restart in 0..RESTARTS.min(n) {
        let mut centres = vec![points[restart * n / RESTARTS.min(n)].clone()];
        while centres.len() < k {
            let farthest = (0..n)
                .max_by(|&a, &b| {
                    let da = centres
                        .iter()
                        .map(|c| squared_distance(c, &points[a]))
                        .fold(f64::MAX, f64::min);
                    let db = centres
                        .iter()
                        .map(|c| squared_distance(c, &points[b]))
                        .fold(f64::MAX, f64::min);
                    da.total_cmp(&db)
                })
                .unwrap_or(0);
            centres.push(points[farthest].clone());
        }
        let mut labels = vec![0usize; n];
        for _ in 0..ITERATIONS {
            let mut changed = false;
            for (i, p) in points.iter().enumerate() {
                let label = (0..k)
                    .min_by(|&a, &b| {
                        squared_distance(&centres[a], p)
                            .total_cmp(&squared_distance(&centres[b], p))
                    })
                    .unwrap_or(0);
                changed |= label != labels[i];
                labels[i] = label;
            }
            for (c, centre) in centres.iter_mut().enumerate() {
                let members: Vec<&Vec<f64>> = points
                    .iter()
                    .zip(&labels)
                    .filter(|&(_, &l)| l == c)
                    .map(|(p, _)| p)
                    .collect();
                if members.is_empty() {
                    continue;
                }
                for (d, value) in centre.iter_mut().enumerate() {
                    *value = members.iter().map(|m| m[d]).sum::<f64>() / members.len() as f64;
                }
            }
            if !changed {
                break;
            }
        }
        let inertia: f64 = points
            .iter()
            .zip(&labels)
            .map(|(p, &l)| squared_distance(p, &centres[l]))
            .sum();
        if best.as_ref().is_none_or(|b| inertia < b.0) {
            best = Some((inertia, labels));
        }
    }
    best.map(|(_, labels)| labels).unwrap_or_else(|| vec![0; n])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unit vectors near one of a few directions, with deterministic noise
    /// in every component (like voice embeddings: all positive, spread).
    fn around(directions: &[usize], per: usize) -> (Vec<Vec<f32>>, Vec<usize>) {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut noise = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 40) as f32 / (1u64 << 24) as f32
        };
        let mut embeddings = Vec::new();
        let mut truth = Vec::new();
        for i in 0..per * directions.len() {
            let speaker = directions[i % directions.len()];
            let mut v: Vec<f32> = (0..16).map(|_| 0.2 + 0.3 * noise()).collect();
            v[speaker] += 1.2;
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            embeddings.push(v.iter().map(|x| x / norm).collect());
            truth.push(speaker);
        }
        (embeddings, truth)
    }

    fn same_partition(a: &[usize], b: &[usize]) -> bool {
        (0..a.len()).all(|i| (0..a.len()).all(|j| (a[i] == a[j]) == (b[i] == b[j])))
    }

    #[test]
    fn two_voices_are_told_apart() {
        let (embeddings, truth) = around(&[2, 9], 20);
        let labels = speakers(&embeddings, 4);
        assert!(same_partition(&labels, &truth), "{labels:?}");
        assert_eq!(labels[0], 0, "the first voice heard is speaker 0");
    }

    #[test]
    fn three_voices_are_kept_apart() {
        let (embeddings, truth) = around(&[1, 6, 12], 15);
        let labels = speakers(&embeddings, 4);
        assert!(same_partition(&labels, &truth), "{labels:?}");
    }

    #[test]
    fn one_voice_stays_one_speaker() {
        let (embeddings, _) = around(&[4], 30);
        assert!(speakers(&embeddings, 4).iter().all(|&l| l == 0));
    }

    #[test]
    fn neighbour_counts_grow() {
        assert_eq!(
            neighbour_counts(30),
            (1..=16).chain([23]).collect::<Vec<_>>()
        );
    }
}

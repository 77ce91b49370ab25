//! Agreement statistics between the scorer and human labels: Spearman's rank
//! correlation, top-versus-bottom-quartile accuracy and AUC, and Cohen's
//! kappa. Checked against scipy and scikit-learn values in the tests.

/// Ranks with ties averaged (1-based), as Spearman's rho needs.
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        // Positions i..=j share the mean of ranks i+1..=j+1.
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = rank;
        }
        i = j + 1;
    }
    ranks
}

/// Pearson's correlation; `None` when either side is constant or too short.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len();
    if n < 2 || n != y.len() {
        return None;
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / n as f64;
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// Spearman's rho: Pearson's correlation of the average ranks.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    pearson(&average_ranks(x), &average_ranks(y))
}

/// Area under the ROC curve: the chance that a positive item scores above a
/// negative one, ties counting half.
pub fn auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    let ranks = average_ranks(scores);
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let rank_sum: f64 = ranks
        .iter()
        .zip(positive)
        .filter(|(_, p)| **p)
        .map(|(r, _)| r)
        .sum();
    let u = rank_sum - (n_pos * (n_pos + 1)) as f64 / 2.0;
    Some(u / (n_pos * n_neg) as f64)
}

/// Cohen's kappa between two binary labellings of the same items.
pub fn cohen_kappa(a: &[bool], b: &[bool]) -> Option<f64> {
    let n = a.len();
    if n == 0 || n != b.len() {
        return None;
    }
    let agree = a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / n as f64;
    let pa = a.iter().filter(|&&x| x).count() as f64 / n as f64;
    let pb = b.iter().filter(|&&x| x).count() as f64 / n as f64;
    let chance = pa * pb + (1.0 - pa) * (1.0 - pb);
    (chance < 1.0).then(|| (agree - chance) / (1.0 - chance))
}

/// The value below which a share `q` of the sorted values lie (linear
/// interpolation between order statistics, as numpy's default).
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let position = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let low = position.floor() as usize;
    let high = position.ceil() as usize;
    let share = position - low as f64;
    Some(sorted[low] + (sorted[high] - sorted[low]) * share)
}

/// How well the scores tell the items humans put in their top quarter from
/// those in their bottom quarter (the Stanford politeness protocol).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuartileAgreement {
    /// Items in the two quarters.
    pub items: usize,
    /// Share classified right when the scorer's median over those items
    /// splits them (an item exactly at the median counts half).
    pub accuracy: f64,
    /// Chance a top-quarter item scores above a bottom-quarter one.
    pub auc: f64,
    /// Cohen's kappa between the human quarter and the scorer's median split.
    pub kappa: f64,
}

/// Top-versus-bottom-quartile agreement; `None` with too few distinct labels.
/// With two label values only (AnnoMI's high- and low-quality sessions, which
/// need not be balanced) the two classes stand for the quarters.
pub fn quartile_agreement(scores: &[f64], labels: &[f64]) -> Option<QuartileAgreement> {
    let mut low = quantile(labels, 0.25)?;
    let mut high = quantile(labels, 0.75)?;
    if low >= high {
        let min = labels.iter().copied().fold(f64::INFINITY, f64::min);
        let max = labels.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let two_values = labels.iter().all(|&l| l == min || l == max);
        if !(two_values && min < max) {
            return None;
        }
        (low, high) = (min, max);
    }
    let (mut s, mut truth) = (Vec::new(), Vec::new());
    for (&score, &label) in scores.iter().zip(labels) {
        if label >= high {
            s.push(score);
            truth.push(true);
        } else if label <= low {
            s.push(score);
            truth.push(false);
        }
    }
    let median = quantile(&s, 0.5)?;
    let mut correct = 0.0;
    let mut predicted = Vec::with_capacity(s.len());
    for (&score, &t) in s.iter().zip(&truth) {
        let guess = score > median;
        predicted.push(guess);
        correct += if score == median {
            0.5
        } else if guess == t {
            1.0
        } else {
            0.0
        };
    }
    Some(QuartileAgreement {
        items: s.len(),
        accuracy: correct / s.len() as f64,
        auc: auc(&s, &truth)?,
        kappa: cohen_kappa(&truth, &predicted).unwrap_or(0.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn spearman_matches_scipy() {
        // scipy.stats.spearmanr
        let rho = spearman(
            &[1.0, 2.0, 2.0, 4.0, 5.0, 3.0],
            &[2.0, 1.0, 4.0, 4.0, 6.0, 3.0],
        );
        assert!(close(rho.expect("rho"), 0.75));
        let rho = spearman(&[0.5, 0.1, 0.9, 0.3], &[3.0, 1.0, 4.0, 1.0]);
        assert!(close(rho.expect("rho"), 0.948_683_298_050_513_9));
        assert_eq!(spearman(&[1.0, 1.0], &[1.0, 2.0]), None);
    }

    #[test]
    fn kappa_and_auc_match_scikit_learn() {
        // sklearn.metrics.cohen_kappa_score and roc_auc_score
        let a = [true, true, false, false, true, false, true, true];
        let b = [true, false, false, false, true, true, true, true];
        assert!(close(
            cohen_kappa(&a, &b).expect("kappa"),
            0.466_666_666_666_666_7
        ));
        let auc = auc(
            &[0.9, 0.5, 0.5, 0.2, 0.7],
            &[true, true, false, false, true],
        );
        assert!(close(auc.expect("auc"), 0.916_666_666_666_666_6));
    }

    #[test]
    fn quartiles_split_by_the_median() {
        let labels: Vec<f64> = (0..8).map(f64::from).collect();
        // A perfect scorer, then one that gets everything backwards.
        let perfect = quartile_agreement(&labels, &labels).expect("agreement");
        assert_eq!(perfect.items, 4);
        assert!(
            close(perfect.accuracy, 1.0) && close(perfect.auc, 1.0) && close(perfect.kappa, 1.0)
        );
        let reversed: Vec<f64> = labels.iter().map(|x| -x).collect();
        let wrong = quartile_agreement(&reversed, &labels).expect("agreement");
        assert!(close(wrong.accuracy, 0.0) && close(wrong.auc, 0.0));
        assert!(close(
            quantile(&[1.0, 2.0, 3.0, 4.0], 0.25).expect("q"),
            1.75
        ));
    }

    #[test]
    fn two_label_values_stand_for_the_quarters() {
        // Five of six items in one class: the quartiles coincide, the classes do not.
        let labels = [1.0, 1.0, 1.0, 1.0, 1.0, 0.0];
        let scores = [0.9, 0.8, 0.7, 0.6, 0.2, 0.5];
        let q = quartile_agreement(&scores, &labels).expect("two classes");
        assert_eq!(q.items, 6);
        // sklearn.metrics.roc_auc_score([1,1,1,1,1,0], scores) = 0.8
        assert!(close(q.auc, 0.8), "{}", q.auc);
        assert!(quartile_agreement(&scores, &[1.0; 6]).is_none());
        assert!(quartile_agreement(&scores, &[1.0, 1.0, 1.0, 1.0, 2.0, 0.0]).is_none());
    }
}

//! Agreement between raters who label the same items with nominal
//! categories: percent agreement, Cohen's kappa for two raters and Fleiss'
//! kappa for any number (docs/calibration.md). Kappa corrects agreement for
//! what chance alone would give: 1 is perfect, 0 is chance, below 0 worse
//! than chance. It is undefined (`None`) when chance agreement is already
//! total, i.e. every rating falls in one category.

use std::collections::BTreeMap;

/// Cohen's kappa (Cohen 1960) of two raters over the items both labelled:
/// `(po - pe) / (1 - pe)` with `pe` from each rater's own category shares.
pub fn cohen_kappa<T: Ord + Copy>(pairs: &[(T, T)]) -> Option<f64> {
    if pairs.is_empty() {
        return None;
    }
    let n = pairs.len() as f64;
    let mut first: BTreeMap<T, f64> = BTreeMap::new();
    let mut second: BTreeMap<T, f64> = BTreeMap::new();
    let mut agreed = 0.0;
    for &(a, b) in pairs {
        *first.entry(a).or_default() += 1.0;
        *second.entry(b).or_default() += 1.0;
        if a == b {
            agreed += 1.0;
        }
    }
    let observed = agreed / n;
    let expected: f64 = first
        .iter()
        .map(|(category, count)| count / n * second.get(category).copied().unwrap_or(0.0) / n)
        .sum();
    kappa(observed, expected)
}

/// Fleiss' kappa (Fleiss 1971) from per-item category counts: `counts[i][j]`
/// raters put item `i` in category `j`; every item must have the same number
/// of raters, at least two (`None` otherwise).
pub fn fleiss_kappa_from_counts(counts: &[Vec<u32>]) -> Option<f64> {
    let raters = counts.first()?.iter().sum::<u32>();
    if raters < 2 || counts.iter().any(|item| item.iter().sum::<u32>() != raters) {
        return None;
    }
    let categories = counts.iter().map(Vec::len).max().unwrap_or(0);
    let n = f64::from(raters);
    let items = counts.len() as f64;
    let mut share = vec![0.0; categories];
    let mut observed = 0.0;
    for item in counts {
        let mut squares = 0.0;
        for (j, &count) in item.iter().enumerate() {
            let count = f64::from(count);
            share[j] += count;
            squares += count * count;
        }
        observed += (squares - n) / (n * (n - 1.0));
    }
    let observed = observed / items;
    let expected: f64 = share
        .iter()
        .map(|total| {
            let p = total / (items * n);
            p * p
        })
        .sum();
    kappa(observed, expected)
}

/// Fleiss' kappa of items each labelled by the same number of raters.
pub fn fleiss_kappa<T: Ord + Copy>(items: &[Vec<T>]) -> Option<f64> {
    let categories: Vec<T> = {
        let mut all: Vec<T> = items.iter().flatten().copied().collect();
        all.sort_unstable();
        all.dedup();
        all
    };
    let counts: Vec<Vec<u32>> = items
        .iter()
        .map(|labels| {
            categories
                .iter()
                .map(|category| {
                    u32::try_from(labels.iter().filter(|l| *l == category).count())
                        .unwrap_or(u32::MAX)
                })
                .collect()
        })
        .collect();
    fleiss_kappa_from_counts(&counts)
}

/// The share of agreeing rater pairs, averaged over items with at least two
/// labels (Fleiss' `P_i`; with two raters, the share of items they agree on).
pub fn percent_agreement<T: Ord + Copy>(items: &[Vec<T>]) -> Option<f64> {
    let shares: Vec<f64> = items
        .iter()
        .filter(|labels| labels.len() >= 2)
        .map(|labels| {
            let n = labels.len() as f64;
            let mut counts: BTreeMap<T, f64> = BTreeMap::new();
            for &label in labels {
                *counts.entry(label).or_default() += 1.0;
            }
            let agreeing_pairs: f64 = counts.values().map(|c| c * (c - 1.0)).sum();
            agreeing_pairs / (n * (n - 1.0))
        })
        .collect();
    (!shares.is_empty()).then(|| shares.iter().sum::<f64>() / shares.len() as f64)
}

/// The label most raters gave, when exactly one label has the most votes.
pub fn plurality<T: Ord + Copy>(labels: &[T]) -> Option<T> {
    let mut counts: BTreeMap<T, usize> = BTreeMap::new();
    for &label in labels {
        *counts.entry(label).or_default() += 1;
    }
    let most = counts.values().copied().max()?;
    let mut winners = counts.iter().filter(|(_, c)| **c == most);
    let (winner, _) = winners.next()?;
    winners.next().is_none().then_some(*winner)
}

fn kappa(observed: f64, expected: f64) -> Option<f64> {
    let room = 1.0 - expected;
    (room > 1e-12).then(|| (observed - expected) / room)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wikipedia, "Cohen's kappa", worked example: 50 grant proposals, two
    /// readers; both yes 20, both no 15, A yes B no 5, A no B yes 10:
    /// po = 0.7, pe = 0.5, kappa = 0.4.
    #[test]
    fn cohen_matches_the_grant_proposal_example() {
        let mut pairs = Vec::new();
        pairs.extend(std::iter::repeat_n((true, true), 20));
        pairs.extend(std::iter::repeat_n((false, false), 15));
        pairs.extend(std::iter::repeat_n((true, false), 5));
        pairs.extend(std::iter::repeat_n((false, true), 10));
        let kappa = cohen_kappa(&pairs).unwrap();
        assert!((kappa - 0.4).abs() < 1e-12, "{kappa}");
    }

    /// Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters,
    /// 5 categories; P-bar = 0.378, Pe-bar = 0.213, kappa = 0.210.
    #[test]
    fn fleiss_matches_the_fourteen_rater_example() {
        let counts = vec![
            vec![0, 0, 0, 0, 14],
            vec![0, 2, 6, 4, 2],
            vec![0, 0, 3, 5, 6],
            vec![0, 3, 9, 2, 0],
            vec![2, 2, 8, 1, 1],
            vec![7, 7, 0, 0, 0],
            vec![3, 2, 6, 3, 0],
            vec![2, 5, 3, 2, 2],
            vec![6, 5, 2, 1, 0],
            vec![0, 2, 2, 3, 7],
        ];
        let kappa = fleiss_kappa_from_counts(&counts).unwrap();
        assert!((kappa - 0.210).abs() < 0.0005, "{kappa}");
    }

    #[test]
    fn fleiss_of_two_raters_is_scotts_pi() {
        // Scott's pi pools both raters' shares: here 0.5/0.5, pe = 0.5.
        let items: Vec<Vec<char>> = ["pp", "ff", "pf", "pp", "ff", "fp"]
            .iter()
            .map(|s| s.chars().collect())
            .collect();
        let kappa = fleiss_kappa(&items).unwrap();
        // po = 4/6, pe = 0.5.
        assert!((kappa - (4.0 / 6.0 - 0.5) / 0.5).abs() < 1e-12, "{kappa}");
    }

    #[test]
    fn kappa_is_undefined_when_everyone_uses_one_category() {
        assert_eq!(cohen_kappa(&[(1, 1), (1, 1)]), None);
        assert_eq!(fleiss_kappa(&[vec![1, 1, 1], vec![1, 1, 1]]), None);
        assert_eq!(percent_agreement(&[vec![1, 1, 1]]), Some(1.0));
    }

    #[test]
    fn fleiss_needs_the_same_raters_on_every_item() {
        assert_eq!(fleiss_kappa_from_counts(&[vec![2, 0], vec![1, 2]]), None);
        assert_eq!(fleiss_kappa_from_counts(&[vec![1, 0]]), None);
        assert_eq!(fleiss_kappa::<u8>(&[]), None);
    }

    #[test]
    fn percent_agreement_averages_agreeing_pairs() {
        // Three raters 2-1: one agreeing pair of three; two raters agreeing: 1.
        let share = percent_agreement(&[vec!['a', 'a', 'b'], vec!['a', 'a'], vec!['z']]).unwrap();
        assert!((share - (1.0 / 3.0 + 1.0) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn plurality_needs_a_single_winner() {
        assert_eq!(plurality(&['p', 'p', 'f']), Some('p'));
        assert_eq!(plurality(&['p', 'f']), None);
        assert_eq!(plurality::<char>(&[]), None);
    }
}

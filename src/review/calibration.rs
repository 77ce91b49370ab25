//! A closed calibration session's report (docs/calibration.md): how far the
//! reviewers agree with each other, per check, per criterion and overall,
//! and how far each reviewer and the machine agree with the reviewers'
//! consensus. Answers are nominal: pass, fail, not applicable (a graded
//! check enters through its pass threshold).

use std::collections::BTreeMap;

use crate::insights::agreement::{cohen_kappa, fleiss_kappa, percent_agreement, plurality};
use crate::scoring::Outcome;

/// Who answered: a reviewer's key id, or the machine.
pub const MACHINE: &str = "machine";

/// One check of one call: the machine's answer and each reviewer's.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// The check's criterion.
    pub criterion_id: String,
    /// The check.
    pub check_id: String,
    /// The machine's outcome on the session's scorecard.
    pub machine: Outcome,
    /// Reviewer key id → outcome, for the reviewers who answered.
    pub answers: BTreeMap<String, Outcome>,
}

/// Agreement among the reviewers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReviewerAgreement {
    /// Units at least two reviewers answered.
    pub items: u32,
    /// Units every reviewer answered (what Fleiss' kappa reads).
    pub complete_items: u32,
    /// Share of agreeing reviewer pairs, averaged over `items`.
    pub percent_agreement: Option<f64>,
    /// Cohen's kappa, when the session has exactly two reviewers.
    pub cohen_kappa: Option<f64>,
    /// Fleiss' kappa over `complete_items`.
    pub fleiss_kappa: Option<f64>,
}

/// One rater against another, or against the consensus.
#[derive(Debug, Clone, PartialEq)]
pub struct RaterAgreement {
    /// The rater (a reviewer's key id or [`MACHINE`]).
    pub rater: String,
    /// The other side: a reviewer's key id, or `consensus`.
    pub against: String,
    /// Units compared.
    pub items: u32,
    /// Share of them with the same answer.
    pub percent_agreement: Option<f64>,
    /// Cohen's kappa over them.
    pub cohen_kappa: Option<f64>,
}

/// The agreement figures of one set of units (a check, a criterion, all).
#[derive(Debug, Clone, PartialEq)]
pub struct Agreement {
    /// Among reviewers.
    pub reviewers: ReviewerAgreement,
    /// Each reviewer against the consensus of the others.
    pub reviewers_with_consensus: Vec<RaterAgreement>,
    /// The machine against the consensus of all reviewers.
    pub machine_with_consensus: RaterAgreement,
    /// Units with answers but no single most common one (a tie).
    pub no_consensus: u32,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationReport {
    /// Every unit of the session.
    pub overall: Agreement,
    /// Per criterion, in order of first appearance.
    pub criteria: Vec<(String, Agreement)>,
    /// Per check `(criterion_id, check_id)`, in order of first appearance.
    pub checks: Vec<((String, String), Agreement)>,
    /// Every pair of reviewers over all units.
    pub pairs: Vec<RaterAgreement>,
}

/// The report over `units` answered by `reviewers`.
pub fn report(reviewers: &[String], units: &[Unit]) -> CalibrationReport {
    let mut criteria: Vec<(String, Vec<Unit>)> = Vec::new();
    let mut checks: Vec<((String, String), Vec<Unit>)> = Vec::new();
    for unit in units {
        push_grouped(&mut criteria, unit.criterion_id.clone(), unit);
        let check = (unit.criterion_id.clone(), unit.check_id.clone());
        push_grouped(&mut checks, check, unit);
    }
    let mut pairs = Vec::new();
    for (i, first) in reviewers.iter().enumerate() {
        for second in &reviewers[i + 1..] {
            let labels: Vec<(Outcome, Outcome)> = units
                .iter()
                .filter_map(|u| Some((*u.answers.get(first)?, *u.answers.get(second)?)))
                .collect();
            pairs.push(rater_agreement(first, second, &labels));
        }
    }
    CalibrationReport {
        overall: agreement(reviewers, units),
        criteria: criteria
            .into_iter()
            .map(|(id, units)| (id, agreement(reviewers, &units)))
            .collect(),
        checks: checks
            .into_iter()
            .map(|(id, units)| (id, agreement(reviewers, &units)))
            .collect(),
        pairs,
    }
}

fn push_grouped<K: PartialEq>(groups: &mut Vec<(K, Vec<Unit>)>, key: K, unit: &Unit) {
    match groups.iter_mut().find(|(k, _)| *k == key) {
        Some((_, members)) => members.push(unit.clone()),
        None => groups.push((key, vec![unit.clone()])),
    }
}

/// A nominal label with an order, for the statistics' category tables.
fn label(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Pass => 0,
        Outcome::Fail => 1,
        Outcome::NotApplicable => 2,
    }
}

fn agreement(reviewers: &[String], units: &[Unit]) -> Agreement {
    let answered: Vec<Vec<u8>> = units
        .iter()
        .map(|u| u.answers.values().map(|o| label(*o)).collect())
        .collect();
    let complete: Vec<Vec<u8>> = units
        .iter()
        .filter(|u| reviewers.iter().all(|r| u.answers.contains_key(r)))
        .map(|u| reviewers.iter().map(|r| label(u.answers[r])).collect())
        .collect();
    let cohen = match reviewers {
        [first, second] => {
            let pairs: Vec<(u8, u8)> = units
                .iter()
                .filter_map(|u| {
                    Some((
                        label(*u.answers.get(first)?),
                        label(*u.answers.get(second)?),
                    ))
                })
                .collect();
            cohen_kappa(&pairs)
        }
        _ => None,
    };
    let reviewer_agreement = ReviewerAgreement {
        items: count(answered.iter().filter(|labels| labels.len() >= 2).count()),
        complete_items: count(complete.len()),
        percent_agreement: percent_agreement(&answered),
        cohen_kappa: cohen,
        fleiss_kappa: if reviewers.len() >= 2 {
            fleiss_kappa(&complete)
        } else {
            None
        },
    };
    // Each reviewer against the others' consensus, so that nobody agrees
    // with themselves; with two reviewers that is the other one.
    let reviewers_with_consensus = reviewers
        .iter()
        .map(|reviewer| {
            let labels: Vec<(Outcome, Outcome)> = units
                .iter()
                .filter_map(|u| {
                    let own = *u.answers.get(reviewer)?;
                    let others: Vec<Outcome> = u
                        .answers
                        .iter()
                        .filter(|(r, _)| *r != reviewer)
                        .map(|(_, o)| *o)
                        .collect();
                    Some((own, consensus(&others)?))
                })
                .collect();
            rater_agreement(reviewer, "consensus", &labels)
        })
        .collect();
    let mut no_consensus = 0;
    let machine_labels: Vec<(Outcome, Outcome)> = units
        .iter()
        .filter(|u| !u.answers.is_empty())
        .filter_map(|u| {
            let all: Vec<Outcome> = u.answers.values().copied().collect();
            let agreed = consensus(&all);
            if agreed.is_none() {
                no_consensus += 1;
            }
            Some((u.machine, agreed?))
        })
        .collect();
    Agreement {
        reviewers: reviewer_agreement,
        reviewers_with_consensus,
        machine_with_consensus: rater_agreement(MACHINE, "consensus", &machine_labels),
        no_consensus,
    }
}

fn consensus(answers: &[Outcome]) -> Option<Outcome> {
    let labels: Vec<u8> = answers.iter().map(|o| label(*o)).collect();
    let winner = plurality(&labels)?;
    answers.iter().copied().find(|o| label(*o) == winner)
}

fn rater_agreement(rater: &str, against: &str, labels: &[(Outcome, Outcome)]) -> RaterAgreement {
    let pairs: Vec<(u8, u8)> = labels.iter().map(|(a, b)| (label(*a), label(*b))).collect();
    let same = pairs.iter().filter(|(a, b)| a == b).count();
    RaterAgreement {
        rater: rater.to_string(),
        against: against.to_string(),
        items: count(pairs.len()),
        percent_agreement: (!pairs.is_empty()).then(|| same as f64 / pairs.len() as f64),
        cohen_kappa: cohen_kappa(&pairs),
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(check: &str, machine: Outcome, answers: &[(&str, Outcome)]) -> Unit {
        Unit {
            criterion_id: "empathy".into(),
            check_id: check.into(),
            machine,
            answers: answers
                .iter()
                .map(|(r, o)| ((*r).to_string(), *o))
                .collect(),
        }
    }

    use Outcome::{Fail as F, NotApplicable as N, Pass as P};

    #[test]
    fn two_reviewers_get_cohen_and_the_machine_is_compared_with_their_consensus() {
        let reviewers = vec!["a".to_string(), "b".to_string()];
        let units = vec![
            unit("greet", P, &[("a", P), ("b", P)]),
            unit("greet", F, &[("a", F), ("b", F)]),
            unit("greet", P, &[("a", P), ("b", F)]),
            unit("greet", F, &[("a", F), ("b", F)]),
        ];
        let report = report(&reviewers, &units);
        let overall = &report.overall;
        assert_eq!(overall.reviewers.items, 4);
        assert_eq!(overall.reviewers.percent_agreement, Some(0.75));
        // po 0.75; a: P 2/4, b: P 1/4 -> pe = 0.5*0.25 + 0.5*0.75 = 0.5.
        assert_eq!(overall.reviewers.cohen_kappa, Some(0.5));
        // The tie on the third unit has no consensus; the machine agrees on the rest.
        assert_eq!(overall.no_consensus, 1);
        assert_eq!(overall.machine_with_consensus.items, 3);
        assert_eq!(overall.machine_with_consensus.percent_agreement, Some(1.0));
        // With two reviewers, the consensus of the others is the other one.
        assert_eq!(
            overall.reviewers_with_consensus[0].percent_agreement,
            Some(0.75)
        );
        assert_eq!(report.pairs.len(), 1);
        assert_eq!(report.pairs[0].cohen_kappa, Some(0.5));
    }

    #[test]
    fn three_reviewers_get_fleiss_over_complete_units_only() {
        let reviewers: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let units = vec![
            unit("x", P, &[("a", P), ("b", P), ("c", P)]),
            unit("x", P, &[("a", F), ("b", F), ("c", F)]),
            unit("y", N, &[("a", N), ("b", N), ("c", P)]),
            // Only two answered: counts for percent agreement, not for Fleiss.
            unit("y", P, &[("a", P), ("b", F)]),
        ];
        let report = report(&reviewers, &units);
        let overall = &report.overall;
        assert_eq!(overall.reviewers.items, 4);
        assert_eq!(overall.reviewers.complete_items, 3);
        assert_eq!(overall.reviewers.cohen_kappa, None);
        let complete: Vec<Vec<u8>> = vec![vec![0, 0, 0], vec![1, 1, 1], vec![2, 2, 0]];
        assert_eq!(overall.reviewers.fleiss_kappa, fleiss_kappa(&complete));
        assert!(overall.reviewers.fleiss_kappa.unwrap() > 0.5);
        // c against a+b: P/P, F/F, P vs N -> 2 of 3.
        let c = &overall.reviewers_with_consensus[2];
        assert_eq!((c.rater.as_str(), c.items), ("c", 3));
        assert!((c.percent_agreement.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        // Per check: x is perfect agreement, the machine misses its second unit.
        let (id, x) = &report.checks[0];
        assert_eq!(id, &("empathy".to_string(), "x".to_string()));
        assert_eq!(x.reviewers.fleiss_kappa, Some(1.0));
        assert_eq!(x.machine_with_consensus.percent_agreement, Some(0.5));
        assert_eq!(report.criteria.len(), 1);
        assert_eq!(report.pairs.len(), 3);
    }
}

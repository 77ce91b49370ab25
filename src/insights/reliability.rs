//! How far to trust each machine check: over reviewed scorecards, how often
//! reviewers changed it, the machine-vs-reviewed confusion matrix, and the
//! precision and recall of the machine's "fail", each with a 95 % Wilson
//! score interval (Newcombe 1998, method 3; tested against his worked
//! examples). A check reviewers overturn often is flagged for its author.

use std::collections::BTreeMap;

use crate::scoring::{Outcome, Scorecard, reviewed_pairs};

/// z(0.975): two-sided 95 %.
const Z_975: f64 = 1.959_963_984_540_054;

/// A graded check counts as changed when the reviewed share of its points
/// moved at least this far, even if its outcome stayed.
pub const GRADED_CHANGE: f64 = 0.25;

/// A proportion with its 95 % Wilson score interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Proportion {
    /// Successes.
    pub count: u32,
    /// Trials.
    pub of: u32,
    /// count / of; 0 when there are no trials.
    pub rate: f64,
    /// Lower bound (0 without trials).
    pub low: f64,
    /// Upper bound (1 without trials).
    pub high: f64,
}

/// The 95 % Wilson score interval of `count` successes in `of` trials.
pub fn wilson(count: u32, of: u32) -> Proportion {
    if of == 0 {
        return Proportion {
            count,
            of,
            rate: 0.0,
            low: 0.0,
            high: 1.0,
        };
    }
    let n = f64::from(of);
    let p = f64::from(count.min(of)) / n;
    let z2 = Z_975 * Z_975;
    let centre = p + z2 / (2.0 * n);
    let spread = Z_975 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    let denominator = 1.0 + z2 / n;
    Proportion {
        count,
        of,
        rate: p,
        low: ((centre - spread) / denominator).max(0.0),
        high: ((centre + spread) / denominator).min(1.0),
    }
}

/// Which check of which rubric version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CheckKey {
    /// The rubric.
    pub rubric_id: String,
    /// Its version.
    pub rubric_version: u32,
    /// The criterion.
    pub criterion_id: String,
    /// The check.
    pub check_id: String,
}

/// Index of an outcome in the confusion matrix.
pub fn outcome_index(outcome: Outcome) -> usize {
    match outcome {
        Outcome::Pass => 0,
        Outcome::Fail => 1,
        Outcome::NotApplicable => 2,
    }
}

/// The outcomes in matrix order.
pub const OUTCOMES: [Outcome; 3] = [Outcome::Pass, Outcome::Fail, Outcome::NotApplicable];

/// One check's record over the reviewed scorecards.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckReliability {
    /// The check.
    pub key: CheckKey,
    /// Reviewed scorecards that hold it.
    pub reviewed: u32,
    /// Of those, how many a reviewer changed (outcome, or a graded share by
    /// at least [`GRADED_CHANGE`]).
    pub changed: Proportion,
    /// `confusion[machine][reviewed]`, in [`OUTCOMES`] order.
    pub confusion: [[u32; 3]; 3],
    /// Of the machine's fails, how many reviewers kept as fails.
    pub fail_precision: Proportion,
    /// Of the reviewed fails, how many the machine had found.
    pub fail_recall: Proportion,
    /// Reviewers overturn it often: the lower bound of `changed` is above
    /// the flag rate, on at least the minimum number of reviews.
    pub flagged: bool,
}

/// When a check is flagged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlagRule {
    /// Flag when even the interval's lower bound of the change rate exceeds this.
    pub change_rate: f64,
    /// Fewer reviews than this are never flagged.
    pub min_reviews: u32,
}

impl Default for FlagRule {
    fn default() -> Self {
        Self {
            change_rate: 0.2,
            min_reviews: 10,
        }
    }
}

#[derive(Default)]
struct Tally {
    changed: u32,
    confusion: [[u32; 3]; 3],
}

/// Accumulates reviewed scorecards, then reports per check.
#[derive(Default)]
pub struct ReliabilityTally {
    checks: BTreeMap<CheckKey, Tally>,
    scorecards: u32,
}

impl ReliabilityTally {
    /// Adds one reviewed scorecard: its machine result and its reviewed one.
    pub fn add(&mut self, machine: &Scorecard, reviewed: &Scorecard) {
        self.scorecards += 1;
        for (criterion, check, after) in reviewed_pairs(machine, reviewed) {
            let Some(after) = after else {
                continue;
            };
            let key = CheckKey {
                rubric_id: machine.rubric_id.clone(),
                rubric_version: machine.rubric_version,
                criterion_id: criterion.criterion_id.clone(),
                check_id: check.check_id.clone(),
            };
            let tally = self.checks.entry(key).or_default();
            tally.confusion[outcome_index(check.outcome)][outcome_index(after.outcome)] += 1;
            let share_moved = match (check.fraction, after.fraction) {
                (Some(before), Some(now)) => (before - now).abs() >= GRADED_CHANGE,
                _ => false,
            };
            if check.outcome != after.outcome || share_moved {
                tally.changed += 1;
            }
        }
    }

    /// Scorecards added.
    pub fn scorecards(&self) -> u32 {
        self.scorecards
    }

    /// Every check seen, most often changed first (by rate, then count).
    pub fn report(&self, rule: FlagRule) -> Vec<CheckReliability> {
        let fail = outcome_index(Outcome::Fail);
        let mut report: Vec<CheckReliability> = self
            .checks
            .iter()
            .map(|(key, tally)| {
                let reviewed: u32 = tally.confusion.iter().flatten().sum();
                let changed = wilson(tally.changed, reviewed);
                let machine_fails: u32 = tally.confusion[fail].iter().sum();
                let reviewed_fails: u32 = tally.confusion.iter().map(|row| row[fail]).sum();
                let kept_fails = tally.confusion[fail][fail];
                CheckReliability {
                    key: key.clone(),
                    reviewed,
                    changed,
                    confusion: tally.confusion,
                    fail_precision: wilson(kept_fails, machine_fails),
                    fail_recall: wilson(kept_fails, reviewed_fails),
                    flagged: reviewed >= rule.min_reviews && changed.low > rule.change_rate,
                }
            })
            .collect();
        report.sort_by(|a, b| {
            b.changed
                .rate
                .total_cmp(&a.changed.rate)
                .then(b.changed.count.cmp(&a.changed.count))
                .then_with(|| a.key.cmp(&b.key))
        });
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 5e-5
    }

    #[test]
    fn wilson_intervals_match_newcombes_worked_examples() {
        // Newcombe (1998), "Two-sided confidence intervals for the single
        // proportion", Statistics in Medicine 17:857-872, Table I, method 3.
        for (count, of, low, high) in [
            (81, 263, 0.2553, 0.3662),
            (15, 148, 0.0624, 0.1605),
            (0, 20, 0.0, 0.1611),
            (1, 29, 0.0061, 0.1718),
        ] {
            let p = wilson(count, of);
            assert!(
                close(p.low, low) && close(p.high, high),
                "{count}/{of}: {:.4}..{:.4}, published {low}..{high}",
                p.low,
                p.high
            );
        }
        let none = wilson(0, 0);
        assert_eq!((none.rate, none.low, none.high), (0.0, 0.0, 1.0));
    }

    fn scored() -> Scorecard {
        use crate::transcript::{Segment, Speaker, Transcript};
        let rubric = crate::rubric::parse_rubric(crate::rubric::default_rubric_source())
            .expect("default rubric");
        let compiled = crate::scoring::CompiledRubric::compile(&rubric).expect("compiles");
        let transcript = Transcript {
            language: Some("en".into()),
            segments: vec![
                Segment::new(Speaker::Agent, 0, 2_000, "Good morning, how can I help?"),
                Segment::new(Speaker::Customer, 2_000, 4_000, "My parcel is late."),
                Segment::new(
                    Speaker::Agent,
                    4_000,
                    6_000,
                    "Could you give me the order number?",
                ),
            ],
            attribution: None,
        };
        crate::scoring::score_transcript(&compiled, &transcript, "test")
    }

    /// The first graded check: (criterion index, check index, its fraction).
    fn graded(card: &Scorecard) -> (usize, usize, f64) {
        for (c, criterion) in card.criteria.iter().enumerate() {
            for (k, check) in criterion.checks.iter().enumerate() {
                if let Some(fraction) = check.fraction {
                    return (c, k, fraction);
                }
            }
        }
        panic!("the default rubric has graded checks");
    }

    #[test]
    fn a_graded_share_moved_far_enough_counts_as_changed() {
        let machine = scored();
        let (c, k, fraction) = graded(&machine);
        let checks = machine
            .criteria
            .iter()
            .map(|c| c.checks.len())
            .sum::<usize>();
        let mut tally = ReliabilityTally::default();
        // Unchanged, nudged by 0.1, moved by 0.3 (the outcome kept each time).
        for moved in [0.0, 0.1, 0.3] {
            let mut reviewed = machine.clone();
            let target = if fraction + moved <= 1.0 {
                fraction + moved
            } else {
                fraction - moved
            };
            reviewed.criteria[c].checks[k].fraction = Some(target);
            tally.add(&machine, &reviewed);
        }
        let report = tally.report(FlagRule::default());
        assert_eq!(report.len(), checks);
        assert_eq!(tally.scorecards(), 3);
        let check_id = &machine.criteria[c].checks[k].check_id;
        let first = &report[0];
        assert_eq!(&first.key.check_id, check_id, "the changed check leads");
        assert_eq!((first.changed.count, first.changed.of), (1, 3));
        assert!(!first.flagged, "three reviews are too few to flag");
        assert!(report[1..].iter().all(|r| r.changed.count == 0));
    }
}

//! The validation harness behind `callscore eval`: scores human-labelled
//! material with a rubric and reports how well the scores agree with people
//! (Spearman's rho, top-versus-bottom-quartile accuracy, AUC and Cohen's
//! kappa; for better/worse pairs, the share ranked right). Not a test: the
//! corpora are not in the repository (docs/eval.md).

pub mod convert;
pub mod corpus;
pub mod stats;

use std::fmt::Write as _;

use crate::scoring::{CompiledRubric, Scorecard, score_transcript};
use corpus::{Items, Paired, Rated};
use stats::{QuartileAgreement, cohen_kappa, quartile_agreement, spearman};

/// The model id recorded on harness scorecards.
const EVAL_MODEL_ID: &str = "eval-text";

/// What the harness reads off a scorecard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// The criterion's score (0..100), or the overall score when the
    /// criterion did not apply (so that every item has a number).
    pub criterion: f64,
    /// The criterion's first graded check's fraction, when it has one.
    pub check: Option<f64>,
}

/// Reads the criterion score and its graded check off a scorecard.
pub fn read(card: &Scorecard, criterion_id: &str, check_id: Option<&str>) -> Reading {
    let criterion = card
        .criteria
        .iter()
        .find(|c| c.criterion_id == criterion_id);
    let score = criterion
        .and_then(|c| c.score)
        .or(card.overall_score)
        .unwrap_or(0.0);
    // The named check, or the criterion's first graded one.
    let check = criterion.and_then(|c| {
        c.checks
            .iter()
            .filter(|k| check_id.is_none_or(|id| k.check_id == id))
            .find_map(|k| k.fraction)
    });
    Reading {
        criterion: score,
        check,
    }
}

/// Figures for labelled items.
#[derive(Debug, Clone)]
pub struct RatedReport {
    /// Items scored.
    pub items: usize,
    /// Spearman's rho of the criterion score with the labels.
    pub rho: Option<f64>,
    /// Spearman's rho of the graded check's fraction with the labels.
    pub rho_check: Option<f64>,
    /// Top-versus-bottom-quartile agreement of the criterion score.
    pub quartiles: Option<QuartileAgreement>,
}

/// Figures for pairs.
#[derive(Debug, Clone)]
pub struct PairedReport {
    /// Pairs scored.
    pub pairs: usize,
    /// Pairs where the better version scored higher.
    pub right: usize,
    /// Pairs scored equal.
    pub ties: usize,
    /// Cohen's kappa between "is the better version" and a median split of
    /// all scores.
    pub kappa: Option<f64>,
    /// The pairs ranked wrong or tied, by id.
    pub missed: Vec<String>,
}

/// Scores labelled items; writes one JSON line per item to `items_out`.
pub fn evaluate_rated(
    rubric: &CompiledRubric,
    items: &[Rated],
    criterion: &str,
    check: Option<&str>,
    mut items_out: Option<&mut dyn std::io::Write>,
) -> anyhow::Result<RatedReport> {
    let mut scores = Vec::with_capacity(items.len());
    let mut checks = Vec::with_capacity(items.len());
    let mut labels = Vec::with_capacity(items.len());
    for item in items {
        let card = score_transcript(rubric, &item.transcript, EVAL_MODEL_ID);
        let reading = read(&card, criterion, check);
        if let Some(out) = items_out.as_deref_mut() {
            writeln!(
                out,
                "{}",
                item_line(&item.id, item.label, &reading, &card, criterion)
            )?;
        }
        scores.push(reading.criterion);
        checks.push(reading.check.unwrap_or(reading.criterion / 100.0));
        labels.push(item.label);
    }
    Ok(RatedReport {
        items: items.len(),
        rho: spearman(&scores, &labels),
        rho_check: spearman(&checks, &labels),
        quartiles: quartile_agreement(&scores, &labels),
    })
}

/// Scores pairs on `criterion` (or each pair's own); overall breaks nothing.
pub fn evaluate_paired(
    rubric: &CompiledRubric,
    pairs: &[Paired],
    criterion: &str,
    mut items_out: Option<&mut dyn std::io::Write>,
) -> anyhow::Result<PairedReport> {
    let (mut right, mut ties) = (0, 0);
    let mut missed = Vec::new();
    let mut all_scores = Vec::with_capacity(pairs.len() * 2);
    let mut truth = Vec::with_capacity(pairs.len() * 2);
    for pair in pairs {
        let id = pair.criterion.as_deref().unwrap_or(criterion);
        let better = score_transcript(rubric, &pair.better, EVAL_MODEL_ID);
        let worse = score_transcript(rubric, &pair.worse, EVAL_MODEL_ID);
        let (b, w) = (read(&better, id, None), read(&worse, id, None));
        if let Some(out) = items_out.as_deref_mut() {
            writeln!(
                out,
                "{}",
                item_line(&format!("{}:better", pair.id), 1.0, &b, &better, id)
            )?;
            writeln!(
                out,
                "{}",
                item_line(&format!("{}:worse", pair.id), 0.0, &w, &worse, id)
            )?;
        }
        if b.criterion > w.criterion {
            right += 1;
        } else {
            if b.criterion == w.criterion {
                ties += 1;
            }
            missed.push(pair.id.clone());
        }
        all_scores.extend([b.criterion, w.criterion]);
        truth.extend([true, false]);
    }
    let kappa = stats::quantile(&all_scores, 0.5).and_then(|median| {
        let predicted: Vec<bool> = all_scores.iter().map(|&s| s > median).collect();
        cohen_kappa(&truth, &predicted)
    });
    Ok(PairedReport {
        pairs: pairs.len(),
        right,
        ties,
        kappa,
        missed,
    })
}

/// One item's line: id, label, scores, and the cues counted by kind.
fn item_line(id: &str, label: f64, reading: &Reading, card: &Scorecard, criterion: &str) -> String {
    let mut cues = serde_json::Map::new();
    for check in card.criteria.iter().flat_map(|c| &c.checks) {
        if check.fraction.is_none() {
            continue;
        }
        for evidence in &check.evidence {
            for marker in &evidence.markers {
                let key = format!("{}.{}", check.check_id, marker.kind);
                let entry = cues.entry(key).or_insert(serde_json::json!(0.0));
                let value = entry.as_f64().unwrap_or(0.0);
                // The word-length term carries its value as its weight.
                let add = if marker.kind == "long_words" {
                    marker.weight
                } else {
                    1.0
                };
                *entry = serde_json::json!(value + add);
            }
        }
    }
    serde_json::json!({
        "id": id,
        "label": label,
        "criterion": criterion,
        "score": reading.criterion,
        "check": reading.check,
        "overall": card.overall_score,
        "cues": cues,
    })
    .to_string()
}

/// The rated report in words.
pub fn render_rated(corpus: &str, criterion: &str, check: Option<&str>, r: &RatedReport) -> String {
    let mut out = String::new();
    let f = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.3}"));
    let _ = writeln!(out, "corpus: {corpus}");
    let _ = writeln!(out, "items: {}", r.items);
    let _ = writeln!(out, "criterion: {criterion}");
    let _ = writeln!(out, "spearman_rho: {}", f(r.rho));
    let _ = writeln!(
        out,
        "spearman_rho_graded_check ({}): {}",
        check.unwrap_or("first graded"),
        f(r.rho_check)
    );
    match &r.quartiles {
        Some(q) => {
            let _ = writeln!(out, "quartile_items: {}", q.items);
            let _ = writeln!(out, "quartile_accuracy: {:.3}", q.accuracy);
            let _ = writeln!(out, "quartile_auc: {:.3}", q.auc);
            let _ = writeln!(out, "quartile_kappa: {:.3}", q.kappa);
        }
        None => {
            let _ = writeln!(out, "quartiles: n/a (labels too few or all equal)");
        }
    }
    out
}

/// The paired report in words.
pub fn render_paired(corpus: &str, criterion: &str, r: &PairedReport) -> String {
    let mut out = String::new();
    let share = |n: usize| {
        if r.pairs == 0 {
            0.0
        } else {
            n as f64 / r.pairs as f64
        }
    };
    let _ = writeln!(out, "corpus: {corpus}");
    let _ = writeln!(out, "pairs: {}", r.pairs);
    let _ = writeln!(out, "criterion: {criterion}");
    let _ = writeln!(out, "ranked_right: {} ({:.3})", r.right, share(r.right));
    let _ = writeln!(out, "ties: {} ({:.3})", r.ties, share(r.ties));
    let _ = writeln!(
        out,
        "ranked_wrong: {} ({:.3})",
        r.pairs - r.right - r.ties,
        share(r.pairs - r.right - r.ties)
    );
    let _ = writeln!(
        out,
        "kappa_median_split: {}",
        r.kappa
            .map_or_else(|| "n/a".to_owned(), |k| format!("{k:.3}"))
    );
    if !r.missed.is_empty() && r.missed.len() <= 60 {
        let _ = writeln!(out, "missed: {}", r.missed.join(" "));
    }
    out
}

/// Runs the harness on loaded items and prints the report.
pub fn run(
    rubric: &CompiledRubric,
    corpus: &str,
    items: Items,
    criterion: &str,
    check: Option<&str>,
    items_out: Option<&mut dyn std::io::Write>,
) -> anyhow::Result<String> {
    match items {
        Items::Rated(items) => {
            let report = evaluate_rated(rubric, &items, criterion, check, items_out)?;
            Ok(render_rated(corpus, criterion, check, &report))
        }
        Items::Paired(pairs) => {
            let report = evaluate_paired(rubric, &pairs, criterion, items_out)?;
            Ok(render_paired(corpus, criterion, &report))
        }
    }
}

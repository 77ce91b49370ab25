//! The bilingual paired scripted calls (tests/fixtures/pairs): for each
//! behaviour in shared/DOMAIN.md, in Indonesian and in English, a good and a
//! bad variant of one call that differ in that behaviour only. The default
//! rubric must rank every pair right on the criterion the behaviour belongs
//! to, and overall.

use std::path::Path;

use callscore::scoring::{CompiledRubric, Scorecard, score_transcript};
use callscore::transcript::Transcript;

struct Pair {
    name: String,
    criterion: String,
    language: String,
    good: Transcript,
    bad: Transcript,
}

fn pairs() -> Vec<Pair> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pairs");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("pairs folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).expect("readable");
            let doc: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            let transcript = |key: &str| {
                Transcript::from_exchange_json(&doc[key].to_string())
                    .unwrap_or_else(|e| panic!("{}: {key}: {e}", path.display()))
            };
            Pair {
                name: path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                criterion: doc["criterion"].as_str().expect("criterion").to_owned(),
                language: doc["language"].as_str().expect("language").to_owned(),
                good: transcript("good"),
                bad: transcript("bad"),
            }
        })
        .collect()
}

fn criterion_score(card: &Scorecard, id: &str) -> Option<f64> {
    card.criteria
        .iter()
        .find(|c| c.criterion_id == id)
        .and_then(|c| c.score)
}

#[test]
fn every_scripted_pair_ranks_right_in_both_languages() {
    let rubric = callscore::rubric::parse_rubric(callscore::rubric::default_rubric_source())
        .expect("default rubric");
    let compiled = CompiledRubric::compile(&rubric).expect("compiles");
    let pairs = pairs();
    let behaviours = |lang: &str| pairs.iter().filter(|p| p.language == lang).count();
    assert!(
        behaviours("id") >= 20 && behaviours("en") >= 20,
        "at least 40 pairs, half in each language"
    );
    let mut wrong = Vec::new();
    for pair in &pairs {
        let good = score_transcript(&compiled, &pair.good, "test");
        let bad = score_transcript(&compiled, &pair.bad, "test");
        let (g, b) = (
            criterion_score(&good, &pair.criterion),
            criterion_score(&bad, &pair.criterion),
        );
        let (go, bo) = (good.overall_score, bad.overall_score);
        let ranked = matches!((g, b), (Some(g), Some(b)) if g > b)
            && matches!((go, bo), (Some(go), Some(bo)) if go > bo);
        eprintln!(
            "{:<36} {:<16} good {:>6} bad {:>6} | overall {:>6} {:>6} {}",
            pair.name,
            pair.criterion,
            fmt(g),
            fmt(b),
            fmt(go),
            fmt(bo),
            if ranked { "ok" } else { "WRONG" }
        );
        if !ranked {
            wrong.push(pair.name.clone());
        }
    }
    assert!(wrong.is_empty(), "ranked wrong: {wrong:?}");
}

fn fmt(score: Option<f64>) -> String {
    score.map_or_else(|| "n/a".to_owned(), |s| format!("{s:.2}"))
}

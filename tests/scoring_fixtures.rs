//! Paired calls: for each criterion, the same call with and without the good
//! behaviour, in English and Indonesian; and the CLI on those fixtures.

use std::path::PathBuf;
use std::process::Command;

use callscore::rubric::{default_rubric_source, parse_rubric};
use callscore::scoring::{CompiledRubric, Scorecard, score_transcript};
use callscore::transcript::Transcript;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/transcripts")
        .join(format!("{name}.json"))
}

fn score(compiled: &CompiledRubric, name: &str) -> Scorecard {
    let text = std::fs::read_to_string(fixture(name)).expect("fixture exists");
    let transcript = Transcript::from_exchange_json(&text).expect("fixture is valid");
    score_transcript(compiled, &transcript, "fixture")
}

fn criterion_score(card: &Scorecard, id: &str) -> f64 {
    card.criteria
        .iter()
        .find(|c| c.criterion_id == id)
        .and_then(|c| c.score)
        .unwrap_or_else(|| panic!("criterion {id} has a score"))
}

#[test]
fn good_calls_score_higher_on_each_criterion_in_both_languages() {
    let rubric = parse_rubric(default_rubric_source()).expect("valid");
    let compiled = CompiledRubric::compile(&rubric).expect("compiles");
    for lang in ["en", "id"] {
        let good = score(&compiled, &format!("{lang}_good"));
        // Graded checks earn a share of their points, so a model call scores
        // close to, not exactly, 100.
        let overall = good.overall_score.expect("scored");
        assert!(overall >= 95.0, "{lang}_good is a model call: {overall}");
        for criterion in [
            "integrity",
            "credibility",
            "professionalism",
            "empathy",
            "privacy",
        ] {
            let bad = score(&compiled, &format!("{lang}_bad_{criterion}"));
            let (g, b) = (
                criterion_score(&good, criterion),
                criterion_score(&bad, criterion),
            );
            assert!(g > b, "{lang} {criterion}: good {g} must beat bad {b}");
            assert!(
                good.overall_score > bad.overall_score,
                "{lang} {criterion}: overall must drop too"
            );
        }
        let privacy = score(&compiled, &format!("{lang}_bad_privacy"));
        assert_eq!(
            privacy.overall_score,
            Some(0.0),
            "{lang}: asking for card data is critical"
        );
        assert_eq!(
            privacy.critical_failures[0].check_id,
            "no_sensitive_data_request"
        );
    }
}

fn callscore(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_callscore"))
        .args(args)
        .output()
        .expect("the binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_scores_a_transcript_as_json_and_text() {
    let path = fixture("en_bad_empathy");
    let path = path.to_str().expect("utf-8 path");
    let (ok, stdout, stderr) = callscore(&["score", path, "--format", "json"]);
    assert!(ok, "{stderr}");
    let card: Scorecard = serde_json::from_str(&stdout).expect("a JSON scorecard");
    assert_eq!(card.rubric_id, "default");
    assert_eq!(card.criteria.len(), 5);
    assert!(criterion_score(&card, "empathy") < 50.0);

    let (ok, stdout, stderr) = callscore(&["score", path, "--format", "text"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("Empathy and fitting tone [empathy]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAIL  no_cheerful_script_after_distress"),
        "{stdout}"
    );
    // The failed check quotes the customer's trigger turn with its time.
    assert!(
        stdout.contains("@ 00:08.2–00:15.4 #1 customer:"),
        "{stdout}"
    );
    assert!(stdout.contains("\"Great\""), "{stdout}");
    // The graded check lists its cues with their own times.
    assert!(stdout.contains("empathic_responses"), "{stdout}");
}

#[test]
fn cli_reports_bad_input_clearly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("call.json");
    std::fs::write(
        &bad,
        r#"{"language": "en", "segments": [{"speaker": "agent", "start": "zero", "end": 1, "text": "hi"}]}"#,
    )
    .expect("write");
    let (ok, _, stderr) = callscore(&["score", bad.to_str().expect("utf-8")]);
    assert!(!ok);
    assert!(stderr.contains("call.json"), "{stderr}");
    assert!(stderr.contains("segments[0].start"), "{stderr}");

    let audio = dir.path().join("call.wav");
    std::fs::write(&audio, b"RIFF").expect("write");
    let (ok, _, stderr) = callscore(&["score", audio.to_str().expect("utf-8")]);
    assert!(!ok);
    // Audio is transcribed first; this is no audio, and the decoder says so.
    assert!(
        stderr.contains("call.wav") && stderr.contains("not audio"),
        "{stderr}"
    );

    let rubric = dir.path().join("rubric.yaml");
    std::fs::write(
        &rubric,
        "id: x\nversion: 1\nname: n\nlanguages: [en]\ncriteria: []\nweigth: 2\n",
    )
    .expect("write");
    let (ok, stdout, _) = callscore(&["rubric", "validate", rubric.to_str().expect("utf-8")]);
    assert!(!ok);
    let file = rubric.display().to_string();
    assert!(
        stdout.contains(&format!(
            "{file}:5:11: criteria: list at least one criterion"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{file}:6:1: weigth: unknown key")),
        "{stdout}"
    );

    let (ok, stdout, _) = callscore(&["rubric", "validate", "rubrics/default.yaml"]);
    assert!(ok);
    assert!(stdout.contains("ok: rubric default version 2"), "{stdout}");
}

//! `callscore transcribe --format json` → `callscore score`: what one command
//! writes the next reads, and `score` takes the audio itself too.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn callscore(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callscore"))
        .args(args)
        .output()
        .expect("callscore runs")
}

fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

fn sample_call() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/call-en-stereo-8k.wav")
        .display()
        .to_string()
}

#[test]
fn transcribe_json_feeds_score_and_score_takes_audio() {
    let model = common::model("ggml-tiny.en-q8_0.bin");
    let model = model.display().to_string();
    let call = sample_call();
    let audio_flags = [
        "--channels",
        "agent-left",
        "--language",
        "en",
        "--model",
        model.as_str(),
        "--threads",
        "2",
    ];

    let mut args = vec!["transcribe", call.as_str(), "--format", "json"];
    args.extend(audio_flags);
    let json = stdout_of(&callscore(&args));
    let dir = tempfile::tempdir().expect("temp dir");
    let transcript_path = dir.path().join("call.json");
    std::fs::write(&transcript_path, &json).expect("write transcript");
    let written: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let first = &written["segments"][0];
    assert!(first["start"].is_number(), "seconds: {first}");
    assert!(first["confidence"].is_number(), "confidence kept: {first}");
    assert_eq!(first["speaker"], "agent");

    let transcript_path = transcript_path.display().to_string();
    let from_json: serde_json::Value = serde_json::from_str(&stdout_of(&callscore(&[
        "score",
        &transcript_path,
        "--format",
        "json",
    ])))
    .expect("scorecard JSON");
    assert_eq!(from_json["model_id"], "transcript-json");

    let mut args = vec!["score", call.as_str(), "--format", "json"];
    args.extend(audio_flags);
    let from_audio: serde_json::Value =
        serde_json::from_str(&stdout_of(&callscore(&args))).expect("scorecard JSON");
    let model_id = from_audio["model_id"].as_str().expect("model id");
    assert!(model_id.contains("tiny"), "{model_id}");
    // Same audio, same weights, greedy decoding: the same transcript, so the
    // same judgement whichever way it came in.
    assert_eq!(from_audio["criteria"], from_json["criteria"]);
    assert!(from_audio["overall_score"].as_f64().is_some());
}

#[test]
fn score_names_the_file_and_field_of_a_bad_transcript() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad.json");
    std::fs::write(
        &path,
        r#"{"segments": [{"speaker": "agent", "start": 3, "end": 1, "text": "hi"}]}"#,
    )
    .expect("write");
    let path = path.display().to_string();
    let output = callscore(&["score", &path]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&path), "{stderr}");
    assert!(stderr.contains("segments[0].end"), "{stderr}");

    // Neither JSON nor audio: the decoder says so, naming the file.
    let noise = dir.path().join("noise.bin");
    std::fs::write(&noise, [0u8, 159, 146, 150, 7, 7, 7]).expect("write");
    let noise = noise.display().to_string();
    let output = callscore(&["score", &noise, "--model", "/nonexistent/model.bin"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("noise.bin"), "{stderr}");
}

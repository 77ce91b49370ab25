//! Shared test helpers: locating provisioned models and audio, WER, and
//! synthesising scripted stereo calls with espeak-ng and sox.

#![allow(dead_code)] // Each test binary uses a different subset.

pub mod synth;
pub mod wer;

use std::path::{Path, PathBuf};

use callscore::transcribe::{Engine, EngineConfig};

/// The provisioned model file, or a failure that says how to provision it.
pub fn model(file_name: &str) -> PathBuf {
    let dir = std::env::var_os("CALLSCORE_MODEL_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("models"),
            PathBuf::from,
        );
    let path = dir.join(file_name);
    assert!(
        path.is_file(),
        "model {} is missing: run scripts/provision-models.sh first",
        path.display()
    );
    path
}

/// A provisioned test-audio file, or a failure that says how to provision it.
pub fn testdata(relative: &str) -> PathBuf {
    let dir = std::env::var_os("CALLSCORE_TESTDATA_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/testdata"),
            PathBuf::from,
        );
    let path = dir.join(relative);
    assert!(
        path.exists(),
        "test audio {} is missing: run scripts/provision-models.sh first",
        path.display()
    );
    path
}

/// Loads an engine on a provisioned model with two threads and one state.
pub fn engine(file_name: &str) -> Engine {
    let config = EngineConfig {
        model_path: model(file_name),
        threads_per_state: 2,
        states: 1,
        ..EngineConfig::default()
    };
    match Engine::load(&config) {
        Ok(engine) => engine,
        Err(error) => panic!("loading {file_name}: {error}"),
    }
}

/// Concatenated text of a transcript's segments.
pub fn text_of(transcript: &callscore::transcript::Transcript) -> String {
    transcript
        .segments
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

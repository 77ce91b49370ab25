//! `model import` on the real faster-whisper weights: every weight type it
//! writes loads in whisper.cpp and transcribes jfk.wav correctly (a wrong
//! block layout would give garbage, not a slightly worse WER).

mod common;

use std::path::{Path, PathBuf};

use callscore::audio::{AudioLimits, ChannelLayout, decode_call};
use callscore::transcribe::import::{GgmlType, ImportError, import};
use callscore::transcribe::{Engine, EngineConfig, TranscribeOptions};
use common::wer::wer;

const JFK: &str = "And so my fellow Americans, ask not what your country can do for you, \
                   ask what you can do for your country.";

/// The CTranslate2 tiny.en folder the provisioning script unpacked.
fn ct2_tiny_en() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/provision/ct2/tiny.en");
    assert!(
        dir.join("model.bin").is_file(),
        "{} is missing: run scripts/provision-models.sh first",
        dir.display()
    );
    dir
}

#[test]
fn q5_weights_load_and_transcribe() {
    let dir = tempfile::tempdir().expect("tempdir");
    let call = decode_call(
        &common::testdata("jfk.wav"),
        ChannelLayout::Mono,
        &AudioLimits::default(),
    )
    .expect("decodes");
    for (kind, name) in [(GgmlType::Q5_0, "q5_0"), (GgmlType::Q5_1, "q5_1")] {
        let out = dir.path().join(format!("ggml-tiny.en-{name}.bin"));
        let summary = import(&ct2_tiny_en(), &out, kind).expect("imports");
        assert_eq!(summary.tensors, 167);
        assert_eq!(summary.tokens, 50_256);
        assert_eq!(summary.hparams.n_audio_layer, 4);
        let engine = Engine::load(&EngineConfig {
            model_path: out,
            ..EngineConfig::default()
        })
        .expect("whisper.cpp loads the file");
        assert_eq!(engine.model_id(), format!("whisper-tiny.en-{name}"));
        let transcript = engine
            .transcribe(&call, &TranscribeOptions::default())
            .expect("transcribes");
        let error = wer(JFK, &common::text_of(&transcript));
        assert!(error <= 0.10, "{name}: WER {error:.3}");
    }
}

#[test]
fn import_is_deterministic_and_refuses_bad_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("again.bin");
    import(&ct2_tiny_en(), &out, GgmlType::F16).expect("imports");
    let provisioned = std::fs::read(common::model("ggml-tiny.en.bin")).expect("read");
    assert!(
        std::fs::read(&out).expect("read") == provisioned,
        "same bytes as the provisioned file"
    );

    let error = import(dir.path(), &dir.path().join("x.bin"), GgmlType::F16).expect_err("no model");
    assert!(matches!(error, ImportError::Io { .. }), "{error:?}");
    std::fs::write(dir.path().join("model.bin"), b"garbage").expect("write");
    std::fs::write(dir.path().join("vocabulary.txt"), "a\n").expect("write");
    let error =
        import(dir.path(), &dir.path().join("x.bin"), GgmlType::F16).expect_err("bad model");
    assert!(matches!(error, ImportError::Format(_)), "{error:?}");
    assert!(!dir.path().join("x.bin").exists());
}

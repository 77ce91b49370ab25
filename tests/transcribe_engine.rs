//! The engine as the job worker uses it: shared across threads, bounded
//! states, no text from silence or noise, clear errors.

mod common;

use std::sync::Arc;

use callscore::audio::{AudioLimits, ChannelLayout, DecodedCall, Track, decode_call};
use callscore::transcribe::{Engine, EngineConfig, Language, TranscribeError, TranscribeOptions};
use callscore::transcript::Speaker;
use common::wer::wer;

const JFK: &str = "And so my fellow Americans, ask not what your country can do for you, \
                   ask what you can do for your country.";

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn engine_is_shared_by_concurrent_calls() {
    assert_send_sync::<Engine>();
    let engine = Arc::new(
        Engine::load(&EngineConfig {
            model_path: common::model("ggml-tiny.en-q8_0.bin"),
            threads_per_state: 1,
            states: 2,
            states_per_call: 1,
            ..EngineConfig::default()
        })
        .expect("loads"),
    );
    let call = Arc::new(
        decode_call(
            &common::testdata("jfk.wav"),
            ChannelLayout::Mono,
            &AudioLimits::default(),
        )
        .expect("decodes"),
    );
    // Three calls on two states: one waits for a state, none fails.
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let engine = Arc::clone(&engine);
            let call = Arc::clone(&call);
            std::thread::spawn(move || engine.transcribe(&call, &TranscribeOptions::default()))
        })
        .collect();
    for handle in handles {
        let transcript = handle.join().expect("no panic").expect("transcribes");
        let error = wer(JFK, &common::text_of(&transcript));
        assert!(error <= 0.10, "WER {error:.3}");
    }
}

#[test]
fn silence_and_noise_give_no_text() {
    let engine = common::engine("ggml-tiny.en.bin");
    let mut state = 99u32;
    let noise: Vec<f32> = (0..16_000 * 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state as f32 / u32::MAX as f32 - 0.5) * 0.01
        })
        .collect();
    let call = DecodedCall {
        source: "quiet".to_string(),
        source_sample_rate: 16_000,
        tracks: vec![
            Track {
                speaker: Speaker::Agent,
                samples: vec![0.0; 16_000 * 20],
            },
            Track {
                speaker: Speaker::Customer,
                samples: noise,
            },
        ],
    };
    let transcript = engine
        .transcribe(&call, &TranscribeOptions::default())
        .expect("transcribes");
    assert!(
        transcript.segments.is_empty(),
        "invented text: {transcript:#?}"
    );
    assert_eq!(transcript.language, None);
}

#[test]
fn indonesian_needs_a_multilingual_model() {
    let engine = common::engine("ggml-tiny.en.bin");
    assert!(!engine.is_multilingual());
    let call = DecodedCall {
        source: "x".to_string(),
        source_sample_rate: 16_000,
        tracks: vec![Track {
            speaker: Speaker::Unknown,
            samples: vec![0.0; 16_000],
        }],
    };
    let error = engine
        .transcribe(
            &call,
            &TranscribeOptions {
                language: Language::Id,
                progress: None,
            },
        )
        .expect_err("refused");
    assert!(
        matches!(error, TranscribeError::LanguageUnsupported { .. }),
        "{error:?}"
    );
}

#[test]
fn missing_or_bad_model_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("ggml-none.bin");
    let config = EngineConfig {
        model_path: missing.clone(),
        ..EngineConfig::default()
    };
    let error = Engine::load(&config).expect_err("missing");
    assert!(
        matches!(error, TranscribeError::ModelMissing { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("provision-models.sh"), "{error}");
    std::fs::write(&missing, b"not a model").expect("write");
    let error = Engine::load(&config).expect_err("bad");
    assert!(
        matches!(error, TranscribeError::ModelLoad { .. }),
        "{error:?}"
    );
    let zero_states = EngineConfig {
        states: 0,
        ..config
    };
    assert!(matches!(
        Engine::load(&zero_states),
        Err(TranscribeError::Config(_))
    ));
}

#[test]
fn auto_language_detects_english_with_the_multilingual_model() {
    let call = decode_call(
        &common::testdata("jfk.wav"),
        ChannelLayout::Mono,
        &AudioLimits::default(),
    )
    .expect("decodes");
    let transcript = common::engine("ggml-base-q8_0.bin")
        .transcribe(&call, &TranscribeOptions::default())
        .expect("transcribes");
    assert_eq!(transcript.language.as_deref(), Some("en"));
    let error = wer(JFK, &common::text_of(&transcript));
    assert!(error <= 0.10, "WER {error:.3}");
}

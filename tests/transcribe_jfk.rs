//! jfk.wav (11 s of real speech) with the tiny.en weights this project converts.

mod common;

use callscore::audio::{AudioLimits, ChannelLayout, decode_call};
use callscore::transcribe::TranscribeOptions;
use callscore::transcript::Speaker;
use common::wer::{normalise, spell, wer};

const REFERENCE: &str = "And so my fellow Americans, ask not what your country can do for you, \
                         ask what you can do for your country.";

fn transcribe_jfk(model: &str) -> callscore::transcript::Transcript {
    let call = decode_call(
        &common::testdata("jfk.wav"),
        ChannelLayout::Mono,
        &AudioLimits::default(),
    )
    .expect("jfk.wav decodes");
    common::engine(model)
        .transcribe(&call, &TranscribeOptions::default())
        .expect("transcribes")
}

#[test]
fn jfk_with_tiny_en_has_wer_at_most_10_percent() {
    let transcript = transcribe_jfk("ggml-tiny.en.bin");
    let text = common::text_of(&transcript);
    let error = wer(REFERENCE, &text);
    eprintln!("tiny.en f16 WER {error:.3}: {text}");
    assert!(error <= 0.10, "WER {error:.3} > 10 %: {text}");
    assert_eq!(transcript.language.as_deref(), Some("en"));
    let last = transcript.segments.last().expect("has segments");
    assert!(
        last.end_ms <= 11_000 && last.end_ms >= 9_000,
        "ends at {}",
        last.end_ms
    );
    for segment in &transcript.segments {
        assert_eq!(segment.speaker, Speaker::Unknown);
        assert!(segment.start_ms <= segment.end_ms);
        let confidence = segment.confidence.expect("has confidence");
        assert!(
            confidence > 0.5 && confidence <= 1.0,
            "confidence {confidence}"
        );
    }
}

#[test]
fn jfk_with_q8_0_weights_is_as_accurate() {
    let text = common::text_of(&transcribe_jfk("ggml-tiny.en-q8_0.bin"));
    let error = wer(REFERENCE, &text);
    eprintln!("tiny.en q8_0 WER {error:.3}: {text}");
    assert!(error <= 0.10, "WER {error:.3} > 10 %: {text}");
}

#[test]
fn model_id_names_size_language_and_weight_type() {
    assert_eq!(
        common::engine("ggml-tiny.en.bin").model_id(),
        "whisper-tiny.en-f16"
    );
    assert_eq!(
        common::engine("ggml-tiny.en-q8_0.bin").model_id(),
        "whisper-tiny.en-q8_0"
    );
    assert_eq!(
        common::engine("ggml-base.bin").model_id(),
        "whisper-base-f16"
    );
}

#[test]
fn wer_normalises_case_punctuation_and_numbers() {
    assert_eq!(
        normalise("Press 1, or 25! Didn't [tone]"),
        ["press", "one", "or", "twenty", "five", "didnt"]
    );
    assert_eq!(
        wer("Ask not what your country", "ask not, what your country."),
        0.0
    );
    assert!((wer("a b c d", "a x c") - 0.5).abs() < 1e-9);
    assert_eq!(spell(1205), ["one", "thousand", "two", "hundred", "five"]);
}

//! Scripted stereo calls (8 kHz μ-law, agent and customer on their own
//! channels) synthesised with espeak-ng and sox: speaker attribution, order
//! and timestamps are checked against the script.

mod common;

use callscore::audio::{AudioLimits, ChannelLayout, decode_call};
use callscore::transcribe::{Language, TranscribeOptions};
use callscore::transcript::{Segment, Speaker, Transcript};
use common::synth::{Turn, stereo_call};
use common::wer::wer;

const ENGLISH: [(Speaker, &str); 4] = [
    (
        Speaker::Agent,
        "Good morning, thank you for calling the support line. How can I help you today?",
    ),
    (
        Speaker::Customer,
        "Hello, my internet connection has been down since yesterday evening.",
    ),
    (
        Speaker::Agent,
        "I am sorry to hear that. Let me check your account right now.",
    ),
    (Speaker::Customer, "Thank you very much, I will wait."),
];

const INDONESIAN: [(Speaker, &str); 4] = [
    (
        Speaker::Agent,
        "Selamat pagi, terima kasih telah menghubungi layanan pelanggan.",
    ),
    (
        Speaker::Customer,
        "Selamat pagi, saya ingin bertanya tentang tagihan saya.",
    ),
    (
        Speaker::Agent,
        "Baik, mohon tunggu sebentar, saya akan memeriksa data anda.",
    ),
    (Speaker::Customer, "Terima kasih banyak."),
];

/// Segments whose midpoint falls inside the turn (with slack for padding).
fn segments_in<'a>(transcript: &'a Transcript, turn: &Turn) -> Vec<&'a Segment> {
    transcript
        .segments
        .iter()
        .filter(|s| {
            let mid = (s.start_ms + s.end_ms) / 2;
            mid + 500 >= turn.start_ms && mid <= turn.end_ms + 500
        })
        .collect()
}

/// Checks attribution, order and timing of every turn; returns the WER of
/// the whole call.
fn check_call(transcript: &Transcript, turns: &[Turn]) -> f64 {
    assert!(
        transcript
            .segments
            .windows(2)
            .all(|w| w[0].start_ms <= w[1].start_ms),
        "segments are in time order"
    );
    let mut hypothesis = Vec::new();
    for turn in turns {
        let found = segments_in(transcript, turn);
        assert!(
            !found.is_empty(),
            "no segment for turn {turn:?} in {transcript:#?}"
        );
        for segment in &found {
            assert_eq!(
                segment.speaker, turn.speaker,
                "{segment:?} belongs to {turn:?}"
            );
            // Timestamps within a second of the true speech extent.
            assert!(
                segment.start_ms + 1000 >= turn.start_ms && segment.end_ms <= turn.end_ms + 1000,
                "{segment:?} outside {turn:?}"
            );
        }
        hypothesis.extend(found.iter().map(|s| s.text.clone()));
    }
    assert_eq!(
        hypothesis.len(),
        transcript.segments.len(),
        "every segment belongs to a scripted turn: {transcript:#?}"
    );
    let reference: Vec<&str> = turns.iter().map(|t| t.text.as_str()).collect();
    wer(&reference.join(" "), &hypothesis.join(" "))
}

#[test]
fn english_call_agent_left_is_attributed_ordered_and_timed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, turns) = stereo_call(dir.path(), "en-left", "en-us", &ENGLISH, true);
    let call =
        decode_call(&path, ChannelLayout::AgentLeft, &AudioLimits::default()).expect("decodes");
    assert_eq!(call.source_sample_rate, 8000);
    let transcript = common::engine("ggml-tiny.en.bin")
        .transcribe(
            &call,
            &TranscribeOptions {
                language: Language::En,
                progress: None,
            },
        )
        .expect("transcribes");
    let error = check_call(&transcript, &turns);
    eprintln!("English synthetic call WER {error:.3}");
    assert!(error <= 0.25, "WER {error:.3}: {transcript:#?}");
    assert_eq!(transcript.segments[0].speaker, Speaker::Agent);
}

#[test]
fn agent_right_layout_swaps_the_speakers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, turns) = stereo_call(dir.path(), "en-right", "en-us", &ENGLISH[..2], false);
    let call =
        decode_call(&path, ChannelLayout::AgentRight, &AudioLimits::default()).expect("decodes");
    let transcript = common::engine("ggml-tiny.en-q8_0.bin")
        .transcribe(
            &call,
            &TranscribeOptions {
                language: Language::En,
                progress: None,
            },
        )
        .expect("transcribes");
    let error = check_call(&transcript, &turns);
    assert!(error <= 0.25, "WER {error:.3}: {transcript:#?}");
}

#[test]
fn indonesian_call_with_base_forced_to_id() {
    // espeak's Indonesian voice is robotic enough that language detection
    // picks Thai in both whisper.cpp and faster-whisper: force `id`.
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, turns) = stereo_call(dir.path(), "id-left", "id", &INDONESIAN, true);
    let call =
        decode_call(&path, ChannelLayout::AgentLeft, &AudioLimits::default()).expect("decodes");
    let transcript = common::engine("ggml-base.bin")
        .transcribe(
            &call,
            &TranscribeOptions {
                language: Language::Id,
                progress: None,
            },
        )
        .expect("transcribes");
    let error = check_call(&transcript, &turns);
    eprintln!("Indonesian synthetic call WER {error:.3}: {transcript:#?}");
    // Measured 0.61 (faster-whisper base makes the same kind of errors on
    // this voice); speech recognised as another language scores near 1.0.
    assert!(error <= 0.75, "WER {error:.3}: {transcript:#?}");
    let words = common::wer::normalise(&common::text_of(&transcript));
    for expected in ["selamat", "pagi", "terima", "kasih", "banyak"] {
        assert!(
            words.iter().any(|w| w == expected),
            "{expected:?} missing: {words:?}"
        );
    }
    assert_eq!(transcript.language.as_deref(), Some("id"));
    assert!(
        transcript
            .segments
            .iter()
            .all(|s| s.language.as_deref() == Some("id"))
    );
}

//! Real telephone speech: the pyannote two-speaker call (16 kHz, mono) and
//! Asterisk's 8 kHz prompts, both against their published transcripts.

mod common;

use std::sync::{Arc, Mutex};

use callscore::audio::{AudioLimits, ChannelLayout, decode_call};
use callscore::transcribe::{Language, TranscribeOptions};
use common::wer::wer;

/// The STM reference: one line per utterance, text from the sixth field on.
fn stm_reference() -> String {
    let stm = std::fs::read_to_string(common::testdata("pyannote/sample.stm")).expect("read stm");
    stm.lines()
        .filter_map(|line| line.splitn(6, ' ').nth(5))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn pyannote_phone_call_wer_and_timing() {
    let call = decode_call(
        &common::testdata("pyannote/sample.wav"),
        ChannelLayout::Mono,
        &AudioLimits::default(),
    )
    .expect("decodes");
    let shares = Arc::new(Mutex::new(Vec::new()));
    let recorder = Arc::clone(&shares);
    let options = TranscribeOptions {
        language: Language::En,
        progress: Some(Arc::new(move |share| {
            if let Ok(mut list) = recorder.lock() {
                list.push(share);
            }
        })),
    };
    let transcript = common::engine("ggml-tiny.en.bin")
        .transcribe(&call, &options)
        .expect("transcribes");
    let text = common::text_of(&transcript);
    let error = wer(&stm_reference(), &text);
    eprintln!("pyannote call WER {error:.3}: {text}");
    // Measured 0.21 with tiny.en f16 (mostly "Sheila and Texas"-type errors
    // and the crosstalk at 18 s).
    assert!(error <= 0.35, "WER {error:.3}: {text}");
    // Speech starts at 6.7 s; nothing may be invented in the silence before.
    let first = transcript.segments.first().expect("segments");
    assert!(
        first.start_ms >= 6_000,
        "first segment at {} ms",
        first.start_ms
    );
    assert!(transcript.segments.iter().all(|s| s.end_ms <= 30_100));

    let shares = shares.lock().expect("progress recorded").clone();
    assert_eq!(shares.first(), Some(&0.0));
    assert_eq!(shares.last(), Some(&1.0));
    assert!(
        shares.windows(2).all(|w| w[0] <= w[1]),
        "progress only grows: {shares:?}"
    );
}

#[test]
fn asterisk_prompts_8khz_wer() {
    let index =
        std::fs::read_to_string(common::testdata("asterisk/transcripts.txt")).expect("index");
    let engine = common::engine("ggml-tiny.en.bin");
    let (mut reference, mut hypothesis) = (Vec::new(), Vec::new());
    for line in index.lines() {
        let Some((name, text)) = line.split_once('\t') else {
            continue;
        };
        let path = common::testdata(&format!("asterisk/{name}.wav"));
        let call =
            decode_call(&path, ChannelLayout::Mono, &AudioLimits::default()).expect("decodes");
        assert_eq!(call.source_sample_rate, 8000);
        let transcript = engine
            .transcribe(
                &call,
                &TranscribeOptions {
                    language: Language::En,
                    progress: None,
                },
            )
            .expect("transcribes");
        let heard = common::text_of(&transcript);
        eprintln!("{name}: {:.2} | {text} | {heard}", wer(text, &heard));
        reference.push(text.to_string());
        hypothesis.push(heard);
    }
    assert!(reference.len() >= 10, "sample of prompts provisioned");
    let error = wer(&reference.join(" "), &hypothesis.join(" "));
    eprintln!("asterisk prompts WER {error:.3}");
    // Measured 0.025; a clear professional voice, so the bound is tight.
    assert!(error <= 0.12, "WER {error:.3}");
}

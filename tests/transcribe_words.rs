//! Word timings: each word of the transcript carries its own start and end,
//! within 150 ms of where the word really is. The recordings are built so
//! that their word boundaries are known: words spoken one by one by
//! espeak-ng and joined at recorded offsets, with pauses between them and
//! run together (30-60 ms apart). Measured: 4 ms mean, 11 ms worst with
//! pauses; 11 ms mean, 94 ms worst run together (Whisper's token timestamps
//! alone: 190 and 414 ms; DTW alignment: 560 and 1,230 ms mean).

mod common;

use callscore::audio::{AudioLimits, ChannelLayout, decode_call};
use callscore::transcribe::TranscribeOptions;

/// How far a word's start or end may be from the truth (ms).
const TOLERANCE_MS: u64 = 150;

fn normalised(word: &str) -> String {
    word.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Transcribes the scripted words and checks every recognised word's times
/// against the truth, within `tolerance_ms`.
fn check_word_times(script: &[(&str, u64)], tolerance_ms: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, truth) = common::synth::spoken_words(dir.path(), "words", "en-us", script);
    let call = decode_call(&path, ChannelLayout::Mono, &AudioLimits::default())
        .expect("the word recording decodes");
    let transcript = common::engine("ggml-tiny.en-q8_0.bin")
        .transcribe(&call, &TranscribeOptions::default())
        .expect("transcribes");
    let words: Vec<_> = transcript
        .segments
        .iter()
        .flat_map(|s| s.words.iter())
        .collect();
    eprintln!("transcript: {}", common::text_of(&transcript));
    // Every segment's words spell its text, in order.
    for segment in &transcript.segments {
        assert!(
            !segment.words.is_empty(),
            "segment without words: {segment:?}"
        );
        assert!(
            segment.word_spans().is_some(),
            "words do not spell {:?}",
            segment.text
        );
        for word in &segment.words {
            assert!(word.start_ms <= word.end_ms, "{word:?}");
            assert!(
                word.start_ms >= segment.start_ms.saturating_sub(TOLERANCE_MS)
                    && word.end_ms <= segment.end_ms + TOLERANCE_MS,
                "{word:?} outside its segment {}..{}",
                segment.start_ms,
                segment.end_ms
            );
        }
    }
    // Each scripted word, found in order among the recognised ones.
    let mut cursor = 0;
    let mut errors = Vec::new();
    for expected in &truth {
        let want = normalised(&expected.text);
        let Some(offset) = words[cursor..]
            .iter()
            .position(|w| normalised(&w.text) == want)
        else {
            eprintln!("not recognised: {want}");
            continue;
        };
        let word = words[cursor + offset];
        cursor += offset + 1;
        let start_error = word.start_ms.abs_diff(expected.start_ms);
        let end_error = word.end_ms.abs_diff(expected.end_ms);
        eprintln!(
            "{want:>10}: true {}..{} ms, timed {}..{} ms (errors {start_error}, {end_error})",
            expected.start_ms, expected.end_ms, word.start_ms, word.end_ms
        );
        errors.push((want, start_error, end_error));
    }
    assert!(
        errors.len() * 5 >= truth.len() * 4,
        "at least 80 % of the words recognised: {} of {}",
        errors.len(),
        truth.len()
    );
    let worst = errors
        .iter()
        .map(|(_, s, e)| (*s).max(*e))
        .max()
        .unwrap_or(0);
    let mean = errors.iter().map(|(_, s, e)| s + e).sum::<u64>() as f64 / (2 * errors.len()) as f64;
    eprintln!("boundary error: mean {mean:.0} ms, worst {worst} ms");
    for (word, start_error, end_error) in &errors {
        assert!(
            *start_error <= tolerance_ms && *end_error <= tolerance_ms,
            "{word}: start off by {start_error} ms, end by {end_error} ms"
        );
    }
}

#[test]
fn words_said_with_pauses_are_timed_within_150_ms() {
    check_word_times(
        &[
            ("thank", 800),
            ("you", 250),
            ("for", 450),
            ("calling", 300),
            ("customer", 600),
            ("service", 250),
            ("please", 700),
            ("hold", 350),
            ("the", 300),
            ("line", 500),
            ("while", 900),
            ("I", 300),
            ("check", 400),
            ("your", 250),
            ("order", 350),
        ],
        TOLERANCE_MS,
    );
}

#[test]
fn words_run_together_are_timed_within_150_ms() {
    // Pauses of 30-60 ms: the islands of speech split at short quiet
    // stretches once the longer ones do not give one island per word.
    check_word_times(
        &[
            ("your", 800),
            ("parcel", 40),
            ("will", 60),
            ("arrive", 30),
            ("on", 50),
            ("monday", 40),
            ("morning", 60),
            ("thank", 900),
            ("you", 30),
            ("for", 50),
            ("waiting", 40),
        ],
        TOLERANCE_MS,
    );
}

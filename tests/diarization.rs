//! Who spoke when on mono recordings, with the real GE2E speaker encoder:
//! the pyannote telephone call against its reference (RTTM), and mono mixes
//! of synthesised two-channel calls whose channels are the reference; the
//! diarization error rate (0.25 s collar) must stay within 15 %.

mod common;

use callscore::audio::vad::VadKind;
use callscore::audio::{AudioLimits, ChannelLayout, decode_call};
use callscore::diarize::error_rate::{ErrorRate, Span, diarization_error_rate};
use callscore::diarize::{Diarization, Diarizer};
use callscore::transcript::Speaker;
use common::synth::{SUPPORT_CALL_EN, SUPPORT_CALL_ID, Script, stereo_call_voices};

const TARGET: f64 = 0.15;
const COLLAR_MS: u64 = 250;

fn diarizer() -> Diarizer {
    Diarizer::load(&common::model("speaker-ge2e.safetensors")).expect("the speaker encoder loads")
}

/// Diarizes a recording mixed down to one track.
fn diarize_mono(diarizer: &Diarizer, path: &std::path::Path) -> Diarization {
    let call = decode_call(path, ChannelLayout::Mono, &AudioLimits::default()).expect("decodes");
    let samples = &call.tracks[0].samples;
    diarizer.diarize(samples, VadKind::default())
}

fn hypothesis(diarization: &Diarization) -> Vec<Span> {
    diarization
        .turns
        .iter()
        .map(|t| Span {
            start_ms: t.start_ms,
            end_ms: t.end_ms,
            speaker: t.voice,
        })
        .collect()
}

fn report(name: &str, rate: &ErrorRate, diarization: &Diarization) {
    eprintln!(
        "{name}: DER {:.1} % (missed {:.1} %, false alarm {:.1} %, confusion {:.1} %) over {:.1} s, {} voices",
        rate.total * 100.0,
        rate.missed * 100.0,
        rate.false_alarm * 100.0,
        rate.confusion * 100.0,
        rate.scored_ms as f64 / 1000.0,
        diarization.voices,
    );
}

#[test]
fn the_pyannote_call_is_diarized_within_fifteen_percent() {
    let rttm = std::fs::read_to_string(common::testdata("pyannote/sample.rttm")).expect("rttm");
    let mut names: Vec<String> = Vec::new();
    let reference: Vec<Span> = rttm
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let start: f64 = fields.get(3)?.parse().ok()?;
            let duration: f64 = fields.get(4)?.parse().ok()?;
            let name = (*fields.get(7)?).to_string();
            let speaker = names.iter().position(|n| *n == name).unwrap_or_else(|| {
                names.push(name);
                names.len() - 1
            });
            Some(Span {
                start_ms: (start * 1000.0).round() as u64,
                end_ms: ((start + duration) * 1000.0).round() as u64,
                speaker,
            })
        })
        .collect();
    assert_eq!(names.len(), 2, "the reference has two speakers");
    let diarization = diarize_mono(&diarizer(), &common::testdata("pyannote/sample.wav"));
    let rate = diarization_error_rate(&reference, &hypothesis(&diarization), COLLAR_MS);
    report("pyannote sample", &rate, &diarization);
    assert_eq!(diarization.voices, 2, "{diarization:?}");
    assert!(rate.total <= TARGET, "DER {:.3} > {TARGET}", rate.total);
}

/// Each language's call in two pairs of voices, mixed to mono; the channels
/// give the reference.
#[test]
fn mono_mixes_of_two_channel_calls_are_diarized_within_fifteen_percent() {
    let diarizer = diarizer();
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: [(&str, [&str; 2], &Script); 3] = [
        ("english", ["en-us+f3", "en-us+m3"], &SUPPORT_CALL_EN),
        ("indonesian", ["id+f3", "id+m3"], &SUPPORT_CALL_ID),
        ("mixed_voices", ["en-us+m3", "id+f4"], &SUPPORT_CALL_EN),
    ];
    for (name, voices, script) in cases {
        let (path, turns) = stereo_call_voices(dir.path(), name, voices, script, true);
        let reference: Vec<Span> = turns
            .iter()
            .map(|t| Span {
                start_ms: t.start_ms,
                end_ms: t.end_ms,
                speaker: usize::from(t.speaker == Speaker::Customer),
            })
            .collect();
        let diarization = diarize_mono(&diarizer, &path);
        let rate = diarization_error_rate(&reference, &hypothesis(&diarization), COLLAR_MS);
        report(name, &rate, &diarization);
        assert_eq!(diarization.voices, 2, "{name}: {diarization:?}");
        assert!(
            rate.total <= TARGET,
            "{name}: DER {:.3} > {TARGET}",
            rate.total
        );
    }
}

/// An IVR prompt (a real recorded voice, Asterisk's 8 kHz prompts) before
/// the agent and the customer: three voices, kept apart.
#[test]
fn an_ivr_prompt_before_the_call_is_a_third_voice() {
    let diarizer = diarizer();
    let dir = tempfile::tempdir().expect("tempdir");
    let limits = AudioLimits::default();
    let mut samples: Vec<f32> = Vec::new();
    let mut reference: Vec<Span> = Vec::new();
    for prompt in ["queue-thankyou", "vm-intro"] {
        let path = common::testdata(&format!("asterisk/{prompt}.wav"));
        let decoded = decode_call(&path, ChannelLayout::Mono, &limits).expect("decodes");
        let start_ms = samples.len() as u64 / 16;
        samples.extend_from_slice(&decoded.tracks[0].samples);
        reference.push(Span {
            start_ms,
            end_ms: samples.len() as u64 / 16,
            speaker: 2,
        });
        samples.extend(std::iter::repeat_n(0.0, 8_000));
    }
    let offset_ms = samples.len() as u64 / 16;
    let (path, turns) = stereo_call_voices(
        dir.path(),
        "after_ivr",
        ["en-us+f3", "en-us+m3"],
        &SUPPORT_CALL_EN,
        true,
    );
    let call = decode_call(&path, ChannelLayout::Mono, &limits).expect("decodes");
    samples.extend_from_slice(&call.tracks[0].samples);
    reference.extend(turns.iter().map(|t| Span {
        start_ms: offset_ms + t.start_ms,
        end_ms: offset_ms + t.end_ms,
        speaker: usize::from(t.speaker == Speaker::Customer),
    }));
    let diarization = diarizer.diarize(&samples, VadKind::default());
    let rate = diarization_error_rate(&reference, &hypothesis(&diarization), COLLAR_MS);
    report("ivr + call", &rate, &diarization);
    assert_eq!(diarization.voices, 3, "{diarization:?}");
    assert!(rate.total <= TARGET, "DER {:.3} > {TARGET}", rate.total);
}

/// One speaker stays one voice: the JFK recording (11 s; and five times
/// over, 55 s) and the Asterisk prompts one after another (51 s, one
/// professional voice).
#[test]
fn one_speaker_stays_one_voice() {
    let diarizer = diarizer();
    let limits = AudioLimits::default();
    let decode = |path: &std::path::Path| {
        decode_call(path, ChannelLayout::Mono, &limits)
            .expect("decodes")
            .tracks[0]
            .samples
            .clone()
    };
    let jfk = decode(&common::testdata("jfk.wav"));
    let jfk_five: Vec<f32> = (0..5).flat_map(|_| jfk.iter().copied()).collect();
    let mut prompts: Vec<f32> = Vec::new();
    let index =
        std::fs::read_to_string(common::testdata("asterisk/transcripts.txt")).expect("index");
    for name in index.lines().filter_map(|line| line.split('\t').next()) {
        prompts.extend(decode(&common::testdata(&format!("asterisk/{name}.wav"))));
        prompts.extend(std::iter::repeat_n(0.0, 8_000));
    }
    for (name, samples) in [
        ("jfk", &jfk),
        ("jfk five times", &jfk_five),
        ("asterisk prompts", &prompts),
    ] {
        let diarization = diarizer.diarize(samples, VadKind::default());
        eprintln!(
            "{name}: {} s, {} voices",
            samples.len() / 16_000,
            diarization.voices
        );
        assert_eq!(diarization.voices, 1, "{name}: {diarization:?}");
    }
}

/// The bundled sample call (two espeak-ng voices, 8 kHz μ-law stereo) mixed
/// down: each channel's own speech, found by the VAD, is the reference.
#[test]
fn the_bundled_sample_call_mixed_to_mono_is_diarized_within_fifteen_percent() {
    use callscore::audio::vad::{VadConfig, detect_speech};
    let sample =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/call-en-stereo-8k.wav");
    let limits = AudioLimits::default();
    let channels = decode_call(&sample, ChannelLayout::AgentLeft, &limits).expect("decodes");
    let tight = VadConfig {
        min_silence_ms: 300,
        min_speech_ms: 200,
        pad_ms: 0,
        ..VadConfig::default()
    };
    let reference: Vec<Span> = channels
        .tracks
        .iter()
        .enumerate()
        .flat_map(|(speaker, track)| {
            detect_speech(&track.samples, &tight)
                .into_iter()
                .map(move |region| Span {
                    start_ms: region.start as u64 / 16,
                    end_ms: region.end as u64 / 16,
                    speaker,
                })
        })
        .collect();
    let diarization = diarize_mono(&diarizer(), &sample);
    let rate = diarization_error_rate(&reference, &hypothesis(&diarization), COLLAR_MS);
    report("bundled sample", &rate, &diarization);
    assert_eq!(diarization.voices, 2, "{diarization:?}");
    assert!(rate.total <= TARGET, "DER {:.3} > {TARGET}", rate.total);
}

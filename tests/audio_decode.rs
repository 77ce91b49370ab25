//! Every supported encoding decodes to 16 kHz tracks of the right length,
//! with the right speaker on each channel.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use callscore::audio::{AudioLimits, ChannelLayout, SAMPLE_RATE, decode_call};
use callscore::transcript::Speaker;

/// Converts the source with sox's output options `args` into `name`.
fn convert(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let input = common::synth::stereo_tone(dir);
    let out = dir.join(name);
    let status = Command::new("sox")
        .arg(&input)
        .args(args)
        .arg(&out)
        .status()
        .expect("sox runs (apt package sox; scripts/provision-models.sh installs it)");
    assert!(status.success(), "sox {args:?} {name}");
    out
}

fn rms(samples: &[f32]) -> f32 {
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len().max(1) as f32).sqrt()
}

#[test]
fn decodes_every_supported_encoding_to_16k_tracks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: [(&str, &[&str]); 12] = [
        ("pcm8.wav", &["-e", "unsigned-integer", "-b", "8"]),
        ("pcm16.wav", &["-e", "signed-integer", "-b", "16"]),
        ("pcm24.wav", &["-e", "signed-integer", "-b", "24"]),
        ("pcm32.wav", &["-e", "signed-integer", "-b", "32"]),
        ("float32.wav", &["-e", "floating-point", "-b", "32"]),
        ("ulaw.wav", &["-e", "u-law"]),
        ("alaw.wav", &["-e", "a-law"]),
        ("call.mp3", &[]),
        ("call.flac", &[]),
        ("call.ogg", &[]),
        ("pcm16-44k.wav", &["-r", "44100"]),
        ("pcm16-48k.flac", &["-r", "48000"]),
    ];
    for (name, args) in cases {
        let path = convert(dir.path(), name, args);
        let call = decode_call(&path, ChannelLayout::AgentLeft, &AudioLimits::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(call.tracks.len(), 2, "{name}");
        assert_eq!(call.tracks[0].speaker, Speaker::Agent);
        assert_eq!(call.tracks[1].speaker, Speaker::Customer);
        let expected = SAMPLE_RATE as usize * 3 / 2;
        let len = call.tracks[0].samples.len();
        // Lossy codecs add encoder delay and frame padding (8 kHz MP3 frames
        // are 72 ms); lossless ones are exact up to resampler rounding.
        let lossy = name.ends_with(".mp3") || name.ends_with(".ogg");
        let tolerance = if lossy { 3200 } else { 16 };
        assert!(
            len.abs_diff(expected) <= tolerance,
            "{name}: {len} samples, expected ~{expected}"
        );
        let agent = rms(&call.tracks[0].samples);
        let customer = rms(&call.tracks[1].samples);
        assert!(agent > 0.2 && agent < 0.5, "{name}: agent rms {agent}");
        assert!(customer < 0.01, "{name}: customer rms {customer}");
    }
}

#[test]
fn agent_right_and_mono_layouts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = convert(dir.path(), "ulaw.wav", &["-e", "u-law"]);
    let call =
        decode_call(&path, ChannelLayout::AgentRight, &AudioLimits::default()).expect("decodes");
    assert_eq!(call.tracks[0].speaker, Speaker::Customer);
    assert!(
        rms(&call.tracks[0].samples) > 0.2,
        "left channel is the customer's"
    );
    assert_eq!(call.tracks[1].speaker, Speaker::Agent);
    let mono = decode_call(&path, ChannelLayout::Mono, &AudioLimits::default()).expect("decodes");
    assert_eq!(mono.tracks.len(), 1);
    assert_eq!(mono.tracks[0].speaker, Speaker::Unknown);
    let level = rms(&mono.tracks[0].samples);
    assert!(level > 0.1 && level < 0.25, "mixed down to half: {level}");
    assert_eq!(mono.duration_ms(), 1500);
}

#[test]
fn bytes_decode_like_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = convert(dir.path(), "call.flac", &[]);
    let bytes = std::fs::read(&path).expect("read");
    let from_bytes = decode_call(
        callscore::audio::AudioInput::Bytes {
            name: "upload",
            data: &bytes,
        },
        ChannelLayout::AgentLeft,
        &AudioLimits::default(),
    )
    .expect("decodes");
    let from_file =
        decode_call(&path, ChannelLayout::AgentLeft, &AudioLimits::default()).expect("decodes");
    assert_eq!(from_bytes.tracks, from_file.tracks);
    assert_eq!(from_bytes.source, "upload");
}

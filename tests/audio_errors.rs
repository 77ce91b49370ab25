//! Bad audio gives a named error that mentions the file, never a panic.

use std::path::{Path, PathBuf};
use std::process::Command;

use callscore::audio::{AudioError, AudioInput, AudioLimits, ChannelLayout, decode_call};

fn decode(path: &Path, layout: ChannelLayout) -> Result<callscore::audio::DecodedCall, AudioError> {
    decode_call(path, layout, &AudioLimits::default())
}

/// A 16-bit PCM WAV of a 440 Hz tone, written with hound.
fn tone(dir: &Path, name: &str, seconds: f32, channels: u16, rate: u32) -> PathBuf {
    let path = dir.join(name);
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&path, spec).expect("create");
    for i in 0..(seconds * rate as f32) as usize {
        let v = ((i as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin() * 8000.0) as i16;
        for _ in 0..channels {
            writer.write_sample(v).expect("write");
        }
    }
    writer.finalize().expect("finalise");
    path
}

fn assert_names_file(error: &AudioError, path: &Path) {
    let message = error.to_string();
    let name = path.display().to_string();
    assert!(message.contains(&name), "{message:?} does not name {name}");
}

#[test]
fn text_file_is_not_audio() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("notes.wav");
    std::fs::write(&path, "this is a text file, not a recording\n".repeat(50)).expect("write");
    let error = decode(&path, ChannelLayout::Mono).expect_err("rejected");
    assert!(matches!(error, AudioError::NotAudio { .. }), "{error:?}");
    assert_names_file(&error, &path);
}

#[test]
fn zero_length_file_is_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("empty.wav");
    std::fs::write(&path, b"").expect("write");
    let error = decode(&path, ChannelLayout::Mono).expect_err("rejected");
    assert!(matches!(error, AudioError::Empty { .. }), "{error:?}");
    assert_names_file(&error, &path);
    let error = decode_call(
        AudioInput::Bytes {
            name: "upload-7",
            data: &[],
        },
        ChannelLayout::Mono,
        &AudioLimits::default(),
    )
    .expect_err("rejected");
    assert!(error.to_string().contains("upload-7"), "{error}");
}

#[test]
fn wav_with_a_header_and_no_samples_is_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = tone(dir.path(), "silent.wav", 0.0, 1, 8000);
    let error = decode(&path, ChannelLayout::Mono).expect_err("rejected");
    assert!(matches!(error, AudioError::Empty { .. }), "{error:?}");
}

#[test]
fn truncated_wav_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = tone(dir.path(), "full.wav", 2.0, 1, 8000);
    let bytes = std::fs::read(&path).expect("read");
    let cut = dir.path().join("cut.wav");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let error = decode(&cut, ChannelLayout::Mono).expect_err("rejected");
    assert!(matches!(error, AudioError::Truncated { .. }), "{error:?}");
    assert_names_file(&error, &cut);
    // Cut inside the header.
    std::fs::write(&cut, &bytes[..20]).expect("write");
    let error = decode(&cut, ChannelLayout::Mono).expect_err("rejected");
    assert!(
        matches!(
            error,
            AudioError::Truncated { .. } | AudioError::NotAudio { .. }
        ),
        "{error:?}"
    );
}

#[test]
fn longer_than_the_limit_is_too_long() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = tone(dir.path(), "long.wav", 3.0, 1, 8000);
    let limits = AudioLimits {
        max_duration_s: 2.0,
    };
    let error = decode_call(&path, ChannelLayout::Mono, &limits).expect_err("rejected");
    assert!(matches!(error, AudioError::TooLong { .. }), "{error:?}");
    assert_names_file(&error, &path);
    // The same file without a frame count in its header (streamed as MP3)
    // is stopped while decoding.
    let mp3 = dir.path().join("long.mp3");
    sox(&[
        path.to_str().unwrap_or_default(),
        mp3.to_str().unwrap_or_default(),
    ]);
    let error = decode_call(&mp3, ChannelLayout::Mono, &limits).expect_err("rejected");
    assert!(matches!(error, AudioError::TooLong { .. }), "{error:?}");
}

#[test]
fn more_than_two_channels_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = tone(dir.path(), "three.wav", 1.0, 3, 8000);
    let error = decode(&path, ChannelLayout::Mono).expect_err("rejected");
    assert!(
        matches!(error, AudioError::TooManyChannels { channels: 3, .. }),
        "{error:?}"
    );
    assert_names_file(&error, &path);
}

#[test]
fn unsupported_codec_is_named() {
    // GSM 6.10 in WAV: a real telephony codec symphonia does not decode.
    let dir = tempfile::tempdir().expect("tempdir");
    let source = tone(dir.path(), "pcm.wav", 1.0, 1, 8000);
    let gsm = dir.path().join("gsm.wav");
    sox(&[
        source.to_str().unwrap_or_default(),
        "-e",
        "gsm-full-rate",
        gsm.to_str().unwrap_or_default(),
    ]);
    let error = decode(&gsm, ChannelLayout::Mono).expect_err("rejected");
    assert!(
        matches!(error, AudioError::UnsupportedCodec { .. }),
        "{error:?}"
    );
    assert_names_file(&error, &gsm);
}

#[test]
fn stereo_layout_on_mono_file_is_a_mismatch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = tone(dir.path(), "mono.wav", 1.0, 1, 8000);
    let error = decode(&path, ChannelLayout::AgentLeft).expect_err("rejected");
    assert!(
        matches!(error, AudioError::LayoutMismatch { channels: 1, .. }),
        "{error:?}"
    );
}

#[test]
fn missing_file_is_an_io_error() {
    let path = Path::new("/nonexistent/call.wav");
    let error = decode(path, ChannelLayout::Mono).expect_err("rejected");
    assert!(matches!(error, AudioError::Io { .. }), "{error:?}");
    assert_names_file(&error, path);
}

#[test]
fn random_bytes_never_panic() {
    // Garbage after a valid RIFF header and garbage alone, at many lengths.
    let dir = tempfile::tempdir().expect("tempdir");
    let header = std::fs::read(tone(dir.path(), "h.wav", 0.1, 1, 8000)).expect("read");
    let mut state = 0x1234_5678u32;
    for len in [1usize, 3, 16, 44, 45, 100, 1000, 5000] {
        let mut bytes: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        for prefix in [&[][..], &header[..44]] {
            let mut data = prefix.to_vec();
            data.append(&mut bytes.clone());
            let result = decode_call(
                AudioInput::Bytes {
                    name: "fuzz",
                    data: &data,
                },
                ChannelLayout::Mono,
                &AudioLimits::default(),
            );
            if let Err(error) = result {
                assert!(error.to_string().starts_with("fuzz: "), "{error}");
            }
        }
        bytes.clear();
    }
}

fn sox(args: &[&str]) {
    let status = Command::new("sox")
        .args(args)
        .status()
        .expect("sox runs (apt package sox; scripts/provision-models.sh installs it)");
    assert!(status.success(), "sox {args:?} failed");
}

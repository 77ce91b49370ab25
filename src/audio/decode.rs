//! Container and codec decoding with symphonia, to planar f32 at the source rate.
//! Symphonia demuxes Opus in Ogg and WebM (Matroska) but ships no Opus
//! decoder; libopus, the reference decoder, fills that gap through
//! symphonia-adapter-libopus (built from source and linked statically, so the
//! binary needs no libopus at run time).

use std::fs::File;
use std::io::Cursor;
use std::sync::LazyLock;

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::codecs::registry::CodecRegistry;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;

use super::{AudioError, AudioInput, AudioLimits};

/// Lowest sample rate accepted (narrow-band telephony is 8 kHz).
pub const MIN_SAMPLE_RATE: u32 = 8_000;
/// Highest sample rate accepted (studio and VoIP codecs top out at 48 kHz);
/// with the duration limit this bounds the decoded PCM.
pub const MAX_SAMPLE_RATE: u32 = 48_000;

/// Symphonia's codecs plus Opus (libopus).
static CODECS: LazyLock<CodecRegistry> = LazyLock::new(|| {
    let mut registry = CodecRegistry::new();
    symphonia::default::register_enabled_codecs(&mut registry);
    registry.register_audio_decoder::<symphonia_adapter_libopus::OpusDecoder>();
    registry
});

/// Refuses a sample rate outside the accepted range.
fn check_rate(name: &str, rate: u32) -> Result<(), AudioError> {
    if (MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) {
        Ok(())
    } else {
        Err(AudioError::SampleRate {
            file: name.to_string(),
            rate,
            min: MIN_SAMPLE_RATE,
            max: MAX_SAMPLE_RATE,
        })
    }
}

/// Decoded samples at the source rate, one vector per channel.
pub(super) struct Pcm {
    /// Source sample rate in Hz.
    pub sample_rate: u32,
    /// Samples per channel, all of equal length.
    pub channels: Vec<Vec<f32>>,
}

/// Decodes every packet of the default audio track, enforcing `limits` as it goes.
pub(super) fn decode_pcm(
    input: &AudioInput<'_>,
    name: &str,
    limits: &AudioLimits,
) -> Result<Pcm, AudioError> {
    // The demuxers parse untrusted headers; one that panics on a malformed
    // file (symphonia's WAV reader overflowed on a channel count of 65535,
    // found by the fuzz smoke test) refuses that file, not the process.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        decode_pcm_unguarded(input, name, limits)
    }))
    .unwrap_or_else(|_| {
        Err(AudioError::NotAudio {
            file: name.to_string(),
            detail: "the decoder failed on malformed data".to_string(),
        })
    })
}

fn decode_pcm_unguarded(
    input: &AudioInput<'_>,
    name: &str,
    limits: &AudioLimits,
) -> Result<Pcm, AudioError> {
    let mut hint = Hint::new();
    let source: Box<dyn MediaSource> = match input {
        AudioInput::File(path) => {
            if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
                hint.with_extension(ext);
            }
            let file = File::open(path).map_err(|source| AudioError::Io {
                file: name.to_string(),
                source,
            })?;
            let len = file
                .metadata()
                .map_err(|source| AudioError::Io {
                    file: name.to_string(),
                    source,
                })?
                .len();
            if len == 0 {
                return Err(AudioError::Empty {
                    file: name.to_string(),
                });
            }
            Box::new(file)
        }
        AudioInput::Bytes { data, .. } => {
            if data.is_empty() {
                return Err(AudioError::Empty {
                    file: name.to_string(),
                });
            }
            // The bytes are copied once so the stream can own them; the copy is
            // the size of the encoded input, well below the decoded PCM.
            Box::new(Cursor::new(data.to_vec()))
        }
    };
    let stream = MediaSourceStream::new(source, Default::default());
    let format = symphonia::default::get_probe()
        .probe(
            &hint,
            stream,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|error| classify_probe_error(name, error))?;
    decode_track(format, name, limits)
}

/// Maps a probe failure to "not audio", "unsupported codec" or "truncated".
fn classify_probe_error(name: &str, error: SymphoniaError) -> AudioError {
    let file = name.to_string();
    match error {
        SymphoniaError::IoError(source) if source.kind() == std::io::ErrorKind::UnexpectedEof => {
            AudioError::Truncated {
                file,
                detail: "the file ends inside its headers".to_string(),
            }
        }
        SymphoniaError::IoError(source) => AudioError::Io { file, source },
        SymphoniaError::Unsupported(what) if what.contains("no suitable format reader") => {
            AudioError::NotAudio {
                file,
                detail: "no known audio container or codec matches its bytes".to_string(),
            }
        }
        SymphoniaError::Unsupported(what) => AudioError::UnsupportedCodec {
            file,
            detail: what.to_string(),
        },
        other => AudioError::NotAudio {
            file,
            detail: other.to_string(),
        },
    }
}

/// Decodes the default audio track of an opened container.
fn decode_track(
    mut format: Box<dyn FormatReader + '_>,
    name: &str,
    limits: &AudioLimits,
) -> Result<Pcm, AudioError> {
    let file = || name.to_string();
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| AudioError::NotAudio {
            file: file(),
            detail: "the container has no audio track".to_string(),
        })?;
    let track_id = track.id;
    // Frames the header declares, less the encoder delay the decoder trims
    // (Ogg Opus counts its pre-skip in the stream's length).
    let declared_frames = track
        .num_frames
        .map(|frames| frames.saturating_sub(u64::from(track.delay.unwrap_or(0))));
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| AudioError::NotAudio {
            file: file(),
            detail: "the track has no audio codec parameters".to_string(),
        })?
        .clone();
    if let Some(channels) = params.channels.as_ref().map(|c| c.count())
        && channels > 2
    {
        return Err(AudioError::TooManyChannels {
            file: file(),
            channels,
        });
    }
    // The header's rate decides buffer sizes in the decoder and the
    // resampler: check it before either exists.
    if let Some(rate) = params.sample_rate {
        check_rate(name, rate)?;
    }
    let mut decoder = CODECS
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|error| AudioError::UnsupportedCodec {
            file: file(),
            detail: format!("{:?}: {error}", params.codec),
        })?;

    // Refuse early from the header when it already says the call is too long.
    let max_s = limits.max_duration_s;
    if let (Some(frames), Some(rate)) = (declared_frames, params.sample_rate)
        && frames as f64 / f64::from(rate) > max_s
    {
        return Err(AudioError::TooLong {
            file: file(),
            max_s,
        });
    }

    let mut channels: Vec<Vec<f32>> = Vec::new();
    let mut sample_rate = params.sample_rate.unwrap_or(0);
    let mut interleaved: Vec<f32> = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            Err(SymphoniaError::IoError(error))
                if error.kind() == std::io::ErrorKind::UnexpectedEof =>
            {
                return Err(AudioError::Truncated {
                    file: file(),
                    detail: "the stream ends in the middle of a packet".to_string(),
                });
            }
            Err(error) => {
                return Err(AudioError::Truncated {
                    file: file(),
                    detail: error.to_string(),
                });
            }
        };
        if packet.track_id != track_id {
            continue;
        }
        let buffer = match decoder.decode(&packet) {
            Ok(buffer) => buffer,
            // A damaged packet inside an otherwise good stream is skipped, as
            // players do; a stream that yields nothing is reported below.
            Err(SymphoniaError::DecodeError(_)) => continue,
            Err(SymphoniaError::Unsupported(what)) => {
                return Err(AudioError::UnsupportedCodec {
                    file: file(),
                    detail: what.to_string(),
                });
            }
            Err(error) => {
                return Err(AudioError::Truncated {
                    file: file(),
                    detail: error.to_string(),
                });
            }
        };
        let spec = buffer.spec();
        let count = spec.channels().count();
        if count == 0 {
            return Err(AudioError::NotAudio {
                file: file(),
                detail: "a packet decodes to zero channels".to_string(),
            });
        }
        if count > 2 {
            return Err(AudioError::TooManyChannels {
                file: file(),
                channels: count,
            });
        }
        if channels.is_empty() {
            check_rate(name, spec.rate())?;
            channels = vec![Vec::new(); count];
            sample_rate = spec.rate();
        }
        if count != channels.len() {
            return Err(AudioError::Truncated {
                file: file(),
                detail: "the channel count changes inside the stream".to_string(),
            });
        }
        interleaved.resize(buffer.samples_interleaved(), 0.0);
        buffer.copy_to_slice_interleaved(&mut interleaved);
        for frame in interleaved.chunks_exact(count) {
            for (plane, sample) in channels.iter_mut().zip(frame) {
                plane.push(*sample);
            }
        }
        let decoded_s = channels[0].len() as f64 / f64::from(sample_rate.max(1));
        if decoded_s > max_s {
            return Err(AudioError::TooLong {
                file: file(),
                max_s,
            });
        }
    }
    let decoded = channels.first().map_or(0, Vec::len);
    if decoded == 0 || sample_rate == 0 {
        return Err(AudioError::Empty { file: file() });
    }
    if let Some(frames) = declared_frames
        && (decoded as u64) < frames
    {
        return Err(AudioError::Truncated {
            file: file(),
            detail: format!("the header declares {frames} frames but only {decoded} are present"),
        });
    }
    Ok(Pcm {
        sample_rate,
        channels,
    })
}

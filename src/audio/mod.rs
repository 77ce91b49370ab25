//! Audio in: decode a recorded call, resample it to 16 kHz, split it into one
//! track per speaker, and find where each track has speech.

mod decode;
mod error;
pub mod mask;
mod resample;
pub mod vad;
pub mod wav;

use std::path::Path;

use crate::transcript::Speaker;

pub use error::AudioError;

/// Sample rate of every decoded track: what Whisper expects.
pub const SAMPLE_RATE: u32 = 16_000;

/// How the speakers of a call are laid out over its channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ChannelLayout {
    /// One track of unknown speaker; stereo input is mixed down.
    #[default]
    Mono,
    /// Stereo with the agent on the left channel, the customer on the right.
    AgentLeft,
    /// Stereo with the agent on the right channel, the customer on the left.
    AgentRight,
}

impl ChannelLayout {
    /// The speaker of each channel of a stereo recording, left first.
    fn stereo_speakers(self) -> Option<[Speaker; 2]> {
        match self {
            Self::Mono => None,
            Self::AgentLeft => Some([Speaker::Agent, Speaker::Customer]),
            Self::AgentRight => Some([Speaker::Customer, Speaker::Agent]),
        }
    }
}

/// Limits that protect the process from hostile or mistaken input.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioLimits {
    /// Longest call accepted, in seconds; decoding stops as soon as it is exceeded.
    pub max_duration_s: f64,
}

impl Default for AudioLimits {
    fn default() -> Self {
        // Two hours covers any real support call and bounds memory to about
        // 2 h × 16 kHz × 4 B × 2 tracks ≈ 0.9 GB in the worst case.
        Self {
            max_duration_s: 7200.0,
        }
    }
}

/// Where the encoded audio comes from.
#[derive(Debug, Clone, Copy)]
pub enum AudioInput<'a> {
    /// A file on disk.
    File(&'a Path),
    /// Bytes already in memory, with a name used in error messages.
    Bytes {
        /// Name of the audio in error messages (a file name or an upload id).
        name: &'a str,
        /// The encoded audio.
        data: &'a [u8],
    },
}

impl AudioInput<'_> {
    /// The name used in error messages.
    pub fn name(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            Self::Bytes { name, .. } => (*name).to_string(),
        }
    }
}

impl<'a> From<&'a Path> for AudioInput<'a> {
    fn from(path: &'a Path) -> Self {
        Self::File(path)
    }
}

impl<'a> From<&'a std::path::PathBuf> for AudioInput<'a> {
    fn from(path: &'a std::path::PathBuf) -> Self {
        Self::File(path.as_path())
    }
}

/// One speaker's audio, 16 kHz mono f32 in [-1, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// Who speaks on this track.
    pub speaker: Speaker,
    /// Samples at [`SAMPLE_RATE`].
    pub samples: Vec<f32>,
}

impl Track {
    /// Length of the track in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        samples_to_ms(self.samples.len())
    }
}

/// A decoded call: one or two speaker tracks of equal length at 16 kHz.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedCall {
    /// Name of the source, for messages.
    pub source: String,
    /// Sample rate of the encoded audio before resampling.
    pub source_sample_rate: u32,
    /// The speaker tracks.
    pub tracks: Vec<Track>,
}

impl DecodedCall {
    /// Length of the call in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.tracks
            .iter()
            .map(Track::duration_ms)
            .max()
            .unwrap_or(0)
    }
}

/// Converts a sample count at [`SAMPLE_RATE`] to milliseconds.
pub fn samples_to_ms(samples: usize) -> u64 {
    samples as u64 * 1000 / u64::from(SAMPLE_RATE)
}

/// Decodes a call into 16 kHz speaker tracks laid out as `layout` says.
///
/// Mono layout mixes a stereo file down to one track of unknown speaker;
/// a stereo layout needs a two-channel file.
pub fn decode_call<'a>(
    input: impl Into<AudioInput<'a>>,
    layout: ChannelLayout,
    limits: &AudioLimits,
) -> Result<DecodedCall, AudioError> {
    let input = input.into();
    let name = input.name();
    let pcm = decode::decode_pcm(&input, &name, limits)?;
    let source_sample_rate = pcm.sample_rate;
    let channels = pcm.channels.len();
    let (speakers, planes): (Vec<Speaker>, Vec<Vec<f32>>) =
        match (layout.stereo_speakers(), channels) {
            (None, 1) => (vec![Speaker::Unknown], pcm.channels),
            (None, _) => (vec![Speaker::Unknown], vec![mix_down(pcm.channels)]),
            (Some(speakers), 2) => (speakers.to_vec(), pcm.channels),
            (Some(_), found) => {
                return Err(AudioError::LayoutMismatch {
                    file: name,
                    layout,
                    channels: found,
                });
            }
        };
    let planes = resample::to_16k(planes, source_sample_rate, &name)?;
    let tracks = speakers
        .into_iter()
        .zip(planes)
        .map(|(speaker, samples)| Track { speaker, samples })
        .collect();
    Ok(DecodedCall {
        source: name,
        source_sample_rate,
        tracks,
    })
}

/// Averages channels into one, reusing the first channel's buffer.
fn mix_down(mut channels: Vec<Vec<f32>>) -> Vec<f32> {
    let count = channels.len() as f32;
    let mut mixed = channels.swap_remove(0);
    for other in &channels {
        for (m, o) in mixed.iter_mut().zip(other) {
            *m += o;
        }
    }
    for m in &mut mixed {
        *m /= count;
    }
    mixed
}

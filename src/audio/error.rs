//! Errors from decoding audio: each names the file and what is wrong with it.

use super::ChannelLayout;

/// Why a call's audio could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The file.
        file: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is empty or holds no samples.
    #[error("{file}: empty: no audio samples")]
    Empty {
        /// The file.
        file: String,
    },
    /// No known audio container matches the bytes.
    #[error("{file}: not audio: {detail}")]
    NotAudio {
        /// The file.
        file: String,
        /// What the decoder said.
        detail: String,
    },
    /// The container is known but its codec or a feature of it is not supported.
    #[error("{file}: unsupported codec: {detail}")]
    UnsupportedCodec {
        /// The file.
        file: String,
        /// Which codec or feature.
        detail: String,
    },
    /// The file ends before its headers say it should, or its data is damaged.
    #[error("{file}: truncated or damaged: {detail}")]
    Truncated {
        /// The file.
        file: String,
        /// What is missing or damaged.
        detail: String,
    },
    /// The call is longer than the configured maximum.
    #[error("{file}: too long: more than the maximum of {max_s} s")]
    TooLong {
        /// The file.
        file: String,
        /// The configured maximum in seconds.
        max_s: f64,
    },
    /// The file has more channels than a call can have (at most two).
    #[error("{file}: {channels} channels; a call has one or two")]
    TooManyChannels {
        /// The file.
        file: String,
        /// How many channels it has.
        channels: usize,
    },
    /// The sample rate is outside what telephone and VoIP recordings use;
    /// refused before anything that grows with the rate is allocated.
    #[error("{file}: sample rate {rate} Hz; accepted from {min} to {max} Hz")]
    SampleRate {
        /// The file.
        file: String,
        /// The declared rate.
        rate: u32,
        /// Lowest accepted rate.
        min: u32,
        /// Highest accepted rate.
        max: u32,
    },
    /// The channel layout asked for does not fit the file.
    #[error(
        "{file}: channel layout {layout:?} needs a two-channel file, found {channels} channel(s)"
    )]
    LayoutMismatch {
        /// The file.
        file: String,
        /// The layout asked for.
        layout: ChannelLayout,
        /// How many channels the file has.
        channels: usize,
    },
    /// The audio could not be resampled to 16 kHz.
    #[error("{file}: cannot resample from {rate} Hz: {detail}")]
    Resample {
        /// The file.
        file: String,
        /// The source sample rate.
        rate: u32,
        /// What the resampler said.
        detail: String,
    },
}

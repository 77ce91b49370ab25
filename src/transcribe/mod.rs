//! Whisper transcription of decoded calls: a shared engine with a pool of
//! decoding states, speech-only dense window packing, and CTranslate2 → ggml
//! model import.

#[cfg(feature = "openblas")]
pub mod blas_kernels;
#[cfg(feature = "whisper")]
mod engine;
mod engine_config;
pub mod import;
#[cfg(feature = "whisper")]
mod language;
pub mod model;
pub mod pack;
#[cfg(feature = "whisper")]
mod patches;
#[cfg(feature = "whisper")]
mod pool;
mod repetition;
#[cfg(feature = "whisper")]
mod schedule;
#[cfg(feature = "whisper")]
mod segments;
#[cfg(not(feature = "whisper"))]
mod without_whisper;
#[cfg(feature = "whisper")]
mod words;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

#[cfg(feature = "whisper")]
pub use engine::Engine;
pub use engine_config::EngineConfig;
pub use repetition::collapse_loops;
#[cfg(not(feature = "whisper"))]
pub use without_whisper::Engine;

/// The language to transcribe in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    /// English or Indonesian, read per window of speech (a call may switch).
    #[default]
    Auto,
    /// English.
    En,
    /// Indonesian.
    Id,
}

impl Language {
    /// Whisper's code for the language, `None` for detection.
    pub fn code(self) -> Option<&'static str> {
        match self {
            Self::Auto => None,
            Self::En => Some("en"),
            Self::Id => Some("id"),
        }
    }
}

/// A progress callback: receives the share of speech audio done, 0.0..=1.0.
pub type ProgressFn = Arc<dyn Fn(f32) + Send + Sync>;

/// Per-call options.
#[derive(Clone, Default)]
pub struct TranscribeOptions {
    /// Forced language or detection.
    pub language: Language,
    /// Called after each window with the share of speech audio done.
    pub progress: Option<ProgressFn>,
}

impl fmt::Debug for TranscribeOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TranscribeOptions")
            .field("language", &self.language)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// Why a model could not be loaded or a call not transcribed.
#[derive(Debug, thiserror::Error)]
pub enum TranscribeError {
    /// The model file does not exist.
    #[error("model file {path} not found; run scripts/provision-models.sh or pass --model")]
    ModelMissing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// whisper.cpp refused the model file.
    #[error("cannot load model {path}: {detail}")]
    ModelLoad {
        /// The model file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// The configuration is unusable.
    #[error("invalid engine configuration: {0}")]
    Config(String),
    /// The model cannot transcribe the requested language.
    #[error("model {model} is English-only and cannot transcribe language {language:?}")]
    LanguageUnsupported {
        /// The model id.
        model: String,
        /// The language asked for.
        language: Language,
    },
    /// This binary was built without the `whisper` feature (the fuzz
    /// targets' build), so it cannot load a model.
    #[error("this build has no Whisper engine (built without the `whisper` feature)")]
    NotBuilt,
    /// whisper.cpp failed while decoding.
    #[error("whisper failed on {source_name}: {detail}")]
    Whisper {
        /// The call's source name.
        source_name: String,
        /// What went wrong.
        detail: String,
    },
}

//! The engine of a build without whisper.cpp (the `whisper` feature off, as
//! the fuzz targets build the library): it cannot be loaded, so no value of
//! it ever exists and every method is unreachable by construction.

use super::{EngineConfig, TranscribeError, TranscribeOptions};
use crate::audio::DecodedCall;
use crate::transcript::Transcript;

/// No value of this type can exist.
#[derive(Debug)]
enum Never {}

/// A Whisper engine that this build cannot load.
#[derive(Debug)]
pub struct Engine {
    never: Never,
}

impl Engine {
    /// Always [`TranscribeError::NotBuilt`].
    pub fn load(_config: &EngineConfig) -> Result<Self, TranscribeError> {
        Err(TranscribeError::NotBuilt)
    }

    /// Unreachable: no engine exists.
    pub fn model_id(&self) -> String {
        match self.never {}
    }

    /// Unreachable: no engine exists.
    pub fn is_multilingual(&self) -> bool {
        match self.never {}
    }

    /// Unreachable: no engine exists.
    pub fn config(&self) -> &EngineConfig {
        match self.never {}
    }

    /// Unreachable: no engine exists.
    pub fn diarizes(&self) -> bool {
        match self.never {}
    }

    /// Unreachable: no engine exists.
    pub fn transcribe(
        &self,
        _call: &DecodedCall,
        _options: &TranscribeOptions,
    ) -> Result<Transcript, TranscribeError> {
        match self.never {}
    }
}

//! The transcript: who said what, and when. The one type that transcription
//! produces, scoring reads, and the store keeps.

use serde::{Deserialize, Serialize};

/// Who spoke a segment. Mono recordings give `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    /// The contact-center agent.
    Agent,
    /// The caller.
    Customer,
    /// Not attributed (mono audio, or a platform that does not know).
    Unknown,
}

/// One stretch of speech by one speaker, in call time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Who spoke.
    pub speaker: Speaker,
    /// Start, milliseconds from the start of the call.
    pub start_ms: u64,
    /// End, milliseconds from the start of the call.
    pub end_ms: u64,
    /// What was said.
    pub text: String,
    /// ISO 639-1 code of the segment's language ("en", "id"), when known.
    pub language: Option<String>,
    /// Mean token probability from the recogniser (0..1), when known.
    pub confidence: Option<f32>,
}

/// A whole call's transcript, segments in time order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    /// The call's main language ("en", "id"), when known.
    pub language: Option<String>,
    /// Segments, ordered by start time.
    pub segments: Vec<Segment>,
}

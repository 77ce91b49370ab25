//! callscore: quality-assurance scoring of recorded customer-service calls.
//!
//! Data flows one way: bytes → `audio` → `transcribe` → [`scoring`] → `store`;
//! the gRPC `api` and the CLI call the same library functions.

/// The transcript type shared by transcription, scoring and storage.
pub mod transcript;

/// Rubric documents: parsing, validation with positions, content hash.
pub mod rubric;

/// Scoring: detectors, conversation metrics, evidence, redaction, scorecard math.
pub mod scoring;

/// Command-line interface: one module per subcommand.
pub mod cli;

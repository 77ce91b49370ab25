//! callscore: quality-assurance scoring of recorded customer-service calls.
//!
//! Data flows one way: bytes → [`audio`] → [`transcribe`] → [`scoring`] → [`store`];
//! the gRPC [`api`] and the CLI call the same library functions.

/// The transcript type shared by transcription, scoring and storage.
pub mod transcript;

/// Audio in: decode, resample to 16 kHz, split speakers, detect speech.
pub mod audio;

/// Whisper transcription: engine, window packing, model import.
pub mod transcribe;

/// Command-line interface: one module per subcommand.
pub mod cli;

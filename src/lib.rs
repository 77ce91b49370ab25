//! callscore: quality-assurance scoring of recorded customer-service calls.
//!
//! Data flows one way: bytes → [`audio`] → [`transcribe`] → [`scoring`] →
//! [`store`]; the gRPC [`api`] and the [`cli`] call the same library functions.

/// The gRPC services and their request validation.
pub mod api;
/// The server process: bind, serve, drain.
pub mod app;
/// Audio in: decode, resample to 16 kHz, split speakers, detect speech.
pub mod audio;
/// API keys, roles and the authenticating layer.
pub mod auth;
/// Storage for uploaded call audio.
pub mod blobs;
/// Command-line interface: one module per subcommand.
pub mod cli;
/// Layered, validated settings.
pub mod config;
/// The QA console served at `/`.
pub mod console;
/// Who spoke when on mono recordings: speaker embeddings and clustering.
pub mod diarize;
/// The validation harness: agreement of scores with human labels.
pub mod eval;
/// The change feed: committed changes broadcast to streams in the process.
pub mod feed;
/// Coaching arithmetic: buckets, confidence intervals, trends, team gaps.
pub mod insights;
/// Job workers: claim, process, retry.
pub mod jobs;
/// From a stored call to a scorecard: decode, transcribe, score, redact.
pub mod pipeline;
/// Code generated from the protobuf contract.
pub mod proto;
/// The review workflow: sampling calls into reviewers' queues.
pub mod review;
/// Rubric documents: parsing, validation with positions, content hash.
pub mod rubric;
/// Scoring: detectors, conversation metrics, evidence, redaction, scorecard math.
pub mod scoring;
/// Encrypted blobs: originals kept for re-transcription.
pub mod seal;
/// The optional multilingual sentence encoder.
pub mod semantic;
/// Who is who in a call: the check of a transcript's speakers.
pub mod speakers;
/// Persistence on SQLite or PostgreSQL.
pub mod store;
/// Logging setup.
pub mod telemetry;
/// Tenant provisioning.
pub mod tenants;
/// TLS for the server, the CLI and PostgreSQL; one crypto provider.
pub mod tls;
/// Whisper transcription: engine, window packing, model import.
pub mod transcribe;
/// The transcript type shared by transcription, scoring and storage.
pub mod transcript;
/// Events to platforms: signed webhook deliveries from the outbox.
pub mod webhooks;

/// The allocator of every binary built on this library (the server, the
/// CLI, the tests and benches): scoring a call makes many short-lived
/// strings and vectors (docs/benchmarks.md, "Scoring").
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

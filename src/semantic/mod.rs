//! Sentence meaning: the multilingual encoder behind semantic checks and the
//! graded detectors' whole-turn terms. Optional at run time: without it,
//! semantic checks do not apply and graded checks use their cues alone.

pub mod encoder;

pub use encoder::{Embedding, Encoder, EncoderError, similarity};

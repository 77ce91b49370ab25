//! Who is who in a call: checks that the speakers a transcript names (from
//! the declared channel layout, or from the platform) talk like them, with
//! the evidence. Diarization of mono recordings will assign speakers here too.

pub mod attribution;

pub use attribution::{Attribution, AttributionCue, check_attribution};

//! Who is who in a call: checks that the speakers a transcript names (from
//! the declared channel layout, or from the platform) talk like them, with
//! the evidence; and gives the voices of a diarized mono recording their roles.

pub mod attribution;
pub mod voices;

pub use attribution::{Attribution, AttributionCue, check_attribution};
pub use voices::{
    VoiceAssignment, VoiceRole, assign_roles, name_unnamed_voices, parties_tie, settle_tie,
    split_by_voice,
};

//! Rubric documents: parsing YAML or JSON, validation with positioned errors,
//! and the content hash that pins a scorecard to the exact rubric it used.

mod detectors;
mod document;
mod error;
mod model;
mod read;
mod yaml;

pub use detectors::{MAX_REGEX_BYTES, compile_patterns};
pub use document::{
    DEFAULT_HOLD_MIN_SECONDS, DEFAULT_INTERRUPTION_MIN_OVERLAP_MS, MAX_WITHIN_TURNS,
};
pub use error::RubricError;
pub use model::{
    Applicability, Check, Criterion, Detector, Expect, GradedDetector, Language, MetricDetector,
    MetricName, PhraseDetector, PhraseLists, RegexDetector, Rubric, SemanticDetector,
    SensitiveDataDetector, SensitiveKind, SentimentDetector, Settings, SpeakerFilter, Trigger,
    Window,
};

/// Parses and validates a rubric written in YAML or JSON.
///
/// Every problem found is reported at once, each with its line, column and path.
pub fn parse_rubric(source: &str) -> Result<Rubric, Vec<RubricError>> {
    let root = yaml::parse(source)?;
    let mut ctx = read::Ctx::default();
    let rubric = document::read_rubric(&mut ctx, &root);
    match rubric {
        Some(rubric) if ctx.errors.is_empty() => Ok(rubric),
        _ => {
            let mut errors = ctx.errors;
            // Document order makes the report read top to bottom.
            errors.sort_by_key(|e| (e.line, e.column));
            errors.dedup();
            Err(errors)
        }
    }
}

/// The built-in bilingual rubric, the tenant default until an operator publishes another.
pub fn default_rubric_source() -> &'static str {
    include_str!("../../rubrics/default.yaml")
}

impl Rubric {
    /// The rubric's stable identifier.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The rubric's version: a positive integer, bumped on every published change.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// A check by criterion and check id (e.g. to find its points for a reviewer override).
    pub fn check(&self, criterion_id: &str, check_id: &str) -> Option<&Check> {
        self.criteria
            .iter()
            .find(|c| c.id == criterion_id)?
            .checks
            .iter()
            .find(|k| k.id == check_id)
    }

    /// SHA-256 (lowercase hex) of the rubric's canonical JSON form and of
    /// the versions of the detectors and lexicons that score it.
    ///
    /// Canonical means after parsing: defaults filled in, comments, key order
    /// and formatting of the source gone, so two spellings of the same rubric
    /// hash alike; and any change that can alter a score, in the rubric or
    /// in the scorer's built-in lexicons, changes the hash. A scorecard's
    /// hash also covers the sentence encoder it was scored with, when the
    /// rubric uses one (`CompiledRubric::hash`); without an encoder the two
    /// are equal.
    pub fn content_hash(&self) -> String {
        let versions = crate::scoring::scorer_versions(self, None);
        crate::scoring::versions::rubric_hash(self, &versions)
    }
}

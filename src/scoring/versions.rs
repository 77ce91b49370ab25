//! Which detector, lexicon and encoder versions score a rubric. Recorded on
//! every scorecard and folded into the rubric's content hash, so that a
//! changed lexicon or detector can never move scores under an unchanged hash.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use sha2::{Digest, Sha256};

use crate::rubric::{Detector, Rubric};

use super::graded::GradedKind;
use super::graded::lexicon::LEXICONS;
use super::scorecard::ScorerVersions;

/// Version of the text normalisation and phrase matching (stemming, numbers,
/// fuzzy edits, inserted words, synonyms); bumped when any of them changes.
const PHRASE_MATCHING_VERSION: u32 = 3;

/// Versions of the non-graded detectors, bumped when their logic changes.
fn detector_version(detector: &Detector) -> String {
    let version = match detector {
        Detector::Phrases(_) | Detector::Regex(_) => PHRASE_MATCHING_VERSION,
        Detector::Metric(_) | Detector::SensitiveData(_) | Detector::Semantic(_) => 1,
        // 2: words whose stem is another word count only as written.
        Detector::Sentiment(_) => 2,
        Detector::Courtesy(_) => GradedKind::Courtesy.lexicon().version,
        Detector::Register(_) => GradedKind::Register.lexicon().version,
        Detector::Empathy(_) => GradedKind::Empathy.lexicon().version,
    };
    version.to_string()
}

/// SHA-256 (16 hex digits) of every built-in word list: the graded marker
/// lexicons and the sentiment and sensitive-data lists, which shape phrase
/// detectors too (they share one matcher) and decide triggers.
static LEXICON_FINGERPRINT: LazyLock<String> = LazyLock::new(|| {
    let mut hasher = Sha256::new();
    hasher.update(LEXICONS.fingerprint.as_bytes());
    hasher.update(include_str!("lexicon.rs").as_bytes());
    hex::encode(hasher.finalize())[..16].to_owned()
});

/// Whether a rubric can use the sentence encoder: semantic checks, or a
/// graded detector whose lexicon has a whole-turn head.
pub fn uses_encoder(rubric: &Rubric) -> bool {
    rubric
        .criteria
        .iter()
        .flat_map(|c| &c.checks)
        .any(|check| match &check.detector {
            Detector::Semantic(_) => true,
            Detector::Courtesy(_) => GradedKind::Courtesy.lexicon().head.is_some(),
            Detector::Register(_) => GradedKind::Register.lexicon().head.is_some(),
            Detector::Empathy(_) => GradedKind::Empathy.lexicon().head.is_some(),
            _ => false,
        })
}

/// The versions that score `rubric`; `encoder` names the sentence encoder
/// loaded (its id), and is recorded only when the rubric uses one.
pub fn scorer_versions(rubric: &Rubric, encoder: Option<&str>) -> ScorerVersions {
    let mut detectors = BTreeMap::new();
    for check in rubric.criteria.iter().flat_map(|c| &c.checks) {
        detectors
            .entry(check.detector.name().to_owned())
            .or_insert_with(|| detector_version(&check.detector));
    }
    ScorerVersions {
        detectors,
        lexicons: LEXICON_FINGERPRINT.clone(),
        encoder: encoder.filter(|_| uses_encoder(rubric)).map(str::to_owned),
    }
}

/// SHA-256 of a rubric's canonical JSON and of the scorer versions.
pub fn rubric_hash(rubric: &Rubric, versions: &ScorerVersions) -> String {
    // Serialising plain structs, enums, strings and finite numbers cannot fail.
    let canonical = serde_json::to_vec(rubric).unwrap_or_default();
    let versions = serde_json::to_vec(versions).unwrap_or_default();
    let mut hasher = Sha256::new();
    hasher.update(&canonical);
    hasher.update(b"\n");
    hasher.update(&versions);
    hex::encode(hasher.finalize())
}

//! The rubric document as plain data: what an operator writes, after validation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A language a rubric's phrase lists can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// English.
    En,
    /// Indonesian (Bahasa Indonesia).
    Id,
}

impl Language {
    /// Every language the scorer knows, in canonical order.
    pub const ALL: [Language; 2] = [Language::En, Language::Id];

    /// Parses an ISO 639-1 code ("en", "id").
    pub fn from_code(code: &str) -> Option<Language> {
        match code {
            "en" => Some(Language::En),
            "id" => Some(Language::Id),
            _ => None,
        }
    }

    /// The ISO 639-1 code.
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Id => "id",
        }
    }
}

/// Phrase lists keyed by language; a call may mix languages, so every list is searched.
pub type PhraseLists = BTreeMap<Language, Vec<String>>;

/// Whose speech a check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpeakerFilter {
    /// Only the agent's segments.
    Agent,
    /// Only the customer's segments.
    Customer,
    /// Every segment, including unattributed ones.
    #[default]
    Any,
}

/// A validated rubric: identity, settings and weighted criteria.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rubric {
    /// Stable identifier, `[a-z0-9_-]+`.
    pub id: String,
    /// Positive integer, bumped on every published change.
    pub version: u32,
    /// Human-readable name.
    pub name: String,
    /// What the rubric is for.
    pub description: String,
    /// Languages the phrase lists cover.
    pub languages: Vec<Language>,
    /// Call-level settings used by conversation metrics.
    pub settings: Settings,
    /// The weighted criteria, in display order.
    pub criteria: Vec<Criterion>,
}

/// Call-level settings shared by the metric detectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// An unannounced gap at least this long counts as a hold.
    pub hold_min_seconds: f64,
    /// Minimum overlap for an agent start to count as an interruption.
    pub interruption_min_overlap_ms: u64,
    /// Greeting phrases, for `time_to_greeting_seconds`.
    pub greeting: PhraseLists,
    /// Phrases that announce or ask for a hold.
    pub hold_request: PhraseLists,
    /// Phrases that thank the customer for holding.
    pub hold_thanks: PhraseLists,
    /// Most words that may be inserted inside a listed phrase and still match
    /// ("bukan urusan bagian saya" matches "bukan urusan saya" with one);
    /// a negator ("not", "tidak") is never skipped. 0 (exact) unless set.
    #[serde(default)]
    pub phrase_gap: u8,
    /// Groups of words that match each other in every phrase list of the
    /// rubric ("menelepon" ≈ "menghubungi" ≈ "hubungi"; "call" ≈ "ring").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub synonyms: Vec<Vec<String>>,
}

/// One weighted criterion made of checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Criterion {
    /// Identifier, unique in the rubric.
    pub id: String,
    /// Display name.
    pub name: String,
    /// What the criterion measures.
    pub description: String,
    /// Relative weight, > 0.
    pub weight: f64,
    /// The checks, in display order.
    pub checks: Vec<Check>,
}

/// One scored check inside a criterion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Identifier, unique in its criterion.
    pub id: String,
    /// What the check looks for, shown to reviewers.
    pub description: String,
    /// Points available, >= 0.
    pub points: f64,
    /// A failure of a critical check zeroes the overall score.
    pub critical: bool,
    /// Whose speech the detector looks at.
    pub speaker: SpeakerFilter,
    /// When the check counts at all; every listed condition must hold.
    pub applies_when: Option<Applicability>,
    /// What decides pass or fail.
    pub detector: Detector,
}

/// Conditions that make a check applicable; all listed must hold.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Applicability {
    /// Someone (per `said_by`) said one of these phrases.
    pub said: Option<PhraseLists>,
    /// Whose speech `said` looks at.
    pub said_by: SpeakerFilter,
    /// The customer had at least one turn of negative emotion.
    pub customer_negative: Option<bool>,
    /// The call had at least one hold.
    pub has_hold: Option<bool>,
    /// Agent and customer speech are attributed (stereo or diarised).
    pub speakers_known: Option<bool>,
    /// The call lasted at least this long.
    pub min_duration_seconds: Option<f64>,
    /// The agent took at least this many turns: a whole conversation, not a
    /// snippet (openings and closings belong to whole calls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_agent_turns: Option<u32>,
}

/// The detector kinds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    /// Phrase lists matched over normalised tokens.
    Phrases(PhraseDetector),
    /// Regular expressions over the segment text.
    Regex(RegexDetector),
    /// A conversation metric against thresholds.
    Metric(MetricDetector),
    /// Customer sentiment from start to end of the call.
    Sentiment(SentimentDetector),
    /// The agent asks for or reads out sensitive data.
    SensitiveData(SensitiveDataDetector),
    /// Graded: politeness strategies and impoliteness per turn, over the call.
    Courtesy(GradedDetector),
    /// Graded: formal against informal register per turn, over the call.
    Register(GradedDetector),
    /// Graded: acknowledgement, validation, reflection, exploration, apology
    /// and reassurance, weighted by whether the customer voiced emotion.
    Empathy(GradedDetector),
    /// Similarity to exemplar utterances with a multilingual sentence encoder.
    Semantic(SemanticDetector),
}

impl Detector {
    /// The detector's name as written in a rubric.
    pub fn name(&self) -> &'static str {
        match self {
            Detector::Phrases(_) => "phrases",
            Detector::Regex(_) => "regex",
            Detector::Metric(_) => "metric",
            Detector::Sentiment(_) => "sentiment",
            Detector::SensitiveData(_) => "sensitive_data",
            Detector::Courtesy(_) => "courtesy",
            Detector::Register(_) => "register",
            Detector::Empathy(_) => "empathy",
            Detector::Semantic(_) => "semantic",
        }
    }

    /// Whether the detector earns a fraction of the points instead of all or none.
    pub fn is_graded(&self) -> bool {
        matches!(
            self,
            Detector::Courtesy(_) | Detector::Register(_) | Detector::Empathy(_)
        )
    }

    /// The pass threshold of a graded detector.
    pub fn pass_at(&self) -> Option<f64> {
        match self {
            Detector::Courtesy(g) | Detector::Register(g) | Detector::Empathy(g) => Some(g.pass_at),
            _ => None,
        }
    }
}

/// Settings of a graded detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradedDetector {
    /// The fraction at or above which the check counts as passed (0..1].
    pub pass_at: f64,
}

/// Exemplar utterances and how close a turn must come to them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SemanticDetector {
    /// Pass on presence (a turn close to an exemplar) or on absence.
    pub expect: Expect,
    /// Where to look; the whole call when `None`.
    pub window: Option<Window>,
    /// What the behaviour sounds like, per language (any language matches any turn).
    pub exemplars: PhraseLists,
    /// Near misses that must not count: a turn closer to one of these than to
    /// every exemplar is no match.
    pub counter_exemplars: PhraseLists,
    /// Least cosine similarity (0..1) to an exemplar that counts as a match.
    pub threshold: f64,
}

/// Whether a match passes or fails the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// The check passes when a phrase is found.
    #[default]
    Present,
    /// The check fails when a phrase is found.
    Absent,
}

/// Where in the call a phrase or regex is looked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    /// Segments starting within the first N seconds.
    FirstSeconds(f64),
    /// Segments ending within the last N seconds.
    LastSeconds(f64),
    /// The next N turns of the check's speaker after each trigger turn.
    AfterTrigger(Trigger),
}

/// A turn that opens an `after_trigger` window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    /// Whose turns can trigger.
    pub speaker: SpeakerFilter,
    /// A turn with negative sentiment triggers.
    pub negative_sentiment: bool,
    /// A turn with one of these phrases triggers.
    pub phrases: Option<PhraseLists>,
    /// How many of the check speaker's next turns are searched.
    pub within_turns: u32,
}

/// Phrase lists, present or absent, optionally in a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhraseDetector {
    /// Pass on presence or on absence.
    pub expect: Expect,
    /// Where to look; the whole call when `None`.
    pub window: Option<Window>,
    /// The phrases per language.
    pub lists: PhraseLists,
    /// Inserted words allowed inside a phrase; the rubric's `phrase_gap` when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_gap: Option<u8>,
}

/// Regular expressions, present or absent, optionally in a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegexDetector {
    /// Pass on presence or on absence.
    pub expect: Expect,
    /// Where to look; the whole call when `None`.
    pub window: Option<Window>,
    /// Patterns, matched case-insensitively against the segment text.
    pub patterns: Vec<String>,
}

/// The conversation metrics a check can threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricName {
    /// Agent speech time over agent plus customer speech time (0..1).
    AgentTalkRatio,
    /// Longest gap in speech that was not an announced hold.
    LongestSilenceSeconds,
    /// Number of holds.
    HoldCount,
    /// Holds not asked for before or not thanked for after.
    HoldsWithoutEtiquette,
    /// Agent starts while the customer is speaking (attributed speakers only).
    Interruptions,
    /// Agent words per minute of agent speech.
    AgentWordsPerMinute,
    /// Seconds from the start of the call to the agent's greeting.
    TimeToGreetingSeconds,
    /// Charged amounts that differ from every quoted one, unexplained.
    UnexplainedAmountChanges,
}

impl MetricName {
    /// Every metric name, for validation messages.
    pub const ALL: [MetricName; 8] = [
        MetricName::AgentTalkRatio,
        MetricName::LongestSilenceSeconds,
        MetricName::HoldCount,
        MetricName::HoldsWithoutEtiquette,
        MetricName::Interruptions,
        MetricName::AgentWordsPerMinute,
        MetricName::TimeToGreetingSeconds,
        MetricName::UnexplainedAmountChanges,
    ];

    /// The name as written in a rubric.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricName::AgentTalkRatio => "agent_talk_ratio",
            MetricName::LongestSilenceSeconds => "longest_silence_seconds",
            MetricName::HoldCount => "hold_count",
            MetricName::HoldsWithoutEtiquette => "holds_without_etiquette",
            MetricName::Interruptions => "interruptions",
            MetricName::AgentWordsPerMinute => "agent_words_per_minute",
            MetricName::TimeToGreetingSeconds => "time_to_greeting_seconds",
            MetricName::UnexplainedAmountChanges => "unexplained_amount_changes",
        }
    }
}

/// A metric with an inclusive range; at least one bound is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricDetector {
    /// Which metric.
    pub name: MetricName,
    /// Lowest passing value.
    pub min: Option<f64>,
    /// Highest passing value.
    pub max: Option<f64>,
}

/// Customer sentiment at the end against the start of the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentimentDetector {
    /// Passes when end minus start is at least this (sentiment is in -1..1).
    pub min_change: f64,
}

/// Kinds of sensitive data the agent must not ask for or read out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensitiveKind {
    /// A full payment card number.
    CardNumber,
    /// A card or account PIN.
    Pin,
    /// A one-time password.
    Otp,
    /// A password.
    Password,
    /// A card verification value.
    Cvv,
}

impl SensitiveKind {
    /// Every kind, in canonical order.
    pub const ALL: [SensitiveKind; 5] = [
        SensitiveKind::CardNumber,
        SensitiveKind::Pin,
        SensitiveKind::Otp,
        SensitiveKind::Password,
        SensitiveKind::Cvv,
    ];

    /// The name as written in a rubric.
    pub fn as_str(self) -> &'static str {
        match self {
            SensitiveKind::CardNumber => "card_number",
            SensitiveKind::Pin => "pin",
            SensitiveKind::Otp => "otp",
            SensitiveKind::Password => "password",
            SensitiveKind::Cvv => "cvv",
        }
    }
}

/// Which sensitive-data kinds a check watches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensitiveDataDetector {
    /// The kinds, deduplicated and sorted.
    pub kinds: Vec<SensitiveKind>,
}

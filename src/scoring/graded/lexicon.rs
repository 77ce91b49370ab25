//! Marker lexicons of the graded detectors: TOML files compiled into the
//! binary, each marker a kind of cue with a weight, the places it counts, and
//! its English and Indonesian phrasings. Their SHA-256 is recorded on every
//! scorecard and folded into the rubric's content hash.

use std::sync::LazyLock;

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Where in a sentence a marker counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    /// Anywhere.
    #[default]
    Any,
    /// As the first word of a sentence (after any filler such as "okay").
    SentenceStart,
    /// As the first word of a clause (after `,` `;` `:` too).
    ClauseStart,
    /// Anywhere but the first word of a sentence.
    NotSentenceStart,
    /// As a whole clause on its own ("Whatever." but not "whatever happened").
    Alone,
}

/// Which built-in word list a marker reuses instead of its own phrases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Builtin {
    /// The sentiment lexicon's positive words.
    PositiveSentiment,
    /// The sentiment lexicon's negative words.
    NegativeSentiment,
    /// A letter held three or more times ("bangettt", "sooo").
    Elongation,
    /// A word reduplicated with a digit, as chat writes it ("bisa2", "tiba2").
    ReduplicationDigit,
    /// The turn's mean word length above a pivot (formal words are longer):
    /// 4.5 letters in English, 5.5 in Indonesian.
    WordLength,
    /// The turn ends without a sentence mark (written chat; transcripts from
    /// a recogniser always end sentences, so this never fires on them).
    UnpunctuatedEnd,
    /// An emoticon or emoji of goodwill (":)", "🙏"): chat text only.
    Smiley,
    /// Shouting: a word of three or more capitals, or "!!" / "?!" (chat text
    /// only; recognisers do not write either).
    Shouting,
    /// The speaker's turn asks again, in nearly the same words, what its
    /// previous turn asked: the answer between them went unheard.
    RepeatedQuestion,
}

/// One kind of cue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkerDef {
    /// Its name on scorecards, e.g. `gratitude`.
    pub kind: String,
    /// Contribution to the turn's logit per occurrence.
    pub weight: f64,
    /// Most occurrences counted per turn.
    #[serde(default = "one")]
    pub cap: u32,
    /// Where it counts.
    #[serde(default)]
    pub position: Position,
    /// Counts only in a sentence that ends with a question mark.
    #[serde(default)]
    pub question: bool,
    /// Counts only outside a question.
    #[serde(default)]
    pub statement: bool,
    /// Dropped when a negator precedes it in its clause ("I'm not sorry").
    #[serde(default)]
    pub negatable: bool,
    /// The surface word must be exactly the first word as listed (no
    /// stemming): imperatives, where the stem would also match passives.
    #[serde(default)]
    pub exact: bool,
    /// First words of listed phrases that count only as written: a word
    /// spoken with the same stem but another surface does not start the
    /// phrase ("kedengarannya", it sounds, and "mendengarnya", hearing it,
    /// share the root "dengar"; "terserah" and "menyerah", "serah").
    #[serde(default)]
    pub exact_words: Vec<String>,
    /// Longer phrases, in either language, that keep the marker from
    /// counting when they start at its first word: "don't worry" and
    /// "jangan khawatir" reassure, so they are no bare imperatives.
    #[serde(default)]
    pub except: Vec<String>,
    /// Words that may be inserted inside a phrase.
    #[serde(default)]
    pub gap: u8,
    /// Counts only in a reply to a customer turn that voiced emotion (a
    /// cheerful "great!" is fine, except right after "my son is hurt").
    #[serde(default)]
    pub after_emotion: bool,
    /// Counts only while the customer's last voiced feeling is joy or good
    /// news, with no distress since ("sorry to hear that" after "I
    /// passed!").
    #[serde(default)]
    pub after_joy: bool,
    /// The customer's reaction to the turn: found in the customer's words
    /// right after it (and only there), counted on the agent turn they
    /// answer ("I already told you", "that helps").
    #[serde(default)]
    pub reaction: bool,
    /// Reuse a built-in list instead of `en`/`id`.
    #[serde(default)]
    pub builtin: Option<Builtin>,
    /// English phrasings.
    #[serde(default)]
    pub en: Vec<String>,
    /// Indonesian phrasings.
    #[serde(default)]
    pub id: Vec<String>,
}

fn one() -> u32 {
    1
}

/// A whole marker lexicon.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lexicon {
    /// Which detector it serves.
    pub detector: String,
    /// Bumped by hand on every change that can move scores.
    pub version: u32,
    /// A turn's logit before any marker.
    pub bias: f64,
    /// The cues.
    #[serde(rename = "marker")]
    pub markers: Vec<MarkerDef>,
    /// A whole-turn term over the sentence encoder's embedding, used when
    /// the encoder is installed.
    #[serde(default)]
    pub head: Option<Head>,
}

/// What a head reads of a turn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HeadInput {
    /// The unit-length sentence embedding (the normalised mean of the
    /// turn's segments').
    #[default]
    Embedding,
    /// The encoder's pooled middle layers
    /// ([`crate::semantic::encoder::POOLED_LAYERS`], the mean of the turn's
    /// segments').
    PooledLayers,
}

/// A linear model over a turn's embedding, fitted offline on an allowed
/// corpus (docs/eval.md); it adds `weight × clamp(z, -3, 3)` to the turn's
/// logit, `z = intercept + coefficients · embedding`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Head {
    /// How much one unit of `z` moves the turn's logit.
    pub weight: f64,
    /// The model's intercept.
    pub intercept: f64,
    /// What it reads; the embedding unless set.
    #[serde(default)]
    pub input: HeadInput,
    /// One coefficient per input dimension.
    pub coefficients: Vec<f64>,
    /// What it was fitted on.
    pub trained_on: String,
    /// The turn languages it applies to ("en", "id"); a head fitted on one
    /// language's data is not trusted on another's.
    pub languages: Vec<String>,
    /// Applies only to turns that ask something (a sentence ending in a
    /// question mark): a head fitted on requests is not trusted on
    /// statements.
    #[serde(default)]
    pub questions_only: bool,
}

/// Largest size of a head's term before its weight.
const HEAD_REACH: f64 = 3.0;

impl Head {
    /// The head's term for an embedding, rounded to three decimals so that
    /// the encoder's last bits cannot move a score; `None` when the
    /// embedding's length does not fit.
    pub fn term(&self, embedding: &[f32]) -> Option<f64> {
        if embedding.len() != self.coefficients.len() {
            return None;
        }
        let z = self.intercept
            + self
                .coefficients
                .iter()
                .zip(embedding)
                .map(|(c, e)| c * f64::from(*e))
                .sum::<f64>();
        Some((self.weight * z.clamp(-HEAD_REACH, HEAD_REACH) * 1000.0).round() / 1000.0)
    }
}

/// Cue lists that decide scope rather than score: reporting verbs, fillers,
/// and what counts as the customer voicing emotion.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeLexicon {
    /// Bumped by hand on every change.
    pub version: u32,
    /// Words that open reported speech to the end of the sentence
    /// ("you said I was useless": "useless" is not the agent's insult).
    pub reporting: Phrasings,
    /// Words skipped when deciding what starts a sentence ("okay, give me…").
    pub fillers: Phrasings,
    /// The customer voicing an emotion or a distressing event.
    pub emotion: Phrasings,
    /// The customer voicing joy, pride or good news.
    pub joy: Phrasings,
    /// Function words of each language, to tell a turn's language.
    pub language: Phrasings,
}

/// English and Indonesian phrasings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phrasings {
    /// English.
    #[serde(default)]
    pub en: Vec<String>,
    /// Indonesian.
    #[serde(default)]
    pub id: Vec<String>,
}

impl Phrasings {
    /// Every phrasing, English first.
    pub fn all(&self) -> impl Iterator<Item = &String> {
        self.en.iter().chain(&self.id)
    }
}

const COURTESY_SOURCE: &str = include_str!("lexicons/courtesy.toml");
const REGISTER_SOURCE: &str = include_str!("lexicons/register.toml");
const EMPATHY_SOURCE: &str = include_str!("lexicons/empathy.toml");
const SCOPE_SOURCE: &str = include_str!("lexicons/scope.toml");

/// The built-in lexicons, parsed once.
pub struct Lexicons {
    /// Politeness strategies and impoliteness.
    pub courtesy: Lexicon,
    /// Formal and informal register.
    pub register: Lexicon,
    /// Empathic responses.
    pub empathy: Lexicon,
    /// Scope cues.
    pub scope: ScopeLexicon,
    /// SHA-256 of all four sources, first 16 hex digits.
    pub fingerprint: String,
}

fn parse<T: for<'de> Deserialize<'de>>(name: &str, source: &str) -> T {
    // Embedded at compile time and parsed by a unit test: a broken file
    // cannot reach a release, so this is a programming error, not input.
    match toml::from_str(source) {
        Ok(value) => value,
        Err(error) => panic!("built-in lexicon {name} is invalid: {error}"),
    }
}

/// The built-in lexicons.
pub static LEXICONS: LazyLock<Lexicons> = LazyLock::new(|| {
    let mut hasher = Sha256::new();
    for source in [
        COURTESY_SOURCE,
        REGISTER_SOURCE,
        EMPATHY_SOURCE,
        SCOPE_SOURCE,
    ] {
        hasher.update(source.as_bytes());
        hasher.update([0u8]);
    }
    let digest = hex::encode(hasher.finalize());
    Lexicons {
        courtesy: parse("courtesy.toml", COURTESY_SOURCE),
        register: parse("register.toml", REGISTER_SOURCE),
        empathy: parse("empathy.toml", EMPATHY_SOURCE),
        scope: parse("scope.toml", SCOPE_SOURCE),
        fingerprint: digest[..16].to_owned(),
    }
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_lexicons_parse_and_are_well_formed() {
        let l = &*LEXICONS;
        for (name, lexicon) in [
            ("courtesy", &l.courtesy),
            ("register", &l.register),
            ("empathy", &l.empathy),
        ] {
            assert_eq!(lexicon.detector, name);
            let mut kinds = std::collections::HashSet::new();
            for m in &lexicon.markers {
                assert!(kinds.insert(m.kind.as_str()), "{name}: {} twice", m.kind);
                assert!(
                    m.weight.is_finite() && m.weight != 0.0,
                    "{name}: {}",
                    m.kind
                );
                assert!(m.cap >= 1, "{name}: {}", m.kind);
                assert!(
                    m.builtin.is_some() != (!m.en.is_empty() || !m.id.is_empty()),
                    "{name}: {} needs phrases or a builtin, not both",
                    m.kind
                );
                assert!(!(m.question && m.statement), "{name}: {}", m.kind);
                for word in &m.exact_words {
                    assert!(
                        m.en.iter()
                            .chain(&m.id)
                            .any(|p| p.split_whitespace().next() == Some(word.as_str())),
                        "{name}: {}: exact word {word} starts no phrase",
                        m.kind
                    );
                }
                for p in m.en.iter().chain(&m.id) {
                    assert_eq!(p, &p.to_lowercase(), "{name}: {p} is lower case");
                    assert!(!p.trim().is_empty());
                }
            }
        }
        assert_eq!(l.fingerprint.len(), 16);
        let head = l
            .courtesy
            .head
            .as_ref()
            .expect("courtesy has an encoder head");
        assert_eq!(head.input, HeadInput::PooledLayers);
        let inputs = 384 * crate::semantic::encoder::POOLED_LAYERS.len();
        assert_eq!(head.coefficients.len(), inputs);
        assert_eq!(head.term(&[0.0; 384]), None);
        let zero = head.term(&vec![0.0; inputs]).expect("fits");
        assert!((zero - head.weight * head.intercept).abs() < 1e-3);
        assert!(!l.scope.reporting.en.is_empty() && !l.scope.emotion.id.is_empty());
    }
}

//! The engine: one phrase matcher holding the built-in lexicons plus any
//! rubric phrase lists, and the few regexes redaction needs. Built once.

use regex::Regex;

use super::lexicon;
use super::matcher::{Matcher, MatcherBuilder, Scratch, UNKNOWN, normalize};
use super::text::CLITICS;

/// Set ids of the built-in lexicons inside the matcher.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinSets {
    /// Positive sentiment.
    pub positive: u32,
    /// Negative sentiment.
    pub negative: u32,
    /// Negators.
    pub negator: u32,
    /// PIN nouns.
    pub pin: u32,
    /// OTP nouns.
    pub otp: u32,
    /// Password nouns.
    pub password: u32,
    /// CVV nouns.
    pub cvv: u32,
    /// Card-number nouns.
    pub card: u32,
    /// Asking cues.
    pub ask: u32,
    /// "Never share" cues.
    pub dont_share: u32,
    /// Partial card number cues ("last four").
    pub partial: u32,
    /// Charging or totalling an amount.
    pub charge: u32,
    /// The speaker correcting themselves.
    pub correction: u32,
}

/// Adds phrase lists to the engine before it is frozen.
#[derive(Debug)]
pub struct EngineBuilder {
    matcher: MatcherBuilder,
    sets: BuiltinSets,
    /// Sets whose hits on [`lexicon::AS_WRITTEN`] words count only as written.
    as_written_sets: Vec<u32>,
}

impl Default for EngineBuilder {
    fn default() -> Self {
        let mut matcher = MatcherBuilder::default();
        let mut add = |words: &[&str]| {
            let set = matcher.new_set();
            for w in words {
                matcher.add(set, w);
            }
            set
        };
        let negator = add(lexicon::NEGATORS);
        let sets = BuiltinSets {
            negator,
            positive: add(lexicon::POSITIVE),
            negative: add(lexicon::NEGATIVE),
            pin: add(lexicon::PIN),
            otp: add(lexicon::OTP),
            password: add(lexicon::PASSWORD),
            cvv: add(lexicon::CVV),
            card: add(lexicon::CARD_NUMBER),
            ask: add(lexicon::ASK),
            dont_share: add(lexicon::DONT_SHARE),
            partial: add(lexicon::PARTIAL),
            charge: add(lexicon::CHARGE),
            correction: add(lexicon::CORRECTION),
        };
        // "I will not call you back" must not match "i will call you back".
        matcher.block_gaps_on(negator);
        let as_written_sets = vec![sets.positive, sets.negative];
        EngineBuilder {
            matcher,
            sets,
            as_written_sets,
        }
    }
}

impl EngineBuilder {
    /// Adds a phrase set; returns its id.
    pub fn add_set<'a>(&mut self, phrases: impl IntoIterator<Item = &'a String>) -> u32 {
        self.add_set_with_gap(phrases, 0)
    }

    /// Adds a phrase set whose phrases let `gap` words in; returns its id.
    pub fn add_set_with_gap<'a>(
        &mut self,
        phrases: impl IntoIterator<Item = &'a String>,
        gap: u8,
    ) -> u32 {
        let set = self.matcher.new_set();
        for p in phrases {
            self.matcher.add_with_gap(set, p, gap);
        }
        set
    }

    /// Makes a set's hits on [`lexicon::AS_WRITTEN`] words count only as
    /// written.
    pub fn count_as_written(&mut self, set: u32) {
        self.as_written_sets.push(set);
    }

    /// Marks a set as read on the agent's segments only.
    pub fn agent_only(&mut self, set: u32) {
        self.matcher.agent_only(set);
    }

    /// Makes the words of a group match each other in sets added afterwards.
    pub fn add_synonyms(&mut self, group: &[String]) {
        self.matcher.add_synonyms(group);
    }

    /// Tags words as function words of a language (bit 0 English, bit 1 Indonesian).
    pub fn tag_language(&mut self, words: &[String], bit: u8) {
        self.matcher.tag_language(words, bit);
    }

    /// The ids of the built-in lists.
    pub fn builtin_sets(&self) -> BuiltinSets {
        self.sets
    }

    /// Freezes the engine.
    pub fn build(self) -> Engine {
        let matcher = self.matcher.build();
        let mut scratch = Scratch::default();
        let as_written = AsWritten {
            sets: self.as_written_sets,
            words: lexicon::AS_WRITTEN
                .iter()
                .filter_map(|&word| {
                    let mut id = None;
                    normalize(word, &mut scratch, |piece| {
                        id = id.or(Some(matcher.lookup_piece(&piece)));
                    });
                    id.filter(|&id| id != UNKNOWN).map(|id| (id, word))
                })
                .collect(),
        };
        Engine {
            matcher,
            sets: self.sets,
            email: email_regex(),
            as_written,
        }
    }
}

/// Written and spoken e-mail addresses.
fn email_regex() -> Regex {
    // A constant pattern, covered by the redaction tests: not input.
    Regex::new(
        r"(?i)[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}|\b[a-z0-9._]+\s+(?:at|et)\s+[a-z0-9-]+\s+(?:dot|titik)\s+(?:com|co|id|net|org|co\s+(?:dot|titik)\s+id)\b",
    )
    .expect("the e-mail pattern is a valid constant regex")
}

/// The frozen engine.
#[derive(Debug)]
pub struct Engine {
    /// All phrase lists.
    pub matcher: Matcher,
    /// Ids of the built-in lists.
    pub sets: BuiltinSets,
    /// E-mail addresses, written or spoken.
    pub email: Regex,
    /// Words that count only as written, in some sets.
    pub as_written: AsWritten,
}

/// Words whose stem is another word, and the sets in which such a word
/// counts only as written ([`lexicon::AS_WRITTEN`]).
#[derive(Debug, Default)]
pub struct AsWritten {
    sets: Vec<u32>,
    /// Each word's vocabulary id (that of its stem) and the word.
    words: Vec<(u32, &'static str)>,
}

impl AsWritten {
    /// The sets whose hits on these words count only as written.
    pub fn sets(&self) -> &[u32] {
        if self.words.is_empty() {
            &[]
        } else {
            &self.sets
        }
    }

    /// The listed word behind a token with vocabulary id `id` (that of the
    /// word's stem), if that word counts only as written.
    pub fn word(&self, id: u32) -> Option<&'static str> {
        self.words
            .iter()
            .find(|(w, _)| *w == id)
            .map(|&(_, word)| word)
    }

    /// Whether `surface` is `word` as written, alone or with a clitic
    /// ("masalahnya"), rather than another word with its stem ("masa").
    pub fn written(word: &str, surface: &str) -> bool {
        let head = surface
            .get(..word.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(word));
        let rest = surface.get(word.len()..).unwrap_or_default();
        head && (rest.is_empty() || CLITICS.iter().any(|c| rest.eq_ignore_ascii_case(c)))
    }
}

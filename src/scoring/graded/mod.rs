//! Graded detectors: courtesy, register and empathy. Each agent turn gets a
//! score from the markers found in it (a logistic squash of their weights),
//! and the call gets a fraction from its turns; every marker is kept with its
//! position so that each point can be traced to the words that moved it.
//!
//! The math is in `docs/scoring.md` ("Graded checks"); the cue lists are the
//! TOML files in `lexicons/`, compiled into the same one-pass phrase matcher
//! as the rubric's phrase lists.

pub mod lexicon;
mod repetition;
pub mod scope;

use rustc_hash::FxHashSet;

use crate::rubric::SpeakerFilter;
use crate::transcript::Speaker;

use super::analysis::Analysis;
use super::engine::EngineBuilder;
use super::matcher::Hit;
use super::text::stem;
use lexicon::{Builtin, LEXICONS, Lexicon, MarkerDef, Position};
use scope::{Surface, TokenContext, TurnLanguage, read_surface, surface_hash};

/// Extra weight of a reply to a turn that voiced emotion, at full emotion.
const RESPONSIVENESS_WEIGHT: f64 = 2.0;
/// Word length at which the word-length term is zero, by the language of
/// the segment the words are in. Indonesian words are longer than English
/// ones saying the same (affixes): the agent turns of the scripted pairs
/// (tests/fixtures/pairs, the same 24 behaviours in both languages) average
/// 5.29 letters a word in Indonesian and 4.25 in English, so English sits
/// one letter lower; one pivot for both read every English turn as casual.
fn word_length_pivot(language: TurnLanguage) -> f64 {
    match language {
        TurnLanguage::Id => 5.5,
        TurnLanguage::En => 4.5,
        TurnLanguage::Unknown => 5.0,
    }
}
/// Largest distance from the pivot the word-length term counts.
const WORD_LENGTH_REACH: f64 = 2.0;

/// The graded detector kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GradedKind {
    /// Politeness strategies against impoliteness.
    Courtesy,
    /// Formal against informal register.
    Register,
    /// Empathic responses, weighted by the customer's voiced emotion.
    Empathy,
}

impl GradedKind {
    /// Every kind.
    pub const ALL: [GradedKind; 3] = [
        GradedKind::Courtesy,
        GradedKind::Register,
        GradedKind::Empathy,
    ];

    /// The built-in lexicon of the kind.
    pub fn lexicon(self) -> &'static Lexicon {
        match self {
            GradedKind::Courtesy => &LEXICONS.courtesy,
            GradedKind::Register => &LEXICONS.register,
            GradedKind::Empathy => &LEXICONS.empathy,
        }
    }

    fn index(self) -> usize {
        match self {
            GradedKind::Courtesy => 0,
            GradedKind::Register => 1,
            GradedKind::Empathy => 2,
        }
    }

    /// The detector's name.
    pub fn name(self) -> &'static str {
        match self {
            GradedKind::Courtesy => "courtesy",
            GradedKind::Register => "register",
            GradedKind::Empathy => "empathy",
        }
    }
}

/// Matcher sets of the scope cues.
#[derive(Debug, Clone, Copy)]
pub struct ScopeSets {
    /// Reporting verbs.
    pub reporting: u32,
    /// Discourse fillers.
    pub fillers: u32,
    /// Customer emotion cues.
    pub emotion: u32,
    /// Customer joy cues.
    pub joy: u32,
}

/// One marker ready to count.
#[derive(Debug)]
struct CompiledMarker {
    def: &'static MarkerDef,
    /// Its English phrasings' set.
    en_set: Option<u32>,
    /// Its Indonesian phrasings' set.
    id_set: Option<u32>,
    /// A built-in list's set (sentiment words).
    builtin_set: Option<u32>,
    /// Surface hashes of the first words of `exact` markers.
    exact: FxHashSet<u64>,
    /// The marker's `exact_words`: their surface hashes and their stems.
    exact_words: Option<(FxHashSet<u64>, Vec<String>)>,
    /// The set of its `except` phrases.
    except_set: Option<u32>,
}

impl CompiledMarker {
    /// Whether the hit's first word, spoken as `surface`, may start it: a
    /// word that shares an exact word's stem must be that word.
    fn first_word_allowed(&self, surface: &str) -> bool {
        let Some((surfaces, stems)) = &self.exact_words else {
            return true;
        };
        // A word stems to `s` only if it holds `s` past its first letter (a
        // nasal prefix may replace that letter): most hits skip the stemmer.
        let bytes = surface.as_bytes();
        if surface.is_ascii()
            && !stems.iter().any(|s| {
                let tail = s.as_bytes().get(1..).unwrap_or_default();
                !tail.is_empty()
                    && bytes
                        .windows(tail.len())
                        .any(|w| w.eq_ignore_ascii_case(tail))
            })
        {
            return true;
        }
        if surfaces.contains(&surface_hash(surface)) {
            return true;
        }
        let lower = surface.to_lowercase();
        let mut buffer = String::new();
        let spoken = stem(&lower, &mut buffer);
        !stems.iter().any(|s| s == spoken)
    }
}

/// A lexicon compiled into the engine.
#[derive(Debug)]
pub struct CompiledLexicon {
    kind: GradedKind,
    markers: Vec<CompiledMarker>,
    /// The markers read from the turn's surface (smileys, shouting, word
    /// shapes, the open end), by index: the pass over each turn visits
    /// these, not every marker.
    surface: Vec<usize>,
    /// Whether a surface marker reads word shapes (every word of the turn).
    needs_shapes: bool,
    /// The marker of a question asked again, by index.
    repeated_question: Option<usize>,
    /// Whether some marker is the customer's reaction to a turn.
    has_reactions: bool,
}

/// The graded lexicons a rubric uses, and the scope cues.
#[derive(Debug)]
pub struct GradedSets {
    /// Scope cue sets.
    pub scope: ScopeSets,
    lexicons: [Option<CompiledLexicon>; 3],
}

/// The surface hash of a phrase's first word.
fn first_word(phrase: &str) -> u64 {
    surface_hash(phrase.split_whitespace().next().unwrap_or(""))
}

impl GradedSets {
    /// Adds the lexicons of `uses` (and the scope cues) to the engine; a
    /// lexicon that only judges the agent (`agent_only` holds its kinds) is
    /// not matched on the customer's segments.
    pub fn build(
        b: &mut EngineBuilder,
        uses: &[GradedKind],
        agent_only: &[GradedKind],
    ) -> GradedSets {
        let scope_lexicon = &LEXICONS.scope;
        let scope = ScopeSets {
            reporting: b.add_set(scope_lexicon.reporting.all()),
            fillers: b.add_set(scope_lexicon.fillers.all()),
            emotion: b.add_set(scope_lexicon.emotion.all()),
            joy: b.add_set(scope_lexicon.joy.all()),
        };
        b.count_as_written(scope.emotion);
        b.tag_language(&scope_lexicon.language.en, 1);
        b.tag_language(&scope_lexicon.language.id, 2);
        let mut lexicons: [Option<CompiledLexicon>; 3] = [None, None, None];
        for &kind in uses {
            if lexicons[kind.index()].is_some() {
                continue;
            }
            let lexicon = kind.lexicon();
            let sets = b.builtin_sets();
            let markers: Vec<CompiledMarker> = lexicon
                .markers
                .iter()
                .map(|def| {
                    // A reaction is found in the customer's words.
                    let only_agent = agent_only.contains(&kind) && !def.reaction;
                    let list = |b: &mut EngineBuilder, phrases: &[String]| {
                        (!phrases.is_empty()).then(|| {
                            let set = b.add_set_with_gap(phrases.iter(), def.gap);
                            if only_agent {
                                b.agent_only(set);
                            }
                            set
                        })
                    };
                    CompiledMarker {
                        def,
                        en_set: list(b, &def.en),
                        id_set: list(b, &def.id),
                        builtin_set: match def.builtin {
                            Some(Builtin::PositiveSentiment) => Some(sets.positive),
                            Some(Builtin::NegativeSentiment) => Some(sets.negative),
                            _ => None,
                        },
                        exact: if def.exact {
                            def.en
                                .iter()
                                .chain(&def.id)
                                .map(|p| first_word(p))
                                .collect()
                        } else {
                            FxHashSet::default()
                        },
                        except_set: list(b, &def.except),
                        exact_words: (!def.exact_words.is_empty()).then(|| {
                            let mut buffer = String::new();
                            (
                                def.exact_words.iter().map(|w| surface_hash(w)).collect(),
                                def.exact_words
                                    .iter()
                                    .map(|w| stem(w, &mut buffer).to_owned())
                                    .collect(),
                            )
                        }),
                    }
                })
                .collect();
            let surface: Vec<usize> = (0..markers.len())
                .filter(|&i| {
                    matches!(
                        markers[i].def.builtin,
                        Some(
                            Builtin::Elongation
                                | Builtin::ReduplicationDigit
                                | Builtin::WordLength
                                | Builtin::UnpunctuatedEnd
                                | Builtin::Smiley
                                | Builtin::Shouting
                        )
                    )
                })
                .collect();
            let needs_shapes = markers.iter().any(|m| {
                matches!(
                    m.def.builtin,
                    Some(Builtin::Elongation | Builtin::ReduplicationDigit | Builtin::WordLength)
                )
            });
            let repeated_question = markers
                .iter()
                .position(|m| m.def.builtin == Some(Builtin::RepeatedQuestion));
            let has_reactions = markers.iter().any(|m| m.def.reaction);
            lexicons[kind.index()] = Some(CompiledLexicon {
                kind,
                markers,
                surface,
                needs_shapes,
                repeated_question,
                has_reactions,
            });
        }
        GradedSets { scope, lexicons }
    }

    /// The compiled lexicon of a kind, when the rubric uses it.
    pub fn lexicon(&self, kind: GradedKind) -> Option<&CompiledLexicon> {
        self.lexicons[kind.index()].as_ref()
    }
}

/// A cue found in a turn. Small (24 bytes): a turn keeps twelve inline.
#[derive(Debug, Clone)]
pub struct FoundMarker {
    /// The marker's index in its lexicon, or [`WHOLE_TURN_MARKER`].
    pub marker: u16,
    /// Found in the customer's reaction to the turn, not in the turn.
    pub reaction: bool,
    /// Its contribution to the turn's logit.
    pub weight: f64,
    /// The segment it is in.
    pub seg: u32,
    /// First token (global index).
    pub start: u32,
    /// One past the last token.
    pub end: u32,
}

/// The marker index of the encoder head's whole-turn term.
pub const WHOLE_TURN_MARKER: u16 = u16::MAX;

impl FoundMarker {
    /// A cue of the marker at `index` of its lexicon.
    fn new(index: usize, weight: f64, seg: usize, start: u32, end: u32) -> Self {
        FoundMarker {
            // Built-in lexicons hold a few dozen markers.
            marker: u16::try_from(index).unwrap_or(WHOLE_TURN_MARKER - 1),
            reaction: false,
            weight,
            seg: u32::try_from(seg).unwrap_or(u32::MAX),
            start,
            end,
        }
    }

    /// The cue's kind, as scorecards name it.
    pub fn kind(&self, lexicon: &'static Lexicon) -> &'static str {
        match lexicon.markers.get(usize::from(self.marker)) {
            Some(def) => &def.kind,
            None => WHOLE_TURN,
        }
    }

    /// The segment it is in, as an index.
    pub fn segment(&self) -> usize {
        self.seg as usize
    }
}

/// One speaker turn (consecutive segments of one speaker) and its score.
#[derive(Debug, Clone)]
pub struct Turn {
    /// Its first segment.
    pub first_seg: usize,
    /// Its last segment.
    pub last_seg: usize,
    /// Bias plus the markers' weights.
    pub logit: f64,
    /// The logistic of the logit, 0..1.
    pub score: f64,
    /// The cues found, in order (inline up to twelve: most turns have fewer,
    /// and scoring a call then allocates nothing per turn).
    pub markers: smallvec::SmallVec<[FoundMarker; 12]>,
    /// The customer turn just before it that voiced emotion: its first
    /// segment and how strongly (0..1).
    pub after_emotion: Option<(usize, f64)>,
    /// Whether the customer's last voiced feeling before it was joy or good
    /// news (no distress voiced since).
    pub after_joy: bool,
}

impl Turn {
    /// Whether any cue was found.
    pub fn has_markers(&self) -> bool {
        !self.markers.is_empty()
    }

    /// Adds a whole-turn term (the encoder head's) as a cue spanning the turn.
    pub fn add_whole_turn_term(&mut self, weight: f64, start: u32, end: u32) {
        self.logit += weight;
        self.score = sigmoid(self.logit);
        self.markers.push(FoundMarker {
            marker: WHOLE_TURN_MARKER,
            reaction: false,
            weight,
            seg: u32::try_from(self.first_seg).unwrap_or(u32::MAX),
            start,
            end,
        });
    }
}

/// The kind of the encoder head's whole-turn term on scorecards.
pub static WHOLE_TURN: &str = "whole_turn";

/// The logistic function.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// How many turns [`turns_of`] finds.
fn count_turns(a: &Analysis<'_>, speaker: SpeakerFilter) -> usize {
    let mut count = 0;
    let mut previous: Option<Speaker> = None;
    for (seg, segment) in a.transcript.segments.iter().enumerate() {
        if a.blank[seg] {
            continue;
        }
        let same_run = a.speakers_known && previous == Some(segment.speaker);
        if a.speaker_matches(seg, speaker) && !same_run {
            count += 1;
        }
        previous = Some(segment.speaker);
    }
    count
}

/// The turns of the speaker a check judges, with the customer's voiced
/// emotion before each. On attributed calls a turn is a run of one
/// speaker's segments; on mono calls every segment is its own turn.
fn turns_of(a: &Analysis<'_>, ctx: &TokenContext, speaker: SpeakerFilter) -> Vec<Turn> {
    let segments = &a.transcript.segments;
    // A turn is large (its markers inline): counted first, the vector is
    // allocated once instead of being copied as it grows.
    let mut turns: Vec<Turn> = Vec::with_capacity(count_turns(a, speaker));
    let mut previous: Option<Speaker> = None;
    // The customer run just before, its first segment and its strongest emotion.
    let mut customer_run: Option<(usize, f64)> = None;
    // Whether the customer's last voiced feeling was joy or good news (and
    // not distress since): it holds until they voice distress.
    let mut joyful = false;
    for (seg, segment) in segments.iter().enumerate() {
        if a.blank[seg] {
            continue;
        }
        let same_run = a.speakers_known && previous == Some(segment.speaker);
        if segment.speaker == Speaker::Customer {
            let emotion = ctx.emotion[seg];
            customer_run = match (same_run, customer_run) {
                (true, Some((first, e))) => Some((first, e.max(emotion))),
                _ => Some((seg, emotion)),
            };
            if a.sentiment[seg] < 0.0 {
                joyful = false;
            } else if ctx.joy[seg] {
                joyful = true;
            } else if emotion > 0.0 {
                joyful = false;
            }
        }
        if a.speaker_matches(seg, speaker) {
            match turns.last_mut() {
                Some(turn) if same_run => turn.last_seg = seg,
                _ => {
                    let after_emotion = customer_run
                        .filter(|&(_, e)| e > 0.0 && previous == Some(Speaker::Customer));
                    turns.push(Turn {
                        first_seg: seg,
                        last_seg: seg,
                        logit: 0.0,
                        score: 0.0,
                        markers: smallvec::SmallVec::new(),
                        after_emotion,
                        after_joy: joyful,
                    });
                }
            }
        }
        previous = Some(segment.speaker);
    }
    turns
}

/// Scores every turn of the judged speaker with a lexicon.
pub fn score_turns(
    lexicon: &CompiledLexicon,
    a: &Analysis<'_>,
    ctx: &TokenContext,
    speaker: SpeakerFilter,
) -> Vec<Turn> {
    let mut turns = turns_of(a, ctx, speaker);
    let bias = lexicon.kind.lexicon().bias;
    // Per segment: the index of its turn, or NO_TURN.
    const NO_TURN: u32 = u32::MAX;
    let mut turn_of_seg: Vec<u32> = vec![NO_TURN; a.transcript.segments.len()];
    for (i, turn) in turns.iter_mut().enumerate() {
        turn.logit = bias;
        let i = u32::try_from(i).unwrap_or(NO_TURN);
        for slot in &mut turn_of_seg[turn.first_seg..=turn.last_seg] {
            *slot = i;
        }
    }
    // Per customer segment: the agent turn its run answers (empty when the
    // lexicon reads no reactions or the speakers are not told apart).
    let reply_of_seg =
        if lexicon.has_reactions && speaker == SpeakerFilter::Agent && a.speakers_known {
            replies_to_turns(a, &turn_of_seg, NO_TURN)
        } else {
            Vec::new()
        };
    // Per turn: (marker, count, end of its last counted hit); a slot left by
    // another marker reads as empty, so nothing is reset between markers.
    let mut slots: Vec<(usize, u32, u32)> = vec![(usize::MAX, 0, 0); turns.len()];
    for (marker_index, marker) in lexicon.markers.iter().enumerate() {
        let def = marker.def;
        let sets = [
            (marker.en_set, Some(TurnLanguage::Id)),
            (marker.id_set, Some(TurnLanguage::En)),
            (marker.builtin_set, None),
        ];
        let owner = if def.reaction {
            if reply_of_seg.is_empty() {
                continue;
            }
            &reply_of_seg
        } else {
            &turn_of_seg
        };
        for (set, excluded_language) in sets {
            let Some(set) = set else { continue };
            for h in a.set_hits(set) {
                let seg = h.seg as usize;
                let t = owner[seg];
                if t == NO_TURN {
                    continue;
                }
                let t = t as usize;
                let at = h.start as usize;
                if slots[t].0 != marker_index {
                    slots[t] = (marker_index, 0, 0);
                }
                let (_, count, last_end) = slots[t];
                // A longer phrase at the same word ("thank you" after
                // "thanks") widens the cue already counted, not the count.
                if h.start < last_end {
                    if let Some(last) = turns[t].markers.last_mut()
                        && usize::from(last.marker) == marker_index
                        && last.start == h.start
                        && h.end > last.end
                    {
                        last.end = h.end;
                        slots[t].2 = h.end;
                    }
                    continue;
                }
                if excluded_language.is_some_and(|l| ctx.language[seg] == l)
                    || count >= def.cap
                    || ctx.reported(at)
                    || (def.negatable && ctx.negated(at))
                    || (def.question && !ctx.question(at))
                    || (def.statement && ctx.question(at))
                    || (def.after_emotion && turns[t].after_emotion.is_none())
                    || (def.after_joy && !turns[t].after_joy)
                    || !position_ok(
                        def.position,
                        ctx,
                        at,
                        h.end as usize,
                        a.seg_tokens[seg].1 as usize,
                    )
                {
                    continue;
                }
                if def.exact && !marker.exact.contains(&ctx.surface_hash(a, seg, at)) {
                    continue;
                }
                if marker.exact_words.is_some()
                    && !marker.first_word_allowed(ctx.surface(a, seg, at))
                {
                    continue;
                }
                if marker
                    .except_set
                    .is_some_and(|set| hit_starts_at(a.set_hits(set), h.start))
                {
                    continue;
                }
                slots[t] = (marker_index, count + 1, h.end);
                turns[t].logit += def.weight;
                turns[t].markers.push(FoundMarker {
                    reaction: def.reaction,
                    ..FoundMarker::new(marker_index, def.weight, seg, h.start, h.end)
                });
            }
        }
    }
    if !lexicon.surface.is_empty() {
        // One buffer for every turn's word shapes: it grew word by word per turn.
        let mut shapes = Vec::new();
        for turn in &mut turns {
            surface_markers(lexicon, a, &ctx.language, turn, &mut shapes);
        }
    }
    if let Some(index) = lexicon.repeated_question {
        let weight = lexicon.markers[index].def.weight;
        for i in 1..turns.len() {
            let (before, after) = turns.split_at_mut(i);
            let turn = &mut after[0];
            if let Some((start, end)) = repetition::repeats(a, ctx, &before[i - 1], turn) {
                turn.logit += weight;
                turn.markers
                    .push(FoundMarker::new(index, weight, turn.first_seg, start, end));
            }
        }
    }
    for turn in &mut turns {
        sort_by_position(&mut turn.markers);
        turn.score = sigmoid(turn.logit);
    }
    turns
}

/// Per segment, the judged turn that a customer segment reacts to: every
/// customer segment from the end of a judged turn to the next one answers
/// it; other segments hold `none`.
fn replies_to_turns(a: &Analysis<'_>, turn_of_seg: &[u32], none: u32) -> Vec<u32> {
    let mut reply_of_seg = vec![none; turn_of_seg.len()];
    let mut answered = none;
    for (seg, segment) in a.transcript.segments.iter().enumerate() {
        if a.blank[seg] {
            continue;
        }
        if turn_of_seg[seg] != none {
            answered = turn_of_seg[seg];
        } else if segment.speaker == Speaker::Customer {
            reply_of_seg[seg] = answered;
        } else {
            answered = none;
        }
    }
    reply_of_seg
}

/// Whether one of a set's hits (in token order) starts at token `at`.
fn hit_starts_at(hits: &[Hit], at: u32) -> bool {
    let i = hits.partition_point(|h| h.start < at);
    hits.get(i).is_some_and(|h| h.start == at)
}

/// Sorts a turn's cues by position, keeping the order of cues at the same
/// words. A turn has a handful: an insertion sort (stable) skips the general
/// sort's set-up, which cost more than the sorting itself.
fn sort_by_position(markers: &mut [FoundMarker]) {
    const INSERTION_MAX: usize = 16;
    if markers.len() > INSERTION_MAX {
        markers.sort_by_key(|m| (m.start, m.end));
        return;
    }
    for i in 1..markers.len() {
        let mut j = i;
        while j > 0
            && (markers[j - 1].start, markers[j - 1].end) > (markers[j].start, markers[j].end)
        {
            markers.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// Whether a hit from token `at` to `end` (its segment ending at `seg_end`)
/// stands where its marker counts.
fn position_ok(
    position: Position,
    ctx: &TokenContext,
    at: usize,
    end: usize,
    seg_end: usize,
) -> bool {
    match position {
        Position::Any => true,
        Position::SentenceStart => ctx.sentence_start(at),
        Position::ClauseStart => ctx.clause_start(at),
        Position::NotSentenceStart => !ctx.sentence_start(at),
        Position::Alone => ctx.bounded(at) && (end >= seg_end || ctx.bounded(end)),
    }
}

/// Emoticons and emoji of goodwill in a text.
fn count_smileys(text: &str) -> u32 {
    // Plain speech has none of the marks an emoticon needs. A fold without
    // an early exit, so that the compiler vectorises the scan.
    let marked = text.bytes().fold(false, |seen, b| {
        seen | !b.is_ascii() | (b == b':') | (b == b';') | (b == b'(')
    });
    if !marked {
        return 0;
    }
    const SMILEYS: [&str; 10] = [":)", ":-)", ":D", ";)", ";-)", "(:", "🙂", "😊", "🙏", "😀"];
    SMILEYS.iter().map(|s| text.matches(s).count() as u32).sum()
}

/// Shouted words (four or more capitals) and stacked marks ("!!", "?!").
fn count_shouting(text: &str) -> u32 {
    // Quick exit, one vectorised pass: ASCII with no two capitals in a row
    // and no "!!" or "?!".
    let bytes = text.as_bytes();
    let suspicious = bytes.iter().zip(bytes.iter().skip(1)).fold(
        bytes.first().is_some_and(|b| !b.is_ascii()),
        |seen, (&previous, &b)| {
            seen | !b.is_ascii()
                | (previous.is_ascii_uppercase() & b.is_ascii_uppercase())
                | ((b == b'!') & ((previous == b'!') | (previous == b'?')))
        },
    );
    if !suspicious {
        return 0;
    }
    let caps = text
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| w.chars().count() >= 4 && w.chars().all(char::is_uppercase))
        .count();
    let marks = text.matches("!!").count() + text.matches("?!").count();
    (caps + marks) as u32
}

/// Whether an ASCII text may hold an elongated word (one letter three times
/// in a row) or a digit reduplication ("bisa2"). A fold without an early
/// exit, which the compiler vectorises; a false alarm only costs the
/// word-by-word reading.
fn may_show_shape_marks(bytes: &[u8]) -> bool {
    let fold = |b: u8| b | 0x20;
    let tripled = bytes
        .iter()
        .zip(bytes.iter().skip(1))
        .zip(bytes.iter().skip(2))
        .fold(false, |seen, ((&x, &y), &z)| {
            seen | ((fold(x) == fold(y)) & (fold(y) == fold(z)))
        });
    tripled || bytes.contains(&b'2')
}

/// The ASCII letters of `text[start..end]`, a word of ASCII text. A word of
/// up to eight bytes with eight bytes of text from its start is counted in
/// one load: a byte is a letter when, case folded, it lies in `a..=z`, and
/// the two range tests are additions that set each byte's high bit (ASCII
/// bytes cannot carry); the bytes past the word are masked off.
fn ascii_letters(text: &[u8], start: usize, end: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let n = end.saturating_sub(start);
    if let Some(&eight) = text.get(start..).and_then(|rest| rest.first_chunk::<8>())
        && n <= 8
    {
        let folded = u64::from_le_bytes(eight) | (0x20 * ONES);
        let at_least_a = folded.wrapping_add((0x80 - u64::from(b'a')) * ONES);
        let past_z = folded.wrapping_add((0x80 - u64::from(b'z') - 1) * ONES);
        let word = u64::MAX.checked_shr(64 - 8 * n as u32).unwrap_or(0);
        // One bit per letter, at the bottom of its byte; a multiply sums the
        // bytes into the top one (at most 8: no carry). Baseline x86-64 has
        // no popcount instruction.
        let letters = (at_least_a & !past_z & HIGH & word) >> 7;
        return (letters.wrapping_mul(ONES) >> 56) as usize;
    }
    text.get(start..end)
        .map_or(0, |w| w.iter().filter(|b| b.is_ascii_alphabetic()).count())
}

/// Markers read from the words' surface: elongation, digit reduplication,
/// and the word-length term.
fn surface_markers(
    lexicon: &CompiledLexicon,
    a: &Analysis<'_>,
    language: &[TurnLanguage],
    turn: &mut Turn,
    shapes: &mut Vec<(usize, usize, Surface)>,
) {
    let first = a.seg_tokens[turn.first_seg].0 as usize;
    let last = a.seg_tokens[turn.last_seg].1 as usize;
    // Every word of the turn read once, when a word-shape marker needs it:
    // (token, segment, shape).
    let needs_shapes = lexicon.needs_shapes;
    // Only words of segments that may show a shape mark are kept in
    // `shapes`; every word's letters are counted for the word-length term.
    shapes.clear();
    let (mut letters, mut words) = (0usize, 0usize);
    // The pivots of the words' segments, summed over the words.
    let mut pivots = 0.0;
    for seg in (turn.first_seg..=turn.last_seg).filter(|_| needs_shapes) {
        let (lo, hi) = a.seg_tokens[seg];
        let text = &a.transcript.segments[seg].text;
        let plain = text.is_ascii() && !may_show_shape_marks(text.as_bytes());
        let words_before = words;
        for t in lo as usize..hi as usize {
            let (start, end) = a.spans[t];
            let n = if plain {
                ascii_letters(text.as_bytes(), start as usize, end as usize)
            } else {
                let word = text.get(start as usize..end as usize).unwrap_or("");
                let surface = read_surface(word);
                shapes.push((t, seg, surface));
                usize::from(surface.letters)
            };
            if n > 0 {
                letters += n;
                words += 1;
            }
        }
        pivots += word_length_pivot(language[seg]) * (words - words_before) as f64;
    }
    for (index, marker) in lexicon.surface.iter().map(|&i| (i, &lexicon.markers[i])) {
        let def = marker.def;
        match def.builtin {
            Some(Builtin::Elongation | Builtin::ReduplicationDigit) => {
                let mut count = 0;
                for &(t, seg, surface) in shapes.iter() {
                    if count >= def.cap {
                        break;
                    }
                    let hit = if def.builtin == Some(Builtin::Elongation) {
                        surface.elongated
                    } else {
                        surface.digit_reduplication
                    };
                    if hit {
                        count += 1;
                        turn.logit += def.weight;
                        turn.markers.push(FoundMarker::new(
                            index,
                            def.weight,
                            seg,
                            t as u32,
                            t as u32 + 1,
                        ));
                    }
                }
            }
            Some(Builtin::WordLength) if words >= 3 => {
                let mean = letters as f64 / words as f64;
                let pivot = pivots / words as f64;
                let distance = (mean - pivot).clamp(-WORD_LENGTH_REACH, WORD_LENGTH_REACH);
                let weight = (def.weight * distance * 1000.0).round() / 1000.0;
                if weight != 0.0 {
                    turn.logit += weight;
                    turn.markers.push(FoundMarker::new(
                        index,
                        weight,
                        turn.first_seg,
                        first as u32,
                        last as u32,
                    ));
                }
            }
            Some(Builtin::Smiley | Builtin::Shouting) => {
                let mut count = 0;
                for seg in turn.first_seg..=turn.last_seg {
                    let text = &a.transcript.segments[seg].text;
                    let found = if def.builtin == Some(Builtin::Smiley) {
                        count_smileys(text)
                    } else {
                        count_shouting(text)
                    };
                    for _ in 0..found {
                        if count >= def.cap {
                            break;
                        }
                        count += 1;
                        let (start, end) = a.seg_tokens[seg];
                        turn.logit += def.weight;
                        turn.markers.push(FoundMarker::new(
                            index,
                            def.weight,
                            seg,
                            start,
                            end.max(start + 1),
                        ));
                    }
                }
            }
            Some(Builtin::UnpunctuatedEnd) if last > first => {
                let text = a.transcript.segments[turn.last_seg].text.trim_end();
                let ends_open = text.chars().next_back().is_some_and(char::is_alphanumeric);
                if ends_open {
                    turn.logit += def.weight;
                    turn.markers.push(FoundMarker::new(
                        index,
                        def.weight,
                        turn.last_seg,
                        last as u32 - 1,
                        last as u32,
                    ));
                }
            }
            _ => {}
        }
    }
}

/// How a graded check came out over the call.
#[derive(Debug, Clone)]
pub struct Graded {
    /// The share of points, 0..1; `None` when nothing could be judged.
    pub fraction: Option<f64>,
    /// The turns worth quoting: those with cues, and missed replies.
    pub counted: Vec<usize>,
    /// Weighted mean over all judged turns of their cues' summed weights.
    pub mean: f64,
    /// The lowest summed weight of a turn (0 when no turn went negative).
    pub worst: f64,
}

/// What a reply to voiced emotion with no empathic cue adds to the mean:
/// a missed response counts against the agent.
const MISSED_REPLY: f64 = -1.0;
/// How strongly the worst turn pulls a courtesy or register score down.
const WORST_TURN_PULL: f64 = 0.5;
/// The mean's amplification grows with the square root of the number of
/// judged turns, up to this many: a pattern over several turns says more
/// than one turn, but a long call is not better for being long.
const EVIDENCE_WEIGHT_CAP: f64 = 9.0;

impl Turn {
    /// The summed weights of the turn's cues.
    fn cue_sum(&self, bias: f64) -> f64 {
        self.logit - bias
    }

    /// Whether the turn carries a cue that raises the score (the encoder
    /// head's whole-turn term included; the customer's reaction is no cue
    /// of the turn's own).
    pub fn has_positive_cue(&self) -> bool {
        self.markers.iter().any(|m| m.weight > 0.0 && !m.reaction)
    }
}

/// The call's fraction from its turns, for every graded kind:
///
/// `fraction = σ(bias + √min(n, 9) · m + 0.5 · min(0, worst))`
///
/// where `m` is the weighted mean, over the `n` turns of the judged speaker,
/// of each turn's summed cue weights (0 for a turn without cues), and
/// `worst` the lowest turn sum (courtesy and register only: one insult
/// colours a whole call). For empathy a reply to a customer turn that voiced
/// emotion weighs `1 + 2e` (e the emotion's strength, 0..1) and counts `-1`
/// more when it carries no empathic cue. Every cue moves the fraction the way
/// its weight points, whatever else the call holds; a single turn's fraction
/// is its own score.
pub fn aggregate(kind: GradedKind, turns: &[Turn]) -> Graded {
    let bias = kind.lexicon().bias;
    let empathy = kind == GradedKind::Empathy;
    let counted: Vec<usize> = (0..turns.len())
        .filter(|&i| turns[i].has_markers() || (empathy && turns[i].after_emotion.is_some()))
        .collect();
    let nothing = Graded {
        fraction: None,
        counted: Vec::new(),
        mean: 0.0,
        worst: 0.0,
    };
    if turns.is_empty() {
        return nothing;
    }
    let (mut total, mut weighted, mut worst) = (0.0, 0.0, 0.0f64);
    for turn in turns {
        let (weight, sum) = match turn.after_emotion {
            Some((_, e)) if empathy => {
                let sum = if turn.has_positive_cue() {
                    turn.cue_sum(bias)
                } else {
                    turn.cue_sum(bias) + MISSED_REPLY
                };
                (1.0 + RESPONSIVENESS_WEIGHT * e, sum)
            }
            _ => (1.0, turn.cue_sum(bias)),
        };
        total += weight;
        weighted += weight * sum;
        worst = worst.min(sum);
    }
    let mean = weighted / total;
    let pull = if empathy {
        0.0
    } else {
        WORST_TURN_PULL * worst
    };
    let amplification = (turns.len() as f64).min(EVIDENCE_WEIGHT_CAP).sqrt();
    let logit = bias + amplification * mean + pull;
    Graded {
        fraction: Some(sigmoid(logit)),
        counted,
        mean,
        worst,
    }
}

/// The lexicon versions and their fingerprint, as scorecards record them.
pub fn versions() -> [(&'static str, u32); 3] {
    GradedKind::ALL.map(|k| (k.name(), k.lexicon().version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_marker_index_fits_a_found_marker() {
        for kind in GradedKind::ALL {
            let markers = &kind.lexicon().markers;
            assert!(
                markers.len() < usize::from(WHOLE_TURN_MARKER),
                "{}",
                kind.name()
            );
            let found = FoundMarker::new(markers.len() - 1, 1.0, 0, 0, 1);
            assert_eq!(found.kind(kind.lexicon()), markers[markers.len() - 1].kind);
        }
        let whole = FoundMarker {
            marker: WHOLE_TURN_MARKER,
            reaction: false,
            weight: 1.0,
            seg: 0,
            start: 0,
            end: 1,
        };
        assert_eq!(whole.kind(GradedKind::Courtesy.lexicon()), WHOLE_TURN);
        assert_eq!(std::mem::size_of::<FoundMarker>(), 24);
    }

    #[test]
    fn cues_are_sorted_by_position_keeping_the_order_of_equals() {
        for n in [0, 1, 5, 16, 17, 40] {
            // Positions repeat, so that equal keys show whether order is kept;
            // the marker index records the order the cues were found in.
            let mut markers: Vec<FoundMarker> = (0..n)
                .map(|i| FoundMarker::new(i, 1.0, 0, ((i * 7) % 5) as u32, 9))
                .collect();
            let mut expected = markers.clone();
            expected.sort_by_key(|m| (m.start, m.end));
            sort_by_position(&mut markers);
            let order = |v: &[FoundMarker]| v.iter().map(|m| m.marker).collect::<Vec<_>>();
            assert_eq!(order(&markers), order(&expected), "{n} cues");
        }
    }

    #[test]
    fn exact_forms_compare_surfaces() {
        assert_eq!(first_word("Don't go"), surface_hash("dont"));
        assert_eq!(surface_hash("KIRIM"), surface_hash("kirim"));
        assert_ne!(surface_hash("dikirim"), surface_hash("kirim"));
    }

    #[test]
    fn smileys_and_shouting_are_counted_past_the_quick_exit() {
        assert_eq!(count_smileys("thank you"), 0);
        assert_eq!(count_smileys("thank you :) see you (:"), 2);
        assert_eq!(count_smileys("terima kasih 🙏"), 1);
        assert_eq!(count_shouting("I am OK, thanks."), 0);
        assert_eq!(count_shouting("PLEASE stop calling me!!"), 2);
        assert_eq!(count_shouting("why?!"), 1);
        assert_eq!(count_shouting("!!"), 1);
        assert_eq!(count_shouting(""), 0);
    }

    #[test]
    fn ascii_letters_counts_what_is_ascii_alphabetic_counts() {
        // Every ASCII byte, in words of every length to 17, at every place of
        // a text (so that both the one-load count and the byte loop run).
        let text: Vec<u8> = (0..300u32).map(|i| (i * 37 % 128) as u8).collect();
        for start in 0..text.len() {
            for end in start..=(start + 17).min(text.len()) {
                let expected = text[start..end]
                    .iter()
                    .filter(|b| b.is_ascii_alphabetic())
                    .count();
                assert_eq!(ascii_letters(&text, start, end), expected, "{start}..{end}");
            }
        }
        assert_eq!(ascii_letters(b"Don't go", 0, 5), 4);
        assert_eq!(ascii_letters(b"4532", 0, 4), 0);
        assert_eq!(ascii_letters(b"x", 0, 9), 0);
    }

    #[test]
    fn shape_marks_are_looked_for_past_the_quick_exit() {
        assert!(!may_show_shape_marks(b"Terima kasih, Bapak."));
        assert!(may_show_shape_marks(b"makasih bangettt"));
        assert!(may_show_shape_marks(b"Sooo sorry"));
        assert!(may_show_shape_marks(b"bisa2 aja"));
        assert!(!may_show_shape_marks(b""));
        assert!(!may_show_shape_marks(b"ok"));
    }
}

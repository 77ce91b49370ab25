//! The compiled phrase matcher: every phrase list of a rubric (and the
//! built-in lexicons) becomes token-id sequences over one vocabulary, so a
//! transcript is normalised once and all lists are matched in one pass.

use std::fmt::Write as _;

use rustc_hash::FxHashMap;

use super::text::{NumberBuilder, alternative_stem, for_each_word, number_word, stem};
pub use super::word_memo::{Resolver, WordMemo};

/// Token id of a word that no phrase uses.
pub const UNKNOWN: u32 = u32::MAX;

/// Shortest stem that may match with one edit; shorter words must match exactly.
const FUZZY_MIN_LEN: usize = 6;
/// Shortest stem in which any one slip inside the word is tolerated (a
/// dropped, added or swapped letter); shorter stems tolerate only a doubled
/// letter or a leftover ending, see [`plausible_slip`].
const FUZZY_SLIP_MIN_LEN: usize = 9;
/// Shortest stem in which one letter may be replaced by another: below it,
/// a replaced letter makes another word too often ("semarang" "sekarang").
const FUZZY_SUBSTITUTION_MIN_LEN: usize = 10;
/// Shortest stem that may match with two edits.
const FUZZY_TWO_MIN_LEN: usize = 12;
/// Longest stem tried for fuzzy matching (bounds the stack buffers).
const FUZZY_MAX_LEN: usize = 48;
/// A read-only map from 64-bit hash to id: open addressing, at most a
/// quarter full, so the usual miss (a word in no phrase) ends at the first
/// empty slot without the bookkeeping of a general hash map.
#[derive(Debug)]
struct IdTable {
    /// (fingerprint, id) pairs side by side: one cache line per probe, and
    /// small enough to stay in L1 for a rubric-sized vocabulary.
    slots: Vec<(u32, u32)>,
    shift: u32,
}

impl IdTable {
    fn new(entries: FxHashMap<u64, u32>) -> Self {
        let size = (entries.len().max(1) * 2).next_power_of_two();
        let mut slots = vec![(0u32, UNKNOWN); size];
        let shift = 64 - size.trailing_zeros();
        let mask = size - 1;
        let mut sorted: Vec<(u64, u32)> = entries.into_iter().collect();
        // Insertion order decides probe order; sort so builds are reproducible.
        sorted.sort_unstable();
        for (key, id) in sorted {
            let mut i = Self::slot(key, shift);
            while slots[i].1 != UNKNOWN {
                i = (i + 1) & mask;
            }
            slots[i] = (Self::fingerprint(key), id);
        }
        IdTable { slots, shift }
    }

    fn slot(key: u64, shift: u32) -> usize {
        // Fibonacci hashing spreads the high bits over the table.
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize
    }

    fn fingerprint(key: u64) -> u32 {
        key as u32
    }

    /// The first id whose fingerprint matches and that `verify` accepts.
    fn get(&self, key: u64, verify: impl Fn(u32) -> bool) -> Option<u32> {
        let mask = self.slots.len() - 1;
        let fp = Self::fingerprint(key);
        let mut i = Self::slot(key, self.shift);
        loop {
            let (f, id) = self.slots[i];
            if id == UNKNOWN {
                return None;
            }
            if f == fp && verify(id) {
                return Some(id);
            }
            i = (i + 1) & mask;
        }
    }
}

/// Bits in the Bloom filter in front of the fuzzy index (64 KiB: the
/// default rubric with its graded lexicons puts about 40,000 deletion hashes
/// in it, so it stays about 6 % full and a miss is one bit test).
const BLOOM_BITS: usize = 1 << 19;

/// The Bloom filter bit of a hash.
fn bloom_bit(h: u64) -> usize {
    (h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - 19)) as usize
}

/// Multiplier of the polynomial string hash.
const HASH_P: u64 = 0x0000_0100_0000_01b3;

/// Polynomial hash of bytes: `poly(a ++ b) = poly(a) * P^len(b) + poly(b)`,
/// which lets the hashes of all one-byte deletions be computed in one pass.
/// Collisions only cost a verification: candidates are always re-checked.
fn poly(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |h, &b| {
        h.wrapping_mul(HASH_P).wrapping_add(u64::from(b) + 1)
    })
}

/// Powers of the hash multiplier, computed at compile time.
const POW: [u64; FUZZY_MAX_LEN + 1] = {
    let mut pow = [1u64; FUZZY_MAX_LEN + 1];
    let mut i = 1;
    while i <= FUZZY_MAX_LEN {
        pow[i] = pow[i - 1].wrapping_mul(HASH_P);
        i += 1;
    }
    pow
};

/// A word hash that takes eight bytes per step: the exact lookup runs for
/// every token, so it must be cheap.
pub(super) fn fast_hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let n = bytes.len();
    let mut h = n as u64;
    let mut rest = bytes;
    while rest.len() > 8 {
        let (head, tail) = rest.split_at(8);
        h = (h.rotate_left(5) ^ load_u64(head)).wrapping_mul(K);
        rest = tail;
    }
    (h.rotate_left(5) ^ load_tail(rest)).wrapping_mul(K)
}

/// Eight bytes as an integer.
fn load_u64(chunk: &[u8]) -> u64 {
    match <[u8; 8]>::try_from(chunk) {
        Ok(full) => u64::from_le_bytes(full),
        Err(_) => load_tail(chunk),
    }
}

/// Up to eight bytes as an integer, from overlapping loads in registers (a
/// variable-length copy into a stack buffer costs a memcpy call and a stall).
/// Distinct for distinct inputs of the same length; the length is hashed too.
pub(super) fn load_tail(b: &[u8]) -> u64 {
    let n = b.len();
    let u32_at = |i: usize| u64::from(u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]));
    match n {
        0 => 0,
        1..=3 => u64::from(b[0]) | (u64::from(b[n / 2]) << 8) | (u64::from(b[n - 1]) << 16),
        4..=7 => u32_at(0) | (u32_at(n - 4) << 32),
        _ => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
    }
}

/// Calls `f` with the hash of `bytes` minus each one of its bytes.
fn deletion_hashes(bytes: &[u8], mut f: impl FnMut(u64)) {
    let n = bytes.len();
    if n == 0 || n > FUZZY_MAX_LEN {
        return;
    }
    let pow = &POW;
    let mut suffix = [0u64; FUZZY_MAX_LEN + 1];
    for i in (0..n).rev() {
        suffix[i] = (u64::from(bytes[i]) + 1)
            .wrapping_mul(pow[n - 1 - i])
            .wrapping_add(suffix[i + 1]);
    }
    let mut prefix = 0u64;
    for k in 0..n {
        f(prefix
            .wrapping_mul(pow[n - 1 - k])
            .wrapping_add(suffix[k + 1]));
        prefix = prefix
            .wrapping_mul(HASH_P)
            .wrapping_add(u64::from(bytes[k]) + 1);
    }
}

/// A normalised token: its key (stem or digits) and its byte span in the text.
#[derive(Debug, Clone, Copy)]
pub struct Piece<'a> {
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset past the last character.
    pub end: usize,
    /// Stem, or decimal digits for numbers.
    pub key: &'a str,
    /// The other reading of an ambiguous nasal prefix ("mengambil": key
    /// "kambil", alternative "ambil"), or empty; see [`alternative_stem`].
    pub alternative: &'a str,
    /// Whether the token is a number (spoken or written).
    pub numeric: bool,
    /// Whether the number reads as an amount: said with a scale word
    /// ("seventy-five thousand", "dua belas juta") or written with digit
    /// groups or a currency prefix ("150,000", "Rp75.000").
    pub amount: bool,
    /// The vocabulary id, when a [`Resolver`] already knows it (the key is
    /// then empty: only numbers keep theirs).
    pub id: Option<u32>,
}

/// Reusable buffers for normalisation, so scoring allocates little per call.
#[derive(Debug, Default)]
pub struct Scratch {
    word: String,
    stem: String,
    alternative: String,
    number: String,
}

/// A written number that a following digit group may still extend.
#[derive(Debug, Clone, Copy)]
struct Written {
    start: usize,
    end: usize,
    value: u64,
    /// Digit groups were joined: the key is the value, not the digits as written.
    joined: bool,
    /// Where the digits as written are in the text (leading zeros matter
    /// for card numbers and PINs).
    digits: (usize, usize),
    amount: bool,
    /// Digit groups ("150,000") can only follow one to three leading digits.
    extendable: bool,
}

/// Splits `text` into normalised tokens, combining spoken numbers ("dua
/// puluh empat", "one hundred and fifty thousand") and written digit groups
/// ("150,000", "75.000") into one numeric token each.
pub fn normalize(text: &str, scratch: &mut Scratch, f: impl FnMut(Piece<'_>)) {
    normalize_with(text, scratch, None, f);
}

/// [`normalize`], with every word's vocabulary id given in its pieces: a
/// word the resolver has seen (most words of a call) skips the number,
/// contraction, stemming and lookup steps.
pub fn normalize_with(
    text: &str,
    scratch: &mut Scratch,
    mut resolver: Option<&mut Resolver<'_>>,
    mut f: impl FnMut(Piece<'_>),
) {
    let Scratch {
        word,
        stem: stem_buf,
        alternative: alternative_buf,
        number,
    } = scratch;
    let mut builder = NumberBuilder::default();
    let (mut num_start, mut num_end) = (0usize, 0usize);
    // "and" inside a spoken number, held until the next word shows whether
    // the number goes on.
    let mut held_and: Option<(usize, usize)> = None;
    let mut written: Option<Written> = None;
    for_each_word(text, word, |start, end, w| {
        // Only ordinary words are remembered: numbers, "and" and "di"
        // depend on their neighbours and always take the full path.
        if let Some(known) = resolver.as_deref().and_then(|r| r.known(w)) {
            flush(&mut builder, number, num_start, num_end, &mut f);
            emit_and(&mut held_and, &mut f);
            flush_written(&mut written, text, number, &mut f);
            known.emit(start, end, text, &mut f);
            return;
        }
        if let Some(n) = number_word(w) {
            let was_active = builder.active();
            if builder.push(n) {
                held_and = None;
                if !was_active {
                    flush_written(&mut written, text, number, &mut f);
                    num_start = start;
                }
                num_end = end;
                return;
            }
            flush(&mut builder, number, num_start, num_end, &mut f);
            emit_and(&mut held_and, &mut f);
            if builder.push(n) {
                flush_written(&mut written, text, number, &mut f);
                num_start = start;
                num_end = end;
                return;
            }
        }
        if w == "and" && builder.takes_and() && held_and.is_none() {
            held_and = Some((start, end));
            return;
        }
        flush(&mut builder, number, num_start, num_end, &mut f);
        emit_and(&mut held_and, &mut f);
        if let Some(digits) = numeric_word(w) {
            let gap = text
                .get(written.map_or(start, |p| p.end)..start)
                .unwrap_or("");
            match written.as_mut() {
                // "150,000" / "75.000": a three-digit group joined by one mark.
                Some(p) if p.extendable && digits.len() == 3 && (gap == "," || gap == ".") => {
                    p.value = p
                        .value
                        .saturating_mul(1000)
                        .saturating_add(parse_digits(digits));
                    p.end = end;
                    p.joined = true;
                    p.amount = true;
                }
                _ => {
                    flush_written(&mut written, text, number, &mut f);
                    written = Some(Written {
                        start,
                        end,
                        value: parse_digits(digits),
                        joined: false,
                        digits: (end - digits.len(), end),
                        amount: digits.len() < w.len(),
                        extendable: (1..=3).contains(&digits.len()),
                    });
                }
            }
            return;
        }
        flush_written(&mut written, text, number, &mut f);
        // ASR splits the passive prefix ("di tunggu" for "ditunggu"), so a
        // lone "di" is dropped on both sides, like the prefix itself.
        if w == "di" {
            return;
        }
        if let Some(resolver) = resolver.as_deref_mut() {
            let known = resolver.resolve(w, &mut *stem_buf, &mut *alternative_buf);
            known.emit(start, end, text, &mut f);
            return;
        }
        // "I'm" and "I am" must meet; the apostrophe is already gone here.
        let split = contraction(w).or_else(|| {
            apostrophe_contraction(w).filter(|_| has_apostrophe(text.get(start..end).unwrap_or("")))
        });
        if let Some((first, second)) = split {
            for key in [first, second] {
                f(Piece {
                    start,
                    end,
                    key,
                    alternative: "",
                    numeric: false,
                    amount: false,
                    id: None,
                });
            }
            return;
        }
        f(Piece {
            start,
            end,
            key: stem(w, &mut *stem_buf),
            alternative: alternative_stem(w, &mut *alternative_buf).unwrap_or(""),
            numeric: false,
            amount: false,
            id: None,
        });
    });
    flush(&mut builder, number, num_start, num_end, &mut f);
    emit_and(&mut held_and, &mut f);
    flush_written(&mut written, text, number, &mut f);
}

/// The digits of a written number: all digits, or digits after a currency
/// prefix ("rp75", "usd20").
fn numeric_word(w: &str) -> Option<&str> {
    // Most words start with neither a digit nor a currency prefix's letter.
    let first = *w.as_bytes().first()?;
    if !(first.is_ascii_digit() || matches!(first, b'r' | b'u' | b'i')) {
        return None;
    }
    let digits = ["rp", "usd", "idr"]
        .iter()
        .find_map(|p| w.strip_prefix(p))
        .filter(|rest| !rest.is_empty())
        .unwrap_or(w);
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// The value of a digit string, saturating (a phone number is no amount).
fn parse_digits(digits: &str) -> u64 {
    digits.bytes().fold(0u64, |v, b| {
        v.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    })
}

/// Emits a held "and" that turned out not to join a number.
fn emit_and(held: &mut Option<(usize, usize)>, f: &mut impl FnMut(Piece<'_>)) {
    if let Some((start, end)) = held.take() {
        f(Piece {
            start,
            end,
            key: "and",
            alternative: "",
            numeric: false,
            amount: false,
            id: None,
        });
    }
}

/// Emits a pending written number.
fn flush_written(
    written: &mut Option<Written>,
    text: &str,
    number: &mut String,
    f: &mut impl FnMut(Piece<'_>),
) {
    if let Some(p) = written.take() {
        number.clear();
        match text.get(p.digits.0..p.digits.1).filter(|_| !p.joined) {
            Some(digits) => number.push_str(digits),
            None => {
                let _ = write!(number, "{}", p.value);
            }
        }
        f(Piece {
            start: p.start,
            end: p.end,
            key: number,
            alternative: "",
            numeric: true,
            amount: p.amount,
            id: None,
        });
    }
}

/// English contractions that cannot be mistaken for another word once the
/// apostrophe is dropped ("its", "ill", "were" are left alone), as two
/// stemmed tokens.
pub(super) fn contraction(w: &str) -> Option<(&'static str, &'static str)> {
    Some(match w {
        "im" => ("i", "am"),
        "youre" => ("you", "are"),
        "theyre" => ("they", "are"),
        "ive" => ("i", "have"),
        "youve" => ("you", "have"),
        "weve" => ("we", "have"),
        "dont" => ("do", "not"),
        "doesnt" => ("does", "not"),
        "didnt" => ("did", "not"),
        "cant" => ("can", "not"),
        "cannot" => ("can", "not"),
        "wont" => ("will", "not"),
        "isnt" => ("is", "not"),
        "arent" => ("are", "not"),
        "wasnt" => ("was", "not"),
        "couldnt" => ("could", "not"),
        "shouldnt" => ("should", "not"),
        "wouldnt" => ("would", "not"),
        "thats" => ("that", "is"),
        "whats" => ("what", "is"),
        "youll" => ("you", "will"),
        "theyll" => ("they", "will"),
        _ => return None,
    })
}

/// Whether a word was written with an apostrophe (' or ’). A byte scan: a
/// `str::contains` per word set up a substring searcher for the non-ASCII one.
pub(super) fn has_apostrophe(surface: &str) -> bool {
    surface
        .as_bytes()
        .windows(3)
        .any(|w| w == "\u{2019}".as_bytes())
        || surface.as_bytes().contains(&b'\'')
}

/// Contractions that are other words without their apostrophe ("ill",
/// "well", "id"): split only when the apostrophe was written.
pub(super) fn apostrophe_contraction(w: &str) -> Option<(&'static str, &'static str)> {
    Some(match w {
        "ill" => ("i", "will"),
        "well" => ("we", "will"),
        "hell" => ("he", "will"),
        "shell" => ("she", "will"),
        "id" => ("i", "would"),
        "wed" => ("we", "would"),
        "its" => ("it", "is"),
        "hes" => ("he", "is"),
        "shes" => ("she", "is"),
        "theyd" => ("they", "would"),
        "youd" => ("you", "would"),
        _ => return None,
    })
}

/// Emits the number being built, if any, as one numeric piece.
fn flush(
    builder: &mut NumberBuilder,
    number: &mut String,
    start: usize,
    end: usize,
    f: &mut impl FnMut(Piece<'_>),
) {
    if builder.active() {
        number.clear();
        let _ = write!(number, "{}", builder.value());
        f(Piece {
            start,
            end,
            key: number,
            alternative: "",
            numeric: true,
            amount: builder.scaled(),
            id: None,
        });
        builder.reset();
    }
}

/// One phrase hit: which list, which segment, which tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hit {
    /// The phrase list (set) id.
    pub set: u32,
    /// Segment index.
    pub seg: u32,
    /// First token index (global, into the token arrays).
    pub start: u32,
    /// One past the last token index.
    pub end: u32,
}

/// Builds a matcher: intern phrases, then freeze.
#[derive(Debug, Default)]
pub struct MatcherBuilder {
    /// Every vocabulary key (a canonical word or a synonym) and its id.
    exact: FxHashMap<Box<str>, u32>,
    /// The canonical key of each id.
    words: Vec<Box<str>>,
    /// Keys that share another key's id (synonyms), in insertion order.
    aliases: Vec<(Box<str>, u32)>,
    /// Phrase tokens, set, and inserted words allowed inside.
    phrases: Vec<(Box<[u32]>, u32, u8)>,
    /// Sets whose single-word phrases may never be skipped inside a phrase.
    blocker_sets: Vec<u32>,
    /// Language tags of words (bit 0 English, bit 1 Indonesian).
    languages: FxHashMap<u32, u8>,
    /// Sets only ever read on the agent's segments.
    agent_only_sets: Vec<u32>,
    sets: u32,
    scratch: Scratch,
}

impl MatcherBuilder {
    /// Reserves a new, empty phrase set and returns its id.
    pub fn new_set(&mut self) -> u32 {
        self.sets += 1;
        self.sets - 1
    }

    /// The id of a key, interned when new.
    fn intern(&mut self, key: &str) -> u32 {
        if let Some(&id) = self.exact.get(key) {
            return id;
        }
        let id = u32::try_from(self.words.len()).unwrap_or(UNKNOWN);
        self.words.push(key.into());
        self.exact.insert(key.into(), id);
        id
    }

    /// Makes words match each other wherever they appear in a phrase list
    /// added after this call. Each word is normalised like any phrase; a
    /// word already given to another group keeps its first group.
    pub fn add_synonyms<S: AsRef<str>>(&mut self, group: &[S]) {
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut keys: Vec<Box<str>> = Vec::new();
        for word in group {
            let mut pieces = Vec::new();
            normalize(word.as_ref(), &mut scratch, |p| {
                pieces.push(Box::<str>::from(p.key))
            });
            // A word that normalises to several tokens ("can't") cannot alias one.
            if let [key] = pieces.as_slice() {
                keys.push(key.clone());
            }
        }
        self.scratch = scratch;
        let Some(first) = keys.first() else {
            return;
        };
        let id = keys
            .iter()
            .find_map(|k| self.exact.get(k).copied())
            .unwrap_or_else(|| {
                let first = first.clone();
                self.intern(&first)
            });
        for key in keys {
            if !self.exact.contains_key(&key) {
                self.exact.insert(key.clone(), id);
                self.aliases.push((key, id));
            }
        }
    }

    /// Tags words as function words of a language (bit 0 English, bit 1
    /// Indonesian), so that a segment's language can be read off its token
    /// ids without a phrase set.
    pub fn tag_language<S: AsRef<str>>(&mut self, words: &[S], bit: u8) {
        let mut scratch = std::mem::take(&mut self.scratch);
        for word in words {
            let mut keys = Vec::new();
            normalize(word.as_ref(), &mut scratch, |p| keys.push(p.key.to_owned()));
            if let [key] = keys.as_slice() {
                let id = self.intern(key);
                *self.languages.entry(id).or_insert(0) |= bit;
            }
        }
        self.scratch = scratch;
    }

    /// Marks a set as read on the agent's segments only: it is not matched
    /// on the customer's (the graded lexicons judge the agent).
    pub fn agent_only(&mut self, set: u32) {
        self.agent_only_sets.push(set);
    }

    /// Marks a set's single words (negators) as never skipped inside a phrase.
    pub fn block_gaps_on(&mut self, set: u32) {
        self.blocker_sets.push(set);
    }

    /// Adds a phrase to a set; returns false when it normalises to nothing.
    pub fn add(&mut self, set: u32, phrase: &str) -> bool {
        self.add_with_gap(set, phrase, 0)
    }

    /// Adds a phrase that still matches with up to `gap` words inserted
    /// inside it; returns false when it normalises to nothing.
    pub fn add_with_gap(&mut self, set: u32, phrase: &str, gap: u8) -> bool {
        let mut keys: Vec<String> = Vec::new();
        let mut scratch = std::mem::take(&mut self.scratch);
        // A phrase word keeps the rule's reading only: its other reading may
        // be a word of its own ("mengapa" is not meng- + "apa").
        normalize(phrase, &mut scratch, |p| keys.push(p.key.to_owned()));
        self.scratch = scratch;
        if keys.is_empty() {
            return false;
        }
        let ids: Vec<u32> = keys.iter().map(|k| self.intern(k)).collect();
        // A one-word phrase has nothing to insert words into.
        let gap = if ids.len() > 1 { gap } else { 0 };
        self.phrases.push((ids.into_boxed_slice(), set, gap));
        true
    }

    /// Freezes the vocabulary and builds the indexes.
    pub fn build(self) -> Matcher {
        // One-word phrases by their word; longer ones by their first two
        // words, longer phrases first so evidence quotes the fullest match.
        let mut singles_by_first: Vec<Vec<u32>> = vec![Vec::new(); self.words.len()];
        let mut by_pair: FxHashMap<u64, Vec<u32>> = FxHashMap::default();
        // Per first word: how many following tokens may hold a phrase's
        // second word (its phrases' largest gap + 1; 0: it starts none).
        let mut reach = vec![0u8; self.words.len()];
        let mut seconds = vec![0u64; self.words.len()];
        for (i, (tokens, _, gap)) in self.phrases.iter().enumerate() {
            let p = u32::try_from(i).unwrap_or(UNKNOWN);
            match tokens.as_ref() {
                [only] => singles_by_first[*only as usize].push(p),
                [first, second, ..] => {
                    by_pair
                        .entry(pair_key(*first, *second))
                        .or_default()
                        .push(p);
                    let slot = &mut reach[*first as usize];
                    *slot = (*slot).max(gap.saturating_add(1));
                    seconds[*first as usize] |= second_bit(*second);
                }
                [] => {}
            }
        }
        // A one-word phrase's hit needs only its set: per word, the sets of
        // its one-word phrases, those read on every speaker's segments
        // first, then the agent-only ones (each group in phrase order).
        let mut first_ranges = Vec::with_capacity(singles_by_first.len());
        let mut singles = Vec::new();
        let as_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        for list in singles_by_first {
            let start = as_u32(singles.len());
            let set_of = |p: &u32| self.phrases[*p as usize].1;
            let (agent_only, shared): (Vec<u32>, Vec<u32>) = list
                .iter()
                .map(set_of)
                .partition(|set| self.agent_only_sets.contains(set));
            singles.extend(shared);
            let shared_end = as_u32(singles.len());
            singles.extend(agent_only);
            first_ranges.push((start, shared_end, as_u32(singles.len())));
        }
        let mut phrase_tokens = Vec::new();
        let mut phrase_meta = Vec::with_capacity(self.phrases.len());
        for (tokens, set, gap) in &self.phrases {
            let start = u32::try_from(phrase_tokens.len()).unwrap_or(u32::MAX);
            phrase_tokens.extend_from_slice(tokens);
            let len = u32::try_from(tokens.len()).unwrap_or(u32::MAX);
            phrase_meta.push(PhraseMeta {
                start,
                len,
                set: *set,
                gap: *gap,
                agent_only: self.agent_only_sets.contains(set),
            });
        }
        // Per (first, second) word pair: its phrases, found by one probe.
        let mut pair_keys: Vec<(u64, Vec<u32>)> = by_pair.into_iter().collect();
        pair_keys.sort_unstable_by_key(|(k, _)| *k);
        let mut pair_list = Vec::new();
        let mut pair_index = Vec::with_capacity(pair_keys.len());
        for (key, mut list) in pair_keys {
            list.sort_by_key(|&p| (std::cmp::Reverse(self.phrases[p as usize].0.len()), p));
            let start = u32::try_from(pair_list.len()).unwrap_or(u32::MAX);
            pair_list.extend(list.into_iter().map(|phrase| PairPhrase {
                phrase,
                meta: phrase_meta[phrase as usize],
            }));
            let end = u32::try_from(pair_list.len()).unwrap_or(u32::MAX);
            pair_index.push(PairEntry { key, start, end });
        }
        let pairs = PairTable::new(&pair_index);
        let mut languages = vec![0u8; self.words.len()];
        for (&id, &bits) in &self.languages {
            languages[id as usize] = bits;
        }
        let mut blockers = vec![false; self.words.len()];
        for (tokens, set, _) in &self.phrases {
            if let [only] = tokens.as_ref()
                && self.blocker_sets.contains(set)
            {
                blockers[*only as usize] = true;
            }
        }
        let info: Vec<WordInfo> = (0..self.words.len())
            .map(|id| {
                let (singles_start, singles_shared_end, singles_end) = first_ranges[id];
                WordInfo {
                    singles_start,
                    singles_shared_end,
                    singles_end,
                    reach: reach[id],
                    languages: languages[id],
                    blocker: blockers[id],
                    seconds: seconds[id],
                }
            })
            .collect();
        // The vocabulary's keys: each id's canonical word, then the synonyms.
        let keys = self
            .words
            .iter()
            .enumerate()
            .map(|(id, w)| (w, u32::try_from(id).unwrap_or(UNKNOWN)))
            .chain(self.aliases.iter().map(|(w, id)| (w, *id)));
        let mut neighbors: FxHashMap<u64, Vec<u32>> = FxHashMap::default();
        let mut exact: FxHashMap<u64, u32> = FxHashMap::default();
        let mut arena = String::new();
        let mut spans = Vec::with_capacity(self.words.len() + self.aliases.len());
        let mut key_ids = Vec::with_capacity(self.words.len() + self.aliases.len());
        for (entry, (word, id)) in keys.enumerate() {
            let bytes = word.as_bytes();
            let entry = u32::try_from(entry).unwrap_or(UNKNOWN);
            let start = u32::try_from(arena.len()).unwrap_or(u32::MAX);
            arena.push_str(word);
            spans.push((start, u32::try_from(arena.len()).unwrap_or(u32::MAX)));
            key_ids.push(id);
            // Two words with one 64-bit hash would make the second unmatchable,
            // never mismatched: lookups verify the bytes.
            exact.entry(fast_hash(bytes)).or_insert(entry);
            if bytes.len() < FUZZY_MIN_LEN - 1 || bytes.iter().all(u8::is_ascii_digit) {
                continue;
            }
            let mut add = |h: u64| {
                let slot = neighbors.entry(h).or_default();
                if !slot.contains(&entry) {
                    slot.push(entry);
                }
            };
            add(poly(bytes));
            deletion_hashes(bytes, add);
        }
        // Most long transcript words are in no phrase: a Bloom filter turns
        // their deletion probes into one L1-resident bit test each.
        let mut bloom = vec![0u64; BLOOM_BITS / 64];
        let exact = IdTable::new(exact);
        for &h in neighbors.keys() {
            let bit = bloom_bit(h);
            bloom[bit / 64] |= 1 << (bit % 64);
        }
        static SERIALS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Matcher {
            serial: SERIALS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            bloom,
            exact,
            arena,
            spans,
            key_ids,
            neighbors,
            info,
            singles,
            pairs,
            pair_list,
            phrase_tokens,
            sets: self.sets,
        }
    }
}

/// Where a phrase's tokens are, its set, and the words it lets in.
#[derive(Debug, Clone, Copy)]
struct PhraseMeta {
    start: u32,
    len: u32,
    set: u32,
    gap: u8,
    agent_only: bool,
}

/// The frozen matcher.
#[derive(Debug)]
pub struct Matcher {
    /// Tells matchers apart, so that a word memo never serves another's ids.
    serial: u64,
    bloom: Vec<u64>,
    /// Key hash → key entry.
    exact: IdTable,
    arena: String,
    /// Byte span of each key entry in `arena`.
    spans: Vec<(u32, u32)>,
    /// The vocabulary id of each key entry (synonyms share one).
    key_ids: Vec<u32>,
    neighbors: FxHashMap<u64, Vec<u32>>,
    /// Per word id, everything matching reads of it, side by side: one
    /// cache line per token instead of one per table.
    info: Vec<WordInfo>,
    /// The sets of one-word phrases, grouped by word.
    singles: Vec<u32>,
    /// (first, second) word pair key → its range of phrases: one probe
    /// per candidate second word (a binary search among a first word's
    /// pairs was a fifth of the matching time).
    pairs: PairTable,
    /// The phrases of each pair, with what matching reads of them inline
    /// (looked up by phrase, they cost a cache miss each).
    pair_list: Vec<PairPhrase>,
    phrase_tokens: Vec<u32>,
    sets: u32,
}

/// A (first, second) word pair: its key, verified on lookup, and its range
/// of phrases in `pair_list`.
#[derive(Debug, Clone, Copy)]
struct PairEntry {
    key: u64,
    start: u32,
    end: u32,
}

/// A phrase of a word pair.
#[derive(Debug, Clone, Copy)]
struct PairPhrase {
    phrase: u32,
    meta: PhraseMeta,
}

/// What the matcher knows of one vocabulary word.
#[derive(Debug, Clone, Copy)]
struct WordInfo {
    /// Its range of one-word phrases' sets in `singles`, the agent-only
    /// ones from `singles_shared_end`.
    singles_start: u32,
    singles_shared_end: u32,
    singles_end: u32,
    /// 0 when no longer phrase starts with it, else how many following
    /// tokens may hold such a phrase's second word.
    reach: u8,
    /// Language tag bits (bit 0 English, bit 1 Indonesian).
    languages: u8,
    /// A negator: never skipped inside a gapped phrase.
    blocker: bool,
    /// The [`second_bit`]s of the second words of the phrases it starts: a
    /// token whose bit is not here starts no pair with it, so most
    /// candidates are ruled out without probing the pair index.
    seconds: u64,
}

/// One of 64 bits standing for a word as a phrase's second word.
fn second_bit(id: u32) -> u64 {
    1u64 << (u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58)
}

impl Matcher {
    /// Number of vocabulary keys (words and synonyms).
    pub fn vocabulary_len(&self) -> usize {
        self.key_ids.len()
    }

    /// This matcher's serial number, unique in the process.
    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// Number of phrase sets.
    pub fn set_count(&self) -> usize {
        self.sets as usize
    }

    /// The vocabulary id of a normalised token, tolerating small edits on long words.
    pub fn lookup(&self, key: &str, numeric: bool) -> u32 {
        let k = key.as_bytes();
        if let Some(entry) = self.exact.get(fast_hash(k), |e| same(self.key(e), k)) {
            return self.key_ids[entry as usize];
        }
        if numeric || k.len() < FUZZY_MIN_LEN {
            return UNKNOWN;
        }
        self.fuzzy(k)
    }

    /// The vocabulary id of a piece: its key, else its prefix's other
    /// reading, else the key with small edits.
    pub fn lookup_piece(&self, piece: &Piece<'_>) -> u32 {
        if !piece.alternative.is_empty() {
            let k = piece.key.as_bytes();
            if self
                .exact
                .get(fast_hash(k), |e| same(self.key(e), k))
                .is_none()
            {
                let alternative = piece.alternative.as_bytes();
                if let Some(entry) = self
                    .exact
                    .get(fast_hash(alternative), |e| same(self.key(e), alternative))
                {
                    return self.key_ids[entry as usize];
                }
            }
        }
        self.lookup(piece.key, piece.numeric)
    }

    /// The bytes of a vocabulary key entry.
    fn key(&self, entry: u32) -> &[u8] {
        let (start, end) = self.spans[entry as usize];
        &self.arena.as_bytes()[start as usize..end as usize]
    }

    /// The closest vocabulary word within the allowed edits, or `UNKNOWN`.
    fn fuzzy(&self, k: &[u8]) -> u32 {
        let allowed = if k.len() >= FUZZY_TWO_MIN_LEN { 2 } else { 1 };
        let mut best: Option<(usize, u32)> = None;
        let mut consider = |h: u64| {
            let bit = bloom_bit(h);
            if self.bloom[bit / 64] & (1 << (bit % 64)) == 0 {
                return;
            }
            let Some(entries) = self.neighbors.get(&h) else {
                return;
            };
            for &entry in entries {
                let key = self.key(entry);
                let d = bounded_distance(k, key, allowed);
                let id = self.key_ids[entry as usize];
                if let Some(d) = d
                    && plausible_slip(k, key, d)
                    && best.is_none_or(|(bd, bid)| (d, id) < (bd, bid))
                {
                    best = Some((d, id));
                }
            }
        };
        consider(poly(k));
        deletion_hashes(k, &mut consider);
        best.map_or(UNKNOWN, |(_, id)| id)
    }

    /// Whether a token id is a negator (never skipped inside a phrase).
    pub fn is_blocker(&self, id: u32) -> bool {
        self.info.get(id as usize).is_some_and(|w| w.blocker)
    }

    /// Whether a token may be skipped inside a gapped phrase.
    fn skippable(&self, id: u32) -> bool {
        id == UNKNOWN || !self.info.get(id as usize).is_some_and(|w| w.blocker)
    }

    /// Where the rest of a phrase ends, matched from `ids[pos]` with up to
    /// `budget` inserted tokens (none a blocker), earliest match.
    fn match_rest(
        &self,
        rest: &[u32],
        ids: &[u32],
        mut pos: usize,
        mut budget: u8,
    ) -> Option<usize> {
        for &want in rest {
            loop {
                let &got = ids.get(pos)?;
                pos += 1;
                if got == want {
                    break;
                }
                if budget == 0 || !self.skippable(got) {
                    return None;
                }
                budget -= 1;
            }
        }
        Some(pos)
    }

    /// Finds every phrase occurrence in the token ids of one segment.
    ///
    /// A phrase is found from its first word: one-word phrases at once,
    /// longer ones through the (first, second word) index, the second word
    /// looked for in the next `gap + 1` tokens, so the work per token does
    /// not grow with the number of phrases that start with its word.
    ///
    /// Returns how many of the tokens are English and Indonesian function
    /// words (their language tags), read on the same pass.
    pub fn find(
        &self,
        seg: u32,
        ids: &[u32],
        offset: u32,
        customer: bool,
        hits: &mut Vec<Hit>,
    ) -> (u16, u16) {
        let (mut english, mut indonesian) = (0u16, 0u16);
        // The phrases found from the current token: a few at most, kept
        // inline so that a segment allocates nothing.
        let mut found: smallvec::SmallVec<[u32; 8]> = smallvec::SmallVec::new();
        for (i, &id) in ids.iter().enumerate() {
            if id == UNKNOWN {
                continue;
            }
            let at = offset + u32::try_from(i).unwrap_or(0);
            let word = self.info[id as usize];
            english = english.saturating_add(u16::from(word.languages & 1));
            indonesian = indonesian.saturating_add(u16::from(word.languages >> 1 & 1));
            let singles_end = if customer {
                word.singles_shared_end
            } else {
                word.singles_end
            };
            for &set in &self.singles[word.singles_start as usize..singles_end as usize] {
                hits.push(Hit {
                    set,
                    seg,
                    start: at,
                    end: at + 1,
                });
            }
            let reach = usize::from(word.reach);
            if reach == 0 {
                continue;
            }
            found.clear();
            for k in 1..=reach {
                let Some(&second) = ids.get(i + k) else {
                    break;
                };
                let pair = (second != UNKNOWN && word.seconds & second_bit(second) != 0)
                    .then(|| self.pairs.get(pair_key(id, second)))
                    .flatten();
                if let Some(PairEntry {
                    start: lo, end: hi, ..
                }) = pair
                {
                    for &PairPhrase { phrase: p, meta } in &self.pair_list[lo as usize..hi as usize]
                    {
                        let skipped = u8::try_from(k - 1).unwrap_or(u8::MAX);
                        if skipped > meta.gap || (customer && meta.agent_only) || found.contains(&p)
                        {
                            continue;
                        }
                        let start = meta.start as usize;
                        let rest = &self.phrase_tokens[start + 2..start + meta.len as usize];
                        if let Some(end) = self.match_rest(rest, ids, i + k + 1, meta.gap - skipped)
                        {
                            found.push(p);
                            hits.push(Hit {
                                set: meta.set,
                                seg,
                                start: at,
                                end: offset + u32::try_from(end).unwrap_or(0),
                            });
                        }
                    }
                }
                // A negator is never skipped to reach a phrase's second word.
                if !self.skippable(second) {
                    break;
                }
            }
        }
        (english, indonesian)
    }
}

/// (first, second) word pairs and their phrase ranges, open addressing, at
/// most half full: a probe reads the key and the range from one entry (an
/// id table that pointed into a separate entry list cost a second
/// dependent load, and both missed the L1 cache on most probes).
#[derive(Debug)]
struct PairTable {
    /// Empty slots have `start == end` (a pair has at least one phrase).
    slots: Vec<PairEntry>,
    shift: u32,
}

impl PairTable {
    fn new(entries: &[PairEntry]) -> Self {
        let size = (entries.len().max(1) * 2).next_power_of_two();
        let empty = PairEntry {
            key: 0,
            start: 0,
            end: 0,
        };
        let mut slots = vec![empty; size];
        let shift = 64 - size.trailing_zeros();
        let mask = size - 1;
        // Entries come sorted by key, so builds are reproducible.
        for entry in entries.iter().filter(|e| e.end > e.start) {
            let mut i = IdTable::slot(entry.key, shift);
            while slots[i].end > slots[i].start {
                i = (i + 1) & mask;
            }
            slots[i] = *entry;
        }
        PairTable { slots, shift }
    }

    /// The entry of a pair key, if some phrase starts with the pair.
    fn get(&self, key: u64) -> Option<PairEntry> {
        let mask = self.slots.len() - 1;
        let mut i = IdTable::slot(key, self.shift);
        loop {
            let entry = self.slots[i];
            if entry.end == entry.start {
                return None;
            }
            if entry.key == key {
                return Some(entry);
            }
            i = (i + 1) & mask;
        }
    }
}

/// The index key of a phrase's first two words.
fn pair_key(first: u32, second: u32) -> u64 {
    (u64::from(first) << 32) | u64::from(second)
}

/// Byte equality without a call into memcmp (words are short).
pub(super) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Whether a transcript stem `word`, at edit distance `distance` (1 or 2)
/// from the vocabulary stem `key`, looks like a slip of that word rather
/// than another word. Indonesian and English are dense with real words
/// one letter apart ("banjir" "anjir", "barang" "bayang", "tempat" "tepat",
/// "trying" "crying"), so an edit alone is not enough:
/// - a letter doubled or undoubled is a slip at any length ("tolongg",
///   "profesional");
/// - so is an ending the stemmer left, one vowel, "s" or "n" (two from ten
///   letters) after a shared stem of six letters ("receiv" "receive",
///   "lambatn" "lambat"; not "tangga" "tanggal");
/// - from nine letters, a dropped, added or swapped letter that keeps the
///   first two ("undrestand"); from ten, a replaced one; from twelve, two
///   such slips.
fn plausible_slip(word: &[u8], key: &[u8], distance: usize) -> bool {
    let (short, long) = if word.len() <= key.len() {
        (word, key)
    } else {
        (key, word)
    };
    let shared = short.iter().zip(long).take_while(|(a, b)| a == b).count();
    if long.len() == short.len() + 1 && long[shared + 1..] == short[shared..] {
        let extra = long[shared];
        let doubled =
            (shared > 0 && long[shared - 1] == extra) || long.get(shared + 1) == Some(&extra);
        if doubled {
            return true;
        }
    }
    let ending = if long.len() >= FUZZY_SUBSTITUTION_MIN_LEN {
        2
    } else {
        1
    };
    if shared == short.len()
        && shared >= FUZZY_MIN_LEN
        && long.len() - short.len() <= ending
        && long[shared..].iter().all(|b| b"aeiouysn".contains(b))
    {
        return true;
    }
    if word.len() < FUZZY_SLIP_MIN_LEN || word.get(..2) != key.get(..2) {
        return false;
    }
    if distance >= 2 {
        return word.len() >= FUZZY_TWO_MIN_LEN;
    }
    // One edit between equal lengths is a replaced letter or two swapped ones.
    if word.len() != key.len() || shared == word.len() {
        return true;
    }
    let swapped = shared + 1 < word.len()
        && word[shared] == key[shared + 1]
        && word[shared + 1] == key[shared]
        && word[shared + 2..] == key[shared + 2..];
    swapped || word.len() >= FUZZY_SUBSTITUTION_MIN_LEN
}

/// Optimal-string-alignment distance, or `None` when above `max`.
fn bounded_distance(a: &[u8], b: &[u8], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max || b.len() > FUZZY_MAX_LEN + 2 {
        return None;
    }
    let n = b.len();
    // Rows on the stack: this runs for every fuzzy candidate.
    let mut prev2 = [0usize; FUZZY_MAX_LEN + 3];
    let mut prev = [0usize; FUZZY_MAX_LEN + 3];
    for (j, slot) in prev.iter_mut().enumerate().take(n + 1) {
        *slot = j;
    }
    let mut cur = [0usize; FUZZY_MAX_LEN + 3];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=n {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    let d = prev[n];
    (d <= max).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pair_table_finds_every_pair_and_nothing_else() {
        // Keys that share a slot when hashed into a small table still each
        // find their own entry; a key in no phrase finds none.
        let entries: Vec<PairEntry> = (0..300u32)
            .map(|i| PairEntry {
                key: pair_key(i % 7, i),
                start: i * 2,
                end: i * 2 + 1 + i % 3,
            })
            .collect();
        let table = PairTable::new(&entries);
        assert!(table.slots.len() >= 2 * entries.len());
        for entry in &entries {
            let found = table.get(entry.key).expect("a stored pair");
            assert_eq!(
                (found.key, found.start, found.end),
                (entry.key, entry.start, entry.end)
            );
        }
        for i in 0..300u32 {
            assert!(table.get(pair_key(i % 7 + 7, i)).is_none());
        }
        assert!(PairTable::new(&[]).get(pair_key(0, 0)).is_none());
    }

    fn tokens(m: &Matcher, text: &str) -> Vec<u32> {
        let mut scratch = Scratch::default();
        let mut out = Vec::new();
        normalize(text, &mut scratch, |p| {
            out.push(m.lookup_piece(&p));
        });
        out
    }

    fn matches(phrase: &str, text: &str) -> bool {
        let mut b = MatcherBuilder::default();
        let set = b.new_set();
        assert!(b.add(set, phrase));
        let m = b.build();
        let ids = tokens(&m, text);
        let mut hits = Vec::new();
        m.find(0, &ids, 0, false, &mut hits);
        !hits.is_empty()
    }

    #[test]
    fn a_nasal_prefix_is_read_both_ways() {
        // The rule's reading restores a consonant ("kambil", "pohon",
        // "tila"); the other keeps the root's vowel or nasal.
        for (phrase, text) in [
            ("mohon maaf", "memohon maaf"),
            ("minta maaf", "meminta maaf"),
            ("saya ambil", "saya mengambil"),
            ("dinilai", "kami menilai"),
            // The rule's own reading still holds.
            ("kirim paket", "mengirim paket"),
            ("pakai kartu", "memakai kartu"),
        ] {
            assert!(matches(phrase, text), "{phrase:?} should match {text:?}");
        }
        assert!(!matches("mohon maaf", "pohon maaf"));
        // A word that merely starts like a prefix keeps its own meaning.
        let mut b = MatcherBuilder::default();
        let set = b.new_set();
        assert!(b.add(set, "apa"));
        assert!(b.add(set, "mengapa"));
        let m = b.build();
        assert_ne!(tokens(&m, "apa"), tokens(&m, "mengapa"));
        assert!(!matches("saya ambil", "saya kambing"));
    }

    #[test]
    fn a_first_word_that_starts_many_phrases_finds_each_and_nothing_else() {
        // 100 second words fill the first word's 64 filter bits: the filter
        // must never drop a pair, and a full filter must still ask the index.
        let seconds: Vec<String> = (0..100).map(|i| format!("word{i}x")).collect();
        let mut b = MatcherBuilder::default();
        let set = b.new_set();
        for second in &seconds {
            assert!(b.add(set, &format!("mohon {second}")));
        }
        let m = b.build();
        for second in &seconds {
            let ids = tokens(&m, &format!("baik mohon {second} ya"));
            let mut hits = Vec::new();
            m.find(0, &ids, 0, false, &mut hits);
            assert_eq!(hits.len(), 1, "mohon {second}");
            assert_eq!((hits[0].start, hits[0].end), (1, 3));
        }
        let ids = tokens(&m, "mohon ditunggu word7y");
        let mut hits = Vec::new();
        m.find(0, &ids, 0, false, &mut hits);
        assert!(hits.is_empty());
    }

    #[test]
    fn case_punctuation_and_affixes_do_not_matter() {
        assert!(matches(
            "mohon ditunggu",
            "Baik, MOHON menunggu sebentar ya."
        ));
        assert!(matches(
            "saya mengerti kekecewaan",
            "Saya mengerti kekecewaannya, Pak"
        ));
        assert!(matches("thank you for calling", "Thank you, for calling!"));
        assert!(!matches("thank you for calling", "thank you for waiting"));
    }

    #[test]
    fn split_prefixes_and_contractions_meet() {
        assert!(matches("mohon ditunggu", "mohon di tunggu sebentar"));
        assert!(matches(
            "3 digit di belakang kartu",
            "tiga digit dibelakang kartu"
        ));
        assert!(matches("i am sorry", "I'm sorry to hear that"));
        assert!(matches("i'm sorry", "I am so... I am sorry"));
        assert!(matches("do not share", "Please don't share it"));
        assert!(!matches("i am sorry", "I'm not sorry"));
        assert!(matches("i will call you", "I'll call you"));
        assert!(matches("we will call you", "We\u{2019}ll call you"));
        assert!(!matches("i will", "I feel ill"));
    }

    #[test]
    fn numbers_spoken_or_written_meet() {
        assert!(matches("within 24 hours", "within twenty four hours"));
        assert!(matches("dalam dua puluh empat jam", "dalam 24 jam"));
        assert!(matches("100 persen pasti", "seratus persen pasti"));
    }

    fn numbers_in(text: &str) -> Vec<(String, bool)> {
        let mut scratch = Scratch::default();
        let mut out = Vec::new();
        normalize(text, &mut scratch, |p| {
            if p.numeric {
                out.push((p.key.to_owned(), p.amount));
            }
        });
        out
    }

    #[test]
    fn amounts_spoken_or_written_are_one_number() {
        let amount = |v: &str| (v.to_owned(), true);
        assert_eq!(
            numbers_in("one hundred and fifty thousand rupiah"),
            [amount("150000")]
        );
        assert_eq!(
            numbers_in("dua belas juta lima ratus ribu"),
            [amount("12500000")]
        );
        assert_eq!(numbers_in("charged 150,000 today"), [amount("150000")]);
        assert_eq!(numbers_in("Rp75.000 saja"), [amount("75000")]);
        assert_eq!(
            numbers_in("card 4532 0151"),
            [("4532".to_owned(), false), ("0151".to_owned(), false)]
        );
        // "and" that joins no number is a word again.
        assert!(matches("one hundred and then", "100 and then"));
    }

    #[test]
    fn long_words_tolerate_one_asr_slip() {
        assert!(matches("keterlambatan", "ada keterlambatn pengiriman"));
        assert!(matches("understand", "I undrestand"));
        assert!(!matches("saya", "kaya"), "short words match exactly");
    }

    fn matches_with(build: impl FnOnce(&mut MatcherBuilder, u32), text: &str) -> bool {
        let mut b = MatcherBuilder::default();
        let set = b.new_set();
        build(&mut b, set);
        let m = b.build();
        let ids = tokens(&m, text);
        let mut hits = Vec::new();
        m.find(0, &ids, 0, false, &mut hits);
        hits.iter().any(|h| h.set == set)
    }

    #[test]
    fn inserted_words_match_within_the_gap_but_never_a_negator() {
        let gapped = |gap: u8, text: &str| {
            matches_with(
                |b, set| {
                    let negators = b.new_set();
                    for w in ["not", "tidak", "bukan"] {
                        b.add(negators, w);
                    }
                    b.block_gaps_on(negators);
                    b.add_with_gap(set, "bukan urusan saya", gap);
                    b.add_with_gap(set, "i will call you back", gap);
                },
                text,
            )
        };
        assert!(gapped(1, "Itu bukan urusan bagian saya, Pak."));
        assert!(!gapped(0, "Itu bukan urusan bagian saya, Pak."));
        assert!(gapped(2, "I will definitely call you right back"));
        assert!(!gapped(1, "I will definitely call you right back"));
        assert!(!gapped(3, "I will not call you back"));
    }

    #[test]
    fn synonyms_match_each_other() {
        let with_synonyms = |text: &str| {
            matches_with(
                |b, set| {
                    b.add_synonyms(&["menelepon", "menghubungi", "telepon"]);
                    b.add_synonyms(&["call", "ring", "phone"]);
                    b.add(set, "saya akan menghubungi");
                    b.add(set, "call you back");
                },
                text,
            )
        };
        assert!(with_synonyms("saya akan menelepon Bapak besok"));
        assert!(with_synonyms("Saya akan telepon balik"));
        assert!(with_synonyms("I'll ring you back tomorrow"));
        assert!(with_synonyms("let me phone you back"));
        assert!(!with_synonyms("saya akan mengirim email"));
    }

    #[test]
    fn deletion_hashes_equal_hashes_of_deletions() {
        let word = b"keterlambatan";
        let mut hashes = Vec::new();
        deletion_hashes(word, |h| hashes.push(h));
        for (k, h) in hashes.iter().enumerate() {
            let mut del = word.to_vec();
            del.remove(k);
            assert_eq!(*h, poly(&del));
        }
    }

    #[test]
    fn a_slip_must_look_like_a_slip_not_another_word() {
        // Doubled letters and leftover endings, at any length from six.
        for (word, key) in [
            ("anjirr", "anjir"),
            ("toolong", "tolong"),
            ("profesional", "professional"),
            ("receiv", "receive"),
            ("lambatn", "lambat"),
            ("undrestand", "understand"),
        ] {
            let d = bounded_distance(word.as_bytes(), key.as_bytes(), 1);
            assert!(
                d.is_some_and(|d| plausible_slip(word.as_bytes(), key.as_bytes(), d)),
                "{word} should match {key}"
            );
        }
        // Real words one edit from a listed word.
        for (word, key) in [
            ("banjir", "anjir"),
            ("barang", "bayang"),
            ("tempat", "tepat"),
            ("trying", "crying"),
            ("tangga", "tanggal"),
            ("contract", "contact"),
            ("semarang", "sekarang"),
            ("disagree", "agree"),
        ] {
            let d = bounded_distance(word.as_bytes(), key.as_bytes(), 2);
            assert!(
                !d.is_some_and(|d| plausible_slip(word.as_bytes(), key.as_bytes(), d)),
                "{word} must not match {key}"
            );
        }
    }

    #[test]
    fn fuzzy_lookup_keeps_real_words_apart() {
        let mut b = MatcherBuilder::default();
        let set = b.new_set();
        for phrase in ["anjir", "tolong", "keterlambatan"] {
            b.add(set, phrase);
        }
        let m = b.build();
        let id = |w: &str| m.lookup(w, false);
        assert_eq!(
            id("banjir"),
            UNKNOWN,
            "banjir (flood) is not the insult anjir"
        );
        assert_eq!(id("anjirr"), id("anjir"));
        assert_eq!(id("tolongg"), id("tolong"));
        assert_ne!(id("anjir"), UNKNOWN);
    }

    #[test]
    fn distance_is_bounded() {
        assert_eq!(bounded_distance(b"abcdef", b"abcdef", 1), Some(0));
        assert_eq!(bounded_distance(b"abcdef", b"abcdxf", 1), Some(1));
        assert_eq!(bounded_distance(b"abcdef", b"abdcef", 1), Some(1));
        assert_eq!(bounded_distance(b"abcdef", b"axcdxf", 1), None);
    }
}

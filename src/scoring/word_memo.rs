//! What each ordinary word of a transcript normalises to, remembered: the
//! vocabulary ids of its stem (or of its contraction's two halves).
//!
//! Words repeat: about two thirds of a call's tokens are words said earlier
//! in it, and a worker scoring call after call meets the same few thousand
//! words again and again (tokenizers keep a word cache for the same reason).
//! A remembered word skips the number, contraction, stemming and fuzzy
//! lookup steps and costs one hash probe. The memo is per thread, tied to
//! one matcher (its ids mean nothing to another) and bounded.

use std::cell::RefCell;

use super::matcher::{
    Matcher, Piece, apostrophe_contraction, contraction, has_apostrophe, load_tail,
};
use super::text::{alternative_stem, number_word, stem};

/// Words remembered per thread before the memo starts again (a few MB).
const MAX_WORDS: usize = 1 << 16;

/// What an ordinary word normalises to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// One token: the id of its stem.
    Word(u32),
    /// A contraction that is two tokens however it was written ("dont").
    Split(u32, u32),
    /// A word that is a contraction only when written with an apostrophe
    /// ("ill" / "I'll"): the id of the whole word and of the two halves.
    Apostrophe { whole: u32, split: (u32, u32) },
}

impl Known {
    /// Emits the word's pieces, spanning `start..end` of `text`.
    pub(super) fn emit(self, start: usize, end: usize, text: &str, f: &mut impl FnMut(Piece<'_>)) {
        let piece = |id: u32| Piece {
            start,
            end,
            key: "",
            alternative: "",
            numeric: false,
            amount: false,
            id: Some(id),
        };
        match self {
            Known::Word(id) => f(piece(id)),
            Known::Apostrophe { split, .. }
                if has_apostrophe(text.get(start..end).unwrap_or("")) =>
            {
                f(piece(split.0));
                f(piece(split.1));
            }
            Known::Apostrophe { whole, .. } => f(piece(whole)),
            Known::Split(first, second) => {
                f(piece(first));
                f(piece(second));
            }
        }
    }
}

/// Remembered words of one matcher.
#[derive(Debug, Default)]
pub struct WordMemo {
    /// The serial of the matcher the ids belong to.
    matcher: Option<u64>,
    words: WordTable,
}

/// Longest word remembered, in bytes: its bytes are kept in the slot.
/// Longer words (rare) always take the full path.
const MAX_WORD: usize = 16;

/// One slot of the table: a remembered word's bytes, packed, and what it
/// normalises to. A probe reads one slot and compares two integers, with no
/// second lookup into an arena of words. Slots are 32 bytes, aligned, so a
/// probe touches one cache line (a 40-byte slot straddled two every other
/// time, and the probe's load was most of the memo's time).
#[derive(Debug, Clone, Copy)]
#[repr(C, align(32))]
struct Slot {
    /// The word's bytes as two integers ([`pack`]).
    key: [u64; 2],
    /// What the word normalises to: its [`Known`] variant's ids.
    ids: [u32; 3],
    /// The word's length in bytes; 0 marks an empty slot.
    len: u8,
    /// Which [`Known`] variant `ids` hold.
    variant: u8,
}

const EMPTY: Slot = Slot {
    key: [0, 0],
    ids: [0; 3],
    len: 0,
    variant: 0,
};

impl Known {
    /// The variant tag and ids of a slot.
    fn encode(self) -> (u8, [u32; 3]) {
        match self {
            Known::Word(id) => (0, [id, 0, 0]),
            Known::Split(first, second) => (1, [first, second, 0]),
            Known::Apostrophe { whole, split } => (2, [whole, split.0, split.1]),
        }
    }

    /// The inverse of [`Known::encode`].
    fn decode(variant: u8, ids: [u32; 3]) -> Known {
        match variant {
            0 => Known::Word(ids[0]),
            1 => Known::Split(ids[0], ids[1]),
            _ => Known::Apostrophe {
                whole: ids[0],
                split: (ids[1], ids[2]),
            },
        }
    }
}

/// A word of 1 to 16 bytes as two integers: distinct for distinct words of
/// the same length (the length is compared too). Loads overlap instead of
/// copying into a padded buffer.
fn pack(word: &[u8]) -> [u64; 2] {
    let n = word.len();
    if n <= 8 {
        return [load_tail(word), 0];
    }
    let u64_at = |i: usize| load_tail(&word[i..i + 8]);
    [u64_at(0), u64_at(n - 8)]
}

/// An open-addressing table from word to [`Known`], at most half full.
/// A general hash map spent a third of the memo's time hashing and in
/// `memcmp` calls for words of a few bytes; a table of fingerprints that
/// pointed into an arena of words cost three dependent memory reads per
/// probe.
#[derive(Debug, Default)]
struct WordTable {
    slots: Vec<Slot>,
    count: usize,
}

impl WordTable {
    /// Slots of a new table.
    const INITIAL: usize = 1024;

    fn index(&self, key: [u64; 2], len: usize) -> usize {
        let shift = 64 - self.slots.len().trailing_zeros();
        let h = (key[0] ^ key[1].rotate_left(29) ^ len as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (h >> shift) as usize
    }

    fn get(&self, word: &[u8]) -> Option<Known> {
        let len = word.len();
        if self.slots.is_empty() || len == 0 || len > MAX_WORD {
            return None;
        }
        let key = pack(word);
        let mask = self.slots.len() - 1;
        let mut i = self.index(key, len);
        loop {
            let slot = &self.slots[i];
            if slot.len == 0 {
                return None;
            }
            if usize::from(slot.len) == len && slot.key == key {
                return Some(Known::decode(slot.variant, slot.ids));
            }
            i = (i + 1) & mask;
        }
    }

    fn insert(&mut self, word: &[u8], known: Known) {
        let len = word.len();
        if len == 0 || len > MAX_WORD {
            return;
        }
        if (self.count + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let (variant, ids) = known.encode();
        let slot = Slot {
            key: pack(word),
            ids,
            len: u8::try_from(len).unwrap_or(u8::MAX),
            variant,
        };
        if self.place(slot) {
            self.count += 1;
        }
    }

    /// Puts a slot in its place; false when the word was there already.
    fn place(&mut self, slot: Slot) -> bool {
        let mask = self.slots.len() - 1;
        let mut i = self.index(slot.key, usize::from(slot.len));
        loop {
            let here = &mut self.slots[i];
            if here.len == 0 {
                *here = slot;
                return true;
            }
            if here.len == slot.len && here.key == slot.key {
                here.ids = slot.ids;
                here.variant = slot.variant;
                return false;
            }
            i = (i + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(Self::INITIAL);
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; size]);
        for slot in old.into_iter().filter(|s| s.len != 0) {
            self.place(slot);
        }
    }

    fn len(&self) -> usize {
        self.count
    }

    fn clear(&mut self) {
        self.slots.clear();
        self.count = 0;
    }
}

thread_local! {
    static MEMO: RefCell<WordMemo> = RefCell::new(WordMemo::default());
}

impl WordMemo {
    /// This thread's memo, emptied first when it served another matcher or
    /// grew past its bound. Hand it back with [`WordMemo::put_back`].
    pub fn take_for(matcher: &Matcher) -> WordMemo {
        let mut memo = MEMO.with_borrow_mut(std::mem::take);
        if memo.matcher != Some(matcher.serial()) || memo.words.len() > MAX_WORDS {
            memo.words.clear();
            memo.matcher = Some(matcher.serial());
        }
        memo
    }

    /// Returns the memo to this thread for the next call.
    pub fn put_back(self) {
        MEMO.with_borrow_mut(|slot| *slot = self);
    }

    /// Forgets this thread's remembered words (the cold-start benchmark).
    pub fn forget() {
        MEMO.with_borrow_mut(|memo| memo.words.clear());
    }

    /// How many words are remembered.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether no word is remembered.
    pub fn is_empty(&self) -> bool {
        self.words.len() == 0
    }
}

/// Looks words up in a matcher's vocabulary, remembering what it found.
#[derive(Debug)]
pub struct Resolver<'m> {
    matcher: &'m Matcher,
    memo: &'m mut WordMemo,
}

impl<'m> Resolver<'m> {
    /// A resolver over `matcher`; `memo` must come from
    /// [`WordMemo::take_for`] with the same matcher.
    pub fn new(matcher: &'m Matcher, memo: &'m mut WordMemo) -> Self {
        debug_assert_eq!(memo.matcher, Some(matcher.serial()));
        Self { matcher, memo }
    }

    /// A remembered ordinary word (lower case, apostrophes dropped).
    pub(super) fn known(&self, word: &str) -> Option<Known> {
        self.memo.words.get(word.as_bytes())
    }

    /// Normalises an ordinary word (not a number, "and" or "di") the way
    /// `normalize` does, and remembers the result.
    pub(super) fn resolve(
        &mut self,
        word: &str,
        stem_buf: &mut String,
        alternative_buf: &mut String,
    ) -> Known {
        let id = |key: &str| self.matcher.lookup(key, false);
        let known = match contraction(word) {
            Some((first, second)) => Known::Split(id(first), id(second)),
            None => {
                let whole = self.matcher.lookup_piece(&Piece {
                    start: 0,
                    end: word.len(),
                    key: stem(word, stem_buf),
                    alternative: alternative_stem(word, alternative_buf).unwrap_or(""),
                    numeric: false,
                    amount: false,
                    id: None,
                });
                match apostrophe_contraction(word) {
                    Some((first, second)) => Known::Apostrophe {
                        whole,
                        split: (id(first), id(second)),
                    },
                    None => Known::Word(whole),
                }
            }
        };
        // "and" joins spoken numbers, and number words build them: both
        // depend on their neighbours, so they are resolved but not remembered.
        if word != "and" && number_word(word).is_none() {
            self.memo.words.insert(word.as_bytes(), known);
        }
        known
    }
}

#[cfg(test)]
mod tests {
    use super::super::matcher::{MatcherBuilder, Scratch, normalize, normalize_with};
    use super::*;

    /// The pieces of `text` with and without the memo: (ids, numbers).
    fn pieces(m: &Matcher, memo: &mut WordMemo, text: &str) -> (Vec<u32>, Vec<String>) {
        let mut scratch = Scratch::default();
        let mut resolver = Resolver::new(m, memo);
        let (mut ids, mut numbers) = (Vec::new(), Vec::new());
        normalize_with(text, &mut scratch, Some(&mut resolver), |p| {
            ids.push(p.id.unwrap_or_else(|| m.lookup_piece(&p)));
            if p.numeric {
                numbers.push(p.key.to_owned());
            }
        });
        let mut plain = Vec::new();
        normalize(text, &mut scratch, |p| plain.push(m.lookup_piece(&p)));
        assert_eq!(ids, plain, "{text}");
        (ids, numbers)
    }

    #[test]
    fn remembered_words_normalise_as_the_full_path_does() {
        let mut b = MatcherBuilder::default();
        let set = b.new_set();
        for phrase in ["i will call you", "mohon ditunggu", "do not worry", "ill"] {
            assert!(b.add(set, phrase));
        }
        let m = b.build();
        let mut memo = WordMemo::take_for(&m);
        let texts = [
            "Tea and cake, I'll call you. Don't worry, Mohon DITUNGGU.",
            "I'll call you, don't worry; ill and tired. Mohon ditunggu ya.",
        ];
        for text in texts {
            pieces(&m, &mut memo, text);
        }
        assert!(memo.len() >= 8, "{} words remembered", memo.len());
        // "and" was met outside a number first: it must still join one.
        let (_, numbers) = pieces(&m, &mut memo, "one hundred and fifty thousand and tea");
        assert_eq!(numbers, ["150000"]);
        let (_, numbers) = pieces(&m, &mut memo, "seratus ribu dan dua puluh");
        assert_eq!(numbers, ["100000", "20"]);
    }

    #[test]
    fn words_of_every_length_are_told_apart() {
        let mut table = WordTable::default();
        let word = "abcdefghijklmnopqrst";
        for n in 1..=word.len() {
            let id = u32::try_from(n).expect("small");
            table.insert(&word.as_bytes()[..n], Known::Word(id));
            // One byte changed at each end: another word of the same length.
            let mut other = word.as_bytes()[..n].to_vec();
            other[n - 1] = b'z';
            table.insert(&other, Known::Word(id + 100));
        }
        for n in 1..=word.len() {
            let id = u32::try_from(n).expect("small");
            let expected = (n <= MAX_WORD).then_some(Known::Word(id));
            assert_eq!(table.get(&word.as_bytes()[..n]), expected, "length {n}");
            let mut other = word.as_bytes()[..n].to_vec();
            other[0] = b'z';
            if n > 1 {
                assert_eq!(table.get(&other), None, "length {n}");
            }
        }
        // Inserted again: still one entry per word.
        let before = table.len();
        table.insert(b"abc", Known::Word(3));
        assert_eq!(table.len(), before);
        assert!(table.slots.len() >= 2 * table.len());
    }

    #[test]
    fn every_kind_of_word_comes_back_as_stored() {
        assert_eq!(std::mem::size_of::<Slot>(), 32);
        let mut table = WordTable::default();
        let words: [(&[u8], Known); 3] = [
            (b"tunggu", Known::Word(7)),
            (b"dont", Known::Split(3, u32::MAX)),
            (
                b"ill",
                Known::Apostrophe {
                    whole: 9,
                    split: (4, 5),
                },
            ),
        ];
        for (word, known) in words {
            table.insert(word, known);
        }
        for (word, known) in words {
            assert_eq!(table.get(word), Some(known));
        }
    }

    #[test]
    fn a_memo_serves_one_matcher() {
        let build = |phrase: &str| {
            let mut b = MatcherBuilder::default();
            let set = b.new_set();
            assert!(b.add(set, phrase));
            b.build()
        };
        let (first, second) = (build("thank you"), build("you thank"));
        let mut memo = WordMemo::take_for(&first);
        pieces(&first, &mut memo, "thank you");
        assert_eq!(memo.len(), 2);
        memo.put_back();
        let memo = WordMemo::take_for(&second);
        assert!(memo.is_empty(), "another matcher's ids were kept");
        memo.put_back();
    }
}

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
    Matcher, Piece, apostrophe_contraction, contraction, fast_hash, has_apostrophe, same,
};
use super::text::{number_word, stem};

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

/// One remembered word: where its bytes are in the arena, and what it
/// normalises to.
#[derive(Debug, Clone, Copy)]
struct Entry {
    start: u32,
    len: u32,
    known: Known,
}

/// Marks an empty slot.
const EMPTY: u64 = u64::MAX;

/// An open-addressing table from word to [`Known`], at most half full. A
/// slot is 8 bytes (the word's 32-bit fingerprint and its entry's index), so
/// a call's few hundred distinct words probe a few kilobytes; the words'
/// bytes lie side by side in one arena. A general hash map spent a third of
/// the memo's time hashing and in `memcmp` calls for words of a few bytes.
#[derive(Debug, Default)]
struct WordTable {
    slots: Vec<u64>,
    entries: Vec<Entry>,
    arena: Vec<u8>,
}

impl WordTable {
    /// Slots of a new table.
    const INITIAL: usize = 1024;

    fn index(&self, hash: u64) -> usize {
        let shift = 64 - self.slots.len().trailing_zeros();
        (hash.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize
    }

    fn get(&self, word: &[u8]) -> Option<Known> {
        if self.slots.is_empty() {
            return None;
        }
        let hash = fast_hash(word);
        let fingerprint = hash >> 32;
        let mask = self.slots.len() - 1;
        let mut i = self.index(hash);
        loop {
            let slot = self.slots[i];
            if slot == EMPTY {
                return None;
            }
            if slot >> 32 == fingerprint {
                let entry = self.entries[(slot & 0xFFFF_FFFF) as usize];
                let stored = &self.arena[entry.start as usize..(entry.start + entry.len) as usize];
                if same(stored, word) {
                    return Some(entry.known);
                }
            }
            i = (i + 1) & mask;
        }
    }

    fn insert(&mut self, word: &[u8], known: Known) {
        if (self.entries.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let (Ok(start), Ok(len), Ok(index)) = (
            u32::try_from(self.arena.len()),
            u32::try_from(word.len()),
            u32::try_from(self.entries.len()),
        ) else {
            return;
        };
        self.arena.extend_from_slice(word);
        self.entries.push(Entry { start, len, known });
        self.place(fast_hash(word), index);
    }

    fn place(&mut self, hash: u64, index: u32) {
        let mask = self.slots.len() - 1;
        let mut i = self.index(hash);
        while self.slots[i] != EMPTY {
            i = (i + 1) & mask;
        }
        self.slots[i] = (hash >> 32) << 32 | u64::from(index);
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(Self::INITIAL);
        self.slots = vec![EMPTY; size];
        for index in 0..self.entries.len() {
            let entry = self.entries[index];
            let word = &self.arena[entry.start as usize..(entry.start + entry.len) as usize];
            let hash = fast_hash(word);
            self.place(hash, u32::try_from(index).unwrap_or(u32::MAX));
        }
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn clear(&mut self) {
        self.slots.clear();
        self.entries.clear();
        self.arena.clear();
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
    pub(super) fn resolve(&mut self, word: &str, stem_buf: &mut String) -> Known {
        let id = |key: &str| self.matcher.lookup(key, false);
        let known = match contraction(word) {
            Some((first, second)) => Known::Split(id(first), id(second)),
            None => {
                let whole = id(stem(word, stem_buf));
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
            ids.push(p.id.unwrap_or_else(|| m.lookup(p.key, p.numeric)));
            if p.numeric {
                numbers.push(p.key.to_owned());
            }
        });
        let mut plain = Vec::new();
        normalize(text, &mut scratch, |p| {
            plain.push(m.lookup(p.key, p.numeric))
        });
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

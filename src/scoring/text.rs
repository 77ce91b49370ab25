//! Word-level text normalisation shared by phrase lists and transcripts:
//! lower-casing, spoken numbers, and a light Indonesian/English stemmer, so
//! that "Mohon ditunggu", "mohon menunggunya" and "MOHON TUNGGU" meet.

/// An ASCII byte that is no part of a word.
const SEPARATOR: u8 = 0;
/// A lower-case ASCII letter or a digit.
const LOWER: u8 = 1;
/// An upper-case ASCII letter.
const UPPER: u8 = 2;
/// `'`, which may join two halves of a word.
const APOSTROPHE: u8 = 3;
/// A byte of a non-ASCII character.
const NON_ASCII: u8 = 4;

/// The class of every byte value.
const BYTE_CLASS: [u8; 256] = {
    let mut table = [SEPARATOR; 256];
    let mut b = 0usize;
    while b < 256 {
        let byte = b as u8;
        table[b] = if byte >= 0x80 {
            NON_ASCII
        } else if byte.is_ascii_uppercase() {
            UPPER
        } else if byte.is_ascii_alphanumeric() {
            LOWER
        } else if byte == b'\'' {
            APOSTROPHE
        } else {
            SEPARATOR
        };
        b += 1;
    }
    table
};

/// Calls `f(start, end, lowercased_word)` for each word of `text`.
///
/// A word is a run of letters and digits; apostrophes inside a word are
/// dropped ("i'm" → "im") because ASR output spells them inconsistently.
pub fn for_each_word(text: &str, buf: &mut String, mut f: impl FnMut(usize, usize, &str)) {
    let bytes = text.as_bytes();
    let mut start: Option<usize> = None;
    let mut end = 0;
    let mut i = 0;
    buf.clear();
    while i < bytes.len() {
        let b = bytes[i];
        // The common cases, one table load per byte: a separator between
        // words is skipped; a run of ASCII letters and digits that ends at
        // an ASCII separator (not an apostrophe, which may continue it) is
        // handed over from the text itself, copied only when it has
        // capitals to fold.
        if start.is_none() {
            match BYTE_CLASS[usize::from(b)] {
                SEPARATOR | APOSTROPHE => {
                    i += 1;
                    continue;
                }
                LOWER | UPPER => {
                    let mut run = i;
                    let mut capitals = false;
                    while let Some(&c) = bytes.get(run) {
                        let class = BYTE_CLASS[usize::from(c)];
                        if class != LOWER && class != UPPER {
                            break;
                        }
                        capitals |= class == UPPER;
                        run += 1;
                    }
                    let ends_clean = bytes
                        .get(run)
                        .is_none_or(|&c| BYTE_CLASS[usize::from(c)] == SEPARATOR);
                    if ends_clean {
                        let word = &text[i..run];
                        if capitals {
                            buf.clear();
                            buf.push_str(word);
                            buf.make_ascii_lowercase();
                            f(i, run, buf);
                        } else {
                            f(i, run, word);
                        }
                        i = run;
                        continue;
                    }
                }
                _ => {}
            }
        }
        // ASCII is the common case; decode a char only when needed.
        let (c, len) = if b.is_ascii() {
            (char::from(b), 1)
        } else {
            match text[i..].chars().next() {
                Some(c) => (c, c.len_utf8()),
                None => break,
            }
        };
        if b.is_ascii_alphanumeric() {
            if start.is_none() {
                start = Some(i);
                buf.clear();
            }
            buf.push(char::from(b.to_ascii_lowercase()));
            end = i + 1;
            i += 1;
            continue;
        } else if c.is_alphanumeric() {
            if start.is_none() {
                start = Some(i);
                buf.clear();
            }
            buf.extend(c.to_lowercase());
            end = i + len;
        } else if (c == '\'' || c == '\u{2019}')
            && start.is_some()
            && text[i + len..]
                .chars()
                .next()
                .is_some_and(char::is_alphanumeric)
        {
            // Inside a word: skip the apostrophe, keep the word going.
        } else if let Some(s) = start.take() {
            f(s, end, buf);
        }
        i += len;
    }
    if let Some(s) = start {
        f(s, end, buf);
    }
}

/// What a number word contributes to a spoken number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberWord {
    /// 0-9.
    Unit(u64),
    /// 10-19 said as one word ("twelve", "sebelas", "sepuluh").
    Teen(u64),
    /// 20, 30 … 90 said as one word ("twenty").
    Tens(u64),
    /// Indonesian "puluh": multiplies the unit before it by ten.
    Puluh,
    /// Indonesian "belas": adds ten to the unit before it.
    Belas,
    /// "hundred" / "ratus": multiplies the unit before it by a hundred.
    Hundred,
    /// "seratus": one hundred.
    OneHundred,
    /// "thousand" / "ribu": multiplies what came before by a thousand.
    Thousand,
    /// "million" / "juta": multiplies what came before by a million.
    Million,
    /// "billion" / "miliar": multiplies what came before by a billion.
    Billion,
    /// "seribu": one thousand.
    OneThousand,
    /// "sejuta": one million.
    OneMillion,
}

/// Classifies a lower-cased word as a number word, English or Indonesian.
pub fn number_word(word: &str) -> Option<NumberWord> {
    // Number words are 2 to 9 bytes of ASCII letters; most words are ruled out here.
    let b = word.as_bytes();
    if !(2..=9).contains(&b.len()) || !b[0].is_ascii_lowercase() {
        return None;
    }
    // (length, first letter, last letter) rules out nearly every other word
    // ("saya" is not "satu", "the" is not "ten") before the real lookup.
    let (first, last) = (b[0], b[b.len() - 1]);
    if !last.is_ascii_lowercase() {
        return None;
    }
    let shape = shape_index(b.len(), first, last);
    if NUMBER_SHAPES[shape / 64] & (1 << (shape % 64)) == 0 {
        return None;
    }
    let key = pack(word);
    NUMBER_WORDS
        .binary_search_by_key(&key, |(k, _)| *k)
        .ok()
        .map(|i| NUMBER_WORDS[i].1)
}

/// A word of up to 16 bytes as one integer, so lookups compare integers.
fn pack(word: &str) -> u128 {
    // Built in registers; a copy into a stack buffer would call memcpy.
    word.as_bytes()
        .iter()
        .take(16)
        .enumerate()
        .fold(0u128, |acc, (i, &b)| {
            acc | (u128::from(b) << (8 * (15 - i)))
        })
}

/// Bit index of a word shape: length 2-9, first and last letter a-z.
const fn shape_index(len: usize, first: u8, last: u8) -> usize {
    (len - 2) * 676 + (first - b'a') as usize * 26 + (last - b'a') as usize
}

/// Bitmap of the shapes of number words, built at compile time.
const NUMBER_SHAPES: [u64; 85] = {
    let mut bits = [0u64; 85];
    let mut i = 0;
    while i < NUMBER_WORD_LIST.len() {
        let b = NUMBER_WORD_LIST[i].as_bytes();
        let shape = shape_index(b.len(), b[0], b[b.len() - 1]);
        bits[shape / 64] |= 1 << (shape % 64);
        i += 1;
    }
    bits
};

/// Number words, packed and sorted, built once.
static NUMBER_WORDS: std::sync::LazyLock<Vec<(u128, NumberWord)>> =
    std::sync::LazyLock::new(|| {
        let mut v: Vec<(u128, NumberWord)> = NUMBER_WORD_LIST
            .iter()
            .filter_map(|w| number_word_slow(w).map(|n| (pack(w), n)))
            .collect();
        v.sort_unstable_by_key(|(k, _)| *k);
        v
    });

const NUMBER_WORD_LIST: [&str; 55] = [
    "zero",
    "nol",
    "kosong",
    "one",
    "satu",
    "two",
    "dua",
    "three",
    "tiga",
    "four",
    "empat",
    "five",
    "lima",
    "six",
    "enam",
    "seven",
    "tujuh",
    "eight",
    "delapan",
    "nine",
    "sembilan",
    "ten",
    "sepuluh",
    "eleven",
    "sebelas",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "seventy",
    "eighty",
    "ninety",
    "puluh",
    "belas",
    "hundred",
    "ratus",
    "seratus",
    "thousand",
    "ribu",
    "seribu",
    "million",
    "juta",
    "sejuta",
    "billion",
    "miliar",
    "milyar",
];

fn number_word_slow(word: &str) -> Option<NumberWord> {
    use NumberWord::*;
    Some(match word {
        "zero" | "nol" | "kosong" => Unit(0),
        "one" | "satu" => Unit(1),
        "two" | "dua" => Unit(2),
        "three" | "tiga" => Unit(3),
        "four" | "empat" => Unit(4),
        "five" | "lima" => Unit(5),
        "six" | "enam" => Unit(6),
        "seven" | "tujuh" => Unit(7),
        "eight" | "delapan" => Unit(8),
        "nine" | "sembilan" => Unit(9),
        "ten" | "sepuluh" => Teen(10),
        "eleven" | "sebelas" => Teen(11),
        "twelve" => Teen(12),
        "thirteen" => Teen(13),
        "fourteen" => Teen(14),
        "fifteen" => Teen(15),
        "sixteen" => Teen(16),
        "seventeen" => Teen(17),
        "eighteen" => Teen(18),
        "nineteen" => Teen(19),
        "twenty" => Tens(20),
        "thirty" => Tens(30),
        "forty" => Tens(40),
        "fifty" => Tens(50),
        "sixty" => Tens(60),
        "seventy" => Tens(70),
        "eighty" => Tens(80),
        "ninety" => Tens(90),
        "puluh" => Puluh,
        "belas" => Belas,
        "hundred" | "ratus" => Hundred,
        "seratus" => OneHundred,
        "thousand" | "ribu" => Thousand,
        "seribu" => OneThousand,
        "million" | "juta" => Million,
        "sejuta" => OneMillion,
        "billion" | "miliar" | "milyar" => Billion,
        _ => return None,
    })
}

/// Builds one number from consecutive number words ("dua puluh empat" → 24,
/// "twenty four" → 24); a word that cannot extend the number ends it, so
/// digit-by-digit readings ("four five three") stay separate digits.
#[derive(Debug, Default, Clone, Copy)]
pub struct NumberBuilder {
    total: u64,
    group: u64,
    last_unit: Option<u64>,
    open_units: bool,
    open_tens: bool,
    active: bool,
    /// The last scale applied (1000, a million, a billion); a later scale
    /// must be smaller ("eight million two hundred thousand").
    scale: u64,
    /// Whether a scale word was used: the number is an amount, not a code.
    scaled: bool,
}

impl NumberBuilder {
    /// Whether a number is being built.
    pub fn active(&self) -> bool {
        self.active
    }

    /// The value so far.
    pub fn value(&self) -> u64 {
        self.total.saturating_add(self.group)
    }

    /// Whether a scale word ("thousand", "juta") was said: an amount.
    pub fn scaled(&self) -> bool {
        self.scaled
    }

    /// Whether "and" may continue the number ("one hundred and fifty").
    pub fn takes_and(&self) -> bool {
        self.active
            && self.open_tens
            && self.group.is_multiple_of(100)
            && (self.group > 0 || self.total > 0)
    }

    /// Tries to extend the number; `false` means the word starts a new number
    /// or is not a continuation (the caller flushes and retries).
    pub fn push(&mut self, word: NumberWord) -> bool {
        use NumberWord::*;
        if !self.active {
            return self.start(word);
        }
        match word {
            Unit(u) if self.open_units => {
                self.group += u;
                self.last_unit = Some(u);
                self.open_units = false;
                self.open_tens = false;
                true
            }
            Teen(t) if self.open_tens => {
                self.group += t;
                self.last_unit = None;
                self.open_units = false;
                self.open_tens = false;
                true
            }
            Tens(t) if self.open_tens => {
                self.group += t;
                self.last_unit = None;
                self.open_units = true;
                self.open_tens = false;
                true
            }
            Puluh => match self.last_unit.take() {
                Some(u) => {
                    self.group = self.group - u + u * 10;
                    self.open_units = true;
                    self.open_tens = false;
                    true
                }
                None => false,
            },
            Belas => match self.last_unit.take() {
                Some(_) => {
                    self.group += 10;
                    self.open_units = false;
                    self.open_tens = false;
                    true
                }
                None => false,
            },
            Hundred => match self.last_unit.take() {
                Some(u) => {
                    self.group = self.group - u + u * 100;
                    self.open_units = true;
                    self.open_tens = true;
                    true
                }
                None => false,
            },
            Thousand | Million | Billion => {
                let scale = match word {
                    Thousand => 1_000,
                    Million => 1_000_000,
                    _ => 1_000_000_000,
                };
                let before = if self.scale == 0 {
                    u64::MAX
                } else {
                    self.scale
                };
                if self.group == 0 || scale >= before {
                    return false;
                }
                self.total = self.total.saturating_add(self.group.saturating_mul(scale));
                self.group = 0;
                self.scale = scale;
                self.scaled = true;
                self.last_unit = None;
                self.open_units = true;
                self.open_tens = true;
                true
            }
            _ => false,
        }
    }

    fn start(&mut self, word: NumberWord) -> bool {
        use NumberWord::*;
        *self = NumberBuilder {
            active: true,
            ..NumberBuilder::default()
        };
        match word {
            Unit(u) => {
                self.group = u;
                self.last_unit = Some(u);
            }
            Teen(t) => self.group = t,
            Tens(t) => {
                self.group = t;
                self.open_units = true;
            }
            OneHundred => {
                self.group = 100;
                self.open_units = true;
                self.open_tens = true;
            }
            OneThousand => {
                self.total = 1000;
                self.scale = 1000;
                self.scaled = true;
                self.open_units = true;
                self.open_tens = true;
            }
            OneMillion => {
                self.total = 1_000_000;
                self.scale = 1_000_000;
                self.scaled = true;
                self.open_units = true;
                self.open_tens = true;
            }
            Puluh | Belas | Hundred | Thousand | Million | Billion => {
                self.active = false;
                return false;
            }
        }
        true
    }

    /// Ends the number.
    pub fn reset(&mut self) {
        *self = NumberBuilder::default();
    }
}

/// Indonesian clitics, cut before any suffix.
pub const CLITICS: [&str; 6] = ["nya", "lah", "kah", "pun", "ku", "mu"];
const SUFFIXES: [&str; 8] = ["kan", "ing", "an", "ed", "es", "ly", "i", "s"];

/// Length of the first ending in `endings` that `w` has, keeping at least four letters.
fn strip_len(w: &str, endings: &[&str]) -> Option<usize> {
    let b = w.as_bytes();
    let last = *b.last()?;
    endings
        .iter()
        .filter(|e| e.as_bytes().last() == Some(&last))
        .find(|e| b.len() >= e.len() + 4 && b.ends_with(e.as_bytes()))
        .map(|e| e.len())
}

fn is_vowel(b: u8) -> bool {
    matches!(b, b'a' | b'e' | b'i' | b'o' | b'u')
}

/// The stem of a lower-cased word: a slice of `word` when only affixes are
/// cut (the usual case, no copy), or `out` when a letter had to be restored.
///
/// Not a linguistic stemmer: a cheap, deterministic reduction applied to both
/// the rubric's phrases and the transcript, so that inflected forms of one
/// word usually meet. It strips clitics (-nya, -lah, …), suffixes (-kan, -an,
/// -i, -ing, -ed, -s) and prefixes (di-, ke-, ter-, ber-, meN-, peN-, with the
/// nasal assimilation of meN-/peN- undone), never below four letters.
pub fn stem<'a>(word: &'a str, out: &'a mut String) -> &'a str {
    let parts = stem_parts(word);
    match parts.restored {
        Some(c) => {
            out.clear();
            out.push(c);
            out.push_str(parts.core);
            out
        }
        None => parts.core,
    }
}

/// The other reading of a nasal prefix before a vowel, which rules alone
/// cannot settle: "mengirim" is kirim but "mengambil" is ambil, "memakai"
/// pakai but "memohon" mohon, "menulis" tulis but "menikah" nikah. [`stem`]
/// gives the first reading; this writes the second into `out` and returns
/// it, or returns `None` for a word without such a prefix. The matcher
/// tries it when the first reading is no word of the rubric.
pub fn alternative_stem<'a>(word: &str, out: &'a mut String) -> Option<&'a str> {
    let parts = stem_parts(word);
    let letter = match parts.restored? {
        'k' => None,
        'p' => Some('m'),
        't' => Some('n'),
        _ => return None,
    };
    out.clear();
    out.extend(letter);
    out.push_str(parts.core);
    Some(out)
}

/// A word with its affixes cut: what is left, and the letter that a nasal
/// prefix had absorbed, to be put back in front.
struct StemParts<'a> {
    core: &'a str,
    restored: Option<char>,
}

fn stem_parts(word: &str) -> StemParts<'_> {
    let bytes = word.as_bytes();
    if bytes.len() < 5 || !bytes.iter().all(u8::is_ascii_lowercase) {
        return StemParts {
            core: word,
            restored: None,
        };
    }
    let mut w = word;
    for _ in 0..2 {
        match strip_len(w, &CLITICS) {
            Some(n) => w = &w[..w.len() - n],
            None => break,
        }
    }
    for _ in 0..2 {
        match strip_len(w, &SUFFIXES) {
            Some(n) => w = &w[..w.len() - n],
            None => break,
        }
    }
    let mut restore: Option<char> = None;
    // Every prefix starts with one of these letters: skip the rest quickly.
    let prefixable = matches!(w.as_bytes()[0], b'm' | b'p' | b'b' | b't' | b'd' | b'k');
    for _ in 0..usize::from(prefixable) * 2 {
        let b = w.as_bytes();
        let next = |n: usize| b.get(n).copied().unwrap_or(b'-');
        let (cut, add) = if (w.starts_with("meny") || w.starts_with("peny")) && is_vowel(next(4)) {
            (4, Some('s'))
        } else if (w.starts_with("meng") || w.starts_with("peng")) && is_vowel(next(4)) {
            (4, Some('k'))
        } else if (w.starts_with("meng") || w.starts_with("peng")) && matches!(next(4), b'g' | b'h')
        {
            (4, None)
        } else if (w.starts_with("mem") || w.starts_with("pem")) && is_vowel(next(3)) {
            (3, Some('p'))
        } else if (w.starts_with("mem") || w.starts_with("pem")) && matches!(next(3), b'b' | b'f') {
            (3, None)
        } else if (w.starts_with("men") || w.starts_with("pen")) && is_vowel(next(3)) {
            (3, Some('t'))
        } else if (w.starts_with("men") || w.starts_with("pen"))
            && matches!(next(3), b'd' | b'c' | b'j' | b'z')
        {
            (3, None)
        } else if (w.starts_with("me") || w.starts_with("pe"))
            && matches!(next(2), b'l' | b'r' | b'm' | b'n' | b'w' | b'y')
        {
            (2, None)
        } else if w.starts_with("ber") || w.starts_with("ter") {
            (3, None)
        } else if w.starts_with("di") || w.starts_with("ke") {
            (2, None)
        } else {
            break;
        };
        let remaining = w.len() - cut + usize::from(add.is_some());
        if remaining < 4 {
            break;
        }
        w = &w[cut..];
        if let Some(c) = add {
            restore = Some(c);
            break;
        }
    }
    StemParts {
        core: w,
        restored: restore,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stem(w: &str) -> String {
        let mut out = String::new();
        super::stem(w, &mut out).to_owned()
    }

    fn words(text: &str) -> Vec<String> {
        let mut buf = String::new();
        let mut out = Vec::new();
        for_each_word(text, &mut buf, |_, _, w| out.push(w.to_owned()));
        out
    }

    #[test]
    fn words_are_lowercased_and_split_on_punctuation() {
        assert_eq!(words("Halo, I'm BUDI-san!"), ["halo", "im", "budi", "san"]);
        assert_eq!(words("Ça va?"), ["ça", "va"]);
        assert_eq!(words("don't"), ["dont"]);
        assert_eq!(words("Don’t stop"), ["dont", "stop"]);
        assert_eq!(words("rina's' x"), ["rinas", "x"]);
        assert_eq!(words("kafé24 abc"), ["kafé24", "abc"]);
        assert_eq!(words("ABC"), ["abc"]);
        assert_eq!(words(" a1 "), ["a1"]);
        assert_eq!(words("'quoted'"), ["quoted"]);
    }

    #[test]
    fn a_nasal_prefix_before_a_vowel_has_a_second_reading() {
        let alternative = |w: &str| {
            let mut out = String::new();
            super::alternative_stem(w, &mut out).map(str::to_owned)
        };
        assert_eq!(stem("mengambil"), "kambil");
        assert_eq!(alternative("mengambil").as_deref(), Some("ambil"));
        assert_eq!(alternative("memohon").as_deref(), Some("mohon"));
        assert_eq!(alternative("menilai").as_deref(), Some("nila"));
        // No second reading without such a prefix, or where the rule is sure.
        assert_eq!(alternative("ambil"), None);
        assert_eq!(alternative("membantu"), None);
        assert_eq!(alternative("menyampaikan"), None);
    }

    #[test]
    fn indonesian_inflections_meet() {
        assert_eq!(stem("menunggu"), stem("tunggu"));
        assert_eq!(stem("ditunggu"), stem("tunggu"));
        assert_eq!(stem("menunggunya"), stem("tunggu"));
        assert_eq!(stem("kekecewaan"), stem("kecewa"));
        assert_eq!(stem("kekecewaannya"), stem("kecewa"));
        assert_eq!(stem("menyampaikan"), stem("sampaikan"));
        assert_eq!(stem("sampaikan"), stem("sampai"));
        assert_eq!(stem("keterlambatan"), stem("terlambat"));
        assert_eq!(stem("memahami"), stem("paham"));
        assert_eq!(stem("menghubungi"), stem("hubungi"));
        assert_eq!(stem("pastikanlah"), stem("pastikan"));
        assert_ne!(stem("makan"), stem("minum"));
    }

    #[test]
    fn english_inflections_meet() {
        assert_eq!(stem("calling"), stem("call"));
        assert_eq!(stem("delayed"), stem("delay"));
        assert_eq!(stem("thanks"), stem("thank"));
        assert_eq!(stem("frustrating"), stem("frustrated"));
    }

    fn numbers(text: &str) -> Vec<u64> {
        let mut out = Vec::new();
        let mut b = NumberBuilder::default();
        for w in text.split(' ') {
            let n = number_word(w).expect("number word");
            if !b.push(n) {
                if b.active() {
                    out.push(b.value());
                }
                b.reset();
                assert!(b.push(n), "{w} starts a number");
            }
        }
        out.push(b.value());
        out
    }

    #[test]
    fn every_number_word_is_known() {
        assert_eq!(NUMBER_WORDS.len(), NUMBER_WORD_LIST.len());
        assert_eq!(number_word("seribu"), Some(NumberWord::OneThousand));
        assert_eq!(number_word("satuan"), None);
    }

    #[test]
    fn spoken_numbers_combine() {
        assert_eq!(numbers("twenty four"), [24]);
        assert_eq!(numbers("dua puluh empat"), [24]);
        assert_eq!(numbers("dua belas"), [12]);
        assert_eq!(numbers("seratus dua puluh"), [120]);
        assert_eq!(numbers("tiga ratus lima"), [305]);
        assert_eq!(numbers("two thousand twenty six"), [2026]);
        assert_eq!(numbers("four five three two"), [4, 5, 3, 2]);
        assert_eq!(numbers("empat lima tiga dua"), [4, 5, 3, 2]);
        assert_eq!(numbers("forty five thirty two"), [45, 32]);
        assert_eq!(numbers("eight million two hundred thousand"), [8_200_000]);
        assert_eq!(numbers("dua belas juta lima ratus ribu"), [12_500_000]);
        assert_eq!(numbers("seventy five thousand"), [75_000]);
        assert_eq!(numbers("sejuta dua ratus ribu"), [1_200_000]);
    }
}

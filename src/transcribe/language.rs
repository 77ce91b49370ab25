//! Spoken language per window, restricted to the languages callscore serves
//! (English and Indonesian), so a call that switches language is transcribed
//! in the language spoken rather than the one its first window was in.
//!
//! Whisper's own detection (`language = "auto"`) runs the encoder a second
//! time and may answer Malay or Javanese for Indonesian speech. Instead, each
//! window is decoded first and its language read afterwards from the same
//! encoder output: one decoder step on the start-of-transcript token gives
//! the language tokens' logits (what whisper.cpp's detection reads), and
//! only the English and Indonesian ones are compared. A sure reading of the
//! other language decodes the window again in it; an unsure one decodes it
//! in both and keeps, turn by turn, the text with more of its own language's
//! function words (docs/transcription-languages.md).

use whisper_rs::{WhisperContext, WhisperState};

use super::pack::Window;
use crate::audio::SAMPLE_RATE;
use crate::transcript::Segment;

/// How sure the reading must be to be trusted alone. Synthetic English
/// windows read 0.99 and more; Indonesian ones (espeak-ng, base model) only
/// 0.55–0.85, and are sometimes read as English, so a weaker reading has the
/// window decoded in both languages.
pub const SWITCH_AT: f32 = 0.9;

/// The ids of the tokens the reading needs.
#[derive(Debug, Clone, Copy)]
pub struct LanguageTokens {
    start_of_transcript: i32,
    english: i32,
    indonesian: i32,
}

impl LanguageTokens {
    /// The tokens of a multilingual model; `None` for English-only models,
    /// which have no language tokens.
    pub fn of(context: &WhisperContext) -> Option<Self> {
        if !context.is_multilingual() {
            return None;
        }
        let english = whisper_rs::get_lang_id("en")?;
        let indonesian = whisper_rs::get_lang_id("id")?;
        Some(Self {
            start_of_transcript: context.token_sot(),
            english: context.token_lang(english),
            indonesian: context.token_lang(indonesian),
        })
    }
}

/// Which of the two languages a window sounds like, and how sure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LanguageReading {
    /// `"en"` or `"id"`.
    pub code: &'static str,
    /// Probability of that language against the other, 0.5..=1.
    pub confidence: f32,
}

impl LanguageReading {
    /// The reading from the two languages' logits: a softmax over just the two.
    pub fn from_logits(english: f32, indonesian: f32) -> Self {
        let indonesian_share = 1.0 / (1.0 + (english - indonesian).exp());
        if indonesian_share > 0.5 {
            Self {
                code: "id",
                confidence: indonesian_share,
            }
        } else {
            Self {
                code: "en",
                confidence: 1.0 - indonesian_share,
            }
        }
    }
}

/// Reads the language of the audio the state last encoded. Decodes one token,
/// so the state's decoder cache is overwritten; the encoder output is kept.
pub fn read_language(
    state: &mut WhisperState,
    tokens: &LanguageTokens,
    threads: usize,
) -> Result<LanguageReading, whisper_rs::WhisperError> {
    state.decode(&[tokens.start_of_transcript], 0, threads.max(1))?;
    let logits = state.get_logits()?;
    let logit = |token: i32| {
        usize::try_from(token)
            .ok()
            .and_then(|index| logits.get(index))
            .copied()
            .unwrap_or(f32::NEG_INFINITY)
    };
    Ok(LanguageReading::from_logits(
        logit(tokens.english),
        logit(tokens.indonesian),
    ))
}

/// Function words of English and of Indonesian in a text (the lists the
/// scorer tells a turn's language by). Text decoded in the language spoken
/// is full of them; speech forced into the other language comes out as
/// sound-alike non-words or as one of Whisper's short stock phrases.
pub fn function_words(text: &str) -> (usize, usize) {
    let lists = &crate::scoring::graded::lexicon::LEXICONS.scope.language;
    let apostrophe = |c: char| c == '\'' || c == '\u{2019}';
    let (mut english, mut indonesian) = (0usize, 0usize);
    for word in text.split(|c: char| !c.is_alphanumeric() && !apostrophe(c)) {
        if word.is_empty() {
            continue;
        }
        let lower: String = word
            .chars()
            .filter(|&c| !apostrophe(c))
            .flat_map(char::to_lowercase)
            .collect();
        english += usize::from(lists.en.contains(&lower));
        indonesian += usize::from(lists.id.contains(&lower));
    }
    (english, indonesian)
}

/// A segment's language from its own words when they say so clearly (an
/// English turn Whisper kept in English inside a window decoded as
/// Indonesian), else the window's.
pub fn segment_language(text: &str, window: Option<&'static str>) -> Option<&'static str> {
    let (english, indonesian) = function_words(text);
    if english >= 2 && english > 2 * indonesian {
        Some("en")
    } else if indonesian >= 2 && indonesian > 2 * english {
        Some("id")
    } else {
        window
    }
}

/// What to do with a decoded window once its language has been read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The window was decoded in the language it sounds like.
    Keep,
    /// It surely sounds like this language: decode it again in it.
    Redecode(&'static str),
    /// Unsure, or its turns are in different languages: decode it in both
    /// and choose turn by turn.
    Both,
}

/// Decides from the language a window was decoded in (`None` when Whisper
/// could not tell) and its reading.
pub fn verdict(decoded_in: Option<&str>, reading: LanguageReading) -> Verdict {
    if reading.confidence < SWITCH_AT {
        Verdict::Both
    } else if decoded_in == Some(reading.code) {
        Verdict::Keep
    } else {
        Verdict::Redecode(reading.code)
    }
}

/// Whether a turn decoded in English shows at least two Indonesian function
/// words: Whisper, forced into English, spells Indonesian speech as
/// sound-alike words among which real ones ("mohon", "saya") survive.
pub fn shows_indonesian(segments: &[Segment]) -> bool {
    segments.iter().any(|s| function_words(&s.text).1 >= 2)
}

/// The `'static` code of "en" or "id".
pub fn two_letter(code: &str) -> Option<&'static str> {
    match code {
        "en" => Some("en"),
        "id" => Some("id"),
        _ => None,
    }
}

/// Keeps, for each turn (packed region) of a window decoded in both
/// languages, the decode whose text has more function words of its own
/// language; `tie` decides where neither has more (short replies).
pub fn choose_per_turn(
    window: &Window,
    english: Vec<Segment>,
    indonesian: Vec<Segment>,
    tie: &str,
) -> Vec<Segment> {
    let turn_of = |segment: &Segment| {
        let middle = (segment.start_ms + segment.end_ms) / 2;
        window
            .pieces
            .iter()
            .position(|piece| {
                let end = (piece.call_start + piece.len) as u64 * 1000 / u64::from(SAMPLE_RATE);
                middle < end
            })
            .unwrap_or(window.pieces.len().saturating_sub(1))
    };
    let mut chosen = Vec::new();
    for turn in 0..window.pieces.len() {
        let of_turn = |segments: &[Segment]| -> Vec<Segment> {
            segments
                .iter()
                .filter(|s| turn_of(s) == turn)
                .cloned()
                .collect()
        };
        let (in_english, in_indonesian) = (of_turn(&english), of_turn(&indonesian));
        let words = |segments: &[Segment]| -> (i64, i64) {
            segments.iter().fold((0, 0), |(en, id), s| {
                let (e, i) = function_words(&s.text);
                (en + e as i64, id + i as i64)
            })
        };
        // Indonesian words showing through an English decode mean the turn
        // was Indonesian; an Indonesian decode may keep an English turn in
        // English, so both languages' words count for it.
        let (en_in_english, id_in_english) = words(&in_english);
        let (en_in_indonesian, id_in_indonesian) = words(&in_indonesian);
        let english_score = en_in_english - id_in_english;
        let indonesian_score = id_in_indonesian + en_in_indonesian;
        let keep_english =
            english_score > indonesian_score || (english_score == indonesian_score && tie == "en");
        chosen.extend(if keep_english {
            in_english
        } else {
            in_indonesian
        });
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_compares_only_the_two_languages() {
        let reading = LanguageReading::from_logits(1.0, 4.0);
        assert_eq!(reading.code, "id");
        assert!((reading.confidence - 0.9526).abs() < 1e-3);
        let reading = LanguageReading::from_logits(2.0, -1.0);
        assert_eq!(reading.code, "en");
        assert!(reading.confidence > 0.95);
        // A missing logit loses.
        assert_eq!(
            LanguageReading::from_logits(f32::NEG_INFINITY, 0.0).code,
            "id"
        );
    }

    #[test]
    fn an_unsure_reading_decodes_in_both() {
        let unsure = LanguageReading {
            code: "en",
            confidence: 0.7,
        };
        let sure = LanguageReading {
            code: "en",
            confidence: 0.99,
        };
        assert_eq!(verdict(Some("id"), unsure), Verdict::Both);
        assert_eq!(verdict(Some("en"), unsure), Verdict::Both);
        assert_eq!(verdict(Some("id"), sure), Verdict::Redecode("en"));
        assert_eq!(verdict(Some("en"), sure), Verdict::Keep);
        // Whisper chose Malay or nothing: decode in the reading's language.
        assert_eq!(verdict(Some("ms"), sure), Verdict::Redecode("en"));
        assert_eq!(verdict(None, sure), Verdict::Redecode("en"));
    }

    fn segment(start_ms: u64, end_ms: u64, text: &str) -> Segment {
        Segment {
            speaker: crate::transcript::Speaker::Agent,
            start_ms,
            end_ms,
            text: text.to_string(),
            language: None,
            confidence: None,
            words: Vec::new(),
            voice: None,
        }
    }

    #[test]
    fn each_turn_keeps_the_decode_in_its_own_language() {
        use super::super::pack::Piece;
        let rate = SAMPLE_RATE as usize;
        // Turns at 0–5 s, 6–10 s and 12–13 s of the call.
        let window = Window {
            samples: Vec::new(),
            pieces: vec![
                Piece {
                    call_start: 0,
                    window_start: 0,
                    len: 5 * rate,
                },
                Piece {
                    call_start: 6 * rate,
                    window_start: 0,
                    len: 4 * rate,
                },
                Piece {
                    call_start: 12 * rate,
                    window_start: 0,
                    len: rate,
                },
            ],
        };
        let english = vec![
            segment(
                0,
                5_000,
                "Salamat pagi, the rima kasi, ananya yannisayamantu.",
            ),
            segment(
                6_000,
                10_000,
                "Of course, I am sorry to hear that your card was blocked.",
            ),
            segment(12_000, 13_000, "Okay."),
        ];
        let indonesian = vec![
            segment(
                0,
                5_000,
                "Selamat pagi, terima kasih, ada yang bisa saya bantu?",
            ),
            segment(6_000, 8_000, "Tentu, saya minta maaf."),
            segment(8_000, 10_000, "Kartu Anda diblokir."),
            segment(12_000, 13_000, "Oke."),
        ];
        let chosen = choose_per_turn(&window, english, indonesian, "id");
        let texts: Vec<&str> = chosen.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Selamat pagi, terima kasih, ada yang bisa saya bantu?",
                "Of course, I am sorry to hear that your card was blocked.",
                "Oke."
            ]
        );
    }

    #[test]
    fn text_in_its_language_has_its_function_words() {
        let indonesian = "Pak Imbak, saya belum sampai padahal sudah seminggu sejak saya pesan.";
        let sound_alike = "Pagimbakh, Pagataya Melun Sampai Panaaljuna, Samingu Fenak.";
        assert_eq!(function_words(indonesian), (0, 5));
        assert_eq!(function_words(sound_alike), (0, 0));
        assert_eq!(function_words("Thank you, I'll check it."), (3, 0));
        let english = "Of course, I am sorry to hear that.";
        assert_eq!(segment_language(english, Some("id")), Some("en"));
        assert_eq!(
            segment_language("Baik Pak, saya cek dulu ya.", Some("en")),
            Some("id")
        );
        assert_eq!(segment_language("Okay.", Some("id")), Some("id"));
    }
}

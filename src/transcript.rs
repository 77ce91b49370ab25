//! The transcript: who said what, and when. The one type that transcription
//! produces, scoring reads, and the store keeps; its JSON form (the exchange
//! format, `docs/transcript-json.md`) is what `callscore transcribe` writes
//! and what `callscore score` and `SubmitTranscript` read.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Who spoke a segment. Mono recordings give `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    /// The contact-center agent.
    Agent,
    /// The caller.
    Customer,
    /// Not attributed (mono audio, or a platform that does not know).
    Unknown,
}

impl Speaker {
    /// The name used in JSON and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Speaker::Agent => "agent",
            Speaker::Customer => "customer",
            Speaker::Unknown => "unknown",
        }
    }
}

/// One recognised word with its own timing, when the recogniser gives them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    /// Start, milliseconds from the start of the call.
    pub start_ms: u64,
    /// End, milliseconds from the start of the call.
    pub end_ms: u64,
    /// The word as it appears in the segment text.
    pub text: String,
    /// Recogniser probability of the word (0..1), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
}

/// A stretch of call time, e.g. what redaction masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TimeSpan {
    /// Start, milliseconds from the start of the call.
    pub start_ms: u64,
    /// End, milliseconds from the start of the call.
    pub end_ms: u64,
}

/// One stretch of speech by one speaker, in call time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Who spoke.
    pub speaker: Speaker,
    /// Start, milliseconds from the start of the call.
    pub start_ms: u64,
    /// End, milliseconds from the start of the call.
    pub end_ms: u64,
    /// What was said.
    pub text: String,
    /// ISO 639-1 code of the segment's language ("en", "id"), when known.
    pub language: Option<String>,
    /// Mean token probability from the recogniser (0..1), when known.
    pub confidence: Option<f32>,
    /// Word timings, in order, when the recogniser gives them; evidence then
    /// points at words instead of the whole segment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<Word>,
    /// On a diarized mono recording, the voice that spoke it (from 1, in
    /// order of first appearance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<u32>,
}

impl Segment {
    /// A segment with text and timing only (no language, confidence or words).
    pub fn new(speaker: Speaker, start_ms: u64, end_ms: u64, text: impl Into<String>) -> Self {
        Segment {
            speaker,
            start_ms,
            end_ms,
            text: text.into(),
            language: None,
            confidence: None,
            words: Vec::new(),
            voice: None,
        }
    }

    /// The call time of a byte range of the text: from the words that cover
    /// it when word timings exist, else interpolated by character position
    /// (speech rate is roughly even within one segment).
    pub fn time_of(&self, start: usize, end: usize) -> (u64, u64) {
        let spans = if self.words.is_empty() {
            None
        } else {
            self.word_spans()
        };
        self.time_of_with_spans(spans.as_deref(), start, end)
    }

    /// [`Segment::time_of`], given the [`Segment::word_spans`] already
    /// found (a scorecard quotes one segment many times).
    pub fn time_of_with_spans(
        &self,
        spans: Option<&[(usize, usize)]>,
        start: usize,
        end: usize,
    ) -> (u64, u64) {
        if let Some(span) = spans.and_then(|spans| self.word_time_of(spans, start, end)) {
            return span;
        }
        // Byte offsets are character offsets in ASCII text (the usual case).
        let ascii = self.text.is_ascii();
        let count = |s: &str| if ascii { s.len() } else { s.chars().count() };
        let total = count(&self.text).max(1) as f64;
        let chars_before =
            |byte: usize| self.text.get(..byte.min(self.text.len())).map_or(0, count) as f64;
        let length = self.end_ms.saturating_sub(self.start_ms) as f64;
        let at = |chars: f64| self.start_ms + round_to_ms(length * (chars / total));
        (at(chars_before(start)), at(chars_before(end)))
    }

    /// Word timings for a byte range: the first and last word it touches.
    fn word_time_of(
        &self,
        spans: &[(usize, usize)],
        start: usize,
        end: usize,
    ) -> Option<(u64, u64)> {
        let mut first: Option<u64> = None;
        let mut last: Option<u64> = None;
        for (word, &(at, word_end)) in self.words.iter().zip(spans) {
            if word_end > at && word_end > start && at < end {
                first.get_or_insert(word.start_ms);
                last = Some(word.end_ms);
            }
            if at >= end {
                break;
            }
        }
        Some((first?, last?))
    }

    /// The byte range of each word in the text: words are found in order,
    /// ignoring case (an empty word is an empty range). `None` when a word is
    /// not there, or when lower-casing changes byte lengths (outside ASCII).
    pub fn word_spans(&self) -> Option<Vec<(usize, usize)>> {
        if !self.text.is_ascii() {
            return self.word_spans_lowercased();
        }
        // ASCII text (the usual case): each word is compared in place, case
        // folded, where it stands, a few bytes on. Lower-cased copies of the
        // text and of every word, and a substring searcher set up per word,
        // were most of what a word-timed scorecard cost beyond a plain one.
        let text = self.text.as_bytes();
        let mut cursor = 0;
        let mut spans = Vec::with_capacity(self.words.len());
        for word in &self.words {
            let needle = trim_whitespace(&word.text);
            if needle.is_empty() {
                spans.push((cursor, cursor));
                continue;
            }
            let lowered;
            let needle = if needle.is_ascii() {
                needle.as_bytes()
            } else {
                // Only a word that lower-cases to ASCII can be in ASCII
                // text (the Kelvin sign does: "K" is "k").
                lowered = needle.to_lowercase();
                if !lowered.is_ascii() {
                    return None;
                }
                lowered.as_bytes()
            };
            let at = cursor + find_ignoring_ascii_case(text.get(cursor..)?, needle)?;
            cursor = at + needle.len();
            spans.push((at, cursor));
        }
        Some(spans)
    }

    /// [`Segment::word_spans`] for any text: the words searched for, lower
    /// cased, in the lower-cased text.
    fn word_spans_lowercased(&self) -> Option<Vec<(usize, usize)>> {
        let lower = self.text.to_lowercase();
        if lower.len() != self.text.len() {
            return None;
        }
        let mut cursor = 0;
        let mut spans = Vec::with_capacity(self.words.len());
        for word in &self.words {
            let needle = word.text.trim().to_lowercase();
            if needle.is_empty() {
                spans.push((cursor, cursor));
                continue;
            }
            let at = cursor + lower.get(cursor..)?.find(&needle)?;
            cursor = at + needle.len();
            spans.push((at, cursor));
        }
        Some(spans)
    }
}

/// `text.trim()`, with ASCII text trimmed byte by byte rather than
/// decoded character by character (every word of a transcript is trimmed).
fn trim_whitespace(text: &str) -> &str {
    if !text.is_ascii() {
        return text.trim();
    }
    // Unicode's White_Space in ASCII: `is_ascii_whitespace` leaves out the
    // vertical tab.
    let space = |b: &u8| b.is_ascii_whitespace() || *b == 0x0B;
    let bytes = text.as_bytes();
    let start = bytes.iter().position(|b| !space(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !space(b))
        .map_or(start, |last| last + 1);
    text.get(start..end).unwrap_or("")
}

/// Where `needle` (ASCII, not empty) first occurs in `haystack`, ASCII case
/// folded on both sides. Words are short and usually found within a few
/// bytes, so a plain scan beats setting up a substring searcher.
fn find_ignoring_ascii_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle.first()?.to_ascii_lowercase();
    let last_start = haystack.len().checked_sub(needle.len())?;
    (0..=last_start).find(|&i| {
        haystack[i].to_ascii_lowercase() == first
            && haystack[i..i + needle.len()].eq_ignore_ascii_case(needle)
    })
}

/// `x.round() as u64` (half away from zero, saturating) without a call into
/// libm, which is what `f64::round` is on baseline x86-64: evidence times
/// are computed for every quote.
fn round_to_ms(x: f64) -> u64 {
    // Truncates toward zero and saturates; the fraction is exact below 2^53,
    // and above it every double is whole.
    let whole = x as u64;
    if x - whole as f64 >= 0.5 {
        whole.saturating_add(1)
    } else {
        whole
    }
}

/// A whole call's transcript, segments in time order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    /// The call's main language ("en", "id"), when known.
    pub language: Option<String>,
    /// Segments, ordered by start time.
    pub segments: Vec<Segment>,
    /// Whether the named speakers talk like themselves, with the evidence
    /// (set when a call is scored; not part of the exchange format).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<crate::speakers::Attribution>,
}

/// A problem in a transcript exchange document, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct TranscriptFormatError {
    /// The offending field, e.g. `segments[3].start`; empty for the document.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

fn format_error(field: impl Into<String>, message: impl Into<String>) -> TranscriptFormatError {
    TranscriptFormatError {
        field: field.into(),
        message: message.into(),
    }
}

/// Longest call accepted, in seconds (a day): larger times are typos.
pub const MAX_SECONDS: f64 = 86_400.0;
/// Longest call accepted, in milliseconds.
pub const MAX_MS: u64 = 86_400_000;

/// Whether a language code is well formed: ISO 639-1 (or -3), lower case.
pub fn is_language_code(code: &str) -> bool {
    (2..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase())
}

/// Reads a language code field.
fn language_field(value: &Value, path: &str) -> Result<Option<String>, TranscriptFormatError> {
    match value {
        Value::Null => Ok(None),
        Value::String(code) if is_language_code(code) => Ok(Some(code.clone())),
        Value::String(code) => Err(format_error(
            path,
            format!("`{code}` is not an ISO 639-1 language code such as \"en\" or \"id\""),
        )),
        _ => Err(format_error(
            path,
            "expected a language code such as \"en\" or \"id\"",
        )),
    }
}

/// Rejects keys outside `known`, naming the first unknown one.
fn known_keys(
    object: &Map<String, Value>,
    path: &str,
    known: &[&str],
) -> Result<(), TranscriptFormatError> {
    match object.keys().find(|k| !known.contains(&k.as_str())) {
        Some(key) => Err(format_error(
            if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            },
            format!("unknown field; expected {}", known.join(", ")),
        )),
        None => Ok(()),
    }
}

/// A time in the exchange format: `start`/`end` in seconds, or
/// `start_ms`/`end_ms` in milliseconds (the in-memory form's names).
fn time_ms(
    object: &Map<String, Value>,
    path: &str,
    seconds_key: &str,
) -> Result<u64, TranscriptFormatError> {
    let ms_key = format!("{seconds_key}_ms");
    match (object.get(seconds_key), object.get(&ms_key)) {
        (Some(_), Some(_)) => Err(format_error(
            format!("{path}.{ms_key}"),
            format!("give {seconds_key} (seconds) or {ms_key} (milliseconds), not both"),
        )),
        (Some(v), None) => match v.as_f64() {
            Some(s) if (0.0..=MAX_SECONDS).contains(&s) => Ok((s * 1000.0).round() as u64),
            Some(_) => Err(format_error(
                format!("{path}.{seconds_key}"),
                format!("must be between 0 and {MAX_SECONDS} seconds"),
            )),
            None => Err(format_error(
                format!("{path}.{seconds_key}"),
                "expected a number of seconds",
            )),
        },
        (None, Some(v)) => match v.as_u64() {
            Some(ms) if ms <= MAX_MS => Ok(ms),
            Some(_) => Err(format_error(
                format!("{path}.{ms_key}"),
                format!("must be at most {MAX_MS} ms"),
            )),
            None => Err(format_error(
                format!("{path}.{ms_key}"),
                "expected a whole number of milliseconds",
            )),
        },
        (None, None) => Err(format_error(
            format!("{path}.{seconds_key}"),
            format!("missing; give {seconds_key} in seconds or {ms_key} in milliseconds"),
        )),
    }
}

fn confidence_field(
    value: Option<&Value>,
    path: &str,
) -> Result<Option<f32>, TranscriptFormatError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_f64() {
            Some(c) if (0.0..=1.0).contains(&c) => Ok(Some(c as f32)),
            _ => Err(format_error(path, "expected a number from 0 to 1")),
        },
    }
}

fn text_field(object: &Map<String, Value>, path: &str) -> Result<String, TranscriptFormatError> {
    match object.get("text") {
        Some(Value::String(text)) => Ok(text.clone()),
        _ => Err(format_error(format!("{path}.text"), "expected a string")),
    }
}

/// Start and end of a timed item, with end not before start.
fn span_ms(object: &Map<String, Value>, path: &str) -> Result<(u64, u64), TranscriptFormatError> {
    let start = time_ms(object, path, "start")?;
    let end = time_ms(object, path, "end")?;
    if end < start {
        let key = if object.contains_key("end") {
            "end"
        } else {
            "end_ms"
        };
        return Err(format_error(
            format!("{path}.{key}"),
            format!(
                "ends ({:.3} s) before it starts ({:.3} s)",
                end as f64 / 1000.0,
                start as f64 / 1000.0
            ),
        ));
    }
    Ok((start, end))
}

fn read_word(value: &Value, path: &str) -> Result<Word, TranscriptFormatError> {
    let Value::Object(object) = value else {
        return Err(format_error(path, "expected an object"));
    };
    known_keys(
        object,
        path,
        &["start", "end", "start_ms", "end_ms", "text", "confidence"],
    )?;
    let (start_ms, end_ms) = span_ms(object, path)?;
    Ok(Word {
        start_ms,
        end_ms,
        text: text_field(object, path)?,
        confidence: confidence_field(object.get("confidence"), &format!("{path}.confidence"))?,
    })
}

fn read_segment(value: &Value, path: &str) -> Result<Segment, TranscriptFormatError> {
    let Value::Object(object) = value else {
        return Err(format_error(path, "expected an object"));
    };
    known_keys(
        object,
        path,
        &[
            "speaker",
            "start",
            "end",
            "start_ms",
            "end_ms",
            "text",
            "language",
            "confidence",
            "words",
            "voice",
        ],
    )?;
    let speaker = match object.get("speaker").and_then(Value::as_str) {
        Some("agent") => Speaker::Agent,
        Some("customer") => Speaker::Customer,
        Some("unknown") => Speaker::Unknown,
        _ => {
            return Err(format_error(
                format!("{path}.speaker"),
                "expected \"agent\", \"customer\" or \"unknown\"",
            ));
        }
    };
    let (start_ms, end_ms) = span_ms(object, path)?;
    let text = text_field(object, path)?;
    let language = match object.get("language") {
        Some(v) => language_field(v, &format!("{path}.language"))?,
        None => None,
    };
    let confidence = confidence_field(object.get("confidence"), &format!("{path}.confidence"))?;
    let words = match object.get("words") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, w)| read_word(w, &format!("{path}.words[{i}]")))
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(format_error(format!("{path}.words"), "expected a list")),
    };
    let voice = match object.get("voice") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_u64()
                .filter(|&v| v >= 1)
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| {
                    format_error(format!("{path}.voice"), "expected a whole number from 1")
                })?,
        ),
    };
    Ok(Segment {
        speaker,
        start_ms,
        end_ms,
        text,
        language,
        confidence,
        words,
        voice,
    })
}

/// Seconds with millisecond precision, as the exchange format writes times.
fn seconds(ms: u64) -> Value {
    serde_json::json!(ms as f64 / 1000.0)
}

impl Transcript {
    /// Parses the JSON exchange format (`docs/transcript-json.md`):
    /// `{"language": "id", "segments": [{"speaker": "agent", "start": 0.0,
    /// "end": 2.5, "text": "...", "language": "id", "confidence": 0.91,
    /// "words": [{"start": 0.0, "end": 0.4, "text": "Selamat"}]}]}`.
    ///
    /// Times are seconds (`start`, `end`) or milliseconds (`start_ms`,
    /// `end_ms`); `language`, `confidence` and `words` are optional. Unknown
    /// fields are rejected so typos do not pass silently. Segments are put in
    /// time order (stable), as scoring expects.
    pub fn from_exchange_json(json: &str) -> Result<Transcript, TranscriptFormatError> {
        let value: Value = serde_json::from_str(json).map_err(|e| {
            format_error(
                "",
                format!(
                    "not valid JSON (line {}, column {}): {e}",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        let Value::Object(root) = value else {
            return Err(format_error("", "expected a JSON object"));
        };
        known_keys(&root, "", &["language", "segments", "attribution"])?;
        let language = match root.get("language") {
            Some(v) => language_field(v, "language")?,
            None => None,
        };
        let Some(Value::Array(items)) = root.get("segments") else {
            return Err(format_error(
                "segments",
                "missing required field, or not a list",
            ));
        };
        let mut segments = items
            .iter()
            .enumerate()
            .map(|(i, item)| read_segment(item, &format!("segments[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        segments.sort_by_key(|s| s.start_ms);
        // How the speakers were checked or found (what `transcribe` writes for
        // a diarized mono recording); read back as written.
        let attribution = match root.get("attribution") {
            None | Some(Value::Null) => None,
            Some(value) => Some(serde_json::from_value(value.clone()).map_err(|e| {
                format_error("attribution", format!("not a speaker attribution: {e}"))
            })?),
        };
        Ok(Transcript {
            language,
            segments,
            attribution,
        })
    }

    /// Writes the JSON exchange format (times in seconds); optional fields
    /// only when known, so what this writes `from_exchange_json` reads back
    /// unchanged.
    pub fn to_exchange_json(&self) -> Value {
        let mut root = Map::new();
        if let Some(language) = &self.language {
            root.insert("language".into(), Value::String(language.clone()));
        }
        if let Some(attribution) = &self.attribution
            && let Ok(value) = serde_json::to_value(attribution)
        {
            root.insert("attribution".into(), value);
        }
        let segments = self
            .segments
            .iter()
            .map(|s| {
                let mut segment = Map::new();
                segment.insert("speaker".into(), Value::String(s.speaker.as_str().into()));
                segment.insert("start".into(), seconds(s.start_ms));
                segment.insert("end".into(), seconds(s.end_ms));
                segment.insert("text".into(), Value::String(s.text.clone()));
                if let Some(language) = &s.language {
                    segment.insert("language".into(), Value::String(language.clone()));
                }
                if let Some(confidence) = s.confidence {
                    segment.insert("confidence".into(), serde_json::json!(confidence));
                }
                if let Some(voice) = s.voice {
                    segment.insert("voice".into(), serde_json::json!(voice));
                }
                if !s.words.is_empty() {
                    let words = s
                        .words
                        .iter()
                        .map(|w| {
                            let mut word = Map::new();
                            word.insert("start".into(), seconds(w.start_ms));
                            word.insert("end".into(), seconds(w.end_ms));
                            word.insert("text".into(), Value::String(w.text.clone()));
                            if let Some(confidence) = w.confidence {
                                word.insert("confidence".into(), serde_json::json!(confidence));
                            }
                            Value::Object(word)
                        })
                        .collect();
                    segment.insert("words".into(), Value::Array(words));
                }
                Value::Object(segment)
            })
            .collect();
        root.insert("segments".into(), Value::Array(segments));
        Value::Object(root)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rounding_to_milliseconds_agrees_with_round() {
        let mut values = vec![
            0.0,
            0.4999999999999999,
            0.49999999999999994,
            0.5,
            1.5,
            2.5,
            1e15 + 0.5,
            4_503_599_627_370_495.5,
            9_007_199_254_740_992.0,
            1e19,
            1.9e19,
            -0.3,
            -0.7,
            f64::NAN,
            f64::INFINITY,
        ];
        values.extend((0..100_000).map(|i| f64::from(i) * 0.137));
        for x in values {
            assert_eq!(round_to_ms(x), x.round() as u64, "{x}");
        }
    }

    use super::*;

    #[test]
    fn exchange_format_round_trips() {
        let json = r#"{"language": "id", "segments": [
            {"speaker": "customer", "start": 2.5, "end": 4, "text": "halo"},
            {"speaker": "agent", "start": 0, "end": 2.25, "text": "selamat pagi",
             "language": "id", "confidence": 0.875,
             "words": [{"start": 0, "end": 0.9, "text": "selamat", "confidence": 0.5},
                       {"start": 1.0, "end": 2.25, "text": "pagi"}]}]}"#;
        let t = Transcript::from_exchange_json(json).expect("valid");
        assert_eq!(t.language.as_deref(), Some("id"));
        assert_eq!(t.segments[0].speaker, Speaker::Agent);
        assert_eq!(t.segments[0].end_ms, 2250);
        assert_eq!(t.segments[0].words[1].start_ms, 1000);
        assert_eq!(t.segments[0].confidence, Some(0.875));
        assert_eq!(t.segments[1].start_ms, 2500);
        let again =
            Transcript::from_exchange_json(&t.to_exchange_json().to_string()).expect("valid");
        assert_eq!(again, t);
        // A diarized mono transcript: voices and how they were told apart.
        let json = r#"{"attribution": {"cues": [], "voices": {"voices": [
              {"voice": 1, "speaker": "agent", "talk_ms": 2250, "first_ms": 0, "cues": ["company_greeting"]},
              {"voice": 2, "speaker": "customer", "talk_ms": 1500, "first_ms": 2500, "cues": []}],
              "reason": "voice 1 is the agent"}},
            "segments": [
            {"speaker": "customer", "start": 2.5, "end": 4, "text": "halo", "voice": 2},
            {"speaker": "agent", "start": 0, "end": 2.25, "text": "terima kasih telah menghubungi", "voice": 1}]}"#;
        let t = Transcript::from_exchange_json(json).expect("valid");
        assert_eq!(t.segments[0].voice, Some(1));
        let voices = t.attribution.as_ref().and_then(|a| a.voices.as_ref());
        assert_eq!(voices.map(|v| v.voices.len()), Some(2));
        let again =
            Transcript::from_exchange_json(&t.to_exchange_json().to_string()).expect("valid");
        assert_eq!(again, t);
    }

    #[test]
    fn the_in_memory_form_is_read_too() {
        // What serde writes for `Transcript` (millisecond fields, nulls).
        let t = Transcript {
            language: None,
            segments: vec![Segment {
                confidence: Some(0.25),
                language: Some("en".into()),
                ..Segment::new(Speaker::Unknown, 10, 1500, "hello there")
            }],
            attribution: None,
        };
        let json = serde_json::to_string(&t).expect("serialises");
        assert!(json.contains("start_ms"));
        assert_eq!(Transcript::from_exchange_json(&json).expect("valid"), t);
    }

    #[test]
    fn errors_name_the_field() {
        let bad = |json: &str| {
            Transcript::from_exchange_json(json)
                .expect_err("invalid")
                .field
        };
        assert_eq!(bad(r#"{"language": "French", "segments": []}"#), "language");
        assert_eq!(
            bad(
                r#"{"language": "en", "segments": [{"speaker": "bot", "start": 0, "end": 1, "text": ""}]}"#
            ),
            "segments[0].speaker"
        );
        assert_eq!(
            bad(
                r#"{"language": "en", "segments": [{"speaker": "agent", "start": 2, "end": 1, "text": ""}]}"#
            ),
            "segments[0].end"
        );
        assert_eq!(
            bad(
                r#"{"language": "en", "segments": [{"speaker": "agent", "start": 0, "end": 1, "txt": ""}]}"#
            ),
            "segments[0].txt"
        );
        assert_eq!(
            bad(
                r#"{"segments": [{"speaker": "agent", "start": 0, "end": 1, "text": "", "voice": 0}]}"#
            ),
            "segments[0].voice"
        );
        assert_eq!(
            bad(r#"{"segments": [], "attribution": {"voices": 3}}"#),
            "attribution"
        );
        assert_eq!(
            bad(
                r#"{"segments": [{"speaker": "agent", "start": 0, "start_ms": 0, "end": 1, "text": ""}]}"#
            ),
            "segments[0].start_ms"
        );
        assert_eq!(
            bad(
                r#"{"segments": [{"speaker": "agent", "start": 0, "end": 1, "text": "a", "words": [{"start": 0, "end": 1}]}]}"#
            ),
            "segments[0].words[0].text"
        );
        assert_eq!(
            bad(r#"{"segments": [{"speaker": "agent", "start_ms": 1e30, "end": 1, "text": ""}]}"#),
            "segments[0].start_ms"
        );
        assert_eq!(bad("[1, 2"), "");
    }

    #[test]
    fn byte_ranges_map_to_call_time() {
        let mut s = Segment::new(Speaker::Agent, 1000, 3000, "abcd efgh");
        // No words: interpolated by characters (9 chars over 2 s).
        assert_eq!(s.time_of(5, 9), (2111, 3000));
        s.words = vec![
            Word {
                start_ms: 1000,
                end_ms: 1800,
                text: "abcd".into(),
                confidence: None,
            },
            Word {
                start_ms: 2100,
                end_ms: 2900,
                text: "EFGH".into(),
                confidence: None,
            },
        ];
        assert_eq!(s.time_of(5, 9), (2100, 2900));
        assert_eq!(s.time_of(0, 9), (1000, 2900));
    }

    #[test]
    fn words_are_found_in_place_as_the_lowercased_search_finds_them() {
        let words = |texts: &[&str]| -> Vec<Word> {
            texts
                .iter()
                .map(|t| Word {
                    start_ms: 0,
                    end_ms: 0,
                    text: (*t).into(),
                    confidence: None,
                })
                .collect()
        };
        let cases: [(&str, &[&str]); 10] = [
            ("Selamat pagi, Bapak.", &[" Selamat", " pagi,", " bapak."]),
            ("THANK you Sir", &[" thank", " YOU", " sir"]),
            ("no no no", &[" no", " no", " no"]),
            ("abc", &[" abcd"]),
            ("one two", &[" two", " one"]),
            ("gap  between", &[" ", " gap", "", " between"]),
            ("5 kelvin is cold", &[" 5", " \u{212A}elvin"]),
            ("caf\u{e9} ole", &[" CAF\u{c9}", " ole"]),
            ("Stra\u{df}e", &[" STRASSE"]),
            ("ab", &[" a", " b", " c"]),
        ];
        for (text, texts) in cases {
            let mut segment = Segment::new(Speaker::Agent, 0, 1000, text);
            segment.words = words(texts);
            let expected = segment.word_spans_lowercased();
            assert_eq!(segment.word_spans(), expected, "{text:?} {texts:?}");
        }
        for text in [
            " a b\t",
            "\u{b}\u{c}x\r\n",
            "   ",
            "",
            "\u{a0}y\u{2003}",
            "z",
        ] {
            assert_eq!(trim_whitespace(text), text.trim(), "{text:?}");
        }
        // The cases do exercise both outcomes.
        let mut found = Segment::new(Speaker::Agent, 0, 1000, "THANK you Sir");
        found.words = words(&[" thank", " YOU", " sir"]);
        assert_eq!(found.word_spans(), Some(vec![(0, 5), (6, 9), (10, 13)]));
        found.words = words(&[" you", " thank"]);
        assert_eq!(found.word_spans(), None);
    }
}

//! The transcript: who said what, and when. The one type that transcription
//! produces, scoring reads, and the store keeps.

use serde::{Deserialize, Serialize};

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
}

/// A whole call's transcript, segments in time order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    /// The call's main language ("en", "id"), when known.
    pub language: Option<String>,
    /// Segments, ordered by start time.
    pub segments: Vec<Segment>,
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
const MAX_SECONDS: f64 = 86_400.0;

impl Transcript {
    /// Parses the JSON exchange format that the CLI and `SubmitTranscript` accept:
    /// `{"language": "en"|"id", "segments": [{"speaker": "agent"|"customer"|"unknown",
    /// "start": <seconds>, "end": <seconds>, "text": "..."}]}`.
    ///
    /// Unknown fields are rejected so typos do not pass silently. Segments are
    /// put in time order (stable), as scoring expects.
    pub fn from_exchange_json(json: &str) -> Result<Transcript, TranscriptFormatError> {
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| {
            format_error(
                "",
                format!(
                    "not valid JSON (line {}, column {}): {e}",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        let serde_json::Value::Object(root) = value else {
            return Err(format_error("", "expected a JSON object"));
        };
        if let Some(key) = root.keys().find(|k| *k != "language" && *k != "segments") {
            return Err(format_error(
                key.as_str(),
                "unknown field; expected language and segments",
            ));
        }
        let language = match root.get("language") {
            Some(serde_json::Value::String(s)) if s == "en" || s == "id" => s.clone(),
            Some(serde_json::Value::String(s)) => {
                return Err(format_error(
                    "language",
                    format!("unknown language `{s}`; expected \"en\" or \"id\""),
                ));
            }
            Some(_) => return Err(format_error("language", "expected \"en\" or \"id\"")),
            None => return Err(format_error("language", "missing required field")),
        };
        let Some(serde_json::Value::Array(items)) = root.get("segments") else {
            return Err(format_error(
                "segments",
                "missing required field, or not a list",
            ));
        };
        let mut segments = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let path = format!("segments[{i}]");
            let serde_json::Value::Object(seg) = item else {
                return Err(format_error(path, "expected an object"));
            };
            if let Some(key) = seg
                .keys()
                .find(|k| !matches!(k.as_str(), "speaker" | "start" | "end" | "text"))
            {
                return Err(format_error(
                    format!("{path}.{key}"),
                    "unknown field; expected speaker, start, end and text",
                ));
            }
            let speaker = match seg.get("speaker").and_then(|v| v.as_str()) {
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
            let seconds = |key: &str| -> Result<f64, TranscriptFormatError> {
                match seg.get(key).and_then(serde_json::Value::as_f64) {
                    Some(v) if (0.0..=MAX_SECONDS).contains(&v) => Ok(v),
                    Some(_) => Err(format_error(
                        format!("{path}.{key}"),
                        format!("must be between 0 and {MAX_SECONDS} seconds"),
                    )),
                    None => Err(format_error(
                        format!("{path}.{key}"),
                        "expected a number of seconds",
                    )),
                }
            };
            let start = seconds("start")?;
            let end = seconds("end")?;
            if end < start {
                return Err(format_error(
                    format!("{path}.end"),
                    format!("ends ({end} s) before it starts ({start} s)"),
                ));
            }
            let Some(text) = seg.get("text").and_then(|v| v.as_str()) else {
                return Err(format_error(format!("{path}.text"), "expected a string"));
            };
            // Bounded above by MAX_SECONDS, so the cast is exact enough and cannot overflow.
            let ms = |s: f64| (s * 1000.0).round() as u64;
            segments.push(Segment {
                speaker,
                start_ms: ms(start),
                end_ms: ms(end),
                text: text.to_owned(),
                language: None,
                confidence: None,
            });
        }
        segments.sort_by_key(|s| s.start_ms);
        Ok(Transcript {
            language: Some(language),
            segments,
        })
    }

    /// Writes the JSON exchange format (times in seconds).
    pub fn to_exchange_json(&self) -> serde_json::Value {
        serde_json::json!({
            "language": self.language.as_deref().unwrap_or("en"),
            "segments": self.segments.iter().map(|s| serde_json::json!({
                "speaker": s.speaker,
                "start": s.start_ms as f64 / 1000.0,
                "end": s.end_ms as f64 / 1000.0,
                "text": s.text,
            })).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_format_round_trips() {
        let json = r#"{"language": "id", "segments": [
            {"speaker": "customer", "start": 2.5, "end": 4, "text": "halo"},
            {"speaker": "agent", "start": 0, "end": 2.25, "text": "selamat pagi"}]}"#;
        let t = Transcript::from_exchange_json(json).expect("valid");
        assert_eq!(t.language.as_deref(), Some("id"));
        assert_eq!(t.segments[0].speaker, Speaker::Agent);
        assert_eq!(t.segments[0].end_ms, 2250);
        assert_eq!(t.segments[1].start_ms, 2500);
        let again =
            Transcript::from_exchange_json(&t.to_exchange_json().to_string()).expect("valid");
        assert_eq!(again, t);
    }

    #[test]
    fn errors_name_the_field() {
        let bad = |json: &str| {
            Transcript::from_exchange_json(json)
                .expect_err("invalid")
                .field
        };
        assert_eq!(bad(r#"{"language": "fr", "segments": []}"#), "language");
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
        assert_eq!(bad("[1, 2"), "");
    }
}

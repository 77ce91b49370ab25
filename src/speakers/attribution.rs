//! The agent talks like an agent: in the first minute they greet for the
//! company, give their name and offer help ("thank you for calling Acme, this
//! is Rina, how may I help?"; "terima kasih telah menghubungi …, dengan saya
//! Rina, ada yang bisa saya bantu?"). When the side named customer does that
//! and the side named agent does not, the stereo layout was most likely
//! declared the wrong way round: the transcript says so, with the quotes,
//! rather than scoring the customer as the agent in silence.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::transcript::{Speaker, Transcript};

/// Cues are looked for in the call's opening: that is where agents introduce
/// themselves, and a customer quoting the agent later must not count.
pub(crate) const OPENING_MS: u64 = 60_000;
/// Distinct kinds of agent cue the customer's side must show (with none on
/// the agent's side) before the layout is called swapped.
const SWAP_KINDS: usize = 2;

/// One cue that a speaker talks like the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributionCue {
    /// The side the transcript gives the words to.
    pub speaker: Speaker,
    /// `company_greeting`, `self_introduction` or `offer_of_help`.
    pub kind: String,
    /// When the words were said (call time, ms).
    pub start_ms: u64,
    /// Their end.
    pub end_ms: u64,
    /// The words of the cue only (never the rest of the turn).
    pub quote: String,
}

/// The check of a transcript's speakers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Attribution {
    /// Every agent cue found in the opening, in time order.
    pub cues: Vec<AttributionCue>,
    /// Set when the cues contradict the speakers: the customer's side talks
    /// like the agent and the agent's side does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// On a mono recording, how the voices were told apart and which is
    /// the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voices: Option<super::VoiceAssignment>,
}

struct CuePattern {
    kind: &'static str,
    pattern: Regex,
}

/// What agents say to open a call, in English and Indonesian.
static CUES: LazyLock<Vec<CuePattern>> = LazyLock::new(|| {
    let cue = |kind, pattern: &str| CuePattern {
        kind,
        // Constant patterns, compiled by every test that checks a call.
        pattern: Regex::new(&format!("(?i){pattern}")).expect("a constant cue pattern"),
    };
    vec![
        cue(
            "company_greeting",
            r"\b(thank(s| you) for (calling|contacting)|welcome to|terima kasih (telah|sudah|atas) (menghubungi|menelepon)|selamat datang di)\b",
        ),
        cue(
            "self_introduction",
            r"\b(my name is|this is \w+ (speaking|from)|you('re| are) speaking (with|to)|dengan saya|nama saya|saya \w+ dari)\b",
        ),
        cue(
            "offer_of_help",
            r"\b(how (may|can|could) i (help|assist)|what can i do for you|ada yang bisa (saya )?(bantu|dibantu)|(apa|yang) bisa saya bantu)\b",
        ),
    ]
});

/// The kinds of agent cue a text contains.
pub(crate) fn cue_kinds_in(text: &str) -> impl Iterator<Item = &'static str> + '_ {
    CUES.iter()
        .filter(|cue| cue.pattern.is_match(text))
        .map(|cue| cue.kind)
}

/// Looks for agent cues in the opening of a transcript whose segments name
/// the agent and the customer; `None` when they do not (mono calls).
pub fn check_attribution(transcript: &Transcript) -> Option<Attribution> {
    let names_both = transcript
        .segments
        .iter()
        .any(|s| s.speaker == Speaker::Agent)
        && transcript
            .segments
            .iter()
            .any(|s| s.speaker == Speaker::Customer);
    if !names_both {
        return None;
    }
    let mut cues = Vec::new();
    for segment in &transcript.segments {
        if segment.start_ms >= OPENING_MS {
            continue;
        }
        for cue in CUES.iter() {
            for found in cue.pattern.find_iter(&segment.text) {
                let (start_ms, end_ms) = segment.time_of(found.start(), found.end());
                cues.push(AttributionCue {
                    speaker: segment.speaker,
                    kind: cue.kind.to_string(),
                    start_ms,
                    end_ms,
                    quote: found.as_str().to_string(),
                });
            }
        }
    }
    cues.sort_by_key(|cue| (cue.start_ms, cue.end_ms));
    let kinds = |speaker: Speaker| {
        let mut kinds: Vec<&str> = cues
            .iter()
            .filter(|cue| cue.speaker == speaker)
            .map(|cue| cue.kind.as_str())
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        kinds.len()
    };
    let warning = (kinds(Speaker::Customer) >= SWAP_KINDS && kinds(Speaker::Agent) == 0).then(|| {
        "the customer's side greets for the company, introduces themselves or offers help, and the agent's side does not: the channels look swapped (check the declared channel layout)".to_string()
    });
    Some(Attribution {
        cues,
        warning,
        voices: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::Segment;

    fn call(turns: &[(Speaker, &str)]) -> Transcript {
        Transcript {
            language: None,
            segments: turns
                .iter()
                .zip(0u64..)
                .map(|(&(speaker, text), i)| {
                    Segment::new(speaker, i * 3_000, i * 3_000 + 2_500, text)
                })
                .collect(),
            attribution: None,
        }
    }

    #[test]
    fn an_agent_who_opens_the_call_is_not_flagged() {
        let checked = check_attribution(&call(&[
            (
                Speaker::Agent,
                "Thank you for calling Acme, my name is Rina. How may I help you?",
            ),
            (Speaker::Customer, "Hi, my parcel is late."),
        ]))
        .expect("both speakers named");
        assert_eq!(checked.warning, None);
        let kinds: Vec<&str> = checked.cues.iter().map(|c| c.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["company_greeting", "self_introduction", "offer_of_help"]
        );
        assert!(checked.cues.iter().all(|c| c.speaker == Speaker::Agent));
        assert_eq!(checked.cues[0].quote, "Thank you for calling");
    }

    #[test]
    fn swapped_channels_are_flagged_with_their_quotes_in_both_languages() {
        for (greeting, reply) in [
            (
                "Selamat pagi, terima kasih telah menghubungi Tokoku, dengan saya Rina, ada yang bisa saya bantu?",
                "Pagi mbak, paket saya belum sampai.",
            ),
            (
                "Good morning, thank you for calling Acme, this is Rina speaking.",
                "Hi, I'm calling about my parcel.",
            ),
        ] {
            // The agent's words on the side named customer.
            let checked = check_attribution(&call(&[
                (Speaker::Customer, greeting),
                (Speaker::Agent, reply),
            ]))
            .expect("both speakers named");
            assert!(checked.warning.is_some(), "{greeting}");
            assert!(checked.cues.iter().all(|c| c.speaker == Speaker::Customer));
            assert!(checked.cues[0].start_ms < 2_500);
        }
    }

    #[test]
    fn one_cue_or_a_late_quote_is_not_enough() {
        // A customer who says "thank you for calling me back" once is not the agent.
        let checked = check_attribution(&call(&[
            (Speaker::Agent, "Hello."),
            (Speaker::Customer, "Oh, thank you for calling me back."),
        ]))
        .expect("both speakers named");
        assert_eq!(checked.warning, None);
        // Mono calls name no one: nothing to check.
        assert_eq!(
            check_attribution(&call(&[(
                Speaker::Unknown,
                "Thank you for calling Acme, this is Rina speaking."
            )])),
            None
        );
    }
}

//! Speakers for a mono recording: its transcript is cut where the voice
//! changes (word by word when word timings exist), and the agent is found
//! among the voices by what agents say in the opening minute (greeting for
//! the company, introducing themselves, offering help), or, when no voice
//! says any of it, as the party heard first. The two voices that talk most
//! are the agent and the customer; any other voice (an IVR prompt, a second
//! agent after a transfer) stays apart, unattributed. Every decision is
//! recorded with its reason.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::diarize::Diarization;
use crate::transcript::{Segment, Speaker, Transcript};

use super::attribution::{OPENING_MS, cue_kinds_in};

/// Longest word that a different voice on both sides takes over (ms).
const ISLAND_MS: u64 = 400;

/// What was decided about one voice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoiceRole {
    /// The voice, numbered from 1 in order of first appearance.
    pub voice: u32,
    /// The role given to it (`unknown` for a voice that is neither party).
    pub speaker: Speaker,
    /// How long it talks, ms.
    pub talk_ms: u64,
    /// When it is first heard, ms.
    pub first_ms: u64,
    /// The kinds of agent cue it says in the opening minute.
    pub cues: Vec<String>,
}

/// How the speakers of a mono recording were told apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoiceAssignment {
    /// Every voice heard, in order of first appearance.
    pub voices: Vec<VoiceRole>,
    /// Why the agent is the agent, in words.
    pub reason: String,
}

/// Cuts segments where the voice changes and labels each piece with its
/// voice (from 1). A word takes the voice that speaks most of its time; a
/// segment without word timings is cut nowhere and takes the voice of most
/// of its time.
pub fn split_by_voice(segments: Vec<Segment>, diarization: &Diarization) -> Vec<Segment> {
    let voice_of = |start_ms: u64, end_ms: u64| {
        diarization
            .voice_during(start_ms, end_ms)
            .or_else(|| diarization.nearest_voice(start_ms, end_ms))
            .map(|v| v as u32 + 1)
    };
    let mut out = Vec::with_capacity(segments.len());
    for mut segment in segments {
        let whole = voice_of(segment.start_ms, segment.end_ms);
        let spans = (!segment.words.is_empty())
            .then(|| segment.word_spans())
            .flatten();
        let Some(spans) = spans else {
            segment.voice = whole;
            out.push(segment);
            continue;
        };
        let mut voices: Vec<Option<u32>> = Vec::with_capacity(segment.words.len());
        for word in &segment.words {
            let voice = voice_of(word.start_ms, word.end_ms)
                .or_else(|| voices.last().copied().flatten())
                .or(whole);
            voices.push(voice);
        }
        // One short word given to another voice inside a run is the edge of
        // a diarization window, not a turn: it stays with its neighbours.
        for i in 1..voices.len().saturating_sub(1) {
            let word = &segment.words[i];
            if voices[i - 1] == voices[i + 1]
                && voices[i] != voices[i - 1]
                && word.end_ms.saturating_sub(word.start_ms) < ISLAND_MS
            {
                voices[i] = voices[i - 1];
            }
        }
        // The first word of each run of one voice.
        let firsts: Vec<usize> = (0..voices.len())
            .filter(|&i| i == 0 || voices[i] != voices[i - 1])
            .collect();
        if firsts.len() <= 1 {
            segment.voice = voices.first().copied().flatten().or(whole);
            out.push(segment);
            continue;
        }
        for (n, &first) in firsts.iter().enumerate() {
            let last = firsts.get(n + 1).map_or(voices.len(), |&next| next);
            let from = if n == 0 { 0 } else { spans[first].0 };
            let to = firsts
                .get(n + 1)
                .map_or(segment.text.len(), |&next| spans[next].0);
            let text = segment.text.get(from..to).unwrap_or("").trim().to_string();
            let words = segment.words[first..last].to_vec();
            let start_ms = if n == 0 {
                segment.start_ms
            } else {
                words.first().map_or(segment.start_ms, |w| w.start_ms)
            };
            let end_ms = if last == voices.len() {
                segment.end_ms
            } else {
                words.last().map_or(segment.end_ms, |w| w.end_ms)
            };
            if text.is_empty() {
                continue;
            }
            out.push(Segment {
                speaker: segment.speaker,
                start_ms,
                end_ms,
                text,
                language: segment.language.clone(),
                confidence: segment.confidence,
                words,
                voice: voices[first],
            });
        }
    }
    out
}

/// Gives the voices of a transcript (from [`split_by_voice`]) their roles and
/// sets each segment's speaker; `None` when the segments carry no voices.
pub fn assign_roles(transcript: &mut Transcript) -> Option<VoiceAssignment> {
    let mut voices: Vec<VoiceRole> = Vec::new();
    for segment in &transcript.segments {
        let Some(voice) = segment.voice else { continue };
        let talk = segment.end_ms.saturating_sub(segment.start_ms);
        let role = match voices.iter_mut().find(|v| v.voice == voice) {
            Some(role) => role,
            None => {
                voices.push(VoiceRole {
                    voice,
                    speaker: Speaker::Unknown,
                    talk_ms: 0,
                    first_ms: segment.start_ms,
                    cues: Vec::new(),
                });
                voices.last_mut()?
            }
        };
        role.talk_ms += talk;
        role.first_ms = role.first_ms.min(segment.start_ms);
        if segment.start_ms < OPENING_MS {
            for kind in cue_kinds_in(&segment.text) {
                if !role.cues.iter().any(|k| k == kind) {
                    role.cues.push(kind.to_string());
                }
            }
        }
    }
    if voices.is_empty() {
        return None;
    }
    voices.sort_by_key(|v| (v.first_ms, v.voice));
    let name = |v: &VoiceRole| format!("voice {}", v.voice);
    // The parties are the two voices that talk most.
    let mut by_talk: Vec<usize> = (0..voices.len()).collect();
    by_talk.sort_by_key(|&i| (std::cmp::Reverse(voices[i].talk_ms), voices[i].first_ms));
    let reason = if voices.len() == 1 {
        "one voice was heard: agent and customer cannot be told apart, so speaker-dependent checks treat every segment as possibly the agent's".to_string()
    } else {
        let (a, b) = (by_talk[0], by_talk[1]);
        let (agent, customer, why) = match voices[a].cues.len().cmp(&voices[b].cues.len()) {
            std::cmp::Ordering::Greater => (a, b, None),
            std::cmp::Ordering::Less => (b, a, None),
            std::cmp::Ordering::Equal => {
                let (first, second) = if voices[a].first_ms <= voices[b].first_ms {
                    (a, b)
                } else {
                    (b, a)
                };
                (first, second, Some(first))
            }
        };
        voices[agent].speaker = Speaker::Agent;
        voices[customer].speaker = Speaker::Customer;
        let others = voices.len() - 2;
        let mut reason = match why {
            None => format!(
                "{} is the agent: in the opening minute it says {} and {} says {}",
                name(&voices[agent]),
                describe(&voices[agent].cues),
                name(&voices[customer]),
                describe(&voices[customer].cues),
            ),
            Some(_) if voices[agent].cues.is_empty() => format!(
                "{} is the agent: neither party greets for the company, introduces themselves or offers help, and it is heard first",
                name(&voices[agent]),
            ),
            Some(_) => format!(
                "{} is the agent: both parties say {}, and it is heard first",
                name(&voices[agent]),
                describe(&voices[agent].cues),
            ),
        };
        if others > 0 {
            reason.push_str(&format!(
                "; {others} other voice{} (an IVR prompt, a transfer) {} kept apart, unattributed",
                if others == 1 { "" } else { "s" },
                if others == 1 { "is" } else { "are" },
            ));
        }
        reason
    };
    for segment in &mut transcript.segments {
        if let Some(role) = segment
            .voice
            .and_then(|voice| voices.iter().find(|v| v.voice == voice))
        {
            segment.speaker = role.speaker;
        }
    }
    Some(VoiceAssignment { voices, reason })
}

/// For a transcript that names no agent or customer but labels its segments
/// with voices (a platform that diarizes but does not know who is who):
/// gives the voices their roles and records the decision. Anything else is
/// left as it is.
pub fn name_unnamed_voices(transcript: &mut Transcript) {
    let names_anyone = transcript
        .segments
        .iter()
        .any(|s| s.speaker != Speaker::Unknown);
    let has_voices = transcript.segments.iter().any(|s| s.voice.is_some());
    if names_anyone || !has_voices {
        return;
    }
    let voices = assign_roles(transcript);
    transcript
        .attribution
        .get_or_insert_with(Default::default)
        .voices = voices;
}

/// Cue kinds in words: "a company greeting and an offer of help".
/// The agent's and the customer's entries of an assignment.
fn parties(assignment: &VoiceAssignment) -> Option<(usize, usize)> {
    let agent = assignment
        .voices
        .iter()
        .position(|v| v.speaker == Speaker::Agent)?;
    let customer = assignment
        .voices
        .iter()
        .position(|v| v.speaker == Speaker::Customer)?;
    Some((agent, customer))
}

/// Whether the two parties said the same number of kinds of opening cue, so
/// that the agent was taken to be the voice heard first.
pub fn parties_tie(assignment: &VoiceAssignment) -> bool {
    parties(assignment).is_some_and(|(agent, customer)| {
        assignment.voices[agent].cues.len() == assignment.voices[customer].cues.len()
    })
}

/// Settles a tie between the parties with hints from the rubric: per voice,
/// the agent phrase lists it says over the whole call (`hints`). The party
/// that says more of them is the agent; the segments, the roles and the
/// reason follow. Returns whether anything changed (equal counts change
/// nothing).
pub fn settle_tie(transcript: &mut Transcript, hints: &BTreeMap<u32, Vec<String>>) -> bool {
    let Some(assignment) = transcript
        .attribution
        .as_mut()
        .and_then(|a| a.voices.as_mut())
    else {
        return false;
    };
    let Some((agent, customer)) = parties(assignment).filter(|_| parties_tie(assignment)) else {
        return false;
    };
    let lists_of = |voice: u32| hints.get(&voice).map_or(&[][..], Vec::as_slice);
    let (agent_voice, customer_voice) = (
        assignment.voices[agent].voice,
        assignment.voices[customer].voice,
    );
    let (by_agent, by_customer) = (lists_of(agent_voice), lists_of(customer_voice));
    if by_agent.len() == by_customer.len() {
        return false;
    }
    let (agent, customer, said, other_count) = if by_customer.len() > by_agent.len() {
        (customer, agent, by_customer, by_agent.len())
    } else {
        (agent, customer, by_agent, by_customer.len())
    };
    assignment.voices[agent].speaker = Speaker::Agent;
    assignment.voices[customer].speaker = Speaker::Customer;
    let others = assignment
        .reason
        .find("; ")
        .map(|at| assignment.reason[at..].to_string())
        .unwrap_or_default();
    assignment.reason = format!(
        "voice {} is the agent: the opening minute does not tell the parties apart, and over the call it says phrases of {} of the rubric's agent lists ({}) against {other_count} for voice {}{others}",
        assignment.voices[agent].voice,
        said.len(),
        said.join(", "),
        assignment.voices[customer].voice,
    );
    let roles: Vec<(u32, Speaker)> = assignment
        .voices
        .iter()
        .map(|v| (v.voice, v.speaker))
        .collect();
    for segment in &mut transcript.segments {
        if let Some(&(_, speaker)) = segment
            .voice
            .and_then(|voice| roles.iter().find(|(v, _)| *v == voice))
        {
            segment.speaker = speaker;
        }
    }
    true
}

fn describe(kinds: &[String]) -> String {
    let words: Vec<&str> = kinds
        .iter()
        .map(|k| match k.as_str() {
            "company_greeting" => "a company greeting",
            "self_introduction" => "a self-introduction",
            "offer_of_help" => "an offer of help",
            other => other,
        })
        .collect();
    match words.as_slice() {
        [] => "no agent cue".to_string(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diarize::VoiceTurn;
    use crate::transcript::Word;

    fn word(text: &str, start_ms: u64, end_ms: u64) -> Word {
        Word {
            start_ms,
            end_ms,
            text: text.to_string(),
            confidence: None,
        }
    }

    fn turns(spans: &[(u64, u64, usize)]) -> Diarization {
        Diarization {
            turns: spans
                .iter()
                .map(|&(start_ms, end_ms, voice)| VoiceTurn {
                    start_ms,
                    end_ms,
                    voice,
                })
                .collect(),
            voices: spans.iter().map(|s| s.2 + 1).max().unwrap_or(0),
        }
    }

    #[test]
    fn a_segment_is_cut_where_the_voice_changes() {
        let mut segment = Segment::new(
            Speaker::Unknown,
            0,
            3000,
            "Thank you for calling. Hi, my parcel is late.",
        );
        segment.words = vec![
            word(" Thank", 0, 300),
            word(" you", 300, 500),
            word(" for", 500, 700),
            word(" calling.", 700, 1200),
            word(" Hi,", 1500, 1700),
            word(" my", 1700, 1900),
            word(" parcel", 1900, 2300),
            word(" is", 2300, 2500),
            word(" late.", 2500, 3000),
        ];
        let split = split_by_voice(vec![segment], &turns(&[(0, 1300, 0), (1400, 3000, 1)]));
        let pieces: Vec<(&str, Option<u32>, u64, u64)> = split
            .iter()
            .map(|s| (s.text.as_str(), s.voice, s.start_ms, s.end_ms))
            .collect();
        assert_eq!(
            pieces,
            vec![
                ("Thank you for calling.", Some(1), 0, 1200),
                ("Hi, my parcel is late.", Some(2), 1500, 3000),
            ]
        );
        assert_eq!(split[1].words.len(), 5);

        // A short word heard as another voice between two of the same stays.
        let mut segment = Segment::new(Speaker::Unknown, 0, 1500, "Thank you for calling");
        segment.words = vec![
            word(" Thank", 0, 300),
            word(" you", 300, 500),
            word(" for", 500, 700),
            word(" calling", 700, 1500),
        ];
        let split = split_by_voice(
            vec![segment],
            &turns(&[(0, 320, 0), (320, 480, 1), (480, 1500, 0)]),
        );
        assert_eq!(split.len(), 1, "{split:?}");
        assert_eq!(split[0].voice, Some(1));
    }

    fn mono(turns: &[(u32, &str)]) -> Transcript {
        Transcript {
            language: None,
            segments: turns
                .iter()
                .zip(0u64..)
                .map(|(&(voice, text), i)| {
                    let mut s = Segment::new(Speaker::Unknown, i * 3000, i * 3000 + 2500, text);
                    s.voice = Some(voice);
                    s
                })
                .collect(),
            attribution: None,
        }
    }

    #[test]
    fn the_voice_that_opens_like_an_agent_is_the_agent_even_when_second() {
        let mut call = mono(&[
            (1, "Halo, halo?"),
            (
                2,
                "Selamat pagi, terima kasih telah menghubungi Tokoku, dengan saya Rina, ada yang bisa saya bantu?",
            ),
            (1, "Paket saya belum sampai, mbak."),
            (2, "Baik, saya cek dulu ya Pak."),
        ]);
        let decided = assign_roles(&mut call).expect("voices");
        let speakers: Vec<Speaker> = call.segments.iter().map(|s| s.speaker).collect();
        assert_eq!(
            speakers,
            [
                Speaker::Customer,
                Speaker::Agent,
                Speaker::Customer,
                Speaker::Agent
            ]
        );
        assert!(
            decided.reason.starts_with("voice 2 is the agent"),
            "{}",
            decided.reason
        );
        assert_eq!(decided.voices[1].cues.len(), 3);
    }

    #[test]
    fn a_platform_transcript_with_voices_gets_roles_and_named_speakers_are_kept() {
        let mut call = mono(&[
            (1, "Hello?"),
            (2, "Thank you for calling Acme, how can I help you?"),
        ]);
        name_unnamed_voices(&mut call);
        assert_eq!(call.segments[1].speaker, Speaker::Agent);
        assert!(call.attribution.and_then(|a| a.voices).is_some());
        let mut named = mono(&[(1, "Hello?"), (2, "Thank you for calling Acme.")]);
        named.segments[0].speaker = Speaker::Agent;
        name_unnamed_voices(&mut named);
        assert_eq!(named.segments[1].speaker, Speaker::Unknown);
        assert!(named.attribution.is_none());
    }

    #[test]
    fn without_cues_the_first_voice_is_the_agent_and_a_third_stays_apart() {
        let mut call = mono(&[
            (1, "Your call may be recorded for quality purposes."),
            (2, "Hello, billing department."),
            (3, "Hi, my bill doubled this month."),
            (
                2,
                "Let me look at it. I see the charge here, I'll explain it.",
            ),
            (3, "Thanks, please do."),
        ]);
        let decided = assign_roles(&mut call).expect("voices");
        let speakers: Vec<Speaker> = call.segments.iter().map(|s| s.speaker).collect();
        // Voices 2 and 3 talk most; neither uses an opening cue; 2 is heard first.
        assert_eq!(speakers[0], Speaker::Unknown);
        assert_eq!(speakers[1], Speaker::Agent);
        assert_eq!(speakers[2], Speaker::Customer);
        assert!(decided.reason.contains("heard first"), "{}", decided.reason);
        assert!(
            decided.reason.contains("1 other voice"),
            "{}",
            decided.reason
        );
    }
}

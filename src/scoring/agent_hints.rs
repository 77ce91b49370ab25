//! The rubric's own hints at who the agent is on a mono recording: the
//! phrases only the agent is expected to say (its greeting, hold and
//! phrase checks that look at the agent's speech and pass when said).
//! Roles are first given when the call is transcribed, before any rubric is
//! chosen; where that left a tie (neither party's opening minute tells them
//! apart, so the voice heard first was taken), these hints settle it.

use std::collections::BTreeMap;

use crate::rubric::{Expect, SpeakerFilter};
use crate::speakers::settle_tie;
use crate::transcript::Transcript;

use super::analysis::Analysis;
use super::compiled::{CompiledDetector, CompiledRubric, Finder};

/// Per voice, the rubric's agent phrase lists it says anywhere in the call:
/// `settings/greeting`, `settings/hold_request`, `settings/hold_thanks`, and
/// `criterion/check` for each phrase check on the agent's speech that passes
/// when a phrase is said.
pub fn agent_phrases_by_voice(
    compiled: &CompiledRubric,
    transcript: &Transcript,
) -> BTreeMap<u32, Vec<String>> {
    let mut by_voice: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    if transcript.segments.iter().all(|s| s.voice.is_none()) {
        return by_voice;
    }
    let settings = &compiled.metric_settings;
    let mut lists: Vec<(String, u32)> = vec![
        ("settings/greeting".to_string(), settings.greeting),
        ("settings/hold_request".to_string(), settings.hold_request),
        ("settings/hold_thanks".to_string(), settings.hold_thanks),
    ];
    for (criterion, checks) in compiled.rubric.criteria.iter().zip(&compiled.checks) {
        for check in checks {
            if let CompiledDetector::Text {
                finder: Finder::Phrases(set),
                expect: Expect::Present,
                ..
            } = check.detector
                && check.speaker == SpeakerFilter::Agent
                && let Some(source) = criterion.checks.get(check.index)
            {
                lists.push((format!("{}/{}", criterion.id, source.id), set));
            }
        }
    }
    let analysis = Analysis::new(&compiled.engine, transcript);
    for (name, set) in lists {
        for hit in analysis.set_hits(set) {
            let Some(voice) = transcript
                .segments
                .get(hit.seg as usize)
                .and_then(|s| s.voice)
            else {
                continue;
            };
            let said = by_voice.entry(voice).or_default();
            if !said.contains(&name) {
                said.push(name.clone());
            }
        }
    }
    by_voice
}

/// The transcript with the agent and the customer settled by the rubric's
/// hints, when its voices were told apart by a tie and the hints point the
/// other way or add evidence; `None` when nothing changes.
pub fn settle_agent_with_rubric(
    compiled: &CompiledRubric,
    transcript: &Transcript,
) -> Option<Transcript> {
    let tied = transcript
        .attribution
        .as_ref()
        .and_then(|a| a.voices.as_ref())
        .is_some_and(crate::speakers::parties_tie);
    if !tied {
        return None;
    }
    let hints = agent_phrases_by_voice(compiled, transcript);
    let mut settled = transcript.clone();
    settle_tie(&mut settled, &hints).then_some(settled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rubric::{default_rubric_source, parse_rubric};
    use crate::speakers::{Attribution, assign_roles};
    use crate::transcript::{Segment, Speaker};

    fn said(voice: u32, start_s: u64, text: &str) -> Segment {
        Segment {
            speaker: Speaker::Unknown,
            start_ms: start_s * 1000,
            end_ms: start_s * 1000 + 4_000,
            text: text.to_string(),
            language: Some("id".to_string()),
            confidence: None,
            words: Vec::new(),
            voice: Some(voice),
        }
    }

    /// A mono call whose customer (voice 1) speaks first and whose agent
    /// (voice 2) neither greets for the company nor introduces themselves
    /// in the opening minute: a tie, so voice 1 was taken for the agent.
    fn tied_call() -> Transcript {
        let mut transcript = Transcript {
            language: Some("id".to_string()),
            segments: vec![
                said(
                    1,
                    0,
                    "Saya mau tanya soal tagihan bulan ini, kok naik dua kali lipat.",
                ),
                said(
                    2,
                    5,
                    "Baik Pak, boleh saya verifikasi data Bapak terlebih dahulu?",
                ),
                said(1, 11, "Budi Santoso, nomor pelanggan dua satu tiga."),
                said(
                    2,
                    16,
                    "Mohon ditunggu sebentar ya Pak, saya cek tagihannya.",
                ),
                said(
                    2,
                    45,
                    "Terima kasih sudah menunggu Pak, tagihannya sudah saya koreksi.",
                ),
                said(1, 51, "Oke, terima kasih."),
            ],
            attribution: None,
        };
        let voices = assign_roles(&mut transcript);
        transcript.attribution = Some(Attribution {
            voices,
            ..Attribution::default()
        });
        transcript
    }

    fn default_rubric() -> CompiledRubric {
        let rubric = parse_rubric(default_rubric_source()).expect("default rubric");
        CompiledRubric::compile(&rubric).expect("compiles")
    }

    #[test]
    fn the_rubrics_agent_phrases_settle_a_tie() {
        let call = tied_call();
        assert_eq!(
            call.segments[0].speaker,
            Speaker::Agent,
            "the tie went to voice 1"
        );
        let compiled = default_rubric();
        let hints = agent_phrases_by_voice(&compiled, &call);
        let agent_lists = hints.get(&2).cloned().unwrap_or_default();
        assert!(
            agent_lists.contains(&"settings/hold_request".to_string())
                && agent_lists.contains(&"settings/hold_thanks".to_string()),
            "{hints:?}"
        );
        let settled = settle_agent_with_rubric(&compiled, &call)
            .unwrap_or_else(|| panic!("the roles change: {hints:?}"));
        for segment in &settled.segments {
            let expected = if segment.voice == Some(2) {
                Speaker::Agent
            } else {
                Speaker::Customer
            };
            assert_eq!(segment.speaker, expected, "{segment:?}");
        }
        let assignment = settled
            .attribution
            .and_then(|a| a.voices)
            .expect("assignment");
        assert!(
            assignment.reason.starts_with("voice 2 is the agent")
                && assignment.reason.contains("rubric's agent lists"),
            "{}",
            assignment.reason
        );
        let roles: Vec<(u32, Speaker)> = assignment
            .voices
            .iter()
            .map(|v| (v.voice, v.speaker))
            .collect();
        assert_eq!(roles, [(1, Speaker::Customer), (2, Speaker::Agent)]);
    }

    #[test]
    fn opening_cues_are_not_overruled() {
        let mut call = tied_call();
        call.segments[1].text =
            "Selamat pagi, terima kasih telah menghubungi Tokoku, dengan saya Rina.".to_string();
        for segment in &mut call.segments {
            segment.speaker = Speaker::Unknown;
        }
        let voices = assign_roles(&mut call);
        call.attribution = Some(Attribution {
            voices,
            ..Attribution::default()
        });
        assert_eq!(call.segments[1].speaker, Speaker::Agent);
        assert!(settle_agent_with_rubric(&default_rubric(), &call).is_none());
    }

    #[test]
    fn stereo_calls_have_no_voices_to_settle() {
        let mut call = tied_call();
        call.attribution = None;
        for segment in &mut call.segments {
            segment.voice = None;
        }
        let compiled = default_rubric();
        assert!(agent_phrases_by_voice(&compiled, &call).is_empty());
        assert!(settle_agent_with_rubric(&compiled, &call).is_none());
    }
}

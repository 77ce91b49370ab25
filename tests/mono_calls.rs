//! A mono recording is scored with agent and customer told apart: a
//! synthesised two-voice call mixed to one channel, uploaded as mono,
//! transcribed by Whisper and diarized by a worker, in English and in
//! Indonesian. Every stretch of speech gets the speaker who really said it,
//! the decision comes with its reason, and the checks that need attributed
//! speakers apply.

mod common;

use callscore::auth::Role;
use callscore::proto::{
    CallMetadata, ChannelLayout, CheckOutcome, GetScorecardRequest, LanguageHint,
    Speaker as PbSpeaker,
};
use callscore::transcript::Speaker;
use common::synth::{SUPPORT_CALL_EN, SUPPORT_CALL_ID, Turn, stereo_call_voices};
use common::{Backend, spawn_app, start_worker, upload_call_bytes};

/// Writes the call mixed down to one channel (as a mono recorder would).
fn mono_mix(dir: &std::path::Path, stereo: &std::path::Path) -> Vec<u8> {
    let mono = dir.join("mono.wav");
    let status = std::process::Command::new("sox")
        .arg(stereo)
        .args(["-c", "1"])
        .arg(&mono)
        .status()
        .expect("sox runs");
    assert!(status.success());
    std::fs::read(mono).expect("mono call")
}

fn true_speaker(turns: &[Turn], start_ms: u64, end_ms: u64) -> Option<Speaker> {
    turns
        .iter()
        .map(|t| {
            let overlap = t
                .end_ms
                .min(end_ms)
                .saturating_sub(t.start_ms.max(start_ms));
            (overlap, t.speaker)
        })
        .filter(|&(overlap, _)| overlap > 0)
        .max_by_key(|&(overlap, _)| overlap)
        .map(|(_, speaker)| speaker)
}

async fn mono_call_is_attributed(
    model: &'static str,
    hint: LanguageHint,
    voices: [&str; 2],
    script: &[(Speaker, &str)],
) {
    let app = spawn_app(Backend::Sqlite).await;
    let _worker = start_worker(&app, |settings| {
        settings.model_path = common::model(model);
    })
    .await;
    let admin = app.key("acme", Role::Admin).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (stereo, turns) = stereo_call_voices(dir.path(), "call", voices, script, true);
    let audio = mono_mix(dir.path(), &stereo);
    let metadata = CallMetadata {
        agent_id: "rina".into(),
        channel_layout: ChannelLayout::Mono as i32,
        language_hint: hint as i32,
        ..Default::default()
    };
    let call_id = upload_call_bytes(&app, &admin, metadata, &audio).await;
    let finished = common::finished_call(&app, &admin, &call_id).await;
    let transcript = finished.transcript.expect("transcript");

    // Every segment has a voice and a speaker; speech time given to the
    // right speaker, against the script.
    let (mut right_ms, mut total_ms) = (0u64, 0u64);
    for segment in &transcript.segments {
        assert!(segment.voice >= 1, "{segment:?}");
        let Some(truth) = true_speaker(&turns, segment.start_ms, segment.end_ms) else {
            continue;
        };
        let expected = match truth {
            Speaker::Agent => PbSpeaker::Agent,
            _ => PbSpeaker::Customer,
        };
        let length = segment.end_ms - segment.start_ms;
        total_ms += length;
        if segment.speaker == expected as i32 {
            right_ms += length;
        } else {
            eprintln!("wrong speaker: {segment:?}");
        }
    }
    let share = right_ms as f64 / total_ms.max(1) as f64;
    eprintln!("{model}: {:.1} % of speech attributed right", share * 100.0);
    assert!(share >= 0.9, "{share}");

    // The decision and its reason.
    let attribution = transcript.attribution.expect("attribution");
    let assigned = attribution.voices.expect("the voices' roles");
    eprintln!("{model}: {}", assigned.reason);
    assert_eq!(assigned.voices.len(), 2, "{assigned:?}");
    let agent = assigned
        .voices
        .iter()
        .find(|v| v.speaker == PbSpeaker::Agent as i32)
        .expect("an agent voice");
    assert!(
        assigned
            .reason
            .starts_with(&format!("voice {} is the agent", agent.voice)),
        "{}",
        assigned.reason
    );
    assert!(attribution.warning.is_empty(), "{}", attribution.warning);

    // The speaker-dependent checks apply.
    let card = latest_scorecard(&app, &admin, finished.call).await;
    let check = |criterion: &str, id: &str| {
        card.machine_result
            .as_ref()
            .expect("machine result")
            .criteria
            .iter()
            .find(|c| c.criterion_id == criterion)
            .and_then(|c| c.checks.iter().find(|k| k.check_id == id))
            .cloned()
            .expect("check")
    };
    let interrupting = check("professionalism", "no_interrupting");
    assert_ne!(
        interrupting.outcome,
        CheckOutcome::NotApplicable as i32,
        "{interrupting:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_english_mono_call_is_scored_with_agent_and_customer_told_apart() {
    mono_call_is_attributed(
        "ggml-tiny.en-q8_0.bin",
        LanguageHint::En,
        ["en-us+f3", "en-us+m3"],
        &SUPPORT_CALL_EN,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_indonesian_mono_call_is_scored_with_agent_and_customer_told_apart() {
    mono_call_is_attributed(
        "ggml-base-q8_0.bin",
        LanguageHint::Id,
        ["id+f3", "id+m3"],
        &SUPPORT_CALL_ID,
    )
    .await;
}

/// The call's latest scorecard.
async fn latest_scorecard(
    app: &common::TestApp,
    admin: &str,
    call: Option<callscore::proto::Call>,
) -> callscore::proto::Scorecard {
    app.scorecards(admin)
        .await
        .get_scorecard(GetScorecardRequest {
            scorecard_id: call.expect("call").latest_scorecard_id,
        })
        .await
        .expect("scorecard")
        .into_inner()
        .scorecard
        .expect("scorecard")
}

/// Submits a platform transcript whose segments carry voices only
/// (`(voice, start in ms, text)`, each 4 s long) and waits for its scoring:
/// the call's id, its stored speakers, and the reason for them.
async fn submit_voices(
    app: &common::TestApp,
    admin: &str,
    said: &[(u32, u64, &str)],
) -> (String, Vec<PbSpeaker>, String) {
    use callscore::proto::TranscriptSegment;
    let segments = said
        .iter()
        .map(|&(voice, start_ms, text)| TranscriptSegment {
            speaker: PbSpeaker::Unknown as i32,
            start_ms,
            end_ms: start_ms + 4_000,
            text: text.into(),
            voice,
            ..Default::default()
        })
        .collect();
    let metadata = CallMetadata {
        agent_id: "rina".into(),
        ..Default::default()
    };
    let (call_id, _) = common::submit_segments(app, admin, metadata, segments).await;
    let transcript = common::finished_call(app, admin, &call_id)
        .await
        .transcript
        .expect("transcript");
    let speakers = transcript
        .segments
        .iter()
        .map(|s| PbSpeaker::try_from(s.speaker).unwrap_or(PbSpeaker::Unspecified))
        .collect();
    let reason = transcript
        .attribution
        .and_then(|a| a.voices)
        .map(|v| v.reason)
        .unwrap_or_default();
    (call_id, speakers, reason)
}

/// A platform that diarizes but does not know who is who submits segments
/// labelled with voices only: the agent is found among them the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submitted_transcript_with_voices_only_gets_agent_and_customer() {
    let app = spawn_app(Backend::Sqlite).await;
    let admin = app.key("acme", Role::Admin).await;
    let said = [
        (1, 0, "Hello? Yes, hello."),
        (
            2,
            5_000,
            "Good morning, thank you for calling Acme, my name is Rina. How can I help you?",
        ),
        (1, 10_000, "My parcel has not arrived yet."),
        (
            2,
            15_000,
            "I am sorry to hear that, let me check it for you.",
        ),
    ];
    let (_, speakers, reason) = submit_voices(&app, &admin, &said).await;
    use PbSpeaker::{Agent, Customer};
    assert_eq!(speakers, [Customer, Agent, Customer, Agent]);
    assert!(reason.starts_with("voice 2 is the agent"), "{reason}");
}

/// Neither party's opening minute tells them apart and the customer speaks
/// first: the rubric's agent phrases (hold, verification) settle who the
/// agent is, on the stored transcript and on the scorecard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rubrics_agent_phrases_settle_a_tie_between_voices() {
    let app = spawn_app(Backend::Sqlite).await;
    let admin = app.key("acme", Role::Admin).await;
    let said = [
        (
            1,
            0,
            "I would like to ask about my bill, it doubled this month.",
        ),
        (
            2,
            5_000,
            "Okay, may I verify your full name and date of birth first?",
        ),
        (1, 11_000, "Budi Santoso, fourth of May nineteen ninety."),
        (
            2,
            16_000,
            "Please hold for a moment while I check the bill.",
        ),
        (
            2,
            45_000,
            "Thank you for holding, I have corrected the bill.",
        ),
        (1, 51_000, "Okay, thanks."),
    ];
    let (call_id, speakers, reason) = submit_voices(&app, &admin, &said).await;
    use PbSpeaker::{Agent, Customer};
    assert_eq!(
        speakers,
        [Customer, Agent, Customer, Agent, Agent, Customer]
    );
    assert!(
        reason.starts_with("voice 2 is the agent") && reason.contains("hold_request"),
        "{reason}"
    );
    // The scorecard judged voice 2 as the agent: it asked to hold and thanked.
    let finished = common::finished_call(&app, &admin, &call_id).await;
    let card = latest_scorecard(&app, &admin, finished.call).await;
    let hold = card
        .machine_result
        .as_ref()
        .expect("machine result")
        .criteria
        .iter()
        .flat_map(|c| c.checks.iter())
        .find(|c| c.check_id == "hold_etiquette")
        .cloned()
        .expect("hold check");
    assert_eq!(hold.outcome, CheckOutcome::Pass as i32, "{hold:?}");
}

//! A stereo layout declared the wrong way round is flagged, with the quotes
//! that show it: a real call (espeak-ng voices on two channels, 8 kHz μ-law)
//! transcribed by Whisper and scored by a worker, uploaded once with the
//! layout it has and once with the opposite one; and a platform's transcript
//! whose labels are swapped.

mod common;

use callscore::auth::Role;
use callscore::proto::{CallMetadata, ChannelLayout, Speaker as PbSpeaker, SpeakerAttribution};
use callscore::transcript::Speaker;
use common::synth::stereo_call;
use common::{Backend, TestApp, spawn_app, start_worker, submit_turns, upload_call_bytes};

const SCRIPT: [(Speaker, &str); 4] = [
    (
        Speaker::Agent,
        "Good morning, thank you for calling Acme support, my name is Rina. How can I help you today?",
    ),
    (
        Speaker::Customer,
        "Hello, my internet connection has been down since yesterday evening.",
    ),
    (
        Speaker::Agent,
        "I am sorry to hear that. Let me check your account right now.",
    ),
    (Speaker::Customer, "Thank you very much, I will wait."),
];

async fn attribution_of(app: &TestApp, key: &str, call_id: &str) -> Option<SpeakerAttribution> {
    common::finished_call(app, key, call_id)
        .await
        .transcript
        .expect("transcript")
        .attribution
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swapped_stereo_layout_is_flagged_with_its_evidence() {
    let app = spawn_app(Backend::Sqlite).await;
    let worker = start_worker(&app, |_| {}).await;
    let admin = app.key("acme", Role::Admin).await;
    let dir = tempfile::tempdir().expect("tempdir");
    // The agent really is on the left channel.
    let (path, turns) = stereo_call(dir.path(), "attribution", "en-us", &SCRIPT, true);
    let audio = std::fs::read(&path).expect("call");
    let upload = |layout: ChannelLayout| {
        let audio = audio.clone();
        let app = &app;
        let admin = &admin;
        async move {
            let metadata = CallMetadata {
                agent_id: "rina".into(),
                channel_layout: layout as i32,
                language_hint: callscore::proto::LanguageHint::En as i32,
                ..Default::default()
            };
            upload_call_bytes(app, admin, metadata, &audio).await
        }
    };

    // Declared as it is: the agent's side opens the call; no warning.
    let right = upload(ChannelLayout::StereoAgentLeft).await;
    let checked = attribution_of(&app, &admin, &right)
        .await
        .expect("a stereo call is checked");
    assert!(checked.warning.is_empty(), "{checked:?}");
    let kinds: Vec<&str> = checked.cues.iter().map(|c| c.kind.as_str()).collect();
    assert!(
        kinds.contains(&"company_greeting") && kinds.contains(&"offer_of_help"),
        "{checked:?}"
    );
    assert!(
        checked
            .cues
            .iter()
            .all(|c| c.speaker == PbSpeaker::Agent as i32)
    );

    // Declared the other way round: flagged, the cues on the "customer" side,
    // timed within the agent's real first turn.
    let wrong = upload(ChannelLayout::StereoAgentRight).await;
    let checked = attribution_of(&app, &admin, &wrong)
        .await
        .expect("a stereo call is checked");
    assert!(checked.warning.contains("swapped"), "{checked:?}");
    let opening = &turns[0];
    for cue in &checked.cues {
        assert_eq!(cue.speaker, PbSpeaker::Customer as i32, "{cue:?}");
        assert!(
            cue.start_ms + 500 >= opening.start_ms && cue.end_ms <= opening.end_ms + 500,
            "{cue:?} lies outside the first turn {}–{} ms",
            opening.start_ms,
            opening.end_ms
        );
    }
    let greeting = checked
        .cues
        .iter()
        .find(|c| c.kind == "company_greeting")
        .expect("the greeting is quoted");
    assert_eq!(greeting.quote.to_lowercase(), "thank you for calling");

    // A platform's transcript with its labels swapped is flagged the same way.
    let swapped: Vec<(PbSpeaker, &str)> = SCRIPT
        .iter()
        .map(|&(speaker, text)| {
            let label = if speaker == Speaker::Agent {
                PbSpeaker::Customer
            } else {
                PbSpeaker::Agent
            };
            (label, text)
        })
        .collect();
    let (call_id, _) = submit_turns(
        &app,
        &admin,
        CallMetadata {
            agent_id: "rina".into(),
            ..Default::default()
        },
        &swapped,
    )
    .await;
    let checked = attribution_of(&app, &admin, &call_id)
        .await
        .expect("a transcript naming both speakers is checked");
    assert!(checked.warning.contains("swapped"), "{checked:?}");

    // A mono call names no speakers: there is nothing to check.
    let (mono, _) = submit_turns(
        &app,
        &admin,
        CallMetadata {
            agent_id: "rina".into(),
            ..Default::default()
        },
        &[
            (PbSpeaker::Unknown, SCRIPT[0].1),
            (PbSpeaker::Unknown, SCRIPT[1].1),
        ],
    )
    .await;
    assert_eq!(attribution_of(&app, &admin, &mono).await, None);
    worker.stop().await;
    app.stop().await;
}

//! A call that switches language is transcribed in the language spoken:
//! the agent opens in Indonesian, the customer answers in English, and the
//! agent switches to English, back to Indonesian for one turn, and ends in
//! English. Uploaded with no language hint and transcribed by the
//! multilingual model through a real worker, every turn's segments carry the
//! turn's language and English turns come out in English words.

mod common;

use callscore::auth::Role;
use callscore::proto::{CallMetadata, ChannelLayout, LanguageHint};
use callscore::transcript::Speaker;
use common::synth::{Turn, stereo_call_turns};
use common::{Backend, spawn_app, start_worker, upload_call_bytes};

const AGENT_ID: &str = "id+f3";
const AGENT_EN: &str = "en-us+f3";
const CUSTOMER_EN: &str = "en-us+m3";

/// One turn: speaker, voice, text, language, and a word an English turn
/// must keep.
type ScriptTurn = (
    Speaker,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

/// Indonesian first, then mostly English.
const BANK_CALL: [ScriptTurn; 6] = [
    (
        Speaker::Agent,
        AGENT_ID,
        "Selamat pagi, terima kasih telah menghubungi layanan pelanggan Bank Sejahtera, dengan saya Rina, ada yang bisa saya bantu?",
        "id",
        "",
    ),
    (
        Speaker::Customer,
        CUSTOMER_EN,
        "Hi, sorry, I don't speak Indonesian very well. Can we talk in English please? My credit card was blocked yesterday.",
        "en",
        "english",
    ),
    (
        Speaker::Agent,
        AGENT_EN,
        "Of course sir, no problem. I am sorry to hear that your card was blocked. May I have your full name and date of birth please?",
        "en",
        "sorry",
    ),
    (
        Speaker::Customer,
        CUSTOMER_EN,
        "My name is John Smith and I was born on the fourth of May nineteen ninety.",
        "en",
        "name",
    ),
    (
        Speaker::Agent,
        AGENT_ID,
        "Baik Pak, mohon ditunggu sebentar, saya periksa dulu data kartu Bapak di sistem kami.",
        "id",
        "",
    ),
    (
        Speaker::Agent,
        AGENT_EN,
        "Thank you for waiting sir. Your card was blocked because of a suspicious transaction. I have unblocked it now.",
        "en",
        "card",
    ),
];

/// The segments that overlap a turn.
fn over<'a>(
    segments: &'a [callscore::proto::TranscriptSegment],
    turn: &Turn,
) -> Vec<&'a callscore::proto::TranscriptSegment> {
    segments
        .iter()
        .filter(|s| s.start_ms < turn.end_ms && s.end_ms > turn.start_ms)
        .collect()
}

/// Uploads the scripted call with no language hint and checks every turn.
async fn transcribed_in_the_languages_spoken(script: &[ScriptTurn], main_language: &str) {
    let app = spawn_app(Backend::Sqlite).await;
    let _worker = start_worker(&app, |settings| {
        settings.model_path = common::model("ggml-base.bin");
    })
    .await;
    let admin = app.key("acme", Role::Admin).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let spoken: Vec<(Speaker, &str, &str)> = script
        .iter()
        .map(|&(speaker, voice, text, _, _)| (speaker, voice, text))
        .collect();
    let (stereo, turns) = stereo_call_turns(dir.path(), "switch", &spoken, true);
    let audio = std::fs::read(&stereo).expect("call audio");
    let metadata = CallMetadata {
        agent_id: "rina".into(),
        channel_layout: ChannelLayout::StereoAgentLeft as i32,
        language_hint: LanguageHint::Unspecified as i32,
        ..Default::default()
    };
    let call_id = upload_call_bytes(&app, &admin, metadata, &audio).await;
    let finished = common::finished_call(&app, &admin, &call_id).await;
    let transcript = finished.transcript.expect("transcript");
    let summary: Vec<String> = transcript
        .segments
        .iter()
        .map(|s| format!("[{}–{} {}] {}", s.start_ms, s.end_ms, s.language, s.text))
        .collect();
    let summary = summary.join("\n");

    for (turn, &(_, _, _, language, keeps)) in turns.iter().zip(script) {
        let segments = over(&transcript.segments, turn);
        let labels: Vec<&str> = segments.iter().map(|s| s.language.as_str()).collect();
        assert!(
            !labels.is_empty() && labels.iter().all(|l| *l == language),
            "turn {:?} at {}–{} ms should be {language}, got {labels:?}:\n{summary}",
            turn.text,
            turn.start_ms,
            turn.end_ms,
        );
        let said: Vec<String> = segments.iter().map(|s| s.text.to_lowercase()).collect();
        assert!(
            said.join(" ").contains(keeps),
            "turn {:?} came out as {said:?}",
            turn.text
        );
    }
    // The call's language is the one spoken longest.
    assert_eq!(transcript.language, main_language, "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_who_switches_to_english_is_transcribed_in_both() {
    transcribed_in_the_languages_spoken(&BANK_CALL, "en").await;
}

//! Redacted audio, end to end with real Whisper weights on SQLite and
//! PostgreSQL: a customer reads a card number aloud; once the call is transcribed the
//! stored recording has its words overwritten on both channels
//! (silence, or a tone where the tenant chose one), every other sample is
//! kept as uploaded, and the upload itself is gone from the blob store. A
//! worker that stops between committing the redacted recording and deleting
//! the upload leaves the deletion queued; the next worker finishes it.

mod common;

use std::path::Path;

use callscore::audio::mask::{MASK_MARGIN_MS, MaskSound, TONE_LEVEL, masked_range};
use callscore::auth::Role;
use callscore::proto::*;
use callscore::store::{NewScorecard, RedactedAudio, Store};
use callscore::transcript::{Speaker as Who, TimeSpan};
use common::synth::{Turn, stereo_call};
use common::{Backend, TestApp, spawn_app, upload_call_bytes};

both_backends!(
    the_mask_sound_is_a_validated_audited_setting,
    spoken_secrets_leave_the_stored_recording,
    a_worker_stopped_before_deleting_the_upload_leaves_it_to_the_next,
);

/// The customer reads a card number and nothing else, so the whole turn is
/// the secret and its true extent is known.
const SCRIPT: [(Who, &str); 3] = [
    (
        Who::Agent,
        "Thank you for calling. Please read me the number on the card.",
    ),
    (Who::Customer, "4111 1111 1111 1111"),
    (Who::Agent, "Thank you, you are verified."),
];

/// The scripted call as 8 kHz 16-bit PCM stereo (agent left), and its turns.
fn recording(dir: &Path) -> (Vec<u8>, Vec<Turn>) {
    let (ulaw, turns) = stereo_call(dir, "pin", "en-us", &SCRIPT, true);
    let pcm = dir.join("pin-pcm16.wav");
    let status = std::process::Command::new("sox")
        .arg(&ulaw)
        .args(["-e", "signed-integer", "-b", "16"])
        .arg(&pcm)
        .status()
        .expect("sox runs");
    assert!(status.success());
    (std::fs::read(&pcm).expect("the PCM recording"), turns)
}

/// Interleaved 16-bit samples and their channel count and rate.
fn samples(wav: &[u8]) -> (Vec<i16>, u16, u32) {
    let mut reader = hound::WavReader::new(std::io::Cursor::new(wav)).expect("a WAV");
    let spec = reader.spec();
    let samples = reader
        .samples::<i16>()
        .collect::<Result<Vec<_>, _>>()
        .expect("16-bit samples");
    (samples, spec.channels, spec.sample_rate)
}

/// A file holding an audio encryption key.
fn key_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("audio.key");
    std::fs::write(&path, "5e".repeat(32)).expect("key file");
    path
}

/// A worker-only server beside `app`, with the sealing key at `key` when given.
async fn start_worker(app: &TestApp, key: Option<&Path>) -> common::Worker {
    common::start_worker(app, |settings| {
        if let Some(key) = key {
            settings.audio_encryption_key_file = key.to_path_buf();
        }
    })
    .await
}

async fn scored(app: &TestApp, key: &str, call_id: &str) -> GetCallResponse {
    common::finished_call(app, key, call_id).await
}

async fn stored_audio(app: &TestApp, key: &str, call_id: &str) -> (Vec<u8>, String) {
    let mut stream = app
        .calls(key)
        .await
        .get_call_audio(GetCallAudioRequest {
            call_id: call_id.to_string(),
            rendering: AudioRendering::Original as i32,
            ..Default::default()
        })
        .await
        .expect("audio")
        .into_inner();
    let mut bytes = Vec::new();
    let mut content_type = String::new();
    while let Some(chunk) = stream.message().await.expect("chunk") {
        content_type = chunk.content_type;
        bytes.extend_from_slice(&chunk.data);
    }
    (bytes, content_type)
}

async fn set_redaction(
    app: &TestApp,
    admin: &str,
    policy: AudioRedactionPolicy,
    path: &str,
) -> Result<(), tonic::Status> {
    app.tenants(admin)
        .await
        .update_tenant_settings(UpdateTenantSettingsRequest {
            settings: Some(TenantSettings {
                audio_redaction: Some(policy),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec![path.into()],
            }),
        })
        .await
        .map(|_| ())
}

async fn set_sound(app: &TestApp, admin: &str, sound: pb_sound::Sound) {
    let policy = AudioRedactionPolicy {
        sound: sound as i32,
        ..Default::default()
    };
    set_redaction(app, admin, policy, "audio_redaction.sound")
        .await
        .expect("settings");
}

/// The proto enum under a name that does not clash with the library's.
mod pb_sound {
    pub use callscore::proto::MaskSound as Sound;
}

async fn spoken_secrets_leave_the_stored_recording(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (upload, turns) = recording(dir.path());
    let secret_turn = &turns[1];
    let key = key_file(dir.path());
    let app = common::spawn_app_with(backend, |settings| {
        settings.audio_encryption_key_file = key.clone();
    })
    .await;
    let worker = start_worker(&app, Some(&key)).await;
    // initech keeps originals, sealed with the operator's key.
    for (tenant, sound) in [
        ("acme", MaskSound::Silence),
        ("globex", MaskSound::Tone),
        ("initech", MaskSound::Silence),
    ] {
        let admin = app.key(tenant, Role::Admin).await;
        if sound == MaskSound::Tone {
            set_sound(&app, &admin, pb_sound::Sound::Tone).await;
        }
        if tenant == "initech" {
            let keep = AudioRedactionPolicy {
                keep_original: true,
                ..Default::default()
            };
            set_redaction(&app, &admin, keep, "audio_redaction.keep_original")
                .await
                .expect("keeping originals with a key");
        }
        let metadata = CallMetadata {
            agent_id: "rina".into(),
            channel_layout: ChannelLayout::StereoAgentLeft as i32,
            language_hint: LanguageHint::En as i32,
            ..Default::default()
        };
        let call_id = upload_call_bytes(&app, &admin, metadata, &upload).await;
        let fetched = scored(&app, &admin, &call_id).await;
        let call = fetched.call.expect("call");
        assert_eq!(call.status, CallStatus::Scored as i32, "{call:?}");
        let transcript = fetched.transcript.expect("transcript");
        assert!(
            call.audio_redacted_at.is_some(),
            "{tenant}: {call:?} {transcript:?}"
        );
        let masked: Vec<TimeSpan> = transcript
            .segments
            .iter()
            .flat_map(|s| &s.words)
            // Whisper may hear a digit wrong and make the card a phone
            // number: either way it is masked.
            .filter(|w| w.text == "[CARD]" || w.text == "[PHONE]")
            .map(|w| TimeSpan {
                start_ms: w.start_ms,
                end_ms: w.end_ms,
            })
            .collect();
        let text: Vec<&str> = transcript
            .segments
            .iter()
            .map(|s| s.text.as_str())
            .collect();
        assert_eq!(masked.len(), 1, "{tenant}: one masked number in {text:?}");
        let span = masked[0];
        // The mask, with its margins, covers the whole spoken answer.
        assert!(
            span.start_ms.saturating_sub(MASK_MARGIN_MS) <= secret_turn.start_ms
                && span.end_ms + MASK_MARGIN_MS >= secret_turn.end_ms,
            "{tenant}: masked {span:?}, spoken {}..{} ms",
            secret_turn.start_ms,
            secret_turn.end_ms
        );

        let (stored, content_type) = stored_audio(&app, &admin, &call_id).await;
        assert_eq!(content_type, "audio/wav");
        assert_eq!(call.audio_bytes, stored.len() as u64);
        let (after, channels, rate) = samples(&stored);
        let (before, original_channels, original_rate) = samples(&upload);
        assert_eq!((channels, rate), (original_channels, original_rate));
        assert_eq!((channels, rate), (2, 8_000), "kept as recorded");
        assert_eq!(after.len(), before.len());
        let frames = before.len() / 2;
        let range = masked_range(span, rate, frames);
        let mut masked_energy = 0.0_f64;
        for frame in 0..frames {
            for channel in 0..2 {
                let (old, new) = (before[frame * 2 + channel], after[frame * 2 + channel]);
                if range.contains(&frame) {
                    masked_energy += f64::from(new).powi(2);
                    if sound == MaskSound::Silence {
                        assert_eq!(new, 0, "{tenant}: frame {frame} channel {channel}");
                    }
                } else {
                    assert_eq!(
                        old, new,
                        "{tenant}: frame {frame} channel {channel} changed"
                    );
                }
            }
        }
        let masked_rms = (masked_energy / (range.len() * 2) as f64).sqrt() / 32_768.0;
        if sound == MaskSound::Tone {
            let expected = f64::from(TONE_LEVEL) / 2f64.sqrt();
            assert!(
                (masked_rms - expected).abs() < 0.005,
                "{tenant}: tone rms {masked_rms}"
            );
        }

        // The upload is gone: the redacted recording is the only copy.
        let files = app.blob_files();
        let holding_upload: Vec<_> = files
            .iter()
            .filter(|f| std::fs::read(f).is_ok_and(|bytes| bytes == upload))
            .collect();
        assert!(holding_upload.is_empty(), "{holding_upload:?}");

        let record = app.store.get_call(tenant, &call_id).await.expect("call");
        if tenant != "initech" {
            assert_eq!(record.sealed_audio_key, None);
            continue;
        }
        // The sealed original holds no audio in the clear, and opens with the
        // key (bound to its place) to the upload, byte for byte.
        let sealed_key = record.sealed_audio_key.expect("a sealed original");
        let blobs = callscore::blobs::BlobStore::local(app.blob_dir.path()).expect("blobs");
        let sealed = blobs.read(&sealed_key).await.expect("sealed blob");
        let middle = &upload[upload.len() / 2..upload.len() / 2 + 64];
        assert!(!sealed.windows(64).any(|w| w == middle), "plaintext leaked");
        let sealer = callscore::seal::Sealer::from_key_file(&key).expect("key");
        assert_eq!(sealer.open(&sealed, &sealed_key).expect("opens"), upload);
        // Deleting the call takes the sealed original with it.
        app.calls(&admin)
            .await
            .delete_call(DeleteCallRequest {
                call_id: call_id.clone(),
            })
            .await
            .expect("delete");
        assert!(
            blobs.read(&sealed_key).await.is_err(),
            "sealed original deleted"
        );
    }
    assert_eq!(app.blob_files().len(), 2, "{:?}", app.blob_files());
    assert!(
        app.store
            .pending_blob_deletions(10)
            .await
            .expect("queue")
            .is_empty()
    );
    worker.stop().await;
    app.stop().await;
}

/// The state a worker leaves when it stops right after committing: the call
/// points at the redacted recording, the upload is still stored and queued
/// for deletion. A worker started later deletes it.
async fn a_worker_stopped_before_deleting_the_upload_leaves_it_to_the_next(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    let call_id = common::upload_placeholder_call(
        &app,
        &admin,
        CallMetadata {
            agent_id: "rina".into(),
            ..Default::default()
        },
    )
    .await;
    let store: &dyn Store = app.store.as_ref();
    let record = store.get_call("acme", &call_id).await.expect("call");
    let upload_key = record.call.audio_key.clone().expect("uploaded");
    let job = store
        .claim_job("stopped-worker", 60_000)
        .await
        .expect("claim")
        .expect("a job");
    let redacted_key = format!("{upload_key}.redacted.wav");
    let blobs = callscore::blobs::BlobStore::local(app.blob_dir.path()).expect("blobs");
    let mut redacted = blobs.start_upload(&redacted_key).await.expect("upload");
    redacted.write(b"redacted").await.expect("write");
    redacted.finish().await.expect("finish");
    let scorecard: NewScorecard = common::scored_card(&record.call, &call_id, "system");
    let completed = store
        .complete_job(
            &job,
            "{\"segments\":[]}",
            &scorecard,
            Some(&RedactedAudio {
                blob_key: redacted_key.clone(),
                bytes: 8,
                replaced_key: upload_key.clone(),
                sealed_key: None,
            }),
        )
        .await
        .expect("complete");
    assert!(completed);
    let record = store.get_call("acme", &call_id).await.expect("call");
    assert_eq!(
        record.call.audio_key.as_deref(),
        Some(redacted_key.as_str())
    );
    assert_eq!(record.call.audio_bytes, 8);
    assert!(record.audio_redacted_at_ms.is_some());
    assert_eq!(
        store.pending_blob_deletions(10).await.expect("queue"),
        std::slice::from_ref(&upload_key)
    );
    assert!(blobs.read(&upload_key).await.is_ok(), "still stored");

    let worker = start_worker(&app, None).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while blobs.read(&upload_key).await.is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the upload is never deleted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    while !store
        .pending_blob_deletions(10)
        .await
        .expect("queue")
        .is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the queue never empties"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        &blobs.read(&redacted_key).await.expect("kept")[..],
        b"redacted"
    );
    worker.stop().await;
    app.stop().await;
}

async fn the_mask_sound_is_a_validated_audited_setting(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    let mut tenants = app.tenants(&admin).await;
    let sound_of = |settings: Option<TenantSettings>| {
        settings
            .and_then(|s| s.audio_redaction)
            .map(|policy| policy.sound)
    };
    let initial = tenants
        .get_tenant_settings(GetTenantSettingsRequest {})
        .await
        .expect("settings")
        .into_inner()
        .settings;
    assert_eq!(sound_of(initial), Some(pb_sound::Sound::Silence as i32));

    let refused = tenants
        .update_tenant_settings(UpdateTenantSettingsRequest {
            settings: Some(TenantSettings {
                audio_redaction: Some(AudioRedactionPolicy {
                    sound: 9,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["audio_redaction".into()],
            }),
        })
        .await
        .expect_err("an unknown sound");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(
        refused.message().contains("settings.audio_redaction.sound"),
        "{}",
        refused.message()
    );

    // Without the operator's key, originals cannot be kept.
    let keep = AudioRedactionPolicy {
        keep_original: true,
        ..Default::default()
    };
    let refused = set_redaction(&app, &admin, keep, "audio_redaction.keep_original")
        .await
        .expect_err("no key configured");
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert!(
        refused.message().contains("keep_original"),
        "{}",
        refused.message()
    );
    set_sound(&app, &admin, pb_sound::Sound::Tone).await;
    let updated = tenants
        .get_tenant_settings(GetTenantSettingsRequest {})
        .await
        .expect("settings")
        .into_inner()
        .settings;
    assert_eq!(sound_of(updated), Some(pb_sound::Sound::Tone as i32));
    let events = tenants
        .list_tenant_events(ListTenantEventsRequest::default())
        .await
        .expect("events")
        .into_inner()
        .events;
    assert_eq!(
        events.len(),
        1,
        "the refused update wrote nothing: {events:?}"
    );
    assert!(
        events[0]
            .detail
            .contains(r#"audio_redaction: {"sound":"silence","keep_original":false} -> {"sound":"tone","keep_original":false}"#),
        "{}",
        events[0].detail
    );
    app.stop().await;
}

#[test]
fn operators_set_the_mask_sound_from_the_cli() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/tenant.db", dir.path().display());
    // The tenant exists once it has a key.
    common::cli_admin_key(&url);
    let callscore = |args: &[&str]| common::callscore_on(&url, args);
    let shown = callscore(&["tenant", "settings", "--tenant", "acme"]);
    let text = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(text.contains("masked speech  silence"), "{text}");
    assert!(text.contains("originals      deleted"), "{text}");
    let set = callscore(&[
        "tenant",
        "audio-redaction",
        "--tenant",
        "acme",
        "--sound",
        "tone",
    ]);
    assert!(set.status.success(), "{set:?}");
    let text = String::from_utf8_lossy(&set.stdout).into_owned();
    assert!(text.contains("masked speech  tone"), "{text}");
    assert!(text.contains("by cli"), "{text}");
    let wrong = callscore(&[
        "tenant",
        "audio-redaction",
        "--tenant",
        "acme",
        "--sound",
        "beep",
    ]);
    assert_eq!(wrong.status.code(), Some(2), "{wrong:?}");
    let unkeyed = callscore(&[
        "tenant",
        "audio-redaction",
        "--tenant",
        "acme",
        "--keep-original",
        "true",
    ]);
    assert!(!unkeyed.status.success(), "{unkeyed:?}");
    assert!(
        String::from_utf8_lossy(&unkeyed.stderr).contains("audio_encryption_key_file"),
        "{unkeyed:?}"
    );
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("beep"));
}

//! Per-tenant settings (TenantService) and the retention policy they hold:
//! set through the admin RPC, enforced by the retention worker's sweep,
//! every change and every purge audited; on SQLite and PostgreSQL.

mod common;

use std::time::Duration;

use callscore::auth::Role;
use callscore::blobs::BlobStore;
use callscore::jobs::retention;
use callscore::proto::*;
use common::{Backend, TestApp, spawn_app};
use tonic::Code;

both_backends!(
    settings_round_trip_with_etag_roles_and_audit,
    retention_purges_old_audio_and_transcripts_and_audits_each,
);

const DAY_S: i64 = 24 * 3600;

fn now_s() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock");
    since_epoch.as_secs() as i64
}

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

fn retention_update(
    audio: u32,
    transcript: u32,
    paths: &[&str],
    etag: &str,
) -> UpdateTenantSettingsRequest {
    UpdateTenantSettingsRequest {
        settings: Some(TenantSettings {
            retention: Some(RetentionPolicy {
                audio_days: audio,
                transcript_days: transcript,
            }),
            etag: etag.into(),
            ..Default::default()
        }),
        update_mask: mask(paths),
    }
}

async fn settings_round_trip_with_etag_roles_and_audit(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    let reviewer = app.key("acme", Role::Reviewer).await;
    let other = app.key("globex", Role::Admin).await;
    let mut tenants = app.tenants(&admin).await;

    let initial = tenants
        .get_tenant_settings(GetTenantSettingsRequest {})
        .await
        .expect("get")
        .into_inner()
        .settings
        .expect("settings");
    assert_eq!(initial.retention, Some(RetentionPolicy::default()));
    assert!(initial.updated_at.is_none());

    let updated = tenants
        .update_tenant_settings(retention_update(
            30,
            0,
            &["retention.audio_days"],
            &initial.etag,
        ))
        .await
        .expect("update")
        .into_inner()
        .settings
        .expect("settings");
    assert_eq!(
        updated.retention,
        Some(RetentionPolicy {
            audio_days: 30,
            transcript_days: 0
        })
    );
    assert_ne!(updated.etag, initial.etag);
    assert!(updated.updated_at.is_some());
    assert!(!updated.updated_by.is_empty());

    // The mask decides: transcript_days 99 is not written.
    let masked = tenants
        .update_tenant_settings(retention_update(7, 99, &["retention.audio_days"], ""))
        .await
        .expect("update")
        .into_inner()
        .settings
        .expect("settings");
    assert_eq!(masked.retention.expect("retention").transcript_days, 0);

    // A stale etag is a concurrent edit.
    let stale = tenants
        .update_tenant_settings(retention_update(1, 1, &["retention"], &updated.etag))
        .await
        .expect_err("stale etag");
    assert_eq!(stale.code(), Code::Aborted);

    for (request, field) in [
        (retention_update(1, 1, &[], ""), "update_mask"),
        (
            retention_update(1, 1, &["retention.forever"], ""),
            "update_mask",
        ),
        (
            retention_update(4000, 0, &["retention"], ""),
            "settings.retention.audio_days",
        ),
        (
            retention_update(0, 4000, &["retention.transcript_days"], ""),
            "settings.retention.transcript_days",
        ),
        (
            retention_update(1, 1, &["retention"], "not-an-etag"),
            "settings.etag",
        ),
    ] {
        let status = tenants
            .update_tenant_settings(request)
            .await
            .expect_err("invalid");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().starts_with(field), "{status:?}");
    }

    let denied = app
        .tenants(&reviewer)
        .await
        .get_tenant_settings(GetTenantSettingsRequest {})
        .await
        .expect_err("reviewers cannot");
    assert_eq!(denied.code(), Code::PermissionDenied);

    // Another tenant sees its own defaults.
    let theirs = app
        .tenants(&other)
        .await
        .get_tenant_settings(GetTenantSettingsRequest {})
        .await
        .expect("get")
        .into_inner()
        .settings
        .expect("settings");
    assert_eq!(theirs.retention, Some(RetentionPolicy::default()));

    let events = tenants
        .list_tenant_events(ListTenantEventsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("events")
        .into_inner();
    assert_eq!(events.events.len(), 1);
    assert!(!events.next_page_token.is_empty());
    let newest = &events.events[0];
    assert_eq!(newest.action(), TenantEventAction::SettingsChanged);
    assert!(
        newest.detail.contains("\"audio_days\":7"),
        "{}",
        newest.detail
    );
    let rest = tenants
        .list_tenant_events(ListTenantEventsRequest {
            page_size: 10,
            page_token: events.next_page_token,
        })
        .await
        .expect("events")
        .into_inner();
    assert_eq!(rest.events.len(), 1);
    assert!(rest.events[0].detail.contains("\"audio_days\":30"));
    app.stop().await;
}

fn metadata(started_s: i64, external: &str) -> CallMetadata {
    CallMetadata {
        agent_id: "rina".into(),
        team_id: "t".into(),
        external_call_id: external.into(),
        call_started_at: Some(prost_types::Timestamp {
            seconds: started_s,
            nanos: 0,
        }),
        ..Default::default()
    }
}

async fn scored_call(app: &TestApp, key: &str, started_s: i64) -> (String, String) {
    let segment = |speaker: Speaker, start_ms, end_ms, text: &str| TranscriptSegment {
        speaker: speaker as i32,
        start_ms,
        end_ms,
        text: text.into(),
        ..Default::default()
    };
    let response = app
        .calls(key)
        .await
        .submit_transcript(SubmitTranscriptRequest {
            metadata: Some(metadata(started_s, &format!("ext-{started_s}"))),
            transcript: Some(Transcript {
                language: "en".into(),
                segments: vec![
                    segment(
                        Speaker::Agent,
                        0,
                        3_000,
                        "Good morning, thank you for calling, my name is Rina.",
                    ),
                    segment(
                        Speaker::Customer,
                        3_200,
                        6_000,
                        "My parcel is late and I am upset.",
                    ),
                    segment(
                        Speaker::Agent,
                        6_200,
                        10_000,
                        "I am sorry to hear that, I understand how frustrating that is.",
                    ),
                ],
                model_id: String::new(),
                attribution: None,
            }),
        })
        .await
        .expect("submit")
        .into_inner();
    (response.call.expect("call").call_id, response.scorecard_id)
}

fn quotes(card: &Scorecard) -> Vec<String> {
    [&card.machine_result, &card.reviewed_result]
        .into_iter()
        .flatten()
        .flat_map(|result| &result.criteria)
        .flat_map(|c| &c.checks)
        .flat_map(|check| &check.evidence)
        .map(|e| e.quote.clone())
        .collect()
}

async fn retention_purges_old_audio_and_transcripts_and_audits_each(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    let (old_call, old_card) = scored_call(&app, &admin, now_s() - 100 * DAY_S).await;
    let (recent_call, recent_card) = scored_call(&app, &admin, now_s() - DAY_S).await;
    // An old recording whose processing failed: finished, with audio.
    let audio_call =
        common::upload_placeholder_call(&app, &admin, metadata(now_s() - 100 * DAY_S, "ext-audio"))
            .await;
    let job = app
        .store
        .claim_job("worker", 60_000)
        .await
        .expect("claim")
        .expect("job");
    app.store
        .fail_attempt(&job, "not audio", true, 0)
        .await
        .expect("fail");
    assert_eq!(app.blob_files().len(), 1);

    let blobs = BlobStore::local(app.blob_dir.path()).expect("blobs");
    let week = Duration::from_secs(7 * 24 * 3600);
    // No policy: nothing goes.
    let purged = retention::sweep(app.store.as_ref(), &blobs, week)
        .await
        .expect("sweep");
    assert_eq!((purged.audio, purged.transcripts), (0, 0));

    app.tenants(&admin)
        .await
        .update_tenant_settings(retention_update(30, 60, &["retention"], ""))
        .await
        .expect("policy");
    let purged = retention::sweep(app.store.as_ref(), &blobs, week)
        .await
        .expect("sweep");
    assert_eq!((purged.audio, purged.transcripts), (1, 1));
    assert!(app.blob_files().is_empty(), "{:?}", app.blob_files());
    // A second sweep finds nothing left to do.
    let again = retention::sweep(app.store.as_ref(), &blobs, week)
        .await
        .expect("sweep");
    assert_eq!((again.audio, again.transcripts), (0, 0));

    let mut calls = app.calls(&admin).await;
    let get = |call_id: &str| GetCallRequest {
        call_id: call_id.to_string(),
    };
    let audio = calls
        .get_call(get(&audio_call))
        .await
        .expect("get")
        .into_inner();
    let audio = audio.call.expect("call");
    assert!(audio.audio_purged_at.is_some());
    assert!(audio.transcript_purged_at.is_none());

    let old = calls
        .get_call(get(&old_call))
        .await
        .expect("get")
        .into_inner();
    assert!(old.transcript.is_none(), "transcript kept");
    assert!(old.call.expect("call").transcript_purged_at.is_some());
    let recent = calls
        .get_call(get(&recent_call))
        .await
        .expect("get")
        .into_inner();
    assert!(recent.transcript.is_some());
    assert!(recent.call.expect("call").transcript_purged_at.is_none());

    let mut scorecards = app.scorecards(&admin).await;
    let card = |id: &str| GetScorecardRequest {
        scorecard_id: id.to_string(),
    };
    let old_card = scorecards
        .get_scorecard(card(&old_card))
        .await
        .expect("card")
        .into_inner()
        .scorecard
        .expect("scorecard");
    let recent_card = scorecards
        .get_scorecard(card(&recent_card))
        .await
        .expect("card")
        .into_inner()
        .scorecard
        .expect("scorecard");
    let old_quotes = quotes(&old_card);
    assert!(!old_quotes.is_empty(), "evidence (times) stays");
    assert!(old_quotes.iter().all(String::is_empty), "{old_quotes:?}");
    assert!(quotes(&recent_card).iter().any(|q| !q.is_empty()));
    let overall = |card: &Scorecard| card.machine_result.as_ref().and_then(|r| r.overall_score);
    assert_eq!(overall(&old_card), overall(&recent_card));

    let status = scorecards
        .rescore_call(RescoreCallRequest {
            call_id: old_call.clone(),
            ..Default::default()
        })
        .await
        .expect_err("no transcript to rescore");
    assert_eq!(status.code(), Code::FailedPrecondition);

    let events = app
        .tenants(&admin)
        .await
        .list_tenant_events(ListTenantEventsRequest::default())
        .await
        .expect("events")
        .into_inner()
        .events;
    let purges: Vec<_> = events
        .iter()
        .filter(|e| e.action() != TenantEventAction::SettingsChanged)
        .map(|e| (e.action(), e.call_id.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(purges.len(), 2, "{events:?}");
    assert!(purges.contains(&(
        TenantEventAction::AudioPurged,
        audio_call.as_str(),
        "retention"
    )));
    assert!(purges.contains(&(
        TenantEventAction::TranscriptPurged,
        old_call.as_str(),
        "retention"
    )));
    app.stop().await;
}

fn callscore(args: &[&str], database_url: &str) -> std::process::Output {
    common::callscore_on(database_url, args)
}

#[test]
fn the_cli_shows_and_sets_retention_with_an_audit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/tenant.db", dir.path().display());
    let created = callscore(
        &["keys", "create", "--tenant", "acme", "--role", "admin"],
        &url,
    );
    assert!(created.status.success(), "{created:?}");

    let shown = callscore(&["tenant", "settings", "--tenant", "acme"], &url);
    assert!(shown.status.success(), "{shown:?}");
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("audio          kept"), "{text}");

    let set = callscore(
        &[
            "tenant",
            "retention",
            "--tenant",
            "acme",
            "--audio-days",
            "30",
        ],
        &url,
    );
    assert!(set.status.success(), "{set:?}");
    let set = callscore(
        &[
            "tenant",
            "retention",
            "--tenant",
            "acme",
            "--transcript-days",
            "90",
        ],
        &url,
    );
    assert!(set.status.success(), "{set:?}");
    let text = String::from_utf8_lossy(&set.stdout).into_owned();
    assert!(text.contains("audio          30 days"), "{text}");
    assert!(text.contains("transcripts    90 days"), "{text}");
    assert!(text.contains("version        v2"), "{text}");
    assert!(text.contains("by cli"), "{text}");

    for (args, says) in [
        (
            vec!["tenant", "retention", "--tenant", "acme"],
            "--audio-days",
        ),
        (
            vec![
                "tenant",
                "retention",
                "--tenant",
                "acme",
                "--audio-days",
                "4000",
            ],
            "4000",
        ),
        (
            vec!["tenant", "settings", "--tenant", "nobody"],
            "tenant \"nobody\" not found",
        ),
    ] {
        let refused = callscore(&args, &url);
        assert!(!refused.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

//! How far to trust each machine check (GetCheckReliability), on SQLite and
//! PostgreSQL: reviewers overturn the greeting check on six of ten reviewed
//! calls and confirm four; the report counts only reviewed scorecards of
//! calls in the period, gives the confusion matrix, the change rate and the
//! precision and recall of "fail" with Wilson intervals, and flags the
//! greeting check alone. ConfirmScorecard is audited and changes no score.

mod common;

use callscore::auth::Role;
use callscore::proto::*;
use common::{Backend, TestApp, spawn_app};
use tonic::Code;

both_backends!(reviewers_overturning_a_check_get_it_flagged);

/// 2026-11-02T00:00:00Z.
const NOVEMBER: i64 = 1_793_577_600;
const DAY: i64 = 86_400;

fn at(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
}

/// A scored call started at `started_s`; returns its scorecard id.
async fn scored_call(app: &TestApp, key: &str, started_s: i64) -> String {
    let metadata = CallMetadata {
        agent_id: "rina".into(),
        call_started_at: at(started_s),
        ..Default::default()
    };
    let turns = [
        (
            Speaker::Agent,
            "Good morning, thank you for calling Nusantara Shop, this is Rina.",
        ),
        (Speaker::Customer, "My parcel has not arrived."),
        (
            Speaker::Agent,
            "I will check it now and call you back today.",
        ),
    ];
    common::submit_turns(app, key, metadata, &turns).await.1
}

async fn override_greeting(app: &TestApp, key: &str, scorecard_id: &str) {
    app.reviews(key)
        .await
        .override_check(OverrideCheckRequest {
            scorecard_id: scorecard_id.into(),
            criterion_id: "professionalism".into(),
            check_id: "greeting".into(),
            new_outcome: CheckOutcome::Fail as i32,
            reason: "greeted before the line was connected".into(),
            ..Default::default()
        })
        .await
        .expect("override");
}

async fn reliability(
    app: &TestApp,
    key: &str,
    request: GetCheckReliabilityRequest,
) -> Result<GetCheckReliabilityResponse, tonic::Status> {
    Ok(app
        .reviews(key)
        .await
        .get_check_reliability(request)
        .await?
        .into_inner())
}

/// The whole of November, by call start.
fn november() -> GetCheckReliabilityRequest {
    GetCheckReliabilityRequest {
        call_started: period(NOVEMBER, NOVEMBER + 30 * DAY),
        ..Default::default()
    }
}

fn period(start_s: i64, end_s: i64) -> Option<TimeRange> {
    Some(TimeRange {
        start: at(start_s),
        end: at(end_s),
    })
}

async fn reviewers_overturning_a_check_get_it_flagged(backend: Backend) {
    let app = spawn_app(backend).await;
    let reviewer = app.key("acme", Role::Reviewer).await;
    let ingest = app.key("acme", Role::Ingest).await;
    let mut cards = Vec::new();
    for index in 0..12 {
        cards.push(scored_call(&app, &ingest, NOVEMBER + index * DAY).await);
    }
    // Before the period: reviewed too, but not counted.
    let october = scored_call(&app, &ingest, NOVEMBER - 20 * DAY).await;
    override_greeting(&app, &reviewer, &october).await;

    let machine_greeting = {
        let card = app
            .scorecards(&reviewer)
            .await
            .get_scorecard(GetScorecardRequest {
                scorecard_id: cards[0].clone(),
            })
            .await
            .expect("card")
            .into_inner()
            .scorecard
            .expect("scorecard");
        card.machine_result
            .expect("machine")
            .criteria
            .iter()
            .flat_map(|c| c.checks.clone())
            .find(|c| c.check_id == "greeting")
            .expect("the default rubric's greeting check")
    };
    assert_eq!(machine_greeting.outcome, CheckOutcome::Pass as i32);

    for card in &cards[..6] {
        override_greeting(&app, &reviewer, card).await;
    }
    let mut reviews = app.reviews(&reviewer).await;
    for card in &cards[6..10] {
        let confirmed = reviews
            .confirm_scorecard(ConfirmScorecardRequest {
                scorecard_id: card.clone(),
                reason: String::new(),
            })
            .await
            .expect("confirm")
            .into_inner()
            .event
            .expect("event");
        assert_eq!(confirmed.action, AuditAction::Confirmed as i32);
        assert_eq!(confirmed.old_overall_score, confirmed.new_overall_score);
    }
    let history = reviews
        .list_audit_events(ListAuditEventsRequest {
            scorecard_id: cards[6].clone(),
            ..Default::default()
        })
        .await
        .expect("history")
        .into_inner()
        .events;
    assert!(
        history
            .iter()
            .any(|e| e.action == AuditAction::Confirmed as i32),
        "{history:?}"
    );

    let report = reliability(&app, &reviewer, november())
        .await
        .expect("report");
    assert_eq!(
        report.reviewed_scorecards, 10,
        "two unreviewed and one October call are left out"
    );
    let greeting = &report.checks[0];
    assert_eq!(
        (greeting.criterion_id.as_str(), greeting.check_id.as_str()),
        ("professionalism", "greeting"),
        "the most overturned check comes first"
    );
    assert_eq!(greeting.reviewed, 10);
    let changed = greeting.changed.expect("changed");
    assert_eq!((changed.count, changed.of), (6, 10));
    assert!((changed.rate - 0.6).abs() < 1e-9);
    // Wilson 95 % for 6/10: 0.3127 to 0.8318.
    assert!((changed.low - 0.3127).abs() < 1e-3, "{changed:?}");
    assert!((changed.high - 0.8318).abs() < 1e-3, "{changed:?}");
    assert!(greeting.flagged);
    let cell = |machine: CheckOutcome, reviewed: CheckOutcome| {
        greeting
            .confusion
            .iter()
            .find(|c| c.machine == machine as i32 && c.reviewed == reviewed as i32)
            .map_or(0, |c| c.count)
    };
    assert_eq!(cell(CheckOutcome::Pass, CheckOutcome::Fail), 6);
    assert_eq!(cell(CheckOutcome::Pass, CheckOutcome::Pass), 4);
    assert_eq!(greeting.confusion.len(), 2, "{:?}", greeting.confusion);
    let precision = greeting.fail_precision.expect("precision");
    assert_eq!((precision.count, precision.of), (0, 0), "no machine fails");
    let recall = greeting.fail_recall.expect("recall");
    assert_eq!((recall.count, recall.of), (0, 6), "missed every real fail");
    for other in &report.checks[1..] {
        assert!(!other.flagged, "{other:?}");
        assert_eq!(other.changed.expect("changed").count, 0, "{other:?}");
        assert_eq!(other.reviewed, 10);
    }

    // A stricter minimum leaves it unflagged; another rubric has no data.
    let strict = reliability(
        &app,
        &reviewer,
        GetCheckReliabilityRequest {
            flag_min_reviews: 11,
            ..november()
        },
    )
    .await
    .expect("report");
    assert!(strict.checks.iter().all(|c| !c.flagged));
    let other_rubric = reliability(
        &app,
        &reviewer,
        GetCheckReliabilityRequest {
            rubric_id: "no-such-rubric".into(),
            ..november()
        },
    )
    .await
    .expect("report");
    assert_eq!(other_rubric.reviewed_scorecards, 0);
    assert!(other_rubric.checks.is_empty());

    // Bad requests name the field; other roles and tenants see nothing.
    for (request, field) in [
        (
            GetCheckReliabilityRequest {
                call_started: Some(TimeRange {
                    start: at(NOVEMBER),
                    end: None,
                }),
                ..Default::default()
            },
            "call_started",
        ),
        (
            GetCheckReliabilityRequest {
                call_started: period(NOVEMBER, NOVEMBER + DAY),
                flag_change_rate: 1.5,
                ..Default::default()
            },
            "flag_change_rate",
        ),
    ] {
        let error = reliability(&app, &reviewer, request)
            .await
            .expect_err("invalid");
        assert_eq!(error.code(), Code::InvalidArgument);
        assert!(error.message().contains(field), "{}", error.message());
    }
    let denied = reliability(&app, &ingest, november())
        .await
        .expect_err("ingest keys cannot read reviews");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let stranger = app.key("globex", Role::Reviewer).await;
    let empty = reliability(&app, &stranger, november())
        .await
        .expect("report");
    assert_eq!(empty.reviewed_scorecards, 0);
    app.stop().await;
}

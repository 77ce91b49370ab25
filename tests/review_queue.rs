//! Reviewers' queue, on SQLite and PostgreSQL: a tenant's sampling rules
//! put scored calls into the queue as they are scored (a reproducible random
//! share, every critical failure, low transcript confidence), each task says
//! which rules picked it and with which draw; reviewers list, claim and
//! finish tasks, and finishing confirms the scorecard.

mod common;

use callscore::auth::Role;
use callscore::proto::*;
use callscore::review::{iso_week, sampling::draw};
use common::{Backend, TestApp, spawn_app};
use tonic::Code;

both_backends!(
    sampled_calls_land_in_the_queue_and_reviewers_work_them,
    workers_pick_each_teams_lowest_scores_of_last_week,
    round_robin_assigns_tasks_in_turn,
);

/// 2026-11-30T10:00:00Z, a Monday of ISO week 49.
const STARTED_MS: i64 = 1_796_032_800_000;

/// The default rubric with the privacy check made critical.
fn strict_rubric() -> String {
    let document = common::rubric_document("strict", 1);
    let critical = document.replace(
        "        sensitive_data: {kinds:",
        "        critical: true\n        sensitive_data: {kinds:",
    );
    assert_ne!(critical, document, "the privacy check was found");
    critical
}

/// Submits a transcript scored with the strict rubric; returns (call id,
/// scorecard id).
async fn submit(app: &TestApp, key: &str, agent_line: &str, confidence: f32) -> (String, String) {
    let segment = |speaker: Speaker, start_ms: u64, text: &str| TranscriptSegment {
        speaker: speaker as i32,
        start_ms,
        end_ms: start_ms + 2_000,
        text: text.into(),
        confidence,
        ..Default::default()
    };
    let metadata = CallMetadata {
        agent_id: "rina".into(),
        rubric_id: "strict".into(),
        call_started_at: Some(prost_types::Timestamp {
            seconds: STARTED_MS / 1000,
            nanos: 0,
        }),
        ..Default::default()
    };
    let segments = vec![
        segment(Speaker::Agent, 0, "Good morning, this is Rina."),
        segment(Speaker::Customer, 2_000, "My parcel is late."),
        segment(Speaker::Agent, 4_000, agent_line),
    ];
    common::submit_segments(app, key, metadata, segments).await
}

async fn all_tasks(
    app: &TestApp,
    key: &str,
    request: ListReviewTasksRequest,
) -> Result<Vec<ReviewTask>, tonic::Status> {
    let mut tasks = Vec::new();
    let mut request = ListReviewTasksRequest {
        page_size: 3,
        ..request
    };
    loop {
        let page = app
            .reviews(key)
            .await
            .list_review_tasks(request.clone())
            .await?
            .into_inner();
        tasks.extend(page.tasks);
        if page.next_page_token.is_empty() {
            return Ok(tasks);
        }
        request.page_token = page.next_page_token;
    }
}

async fn sampled_calls_land_in_the_queue_and_reviewers_work_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    app.rubrics(Some(&admin))
        .await
        .create_rubric(CreateRubricRequest {
            document: strict_rubric(),
        })
        .await
        .expect("rubric");
    let policy = ReviewSamplingPolicy {
        random_percent: 30,
        critical_failures: true,
        low_confidence_below: 0.5,
        ..Default::default()
    };
    common::set_review_sampling(&app, &admin, policy, "review_sampling").await;

    let ingest = app.key("acme", Role::Ingest).await;
    let polite = "I will check it and call you back today.";
    // (call id, scorecard id, expected reasons)
    let mut expected: Vec<(String, String, Vec<&str>)> = Vec::new();
    let week = iso_week(STARTED_MS);
    for index in 0..16 {
        let (line, confidence) = match index {
            0 => ("Please read me your full card number and the CVV.", 0.9),
            1 | 2 => (polite, 0.3),
            _ => (polite, 0.9),
        };
        let (call_id, scorecard_id) = submit(&app, &ingest, line, confidence).await;
        let mut reasons = Vec::new();
        // The draw anyone can recompute from tenant, week and call id.
        if draw("acme", &week, &call_id) < 0.3 {
            reasons.push("random");
        }
        if index == 0 {
            reasons.push("critical_failure");
        }
        if confidence < 0.5 {
            reasons.push("low_confidence");
        }
        expected.push((call_id, scorecard_id, reasons));
    }

    let reviewer = app.key("acme", Role::Reviewer).await;
    let tasks = all_tasks(&app, &reviewer, ListReviewTasksRequest::default())
        .await
        .expect("tasks");
    let wanted: Vec<_> = expected.iter().filter(|(_, _, r)| !r.is_empty()).collect();
    assert!(wanted.len() >= 3, "the critical and low-confidence calls");
    assert_eq!(tasks.len(), wanted.len(), "{tasks:?}");
    for (call_id, scorecard_id, reasons) in &wanted {
        let task = tasks
            .iter()
            .find(|t| &t.call_id == call_id)
            .unwrap_or_else(|| panic!("no task for {call_id} ({reasons:?})"));
        assert_eq!(&task.scorecard_id, scorecard_id);
        assert_eq!(&task.reasons, reasons);
        assert_eq!(task.week, week);
        assert_eq!(task.draw, draw("acme", &week, call_id));
        assert_eq!(task.state, ReviewTaskState::ToReview as i32);
        assert_eq!(task.agent_id, "rina");
    }
    let critical = all_tasks(
        &app,
        &reviewer,
        ListReviewTasksRequest {
            reason: "critical_failure".into(),
            ..Default::default()
        },
    )
    .await
    .expect("critical tasks");
    assert_eq!(critical.len(), 1);
    assert_eq!(critical[0].call_id, expected[0].0);

    // One reviewer claims; another can neither claim nor finish it.
    let task_id = critical[0].task_id.clone();
    let mut reviews = app.reviews(&reviewer).await;
    let claimed = reviews
        .claim_review_task(ClaimReviewTaskRequest {
            task_id: task_id.clone(),
        })
        .await
        .expect("claim")
        .into_inner()
        .task
        .expect("task");
    assert_eq!(claimed.state, ReviewTaskState::InReview as i32);
    let other = app.key("acme", Role::Reviewer).await;
    let mut others = app.reviews(&other).await;
    for status in [
        others
            .claim_review_task(ClaimReviewTaskRequest {
                task_id: task_id.clone(),
            })
            .await
            .expect_err("taken"),
        others
            .complete_review_task(CompleteReviewTaskRequest {
                task_id: task_id.clone(),
                reason: String::new(),
            })
            .await
            .expect_err("not theirs"),
    ] {
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        assert!(status.message().contains("task_id"), "{status:?}");
    }
    let mine = all_tasks(
        &app,
        &reviewer,
        ListReviewTasksRequest {
            mine: true,
            ..Default::default()
        },
    )
    .await
    .expect("mine");
    assert_eq!(mine.len(), 1);

    let done = reviews
        .complete_review_task(CompleteReviewTaskRequest {
            task_id: task_id.clone(),
            reason: "asked for the CVV; coached".into(),
        })
        .await
        .expect("complete")
        .into_inner()
        .task
        .expect("task");
    assert_eq!(done.state, ReviewTaskState::Done as i32);
    let history = reviews
        .list_audit_events(ListAuditEventsRequest {
            scorecard_id: expected[0].1.clone(),
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
        "finishing confirms the scorecard: {history:?}"
    );
    let waiting = all_tasks(
        &app,
        &reviewer,
        ListReviewTasksRequest {
            state: ReviewTaskState::ToReview as i32,
            ..Default::default()
        },
    )
    .await
    .expect("waiting");
    assert_eq!(waiting.len(), wanted.len() - 1);

    // Bad filters name the field; other roles and tenants see nothing.
    let bad = all_tasks(
        &app,
        &reviewer,
        ListReviewTasksRequest {
            reason: "whim".into(),
            ..Default::default()
        },
    )
    .await
    .expect_err("unknown reason");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().contains("reason"), "{}", bad.message());
    let denied = all_tasks(&app, &ingest, ListReviewTasksRequest::default())
        .await
        .expect_err("ingest keys do not review");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let stranger = app.key("globex", Role::Reviewer).await;
    let theirs = all_tasks(&app, &stranger, ListReviewTasksRequest::default())
        .await
        .expect("tasks");
    assert!(theirs.is_empty());
    let missing = reviews
        .claim_review_task(ClaimReviewTaskRequest {
            task_id: "01a23b3a-0000-7000-8000-000000000000".into(),
        })
        .await
        .expect_err("no such task");
    assert_eq!(missing.code(), Code::NotFound);
    app.stop().await;
}

/// Last week's calls of two teams with different scores, and one of this
/// week: a worker samples the lowest-scoring call of each team of last week,
/// once.
async fn workers_pick_each_teams_lowest_scores_of_last_week(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    let policy = ReviewSamplingPolicy {
        lowest_per_team: 1,
        ..Default::default()
    };
    common::set_review_sampling(&app, &admin, policy, "review_sampling.lowest_per_team").await;
    let now_ms = callscore::store::now_ms();
    let (_, last_monday, this_monday) = callscore::review::sampling::previous_week(now_ms);
    let lines = [
        "Good morning, thank you for calling, this is Rina. I am so sorry about the delay; I will call you back today at ten with the tracking update.",
        "What.",
        "Hello, this is Rina. I will check it.",
    ];
    let ingest = app.key("acme", Role::Ingest).await;
    for team in ["blue", "green"] {
        for (index, line) in lines.iter().enumerate() {
            let metadata = CallMetadata {
                agent_id: format!("{team}-agent"),
                team_id: team.into(),
                call_started_at: Some(prost_types::Timestamp {
                    seconds: (last_monday + 3_600_000 * (index as i64 + 1)) / 1000,
                    nanos: 0,
                }),
                ..Default::default()
            };
            let turns = [
                (Speaker::Agent, "Good morning."),
                (Speaker::Customer, "My parcel is late and I am upset."),
                (Speaker::Agent, *line),
            ];
            common::submit_turns(&app, &ingest, metadata, &turns).await;
        }
    }
    // This week's poor call waits for its week to end.
    let this_week = CallMetadata {
        agent_id: "blue-agent".into(),
        team_id: "blue".into(),
        call_started_at: Some(prost_types::Timestamp {
            seconds: this_monday / 1000 + 60,
            nanos: 0,
        }),
        ..Default::default()
    };
    common::submit_turns(&app, &ingest, this_week, &[(Speaker::Agent, "What.")]).await;

    // What each team's lowest reviewed score of last week is (ties by id).
    let reviewer = app.key("acme", Role::Reviewer).await;
    let cards = app
        .scorecards(&reviewer)
        .await
        .list_scorecards(ListScorecardsRequest {
            page_size: 100,
            call_started: Some(TimeRange {
                start: Some(prost_types::Timestamp {
                    seconds: last_monday / 1000,
                    nanos: 0,
                }),
                end: Some(prost_types::Timestamp {
                    seconds: this_monday / 1000,
                    nanos: 0,
                }),
            }),
            ..Default::default()
        })
        .await
        .expect("cards")
        .into_inner()
        .scorecards;
    assert_eq!(cards.len(), 6);
    let lowest = |team: &str| {
        cards
            .iter()
            .filter(|c| c.team_id == team)
            .filter_map(|c| {
                let score = c.reviewed_result.as_ref()?.overall_score?;
                Some((score, c.scorecard_id.clone()))
            })
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
            .map(|(_, id)| id)
            .expect("a scored card")
    };
    let scores: Vec<_> = cards
        .iter()
        .map(|c| c.reviewed_result.as_ref().and_then(|r| r.overall_score))
        .collect();

    let worker = common::start_worker(&app, |_| {}).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let tasks = loop {
        let tasks = all_tasks(&app, &reviewer, ListReviewTasksRequest::default())
            .await
            .expect("tasks");
        if tasks.len() >= 2 {
            break tasks;
        }
        assert!(std::time::Instant::now() < deadline, "no tasks: {tasks:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    worker.stop().await;
    assert_eq!(tasks.len(), 2, "{tasks:?} (scores {scores:?})");
    for team in ["blue", "green"] {
        let task = tasks
            .iter()
            .find(|t| t.team_id == team)
            .unwrap_or_else(|| panic!("no task for team {team}"));
        assert_eq!(task.scorecard_id, lowest(team), "scores {scores:?}");
        assert_eq!(task.reasons, ["lowest_in_team"]);
        assert_eq!(task.week, iso_week(last_monday));
    }
    // Another pass (a second worker) adds nothing.
    let again = common::start_worker(&app, |_| {}).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    again.stop().await;
    let after = all_tasks(&app, &reviewer, ListReviewTasksRequest::default())
        .await
        .expect("tasks");
    assert_eq!(after.len(), 2);
    app.stop().await;
}

/// A key's id: the part between `cs_` and the secret.
fn key_id(key: &str) -> String {
    key.split('_').nth(1).expect("cs_ID_SECRET").to_string()
}

async fn round_robin_assigns_tasks_in_turn(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    let ana = app.key("acme", Role::Reviewer).await;
    let budi = app.key("acme", Role::Reviewer).await;
    let policy = ReviewSamplingPolicy {
        random_percent: 100,
        round_robin: vec![key_id(&ana), key_id(&budi)],
        ..Default::default()
    };
    common::set_review_sampling(&app, &admin, policy, "review_sampling").await;
    let ingest = app.key("acme", Role::Ingest).await;
    for _ in 0..4 {
        let metadata = CallMetadata {
            agent_id: "rina".into(),
            ..Default::default()
        };
        common::submit_turns(&app, &ingest, metadata, &[(Speaker::Agent, "Hello.")]).await;
    }
    let tasks = all_tasks(&app, &ana, ListReviewTasksRequest::default())
        .await
        .expect("tasks");
    let assignees: Vec<String> = tasks.iter().map(|t| t.assignee.clone()).collect();
    assert_eq!(
        assignees,
        [key_id(&ana), key_id(&budi), key_id(&ana), key_id(&budi)]
    );
    assert!(
        tasks
            .iter()
            .all(|t| t.state == ReviewTaskState::ToReview as i32)
    );
    let budis = all_tasks(
        &app,
        &budi,
        ListReviewTasksRequest {
            mine: true,
            ..Default::default()
        },
    )
    .await
    .expect("budi's");
    assert_eq!(budis.len(), 2);
    // Ana's task is hers to claim, not Budi's.
    let refused = app
        .reviews(&budi)
        .await
        .claim_review_task(ClaimReviewTaskRequest {
            task_id: tasks[0].task_id.clone(),
        })
        .await
        .expect_err("assigned to ana");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let claimed = app
        .reviews(&ana)
        .await
        .claim_review_task(ClaimReviewTaskRequest {
            task_id: tasks[0].task_id.clone(),
        })
        .await
        .expect("ana claims her task")
        .into_inner()
        .task
        .expect("task");
    assert_eq!(claimed.state, ReviewTaskState::InReview as i32);
    app.stop().await;
}

//! Agent keys, team-scoped coach keys and disputes, on SQLite and
//! PostgreSQL: an agent key sees only its agent's scorecards, a scoped coach
//! key only its team's; agents and coaches dispute checks with a comment; a
//! reviewer accepts one (an override, audited) and rejects another with a
//! reason; the thread is in the audit trail and on the change feed; agents
//! acknowledge scorecards.

mod common;

use callscore::auth::Role;
use callscore::proto::dispute_service_client::DisputeServiceClient;
use callscore::proto::key_service_client::KeyServiceClient;
use callscore::proto::*;
use callscore::store::ChangeKind;
use common::{
    Authed, Backend, BearerKey, TestApp, callscore_client as callscore, spawn_app,
    stdout_json as json,
};
use tonic::Code;

both_backends!(agents_and_coaches_dispute_checks_and_reviewers_resolve_them);

async fn disputes(app: &TestApp, key: &str) -> DisputeServiceClient<Authed> {
    DisputeServiceClient::with_interceptor(app.channel().await, BearerKey(Some(key.into())))
}

async fn keys(app: &TestApp, key: &str) -> KeyServiceClient<Authed> {
    KeyServiceClient::with_interceptor(app.channel().await, BearerKey(Some(key.into())))
}

/// A key made over the API; returns (secret, key).
async fn scoped_key(
    app: &TestApp,
    admin: &str,
    role: KeyRole,
    agent_id: &str,
    team_id: &str,
) -> Result<(String, ApiKey), tonic::Status> {
    let created = keys(app, admin)
        .await
        .create_api_key(CreateApiKeyRequest {
            role: role as i32,
            agent_id: agent_id.into(),
            team_id: team_id.into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    Ok((created.secret, created.key.expect("key")))
}

async fn scored_call(app: &TestApp, key: &str, agent: &str, team: &str) -> String {
    let metadata = CallMetadata {
        agent_id: agent.into(),
        team_id: team.into(),
        ..Default::default()
    };
    let turns = [
        (
            Speaker::Agent,
            "Good morning, this is the Nusantara Shop help line.",
        ),
        (Speaker::Customer, "My parcel has not arrived."),
        (
            Speaker::Agent,
            "I will check it now and call you back today.",
        ),
    ];
    common::submit_turns(app, key, metadata, &turns).await.1
}

fn reviewed_outcome(card: &Scorecard, criterion: &str, check: &str) -> i32 {
    card.reviewed_result
        .as_ref()
        .expect("reviewed")
        .criteria
        .iter()
        .filter(|c| c.criterion_id == criterion)
        .flat_map(|c| c.checks.iter())
        .find(|c| c.check_id == check)
        .map(|c| c.review.as_ref().map_or(c.outcome, |r| r.outcome))
        .expect("check")
}

fn open_request(scorecard_id: &str, check: &str, comment: &str) -> OpenDisputeRequest {
    let (criterion_id, check_id) = check.split_once('/').expect("CRITERION/CHECK");
    OpenDisputeRequest {
        scorecard_id: scorecard_id.into(),
        criterion_id: criterion_id.into(),
        check_id: check_id.into(),
        comment: comment.into(),
    }
}

async fn agents_and_coaches_dispute_checks_and_reviewers_resolve_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    let ingest = app.key("acme", Role::Ingest).await;
    let reviewer = app.key("acme", Role::Reviewer).await;

    // Scopes fit roles.
    let unbound = scoped_key(&app, &admin, KeyRole::Agent, "", "")
        .await
        .expect_err("unbound agent");
    assert_eq!(unbound.code(), Code::InvalidArgument);
    assert!(unbound.message().starts_with("agent_id:"), "{unbound:?}");
    let scoped_reviewer = scoped_key(&app, &admin, KeyRole::Reviewer, "", "blue")
        .await
        .expect_err("scoped reviewer");
    assert!(scoped_reviewer.message().starts_with("team_id:"));
    let (rina, rina_key) = scoped_key(&app, &admin, KeyRole::Agent, "rina", "")
        .await
        .expect("agent key");
    assert_eq!(
        (rina_key.role, rina_key.agent_id.as_str()),
        (KeyRole::Agent as i32, "rina")
    );
    let (budi, _) = scoped_key(&app, &admin, KeyRole::Agent, "budi", "")
        .await
        .expect("agent key");
    let (blue_coach, _) = scoped_key(&app, &admin, KeyRole::Coach, "", "blue")
        .await
        .expect("team coach");

    let rina_card = scored_call(&app, &ingest, "rina", "blue").await;
    let budi_card = scored_call(&app, &ingest, "budi", "red").await;

    // An agent key sees its own scorecards only; a team coach its team's.
    let own = app
        .scorecards(&rina)
        .await
        .get_scorecard(GetScorecardRequest {
            scorecard_id: rina_card.clone(),
        })
        .await
        .expect("own scorecard")
        .into_inner()
        .scorecard
        .expect("card");
    let other = app
        .scorecards(&rina)
        .await
        .get_scorecard(GetScorecardRequest {
            scorecard_id: budi_card.clone(),
        })
        .await
        .expect_err("another agent's");
    assert_eq!(other.code(), Code::PermissionDenied);
    let listed = |key: String, agent: &str| {
        let app = &app;
        let request = ListScorecardsRequest {
            agent_id: agent.into(),
            ..Default::default()
        };
        async move {
            app.scorecards(&key)
                .await
                .list_scorecards(request)
                .await
                .map(|r| {
                    r.into_inner()
                        .scorecards
                        .into_iter()
                        .map(|s| s.agent_id)
                        .collect::<Vec<_>>()
                })
        }
    };
    assert_eq!(listed(rina.clone(), "").await.expect("list"), vec!["rina"]);
    assert_eq!(
        listed(rina.clone(), "budi")
            .await
            .expect_err("other agent")
            .code(),
        Code::PermissionDenied
    );
    assert_eq!(
        listed(blue_coach.clone(), "").await.expect("list"),
        vec!["rina"]
    );
    assert_eq!(listed(admin.clone(), "").await.expect("list").len(), 2);
    // A scoped key may do only what honours its scope.
    let calls = app
        .calls(&rina)
        .await
        .list_calls(ListCallsRequest::default())
        .await
        .expect_err("agents do not read calls");
    assert_eq!(calls.code(), Code::PermissionDenied);
    let team_calls = app
        .calls(&blue_coach)
        .await
        .list_calls(ListCallsRequest::default())
        .await
        .expect("a team coach lists its team's calls")
        .into_inner()
        .calls;
    assert_eq!(team_calls.len(), 1);
    assert_eq!(
        team_calls[0].metadata.as_ref().map(|m| m.team_id.as_str()),
        Some("blue")
    );
    let red_call = app
        .calls(&admin)
        .await
        .list_calls(ListCallsRequest {
            team_id: "red".into(),
            ..Default::default()
        })
        .await
        .expect("admin lists")
        .into_inner()
        .calls;
    let other_team = app
        .calls(&blue_coach)
        .await
        .get_call(GetCallRequest {
            call_id: red_call[0].call_id.clone(),
        })
        .await
        .expect_err("another team's call");
    assert_eq!(other_team.code(), Code::PermissionDenied);
    let scoped_review = app
        .reviews(&blue_coach)
        .await
        .list_review_tasks(ListReviewTasksRequest::default())
        .await
        .expect_err("coaches do not review");
    assert_eq!(scoped_review.code(), Code::PermissionDenied);

    // A team coach coaches its team's agents only.
    let insights = |key: String| {
        let app = &app;
        async move {
            callscore::proto::insight_service_client::InsightServiceClient::with_interceptor(
                app.channel().await,
                BearerKey(Some(key)),
            )
        }
    };
    insights(blue_coach.clone())
        .await
        .get_team_summary(GetTeamSummaryRequest {
            team_id: "blue".into(),
            ..Default::default()
        })
        .await
        .expect("own team");
    insights(blue_coach.clone())
        .await
        .get_agent_trend(GetAgentTrendRequest {
            agent_id: "rina".into(),
            ..Default::default()
        })
        .await
        .expect("own team's agent");
    for refused in [
        insights(blue_coach.clone())
            .await
            .get_team_summary(GetTeamSummaryRequest {
                team_id: "red".into(),
                ..Default::default()
            })
            .await
            .map(|_| ()),
        insights(blue_coach.clone())
            .await
            .get_agent_trend(GetAgentTrendRequest {
                agent_id: "budi".into(),
                ..Default::default()
            })
            .await
            .map(|_| ()),
        app.reviews(&blue_coach)
            .await
            .list_coaching_notes(ListCoachingNotesRequest {
                agent_id: "budi".into(),
                ..Default::default()
            })
            .await
            .map(|_| ()),
    ] {
        assert_eq!(
            refused.expect_err("other team").code(),
            Code::PermissionDenied
        );
    }

    // Opening disputes.
    let greeting = "professionalism/greeting";
    let opened = disputes(&app, &rina)
        .await
        .open_dispute(open_request(
            &rina_card,
            greeting,
            "I did greet; the line cut in late.",
        ))
        .await
        .expect("opened")
        .into_inner()
        .dispute
        .expect("dispute");
    assert_eq!(opened.state, DisputeState::Open as i32);
    assert_eq!(
        (opened.agent_id.as_str(), opened.team_id.as_str()),
        ("rina", "blue")
    );
    let twice = disputes(&app, &rina)
        .await
        .open_dispute(open_request(&rina_card, greeting, "again"))
        .await
        .expect_err("one open dispute per check");
    assert_eq!(twice.code(), Code::AlreadyExists);
    for (key, card, check, comment, code) in [
        (
            &rina,
            &budi_card,
            greeting,
            "not mine",
            Code::PermissionDenied,
        ),
        (
            &rina,
            &rina_card,
            "empathy/empathic_responses",
            " ",
            Code::InvalidArgument,
        ),
        (
            &rina,
            &rina_card,
            "professionalism/no_such_check",
            "x",
            Code::NotFound,
        ),
        (
            &blue_coach,
            &budi_card,
            greeting,
            "other team",
            Code::PermissionDenied,
        ),
        (
            &reviewer,
            &rina_card,
            greeting,
            "reviewers resolve",
            Code::PermissionDenied,
        ),
    ] {
        let refused = disputes(&app, key)
            .await
            .open_dispute(open_request(card, check, comment))
            .await
            .expect_err("refused");
        assert_eq!(refused.code(), code, "{refused:?}");
    }
    let coached = disputes(&app, &blue_coach)
        .await
        .open_dispute(open_request(
            &rina_card,
            "empathy/empathic_responses",
            "She acknowledged the delay; call me 0812-3456-7890 to discuss.",
        ))
        .await
        .expect("coach disputes")
        .into_inner()
        .dispute
        .expect("dispute");
    assert!(coached.comment.contains("[PHONE]"), "{}", coached.comment);

    // Listing within scope.
    let list = |key: String, state: DisputeState| {
        let app = &app;
        async move {
            disputes(app, &key)
                .await
                .list_disputes(ListDisputesRequest {
                    state: state as i32,
                    ..Default::default()
                })
                .await
                .expect("list")
                .into_inner()
                .disputes
        }
    };
    assert_eq!(list(rina.clone(), DisputeState::Unspecified).await.len(), 2);
    assert!(
        list(budi.clone(), DisputeState::Unspecified)
            .await
            .is_empty()
    );
    let open = list(reviewer.clone(), DisputeState::Open).await;
    assert_eq!(open.len(), 2);
    assert_eq!(open[0].dispute_id, opened.dispute_id, "oldest first");

    // Resolving: agents may not; rejecting takes no new outcome.
    let by_agent = disputes(&app, &rina)
        .await
        .resolve_dispute(ResolveDisputeRequest {
            dispute_id: opened.dispute_id.clone(),
            accept: true,
            new_outcome: CheckOutcome::Pass as i32,
            reason: "self-approved".into(),
            ..Default::default()
        })
        .await
        .expect_err("agents do not resolve");
    assert_eq!(by_agent.code(), Code::PermissionDenied);
    let before = reviewed_outcome(&own, "professionalism", "greeting");
    let flipped = if before == CheckOutcome::Pass as i32 {
        CheckOutcome::Fail
    } else {
        CheckOutcome::Pass
    };
    let accepted = disputes(&app, &reviewer)
        .await
        .resolve_dispute(ResolveDisputeRequest {
            dispute_id: opened.dispute_id.clone(),
            accept: true,
            new_outcome: flipped as i32,
            reason: "Heard the greeting at 00:04.".into(),
            ..Default::default()
        })
        .await
        .expect("accepted")
        .into_inner();
    let dispute = accepted.dispute.expect("dispute");
    assert_eq!(dispute.state, DisputeState::Accepted as i32);
    assert_eq!(
        dispute.resolved_by,
        callscore::auth::parse_key(&reviewer).expect("key").key_id
    );
    let card = accepted.scorecard.expect("scorecard");
    assert_eq!(
        reviewed_outcome(&card, "professionalism", "greeting"),
        flipped as i32
    );
    let again = disputes(&app, &reviewer)
        .await
        .resolve_dispute(ResolveDisputeRequest {
            dispute_id: opened.dispute_id.clone(),
            accept: false,
            reason: "changed my mind".into(),
            ..Default::default()
        })
        .await
        .expect_err("resolved already");
    assert_eq!(again.code(), Code::FailedPrecondition);
    let muddled = disputes(&app, &reviewer)
        .await
        .resolve_dispute(ResolveDisputeRequest {
            dispute_id: coached.dispute_id.clone(),
            accept: false,
            new_outcome: CheckOutcome::Pass as i32,
            reason: "no".into(),
            ..Default::default()
        })
        .await
        .expect_err("a rejection changes nothing");
    assert_eq!(muddled.code(), Code::InvalidArgument);
    let score_before = card.reviewed_result.as_ref().and_then(|r| r.overall_score);
    let rejected = disputes(&app, &reviewer)
        .await
        .resolve_dispute(ResolveDisputeRequest {
            dispute_id: coached.dispute_id.clone(),
            accept: false,
            reason: "No acknowledgement of the customer's frustration.".into(),
            ..Default::default()
        })
        .await
        .expect("rejected")
        .into_inner();
    assert_eq!(
        rejected.dispute.expect("dispute").state,
        DisputeState::Rejected as i32
    );
    let after = rejected.scorecard.expect("scorecard");
    assert_eq!(
        after.reviewed_result.and_then(|r| r.overall_score),
        score_before
    );

    // The thread: opening, override, acceptance, in order; visible to the agent.
    let shown = disputes(&app, &rina)
        .await
        .get_dispute(GetDisputeRequest {
            dispute_id: opened.dispute_id.clone(),
        })
        .await
        .expect("thread")
        .into_inner();
    let actions: Vec<i32> = shown.thread.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        vec![
            AuditAction::DisputeOpened as i32,
            AuditAction::CheckOverridden as i32,
            AuditAction::DisputeAccepted as i32,
        ]
    );
    let budi_sees = disputes(&app, &budi)
        .await
        .get_dispute(GetDisputeRequest {
            dispute_id: opened.dispute_id.clone(),
        })
        .await
        .expect_err("not budi's");
    assert_eq!(budi_sees.code(), Code::PermissionDenied);

    // Acknowledging: the agent's own scorecards, agent keys only.
    let acknowledged = disputes(&app, &rina)
        .await
        .acknowledge_scorecard(AcknowledgeScorecardRequest {
            scorecard_id: rina_card.clone(),
            comment: "Seen, thanks.".into(),
        })
        .await
        .expect("acknowledged")
        .into_inner()
        .event
        .expect("event");
    assert_eq!(acknowledged.action, AuditAction::Acknowledged as i32);
    for (key, card) in [(&rina, &budi_card), (&reviewer, &rina_card)] {
        let refused = disputes(&app, key)
            .await
            .acknowledge_scorecard(AcknowledgeScorecardRequest {
                scorecard_id: card.clone(),
                comment: String::new(),
            })
            .await
            .expect_err("refused");
        assert_eq!(refused.code(), Code::PermissionDenied);
    }
    let history = app
        .reviews(&reviewer)
        .await
        .list_audit_events(ListAuditEventsRequest {
            scorecard_id: rina_card.clone(),
            ..Default::default()
        })
        .await
        .expect("history")
        .into_inner()
        .events;
    assert_eq!(
        history.last().map(|e| e.action),
        Some(AuditAction::Acknowledged as i32)
    );
    assert_eq!(
        history
            .iter()
            .filter(|e| e.action == AuditAction::DisputeRejected as i32)
            .count(),
        1
    );

    // The change feed carries both events, in the transactions that made them.
    let kinds: Vec<ChangeKind> = app
        .store
        .changes_after(0, 1_000)
        .await
        .expect("feed")
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == ChangeKind::DisputeOpened)
            .count(),
        2
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == ChangeKind::DisputeResolved)
            .count(),
        2
    );

    // A rotated agent key keeps its binding.
    let rotated = keys(&app, &admin)
        .await
        .rotate_api_key(RotateApiKeyRequest {
            key_id: rina_key.key_id.clone(),
            grace_seconds: Some(0),
        })
        .await
        .expect("rotated")
        .into_inner();
    assert_eq!(rotated.new_key.expect("successor").agent_id, "rina");
    let successor = rotated.secret;
    assert_eq!(listed(successor, "").await.expect("list"), vec!["rina"]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_disputes_and_a_reviewer_rejects_from_the_command_line() {
    let app = spawn_app(Backend::Sqlite).await;
    let ingest = app.key("acme", Role::Ingest).await;
    let reviewer = app.key("acme", Role::Reviewer).await;
    // The operator makes the agent's key on the database, as with any key.
    let database = app.database.url.clone();
    let unbound = common::callscore_on(
        &database,
        &["keys", "create", "--tenant", "acme", "--role", "agent"],
    );
    assert!(!unbound.status.success());
    assert!(
        String::from_utf8_lossy(&unbound.stderr).contains("--agent"),
        "{unbound:?}"
    );
    let created = common::callscore_on(
        &database,
        &[
            "keys", "create", "--tenant", "acme", "--role", "agent", "--agent", "rina",
        ],
    );
    assert!(created.status.success(), "{created:?}");
    let agent = String::from_utf8(created.stdout)
        .expect("utf-8")
        .trim()
        .to_string();
    let card = scored_call(&app, &ingest, "rina", "blue").await;

    let opened = json(&callscore(
        &app,
        &agent,
        &[
            "dispute",
            "open",
            &card,
            "--check",
            "professionalism/greeting",
            "--comment",
            "I greeted the customer.",
            "--format",
            "json",
        ],
    ));
    let dispute_id = opened["dispute"]["disputeId"]
        .as_str()
        .expect("id")
        .to_string();
    let bad = callscore(
        &app,
        &agent,
        &[
            "dispute",
            "open",
            &card,
            "--check",
            "greeting",
            "--comment",
            "x",
        ],
    );
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    let listed = json(&callscore(
        &app,
        &reviewer,
        &["dispute", "list", "--state", "open", "--format", "json"],
    ));
    assert_eq!(listed["disputes"].as_array().expect("disputes").len(), 1);
    let rejected = callscore(
        &app,
        &reviewer,
        &[
            "dispute",
            "reject",
            &dispute_id,
            "--reason",
            "No greeting in the first 30 s.",
        ],
    );
    assert!(rejected.status.success(), "{rejected:?}");
    assert!(String::from_utf8_lossy(&rejected.stdout).contains("rejected"));
    let shown = callscore(&app, &agent, &["dispute", "show", &dispute_id]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains("dispute_opened") && text.contains("dispute_rejected"),
        "{text}"
    );
    let acknowledged = callscore(&app, &agent, &["dispute", "ack", &card]);
    assert!(acknowledged.status.success(), "{acknowledged:?}");
    let denied = callscore(&app, &agent, &["review", "list"]);
    assert_eq!(
        denied.status.code(),
        Some(0),
        "agents list their own scorecards: {denied:?}"
    );
    let calls_denied = callscore(&app, &agent, &["review", "history", &card]);
    assert_eq!(calls_denied.status.code(), Some(5), "{calls_denied:?}");
    app.stop().await;
}

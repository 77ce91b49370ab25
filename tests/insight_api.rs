//! InsightService end to end over gRPC, on SQLite and PostgreSQL: trend
//! arithmetic against hand-computed values, team summaries, coaching focus,
//! roles, tenant isolation, reviewed scores and current scorecards only.
//! Scores are stored through the real store; criterion scores are chosen by
//! hand (each criterion earns exactly its listed score) so every expected
//! number below can be checked with a pencil.

mod common;

use callscore::auth::Role;
use callscore::proto::insight_service_client::InsightServiceClient;
use callscore::proto::{
    GetAgentTrendRequest, GetCoachingFocusRequest, GetTeamSummaryRequest, ScoreMean, TimeRange,
    TrendBucket, TrendPoint,
};
use callscore::scoring::{CheckResult, CriterionResult, Evidence, Outcome, Scorecard, recompute};
use callscore::store::{AuditAction, AuditEvent, NewCall, NewScorecard};
use callscore::transcript::Speaker;
use common::{Authed, Backend, BearerKey, TestApp, spawn_app};
use prost_types::Timestamp;
use tonic::Code;

both_backends!(
    trend_means_and_intervals_by_day_week_and_month,
    team_summary_lists_agents_and_weakest_criteria,
    coaching_focus_ranks_gaps_with_recent_failing_evidence,
    only_coaches_and_admins_may_read_insight,
    bad_requests_name_the_field,
    tenants_never_see_each_others_agents,
    reviewed_scores_count_not_machine_scores,
    only_the_calls_current_scorecard_counts,
);

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// Monday 2026-03-02 00:00 UTC.
const MONDAY: i64 = 1_772_409_600_000;
/// Wednesday 2026-04-01 00:00 UTC (its ISO week starts Monday 2026-03-30).
const APRIL_FIRST: i64 = MONDAY + 30 * DAY;

/// t(0.975, df) from the printed table.
const T1: f64 = 12.706;
const T2: f64 = 4.303;
const T3: f64 = 3.182;

/// A criterion scoring exactly `score` (a passed check worth `score` points
/// and a failed one worth the rest), or not applicable when `None`.
fn criterion(id: &str, score: Option<f64>, quote: &str) -> CriterionResult {
    let check = |check_id: &str, outcome: Outcome, points: f64| {
        let mut check = CheckResult {
            check_id: check_id.to_string(),
            description: format!("{id} {check_id}"),
            outcome,
            critical: false,
            earned: 0.0,
            possible: 0.0,
            reason: format!("{id} {check_id} reason"),
            evidence: vec![Evidence {
                segment_index: 2,
                speaker: Speaker::Agent,
                start_ms: 1_000,
                end_ms: 2_500,
                quote: quote.to_string(),
                turn_score: None,
                markers: Vec::new(),
            }],
            fraction: None,
        };
        check.set_outcome(outcome, points);
        check
    };
    let checks = match score {
        None => vec![check("hit", Outcome::NotApplicable, 10.0)],
        Some(s) => [
            (s > 0.0).then(|| check("hit", Outcome::Pass, s)),
            (s < 100.0).then(|| check("miss", Outcome::Fail, 100.0 - s)),
        ]
        .into_iter()
        .flatten()
        .collect(),
    };
    CriterionResult {
        criterion_id: id.to_string(),
        name: id.to_string(),
        weight: 1.0,
        score: None,
        earned: 0.0,
        possible: 0.0,
        checks,
    }
}

/// A scorecard with equally weighted criteria: overall = mean of applicable ones.
fn card(greeting: Option<f64>, closing: Option<f64>, quote: &str) -> Scorecard {
    let mut card = Scorecard {
        rubric_id: "default".into(),
        rubric_version: 1,
        rubric_hash: "test".into(),
        model_id: "test".into(),
        overall_score: None,
        critical_failures: Vec::new(),
        criteria: vec![
            criterion("greeting", greeting, quote),
            criterion("closing", closing, quote),
        ],
        metrics: Default::default(),
        scorer: Default::default(),
    };
    recompute(&mut card);
    card
}

/// Stores a scored call; returns (call id, scorecard id).
async fn seed(
    app: &TestApp,
    tenant: &str,
    agent: &str,
    team: &str,
    at_ms: i64,
    card: Scorecard,
) -> (String, String) {
    let call_id = uuid::Uuid::now_v7().to_string();
    let scorecard_id = uuid::Uuid::now_v7().to_string();
    let call = NewCall {
        call_id: call_id.clone(),
        tenant_id: tenant.to_string(),
        external_call_id: String::new(),
        agent_id: agent.to_string(),
        team_id: team.to_string(),
        queue: String::new(),
        call_started_at_ms: at_ms,
        language_hint: "en".into(),
        channel_layout: "mono".into(),
        rubric_id: String::new(),
        idempotency_key: None,
        audio_key: None,
        audio_bytes: 0,
        trace_context: String::new(),
    };
    let scorecard = NewScorecard {
        scorecard_id: scorecard_id.clone(),
        call_id: call_id.clone(),
        agent_id: agent.to_string(),
        team_id: team.to_string(),
        call_started_at_ms: at_ms,
        card,
        actor: "system".into(),
        review: None,
    };
    app.store
        .submit_scored_call(&call, r#"{"segments":[]}"#, &scorecard)
        .await
        .expect("scored call stored");
    (call_id, scorecard_id)
}

/// Ana's five calls in team t1:
/// | call | when                 | greeting | closing | overall |
/// | c1   | Mon 2 Mar 09:00      | 60       | 100     | 80      |
/// | c2   | Mon 2 Mar 15:00      | 80       | n/a     | 80      |
/// | c3   | Wed 4 Mar 10:00      | 100      | 50      | 75      |
/// | c4   | Mon 9 Mar 10:00      | 40       | 40      | 40      |
/// | c5   | Wed 1 Apr 10:00      | 70       | 90      | 80      |
async fn seed_ana(app: &TestApp, tenant: &str) -> Vec<(String, String)> {
    let calls = [
        (MONDAY + 9 * HOUR, Some(60.0), Some(100.0)),
        (MONDAY + 15 * HOUR, Some(80.0), None),
        (MONDAY + 2 * DAY + 10 * HOUR, Some(100.0), Some(50.0)),
        (MONDAY + 7 * DAY + 10 * HOUR, Some(40.0), Some(40.0)),
        (APRIL_FIRST + 10 * HOUR, Some(70.0), Some(90.0)),
    ];
    let mut ids = Vec::new();
    for (i, (at, greeting, closing)) in calls.into_iter().enumerate() {
        let quote = format!("ana c{}", i + 1);
        ids.push(
            seed(
                app,
                tenant,
                "ana",
                "t1",
                at,
                card(greeting, closing, &quote),
            )
            .await,
        );
    }
    ids
}

/// Bo's two calls in team t1: greeting 100/100, closing 100/80 (overall 100, 90).
async fn seed_bo(app: &TestApp, tenant: &str) {
    for (at, closing) in [(MONDAY + 11 * HOUR, 100.0), (MONDAY + DAY, 80.0)] {
        seed(
            app,
            tenant,
            "bo",
            "t1",
            at,
            card(Some(100.0), Some(closing), "bo"),
        )
        .await;
    }
}

async fn insight(app: &TestApp, key: &str) -> InsightServiceClient<Authed> {
    InsightServiceClient::with_interceptor(app.channel().await, BearerKey(Some(key.to_string())))
}

fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() < 1e-6
}

/// Asserts mean, n and interval `mean ± half`.
#[track_caller]
fn assert_mean(actual: Option<&ScoreMean>, mean: f64, n: u32, half: f64) {
    let actual = actual.expect("a mean");
    assert_eq!(actual.call_count, n, "{actual:?}");
    assert!(close(actual.mean, mean), "mean {actual:?} != {mean}");
    assert!(
        close(actual.ci95_low, mean - half) && close(actual.ci95_high, mean + half),
        "interval {actual:?} != {mean} ± {half}"
    );
}

fn criterion_of<'a>(point: &'a TrendPoint, id: &str) -> Option<&'a ScoreMean> {
    point
        .criteria
        .iter()
        .find(|c| c.criterion_id == id)
        .and_then(|c| c.score.as_ref())
}

fn start_ms(point: &TrendPoint) -> i64 {
    let at = point.bucket_start.as_ref().expect("bucket start");
    at.seconds * 1000 + i64::from(at.nanos / 1_000_000)
}

async fn trend(
    client: &mut InsightServiceClient<Authed>,
    agent: &str,
    bucket: TrendBucket,
) -> Vec<TrendPoint> {
    client
        .get_agent_trend(GetAgentTrendRequest {
            agent_id: agent.into(),
            range: None,
            bucket: bucket.into(),
        })
        .await
        .expect("trend")
        .into_inner()
        .points
}

async fn trend_means_and_intervals_by_day_week_and_month(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.key("acme", Role::Coach).await;
    seed_ana(&app, "acme").await;
    seed_bo(&app, "acme").await; // another agent: must not leak into Ana's trend
    let mut client = insight(&app, &key).await;

    // Days: Mon 2 Mar {c1, c2}, Wed 4 Mar {c3}, Mon 9 Mar {c4}, Wed 1 Apr {c5}.
    let days = trend(&mut client, "ana", TrendBucket::Day).await;
    let starts: Vec<i64> = days.iter().map(start_ms).collect();
    assert_eq!(
        starts,
        vec![MONDAY, MONDAY + 2 * DAY, MONDAY + 7 * DAY, APRIL_FIRST]
    );
    assert_eq!(days[0].call_count, 2);
    // Overall 80, 80: sd 0, so the interval has no width.
    assert_mean(days[0].overall.as_ref(), 80.0, 2, 0.0);
    // Greeting 60, 80: mean 70, sd √200 = 14.1421, half = 12.706 · 14.1421 / √2 = 127.06.
    assert_mean(criterion_of(&days[0], "greeting"), 70.0, 2, T1 * 10.0);
    // Closing did not apply in c2: one value, not (100 + 0) / 2.
    assert_mean(criterion_of(&days[0], "closing"), 100.0, 1, 0.0);
    assert_mean(days[1].overall.as_ref(), 75.0, 1, 0.0);

    // Weeks: 2 Mar {c1, c2, c3}, 9 Mar {c4}, 30 Mar {c5}.
    let weeks = trend(&mut client, "ana", TrendBucket::Week).await;
    let starts: Vec<i64> = weeks.iter().map(start_ms).collect();
    assert_eq!(starts, vec![MONDAY, MONDAY + 7 * DAY, MONDAY + 28 * DAY]);
    assert_eq!(weeks[0].call_count, 3);
    // Overall 80, 80, 75: mean 78.3333, sd √(25/3) = 2.88675, half = 4.303 · 2.88675 / √3.
    let sd = (25.0f64 / 3.0).sqrt();
    assert_mean(
        weeks[0].overall.as_ref(),
        235.0 / 3.0,
        3,
        T2 * sd / 3f64.sqrt(),
    );
    // Greeting 60, 80, 100: mean 80, sd 20, half = 4.303 · 20 / √3 = 49.687.
    assert_mean(
        criterion_of(&weeks[0], "greeting"),
        80.0,
        3,
        T2 * 20.0 / 3f64.sqrt(),
    );
    // Closing 100, 50 (c2 not applicable): mean 75, sd 35.3553, half = 12.706 · 25.
    assert_mean(criterion_of(&weeks[0], "closing"), 75.0, 2, T1 * 25.0);
    assert_mean(weeks[2].overall.as_ref(), 80.0, 1, 0.0);

    // Unspecified is a week.
    let unspecified = trend(&mut client, "ana", TrendBucket::Unspecified).await;
    assert_eq!(unspecified, weeks);

    // Months: March {c1..c4}, April {c5}.
    let months = trend(&mut client, "ana", TrendBucket::Month).await;
    let starts: Vec<i64> = months.iter().map(start_ms).collect();
    assert_eq!(starts, vec![MONDAY - DAY, APRIL_FIRST]); // 1 Mar is the Sunday before
    assert_eq!(months[0].call_count, 4);
    // Overall 80, 80, 75, 40: mean 68.75; deviations 11.25, 11.25, 6.25, −28.75;
    // squares sum 126.5625·2 + 39.0625 + 826.5625 = 1118.75; sd = √(1118.75/3) = 19.311.
    let sd = (1118.75f64 / 3.0).sqrt();
    assert_mean(months[0].overall.as_ref(), 68.75, 4, T3 * sd / 2.0);

    // A range keeps [start, end): only 2 Mar 12:00 up to 4 Mar 10:00 exclusive → c2.
    let ranged = client
        .get_agent_trend(GetAgentTrendRequest {
            agent_id: "ana".into(),
            range: Some(TimeRange {
                start: Some(timestamp(MONDAY + 12 * HOUR)),
                end: Some(timestamp(MONDAY + 2 * DAY + 10 * HOUR)),
            }),
            bucket: TrendBucket::Month.into(),
        })
        .await
        .expect("ranged trend")
        .into_inner();
    assert_eq!(ranged.points.len(), 1);
    assert_mean(ranged.points[0].overall.as_ref(), 80.0, 1, 0.0);

    // An agent with no scorecards has an empty trend, not an error.
    let nobody = trend(&mut client, "nobody", TrendBucket::Day).await;
    assert!(nobody.is_empty());
    app.stop().await;
}

fn timestamp(ms: i64) -> Timestamp {
    Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).expect("nanos"),
    }
}

async fn team_summary_lists_agents_and_weakest_criteria(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.key("acme", Role::Admin).await;
    seed_ana(&app, "acme").await;
    seed_bo(&app, "acme").await;
    seed(
        &app,
        "acme",
        "cy",
        "t2",
        MONDAY,
        card(Some(0.0), Some(0.0), "cy"),
    )
    .await;
    let mut client = insight(&app, &key).await;
    let summary = client
        .get_team_summary(GetTeamSummaryRequest {
            team_id: "t1".into(),
            range: None,
        })
        .await
        .expect("summary")
        .into_inner();
    assert_eq!(summary.team_id, "t1");
    let agents: Vec<&str> = summary.agents.iter().map(|a| a.agent_id.as_str()).collect();
    assert_eq!(agents, vec!["ana", "bo"], "cy is in another team");
    // Ana: 80, 80, 75, 40, 80 → 355 / 5 = 71.
    assert_eq!(
        summary.agents[0].overall.as_ref().map(|m| m.mean),
        Some(71.0)
    );
    // Bo: 100, 90 → 95, sd 7.0711, half 12.706 · 5.
    assert_mean(summary.agents[1].overall.as_ref(), 95.0, 2, T1 * 5.0);
    // Team, per call: (355 + 190) / 7.
    let team = summary.overall.as_ref().expect("team mean");
    assert_eq!(team.call_count, 7);
    assert!(close(team.mean, 545.0 / 7.0));
    // Greeting (60+80+100+40+70+100+100)/7 = 78.571; closing (100+50+40+90+100+80)/6 = 76.667.
    let weakest: Vec<(&str, u32)> = summary
        .weakest_criteria
        .iter()
        .map(|c| {
            let n = c.score.as_ref().map_or(0, |s| s.call_count);
            (c.criterion_id.as_str(), n)
        })
        .collect();
    assert_eq!(weakest, vec![("closing", 6), ("greeting", 7)]);
    let closing = summary.weakest_criteria[0].score.as_ref().expect("score");
    assert!(close(closing.mean, 460.0 / 6.0));

    // A team with no scorecards (or no such team) is an empty summary.
    let empty = client
        .get_team_summary(GetTeamSummaryRequest {
            team_id: "nobody".into(),
            range: None,
        })
        .await
        .expect("empty summary")
        .into_inner();
    assert!(empty.agents.is_empty() && empty.weakest_criteria.is_empty());
    assert!(empty.overall.is_none());
    app.stop().await;
}

async fn coaching_focus_ranks_gaps_with_recent_failing_evidence(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.key("acme", Role::Coach).await;
    let ana = seed_ana(&app, "acme").await;
    seed_bo(&app, "acme").await;
    let mut client = insight(&app, &key).await;
    let focus = client
        .get_coaching_focus(GetCoachingFocusRequest {
            agent_id: "ana".into(),
            range: None,
            max_criteria: 0,
        })
        .await
        .expect("focus")
        .into_inner();
    assert_eq!(
        (focus.agent_id.as_str(), focus.team_id.as_str()),
        ("ana", "t1")
    );
    // Greeting: team 550/7 = 78.571, Ana 350/5 = 70 → gap 8.571.
    // Closing: team 460/6 = 76.667, Ana 280/4 = 70 → gap 6.667.
    let order: Vec<&str> = focus
        .areas
        .iter()
        .map(|a| a.criterion_id.as_str())
        .collect();
    assert_eq!(order, vec!["greeting", "closing"]);
    let greeting = &focus.areas[0];
    assert!(close(greeting.agent_mean, 70.0));
    assert!(close(greeting.team_mean, 550.0 / 7.0));
    assert!(close(greeting.gap, 550.0 / 7.0 - 70.0));
    // Ana's most recent failed greeting checks: c5, c4, then c2 (c3 scored 100).
    let examples: Vec<(&str, &str)> = greeting
        .examples
        .iter()
        .map(|e| (e.scorecard_id.as_str(), e.check_id.as_str()))
        .collect();
    assert_eq!(
        examples,
        vec![
            (ana[4].1.as_str(), "miss"),
            (ana[3].1.as_str(), "miss"),
            (ana[1].1.as_str(), "miss"),
        ]
    );
    let first = &greeting.examples[0];
    assert_eq!(first.call_id, ana[4].0);
    assert_eq!(first.reason, "greeting miss reason");
    let evidence = first.evidence.as_ref().expect("evidence");
    assert_eq!(evidence.quote, "ana c5");
    assert_eq!((evidence.start_ms, evidence.end_ms), (1_000, 2_500));
    assert_eq!(
        evidence.speaker,
        i32::from(callscore::proto::Speaker::Agent)
    );
    // Closing failures: c5 (90), c4 (40), c3 (50).
    let closing: Vec<&str> = focus.areas[1]
        .examples
        .iter()
        .map(|e| e.scorecard_id.as_str())
        .collect();
    assert_eq!(
        closing,
        vec![ana[4].1.as_str(), ana[3].1.as_str(), ana[2].1.as_str()]
    );

    let one = client
        .get_coaching_focus(GetCoachingFocusRequest {
            agent_id: "ana".into(),
            range: None,
            max_criteria: 1,
        })
        .await
        .expect("focus")
        .into_inner();
    assert_eq!(one.areas.len(), 1);

    // Bo leads the team everywhere: nothing to coach.
    let bo = client
        .get_coaching_focus(GetCoachingFocusRequest {
            agent_id: "bo".into(),
            range: None,
            max_criteria: 3,
        })
        .await
        .expect("focus")
        .into_inner();
    assert!(bo.areas.is_empty(), "{bo:?}");
    app.stop().await;
}

async fn only_coaches_and_admins_may_read_insight(backend: Backend) {
    let app = spawn_app(backend).await;
    for (role, allowed) in [
        (Role::Coach, true),
        (Role::Admin, true),
        (Role::Ingest, false),
        (Role::Reviewer, false),
    ] {
        let key = app.key("acme", role).await;
        let mut client = insight(&app, &key).await;
        let results = [
            client
                .get_agent_trend(GetAgentTrendRequest {
                    agent_id: "ana".into(),
                    ..Default::default()
                })
                .await
                .map(|_| ()),
            client
                .get_team_summary(GetTeamSummaryRequest {
                    team_id: "t1".into(),
                    range: None,
                })
                .await
                .map(|_| ()),
            client
                .get_coaching_focus(GetCoachingFocusRequest {
                    agent_id: "ana".into(),
                    ..Default::default()
                })
                .await
                .map(|_| ()),
        ];
        for result in results {
            match (allowed, result) {
                (true, Ok(())) => {}
                (false, Err(status)) => assert_eq!(status.code(), Code::PermissionDenied, "{role}"),
                (allowed, other) => panic!("{role}: allowed={allowed}, got {other:?}"),
            }
        }
    }
    let mut anonymous =
        InsightServiceClient::with_interceptor(app.channel().await, BearerKey(None));
    let status = anonymous
        .get_agent_trend(GetAgentTrendRequest {
            agent_id: "ana".into(),
            ..Default::default()
        })
        .await
        .expect_err("no key");
    assert_eq!(status.code(), Code::Unauthenticated);
    app.stop().await;
}

async fn bad_requests_name_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.key("acme", Role::Coach).await;
    let mut client = insight(&app, &key).await;
    let backwards = Some(TimeRange {
        start: Some(timestamp(MONDAY + DAY)),
        end: Some(timestamp(MONDAY)),
    });
    let expect_invalid = |result: Result<(), tonic::Status>, field: &str| {
        let status = result.expect_err("invalid");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().starts_with(field), "{status:?}");
    };
    expect_invalid(
        client
            .get_agent_trend(GetAgentTrendRequest::default())
            .await
            .map(|_| ()),
        "agent_id",
    );
    expect_invalid(
        client
            .get_agent_trend(GetAgentTrendRequest {
                agent_id: "ana".into(),
                range: backwards,
                bucket: 0,
            })
            .await
            .map(|_| ()),
        "range",
    );
    expect_invalid(
        client
            .get_agent_trend(GetAgentTrendRequest {
                agent_id: "ana".into(),
                range: None,
                bucket: 42,
            })
            .await
            .map(|_| ()),
        "bucket",
    );
    expect_invalid(
        client
            .get_team_summary(GetTeamSummaryRequest {
                team_id: "  ".into(),
                range: None,
            })
            .await
            .map(|_| ()),
        "team_id",
    );
    expect_invalid(
        client
            .get_team_summary(GetTeamSummaryRequest {
                team_id: "t1".into(),
                range: backwards,
            })
            .await
            .map(|_| ()),
        "range",
    );
    expect_invalid(
        client
            .get_coaching_focus(GetCoachingFocusRequest::default())
            .await
            .map(|_| ()),
        "agent_id",
    );
    expect_invalid(
        client
            .get_coaching_focus(GetCoachingFocusRequest {
                agent_id: "ana".into(),
                range: backwards,
                max_criteria: 0,
            })
            .await
            .map(|_| ()),
        "range",
    );
    app.stop().await;
}

async fn tenants_never_see_each_others_agents(backend: Backend) {
    let app = spawn_app(backend).await;
    let key_a = app.key("acme", Role::Coach).await;
    let key_b = app.key("globex", Role::Admin).await;
    seed_ana(&app, "acme").await;
    seed_bo(&app, "acme").await;
    let mut own = insight(&app, &key_a).await;
    assert_eq!(trend(&mut own, "ana", TrendBucket::Month).await.len(), 2);

    let mut other = insight(&app, &key_b).await;
    assert!(
        trend(&mut other, "ana", TrendBucket::Month)
            .await
            .is_empty()
    );
    let summary = other
        .get_team_summary(GetTeamSummaryRequest {
            team_id: "t1".into(),
            range: None,
        })
        .await
        .expect("summary")
        .into_inner();
    assert!(summary.agents.is_empty() && summary.overall.is_none());
    let focus = other
        .get_coaching_focus(GetCoachingFocusRequest {
            agent_id: "ana".into(),
            ..Default::default()
        })
        .await
        .expect("focus")
        .into_inner();
    assert!(focus.areas.is_empty() && focus.team_id.is_empty());
    app.stop().await;
}

async fn reviewed_scores_count_not_machine_scores(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.key("acme", Role::Coach).await;
    let machine = card(Some(20.0), Some(100.0), "machine");
    let (call_id, scorecard_id) = seed(&app, "acme", "dee", "t1", MONDAY, machine).await;
    // A reviewer decides the greeting was fine after all: 20 → 100.
    let reviewed = card(Some(100.0), Some(100.0), "machine");
    let event = AuditEvent {
        event_id: uuid::Uuid::now_v7().to_string(),
        scorecard_id: scorecard_id.clone(),
        call_id,
        action: AuditAction::CheckOverridden,
        actor: "reviewer".into(),
        criterion_id: "greeting".into(),
        check_id: "miss".into(),
        old_outcome: "fail".into(),
        new_outcome: "pass".into(),
        reason: "greeted in the first second".into(),
        old_overall_score: Some(60.0),
        new_overall_score: Some(100.0),
        old_fraction: None,
        new_fraction: None,
        at_ms: MONDAY + HOUR,
    };
    assert!(
        app.store
            .apply_review("acme", &scorecard_id, 0, &reviewed, &event)
            .await
            .expect("review stored")
    );
    let mut client = insight(&app, &key).await;
    let points = trend(&mut client, "dee", TrendBucket::Day).await;
    assert_eq!(points.len(), 1);
    assert_mean(points[0].overall.as_ref(), 100.0, 1, 0.0);
    assert_mean(criterion_of(&points[0], "greeting"), 100.0, 1, 0.0);
    app.stop().await;
}

async fn only_the_calls_current_scorecard_counts(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.key("acme", Role::Coach).await;
    let (call_id, _) = seed(
        &app,
        "acme",
        "eve",
        "t1",
        MONDAY,
        card(Some(20.0), None, "v1"),
    )
    .await;
    // Rescored: the new scorecard replaces the old one for trends.
    app.store
        .insert_rescore(
            "acme",
            &NewScorecard {
                scorecard_id: uuid::Uuid::now_v7().to_string(),
                call_id,
                agent_id: "eve".into(),
                team_id: "t1".into(),
                call_started_at_ms: MONDAY,
                card: card(Some(90.0), None, "v2"),
                actor: "admin-key".into(),
                review: None,
            },
        )
        .await
        .expect("rescore stored");
    let mut client = insight(&app, &key).await;
    let points = trend(&mut client, "eve", TrendBucket::Week).await;
    assert_eq!(points.len(), 1);
    assert_eq!(points[0].call_count, 1);
    assert_mean(points[0].overall.as_ref(), 90.0, 1, 0.0);
    assert_mean(criterion_of(&points[0], "greeting"), 90.0, 1, 0.0);
    let summary = client
        .get_team_summary(GetTeamSummaryRequest {
            team_id: "t1".into(),
            range: None,
        })
        .await
        .expect("summary")
        .into_inner();
    assert_mean(summary.overall.as_ref(), 90.0, 1, 0.0);
    app.stop().await;
}

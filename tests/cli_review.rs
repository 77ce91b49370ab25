//! A reviewer's scripts through the real binary against a real server:
//! `callscore review list|override|confirm|history|reliability`, and
//! `--format json` (canonical proto3 JSON) on the client commands, with the
//! exit codes scripts rely on.

mod common;

use callscore::auth::Role;
use callscore::proto::*;
use common::{Backend, TestApp, callscore_client as callscore, spawn_app, stdout_json as json};

/// 2026-11-02T09:00:00Z.
const STARTED: i64 = 1_793_610_000;

async fn scored_call(app: &TestApp, key: &str, external: &str) -> String {
    let metadata = CallMetadata {
        agent_id: "rina".into(),
        external_call_id: external.into(),
        call_started_at: Some(prost_types::Timestamp {
            seconds: STARTED,
            nanos: 0,
        }),
        ..Default::default()
    };
    let turns = [
        (
            Speaker::Agent,
            "Good morning, thank you for calling, this is Rina.",
        ),
        (Speaker::Customer, "My parcel has not arrived."),
    ];
    common::submit_turns(app, key, metadata, &turns).await.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_works_from_scripts() {
    let app = spawn_app(Backend::Sqlite).await;
    let ingest = app.key("acme", Role::Ingest).await;
    let reviewer = app.key("acme", Role::Reviewer).await;
    // Every call goes to the review queue.
    let admin = app.key("acme", Role::Admin).await;
    let policy = ReviewSamplingPolicy {
        random_percent: 100,
        ..Default::default()
    };
    common::set_review_sampling(&app, &admin, policy, "review_sampling.random_percent").await;
    let first = scored_call(&app, &ingest, "a").await;
    let second = scored_call(&app, &ingest, "b").await;

    let listed = json(&callscore(
        &app,
        &reviewer,
        &["review", "list", "--agent", "rina", "--format", "json"],
    ));
    let ids: Vec<&str> = listed["scorecards"]
        .as_array()
        .expect("scorecards")
        .iter()
        .map(|card| card["scorecardId"].as_str().expect("id"))
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&first.as_str()) && ids.contains(&second.as_str()));
    let text = callscore(&app, &reviewer, &["review", "list", "--agent", "rina"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains(&first));

    let overridden = callscore(
        &app,
        &reviewer,
        &[
            "review",
            "override",
            &first,
            "--check",
            "professionalism/greeting",
            "--outcome",
            "fail",
            "--reason",
            "greeted before the customer was connected",
        ],
    );
    assert!(overridden.status.success(), "{overridden:?}");
    let said = String::from_utf8_lossy(&overridden.stdout);
    assert!(said.contains("professionalism/greeting "), "{said}");
    assert!(said.contains(" -> fail by "), "{said}");

    let confirmed = json(&callscore(
        &app,
        &reviewer,
        &["review", "confirm", &second, "--format", "json"],
    ));
    assert_eq!(confirmed["event"]["action"], "AUDIT_ACTION_CONFIRMED");

    let history = json(&callscore(
        &app,
        &reviewer,
        &["review", "history", &first, "--format", "json"],
    ));
    let actions: Vec<&str> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|event| event["action"].as_str().expect("action"))
        .collect();
    assert!(
        actions.contains(&"AUDIT_ACTION_CHECK_OVERRIDDEN"),
        "{actions:?}"
    );

    let november = [
        "review",
        "reliability",
        "--from",
        "2026-11-01",
        "--to",
        "2026-12-01",
    ];
    let report = json(&callscore(
        &app,
        &reviewer,
        &[&november[..], &["--format", "json"]].concat(),
    ));
    assert_eq!(report["reviewedScorecards"], 2);
    assert_eq!(report["checks"][0]["checkId"], "greeting");
    assert_eq!(report["checks"][0]["changed"]["count"], 1);
    let table = callscore(&app, &reviewer, &november);
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    assert!(table.contains("reviewed scorecards: 2"), "{table}");
    assert!(table.contains("professionalism/greeting"), "{table}");

    // The queue: list, claim, finish.
    let queue = json(&callscore(
        &app,
        &reviewer,
        &[
            "review",
            "tasks",
            "--state",
            "to-review",
            "--format",
            "json",
        ],
    ));
    let tasks = queue["tasks"].as_array().expect("tasks");
    assert_eq!(tasks.len(), 2, "{queue}");
    assert_eq!(tasks[0]["reasons"][0], "random");
    let task_id = tasks[0]["taskId"].as_str().expect("task id").to_string();
    let claimed = callscore(&app, &reviewer, &["review", "claim", &task_id]);
    assert!(claimed.status.success(), "{claimed:?}");
    assert!(String::from_utf8_lossy(&claimed.stdout).contains("in-review"));
    let done = json(&callscore(
        &app,
        &reviewer,
        &["review", "done", &task_id, "--format", "json"],
    ));
    assert_eq!(done["task"]["state"], "REVIEW_TASK_STATE_DONE");
    let again = callscore(&app, &reviewer, &["review", "claim", &task_id]);
    assert_eq!(
        again.status.code(),
        Some(1),
        "a done task cannot be claimed"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("task_id"));

    // The other client commands print JSON too.
    let card = json(&callscore(
        &app,
        &reviewer,
        &["scorecard", &first, "--format", "json"],
    ));
    assert_eq!(card["scorecardId"], first.as_str());
    assert!(card["reviewedResult"]["criteria"].is_array(), "{card}");
    let coach = app.key("acme", Role::Coach).await;
    let trend = json(&callscore(
        &app,
        &coach,
        &["trends", "--agent", "rina", "--format", "json"],
    ));
    assert!(trend["points"].is_array(), "{trend}");

    // Exit codes: a malformed check is usage (2), a missing scorecard 4, a
    // role without the right 5.
    let code = |key: &str, args: &[&str]| callscore(&app, key, args).status.code();
    assert_eq!(
        code(
            &reviewer,
            &[
                "review",
                "override",
                &first,
                "--check",
                "greeting",
                "--outcome",
                "fail",
                "--reason",
                "x"
            ]
        ),
        Some(2)
    );
    let missing = "01a23b3a-0000-7000-8000-000000000000";
    assert_eq!(code(&reviewer, &["review", "confirm", missing]), Some(4));
    assert_eq!(code(&ingest, &["review", "history", &first]), Some(5));
    app.stop().await;
}

//! Calibration sessions, on SQLite and PostgreSQL: an admin picks three
//! scored calls and three reviewers; each reviewer answers every check
//! blind (the machine's answers and the other reviewers' stay hidden, the
//! scorecard itself too); one reviewer disagrees on the greeting check. On
//! close the report gives Fleiss' kappa, pairwise Cohen's kappa, percent
//! agreement per check and criterion, and each reviewer's and the machine's
//! agreement with the consensus.

mod common;

use callscore::auth::{Role, parse_key};
use callscore::insights::agreement::{cohen_kappa, fleiss_kappa};
use callscore::proto::*;
use common::{Backend, TestApp, callscore_client as callscore, spawn_app, stdout_json as json};
use tonic::Code;

both_backends!(reviewers_answer_blind_and_the_closed_session_reports_agreement);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calibration_runs_from_the_command_line() {
    let app = spawn_app(Backend::Sqlite).await;
    let admin = app.key("acme", Role::Admin).await;
    let ingest = app.key("acme", Role::Ingest).await;
    let coach = app.key("acme", Role::Coach).await;
    let reviewers = [
        app.key("acme", Role::Reviewer).await,
        app.key("acme", Role::Reviewer).await,
    ];
    let (call_id, _) = scored_call(&app, &ingest, "I will check it and call you back today.").await;
    let created = json(&callscore(
        &app,
        &admin,
        &[
            "calibration",
            "create",
            "--name",
            "Week 49",
            "--call",
            &call_id,
            "--reviewer",
            &key_id(&reviewers[0]),
            "--reviewer",
            &key_id(&reviewers[1]),
            "--format",
            "json",
        ],
    ));
    let session_id = created["session"]["sessionId"]
        .as_str()
        .expect("id")
        .to_string();

    let shown = json(&callscore(
        &app,
        &reviewers[0],
        &["calibration", "show", &session_id, "--format", "json"],
    ));
    let checks = shown["session"]["items"][0]["checks"]
        .as_array()
        .expect("checks")
        .clone();
    assert!(
        checks.iter().all(|c| c.get("machineOutcome").is_none()),
        "blind: {checks:?}"
    );
    for (reviewer, greeting) in [(&reviewers[0], "pass"), (&reviewers[1], "fail")] {
        let mut args: Vec<String> = ["calibration", "answer", &session_id, "--call", &call_id]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for check in &checks {
            let id = format!(
                "{}/{}",
                check["criterionId"].as_str().expect("criterion"),
                check["checkId"].as_str().expect("check")
            );
            let answer = if id == "professionalism/greeting" {
                greeting
            } else if check["graded"].as_bool().unwrap_or(false) {
                "0.9"
            } else {
                "pass"
            };
            args.extend(["--answer".to_string(), format!("{id}={answer}")]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = callscore(&app, reviewer, &args);
        assert!(output.status.success(), "{output:?}");
        assert!(String::from_utf8_lossy(&output.stdout).contains("stored"));
    }
    let malformed = callscore(
        &app,
        &reviewers[0],
        &[
            "calibration",
            "answer",
            &session_id,
            "--call",
            &call_id,
            "--answer",
            "greeting",
        ],
    );
    assert_eq!(malformed.status.code(), Some(2), "{malformed:?}");
    assert!(String::from_utf8_lossy(&malformed.stderr).contains("CRITERION/CHECK"));

    let closed = callscore(&app, &admin, &["calibration", "close", &session_id]);
    assert!(closed.status.success(), "{closed:?}");
    let text = String::from_utf8_lossy(&closed.stdout);
    assert!(text.contains("professionalism/greeting"), "{text}");
    let report = json(&callscore(
        &app,
        &reviewers[1],
        &["calibration", "report", &session_id, "--format", "json"],
    ));
    let pair = &report["report"]["pairs"][0];
    let share = pair["percentAgreement"].as_f64().expect("share");
    assert!(share < 1.0 && share > 0.5, "{pair}");
    let missing = callscore(
        &app,
        &admin,
        &[
            "calibration",
            "report",
            "0190e0a0-0000-7000-8000-000000000000",
        ],
    );
    assert_eq!(missing.status.code(), Some(4), "{missing:?}");
    let denied = callscore(&app, &coach, &["calibration", "list"]);
    assert_eq!(denied.status.code(), Some(5), "{denied:?}");
    app.stop().await;
}

fn key_id(token: &str) -> String {
    parse_key(token).expect("token").key_id
}

async fn scored_call(app: &TestApp, key: &str, agent_line: &str) -> (String, String) {
    let metadata = CallMetadata {
        agent_id: "rina".into(),
        ..Default::default()
    };
    let turns = [
        (
            Speaker::Agent,
            "Good morning, this is Rina from Nusantara Shop.",
        ),
        (
            Speaker::Customer,
            "My parcel has not arrived and I am upset.",
        ),
        (Speaker::Agent, agent_line),
    ];
    common::submit_turns(app, key, metadata, &turns).await
}

/// The answer a reviewer who agrees with the machine gives, as its
/// outcome or, for a graded check, its fraction.
fn agreeing(check: &CalibrationCheck, machine: &CheckResult) -> CalibrationAnswer {
    let graded = check.graded && machine.fraction.is_some();
    CalibrationAnswer {
        criterion_id: check.criterion_id.clone(),
        check_id: check.check_id.clone(),
        outcome: if graded { 0 } else { machine.outcome },
        fraction: if graded { machine.fraction } else { None },
    }
}

fn flipped(answer: &CalibrationAnswer, machine: &CheckResult) -> CalibrationAnswer {
    let outcome = if machine.outcome == CheckOutcome::Pass as i32 {
        CheckOutcome::Fail
    } else {
        CheckOutcome::Pass
    };
    CalibrationAnswer {
        outcome: outcome as i32,
        fraction: None,
        ..answer.clone()
    }
}

fn machine_check<'a>(card: &'a Scorecard, criterion: &str, check: &str) -> &'a CheckResult {
    card.machine_result
        .as_ref()
        .expect("result")
        .criteria
        .iter()
        .filter(|c| c.criterion_id == criterion)
        .flat_map(|c| c.checks.iter())
        .find(|c| c.check_id == check)
        .expect("check in scorecard")
}

async fn reviewers_answer_blind_and_the_closed_session_reports_agreement(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.key("acme", Role::Admin).await;
    let ingest = app.key("acme", Role::Ingest).await;
    let coach = app.key("acme", Role::Coach).await;
    let outsider = app.key("acme", Role::Reviewer).await;
    let reviewers = [
        app.key("acme", Role::Reviewer).await,
        app.key("acme", Role::Reviewer).await,
        app.key("acme", Role::Reviewer).await,
    ];
    let reviewer_ids: Vec<String> = reviewers.iter().map(|k| key_id(k)).collect();
    let mut calls = Vec::new();
    for line in [
        "I am sorry about that. I will check it now and call you back today.",
        "Not my problem. Someone will maybe contact you.",
        "I understand how frustrating that is. Your parcel arrives tomorrow.",
    ] {
        calls.push(scored_call(&app, &ingest, line).await);
    }
    let call_ids: Vec<String> = calls.iter().map(|(call, _)| call.clone()).collect();

    // Bad requests name what is wrong and create nothing.
    let create = |call_ids: Vec<String>, reviewers: Vec<String>| CreateCalibrationSessionRequest {
        name: "Week 49 calibration".into(),
        call_ids,
        reviewers,
    };
    let refused = |result: Result<
        tonic::Response<CreateCalibrationSessionResponse>,
        tonic::Status,
    >| { result.expect_err("refused") };
    let one_reviewer = refused(
        app.calibrations(&admin)
            .await
            .create_calibration_session(create(call_ids.clone(), reviewer_ids[..1].to_vec()))
            .await,
    );
    assert_eq!(one_reviewer.code(), Code::InvalidArgument);
    assert!(
        one_reviewer.message().starts_with("reviewers:"),
        "{one_reviewer:?}"
    );
    let ingest_as_reviewer = refused(
        app.calibrations(&admin)
            .await
            .create_calibration_session(create(
                call_ids.clone(),
                vec![reviewer_ids[0].clone(), key_id(&ingest)],
            ))
            .await,
    );
    assert_eq!(ingest_as_reviewer.code(), Code::InvalidArgument);
    assert!(
        ingest_as_reviewer
            .message()
            .contains("not an active reviewer")
    );
    let twice = refused(
        app.calibrations(&admin)
            .await
            .create_calibration_session(create(
                vec![call_ids[0].clone(), call_ids[0].clone()],
                reviewer_ids.to_vec(),
            ))
            .await,
    );
    assert!(twice.message().contains("listed twice"), "{twice:?}");
    let unknown_call = refused(
        app.calibrations(&admin)
            .await
            .create_calibration_session(create(vec!["nope".into()], reviewer_ids.to_vec()))
            .await,
    );
    assert_eq!(unknown_call.code(), Code::NotFound);
    let by_reviewer = refused(
        app.calibrations(&reviewers[0])
            .await
            .create_calibration_session(create(call_ids.clone(), reviewer_ids.to_vec()))
            .await,
    );
    assert_eq!(by_reviewer.code(), Code::PermissionDenied);

    let session = app
        .calibrations(&admin)
        .await
        .create_calibration_session(create(call_ids.clone(), reviewer_ids.to_vec()))
        .await
        .expect("session")
        .into_inner()
        .session
        .expect("session");
    let session_id = session.session_id.clone();
    assert_eq!(session.state, CalibrationState::Open as i32);
    assert_eq!(session.reviewers, reviewer_ids);
    assert_eq!(session.items.len(), 3);
    for (item, (call_id, scorecard_id)) in session.items.iter().zip(&calls) {
        assert_eq!((&item.call_id, &item.scorecard_id), (call_id, scorecard_id));
        assert!(item.checks.len() > 5);
        assert!(item.checks.iter().any(|c| c.graded && c.pass_at.is_some()));
        // Nobody sees the machine's answers while the session is open.
        assert!(
            item.checks
                .iter()
                .all(|c| c.machine_outcome.is_none() && c.machine_fraction.is_none())
        );
    }

    // Blind: a reviewer of the session cannot read the scorecards or their history.
    let hidden = app
        .scorecards(&reviewers[0])
        .await
        .get_scorecard(GetScorecardRequest {
            scorecard_id: calls[0].1.clone(),
        })
        .await
        .expect_err("hidden");
    assert_eq!(hidden.code(), Code::FailedPrecondition);
    assert!(hidden.message().contains(&session_id), "{hidden:?}");
    let history = app
        .reviews(&reviewers[1])
        .await
        .list_audit_events(ListAuditEventsRequest {
            scorecard_id: calls[1].1.clone(),
            ..Default::default()
        })
        .await
        .expect_err("hidden");
    assert_eq!(history.code(), Code::FailedPrecondition);
    let listed = |key: String| {
        let app = &app;
        async move {
            app.scorecards(&key)
                .await
                .list_scorecards(ListScorecardsRequest::default())
                .await
                .expect("list")
                .into_inner()
                .scorecards
                .into_iter()
                .map(|card| card.call_id)
                .collect::<Vec<_>>()
        }
    };
    assert!(
        listed(reviewers[2].clone()).await.is_empty(),
        "lists hide them too"
    );
    assert_eq!(listed(outsider.clone()).await.len(), 3);
    // A reviewer outside the session reads them as ever.
    app.scorecards(&outsider)
        .await
        .get_scorecard(GetScorecardRequest {
            scorecard_id: calls[0].1.clone(),
        })
        .await
        .expect("outsider reads the scorecard");

    // The machine's cards, read by the admin, tell the test what to answer.
    let mut cards = Vec::new();
    for (_, scorecard_id) in &calls {
        cards.push(
            app.scorecards(&admin)
                .await
                .get_scorecard(GetScorecardRequest {
                    scorecard_id: scorecard_id.clone(),
                })
                .await
                .expect("admin reads")
                .into_inner()
                .scorecard
                .expect("card"),
        );
    }

    // Answer sheets that break the rules are refused.
    let checks = &session.items[0].checks;
    let answers_for = |item: usize, dissent: bool| -> Vec<CalibrationAnswer> {
        session.items[item]
            .checks
            .iter()
            .map(|check| {
                let machine = machine_check(&cards[item], &check.criterion_id, &check.check_id);
                let answer = agreeing(check, machine);
                if dissent && check.check_id == "greeting" {
                    flipped(&answer, machine)
                } else {
                    answer
                }
            })
            .collect()
    };
    let submit = |reviewer: usize, item: usize, answers: Vec<CalibrationAnswer>| {
        let app = &app;
        let key = reviewers[reviewer].clone();
        let request = SubmitCalibrationAnswersRequest {
            session_id: session_id.clone(),
            call_id: call_ids[item].clone(),
            answers,
            note: String::new(),
        };
        async move {
            app.calibrations(&key)
                .await
                .submit_calibration_answers(request)
                .await
        }
    };
    let mut incomplete = answers_for(0, false);
    incomplete.pop();
    let missing = submit(0, 0, incomplete).await.expect_err("incomplete");
    assert_eq!(missing.code(), Code::InvalidArgument);
    assert!(
        missing
            .message()
            .starts_with("answers: every check needs an answer")
    );
    let mut fraction_on_pass_fail = answers_for(0, false);
    let pass_fail = checks
        .iter()
        .position(|c| !c.graded)
        .expect("a pass/fail check");
    fraction_on_pass_fail[pass_fail].fraction = Some(0.5);
    let fraction = submit(0, 0, fraction_on_pass_fail)
        .await
        .expect_err("fraction");
    assert!(
        fraction
            .message()
            .starts_with(&format!("answers[{pass_fail}].fraction")),
        "{fraction:?}"
    );
    let outsider_sheet = app
        .calibrations(&outsider)
        .await
        .submit_calibration_answers(SubmitCalibrationAnswersRequest {
            session_id: session_id.clone(),
            call_id: call_ids[0].clone(),
            answers: answers_for(0, false),
            note: String::new(),
        })
        .await
        .expect_err("not a reviewer of the session");
    assert_eq!(outsider_sheet.code(), Code::PermissionDenied);

    // Reviewers 0 and 1 agree with the machine; reviewer 2 dissents on the greeting.
    for item in 0..3 {
        for reviewer in 0..3 {
            submit(reviewer, item, answers_for(item, reviewer == 2))
                .await
                .expect("sheet stored");
        }
    }
    // A new sheet replaces the last one.
    let replaced = submit(2, 0, answers_for(0, true))
        .await
        .expect("replaced")
        .into_inner()
        .sheet
        .expect("sheet");
    assert_eq!(replaced.reviewer, reviewer_ids[2]);

    // While open: a reviewer sees only their own sheets; the admin sees progress.
    let own = app
        .calibrations(&reviewers[1])
        .await
        .get_calibration_session(GetCalibrationSessionRequest {
            session_id: session_id.clone(),
        })
        .await
        .expect("own view")
        .into_inner();
    assert_eq!(own.sheets.len(), 3);
    assert!(own.sheets.iter().all(|s| s.reviewer == reviewer_ids[1]));
    let progress = app
        .calibrations(&admin)
        .await
        .get_calibration_session(GetCalibrationSessionRequest {
            session_id: session_id.clone(),
        })
        .await
        .expect("admin view")
        .into_inner();
    assert!(progress.sheets.is_empty());
    let item = &progress.session.as_ref().expect("session").items[0];
    assert_eq!(item.answered_by.len(), 3);
    let early = app
        .calibrations(&admin)
        .await
        .get_calibration_report(GetCalibrationReportRequest {
            session_id: session_id.clone(),
        })
        .await
        .expect_err("open");
    assert_eq!(early.code(), Code::FailedPrecondition);
    let denied = app
        .calibrations(&coach)
        .await
        .get_calibration_session(GetCalibrationSessionRequest {
            session_id: session_id.clone(),
        })
        .await
        .expect_err("coach");
    assert_eq!(denied.code(), Code::PermissionDenied);

    let closed = app
        .calibrations(&admin)
        .await
        .close_calibration_session(CloseCalibrationSessionRequest {
            session_id: session_id.clone(),
        })
        .await
        .expect("closed")
        .into_inner();
    let report = closed.report.expect("report");
    assert_eq!(report.calls, 3);
    let units: usize = session.items.iter().map(|i| i.checks.len()).sum();
    let overall = report.overall.as_ref().expect("overall");
    let among = overall.reviewers.as_ref().expect("reviewers");
    assert_eq!(among.items as usize, units);
    assert_eq!(among.complete_items as usize, units);
    assert_eq!(
        among.cohen_kappa, None,
        "three reviewers: Fleiss, not Cohen"
    );

    // Recompute the figures from what each reviewer answered.
    let label = |answer: &CalibrationAnswer, check: &CalibrationCheck| -> i32 {
        match answer.fraction {
            Some(f) if f >= check.pass_at.expect("graded") => CheckOutcome::Pass as i32,
            Some(_) => CheckOutcome::Fail as i32,
            None => answer.outcome,
        }
    };
    let mut rows: Vec<Vec<i32>> = Vec::new();
    for item in 0..3 {
        let sheets: Vec<Vec<CalibrationAnswer>> =
            (0..3).map(|r| answers_for(item, r == 2)).collect();
        for (index, check) in session.items[item].checks.iter().enumerate() {
            rows.push(sheets.iter().map(|s| label(&s[index], check)).collect());
        }
    }
    let expected_fleiss = fleiss_kappa(&rows).expect("defined");
    let fleiss = among.fleiss_kappa.expect("fleiss");
    assert!(
        (fleiss - expected_fleiss).abs() < 1e-9,
        "{fleiss} vs {expected_fleiss}"
    );
    assert!(fleiss > 0.5 && fleiss < 1.0, "{fleiss}");
    let pair =
        |a: usize, b: usize| -> Vec<(i32, i32)> { rows.iter().map(|r| (r[a], r[b])).collect() };
    assert_eq!(report.pairs.len(), 3);
    let agreeing_pair = &report.pairs[0];
    assert_eq!(
        (&agreeing_pair.rater, &agreeing_pair.against),
        (&reviewer_ids[0], &reviewer_ids[1])
    );
    assert_eq!(agreeing_pair.percent_agreement, Some(1.0));
    assert_eq!(agreeing_pair.cohen_kappa, Some(1.0));
    let dissenting_pair = &report.pairs[1];
    assert_eq!(dissenting_pair.against, reviewer_ids[2]);
    let expected_cohen = cohen_kappa(&pair(0, 2)).expect("defined");
    let cohen = dissenting_pair.cohen_kappa.expect("cohen");
    assert!((cohen - expected_cohen).abs() < 1e-9);
    let share = (units - 3) as f64 / units as f64;
    assert!((dissenting_pair.percent_agreement.expect("share") - share).abs() < 1e-9);

    // Per check: the greeting is where reviewers disagree; the machine
    // sides with the consensus everywhere (two of three agree with it).
    let greeting = report
        .checks
        .iter()
        .find(|c| c.check_id == "greeting")
        .expect("greeting");
    let greeting = greeting.agreement.as_ref().expect("agreement");
    let greeting_among = greeting.reviewers.as_ref().expect("reviewers");
    assert_eq!(greeting_among.items, 3);
    assert!((greeting_among.percent_agreement.expect("share") - 1.0 / 3.0).abs() < 1e-9);
    let dissenter = &greeting.reviewers_with_consensus[2];
    assert_eq!(
        (dissenter.items, dissenter.percent_agreement),
        (3, Some(0.0))
    );
    let machine = greeting.machine_with_consensus.as_ref().expect("machine");
    assert_eq!(
        (machine.rater.as_str(), machine.percent_agreement),
        ("machine", Some(1.0))
    );
    for check in &report.checks {
        let agreement = check.agreement.as_ref().expect("agreement");
        if check.check_id != "greeting" {
            let among = agreement.reviewers.as_ref().expect("reviewers");
            assert_eq!(among.percent_agreement, Some(1.0), "{}", check.check_id);
        }
        let machine = agreement.machine_with_consensus.as_ref().expect("machine");
        assert_eq!(machine.percent_agreement, Some(1.0), "{}", check.check_id);
    }
    assert!(
        report
            .criteria
            .iter()
            .any(|c| c.criterion_id == "professionalism")
    );
    assert!(report.checks.iter().any(|c| c.graded));

    // Closed: everything is visible, nothing more can be answered.
    let after = app
        .calibrations(&reviewers[0])
        .await
        .get_calibration_session(GetCalibrationSessionRequest {
            session_id: session_id.clone(),
        })
        .await
        .expect("closed view")
        .into_inner();
    assert_eq!(after.sheets.len(), 9);
    let closed_session = after.session.expect("session");
    assert_eq!(closed_session.state, CalibrationState::Closed as i32);
    assert!(closed_session.closed_at.is_some());
    assert!(
        closed_session.items[0]
            .checks
            .iter()
            .all(|c| c.machine_outcome.is_some())
    );
    app.scorecards(&reviewers[0])
        .await
        .get_scorecard(GetScorecardRequest {
            scorecard_id: calls[0].1.clone(),
        })
        .await
        .expect("readable once closed");
    assert_eq!(listed(reviewers[2].clone()).await.len(), 3);
    let late = submit(0, 0, answers_for(0, false))
        .await
        .expect_err("closed");
    assert_eq!(late.code(), Code::FailedPrecondition);
    let again = app
        .calibrations(&admin)
        .await
        .close_calibration_session(CloseCalibrationSessionRequest {
            session_id: session_id.clone(),
        })
        .await
        .expect_err("closed already");
    assert_eq!(again.code(), Code::FailedPrecondition);

    // Listing: admins see every session (paged), reviewers their own.
    app.calibrations(&admin)
        .await
        .create_calibration_session(create(
            vec![call_ids[2].clone()],
            vec![reviewer_ids[0].clone(), key_id(&outsider)],
        ))
        .await
        .expect("second session");
    let first_page = app
        .calibrations(&admin)
        .await
        .list_calibration_sessions(ListCalibrationSessionsRequest {
            page_size: 1,
            page_token: String::new(),
        })
        .await
        .expect("page")
        .into_inner();
    assert_eq!(first_page.sessions.len(), 1);
    let second_page = app
        .calibrations(&admin)
        .await
        .list_calibration_sessions(ListCalibrationSessionsRequest {
            page_size: 1,
            page_token: first_page.next_page_token,
        })
        .await
        .expect("page")
        .into_inner();
    assert_eq!(
        second_page.sessions[0].session_id, session_id,
        "newest first"
    );
    let sessions = |key: String| {
        let app = &app;
        async move {
            app.calibrations(&key)
                .await
                .list_calibration_sessions(ListCalibrationSessionsRequest::default())
                .await
                .map(|r| r.into_inner().sessions.len())
        }
    };
    assert_eq!(sessions(reviewers[0].clone()).await.expect("list"), 2);
    assert_eq!(sessions(reviewers[1].clone()).await.expect("list"), 1);
    assert_eq!(sessions(outsider.clone()).await.expect("list"), 1);
    assert_eq!(
        sessions(coach.clone()).await.expect_err("coach").code(),
        Code::PermissionDenied
    );

    // A deleted call leaves the report.
    app.calls(&admin)
        .await
        .delete_call(DeleteCallRequest {
            call_id: call_ids[1].clone(),
        })
        .await
        .expect("deleted");
    let report = app
        .calibrations(&reviewers[2])
        .await
        .get_calibration_report(GetCalibrationReportRequest {
            session_id: session_id.clone(),
        })
        .await
        .expect("report")
        .into_inner()
        .report
        .expect("report");
    assert_eq!(report.calls, 2);
    // Its items and answers went with it.
    let remaining = app
        .calibrations(&admin)
        .await
        .get_calibration_session(GetCalibrationSessionRequest {
            session_id: session_id.clone(),
        })
        .await
        .expect("session")
        .into_inner();
    let items = &remaining.session.expect("session").items;
    assert_eq!(items.len(), 2);
    assert_eq!(remaining.sheets.len(), 6);
    assert!(remaining.sheets.iter().all(|s| s.call_id != call_ids[1]));
    app.stop().await;
}

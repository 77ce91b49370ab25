//! `callscore calibration …`: calibration sessions from scripts (client):
//! an admin creates and closes them, reviewers answer blind, everyone reads
//! the agreement report. Every subcommand takes `--format json`; exit codes
//! are those of `exit.rs`.

use std::fmt::Write as _;

use clap::{Args, Subcommand};

use super::exit::{ExitReason, failure, rpc_failure};
use super::output::{Session, print};
use super::settings_args::runtime;
use crate::proto::calibration_service_client::CalibrationServiceClient;
use crate::proto::{self as pb};

/// Runs calibration sessions.
#[derive(Debug, Args)]
pub struct CalibrationArgs {
    #[command(subcommand)]
    command: CalibrationCommand,
}

#[derive(Debug, Subcommand)]
enum CalibrationCommand {
    /// Opens a session on scored calls for two or more reviewers (admin).
    Create(CreateArgs),
    /// Lists sessions, newest first (admins: all; reviewers: their own).
    List(ListArgs),
    /// Shows a session: its calls and checks, and the answers you may see.
    Show(SessionArgs),
    /// Answers every check of one call, blind (a reviewer of the session).
    Answer(AnswerArgs),
    /// Closes a session and prints its agreement report (admin).
    Close(SessionArgs),
    /// Prints a closed session's agreement report.
    Report(SessionArgs),
}

#[derive(Debug, Args)]
struct CreateArgs {
    #[command(flatten)]
    session: Session,
    /// What to call the session.
    #[arg(long)]
    name: String,
    /// A scored call (repeat for each).
    #[arg(long = "call", required = true)]
    calls: Vec<String>,
    /// A reviewer's key id (repeat for each; at least two).
    #[arg(long = "reviewer", required = true)]
    reviewers: Vec<String>,
}

#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    session: Session,
}

#[derive(Debug, Args)]
struct SessionArgs {
    #[command(flatten)]
    session: Session,
    /// The session.
    session_id: String,
}

#[derive(Debug, Args)]
struct AnswerArgs {
    #[command(flatten)]
    session: Session,
    /// The session.
    session_id: String,
    /// The call answered.
    #[arg(long)]
    call: String,
    /// CRITERION/CHECK=ANSWER, ANSWER being pass, fail, na, or a graded
    /// check's share of its points from 0 to 1 (repeat for every check).
    #[arg(long = "answer", required = true)]
    answers: Vec<String>,
    /// An optional note.
    #[arg(long, default_value = "")]
    note: String,
}

impl CalibrationArgs {
    /// Runs the subcommand against the server.
    pub fn run(self) -> anyhow::Result<()> {
        let session = match &self.command {
            CalibrationCommand::Create(args) => &args.session,
            CalibrationCommand::List(args) => &args.session,
            CalibrationCommand::Show(args)
            | CalibrationCommand::Close(args)
            | CalibrationCommand::Report(args) => &args.session,
            CalibrationCommand::Answer(args) => &args.session,
        };
        let client = session.client.clone();
        let format = session.output.format;
        runtime()?.block_on(async {
            let channel = client.connect().await?;
            let mut calibrations = CalibrationServiceClient::new(channel);
            match self.command {
                CalibrationCommand::Create(args) => {
                    let created = calibrations
                        .create_calibration_session(pb::CreateCalibrationSessionRequest {
                            name: args.name,
                            call_ids: args.calls,
                            reviewers: args.reviewers,
                        })
                        .await
                        .map_err(|status| rpc_failure("session refused", &status))?
                        .into_inner();
                    print(format, &created, |c| {
                        c.session.as_ref().map(render_session).unwrap_or_default()
                    })
                }
                CalibrationCommand::List(_) => {
                    let mut all = pb::ListCalibrationSessionsResponse::default();
                    loop {
                        let page = calibrations
                            .list_calibration_sessions(pb::ListCalibrationSessionsRequest {
                                page_size: 200,
                                page_token: all.next_page_token.clone(),
                            })
                            .await
                            .map_err(|status| rpc_failure("", &status))?
                            .into_inner();
                        all.sessions.extend(page.sessions);
                        all.next_page_token = page.next_page_token;
                        if all.next_page_token.is_empty() {
                            break;
                        }
                    }
                    print(format, &all, |a| render_list(&a.sessions))
                }
                CalibrationCommand::Show(args) => {
                    let shown = calibrations
                        .get_calibration_session(pb::GetCalibrationSessionRequest {
                            session_id: args.session_id,
                        })
                        .await
                        .map_err(|status| rpc_failure("", &status))?
                        .into_inner();
                    print(format, &shown, render_shown)
                }
                CalibrationCommand::Answer(args) => {
                    let answers = args
                        .answers
                        .iter()
                        .map(|answer| parse_answer(answer))
                        .collect::<anyhow::Result<Vec<_>>>()?;
                    let stored = calibrations
                        .submit_calibration_answers(pb::SubmitCalibrationAnswersRequest {
                            session_id: args.session_id,
                            call_id: args.call,
                            answers,
                            note: args.note,
                        })
                        .await
                        .map_err(|status| rpc_failure("answers refused", &status))?
                        .into_inner();
                    print(format, &stored, |s| {
                        s.sheet
                            .as_ref()
                            .map(|sheet| {
                                format!(
                                    "stored {} answers for call {}\n",
                                    sheet.answers.len(),
                                    sheet.call_id
                                )
                            })
                            .unwrap_or_default()
                    })
                }
                CalibrationCommand::Close(args) => {
                    let closed = calibrations
                        .close_calibration_session(pb::CloseCalibrationSessionRequest {
                            session_id: args.session_id,
                        })
                        .await
                        .map_err(|status| rpc_failure("closing refused", &status))?
                        .into_inner();
                    print(format, &closed, |c| {
                        c.report.as_ref().map(render_report).unwrap_or_default()
                    })
                }
                CalibrationCommand::Report(args) => {
                    let report = calibrations
                        .get_calibration_report(pb::GetCalibrationReportRequest {
                            session_id: args.session_id,
                        })
                        .await
                        .map_err(|status| rpc_failure("", &status))?
                        .into_inner();
                    print(format, &report, |r| {
                        r.report.as_ref().map(render_report).unwrap_or_default()
                    })
                }
            }
        })
    }
}

/// `CRITERION/CHECK=pass|fail|na|FRACTION` as an answer.
fn parse_answer(value: &str) -> anyhow::Result<pb::CalibrationAnswer> {
    let usage = || {
        failure(
            ExitReason::Usage,
            format!(
                "--answer {value:?}: expected CRITERION/CHECK=pass|fail|na|FRACTION, \
                 e.g. professionalism/greeting=pass or empathy/empathic_responses=0.75"
            ),
        )
    };
    let (check, answer) = value.split_once('=').ok_or_else(usage)?;
    let (criterion_id, check_id) = check.split_once('/').ok_or_else(usage)?;
    if criterion_id.is_empty() || check_id.is_empty() {
        return Err(usage());
    }
    let (outcome, fraction) = match answer {
        "pass" => (pb::CheckOutcome::Pass, None),
        "fail" => (pb::CheckOutcome::Fail, None),
        "na" | "not-applicable" => (pb::CheckOutcome::NotApplicable, None),
        share => match share.parse::<f64>() {
            Ok(fraction) if (0.0..=1.0).contains(&fraction) => {
                (pb::CheckOutcome::Unspecified, Some(fraction))
            }
            _ => return Err(usage()),
        },
    };
    Ok(pb::CalibrationAnswer {
        criterion_id: criterion_id.to_string(),
        check_id: check_id.to_string(),
        outcome: outcome as i32,
        fraction,
    })
}

fn state_name(state: i32) -> &'static str {
    match pb::CalibrationState::try_from(state) {
        Ok(pb::CalibrationState::Open) => "open",
        Ok(pb::CalibrationState::Closed) => "closed",
        _ => "-",
    }
}

fn render_list(sessions: &[pb::CalibrationSession]) -> String {
    let mut out = format!(
        "{:<36} {:<6} {:>5} {:>9}  {}\n",
        "session", "state", "calls", "reviewers", "name"
    );
    for session in sessions {
        let _ = writeln!(
            out,
            "{:<36} {:<6} {:>5} {:>9}  {}",
            session.session_id,
            state_name(session.state),
            session.items.len(),
            session.reviewers.len(),
            session.name
        );
    }
    out
}

fn render_session(session: &pb::CalibrationSession) -> String {
    let mut out = format!(
        "session {} ({}): {}\nreviewers: {}\n",
        session.session_id,
        state_name(session.state),
        session.name,
        session.reviewers.join(", ")
    );
    for item in &session.items {
        let _ = writeln!(
            out,
            "call {} ({} checks; answered by {})",
            item.call_id,
            item.checks.len(),
            if item.answered_by.is_empty() {
                "-".to_string()
            } else {
                item.answered_by.join(", ")
            }
        );
        for check in &item.checks {
            let graded = check
                .pass_at
                .map(|p| format!(" [graded, passes at {p}]"))
                .unwrap_or_default();
            let machine = match check.machine_outcome.map(pb::CheckOutcome::try_from) {
                Some(Ok(pb::CheckOutcome::Pass)) => " machine: pass",
                Some(Ok(pb::CheckOutcome::Fail)) => " machine: fail",
                Some(Ok(pb::CheckOutcome::NotApplicable)) => " machine: n/a",
                _ => "",
            };
            let _ = writeln!(
                out,
                "  {}/{}{graded}{machine}  {}",
                check.criterion_id, check.check_id, check.description
            );
        }
    }
    out
}

fn render_shown(shown: &pb::GetCalibrationSessionResponse) -> String {
    let mut out = shown
        .session
        .as_ref()
        .map(render_session)
        .unwrap_or_default();
    for sheet in &shown.sheets {
        let answers: Vec<String> = sheet
            .answers
            .iter()
            .map(|a| {
                let answer = match (a.fraction, pb::CheckOutcome::try_from(a.outcome)) {
                    (Some(fraction), _) => format!("{fraction}"),
                    (None, Ok(pb::CheckOutcome::Pass)) => "pass".into(),
                    (None, Ok(pb::CheckOutcome::Fail)) => "fail".into(),
                    _ => "na".into(),
                };
                format!("{}/{}={answer}", a.criterion_id, a.check_id)
            })
            .collect();
        let _ = writeln!(
            out,
            "answers of {} for call {}: {}",
            sheet.reviewer,
            sheet.call_id,
            answers.join(" ")
        );
    }
    out
}

fn figure(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.3}"))
}

fn render_report(report: &pb::CalibrationReport) -> String {
    let mut out = format!(
        "calibration {} over {} calls\n\n{:<40} {:>5} {:>7} {:>7} {:>7} {:>8} {:>8}\n",
        report.session_id,
        report.calls,
        "check",
        "items",
        "agree",
        "cohen",
        "fleiss",
        "machine",
        "m.kappa"
    );
    let mut row = |name: &str, agreement: Option<&pb::Agreement>| {
        let Some(agreement) = agreement else { return };
        let reviewers = agreement.reviewers.unwrap_or_default();
        let machine = agreement.machine_with_consensus.clone().unwrap_or_default();
        let _ = writeln!(
            out,
            "{name:<40} {:>5} {:>7} {:>7} {:>7} {:>8} {:>8}",
            reviewers.items,
            figure(reviewers.percent_agreement),
            figure(reviewers.cohen_kappa),
            figure(reviewers.fleiss_kappa),
            figure(machine.percent_agreement),
            figure(machine.cohen_kappa)
        );
    };
    row("(all checks)", report.overall.as_ref());
    for criterion in &report.criteria {
        row(
            &format!("{}/*", criterion.criterion_id),
            criterion.agreement.as_ref(),
        );
    }
    for check in &report.checks {
        row(
            &format!("{}/{}", check.criterion_id, check.check_id),
            check.agreement.as_ref(),
        );
    }
    out.push_str("\nreviewer against the others' consensus:\n");
    if let Some(overall) = &report.overall {
        for rater in &overall.reviewers_with_consensus {
            let _ = writeln!(
                out,
                "  {:<20} items {:>4}  agree {}  kappa {}",
                rater.rater,
                rater.items,
                figure(rater.percent_agreement),
                figure(rater.cohen_kappa)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse_outcomes_and_fractions() {
        let pass = parse_answer("professionalism/greeting=pass").unwrap();
        assert_eq!(pass.outcome, pb::CheckOutcome::Pass as i32);
        assert_eq!(pass.fraction, None);
        let graded = parse_answer("empathy/empathic_responses=0.75").unwrap();
        assert_eq!(graded.fraction, Some(0.75));
        assert_eq!(graded.outcome, pb::CheckOutcome::Unspecified as i32);
        for bad in ["greeting=pass", "a/b", "a/b=maybe", "a/b=1.5", "/b=pass"] {
            assert!(parse_answer(bad).is_err(), "{bad}");
        }
    }
}

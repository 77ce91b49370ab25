//! `callscore review …`: a reviewer's work from scripts (client): list
//! scorecards, override a check with a reason, confirm a scorecard, read its
//! history, the check reliability report, and the review queue's tasks. Every subcommand takes
//! `--format json`; exit codes are those of `exit.rs`.

use std::fmt::Write as _;

use clap::{Args, Subcommand, ValueEnum};

use super::client::AuthedChannel;
use super::exit::{ExitReason, failure, rpc_failure};
use super::export::timestamp;
use super::output::{Session, print};
use super::settings_args::runtime;
use crate::proto::review_service_client::ReviewServiceClient;
use crate::proto::scorecard_service_client::ScorecardServiceClient;
use crate::proto::{self as pb};

/// Reviews scorecards.
#[derive(Debug, Args)]
pub struct ReviewArgs {
    #[command(subcommand)]
    command: ReviewCommand,
}

#[derive(Debug, Subcommand)]
enum ReviewCommand {
    /// Lists scorecards, newest call first.
    List(ListArgs),
    /// Overrides one check's outcome (or a graded check's share) with a reason.
    Override(OverrideArgs),
    /// Confirms a scorecard as it stands: it then counts as reviewed.
    Confirm(ConfirmArgs),
    /// Prints a scorecard's audit trail.
    History(HistoryArgs),
    /// Reports how often reviewers changed each machine check in a period.
    Reliability(ReliabilityArgs),
    /// Lists the review queue's tasks, oldest first.
    Tasks(TasksArgs),
    /// Claims a waiting task.
    Claim(TaskArgs),
    /// Finishes a claimed task: the scorecard is confirmed as it stands.
    Done(DoneArgs),
}

#[derive(Debug, Args)]
struct TasksArgs {
    #[command(flatten)]
    session: Session,
    /// Only tasks in this state.
    #[arg(long, value_enum)]
    state: Option<TaskStateArg>,
    /// Only the tasks this key claimed.
    #[arg(long)]
    mine: bool,
    /// Only tasks sampled by this rule (random, critical_failure, low_confidence).
    #[arg(long)]
    reason: Option<String>,
    /// Only this agent's calls.
    #[arg(long)]
    agent: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TaskStateArg {
    ToReview,
    InReview,
    Done,
}

#[derive(Debug, Args)]
struct TaskArgs {
    #[command(flatten)]
    session: Session,
    /// The task.
    task_id: String,
}

#[derive(Debug, Args)]
struct DoneArgs {
    #[command(flatten)]
    session: Session,
    /// The task.
    task_id: String,
    /// An optional note for the confirmation.
    #[arg(long, default_value = "")]
    reason: String,
}

#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    session: Session,
    /// Only this agent's calls.
    #[arg(long)]
    agent: Option<String>,
    /// Only this team's calls.
    #[arg(long)]
    team: Option<String>,
    /// Calls from this day (YYYY-MM-DD, UTC) or RFC 3339 time.
    #[arg(long)]
    from: Option<String>,
    /// Calls before this day or time.
    #[arg(long)]
    to: Option<String>,
    /// Only scorecards where this criterion has a failed check.
    #[arg(long)]
    failed_criterion: Option<String>,
    /// Scorecards per page.
    #[arg(long, default_value_t = 50)]
    limit: i32,
    /// The page after this token (printed after a full page).
    #[arg(long, default_value = "")]
    page_token: String,
}

#[derive(Debug, Args)]
struct OverrideArgs {
    #[command(flatten)]
    session: Session,
    /// The scorecard.
    scorecard_id: String,
    /// The check, as CRITERION/CHECK (e.g. professionalism/greeting).
    #[arg(long)]
    check: String,
    /// The reviewed outcome.
    #[arg(long, value_enum, required_unless_present = "fraction")]
    outcome: Option<OutcomeArg>,
    /// A graded check's reviewed share of its points, 0 to 1.
    #[arg(long)]
    fraction: Option<f64>,
    /// Why the machine was wrong (required).
    #[arg(long)]
    reason: String,
    /// Refuse (ABORTED) if the scorecard's review_revision is no longer this
    /// one: someone reviewed it since you read it.
    #[arg(long)]
    expect_revision: Option<u64>,
}

/// A check outcome on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum OutcomeArg {
    Pass,
    Fail,
    NotApplicable,
}

#[derive(Debug, Args)]
struct ConfirmArgs {
    #[command(flatten)]
    session: Session,
    /// The scorecard.
    scorecard_id: String,
    /// An optional note.
    #[arg(long, default_value = "")]
    reason: String,
}

#[derive(Debug, Args)]
struct HistoryArgs {
    #[command(flatten)]
    session: Session,
    /// The scorecard.
    scorecard_id: String,
}

#[derive(Debug, Args)]
struct ReliabilityArgs {
    #[command(flatten)]
    session: Session,
    /// First day of calls (YYYY-MM-DD, UTC) or an RFC 3339 time.
    #[arg(long)]
    from: String,
    /// Day after the last one, or an RFC 3339 time.
    #[arg(long)]
    to: String,
    /// Only this rubric's scorecards.
    #[arg(long, default_value = "")]
    rubric: String,
}

impl ReviewArgs {
    /// Runs the subcommand against the server.
    pub fn run(self) -> anyhow::Result<()> {
        let session = match &self.command {
            ReviewCommand::List(args) => &args.session,
            ReviewCommand::Override(args) => &args.session,
            ReviewCommand::Confirm(args) => &args.session,
            ReviewCommand::History(args) => &args.session,
            ReviewCommand::Reliability(args) => &args.session,
            ReviewCommand::Tasks(args) => &args.session,
            ReviewCommand::Claim(args) => &args.session,
            ReviewCommand::Done(args) => &args.session,
        };
        let client = session.client.clone();
        let format = session.output.format;
        runtime()?.block_on(async {
            let channel = client.connect().await?;
            let mut reviews = ReviewServiceClient::new(channel.clone());
            match self.command {
                ReviewCommand::List(args) => {
                    let page = list(channel, args).await?;
                    print(format, &page, render_list)
                }
                ReviewCommand::Override(args) => {
                    let (criterion_id, check_id) = split_check(&args.check)?;
                    let response = reviews
                        .override_check(pb::OverrideCheckRequest {
                            scorecard_id: args.scorecard_id,
                            criterion_id,
                            check_id,
                            new_outcome: args.outcome.map_or(0, |o| outcome(o) as i32),
                            reason: args.reason,
                            new_fraction: args.fraction,
                            expected_review_revision: args.expect_revision,
                        })
                        .await
                        .map_err(|status| rpc_failure("override refused", &status))?
                        .into_inner();
                    print(format, &response, |r| {
                        r.event.as_ref().map(render_event).unwrap_or_default()
                    })
                }
                ReviewCommand::Confirm(args) => {
                    let response = reviews
                        .confirm_scorecard(pb::ConfirmScorecardRequest {
                            scorecard_id: args.scorecard_id,
                            reason: args.reason,
                        })
                        .await
                        .map_err(|status| rpc_failure("confirmation refused", &status))?
                        .into_inner();
                    print(format, &response, |r| {
                        r.event.as_ref().map(render_event).unwrap_or_default()
                    })
                }
                ReviewCommand::History(args) => {
                    let history = history(&mut reviews, args.scorecard_id).await?;
                    print(format, &history, |h| {
                        h.events.iter().map(render_event).collect()
                    })
                }
                ReviewCommand::Reliability(args) => {
                    let report = reviews
                        .get_check_reliability(pb::GetCheckReliabilityRequest {
                            call_started: Some(pb::TimeRange {
                                start: Some(timestamp("from", &args.from)?),
                                end: Some(timestamp("to", &args.to)?),
                            }),
                            rubric_id: args.rubric,
                            ..Default::default()
                        })
                        .await
                        .map_err(|status| rpc_failure("", &status))?
                        .into_inner();
                    print(format, &report, render_reliability)
                }
                ReviewCommand::Tasks(args) => {
                    let tasks = tasks(&mut reviews, args).await?;
                    print(format, &tasks, |t| render_tasks(&t.tasks))
                }
                ReviewCommand::Claim(args) => {
                    let claimed = reviews
                        .claim_review_task(pb::ClaimReviewTaskRequest {
                            task_id: args.task_id,
                        })
                        .await
                        .map_err(|status| rpc_failure("claim refused", &status))?
                        .into_inner();
                    print(format, &claimed, |c| render_tasks(c.task.as_slice()))
                }
                ReviewCommand::Done(args) => {
                    let done = reviews
                        .complete_review_task(pb::CompleteReviewTaskRequest {
                            task_id: args.task_id,
                            reason: args.reason,
                        })
                        .await
                        .map_err(|status| rpc_failure("finishing refused", &status))?
                        .into_inner();
                    print(format, &done, |d| render_tasks(d.task.as_slice()))
                }
            }
        })
    }
}

/// The outcome on the wire.
pub(super) fn outcome(value: OutcomeArg) -> pb::CheckOutcome {
    match value {
        OutcomeArg::Pass => pb::CheckOutcome::Pass,
        OutcomeArg::Fail => pb::CheckOutcome::Fail,
        OutcomeArg::NotApplicable => pb::CheckOutcome::NotApplicable,
    }
}

/// `CRITERION/CHECK` into its two ids.
pub(super) fn split_check(value: &str) -> anyhow::Result<(String, String)> {
    match value.split_once('/') {
        Some((criterion, check)) if !criterion.is_empty() && !check.is_empty() => {
            Ok((criterion.to_string(), check.to_string()))
        }
        _ => Err(failure(
            ExitReason::Usage,
            format!("--check {value:?}: expected CRITERION/CHECK, e.g. professionalism/greeting"),
        )),
    }
}

async fn list(
    channel: AuthedChannel,
    args: ListArgs,
) -> anyhow::Result<pb::ListScorecardsResponse> {
    let bound = |flag: &str, value: &Option<String>| value.as_deref().map(|v| timestamp(flag, v));
    let start = bound("from", &args.from).transpose()?;
    let end = bound("to", &args.to).transpose()?;
    let request = pb::ListScorecardsRequest {
        page_size: args.limit,
        page_token: args.page_token,
        agent_id: args.agent.unwrap_or_default(),
        team_id: args.team.unwrap_or_default(),
        call_started: (start.is_some() || end.is_some()).then_some(pb::TimeRange { start, end }),
        failed_criterion_id: args.failed_criterion.unwrap_or_default(),
        ..Default::default()
    };
    Ok(ScorecardServiceClient::new(channel)
        .list_scorecards(request)
        .await
        .map_err(|status| rpc_failure("", &status))?
        .into_inner())
}

/// Every page of a scorecard's audit trail, as one answer.
async fn history(
    reviews: &mut ReviewServiceClient<AuthedChannel>,
    scorecard_id: String,
) -> anyhow::Result<pb::ListAuditEventsResponse> {
    let mut all = pb::ListAuditEventsResponse::default();
    loop {
        let page = reviews
            .list_audit_events(pb::ListAuditEventsRequest {
                scorecard_id: scorecard_id.clone(),
                page_size: 200,
                page_token: all.next_page_token.clone(),
            })
            .await
            .map_err(|status| rpc_failure("", &status))?
            .into_inner();
        all.events.extend(page.events);
        all.next_page_token = page.next_page_token;
        if all.next_page_token.is_empty() {
            return Ok(all);
        }
    }
}

/// Every page of the queue that the filters select, as one answer.
async fn tasks(
    reviews: &mut ReviewServiceClient<AuthedChannel>,
    args: TasksArgs,
) -> anyhow::Result<pb::ListReviewTasksResponse> {
    let mut all = pb::ListReviewTasksResponse::default();
    loop {
        let page = reviews
            .list_review_tasks(pb::ListReviewTasksRequest {
                state: match args.state {
                    None => pb::ReviewTaskState::Unspecified,
                    Some(TaskStateArg::ToReview) => pb::ReviewTaskState::ToReview,
                    Some(TaskStateArg::InReview) => pb::ReviewTaskState::InReview,
                    Some(TaskStateArg::Done) => pb::ReviewTaskState::Done,
                } as i32,
                mine: args.mine,
                agent_id: args.agent.clone().unwrap_or_default(),
                reason: args.reason.clone().unwrap_or_default(),
                page_size: 200,
                page_token: all.next_page_token.clone(),
            })
            .await
            .map_err(|status| rpc_failure("", &status))?
            .into_inner();
        all.tasks.extend(page.tasks);
        all.next_page_token = page.next_page_token;
        if all.next_page_token.is_empty() {
            return Ok(all);
        }
    }
}

fn render_tasks(tasks: &[pb::ReviewTask]) -> String {
    let mut out = format!(
        "{:<36} {:<9} {:<16} {:<12} {:<28} {}\n",
        "task", "state", "call started", "agent", "reasons", "assignee"
    );
    for task in tasks {
        let state = match pb::ReviewTaskState::try_from(task.state) {
            Ok(pb::ReviewTaskState::ToReview) => "to-review",
            Ok(pb::ReviewTaskState::InReview) => "in-review",
            Ok(pb::ReviewTaskState::Done) => "done",
            _ => "-",
        };
        let _ = writeln!(
            out,
            "{:<36} {state:<9} {:<16} {:<12} {:<28} {}",
            task.task_id,
            day(task.call_started_at.as_ref()),
            task.agent_id,
            task.reasons.join(","),
            task.assignee
        );
    }
    out
}

fn day(time: Option<&prost_types::Timestamp>) -> String {
    time.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn render_list(page: &pb::ListScorecardsResponse) -> String {
    let mut out = format!(
        "{:<36} {:<16} {:<12} {:>7} {:>7}\n",
        "scorecard", "call started", "agent", "machine", "overall"
    );
    let score = |result: Option<&pb::ScoreResult>| {
        result
            .and_then(|r| r.overall_score)
            .map_or_else(|| "n/a".to_string(), |s| format!("{s:.1}"))
    };
    for card in &page.scorecards {
        let _ = writeln!(
            out,
            "{:<36} {:<16} {:<12} {:>7} {:>7}",
            card.scorecard_id,
            day(card.call_started_at.as_ref()),
            card.agent_id,
            score(card.machine_result.as_ref()),
            score(card.reviewed_result.as_ref()),
        );
    }
    if !page.next_page_token.is_empty() {
        let _ = writeln!(out, "more: --page-token {}", page.next_page_token);
    }
    out
}

fn outcome_name(value: i32) -> &'static str {
    match pb::CheckOutcome::try_from(value) {
        Ok(pb::CheckOutcome::Pass) => "pass",
        Ok(pb::CheckOutcome::Fail) => "fail",
        Ok(pb::CheckOutcome::NotApplicable) => "n/a",
        _ => "-",
    }
}

fn render_event(event: &pb::AuditEvent) -> String {
    let action = match pb::AuditAction::try_from(event.action) {
        Ok(pb::AuditAction::Scored) => "scored".to_string(),
        Ok(pb::AuditAction::Rescored) => "rescored".to_string(),
        Ok(pb::AuditAction::Confirmed) => "confirmed".to_string(),
        Ok(pb::AuditAction::CheckOverridden) => format!(
            "{}/{} {} -> {}",
            event.criterion_id,
            event.check_id,
            outcome_name(event.old_outcome),
            outcome_name(event.new_outcome)
        ),
        Ok(pb::AuditAction::DisputeOpened) => {
            format!(
                "dispute opened on {}/{}",
                event.criterion_id, event.check_id
            )
        }
        Ok(pb::AuditAction::DisputeAccepted) => {
            format!(
                "dispute accepted on {}/{}",
                event.criterion_id, event.check_id
            )
        }
        Ok(pb::AuditAction::DisputeRejected) => {
            format!(
                "dispute rejected on {}/{}",
                event.criterion_id, event.check_id
            )
        }
        Ok(pb::AuditAction::Acknowledged) => "acknowledged".to_string(),
        _ => "-".to_string(),
    };
    let reason = if event.reason.is_empty() {
        String::new()
    } else {
        format!(" ({})", event.reason)
    };
    format!(
        "{} {} by {}{reason}\n",
        day(event.at.as_ref()),
        action,
        event.actor
    )
}

fn render_reliability(report: &pb::GetCheckReliabilityResponse) -> String {
    let mut out = format!("reviewed scorecards: {}\n", report.reviewed_scorecards);
    let _ = writeln!(
        out,
        "{:<40} {:>8} {:>16} {:>16} {:>16}  flag",
        "check (rubric@version)", "reviewed", "changed", "fail precision", "fail recall"
    );
    let share = |p: Option<&pb::Proportion>| match p {
        Some(p) if p.of > 0 => format!("{}/{} {:>3.0}%", p.count, p.of, p.rate * 100.0),
        _ => "-".to_string(),
    };
    for check in &report.checks {
        let name = format!(
            "{}/{} ({}@{})",
            check.criterion_id, check.check_id, check.rubric_id, check.rubric_version
        );
        let _ = writeln!(
            out,
            "{name:<40} {:>8} {:>16} {:>16} {:>16}  {}",
            check.reviewed,
            share(check.changed.as_ref()),
            share(check.fail_precision.as_ref()),
            share(check.fail_recall.as_ref()),
            if check.flagged { "FLAGGED" } else { "" }
        );
    }
    out
}

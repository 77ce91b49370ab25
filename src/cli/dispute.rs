//! `callscore dispute …`: agents and coaches contest checks, reviewers
//! resolve, agents acknowledge scorecards (client). Every subcommand takes
//! `--format json`; exit codes are those of `exit.rs`.

use std::fmt::Write as _;

use clap::{Args, Subcommand, ValueEnum};

use super::exit::rpc_failure;
use super::output::{Session, print};
use super::review::{OutcomeArg, outcome, split_check};
use super::settings_args::runtime;
use crate::proto::dispute_service_client::DisputeServiceClient;
use crate::proto::{self as pb};

/// Disputes checks and resolves disputes.
#[derive(Debug, Args)]
pub struct DisputeArgs {
    #[command(subcommand)]
    command: DisputeCommand,
}

#[derive(Debug, Subcommand)]
enum DisputeCommand {
    /// Contests one check of a scorecard (agent, coach or admin key).
    Open(OpenArgs),
    /// Lists disputes, oldest first, within the key's scope.
    List(ListArgs),
    /// Shows a dispute and its thread from the audit trail.
    Show(IdArgs),
    /// Accepts a dispute: the check is overridden (reviewer or admin key).
    Accept(AcceptArgs),
    /// Rejects a dispute with a reason (reviewer or admin key).
    Reject(RejectArgs),
    /// Acknowledges a scorecard (the agent's key).
    Ack(AckArgs),
}

#[derive(Debug, Args)]
struct OpenArgs {
    #[command(flatten)]
    session: Session,
    /// The scorecard.
    scorecard_id: String,
    /// The check, as CRITERION/CHECK (e.g. professionalism/greeting).
    #[arg(long)]
    check: String,
    /// Why the check is wrong.
    #[arg(long)]
    comment: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StateArg {
    Open,
    Accepted,
    Rejected,
}

#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    session: Session,
    /// Only disputes in this state.
    #[arg(long, value_enum)]
    state: Option<StateArg>,
    /// Only this agent's.
    #[arg(long, default_value = "")]
    agent: String,
    /// Only this team's.
    #[arg(long, default_value = "")]
    team: String,
}

#[derive(Debug, Args)]
struct IdArgs {
    #[command(flatten)]
    session: Session,
    /// The dispute.
    dispute_id: String,
}

#[derive(Debug, Args)]
struct AcceptArgs {
    #[command(flatten)]
    session: Session,
    /// The dispute.
    dispute_id: String,
    /// The check's new outcome.
    #[arg(long, value_enum, required_unless_present = "fraction")]
    outcome: Option<OutcomeArg>,
    /// A graded check's new share of its points, 0 to 1.
    #[arg(long)]
    fraction: Option<f64>,
    /// Why (required).
    #[arg(long)]
    reason: String,
}

#[derive(Debug, Args)]
struct RejectArgs {
    #[command(flatten)]
    session: Session,
    /// The dispute.
    dispute_id: String,
    /// Why the check stays (required).
    #[arg(long)]
    reason: String,
}

#[derive(Debug, Args)]
struct AckArgs {
    #[command(flatten)]
    session: Session,
    /// The scorecard.
    scorecard_id: String,
    /// An optional comment.
    #[arg(long, default_value = "")]
    comment: String,
}

impl DisputeArgs {
    /// Runs the subcommand against the server.
    pub fn run(self) -> anyhow::Result<()> {
        let session = match &self.command {
            DisputeCommand::Open(args) => &args.session,
            DisputeCommand::List(args) => &args.session,
            DisputeCommand::Show(args) => &args.session,
            DisputeCommand::Accept(args) => &args.session,
            DisputeCommand::Reject(args) => &args.session,
            DisputeCommand::Ack(args) => &args.session,
        };
        let client = session.client.clone();
        let format = session.output.format;
        runtime()?.block_on(async {
            let mut disputes = DisputeServiceClient::new(client.connect().await?);
            match self.command {
                DisputeCommand::Open(args) => {
                    let (criterion_id, check_id) = split_check(&args.check)?;
                    let opened = disputes
                        .open_dispute(pb::OpenDisputeRequest {
                            scorecard_id: args.scorecard_id,
                            criterion_id,
                            check_id,
                            comment: args.comment,
                        })
                        .await
                        .map_err(|status| rpc_failure("dispute refused", &status))?
                        .into_inner();
                    print(format, &opened, |o| render(o.dispute.as_slice()))
                }
                DisputeCommand::List(args) => {
                    let mut all = pb::ListDisputesResponse::default();
                    loop {
                        let page = disputes
                            .list_disputes(pb::ListDisputesRequest {
                                state: match args.state {
                                    None => pb::DisputeState::Unspecified,
                                    Some(StateArg::Open) => pb::DisputeState::Open,
                                    Some(StateArg::Accepted) => pb::DisputeState::Accepted,
                                    Some(StateArg::Rejected) => pb::DisputeState::Rejected,
                                } as i32,
                                agent_id: args.agent.clone(),
                                team_id: args.team.clone(),
                                page_size: 200,
                                page_token: all.next_page_token.clone(),
                                ..Default::default()
                            })
                            .await
                            .map_err(|status| rpc_failure("", &status))?
                            .into_inner();
                        all.disputes.extend(page.disputes);
                        all.next_page_token = page.next_page_token;
                        if all.next_page_token.is_empty() {
                            break;
                        }
                    }
                    print(format, &all, |a| render(&a.disputes))
                }
                DisputeCommand::Show(args) => {
                    let shown = disputes
                        .get_dispute(pb::GetDisputeRequest {
                            dispute_id: args.dispute_id,
                        })
                        .await
                        .map_err(|status| rpc_failure("", &status))?
                        .into_inner();
                    print(format, &shown, render_thread)
                }
                DisputeCommand::Accept(args) => {
                    let resolved = disputes
                        .resolve_dispute(pb::ResolveDisputeRequest {
                            dispute_id: args.dispute_id,
                            accept: true,
                            new_outcome: args.outcome.map_or(0, |o| outcome(o) as i32),
                            new_fraction: args.fraction,
                            reason: args.reason,
                        })
                        .await
                        .map_err(|status| rpc_failure("resolution refused", &status))?
                        .into_inner();
                    print(format, &resolved, |r| render(r.dispute.as_slice()))
                }
                DisputeCommand::Reject(args) => {
                    let resolved = disputes
                        .resolve_dispute(pb::ResolveDisputeRequest {
                            dispute_id: args.dispute_id,
                            accept: false,
                            reason: args.reason,
                            ..Default::default()
                        })
                        .await
                        .map_err(|status| rpc_failure("resolution refused", &status))?
                        .into_inner();
                    print(format, &resolved, |r| render(r.dispute.as_slice()))
                }
                DisputeCommand::Ack(args) => {
                    let acknowledged = disputes
                        .acknowledge_scorecard(pb::AcknowledgeScorecardRequest {
                            scorecard_id: args.scorecard_id,
                            comment: args.comment,
                        })
                        .await
                        .map_err(|status| rpc_failure("acknowledgement refused", &status))?
                        .into_inner();
                    print(format, &acknowledged, |a| {
                        a.event
                            .as_ref()
                            .map(|e| format!("acknowledged scorecard {}\n", e.scorecard_id))
                            .unwrap_or_default()
                    })
                }
            }
        })
    }
}

fn state_name(state: i32) -> &'static str {
    match pb::DisputeState::try_from(state) {
        Ok(pb::DisputeState::Open) => "open",
        Ok(pb::DisputeState::Accepted) => "accepted",
        Ok(pb::DisputeState::Rejected) => "rejected",
        _ => "-",
    }
}

fn render(disputes: &[pb::Dispute]) -> String {
    let mut out = format!(
        "{:<36} {:<8} {:>8} {:<12} {:<36} {}\n",
        "dispute", "state", "age (h)", "agent", "check", "comment"
    );
    for dispute in disputes {
        let _ = writeln!(
            out,
            "{:<36} {:<8} {:>8.1} {:<12} {:<36} {}",
            dispute.dispute_id,
            state_name(dispute.state),
            dispute.age_seconds as f64 / 3600.0,
            dispute.agent_id,
            format!("{}/{}", dispute.criterion_id, dispute.check_id),
            dispute.comment
        );
    }
    out
}

fn render_thread(shown: &pb::GetDisputeResponse) -> String {
    let mut out = render(shown.dispute.as_slice());
    for event in &shown.thread {
        let action = pb::AuditAction::try_from(event.action)
            .map(|a| {
                a.as_str_name()
                    .trim_start_matches("AUDIT_ACTION_")
                    .to_lowercase()
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {action:<18} by {:<16} {}",
            event.actor, event.reason
        );
    }
    out
}

//! The `callscore` command line: one subcommand per file in this folder.

mod calibration;
mod client;
mod dispute;
mod eval;
mod exit;
mod export;
mod health;
mod keys;
mod migrate;
mod model;
mod output;
mod review;
mod rubric;
mod score;
mod scorecard;
mod serve;
mod settings_args;
mod submit;
mod tenant;
mod transcribe;
mod trends;
mod webhook;

use clap::{Parser, Subcommand};

pub use exit::exit_code;

/// Quality-assurance scoring of recorded customer-service calls.
#[derive(Debug, Parser)]
#[command(name = "callscore", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Uploads a call to a callscore server (client).
    Submit(submit::SubmitArgs),
    /// Prints a scorecard from a callscore server (client).
    Scorecard(scorecard::ScorecardArgs),
    /// Prints an agent's score trend from a callscore server (client).
    Trends(trends::TrendsArgs),
    /// Lists, overrides and confirms scorecards; check reliability (client).
    Review(review::ReviewArgs),
    /// Calibration sessions: reviewers score the same calls blind (client).
    Calibration(calibration::CalibrationArgs),
    /// Disputes checks, resolves disputes, acknowledges scorecards (client).
    Dispute(dispute::DisputeArgs),
    /// Writes a period's scorecards, one row per check, as CSV or Parquet (client).
    Export(export::ExportArgs),
    /// Webhook endpoints, their secrets, deliveries and replay (client).
    Webhook(webhook::WebhookArgs),
    /// Runs the gRPC service (API and workers).
    Serve(serve::ServeArgs),
    /// Manages API keys.
    Keys(keys::KeysArgs),
    /// Shows or changes a tenant's settings (retention, audio redaction).
    Tenant(tenant::TenantArgs),
    /// Creates or upgrades the database schema.
    Migrate(migrate::MigrateArgs),
    /// Checks a server's health (exit 0 when SERVING): for container probes.
    Health(health::HealthArgs),
    /// Work with rubric documents.
    Rubric(rubric::RubricArgs),
    /// Score a call (audio, or transcript JSON) against a rubric and print the scorecard.
    Score(score::ScoreArgs),
    /// Measure agreement between the scorer and human labels on a corpus.
    Eval(eval::EvalArgs),
    /// Transcribe a recorded call with Whisper.
    Transcribe(transcribe::Args),
    /// Manage Whisper model files.
    #[command(subcommand)]
    Model(model::ModelCommand),
}

impl Cli {
    /// Runs the chosen subcommand to completion.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Submit(args) => args.run(),
            Command::Scorecard(args) => args.run(),
            Command::Trends(args) => args.run(),
            Command::Review(args) => args.run(),
            Command::Calibration(args) => args.run(),
            Command::Dispute(args) => args.run(),
            Command::Export(args) => args.run(),
            Command::Webhook(args) => args.run(),
            Command::Serve(args) => args.run(),
            Command::Keys(args) => args.run(),
            Command::Tenant(args) => args.run(),
            Command::Migrate(args) => args.run(),
            Command::Health(args) => args.run(),
            Command::Rubric(args) => args.run(),
            Command::Score(args) => args.run(),
            Command::Eval(args) => args.run(),
            Command::Transcribe(args) => transcribe::run(args),
            Command::Model(command) => model::run(command),
        }
    }
}

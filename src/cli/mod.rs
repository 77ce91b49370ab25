//! The `callscore` command line: one subcommand per file in this folder.

use clap::{Parser, Subcommand};

/// `callscore rubric ...`.
pub mod rubric;

/// `callscore score ...`.
pub mod score;

/// Quality-assurance scoring of recorded customer-service calls.
#[derive(Debug, Parser)]
#[command(name = "callscore", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with rubric documents.
    Rubric(rubric::RubricArgs),
    /// Score a call (transcript JSON) against a rubric and print the scorecard.
    Score(score::ScoreArgs),
}

impl Cli {
    /// Runs the chosen subcommand to completion.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Rubric(args) => args.run(),
            Command::Score(args) => args.run(),
        }
    }
}

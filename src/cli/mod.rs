//! The `callscore` command line: one subcommand per file in this folder.

use clap::{Parser, Subcommand};

mod model;
mod transcribe;

/// Quality-assurance scoring of recorded customer-service calls.
#[derive(Debug, Parser)]
#[command(name = "callscore", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
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
            Command::Transcribe(args) => transcribe::run(args),
            Command::Model(command) => model::run(command),
        }
    }
}

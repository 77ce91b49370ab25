//! `callscore rubric validate FILE`: checks a rubric and prints every error with its position.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use crate::rubric::parse_rubric;

/// Work with rubric documents.
#[derive(Debug, Args)]
pub struct RubricArgs {
    #[command(subcommand)]
    command: RubricCommand,
}

#[derive(Debug, Subcommand)]
enum RubricCommand {
    /// Validate a rubric (YAML or JSON); prints `FILE:line:column: path: message` per error.
    Validate {
        /// The rubric file.
        file: PathBuf,
    },
}

impl RubricArgs {
    /// Runs the rubric subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            RubricCommand::Validate { file } => validate(&file),
        }
    }
}

fn validate(file: &std::path::Path) -> anyhow::Result<()> {
    let source = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read rubric {}", file.display()))?;
    match parse_rubric(&source) {
        Ok(rubric) => {
            println!(
                "{}: ok: rubric {} version {} ({} criteria), sha256 {}",
                file.display(),
                rubric.id(),
                rubric.version(),
                rubric.criteria.len(),
                rubric.content_hash()
            );
            Ok(())
        }
        Err(errors) => {
            for error in &errors {
                let path = if error.path.is_empty() {
                    "(root)"
                } else {
                    &error.path
                };
                println!(
                    "{}:{}:{}: {}: {}",
                    file.display(),
                    error.line,
                    error.column,
                    path,
                    error.message
                );
            }
            bail!("{}: {} error(s)", file.display(), errors.len())
        }
    }
}

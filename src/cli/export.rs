//! `callscore export --from --to`: the period's scorecards, one row per
//! check, written as CSV (to a file or standard output) or Parquet (client).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::client::ClientArgs;
use super::exit::rpc_failure;
use super::settings_args::runtime;
use crate::proto::scorecard_service_client::ScorecardServiceClient;
use crate::proto::{self as pb};

/// Exports scorecards.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// First day of calls to export (YYYY-MM-DD, UTC) or an RFC 3339 time.
    #[arg(long)]
    from: String,
    /// Day after the last one to export (YYYY-MM-DD, UTC), or an RFC 3339 time.
    #[arg(long)]
    to: String,
    /// File format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,
    /// Only this agent's calls.
    #[arg(long)]
    agent: Option<String>,
    /// Only this team's calls.
    #[arg(long)]
    team: Option<String>,
    /// Where to write the file; standard output when absent (CSV only).
    #[arg(long, short)]
    output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Csv,
    Parquet,
}

/// `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time, as a protobuf timestamp.
pub(super) fn timestamp(flag: &str, value: &str) -> anyhow::Result<prost_types::Timestamp> {
    let time = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .or_else(|| {
            chrono::DateTime::parse_from_rfc3339(value)
                .ok()
                .map(|t| t.to_utc())
        })
        .with_context(|| {
            format!("--{flag} {value:?}: expected a date (2026-12-01) or an RFC 3339 time")
        })?;
    Ok(prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: 0,
    })
}

impl ExportArgs {
    /// Streams the export into the output.
    pub fn run(self) -> anyhow::Result<()> {
        if self.format == Format::Parquet && self.output.is_none() {
            anyhow::bail!("--format parquet writes a binary file: give it with --output FILE");
        }
        let request = pb::ExportScorecardsRequest {
            call_started: Some(pb::TimeRange {
                start: Some(timestamp("from", &self.from)?),
                end: Some(timestamp("to", &self.to)?),
            }),
            format: match self.format {
                Format::Csv => pb::ExportFormat::Csv,
                Format::Parquet => pb::ExportFormat::Parquet,
            } as i32,
            agent_id: self.agent.clone().unwrap_or_default(),
            team_id: self.team.clone().unwrap_or_default(),
        };
        let mut out: Box<dyn Write> = match &self.output {
            Some(path) => Box::new(std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("{}: cannot create the file", path.display()))?,
            )),
            None => Box::new(std::io::stdout().lock()),
        };
        let written = runtime()?.block_on(async {
            let channel = self.client.connect().await?;
            let mut stream = ScorecardServiceClient::new(channel)
                .export_scorecards(request)
                .await
                .map_err(|status| rpc_failure("", &status))?
                .into_inner();
            let mut written = 0usize;
            while let Some(piece) = stream
                .message()
                .await
                .map_err(|status| rpc_failure("export cut short", &status))?
            {
                out.write_all(&piece.data).context("writing the export")?;
                written += piece.data.len();
            }
            anyhow::Ok(written)
        })?;
        out.flush().context("writing the export")?;
        if let Some(path) = &self.output {
            eprintln!("export: {written} bytes written to {}", path.display());
        }
        Ok(())
    }
}

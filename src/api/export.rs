//! ExportScorecards: current scorecards flattened to one row per check, the
//! machine's and the reviewed outcome side by side, written as CSV or Apache
//! Parquet one store page at a time, so that a month of calls never sits in
//! memory at once.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::proto as pb;
use crate::scoring::{CheckResult, Outcome, reviewed_pairs};
use crate::store::{ScorecardFilter, ScorecardRecord, Store};

/// Scorecards read from the store per page.
const PAGE: u32 = 200;

/// The columns, in order.
pub const COLUMNS: [&str; 20] = [
    "call_id",
    "scorecard_id",
    "agent_id",
    "team_id",
    "call_started_at",
    "rubric_id",
    "rubric_version",
    "criterion_id",
    "check_id",
    "critical",
    "machine_outcome",
    "machine_points",
    "machine_possible",
    "machine_fraction",
    "reviewed_outcome",
    "reviewed_points",
    "reviewed_possible",
    "reviewed_fraction",
    "overridden",
    "overall_reviewed_score",
];

fn outcome(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Pass => "pass",
        Outcome::Fail => "fail",
        Outcome::NotApplicable => "not_applicable",
    }
}

/// Points and fractions to three decimals, as scorecards show them.
fn rounded(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// One check of one scorecard: a row of the export.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRow {
    pub call_id: String,
    pub scorecard_id: String,
    pub agent_id: String,
    pub team_id: String,
    /// Milliseconds since 1970 (UTC).
    pub call_started_at_ms: i64,
    pub rubric_id: String,
    pub rubric_version: u32,
    pub criterion_id: String,
    pub check_id: String,
    pub critical: bool,
    pub machine_outcome: &'static str,
    pub machine_points: f64,
    pub machine_possible: f64,
    pub machine_fraction: Option<f64>,
    pub reviewed_outcome: &'static str,
    pub reviewed_points: f64,
    pub reviewed_possible: f64,
    pub reviewed_fraction: Option<f64>,
    pub overridden: bool,
    pub overall_reviewed_score: Option<f64>,
}

/// The rows of one scorecard: every check of every criterion, machine and
/// reviewed results matched by criterion and check id.
fn rows(record: &ScorecardRecord) -> Vec<CheckRow> {
    let machine = &record.machine;
    let reviewed = &record.reviewed;
    let mut out = Vec::new();
    for (criterion, check, after) in reviewed_pairs(machine, reviewed) {
        let after: &CheckResult = after.unwrap_or(check);
        out.push(CheckRow {
            call_id: record.call_id.clone(),
            scorecard_id: record.scorecard_id.clone(),
            agent_id: record.agent_id.clone(),
            team_id: record.team_id.clone(),
            call_started_at_ms: record.call_started_at_ms,
            rubric_id: machine.rubric_id.clone(),
            rubric_version: machine.rubric_version,
            criterion_id: criterion.criterion_id.clone(),
            check_id: check.check_id.clone(),
            critical: check.critical,
            machine_outcome: outcome(check.outcome),
            machine_points: rounded(check.earned),
            machine_possible: rounded(check.possible),
            machine_fraction: check.fraction.map(rounded),
            reviewed_outcome: outcome(after.outcome),
            reviewed_points: rounded(after.earned),
            reviewed_possible: rounded(after.possible),
            reviewed_fraction: after.fraction.map(rounded),
            overridden: after.outcome != check.outcome
                || (after.earned - check.earned).abs() > 1e-9
                || after.fraction != check.fraction,
            overall_reviewed_score: reviewed.overall_score.map(rounded),
        });
    }
    out
}

/// CSV bytes of `rows`, with the header first when `header` is set.
fn csv_bytes(rows: &[CheckRow], header: bool) -> Result<Vec<u8>, Status> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let fail = |error: csv::Error| Status::internal(format!("writing CSV: {error}"));
    if header {
        writer.write_record(COLUMNS).map_err(fail)?;
    }
    let optional = |v: Option<f64>| v.map_or_else(String::new, |v| v.to_string());
    for row in rows {
        let started = chrono::DateTime::from_timestamp_millis(row.call_started_at_ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default();
        writer
            .write_record([
                row.call_id.clone(),
                row.scorecard_id.clone(),
                row.agent_id.clone(),
                row.team_id.clone(),
                started,
                row.rubric_id.clone(),
                row.rubric_version.to_string(),
                row.criterion_id.clone(),
                row.check_id.clone(),
                row.critical.to_string(),
                row.machine_outcome.to_string(),
                row.machine_points.to_string(),
                row.machine_possible.to_string(),
                optional(row.machine_fraction),
                row.reviewed_outcome.to_string(),
                row.reviewed_points.to_string(),
                row.reviewed_possible.to_string(),
                optional(row.reviewed_fraction),
                row.overridden.to_string(),
                optional(row.overall_reviewed_score),
            ])
            .map_err(fail)?;
    }
    writer
        .into_inner()
        .map_err(|error| Status::internal(format!("writing CSV: {error}")))
}

/// Writes pages of rows in one file format; `finish` returns the last bytes.
pub(super) trait FileWriter: Send {
    /// The bytes for one page of rows (the first call also writes any header).
    fn page(&mut self, rows: &[CheckRow]) -> Result<Vec<u8>, Status>;
    /// The bytes that end the file.
    fn finish(self: Box<Self>) -> Result<Vec<u8>, Status>;
    /// MIME type.
    fn content_type(&self) -> &'static str;
}

/// CSV: a header row, then rows.
struct CsvFile {
    header: bool,
}

impl FileWriter for CsvFile {
    fn page(&mut self, rows: &[CheckRow]) -> Result<Vec<u8>, Status> {
        let bytes = csv_bytes(rows, self.header)?;
        self.header = false;
        Ok(bytes)
    }

    fn finish(self: Box<Self>) -> Result<Vec<u8>, Status> {
        // An export of nothing is still a file with its header.
        if self.header {
            return csv_bytes(&[], true);
        }
        Ok(Vec::new())
    }

    fn content_type(&self) -> &'static str {
        "text/csv"
    }
}

/// A writer for `format`.
fn file_writer(format: pb::ExportFormat) -> Result<Box<dyn FileWriter>, Status> {
    Ok(match format {
        pb::ExportFormat::Unspecified | pb::ExportFormat::Csv => Box::new(CsvFile { header: true }),
        pb::ExportFormat::Parquet => Box::new(super::export_parquet::ParquetFile::new()?),
    })
}

/// Streams the export: the rows of each store page as it is read, in the
/// file format asked for. A store error mid-way ends the stream with that
/// error, so a client never mistakes a cut file for a whole one.
pub fn stream(
    store: Arc<dyn Store>,
    tenant: String,
    filter: ScorecardFilter,
    format: pb::ExportFormat,
    hidden_calls: std::collections::HashSet<String>,
) -> Result<ReceiverStream<Result<pb::ExportScorecardsResponse, Status>>, Status> {
    let mut writer = file_writer(format)?;
    let (tx, rx) = mpsc::channel(2);
    tokio::spawn(async move {
        let content_type = writer.content_type();
        let piece = |data: Vec<u8>| pb::ExportScorecardsResponse {
            data,
            content_type: content_type.to_string(),
        };
        let mut after: Option<(i64, String)> = None;
        loop {
            let page = match store
                .list_scorecards(&tenant, &filter, after.clone(), PAGE)
                .await
            {
                Ok(page) => page,
                Err(error) => {
                    let _ = tx.send(Err(Status::from(error))).await;
                    return;
                }
            };
            // Calls the caller judges blind in a calibration session stay out.
            let rows: Vec<CheckRow> = page
                .iter()
                .filter(|record| !hidden_calls.contains(&record.call_id))
                .flat_map(rows)
                .collect();
            if !rows.is_empty() {
                match writer.page(&rows) {
                    Ok(bytes) if bytes.is_empty() => {}
                    Ok(bytes) => {
                        if tx.send(Ok(piece(bytes))).await.is_err() {
                            return;
                        }
                    }
                    Err(status) => {
                        let _ = tx.send(Err(status)).await;
                        return;
                    }
                }
            }
            match page.last() {
                Some(last) if page.len() == PAGE as usize => {
                    after = Some((last.call_started_at_ms, last.scorecard_id.clone()));
                }
                _ => break,
            }
        }
        match writer.finish() {
            Ok(bytes) if bytes.is_empty() => {}
            Ok(bytes) => {
                let _ = tx.send(Ok(piece(bytes))).await;
            }
            Err(status) => {
                let _ = tx.send(Err(status)).await;
            }
        }
    });
    Ok(ReceiverStream::new(rx))
}

//! ExportScorecards: current scorecards flattened to one row per check, the
//! machine's and the reviewed outcome side by side, written as CSV one store
//! page at a time, so that a month of calls never sits in memory at once.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::proto as pb;
use crate::scoring::{CheckResult, Outcome};
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

fn number(value: Option<f64>) -> String {
    value.map_or_else(String::new, |v| {
        format!("{}", (v * 1000.0).round() / 1000.0)
    })
}

/// The rows of one scorecard: every check of every criterion, machine and
/// reviewed results matched by criterion and check id.
fn rows(record: &ScorecardRecord) -> Vec<[String; 20]> {
    let started = chrono::DateTime::from_timestamp_millis(record.call_started_at_ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default();
    let machine = &record.machine;
    let reviewed = &record.reviewed;
    let mut out = Vec::new();
    for criterion in &machine.criteria {
        let reviewed_criterion = reviewed
            .criteria
            .iter()
            .find(|c| c.criterion_id == criterion.criterion_id);
        for check in &criterion.checks {
            let after: &CheckResult = reviewed_criterion
                .and_then(|c| c.checks.iter().find(|r| r.check_id == check.check_id))
                .unwrap_or(check);
            let overridden = after.outcome != check.outcome
                || (after.earned - check.earned).abs() > 1e-9
                || after.fraction != check.fraction;
            out.push([
                record.call_id.clone(),
                record.scorecard_id.clone(),
                record.agent_id.clone(),
                record.team_id.clone(),
                started.clone(),
                machine.rubric_id.clone(),
                machine.rubric_version.to_string(),
                criterion.criterion_id.clone(),
                check.check_id.clone(),
                check.critical.to_string(),
                outcome(check.outcome).to_string(),
                number(Some(check.earned)),
                number(Some(check.possible)),
                number(check.fraction),
                outcome(after.outcome).to_string(),
                number(Some(after.earned)),
                number(Some(after.possible)),
                number(after.fraction),
                overridden.to_string(),
                number(reviewed.overall_score),
            ]);
        }
    }
    out
}

/// CSV bytes of `rows`, with the header first when `header` is set.
fn csv_bytes(rows: &[[String; 20]], header: bool) -> Result<Vec<u8>, Status> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let fail = |error: csv::Error| Status::internal(format!("writing CSV: {error}"));
    if header {
        writer.write_record(COLUMNS).map_err(fail)?;
    }
    for row in rows {
        writer.write_record(row).map_err(fail)?;
    }
    writer
        .into_inner()
        .map_err(|error| Status::internal(format!("writing CSV: {error}")))
}

/// Streams the export: the header, then the rows of each store page as it
/// is read. A store error mid-way ends the stream with that error, so a
/// client never mistakes a cut file for a whole one.
pub fn stream(
    store: Arc<dyn Store>,
    tenant: String,
    filter: ScorecardFilter,
) -> ReceiverStream<Result<pb::ExportScorecardsResponse, Status>> {
    let (tx, rx) = mpsc::channel(2);
    tokio::spawn(async move {
        let piece = |data: Vec<u8>| pb::ExportScorecardsResponse {
            data,
            content_type: "text/csv".to_string(),
        };
        let mut header = true;
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
            let rows: Vec<[String; 20]> = page.iter().flat_map(rows).collect();
            let bytes = match csv_bytes(&rows, header) {
                Ok(bytes) => bytes,
                Err(status) => {
                    let _ = tx.send(Err(status)).await;
                    return;
                }
            };
            header = false;
            if !bytes.is_empty() && tx.send(Ok(piece(bytes))).await.is_err() {
                return;
            }
            match page.last() {
                Some(last) if page.len() == PAGE as usize => {
                    after = Some((last.call_started_at_ms, last.scorecard_id.clone()));
                }
                _ => return,
            }
        }
    });
    ReceiverStream::new(rx)
}

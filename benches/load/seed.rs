//! Bulk seeding: thousands of rows per INSERT and per transaction on one
//! connection of the bench's own, into the schema the server migrated. Only
//! the tables the measured reads touch are filled (scorecards and their
//! criterion rows; no calls, transcripts or audit events).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context;
use callscore::rubric::{default_rubric_source, parse_rubric};
use callscore::scoring::{CompiledRubric, Scorecard, score_transcript};
use callscore::transcript::{Segment, Speaker, Transcript};
use sqlx::Connection;

use crate::setup::{Backend, Bench, TENANT};

/// Agents the scorecards are spread over (1,000 scorecards each at 1M).
pub const AGENTS: u64 = 1_000;
/// 2025-01-01 00:00 UTC: call start times run from here.
const BASE_MS: i64 = 1_735_689_600_000;
/// Spacing of call starts, so that 1,000,000 calls span a year.
const SPACING_MS: i64 = 31_536;
/// Scorecards per INSERT statement.
const PER_STATEMENT: u64 = 500;
/// Scorecards per transaction.
const PER_TRANSACTION: u64 = 10_000;

const AGENT_LINES: [&str; 5] = [
    "Good morning, thank you for calling customer service, my name is Rina, how can I help you?",
    "I understand, I am sorry about the delay with your order, let me verify your account first.",
    "Could you please hold for a moment while I check with the warehouse?",
    "Thank you for waiting, your parcel will arrive within two working days.",
    "Is there anything else I can help you with today? Thank you for calling, have a nice day.",
];
const CUSTOMER_LINES: [&str; 5] = [
    "Hi, my order has not arrived and it has been a week already.",
    "Sure, my name is Budi Santoso, born on the fourth of May.",
    "Okay, I will wait.",
    "Two more days is long but okay.",
    "No, that is all, thanks.",
];

/// The scorecard every seeded row carries as JSON: a real scoring of a short
/// call with the default rubric, evidence and all.
fn realistic_card() -> anyhow::Result<Scorecard> {
    let rubric = parse_rubric(default_rubric_source())
        .map_err(|errors| anyhow::anyhow!("default rubric: {errors:?}"))?;
    let compiled = CompiledRubric::compile(&rubric)
        .map_err(|error| anyhow::anyhow!("default rubric compiles: {error:?}"))?;
    let mut segments = Vec::new();
    let mut t = 0;
    for (agent, customer) in AGENT_LINES.iter().zip(CUSTOMER_LINES) {
        for (speaker, text) in [(Speaker::Agent, *agent), (Speaker::Customer, customer)] {
            let len = 400 * text.split_whitespace().count() as u64;
            segments.push(Segment {
                speaker,
                start_ms: t,
                end_ms: t + len,
                text: text.to_string(),
                language: Some("en".into()),
                confidence: None,
                words: Vec::new(),
                voice: None,
            });
            t += len + 300;
        }
    }
    let transcript = Transcript {
        language: Some("en".into()),
        segments,
        attribution: None,
    };
    Ok(score_transcript(&compiled, &transcript, "bench"))
}

/// The same scorecard without evidence and prose: the bulk rows that only
/// trends read, kept small so a million of them fit the disk and the time.
fn compact(card: &Scorecard) -> Scorecard {
    let mut card = card.clone();
    for criterion in &mut card.criteria {
        for check in &mut criterion.checks {
            check.evidence.clear();
            check.reason.clear();
            check.description.clear();
        }
    }
    card
}

/// A deterministic criterion score for row `i`, criterion `k`; every
/// seventh is not applicable.
fn criterion_score(i: u64, k: u64) -> Option<u64> {
    (!(i + k).is_multiple_of(7)).then_some((i * 37 + k * 11) % 101)
}

/// SQL string literal.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// One INSERT for scorecards `[from, to)` and one for their criterion rows.
fn batch_sql(from: u64, to: u64, card: &Scorecard, json: &str) -> String {
    let mut scorecards = String::from(
        "INSERT INTO scorecards (tenant_id, scorecard_id, call_id, agent_id, team_id, \
         call_started_at_ms, created_at_ms, rubric_id, rubric_version, rubric_hash, model_id, \
         machine_json, reviewed_json, overall_score, has_critical_failure, review_revision, \
         is_current) VALUES ",
    );
    let mut criteria = String::from(
        "INSERT INTO scorecard_criteria (tenant_id, scorecard_id, criterion_id, agent_id, \
         team_id, call_started_at_ms, is_current, score, failed_checks) VALUES ",
    );
    let fixed = format!(
        "{}, {}, {}, {}",
        quote(&card.rubric_id),
        quote(&card.rubric_version.to_string()),
        quote(&card.rubric_hash),
        quote(&card.model_id)
    );
    for i in from..to {
        let agent = i % AGENTS;
        let team = agent % 50;
        let at = BASE_MS + i as i64 * SPACING_MS;
        let scores: Vec<Option<u64>> = (0..card.criteria.len() as u64)
            .map(|k| criterion_score(i, k))
            .collect();
        let applicable: Vec<u64> = scores.iter().flatten().copied().collect();
        let overall = if applicable.is_empty() {
            "NULL".to_string()
        } else {
            format!(
                "{}",
                applicable.iter().sum::<u64>() as f64 / applicable.len() as f64
            )
        };
        let separator = if i == from { "" } else { ", " };
        let _ = write!(
            scorecards,
            "{separator}('{TENANT}', 'sc-{i:09}', 'call-{i:09}', 'agent-{agent:04}', \
             'team-{team:02}', {at}, {created}, {fixed}, {json}, {json}, {overall}, 0, 0, 1)",
            created = at + 60_000,
        );
        for (criterion, score) in card.criteria.iter().zip(&scores) {
            let separator = if i == from && criterion.criterion_id == card.criteria[0].criterion_id
            {
                ""
            } else {
                ", "
            };
            let (score, failed) = match score {
                Some(s) => (s.to_string(), i64::from(*s < 100)),
                None => ("NULL".to_string(), 0),
            };
            let _ = write!(
                criteria,
                "{separator}('{TENANT}', 'sc-{i:09}', {id}, 'agent-{agent:04}', \
                 'team-{team:02}', {at}, 1, {score}, {failed})",
                id = quote(&criterion.criterion_id),
            );
        }
    }
    format!("{scorecards};\n{criteria};\n")
}

/// The seeder's own connection.
enum Seeder {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Seeder {
    async fn connect(bench: &Bench) -> anyhow::Result<Self> {
        Ok(match bench.backend {
            Backend::Sqlite => {
                let mut connection = sqlx::SqliteConnection::connect(&bench.url).await?;
                // A lost bench database costs nothing; a synced one costs minutes.
                sqlx::raw_sql("PRAGMA synchronous = OFF; PRAGMA busy_timeout = 10000")
                    .execute(&mut connection)
                    .await?;
                Self::Sqlite(connection)
            }
            Backend::Postgres => {
                let mut connection = sqlx::PgConnection::connect(&bench.url).await?;
                sqlx::raw_sql("SET synchronous_commit = off")
                    .execute(&mut connection)
                    .await?;
                Self::Postgres(connection)
            }
        })
    }

    async fn run(&mut self, sql: String) -> anyhow::Result<()> {
        let sql = sqlx::AssertSqlSafe(sql);
        match self {
            Self::Sqlite(connection) => {
                sqlx::raw_sql(sql).execute(connection).await?;
            }
            Self::Postgres(connection) => {
                sqlx::raw_sql(sql).execute(connection).await?;
            }
        }
        Ok(())
    }
}

/// Inserts scorecards `[from, to)`: realistic JSON when seeding from 0,
/// compact beyond; then refreshes planner statistics (and on PostgreSQL the
/// visibility map), as autovacuum would on a live database.
pub async fn seed(bench: &Bench, from: u64, to: u64) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let real = realistic_card()?;
    let card = if from == 0 { real } else { compact(&real) };
    let json = quote(&serde_json::to_string(&card).context("scorecard JSON")?);
    let mut seeder = Seeder::connect(bench).await?;
    let mut next = from;
    while next < to {
        let end = (next + PER_TRANSACTION).min(to);
        let mut sql = String::from("BEGIN;\n");
        let mut at = next;
        while at < end {
            let stop = (at + PER_STATEMENT).min(end);
            sql.push_str(&batch_sql(at, stop, &card, &json));
            at = stop;
        }
        sql.push_str("COMMIT;\n");
        seeder.run(sql).await?;
        next = end;
    }
    // PostgreSQL's index-only scans also need the visibility map VACUUM keeps.
    let maintenance = match bench.backend {
        Backend::Sqlite => "ANALYZE",
        Backend::Postgres => "VACUUM ANALYZE",
    };
    seeder.run(maintenance.to_string()).await?;
    Ok(started.elapsed())
}

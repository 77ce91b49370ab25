//! `callscore trends --agent A`: an agent's scores per week (or day, month).

use std::fmt::Write as _;

use clap::{Args, ValueEnum};

use super::client::ClientArgs;
use super::exit::rpc_failure;
use super::output::{OutputArgs, print};
use super::settings_args::runtime;
use crate::proto::insight_service_client::InsightServiceClient;
use crate::proto::{self as pb};

/// Prints an agent's trend.
#[derive(Debug, Args)]
pub struct TrendsArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// The agent.
    #[arg(long)]
    agent: String,
    /// Bucket width.
    #[arg(long, value_enum, default_value_t = Bucket::Week)]
    bucket: Bucket,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Bucket {
    Day,
    Week,
    Month,
}

fn mean(score: Option<&pb::ScoreMean>) -> String {
    score.map_or_else(|| "   n/a".into(), |s| format!("{:6.1}", s.mean))
}

impl TrendsArgs {
    /// Fetches and prints one line per bucket.
    pub fn run(self) -> anyhow::Result<()> {
        runtime()?.block_on(async {
            let channel = self.client.connect().await?;
            let trend = InsightServiceClient::new(channel)
                .get_agent_trend(pb::GetAgentTrendRequest {
                    agent_id: self.agent.clone(),
                    range: None,
                    bucket: match self.bucket {
                        Bucket::Day => pb::TrendBucket::Day,
                        Bucket::Week => pb::TrendBucket::Week,
                        Bucket::Month => pb::TrendBucket::Month,
                    } as i32,
                })
                .await
                .map_err(|status| rpc_failure("", &status))?
                .into_inner();
            print(self.output.format, &trend, render)
        })
    }
}

/// One line per bucket, one column per criterion.
fn render(trend: &pb::GetAgentTrendResponse) -> String {
    let mut criteria: Vec<String> = trend
        .points
        .iter()
        .flat_map(|p| p.criteria.iter().map(|c| c.criterion_id.clone()))
        .collect();
    criteria.sort();
    criteria.dedup();
    let mut out = format!("{:<12} {:>5} {:>6}", "bucket", "calls", "overall");
    for criterion in &criteria {
        let _ = write!(out, " {:>15}", criterion);
    }
    out.push('\n');
    for point in &trend.points {
        let start = point.bucket_start.as_ref().map_or(0, |t| t.seconds);
        let day = chrono::DateTime::from_timestamp(start, 0)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        let _ = write!(
            out,
            "{day:<12} {:>5} {}",
            point.call_count,
            mean(point.overall.as_ref())
        );
        for criterion in &criteria {
            let score = point
                .criteria
                .iter()
                .find(|c| &c.criterion_id == criterion)
                .and_then(|c| c.score.as_ref());
            let _ = write!(out, " {:>15}", mean(score));
        }
        out.push('\n');
    }
    out
}

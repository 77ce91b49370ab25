//! Load generator (not a test): seeds a store with scorecards through bulk
//! SQL, starts the real server in-process on 127.0.0.1:0 and drives
//! `GetScorecard`, `ListScorecards` and `GetAgentTrend` over gRPC at rising
//! concurrency plus a fixed open-loop rate, printing throughput and p50/p99.
//!
//! `cargo bench --bench load -- [--backend sqlite|postgres|both]
//!  [--scorecards 100000] [--trend-scorecards 1000000] [--seconds 3]`
//! See docs/benchmarks.md.

mod drive;
mod seed;
mod setup;

use std::time::Duration;

use drive::{Probe, Target};
use setup::{Backend, Options};

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let options = Options::from_args(std::env::args().skip(1))?;
    for backend in options.backends.clone() {
        run_backend(backend, &options).await?;
    }
    Ok(())
}

/// Seeds, serves and drives one database; the database is removed afterwards.
async fn run_backend(backend: Backend, options: &Options) -> anyhow::Result<()> {
    println!("\n=== {backend:?} ===");
    let bench = setup::Bench::start(backend).await?;
    let step = Duration::from_secs(options.seconds);

    let seeded = seed::seed(&bench, 0, options.scorecards).await?;
    println!(
        "seeded {} scorecards in {:.1}s",
        options.scorecards,
        seeded.as_secs_f64()
    );
    let probe = Probe::connect(&bench, options.scorecards).await?;
    for target in [
        Target::GetScorecard,
        Target::ListScorecards,
        Target::AgentTrend,
    ] {
        probe.report(target, &options.concurrency, step).await?;
    }
    probe.open_loop(Target::GetScorecard, 1_000, step).await?;

    if options.trend_scorecards > options.scorecards {
        let grown = seed::seed(&bench, options.scorecards, options.trend_scorecards).await?;
        println!(
            "grew the store to {} scorecards in {:.1}s",
            options.trend_scorecards,
            grown.as_secs_f64()
        );
        probe
            .report(Target::AgentTrend, &options.concurrency, step)
            .await?;
        probe.open_loop(Target::GetScorecard, 1_000, step).await?;
    }
    bench.stop().await
}

//! Driving load: closed loop at a fixed concurrency, and open loop at a
//! fixed rate (latency measured from the scheduled send time, so a stalled
//! server cannot hide its queueing: no coordinated omission).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use callscore::proto::insight_service_client::InsightServiceClient;
use callscore::proto::scorecard_service_client::ScorecardServiceClient;
use callscore::proto::{
    GetAgentTrendRequest, GetScorecardRequest, ListScorecardsRequest, TrendBucket,
};
use callscore::store::{ScorecardFilter, Store};
use tokio::task::JoinSet;
use tonic::Code;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::seed::AGENTS;
use crate::setup::{Bench, TENANT};

/// Adds the bearer key to every call.
#[derive(Clone)]
struct Bearer(MetadataValue<tonic::metadata::Ascii>);

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

type Authed = InterceptedService<Channel, Bearer>;

/// Which RPC to drive.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// One scorecard by id, random among the first seeded.
    GetScorecard,
    /// First page (50) of a random agent's scorecards.
    ListScorecards,
    /// A random agent's whole history in weekly buckets.
    AgentTrend,
}

/// Clients for the bench's server.
#[derive(Clone)]
pub struct Probe {
    scorecards: ScorecardServiceClient<Authed>,
    insight: InsightServiceClient<Authed>,
    store: Arc<dyn Store>,
    /// Scorecards with realistic JSON, ids `sc-000000000` upwards.
    seeded: u64,
}

/// A cheap, per-task pseudo-random sequence (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Latencies (of every answer, errors included) and outcomes of one step.
struct Stats {
    latencies_us: Vec<u64>,
    errors: u64,
    first_error: Option<Code>,
    elapsed: Duration,
}

impl Stats {
    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let index = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[index] as f64 / 1000.0
    }

    fn print(&mut self, label: &str) {
        self.latencies_us.sort_unstable();
        let total = self.latencies_us.len();
        let errors = match self.first_error {
            Some(code) => format!("  answered with an error: {} ({code:?})", self.errors),
            None => String::new(),
        };
        println!(
            "{label:<44} {:>8.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  n {total}{errors}",
            self.latencies_us.len() as f64 / self.elapsed.as_secs_f64(),
            self.percentile_ms(0.50),
            self.percentile_ms(0.99),
        );
    }
}

/// What one task brings back: latencies of successes, (errors, first error code).
type TaskResult = (Vec<u64>, (u64, Option<Code>));

/// One request's outcome, timed by the caller.
type Outcome = Result<(), Code>;

impl Probe {
    /// Connects to the bench's server; GetScorecard asks for ids below `seeded`.
    pub async fn connect(bench: &Bench, seeded: u64) -> anyhow::Result<Self> {
        let channel = Channel::from_shared(format!("http://{}", bench.address))?
            .connect()
            .await?;
        let bearer = Bearer(format!("Bearer {}", bench.token).parse()?);
        Ok(Self {
            scorecards: ScorecardServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            insight: InsightServiceClient::with_interceptor(channel, bearer),
            store: bench.store.clone(),
            seeded,
        })
    }

    /// One gRPC request to `target`, parameters drawn from `random`.
    async fn rpc(mut self, target: Target, random: u64, seeded: u64) -> Outcome {
        let agent = format!("agent-{:04}", random % AGENTS);
        let result = match target {
            Target::GetScorecard => self
                .scorecards
                .get_scorecard(GetScorecardRequest {
                    scorecard_id: format!("sc-{:09}", random % seeded),
                })
                .await
                .map(drop),
            Target::ListScorecards => self
                .scorecards
                .list_scorecards(ListScorecardsRequest {
                    page_size: 50,
                    agent_id: agent,
                    ..Default::default()
                })
                .await
                .map(drop),
            Target::AgentTrend => self
                .insight
                .get_agent_trend(GetAgentTrendRequest {
                    agent_id: agent,
                    range: None,
                    bucket: TrendBucket::Week.into(),
                })
                .await
                .map(drop),
        };
        result.map_err(|status| status.code())
    }

    /// The store read the RPC rests on, without gRPC or authentication.
    async fn store_read(self, target: Target, random: u64, seeded: u64) -> Outcome {
        let agent = format!("agent-{:04}", random % AGENTS);
        let result = match target {
            Target::GetScorecard => self
                .store
                .get_scorecard(TENANT, &format!("sc-{:09}", random % seeded))
                .await
                .map(drop),
            Target::ListScorecards => {
                let filter = ScorecardFilter {
                    agent_id: Some(agent),
                    ..ScorecardFilter::default()
                };
                self.store
                    .list_scorecards(TENANT, &filter, None, 51)
                    .await
                    .map(drop)
            }
            Target::AgentTrend => return Ok(()),
        };
        result.map_err(|_| Code::Internal)
    }

    /// Runs `target` at each concurrency and prints a line per step. When the
    /// RPC is not served by this build, the store read it will rest on is
    /// measured instead, and labelled so.
    pub async fn report(
        &self,
        target: Target,
        concurrency: &[usize],
        step: Duration,
    ) -> anyhow::Result<()> {
        let probe = self.clone();
        let seeded = self.seeded;
        let served = probe.clone().rpc(target, 1, seeded).await != Err(Code::Unimplemented);
        for &c in concurrency {
            let p = probe.clone();
            let mut stats = closed_loop(c, step, move |r| p.clone().rpc(target, r, seeded)).await;
            stats.print(&format!("{target:?} gRPC c={c}"));
        }
        if !served {
            println!(
                "  {target:?} answers UNIMPLEMENTED in this build: the lines above time that answer, i.e. the gRPC + API-key floor; the store read the RPC will add:"
            );
            for &c in concurrency {
                let p = probe.clone();
                let mut stats =
                    closed_loop(c, step, move |r| p.clone().store_read(target, r, seeded)).await;
                stats.print(&format!("  {target:?} store read c={c}"));
            }
        }
        Ok(())
    }

    /// Runs `target` open loop at `rate` per second for `step`.
    pub async fn open_loop(&self, target: Target, rate: u32, step: Duration) -> anyhow::Result<()> {
        let seeded = self.seeded;
        let p = self.clone();
        let served = p.clone().rpc(target, 1, seeded).await != Err(Code::Unimplemented);
        let mut stats = open_loop(rate, step, move |r| p.clone().rpc(target, r, seeded)).await;
        stats.print(&format!("{target:?} gRPC open loop {rate}/s"));
        if !served {
            let p = self.clone();
            let mut stats =
                open_loop(rate, step, move |r| p.clone().store_read(target, r, seeded)).await;
            stats.print(&format!("  {target:?} store read open loop {rate}/s"));
        }
        Ok(())
    }
}

/// `concurrency` tasks each sending back to back for `step`.
async fn closed_loop<F, Fut>(concurrency: usize, step: Duration, request: F) -> Stats
where
    F: Fn(u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send,
{
    let started = Instant::now();
    let deadline = started + step;
    let mut tasks = JoinSet::new();
    for task in 0..concurrency {
        let request = request.clone();
        tasks.spawn(async move {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((task as u64 + 1) * 0x1000_0001));
            let mut latencies = Vec::new();
            let mut errors = (0u64, None);
            while Instant::now() < deadline {
                let sent = Instant::now();
                let outcome = request(rng.next()).await;
                // Every answer is timed: an error answer is still a round trip.
                latencies.push(sent.elapsed().as_micros() as u64);
                if let Err(code) = outcome {
                    errors.0 += 1;
                    errors.1.get_or_insert(code);
                }
            }
            (latencies, errors)
        });
    }
    collect(tasks, started).await
}

/// One request every `1/rate` s for `step`, each timed from its scheduled start.
async fn open_loop<F, Fut>(rate: u32, step: Duration, request: F) -> Stats
where
    F: Fn(u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let started = Instant::now();
    let period = Duration::from_secs(1) / rate;
    let total = (step.as_secs_f64() * f64::from(rate)) as u64;
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut tasks = JoinSet::new();
    for n in 0..total {
        let scheduled = started + period * u32::try_from(n).unwrap_or(u32::MAX);
        tokio::time::sleep_until(scheduled.into()).await;
        let future = request(rng.next());
        tasks.spawn(async move {
            let outcome = future.await;
            let latency = scheduled.elapsed().as_micros() as u64;
            match outcome {
                Ok(()) => (vec![latency], (0, None)),
                Err(code) => (vec![latency], (1, Some(code))),
            }
        });
    }
    collect(tasks, started).await
}

async fn collect(mut tasks: JoinSet<TaskResult>, started: Instant) -> Stats {
    let mut stats = Stats {
        latencies_us: Vec::new(),
        errors: 0,
        first_error: None,
        elapsed: Duration::ZERO,
    };
    while let Some(joined) = tasks.join_next().await {
        if let Ok((latencies, (errors, code))) = joined {
            stats.latencies_us.extend(latencies);
            stats.errors += errors;
            if stats.first_error.is_none() {
                stats.first_error = code;
            }
        }
    }
    stats.elapsed = started.elapsed();
    stats
}

//! Resilience bench (not a test): attacks a real `callscore serve` child
//! process on 127.0.0.1 and prints what it held, the errors clients saw,
//! health latency during each attack, and the server's memory and CPU.
//!
//! `cargo bench --bench resilience -- [--flood 15000] [--loris 2000]
//!  [--watches 2000] [--large 200] [--kills 5]`
//!
//! Scenarios: a connection flood of silent connections from many loopback
//! addresses; slow-loris peers dribbling the HTTP/2 preface; a WatchCall
//! flood from one key; WatchCall fan-out over many keys (idle CPU, delivery
//! delay through the change feed); a flood of large SubmitTranscript requests; kill -9
//! and restart loops. See docs/benchmarks.md.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use callscore::proto::call_service_client::CallServiceClient;
use callscore::proto::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpSocket;
use tonic::service::Interceptor;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

struct Options {
    flood: usize,
    loris: usize,
    watches: usize,
    large: usize,
    kills: usize,
}

impl Options {
    fn from_args() -> anyhow::Result<Self> {
        let mut options = Self {
            flood: 15_000,
            loris: 2_000,
            watches: 2_000,
            large: 200,
            kills: 5,
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            if flag == "--bench" {
                continue;
            }
            let value: usize = args
                .next()
                .ok_or_else(|| anyhow::anyhow!("{flag} needs a number"))?
                .parse()?;
            match flag.as_str() {
                "--flood" => options.flood = value,
                "--loris" => options.loris = value,
                "--watches" => options.watches = value,
                "--large" => options.large = value,
                "--kills" => options.kills = value,
                other => anyhow::bail!("unknown option {other}"),
            }
        }
        Ok(options)
    }
}

#[derive(Clone)]
struct Bearer(String);

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        let value = format!("Bearer {}", self.0)
            .parse()
            .map_err(|_| tonic::Status::internal("key"))?;
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }
}

/// The server under attack, a child process on its own SQLite file.
struct Server {
    child: Child,
    address: SocketAddr,
    database_url: String,
    blobs: PathBuf,
    key: String,
}

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_callscore")
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Server {
    fn create_key(database_url: &str) -> anyhow::Result<String> {
        let output = Command::new(binary())
            .args(["keys", "create", "--tenant", "acme", "--role", "admin"])
            .args(["--database-url", database_url])
            .output()?;
        anyhow::ensure!(output.status.success(), "keys create: {output:?}");
        Ok(String::from_utf8(output.stdout)?.trim().to_string())
    }

    async fn start(dir: &Path, port: u16, key: Option<String>) -> anyhow::Result<Self> {
        let database_url = format!("sqlite://{}/resilience.db", dir.display());
        let key = match key {
            Some(key) => key,
            None => Self::create_key(&database_url)?,
        };
        let blobs = dir.join("blobs");
        let address: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        let child = Command::new(binary())
            .args(["serve", "--role", "api", "--listen", &address.to_string()])
            .env("CALLSCORE_DATABASE_URL", &database_url)
            .env("CALLSCORE_BLOB_DIR", &blobs)
            .env("CALLSCORE_ENCODER_DIR", "")
            .env("CALLSCORE_LOG_LEVEL", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let server = Self {
            child,
            address,
            database_url,
            blobs,
            key,
        };
        let started = Instant::now();
        while health_latency(server.address).await.is_none() {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(30),
                "the server did not come up"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(server)
    }

    /// Peak and current resident memory (MiB) and CPU seconds so far.
    fn usage(&self) -> (f64, f64, f64) {
        let pid = self.child.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|line| line.starts_with(name))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<f64>().ok())
                .map_or(0.0, |kib| kib / 1024.0)
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        // utime and stime are fields 14 and 15; after the name, 12 and 13.
        let cpu = (ticks(11) + ticks(12)) / 100.0;
        (field("VmHWM:"), field("VmRSS:"), cpu)
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    async fn calls(
        &self,
    ) -> anyhow::Result<
        CallServiceClient<tonic::service::interceptor::InterceptedService<Channel, Bearer>>,
    > {
        let channel = Channel::from_shared(format!("http://{}", self.address))?
            .connect()
            .await?;
        Ok(CallServiceClient::with_interceptor(
            channel,
            Bearer(self.key.clone()),
        ))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One health check over a fresh connection; `None` when it failed.
async fn health_latency(address: SocketAddr) -> Option<Duration> {
    let started = Instant::now();
    let attempt = async {
        let channel = Channel::from_shared(format!("http://{address}"))
            .ok()?
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .ok()?;
        HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .ok()
    };
    match tokio::time::timeout(Duration::from_secs(10), attempt).await {
        Ok(Some(response)) if response.get_ref().status == 1 => Some(started.elapsed()),
        _ => None,
    }
}

/// Health checked `probes` times, 200 ms apart: (answered, worst latency).
async fn health_during(address: SocketAddr, probes: usize) -> (usize, Duration) {
    let mut answered = 0;
    let mut worst = Duration::ZERO;
    for _ in 0..probes {
        if let Some(latency) = health_latency(address).await {
            answered += 1;
            worst = worst.max(latency);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    (answered, worst)
}

/// Health probed `probes` times, as a report line.
async fn health_line(address: SocketAddr, probes: usize) -> String {
    let (answered, worst) = health_during(address, probes).await;
    format!(
        "{answered}/{probes} answered, worst {:.0} ms",
        worst.as_secs_f64() * 1000.0
    )
}

fn loopback(n: usize) -> SocketAddr {
    // 127.0.0.0/8 is all loopback: each peer its own address, past the
    // per-address limit.
    let n = n + 2;
    format!(
        "127.{}.{}.{}:0",
        10 + n / 62_500,
        (n / 250) % 250,
        2 + n % 250
    )
    .parse()
    .expect("address")
}

async fn connect_from(n: usize, server: SocketAddr) -> Option<tokio::net::TcpStream> {
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind(loopback(n)).ok()?;
    tokio::time::timeout(Duration::from_secs(5), socket.connect(server))
        .await
        .ok()?
        .ok()
}

/// Connections still open: a read that neither ends nor fails within 10 ms.
async fn still_open(streams: &mut [tokio::net::TcpStream]) -> usize {
    let mut open = 0;
    let mut buffer = [0u8; 1024];
    for stream in streams.iter_mut() {
        loop {
            match tokio::time::timeout(
                Duration::from_millis(10),
                tokio::io::AsyncReadExt::read(stream, &mut buffer),
            )
            .await
            {
                Err(_) => {
                    open += 1;
                    break;
                }
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(_)) => continue,
            }
        }
    }
    open
}

fn report(scenario: &str, lines: &[(String, String)]) {
    println!("\n## {scenario}");
    for (name, value) in lines {
        println!("  {name:<40} {value}");
    }
}

fn usage_lines(server: &Server, before_cpu: f64, seconds: f64) -> Vec<(String, String)> {
    let (peak, now, cpu) = server.usage();
    vec![
        ("server peak RSS (MiB)".into(), format!("{peak:.0}")),
        ("server RSS now (MiB)".into(), format!("{now:.0}")),
        (
            "server CPU during (% of one core)".into(),
            format!("{:.0}", 100.0 * (cpu - before_cpu) / seconds.max(0.001)),
        ),
    ]
}

async fn connection_flood(server: &Server, count: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let (_, _, cpu) = server.usage();
    let mut streams = Vec::with_capacity(count);
    let mut failed = 0;
    for n in 0..count {
        match connect_from(n, server.address).await {
            Some(stream) => streams.push(stream),
            None => failed += 1,
        }
    }
    let opened_in = started.elapsed();
    let health = health_line(server.address, 10).await;
    let held = still_open(&mut streams).await;
    let mut lines = vec![
        (
            "silent connections opened".into(),
            format!(
                "{} in {:.1}s ({failed} failed)",
                streams.len(),
                opened_in.as_secs_f64()
            ),
        ),
        ("held after the health probes".into(), held.to_string()),
        ("health during flood".into(), health),
    ];
    tokio::time::sleep(Duration::from_secs(11)).await;
    lines.push((
        "held 11 s later".into(),
        still_open(&mut streams).await.to_string(),
    ));
    lines.extend(usage_lines(server, cpu, started.elapsed().as_secs_f64()));
    report(
        &format!("connection flood: {count} silent connections, one per address"),
        &lines,
    );
    Ok(())
}

async fn slow_loris(server: &Server, count: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let (_, _, cpu) = server.usage();
    let mut streams = Vec::new();
    for n in 0..count {
        if let Some(stream) = connect_from(n, server.address).await {
            streams.push(stream);
        }
    }
    // One byte of the preface every 2 s: the handshake never finishes in time.
    let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let mut written = 0;
    for step in 0..6 {
        for stream in streams.iter_mut() {
            let _ = stream.write_all(&preface[step..step + 1]).await;
        }
        written += 1;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let health = health_line(server.address, 5).await;
    let held = still_open(&mut streams).await;
    let mut lines = vec![
        ("peers".into(), streams.len().to_string()),
        (
            "preface bytes dribbled".into(),
            format!("{written} over {}s", written * 2),
        ),
        ("still held at the end".into(), held.to_string()),
        ("health during".into(), health),
    ];
    lines.extend(usage_lines(server, cpu, started.elapsed().as_secs_f64()));
    report(
        &format!("slow loris: {count} peers dribbling the HTTP/2 preface"),
        &lines,
    );
    Ok(())
}

/// Queues a call (a few placeholder bytes: no worker runs) and returns its id.
async fn queue_placeholder_call(server: &Server) -> anyhow::Result<String> {
    let upload = tokio_stream::iter(vec![
        SubmitCallRequest {
            payload: Some(submit_call_request::Payload::Metadata(CallMetadata {
                agent_id: "rina".into(),
                ..Default::default()
            })),
        },
        SubmitCallRequest {
            payload: Some(submit_call_request::Payload::AudioChunk(b"RIFF".to_vec())),
        },
    ]);
    Ok(server
        .calls()
        .await?
        .submit_call(upload)
        .await?
        .into_inner()
        .call
        .map(|call| call.call_id)
        .unwrap_or_default())
}

async fn watch_flood(server: &Server, count: usize) -> anyhow::Result<()> {
    let call_id = queue_placeholder_call(server).await?;
    let (_, _, cpu) = server.usage();
    let started = Instant::now();
    let mut codes: BTreeMap<String, usize> = BTreeMap::new();
    let mut open = Vec::new();
    for _ in 0..count {
        // Many connections, as many clients would open.
        let mut client = server.calls().await?;
        match client
            .watch_call(WatchCallRequest {
                call_id: call_id.clone(),
            })
            .await
        {
            Ok(stream) => {
                *codes.entry("OK".into()).or_default() += 1;
                open.push(stream.into_inner());
            }
            Err(status) => *codes.entry(format!("{:?}", status.code())).or_default() += 1,
        }
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let health = health_line(server.address, 5).await;
    let mut lines = vec![
        ("WatchCall answers".into(), format!("{codes:?}")),
        ("health during".into(), health),
    ];
    lines.extend(usage_lines(server, cpu, started.elapsed().as_secs_f64()));
    report(
        &format!("WatchCall flood: {count} streams from one key"),
        &lines,
    );
    drop(open);
    Ok(())
}

/// `count` WatchCall streams on one call, 32 per key (the per-key cap), one
/// connection per key: CPU while they wait, then how long after another
/// process commits the call's end every stream has it (on SQLite another
/// process's commit is seen by the feed's 1 s poll; see docs/change-feed.md).
async fn watch_fan_out(server: &Server, count: usize) -> anyhow::Result<()> {
    queue_placeholder_call(server).await?;
    // This process plays the worker: it claims the oldest queued call.
    let store = callscore::store::open(&server.database_url, 2).await?;
    let job = store
        .claim_job("resilience-bench", 600_000)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no queued call to claim"))?;
    let keys = (0..count.div_ceil(32))
        .map(|_| Server::create_key(&server.database_url))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut streams = Vec::with_capacity(count);
    for key in &keys {
        let channel = Channel::from_shared(format!("http://{}", server.address))?
            .connect()
            .await?;
        let client = CallServiceClient::with_interceptor(channel, Bearer(key.clone()));
        for _ in 0..32 {
            if streams.len() == count {
                break;
            }
            let mut stream = client
                .clone()
                .watch_call(WatchCallRequest {
                    call_id: job.call_id.clone(),
                })
                .await?
                .into_inner();
            // The state now, before the call ends.
            stream.message().await?;
            streams.push(stream);
        }
    }
    let (_, _, cpu_before) = server.usage();
    let idle = Duration::from_secs(10);
    tokio::time::sleep(idle).await;
    let (_, _, cpu_after) = server.usage();
    let health = health_line(server.address, 5).await;
    let committed = Instant::now();
    store.fail_attempt(&job, "bench: ended", true, 0).await?;
    let waits = streams.into_iter().map(|mut stream| {
        tokio::spawn(async move {
            while let Ok(Some(event)) = stream.message().await {
                if event.stage() == CallStage::Failed {
                    return Some(committed.elapsed());
                }
            }
            None
        })
    });
    let mut delays = Vec::new();
    for wait in waits.collect::<Vec<_>>() {
        if let Ok(Some(delay)) = wait.await {
            delays.push(delay.as_secs_f64() * 1000.0);
        }
    }
    delays.sort_by(f64::total_cmp);
    let at = |q: f64| {
        delays
            .get(((delays.len() as f64 - 1.0) * q).round() as usize)
            .map_or("-".to_string(), |ms| format!("{ms:.0}"))
    };
    report(
        &format!(
            "WatchCall fan-out: {count} streams on one call, {} keys",
            keys.len()
        ),
        &[
            (
                "server CPU while they wait (% of one core)".into(),
                format!(
                    "{:.1}",
                    100.0 * (cpu_after - cpu_before) / idle.as_secs_f64()
                ),
            ),
            ("health while they wait".into(), health),
            (
                "streams that got the end".into(),
                format!("{} of {count}", delays.len()),
            ),
            (
                "delay after the commit, ms (p50, p99, max)".into(),
                format!("{}, {}, {}", at(0.5), at(0.99), at(1.0)),
            ),
        ],
    );
    Ok(())
}

async fn large_request_flood(server: &Server, count: usize) -> anyhow::Result<()> {
    let (_, before_rss, cpu) = server.usage();
    let started = Instant::now();
    // About 3.5 MB of transcript: just under the 4 MiB message limit.
    let segments: Vec<TranscriptSegment> = (0..7_000u64)
        .map(|n| TranscriptSegment {
            speaker: if n % 2 == 0 {
                Speaker::Agent
            } else {
                Speaker::Customer
            } as i32,
            start_ms: n * 1_000,
            end_ms: n * 1_000 + 900,
            text: "terima kasih sudah menunggu, saya cek pesanan Bapak sekarang ya ".repeat(8),
            ..Default::default()
        })
        .collect();
    let request = SubmitTranscriptRequest {
        metadata: Some(CallMetadata {
            agent_id: "rina".into(),
            ..Default::default()
        }),
        transcript: Some(Transcript {
            language: "id".into(),
            segments,
            model_id: String::new(),
            attribution: None,
        }),
    };
    let mut tasks = Vec::new();
    for _ in 0..count {
        let mut client = server.calls().await?;
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            client
                .submit_transcript(request)
                .await
                .map(|_| ())
                .map_err(|status| format!("{:?}", status.code()))
        }));
    }
    let mut codes: BTreeMap<String, usize> = BTreeMap::new();
    for task in tasks {
        let code = match task.await {
            Ok(Ok(())) => "OK".to_string(),
            Ok(Err(code)) => code,
            Err(_) => "client task failed".to_string(),
        };
        *codes.entry(code).or_default() += 1;
    }
    let took = started.elapsed();
    let health = health_line(server.address, 5).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (_, after_rss, _) = server.usage();
    let mut lines = vec![
        (
            "answers".into(),
            format!("{codes:?} in {:.1}s", took.as_secs_f64()),
        ),
        ("health after".into(), health),
        (
            "RSS before → 10 s after (MiB)".into(),
            format!("{before_rss:.0} → {after_rss:.0}"),
        ),
    ];
    lines.extend(usage_lines(server, cpu, took.as_secs_f64()));
    report(
        &format!("large-request flood: {count} SubmitTranscript of ~3.5 MB at once"),
        &lines,
    );
    Ok(())
}

/// Calls the tenant holds now.
async fn listed_calls(server: &Server) -> anyhow::Result<usize> {
    Ok(server
        .calls()
        .await?
        .list_calls(ListCallsRequest {
            page_size: 500,
            ..Default::default()
        })
        .await?
        .into_inner()
        .calls
        .len())
}

async fn kill_loop(
    dir: &Path,
    port: u16,
    key: &str,
    kills: usize,
    calls_before: usize,
) -> anyhow::Result<()> {
    let mut restarts = Vec::new();
    let mut submitted = 0;
    let mut database_url = String::new();
    for _ in 0..kills {
        let started = Instant::now();
        let mut server = Server::start(dir, port, Some(key.to_string())).await?;
        restarts.push(started.elapsed());
        database_url = server.database_url.clone();
        let mut calls = server.calls().await?;
        // Uploads in flight when the process dies.
        for _ in 0..5 {
            let upload = tokio_stream::iter(vec![
                SubmitCallRequest {
                    payload: Some(submit_call_request::Payload::Metadata(CallMetadata {
                        agent_id: "rina".into(),
                        ..Default::default()
                    })),
                },
                SubmitCallRequest {
                    payload: Some(submit_call_request::Payload::AudioChunk(vec![
                        0u8;
                        256 * 1024
                    ])),
                },
            ]);
            if calls.submit_call(upload).await.is_ok() {
                submitted += 1;
            }
        }
        let _ = server.child.kill(); // SIGKILL
        let _ = server.child.wait();
        assert!(!server.alive());
    }
    let server = Server::start(dir, port, Some(key.to_string())).await?;
    let listed = listed_calls(&server).await? - calls_before;
    let orphans = walk_count(&server.blobs, '#');
    let worst = restarts.iter().max().copied().unwrap_or_default();
    report(
        &format!("kill -9 loop: {kills} kills, each after 5 uploads"),
        &[
            (
                "restarts that served again".into(),
                format!(
                    "{}/{kills}, slowest {:.1}s",
                    restarts.len(),
                    worst.as_secs_f64()
                ),
            ),
            (
                "calls acknowledged / listed after".into(),
                format!("{submitted} / {listed}"),
            ),
            (
                "key still valid after every restart".into(),
                "yes (each restart served ListCalls with it)".into(),
            ),
            ("upload staging files left".into(), orphans.to_string()),
            ("database".into(), database_url),
        ],
    );
    Ok(())
}

fn walk_count(dir: &Path, marker: char) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                walk_count(&path, marker)
            } else {
                usize::from(entry.file_name().to_string_lossy().contains(marker))
            }
        })
        .sum()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let options = Options::from_args()?;
    // Many sockets on this side too.
    println!("callscore resilience bench: {}", binary());
    let dir = tempfile::tempdir()?;
    let port = free_port()?;
    let mut server = Server::start(dir.path(), port, None).await?;
    connection_flood(&server, options.flood).await?;
    slow_loris(&server, options.loris).await?;
    watch_flood(&server, options.watches).await?;
    watch_fan_out(&server, options.watches).await?;
    large_request_flood(&server, options.large).await?;
    println!(
        "\nserver still running after the floods: {}",
        server.alive()
    );
    let key = server.key.clone();
    let calls_before = listed_calls(&server).await?;
    drop(server);
    kill_loop(dir.path(), port, &key, options.kills, calls_before).await?;
    Ok(())
}

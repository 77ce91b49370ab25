//! `callscore health`: a probe for container health checks and exec probes.
//! Asks a server's gRPC health service (by default the plaintext admin port
//! on this host) and exits 0 when the named service is SERVING, 1 otherwise.

use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

/// Checks one health status.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The plaintext port that answers gRPC health (`admin_listen_address`,
    /// or the gRPC port when it does not speak TLS).
    #[arg(long, default_value = "127.0.0.1:9464")]
    address: String,
    /// The health service name: `readiness`, `liveness`, `worker`, a gRPC
    /// service such as `callscore.v1.CallService`, or "" for the server.
    #[arg(long, default_value = crate::app::READINESS)]
    service: String,
    /// How long to wait for the answer, seconds.
    #[arg(long, default_value_t = 5)]
    timeout_seconds: u64,
}

impl HealthArgs {
    /// Exits with an error unless the service is SERVING.
    pub fn run(self) -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let limit = Duration::from_secs(self.timeout_seconds.max(1));
        let status = runtime.block_on(async {
            let endpoint =
                tonic::transport::Endpoint::from_shared(format!("http://{}", self.address))
                    .with_context(|| format!("--address {:?}: expected HOST:PORT", self.address))?
                    .connect_timeout(limit)
                    .timeout(limit);
            let channel = endpoint
                .connect()
                .await
                .with_context(|| format!("cannot reach {}", self.address))?;
            let answer = HealthClient::new(channel)
                .check(HealthCheckRequest {
                    service: self.service.clone(),
                })
                .await
                .with_context(|| format!("health check of {:?} failed", self.service))?;
            anyhow::Ok(answer.into_inner().status())
        })?;
        let name = if self.service.is_empty() {
            "server"
        } else {
            &self.service
        };
        if status == ServingStatus::Serving {
            println!("{name}: SERVING");
            Ok(())
        } else {
            anyhow::bail!("{name}: {}", status.as_str_name())
        }
    }
}

//! What the client subcommands share: the server address, the API key, a
//! connected channel, and text rendering of scorecards.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::proto::{self as pb};
use crate::tls::ClientTls;

/// Where the server is and how to authenticate.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The callscore server.
    #[arg(
        long,
        env = "CALLSCORE_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    pub server: String,
    /// The API key (prefer the environment variable: flags show in `ps`).
    #[arg(long, env = "CALLSCORE_API_KEY", hide_env_values = true)]
    pub api_key: String,
    /// PEM CA bundle that signed an `https://` server's certificate
    /// (default: the public web roots).
    #[arg(long, env = "CALLSCORE_CA_FILE", value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate, for a server that requires one (mutual TLS).
    #[arg(long, env = "CALLSCORE_CLIENT_CERT", value_name = "PEM")]
    pub client_cert: Option<PathBuf>,
    /// The client certificate's PEM private key.
    #[arg(
        long,
        env = "CALLSCORE_CLIENT_KEY",
        value_name = "PEM",
        requires = "client_cert"
    )]
    pub client_key: Option<PathBuf>,
}

/// Adds the bearer key to every call.
#[derive(Clone)]
pub struct Bearer(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

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

/// A channel that authenticates every call.
pub type AuthedChannel = InterceptedService<Channel, Bearer>;

impl ClientArgs {
    /// Connects to the server.
    pub async fn connect(&self) -> anyhow::Result<AuthedChannel> {
        let bearer = format!("Bearer {}", self.api_key.trim())
            .parse()
            .context("--api-key: not a valid header value")?;
        let endpoint = Channel::from_shared(self.server.clone())
            .with_context(|| format!("--server {:?}: not a valid URL", self.server))?;
        let uri = endpoint.uri().clone();
        let tls = ClientTls {
            ca_file: self.ca_file.clone(),
            certificate: self.client_cert.clone(),
            private_key: self.client_key.clone(),
        };
        let endpoint = match uri.scheme_str() {
            Some("https") => {
                let host = uri.host().unwrap_or_default().trim_matches(['[', ']']);
                endpoint
                    .tls_config(tls.config(host)?)
                    .context("TLS configuration")?
            }
            Some("http") => {
                if self.ca_file.is_some() || self.client_cert.is_some() {
                    anyhow::bail!(
                        "--server {}: TLS options were given for a plaintext http:// server; use https://",
                        self.server
                    );
                }
                endpoint
            }
            _ => anyhow::bail!(
                "--server {:?}: expected http://HOST:PORT or https://HOST:PORT",
                self.server
            ),
        };
        let channel = endpoint.connect().await.map_err(|error| {
            super::exit::failure(
                super::exit::ExitReason::Unreachable,
                format!(
                    "cannot reach the callscore server at {}: {error:#}",
                    self.server
                ),
            )
        })?;
        Ok(InterceptedService::new(channel, Bearer(bearer)))
    }
}

fn mm_ss(ms: u64) -> String {
    format!("{:02}:{:02}", ms / 60_000, (ms / 1000) % 60)
}

fn score(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_string(), |v| format!("{v:.1}"))
}

/// A scorecard as a reviewer reads it: scores, then each failed check with
/// its reason, quote and timestamp.
pub fn render_scorecard(card: &pb::Scorecard) -> String {
    let mut out = String::new();
    let result = card
        .reviewed_result
        .as_ref()
        .or(card.machine_result.as_ref());
    let _ = writeln!(
        out,
        "scorecard {}  call {}  agent {}  rubric {} v{}  model {}",
        card.scorecard_id,
        card.call_id,
        card.agent_id,
        card.rubric_id,
        card.rubric_version,
        card.model_id
    );
    let Some(result) = result else {
        return out;
    };
    let _ = writeln!(out, "overall: {}", score(result.overall_score));
    for critical in &result.critical_failures {
        let _ = writeln!(
            out,
            "CRITICAL FAILURE: {}/{}",
            critical.criterion_id, critical.check_id
        );
    }
    for criterion in &result.criteria {
        let _ = writeln!(
            out,
            "\n{} ({}): {}",
            criterion.name,
            criterion.criterion_id,
            score(criterion.score)
        );
        for check in &criterion.checks {
            let mark = match pb::CheckOutcome::try_from(check.outcome) {
                Ok(pb::CheckOutcome::Pass) => "pass",
                Ok(pb::CheckOutcome::Fail) => "FAIL",
                _ => "n/a ",
            };
            let reviewed = if check.review.is_some() {
                " (reviewed)"
            } else {
                ""
            };
            let share = check
                .fraction
                .map(|f| format!(" {:.0}%", f * 100.0))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  [{mark}]{share} {}{reviewed}: {}",
                check.check_id, check.reason
            );
            // Graded checks always show the turns that moved them.
            if check.outcome == pb::CheckOutcome::Fail as i32 || check.fraction.is_some() {
                for evidence in &check.evidence {
                    let turn = evidence
                        .turn_score
                        .map(|s| format!(" (turn {s:.2})"))
                        .unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "         {}-{}{turn} \"{}\"",
                        mm_ss(evidence.start_ms),
                        mm_ss(evidence.end_ms),
                        evidence.quote
                    );
                    for marker in &evidence.markers {
                        let _ = writeln!(
                            out,
                            "           {:+.2} {} at {}: \"{}\"",
                            marker.weight,
                            marker.kind,
                            mm_ss(marker.start_ms),
                            marker.quote
                        );
                    }
                }
            }
        }
    }
    out
}

//! `callscore webhook …`: a tenant admin's webhook endpoints, their
//! secrets, the delivery log and replay (client). Every subcommand takes
//! `--format json`; exit codes are those of `exit.rs`.

use std::fmt::Write as _;

use clap::{Args, Subcommand, ValueEnum};

use super::exit::rpc_failure;
use super::output::{Session, print};
use super::settings_args::runtime;
use crate::proto::webhook_service_client::WebhookServiceClient;
use crate::proto::{self as pb};

/// Sends events to platforms.
#[derive(Debug, Args)]
pub struct WebhookArgs {
    #[command(subcommand)]
    command: WebhookCommand,
}

#[derive(Debug, Subcommand)]
enum WebhookCommand {
    /// Registers an endpoint and prints its signing secret once.
    Add(AddArgs),
    /// Lists the tenant's endpoints.
    List(ListArgs),
    /// Removes an endpoint (its pending deliveries too).
    Remove(EndpointArgs),
    /// Issues a new signing secret (printed once); the old one signs for the grace.
    Rotate(RotateArgs),
    /// Lists an endpoint's deliveries, newest first.
    Deliveries(DeliveriesArgs),
    /// Shows a delivery with every attempt.
    Show(DeliveryArgs),
    /// Sends a delivery again now.
    Replay(DeliveryArgs),
}

#[derive(Debug, Args)]
struct AddArgs {
    #[command(flatten)]
    session: Session,
    /// The receiver's https:// URL.
    url: String,
    /// An event kind to receive (repeat; default: call.scored, call.failed,
    /// scorecard.reviewed, dispute.opened, dispute.resolved).
    #[arg(long = "event")]
    events: Vec<String>,
}

#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    session: Session,
}

#[derive(Debug, Args)]
struct EndpointArgs {
    #[command(flatten)]
    session: Session,
    /// The endpoint.
    endpoint_id: String,
}

#[derive(Debug, Args)]
struct RotateArgs {
    #[command(flatten)]
    session: Session,
    /// The endpoint.
    endpoint_id: String,
    /// How long the old secret keeps signing, seconds (default a day).
    #[arg(long)]
    grace_seconds: Option<u32>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StateArg {
    Pending,
    Delivered,
    Failed,
}

#[derive(Debug, Args)]
struct DeliveriesArgs {
    #[command(flatten)]
    session: Session,
    /// The endpoint.
    endpoint_id: String,
    /// Only deliveries in this state.
    #[arg(long, value_enum)]
    state: Option<StateArg>,
    /// Deliveries per page.
    #[arg(long, default_value_t = 50)]
    limit: i32,
    /// The page after this token (printed after a full page).
    #[arg(long, default_value = "")]
    page_token: String,
}

#[derive(Debug, Args)]
struct DeliveryArgs {
    #[command(flatten)]
    session: Session,
    /// The delivery.
    delivery_id: String,
}

impl WebhookArgs {
    /// Runs the subcommand against the server.
    pub fn run(self) -> anyhow::Result<()> {
        let session = match &self.command {
            WebhookCommand::Add(args) => &args.session,
            WebhookCommand::List(args) => &args.session,
            WebhookCommand::Remove(args) => &args.session,
            WebhookCommand::Rotate(args) => &args.session,
            WebhookCommand::Deliveries(args) => &args.session,
            WebhookCommand::Show(args) | WebhookCommand::Replay(args) => &args.session,
        };
        let client = session.client.clone();
        let format = session.output.format;
        runtime()?.block_on(async {
            let mut webhooks = WebhookServiceClient::new(client.connect().await?);
            match self.command {
                WebhookCommand::Add(args) => {
                    let created = webhooks
                        .create_webhook_endpoint(pb::CreateWebhookEndpointRequest {
                            url: args.url,
                            event_kinds: args.events,
                        })
                        .await
                        .map_err(|status| rpc_failure("endpoint refused", &status))?
                        .into_inner();
                    print(format, &created, |c| {
                        let mut out = render_endpoints(c.endpoint.as_slice());
                        let _ = writeln!(out, "signing secret (shown only now): {}", c.secret);
                        out
                    })
                }
                WebhookCommand::List(_) => {
                    let listed = webhooks
                        .list_webhook_endpoints(pb::ListWebhookEndpointsRequest {})
                        .await
                        .map_err(|status| rpc_failure("", &status))?
                        .into_inner();
                    print(format, &listed, |l| render_endpoints(&l.endpoints))
                }
                WebhookCommand::Remove(args) => {
                    let removed = webhooks
                        .delete_webhook_endpoint(pb::DeleteWebhookEndpointRequest {
                            endpoint_id: args.endpoint_id.clone(),
                        })
                        .await
                        .map_err(|status| rpc_failure("", &status))?
                        .into_inner();
                    print(format, &removed, |_| {
                        format!("removed endpoint {}\n", args.endpoint_id)
                    })
                }
                WebhookCommand::Rotate(args) => {
                    let rotated = webhooks
                        .rotate_webhook_secret(pb::RotateWebhookSecretRequest {
                            endpoint_id: args.endpoint_id,
                            grace_seconds: args.grace_seconds,
                        })
                        .await
                        .map_err(|status| rpc_failure("rotation refused", &status))?
                        .into_inner();
                    print(format, &rotated, |r| {
                        format!("new signing secret (shown only now): {}\n", r.secret)
                    })
                }
                WebhookCommand::Deliveries(args) => {
                    let listed = webhooks
                        .list_webhook_deliveries(pb::ListWebhookDeliveriesRequest {
                            endpoint_id: args.endpoint_id,
                            state: match args.state {
                                None => pb::WebhookDeliveryState::Unspecified,
                                Some(StateArg::Pending) => pb::WebhookDeliveryState::Pending,
                                Some(StateArg::Delivered) => pb::WebhookDeliveryState::Delivered,
                                Some(StateArg::Failed) => pb::WebhookDeliveryState::Failed,
                            } as i32,
                            page_size: args.limit,
                            page_token: args.page_token,
                        })
                        .await
                        .map_err(|status| rpc_failure("", &status))?
                        .into_inner();
                    print(format, &listed, |l| {
                        let mut out = render_deliveries(&l.deliveries);
                        if !l.next_page_token.is_empty() {
                            let _ = writeln!(out, "more: --page-token {}", l.next_page_token);
                        }
                        out
                    })
                }
                WebhookCommand::Show(args) => {
                    let shown = webhooks
                        .get_webhook_delivery(pb::GetWebhookDeliveryRequest {
                            delivery_id: args.delivery_id,
                        })
                        .await
                        .map_err(|status| rpc_failure("", &status))?
                        .into_inner();
                    print(format, &shown, |s| {
                        let mut out = render_deliveries(s.delivery.as_slice());
                        for attempt in &s.attempts {
                            let _ = writeln!(
                                out,
                                "  attempt {:>2}  status {:>3}  {:>5} ms  {}",
                                attempt.attempt, attempt.status, attempt.duration_ms, attempt.error
                            );
                        }
                        out
                    })
                }
                WebhookCommand::Replay(args) => {
                    let replayed = webhooks
                        .replay_webhook_delivery(pb::ReplayWebhookDeliveryRequest {
                            delivery_id: args.delivery_id,
                        })
                        .await
                        .map_err(|status| rpc_failure("replay refused", &status))?
                        .into_inner();
                    print(format, &replayed, |r| {
                        render_deliveries(r.delivery.as_slice())
                    })
                }
            }
        })
    }
}

fn render_endpoints(endpoints: &[pb::WebhookEndpoint]) -> String {
    let mut out = format!("{:<36} {:<48} {}\n", "endpoint", "url", "events");
    for endpoint in endpoints {
        let _ = writeln!(
            out,
            "{:<36} {:<48} {}",
            endpoint.endpoint_id,
            endpoint.url,
            endpoint.event_kinds.join(",")
        );
    }
    out
}

fn render_deliveries(deliveries: &[pb::WebhookDelivery]) -> String {
    let mut out = format!(
        "{:<18} {:<9} {:>8} {:>6}  {:<106}  {}\n",
        "event", "state", "attempts", "status", "delivery", "last error"
    );
    for delivery in deliveries {
        let state = match pb::WebhookDeliveryState::try_from(delivery.state) {
            Ok(pb::WebhookDeliveryState::Pending) => "pending",
            Ok(pb::WebhookDeliveryState::Delivered) => "delivered",
            Ok(pb::WebhookDeliveryState::Failed) => "failed",
            _ => "-",
        };
        let _ = writeln!(
            out,
            "{:<18} {state:<9} {:>8} {:>6}  {:<106}  {}",
            delivery.kind,
            delivery.attempts,
            delivery.last_status,
            delivery.delivery_id,
            delivery.last_error
        );
    }
    out
}

//! WebhookService: a tenant's endpoints, their secrets, the delivery log
//! and replay (docs/webhooks.md). Admin keys only.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::ServiceState;
use super::convert::required_id;
use super::paging::{decode_time_cursor, encode_time_cursor, finish_page, page_size};
use super::status::invalid;
use super::timestamp;
use crate::auth::{Action, Principal};
use crate::proto::webhook_service_server::WebhookService;
use crate::proto::{self as pb};
use crate::store::{DeliveryState, WebhookAttempt, WebhookDelivery, WebhookEndpoint, now_ms};
use crate::webhooks::address::{self, AddressError};
use crate::webhooks::signing::new_secret;
use crate::webhooks::{DEFAULT_EVENT_KINDS, EVENT_KINDS};

/// Endpoints one tenant may register.
const MAX_ENDPOINTS: usize = 20;
/// Default and longest grace of a rotated-out secret.
const DEFAULT_GRACE_SECONDS: u32 = 86_400;
const MAX_GRACE_SECONDS: u32 = 7 * 86_400;

/// The WebhookService.
#[derive(Clone)]
pub struct WebhookApi {
    state: Arc<ServiceState>,
}

impl WebhookApi {
    /// Serves webhooks from the shared state.
    pub fn new(state: Arc<ServiceState>) -> Self {
        Self { state }
    }
}

fn endpoint_to_wire(endpoint: &WebhookEndpoint, now: i64) -> pb::WebhookEndpoint {
    pb::WebhookEndpoint {
        endpoint_id: endpoint.endpoint_id.clone(),
        url: endpoint.url.clone(),
        event_kinds: endpoint.event_kinds.clone(),
        created_at: Some(timestamp(endpoint.created_at_ms)),
        created_by: endpoint.created_by.clone(),
        previous_secret_expires_at: (endpoint.previous_secret_expires_at_ms > now)
            .then(|| timestamp(endpoint.previous_secret_expires_at_ms)),
    }
}

fn state_to_wire(state: DeliveryState) -> pb::WebhookDeliveryState {
    match state {
        DeliveryState::Pending => pb::WebhookDeliveryState::Pending,
        DeliveryState::Delivered => pb::WebhookDeliveryState::Delivered,
        DeliveryState::Failed => pb::WebhookDeliveryState::Failed,
    }
}

fn delivery_to_wire(delivery: &WebhookDelivery) -> pb::WebhookDelivery {
    pb::WebhookDelivery {
        delivery_id: delivery.delivery_id.clone(),
        endpoint_id: delivery.endpoint_id.clone(),
        kind: delivery.kind.clone(),
        call_id: delivery.call_id.clone(),
        scorecard_id: delivery.scorecard_id.clone(),
        occurred_at: Some(timestamp(delivery.occurred_at_ms)),
        state: state_to_wire(delivery.state) as i32,
        attempts: delivery.attempts,
        next_attempt_at: (delivery.state == DeliveryState::Pending)
            .then(|| timestamp(delivery.next_attempt_at_ms)),
        last_status: delivery.last_status,
        last_error: delivery.last_error.clone(),
        delivered_at: delivery.delivered_at_ms.map(timestamp),
    }
}

fn attempt_to_wire(attempt: &WebhookAttempt) -> pb::WebhookAttempt {
    pb::WebhookAttempt {
        attempt: attempt.attempt,
        at: Some(timestamp(attempt.at_ms)),
        status: attempt.status,
        error: attempt.error.clone(),
        duration_ms: attempt.duration_ms,
    }
}

/// The subscribed kinds: known, distinct; the default set when none.
fn event_kinds(requested: &[String]) -> Result<Vec<String>, Status> {
    if requested.is_empty() {
        return Ok(DEFAULT_EVENT_KINDS.iter().map(|k| k.to_string()).collect());
    }
    let mut kinds: Vec<String> = Vec::with_capacity(requested.len());
    for (index, kind) in requested.iter().enumerate() {
        if !EVENT_KINDS.contains(&kind.as_str()) {
            return Err(invalid(
                &format!("event_kinds[{index}]"),
                format!(
                    "unknown event kind; expected one of {}",
                    EVENT_KINDS.join(", ")
                ),
            ));
        }
        if !kinds.contains(kind) {
            kinds.push(kind.clone());
        }
    }
    Ok(kinds)
}

#[tonic::async_trait]
impl WebhookService for WebhookApi {
    async fn create_webhook_endpoint(
        &self,
        request: Request<pb::CreateWebhookEndpointRequest>,
    ) -> Result<Response<pb::CreateWebhookEndpointResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ManageWebhooks)?;
        let message = request.get_ref();
        let url = super::status::text("url", &message.url)?.trim().to_string();
        let kinds = event_kinds(&message.event_kinds)?;
        let allow_private = self.state.webhook_allow_private_networks;
        address::resolve(&url, allow_private)
            .await
            .map_err(|error| match error {
                AddressError::Unresolved { .. } => {
                    Status::failed_precondition(format!("url: {error}"))
                }
                other => invalid("url", other),
            })?;
        let tenant = &principal.tenant_id;
        if self.state.store.webhook_endpoints(tenant).await?.len() >= MAX_ENDPOINTS {
            return Err(Status::resource_exhausted(format!(
                "a tenant may register {MAX_ENDPOINTS} endpoints; delete one first"
            )));
        }
        let secret = new_secret();
        let endpoint = WebhookEndpoint {
            endpoint_id: uuid::Uuid::now_v7().to_string(),
            url,
            event_kinds: kinds,
            secret: secret.clone(),
            previous_secret: String::new(),
            previous_secret_expires_at_ms: 0,
            created_by: principal.key_id.clone(),
            created_at_ms: now_ms(),
        };
        self.state
            .store
            .create_webhook_endpoint(tenant, &endpoint)
            .await?;
        Ok(Response::new(pb::CreateWebhookEndpointResponse {
            endpoint: Some(endpoint_to_wire(&endpoint, now_ms())),
            secret,
        }))
    }

    async fn list_webhook_endpoints(
        &self,
        request: Request<pb::ListWebhookEndpointsRequest>,
    ) -> Result<Response<pb::ListWebhookEndpointsResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ManageWebhooks)?;
        let endpoints = self
            .state
            .store
            .webhook_endpoints(&principal.tenant_id)
            .await?;
        let now = now_ms();
        Ok(Response::new(pb::ListWebhookEndpointsResponse {
            endpoints: endpoints.iter().map(|e| endpoint_to_wire(e, now)).collect(),
        }))
    }

    async fn delete_webhook_endpoint(
        &self,
        request: Request<pb::DeleteWebhookEndpointRequest>,
    ) -> Result<Response<pb::DeleteWebhookEndpointResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ManageWebhooks)?;
        let endpoint_id = required_id("endpoint_id", &request.get_ref().endpoint_id)?;
        self.state
            .store
            .delete_webhook_endpoint(&principal.tenant_id, &endpoint_id)
            .await?;
        Ok(Response::new(pb::DeleteWebhookEndpointResponse {}))
    }

    async fn rotate_webhook_secret(
        &self,
        request: Request<pb::RotateWebhookSecretRequest>,
    ) -> Result<Response<pb::RotateWebhookSecretResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ManageWebhooks)?;
        let message = request.get_ref();
        let endpoint_id = required_id("endpoint_id", &message.endpoint_id)?;
        let grace = message.grace_seconds.unwrap_or(DEFAULT_GRACE_SECONDS);
        if grace > MAX_GRACE_SECONDS {
            return Err(invalid(
                "grace_seconds",
                format!("at most {MAX_GRACE_SECONDS} (7 days)"),
            ));
        }
        let secret = new_secret();
        let now = now_ms();
        let endpoint = self
            .state
            .store
            .rotate_webhook_secret(
                &principal.tenant_id,
                &endpoint_id,
                &secret,
                now + i64::from(grace) * 1000,
            )
            .await?;
        Ok(Response::new(pb::RotateWebhookSecretResponse {
            endpoint: Some(endpoint_to_wire(&endpoint, now)),
            secret,
        }))
    }

    async fn list_webhook_deliveries(
        &self,
        request: Request<pb::ListWebhookDeliveriesRequest>,
    ) -> Result<Response<pb::ListWebhookDeliveriesResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ManageWebhooks)?;
        let message = request.get_ref();
        let endpoint_id = required_id("endpoint_id", &message.endpoint_id)?;
        let limit = page_size(message.page_size)?;
        let before = decode_time_cursor(&message.page_token)?;
        let state = match pb::WebhookDeliveryState::try_from(message.state) {
            Ok(pb::WebhookDeliveryState::Unspecified) => None,
            Ok(pb::WebhookDeliveryState::Pending) => Some(DeliveryState::Pending),
            Ok(pb::WebhookDeliveryState::Delivered) => Some(DeliveryState::Delivered),
            Ok(pb::WebhookDeliveryState::Failed) => Some(DeliveryState::Failed),
            Err(_) => return Err(invalid("state", "unknown WebhookDeliveryState value")),
        };
        let tenant = &principal.tenant_id;
        self.state
            .store
            .webhook_endpoint(tenant, &endpoint_id)
            .await?;
        let mut deliveries = self
            .state
            .store
            .webhook_deliveries(tenant, &endpoint_id, state, before, limit + 1)
            .await?;
        let next_page_token = finish_page(&mut deliveries, limit, |delivery| {
            encode_time_cursor(delivery.occurred_at_ms, &delivery.delivery_id)
        });
        Ok(Response::new(pb::ListWebhookDeliveriesResponse {
            deliveries: deliveries.iter().map(delivery_to_wire).collect(),
            next_page_token,
        }))
    }

    async fn get_webhook_delivery(
        &self,
        request: Request<pb::GetWebhookDeliveryRequest>,
    ) -> Result<Response<pb::GetWebhookDeliveryResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ManageWebhooks)?;
        let delivery_id = required_id("delivery_id", &request.get_ref().delivery_id)?;
        let tenant = &principal.tenant_id;
        let delivery = self
            .state
            .store
            .webhook_delivery(tenant, &delivery_id)
            .await?;
        let attempts = self
            .state
            .store
            .webhook_attempts(tenant, &delivery_id)
            .await?;
        Ok(Response::new(pb::GetWebhookDeliveryResponse {
            delivery: Some(delivery_to_wire(&delivery)),
            attempts: attempts.iter().map(attempt_to_wire).collect(),
        }))
    }

    async fn replay_webhook_delivery(
        &self,
        request: Request<pb::ReplayWebhookDeliveryRequest>,
    ) -> Result<Response<pb::ReplayWebhookDeliveryResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ManageWebhooks)?;
        let delivery_id = required_id("delivery_id", &request.get_ref().delivery_id)?;
        let delivery = self
            .state
            .store
            .replay_webhook_delivery(&principal.tenant_id, &delivery_id, now_ms())
            .await?;
        // The sender wakes on the change signal.
        self.state.store.change_signal().notify_waiters();
        Ok(Response::new(pb::ReplayWebhookDeliveryResponse {
            delivery: Some(delivery_to_wire(&delivery)),
        }))
    }
}

//! KeyService: an admin's view of the tenant's API keys.

use std::sync::Arc;

use secrecy::ExposeSecret;
use tonic::{Request, Response, Status};

use super::convert::{epoch_ms, required_id};
use super::paging::{decode_token, encode_token, finish_page, page_size};
use super::status::{invalid, text};
use super::timestamp;
use crate::auth::{Action, KeyScope, Principal, Role, issue_key};
use crate::proto::key_service_server::KeyService;
use crate::proto::{self as pb};
use crate::store::{ApiKeyRecord, ApiKeySummary, KeyAction, KeyEvent, Store, now_ms};

/// Labels are for people telling keys apart.
const MAX_LABEL_BYTES: usize = 128;
/// Revocation reasons are a sentence or two.
const MAX_REASON_BYTES: usize = 1_000;
/// A rotated key's grace when the request leaves it unset.
const DEFAULT_GRACE_SECONDS: u32 = 24 * 3600;
/// The longest grace a rotation may give.
const MAX_GRACE_SECONDS: u32 = 30 * 24 * 3600;

/// The KeyService.
#[derive(Clone)]
pub struct KeyApi {
    store: Arc<dyn Store>,
}

impl KeyApi {
    /// Serves keys from `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

fn role_from_wire(value: i32) -> Result<Role, Status> {
    match pb::KeyRole::try_from(value) {
        Ok(pb::KeyRole::Ingest) => Ok(Role::Ingest),
        Ok(pb::KeyRole::Reviewer) => Ok(Role::Reviewer),
        Ok(pb::KeyRole::Coach) => Ok(Role::Coach),
        Ok(pb::KeyRole::Admin) => Ok(Role::Admin),
        Ok(pb::KeyRole::Agent) => Ok(Role::Agent),
        _ => Err(invalid(
            "role",
            "expected KEY_ROLE_INGEST, KEY_ROLE_REVIEWER, KEY_ROLE_COACH, KEY_ROLE_ADMIN or KEY_ROLE_AGENT",
        )),
    }
}

fn role_to_wire(role: Role) -> pb::KeyRole {
    match role {
        Role::Ingest => pb::KeyRole::Ingest,
        Role::Reviewer => pb::KeyRole::Reviewer,
        Role::Coach => pb::KeyRole::Coach,
        Role::Admin => pb::KeyRole::Admin,
        Role::Agent => pb::KeyRole::Agent,
    }
}

fn api_key(summary: &ApiKeySummary) -> pb::ApiKey {
    pb::ApiKey {
        key_id: summary.key_id.clone(),
        role: role_to_wire(summary.role) as i32,
        label: summary.label.clone(),
        created_at: Some(timestamp(summary.created_at_ms)),
        expires_at: summary.expires_at_ms.map(timestamp),
        last_used_at: summary.last_used_at_ms.map(timestamp),
        revoked_at: summary.revoked_at_ms.map(timestamp),
        agent_id: summary.scope.agent_id.clone(),
        team_id: summary.scope.team_id.clone(),
    }
}

fn key_event(event: &KeyEvent) -> pb::KeyEvent {
    let action = match event.action {
        KeyAction::Created => pb::KeyEventAction::Created,
        KeyAction::Revoked => pb::KeyEventAction::Revoked,
        KeyAction::Rotated => pb::KeyEventAction::Rotated,
        KeyAction::AuthFailed => pb::KeyEventAction::AuthFailed,
    };
    pb::KeyEvent {
        event_id: event.event_id.clone(),
        key_id: event.key_id.clone(),
        action: action as i32,
        actor: event.actor.clone(),
        source: event.source.clone(),
        detail: event.detail.clone(),
        at: Some(timestamp(event.at_ms)),
    }
}

fn bounded_text<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, Status> {
    if value.len() > max {
        return Err(invalid(field, format!("at most {max} bytes")));
    }
    text(field, value)
}

#[tonic::async_trait]
impl KeyService for KeyApi {
    async fn create_api_key(
        &self,
        request: Request<pb::CreateApiKeyRequest>,
    ) -> Result<Response<pb::CreateApiKeyResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ManageKeys)?;
        let message = request.get_ref();
        let role = role_from_wire(message.role)?;
        let label = bounded_text("label", &message.label, MAX_LABEL_BYTES)?;
        let expires_at_ms = match &message.expires_at {
            Some(at) => {
                let at = epoch_ms("expires_at", at)?;
                if at <= now_ms() {
                    return Err(invalid("expires_at", "must be in the future"));
                }
                Some(at)
            }
            None => None,
        };
        let scope = KeyScope::for_role(role, &message.agent_id, &message.team_id)
            .map_err(|error| invalid(error.field, error.problem))?;
        let issued = issue_key();
        let record = ApiKeyRecord {
            scope,
            ..ApiKeyRecord::issued(&issued, &principal.tenant_id, role, label, expires_at_ms)
        };
        let summary = self
            .store
            .create_api_key(&record, &principal.key_id)
            .await?;
        Ok(Response::new(pb::CreateApiKeyResponse {
            key: Some(api_key(&summary)),
            secret: issued.token.expose_secret().to_string(),
        }))
    }

    async fn list_api_keys(
        &self,
        request: Request<pb::ListApiKeysRequest>,
    ) -> Result<Response<pb::ListApiKeysResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ManageKeys)?;
        let keys = self
            .store
            .list_api_keys(&principal.tenant_id, request.get_ref().include_revoked)
            .await?;
        Ok(Response::new(pb::ListApiKeysResponse {
            keys: keys.iter().map(api_key).collect(),
        }))
    }

    async fn revoke_api_key(
        &self,
        request: Request<pb::RevokeApiKeyRequest>,
    ) -> Result<Response<pb::RevokeApiKeyResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ManageKeys)?;
        let message = request.get_ref();
        let key_id = required_id("key_id", &message.key_id)?;
        let reason = bounded_text("reason", &message.reason, MAX_REASON_BYTES)?;
        let revoked = self
            .store
            .revoke_api_key(&principal.tenant_id, &key_id, &principal.key_id, reason)
            .await?;
        Ok(Response::new(pb::RevokeApiKeyResponse {
            key: Some(api_key(&revoked)),
        }))
    }

    async fn rotate_api_key(
        &self,
        request: Request<pb::RotateApiKeyRequest>,
    ) -> Result<Response<pb::RotateApiKeyResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ManageKeys)?;
        let message = request.get_ref();
        let key_id = required_id("key_id", &message.key_id)?;
        let grace = message.grace_seconds.unwrap_or(DEFAULT_GRACE_SECONDS);
        if grace > MAX_GRACE_SECONDS {
            return Err(invalid(
                "grace_seconds",
                format!("at most {MAX_GRACE_SECONDS} (30 days)"),
            ));
        }
        let issued = issue_key();
        let (old, new) = self
            .store
            .rotate_api_key(
                &principal.tenant_id,
                &key_id,
                &issued,
                now_ms() + i64::from(grace) * 1000,
                &principal.key_id,
            )
            .await?;
        Ok(Response::new(pb::RotateApiKeyResponse {
            old_key: Some(api_key(&old)),
            new_key: Some(api_key(&new)),
            secret: issued.token.expose_secret().to_string(),
        }))
    }

    async fn list_key_events(
        &self,
        request: Request<pb::ListKeyEventsRequest>,
    ) -> Result<Response<pb::ListKeyEventsResponse>, Status> {
        let principal = Principal::of(&request)?;
        principal.require(Action::ManageKeys)?;
        let message = request.get_ref();
        let limit = page_size(message.page_size)?;
        let before = decode_token(&message.page_token)?;
        let mut events = self
            .store
            .list_key_events(&principal.tenant_id, before.as_deref(), limit + 1)
            .await?;
        let next_page_token =
            finish_page(&mut events, limit, |event| encode_token(&event.event_id));
        Ok(Response::new(pb::ListKeyEventsResponse {
            events: events.iter().map(key_event).collect(),
            next_page_token,
        }))
    }

    async fn get_caller_key(
        &self,
        request: Request<pb::GetCallerKeyRequest>,
    ) -> Result<Response<pb::GetCallerKeyResponse>, Status> {
        let principal = Principal::of(&request)?;
        let keys = self
            .store
            .list_api_keys(&principal.tenant_id, false)
            .await?;
        let key = keys
            .iter()
            .find(|key| key.key_id == principal.key_id)
            .map(api_key)
            .ok_or_else(|| Status::unauthenticated("this key is no longer valid"))?;
        Ok(Response::new(pb::GetCallerKeyResponse {
            key: Some(key),
            tenant_id: principal.tenant_id.clone(),
            permissions: Action::ALL
                .into_iter()
                .filter(|action| principal.may(*action))
                .map(|action| action.as_str().to_string())
                .collect(),
        }))
    }
}

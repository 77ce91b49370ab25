//! API key lifecycle: listing, revoking, rotating, last use, and the audit of
//! key events and failed authentications.

use async_trait::async_trait;

use super::{ApiKeyRecord, StoreError};
use crate::auth::Role;

/// A key as its tenant's admins see it: never its secret or hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeySummary {
    /// Public identifier.
    pub key_id: String,
    /// What the key may do.
    pub role: Role,
    /// Free text to tell keys apart.
    pub label: String,
    /// Creation time, Unix epoch milliseconds.
    pub created_at_ms: i64,
    /// After this the key authenticates nothing.
    pub expires_at_ms: Option<i64>,
    /// The last successful authentication, to the minute.
    pub last_used_at_ms: Option<i64>,
    /// When it was revoked.
    pub revoked_at_ms: Option<i64>,
    /// The agent or team the key is limited to.
    pub scope: crate::auth::KeyScope,
}

/// What happened to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAction {
    /// Issued.
    Created,
    /// Stopped at once.
    Revoked,
    /// Replaced by a successor; expires after the grace period.
    Rotated,
    /// Someone presented it (or a key shaped like it) and was refused.
    AuthFailed,
}

impl KeyAction {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Revoked => "revoked",
            Self::Rotated => "rotated",
            Self::AuthFailed => "auth_failed",
        }
    }

    /// The action a stored name means.
    pub fn parse(name: &str) -> Result<Self, StoreError> {
        match name {
            "created" => Ok(Self::Created),
            "revoked" => Ok(Self::Revoked),
            "rotated" => Ok(Self::Rotated),
            "auth_failed" => Ok(Self::AuthFailed),
            other => Err(StoreError::Corrupt(format!(
                "unknown key event action {other:?}"
            ))),
        }
    }
}

/// One entry of the key audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEvent {
    /// Time-ordered id (UUID v7).
    pub event_id: String,
    /// The key's tenant; `None` for a key id no tenant owns.
    pub tenant_id: Option<String>,
    /// The key concerned.
    pub key_id: String,
    /// What happened.
    pub action: KeyAction,
    /// The admin key id, `cli`, or empty for a failed authentication.
    pub actor: String,
    /// The peer address, for failed authentications.
    pub source: String,
    /// Why, or what else (the successor of a rotated key, a failure's cause).
    pub detail: String,
    /// When, Unix epoch milliseconds.
    pub at_ms: i64,
}

impl KeyEvent {
    /// A new event now.
    pub fn now(tenant_id: Option<&str>, key_id: &str, action: KeyAction, actor: &str) -> Self {
        Self {
            event_id: uuid::Uuid::now_v7().to_string(),
            tenant_id: tenant_id.map(str::to_string),
            key_id: key_id.to_string(),
            action,
            actor: actor.to_string(),
            source: String::new(),
            detail: String::new(),
            at_ms: super::now_ms(),
        }
    }
}

/// Key lifecycle operations, scoped by tenant.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Stores a new key and its `created` event together.
    async fn create_api_key(
        &self,
        key: &ApiKeyRecord,
        actor: &str,
    ) -> Result<ApiKeySummary, StoreError>;

    /// The tenant's keys, newest first.
    async fn list_api_keys(
        &self,
        tenant_id: &str,
        include_revoked: bool,
    ) -> Result<Vec<ApiKeySummary>, StoreError>;

    /// Revokes a key of the tenant now (a revoked key stays revoked) and
    /// records why; `NotFound` for another tenant's key.
    async fn revoke_api_key(
        &self,
        tenant_id: &str,
        key_id: &str,
        actor: &str,
        reason: &str,
    ) -> Result<ApiKeySummary, StoreError>;

    /// Stores `successor` with the old key's role and label and makes the
    /// old key expire at `old_expires_at_ms` (or earlier, if it already
    /// would), with both events, in one transaction. A revoked or expired
    /// key cannot be rotated (`NotFound`).
    async fn rotate_api_key(
        &self,
        tenant_id: &str,
        key_id: &str,
        successor: &crate::auth::IssuedKey,
        old_expires_at_ms: i64,
        actor: &str,
    ) -> Result<(ApiKeySummary, ApiKeySummary), StoreError>;

    /// Records a successful authentication's time.
    async fn touch_api_key(&self, key_id: &str, at_ms: i64) -> Result<(), StoreError>;

    /// Records an event on its own (failed authentications).
    async fn record_key_event(&self, event: &KeyEvent) -> Result<(), StoreError>;

    /// The tenant's key events, newest first, before `before_event_id`.
    async fn list_key_events(
        &self,
        tenant_id: &str,
        before_event_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<KeyEvent>, StoreError>;
}

//! Persistence: one [`Store`] trait; one SQL implementation that runs on
//! SQLite (embedded default) and PostgreSQL (for scale), chosen by URL.
//! Every row carries its tenant and every query is scoped by it.

pub mod calibration;
pub mod calls;
pub mod changes;
pub mod disputes;
pub mod insights;
pub mod keys;
pub mod review_tasks;
pub mod scorecards;
mod sql;
pub mod tenant_settings;
pub mod webhooks;

use std::sync::Arc;

use async_trait::async_trait;

use crate::auth::Role;
use crate::config::DatabaseKind;

pub use calibration::{
    AnswerSheet, CalibrationItem, CalibrationSession, CalibrationStore, CheckAnswer,
};
pub use calls::{
    CallFilter, CallRecord, CallStatus, CallStore, ClaimedJob, NewCall, QueueStats, RedactedAudio,
    Stage, Submitted,
};
pub use changes::{ChangeEvent, ChangeKind, ChangeStore};
pub use disputes::{
    AcceptedOverride, Dispute, DisputeFilter, DisputeState, DisputeStore, Resolution,
};
pub use insights::{CriterionRow, InsightStore, OverallRow, Population, TimeWindow};
pub use keys::{ApiKeySummary, KeyAction, KeyEvent, KeyStore};
pub use review_tasks::{NewReviewTask, ReviewTask, ReviewTaskStore, TaskFilter, TaskState};
pub use scorecards::{
    AuditAction, AuditEvent, CoachingNote, NewScorecard, ScorecardFilter, ScorecardRecord,
    ScorecardStore,
};
pub use sql::SqlStore;
pub use tenant_settings::{
    AudioRedactionPolicy, PurgeKind, RetentionPolicy, ReviewSamplingPolicy, SettingsSection,
    TenantAction, TenantEvent, TenantSettings, TenantSettingsStore,
};
pub use webhooks::{
    AttemptOutcome, DeliveryState, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookStore,
};

/// A storage failure, mapped to a gRPC status at the API edge.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist in the caller's tenant.
    #[error("{0} not found")]
    NotFound(String),
    /// The thing being created exists already.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The database failed; the cause is logged, not shown to clients.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations could not be applied.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The database file's folder could not be created.
    #[error("cannot create the database folder {path}: {source}")]
    CreateFolder {
        /// The folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The tenant already has as many waiting calls as allowed.
    #[error("the tenant's queue is full ({0} calls waiting)")]
    QueueFull(i64),
    /// Someone else changed the record first; read it again and retry.
    #[error("{0} changed concurrently")]
    Conflict(String),
    /// A stored value could not be read back (e.g. an unknown role name).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// The SQLite file this service created before is gone: starting on a
    /// new empty one would silently lose every key, call and scorecard.
    #[error(
        "the database file {path} is missing, but {marker} says one was created there before; \
         restore the file, or delete {marker} to start with an empty database"
    )]
    DatabaseFileMissing {
        /// The database file.
        path: String,
        /// The first-run marker beside it.
        marker: String,
    },
}

impl StoreError {
    /// Whether retrying later may succeed: the database is unreachable,
    /// busy, read-only, out of space or restarting, not the request wrong.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Database(error) => is_transient_sqlx(error),
            Self::DatabaseFileMissing { .. } => true,
            _ => false,
        }
    }
}

fn is_transient_sqlx(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(database) => database.code().is_some_and(|code| {
            match code.parse::<i64>() {
                // SQLite result codes (extended ones keep the primary code in
                // the low byte): BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN.
                Ok(number) => matches!(number & 0xff, 5 | 6 | 8 | 10 | 13 | 14),
                // PostgreSQL SQLSTATE: connection exceptions, insufficient
                // resources, operator intervention (shutdown, restart),
                // serialization failures and deadlocks.
                Err(_) => {
                    code.starts_with("08")
                        || code.starts_with("53")
                        || code.starts_with("57P")
                        || code == "40001"
                        || code == "40P01"
                }
            }
        }),
        _ => false,
    }
}

/// An API key as stored.
#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    /// Public identifier.
    pub key_id: String,
    /// The tenant the key belongs to.
    pub tenant_id: String,
    /// What the key may do.
    pub role: Role,
    /// Hex SHA-256 of the secret.
    pub secret_sha256: String,
    /// Free text to tell keys apart.
    pub label: String,
    /// Revoked keys authenticate nothing.
    pub revoked: bool,
    /// After this (Unix epoch milliseconds) the key authenticates nothing.
    pub expires_at_ms: Option<i64>,
    /// The last successful authentication, to the minute.
    pub last_used_at_ms: Option<i64>,
    /// The agent or team the key is limited to.
    pub scope: crate::auth::KeyScope,
}

impl ApiKeyRecord {
    /// The stored form of a freshly issued key.
    pub fn issued(
        key: &crate::auth::IssuedKey,
        tenant_id: &str,
        role: Role,
        label: &str,
        expires_at_ms: Option<i64>,
    ) -> Self {
        Self {
            key_id: key.key_id.clone(),
            tenant_id: tenant_id.to_string(),
            role,
            secret_sha256: key.secret_sha256.clone(),
            label: label.to_string(),
            revoked: false,
            expires_at_ms,
            last_used_at_ms: None,
            scope: crate::auth::KeyScope::default(),
        }
    }
}

/// A rubric with the list of its versions.
#[derive(Debug, Clone, PartialEq)]
pub struct RubricRecord {
    /// The rubric's id, unique in the tenant.
    pub rubric_id: String,
    /// Display name, from the first version's document.
    pub name: String,
    /// Published versions, oldest first.
    pub versions: Vec<String>,
    /// Whether it is the tenant's default.
    pub is_default: bool,
    /// Creation time, Unix epoch milliseconds.
    pub created_at_ms: i64,
}

/// One immutable, published version of a rubric.
#[derive(Debug, Clone, PartialEq)]
pub struct RubricVersionRecord {
    /// The rubric's id.
    pub rubric_id: String,
    /// The version named in the document.
    pub version: String,
    /// SHA-256 of the canonical document.
    pub content_hash: String,
    /// The document as published.
    pub document: String,
    /// Publication time, Unix epoch milliseconds.
    pub published_at_ms: i64,
}

/// Storage operations; every one is scoped by tenant.
#[async_trait]
pub trait Store:
    CalibrationStore
    + CallStore
    + ChangeStore
    + DisputeStore
    + ScorecardStore
    + InsightStore
    + KeyStore
    + ReviewTaskStore
    + TenantSettingsStore
    + WebhookStore
    + Send
    + Sync
    + 'static
{
    /// Which engine backs this store.
    fn kind(&self) -> DatabaseKind;

    /// Connections of the pool `(in use, idle)`.
    fn pool_usage(&self) -> (u64, u64);

    /// Whether the database answers (and, for SQLite, its file is still
    /// where it was opened).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Creates the tenant if it does not exist; true when created.
    async fn ensure_tenant(&self, tenant_id: &str) -> Result<bool, StoreError>;

    /// Stores a new API key (the tenant must exist).
    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;

    /// Finds a key by its public id, in any tenant (this is how a caller's tenant is learned).
    async fn find_api_key(&self, key_id: &str) -> Result<Option<ApiKeyRecord>, StoreError>;

    /// Creates a rubric with its first version.
    async fn create_rubric(
        &self,
        tenant_id: &str,
        name: &str,
        first_version: &RubricVersionRecord,
    ) -> Result<RubricRecord, StoreError>;

    /// Adds a version to an existing rubric; an existing version number is `AlreadyExists`.
    async fn publish_rubric_version(
        &self,
        tenant_id: &str,
        version: &RubricVersionRecord,
    ) -> Result<RubricRecord, StoreError>;

    /// A rubric and its versions.
    async fn get_rubric(
        &self,
        tenant_id: &str,
        rubric_id: &str,
    ) -> Result<RubricRecord, StoreError>;

    /// One version; `None` asks for the latest.
    async fn get_rubric_version(
        &self,
        tenant_id: &str,
        rubric_id: &str,
        version: Option<&str>,
    ) -> Result<RubricVersionRecord, StoreError>;

    /// Rubrics ordered by id, starting after `after_rubric_id`.
    async fn list_rubrics(
        &self,
        tenant_id: &str,
        after_rubric_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<RubricRecord>, StoreError>;

    /// Makes a rubric the tenant's default.
    async fn set_default_rubric(
        &self,
        tenant_id: &str,
        rubric_id: &str,
    ) -> Result<RubricRecord, StoreError>;

    /// The tenant's default rubric id, if one is set.
    async fn default_rubric_id(&self, tenant_id: &str) -> Result<Option<String>, StoreError>;
}

/// Opens the store a URL names, creating and migrating it as needed.
pub async fn open(url: &str, max_connections: u32) -> Result<Arc<dyn Store>, StoreError> {
    Ok(Arc::new(SqlStore::connect(url, max_connections).await?))
}

/// The current time as Unix epoch milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

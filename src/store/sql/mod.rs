//! The SQL store. One set of queries serves both engines through sqlx's `Any`
//! driver: the schema keeps to portable types (TEXT, BIGINT epoch
//! milliseconds), placeholders are `$N` (both engines take them), and the few
//! engine-specific statements branch on [`DatabaseKind`].

// Its column list macro is used by the modules after it.
#[macro_use]
mod calls;

mod calibration;
mod changes;
mod disputes;
mod filter;
mod insights;
mod keys;
mod review_tasks;
mod scorecards;
mod tenant_settings;
mod webhooks;

use async_trait::async_trait;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};

use super::{ApiKeyRecord, RubricRecord, RubricVersionRecord, Store, StoreError, now_ms};
use crate::config::{DatabaseKind, database_kind};

/// A store on SQLite or PostgreSQL.
#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    kind: DatabaseKind,
    /// The SQLite file, watched by `ping` (a deleted file keeps serving from
    /// its unlinked inode, and is lost at the next start).
    sqlite_file: Option<std::path::PathBuf>,
    /// Woken after this process commits a change event.
    change_signal: std::sync::Arc<tokio::sync::Notify>,
    /// Where to LISTEN for other processes' changes (PostgreSQL only).
    postgres_url: Option<String>,
    /// When the SQLite file last refused a write (Unix ms, 0: never).
    write_fault: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

/// After the SQLite file refused a write, pooled connections are checked
/// for writability this long: one opened during the fault stays read-only
/// for its whole life (SQLite falls back to read-only when it cannot open
/// the file for writing), and a read (the pool's own check) cannot tell.
const WRITE_FAULT_WATCH_MS: i64 = 120_000;

/// Whether a SQLite connection can write now (it waits for the busy timeout
/// behind another writer, like any write would). The write lock alone does
/// not tell: a connection SQLite opened read-only while the file refused
/// writes still takes it once the file is writable again, and then fails
/// every write, so a header write is made and rolled back.
async fn sqlite_writable(connection: &mut sqlx::AnyConnection) -> bool {
    if connection.execute("BEGIN IMMEDIATE").await.is_err() {
        return false;
    }
    let wrote = connection.execute("PRAGMA user_version = 0").await.is_ok();
    connection.execute("ROLLBACK").await.is_ok() && wrote
}

impl SqlStore {
    /// Connects, creating a SQLite file (and its folder) when missing, and
    /// applies the engine's migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let kind = database_kind(url).map_err(|error| StoreError::Corrupt(error.to_string()))?;
        let sqlite_file = match kind {
            DatabaseKind::Sqlite => sqlite_file(url),
            DatabaseKind::Postgres => None,
        };
        if let Some(file) = &sqlite_file {
            refuse_lost_database(file)?;
        }
        let postgres_url = (kind == DatabaseKind::Postgres).then(|| url.to_string());
        let url = match kind {
            DatabaseKind::Sqlite => prepare_sqlite_url(url)?,
            DatabaseKind::Postgres => url.to_string(),
        };
        let write_fault = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
        let recent_fault = write_fault.clone();
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            // A database that is down answers UNAVAILABLE in seconds, not
            // after sqlx's default 30 s; each connection is checked before
            // use, so the pool heals by itself once it is back.
            .acquire_timeout(std::time::Duration::from_secs(10))
            .test_before_acquire(true)
            .after_release(move |connection, _| {
                // A connection sqlx still counts in a transaction after its
                // owner let go (a ROLLBACK that failed because SQLite had
                // already rolled back on an I/O error) would run the next
                // owner's writes as a nested savepoint, acknowledged and then
                // lost (tests/storage_faults.rs): close it instead.
                let in_transaction = sqlx::Connection::is_in_transaction(connection);
                Box::pin(async move { Ok(!(kind == DatabaseKind::Sqlite && in_transaction)) })
            })
            .before_acquire(move |connection, _| {
                let fault_at = recent_fault.load(std::sync::atomic::Ordering::Relaxed);
                Box::pin(async move {
                    if kind == DatabaseKind::Sqlite
                        && fault_at > 0
                        && now_ms() - fault_at < WRITE_FAULT_WATCH_MS
                    {
                        // A read-only leftover is closed, and the pool opens a new one.
                        return Ok(sqlite_writable(connection).await);
                    }
                    Ok(true)
                })
            })
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if kind == DatabaseKind::Sqlite {
                        // WAL lets readers run beside the one writer; the busy
                        // timeout makes writers queue instead of failing.
                        for pragma in [
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA synchronous = NORMAL",
                            "PRAGMA foreign_keys = ON",
                            "PRAGMA busy_timeout = 10000",
                            // Deleted rows are overwritten, not left readable
                            // in free pages (DeleteCall, retention).
                            "PRAGMA secure_delete = ON",
                        ] {
                            connection.execute(pragma).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        match kind {
            DatabaseKind::Sqlite => sqlx::migrate!("migrations/sqlite").run(&pool).await?,
            DatabaseKind::Postgres => sqlx::migrate!("migrations/postgres").run(&pool).await?,
        }
        if let Some(file) = &sqlite_file {
            mark_created(file);
        }
        Ok(Self {
            pool,
            kind,
            sqlite_file,
            change_signal: std::sync::Arc::default(),
            postgres_url,
            write_fault,
        })
    }

    /// Tells the change feed that a transaction with change events committed.
    fn changes_committed(&self) {
        self.change_signal.notify_one();
    }

    /// The connection pool, for tests and maintenance commands.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    async fn rubric_exists(&self, tenant_id: &str, rubric_id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM rubrics WHERE tenant_id = $1 AND rubric_id = $2")
            .bind(tenant_id)
            .bind(rubric_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }
}

/// The file a `sqlite:` URL names; `None` for an in-memory database.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = rest.split_once('?').map_or(rest, |(path, _)| path);
    (path != ":memory:" && !path.is_empty()).then(|| std::path::PathBuf::from(path))
}

/// The first-run marker beside a SQLite file.
fn marker_of(file: &std::path::Path) -> std::path::PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".created");
    std::path::PathBuf::from(name)
}

/// A missing file with its marker present was lost, not never made.
fn refuse_lost_database(file: &std::path::Path) -> Result<(), StoreError> {
    let marker = marker_of(file);
    if !file.exists() && marker.exists() {
        return Err(StoreError::DatabaseFileMissing {
            path: file.display().to_string(),
            marker: marker.display().to_string(),
        });
    }
    Ok(())
}

/// Leaves the first-run marker; failing to is logged, not fatal (the
/// database itself is fine).
fn mark_created(file: &std::path::Path) {
    let marker = marker_of(file);
    if marker.exists() {
        return;
    }
    let note = format!(
        "callscore created {} at {} (Unix ms). If that file is missing, it was lost: restore it, \
         or delete this marker to start with an empty database.\n",
        file.display(),
        now_ms()
    );
    if let Err(error) = std::fs::write(&marker, note) {
        tracing::warn!(%error, marker = %marker.display(), "cannot write the database marker");
    }
}

/// Creates the SQLite file's folder and asks sqlx to create the file.
fn prepare_sqlite_url(url: &str) -> Result<String, StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    if path != ":memory:"
        && let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateFolder {
            path: parent.display().to_string(),
            source,
        })?;
    }
    Ok(match query {
        Some(query) if query.contains("mode=") => url.to_string(),
        Some(_) => format!("{url}&mode=rwc"),
        None => format!("{url}?mode=rwc"),
    })
}

pub(super) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

fn version_from_row(row: &AnyRow) -> Result<RubricVersionRecord, sqlx::Error> {
    Ok(RubricVersionRecord {
        rubric_id: row.try_get("rubric_id")?,
        version: row.try_get("version")?,
        content_hash: row.try_get("content_hash")?,
        document: row.try_get("document")?,
        published_at_ms: row.try_get("published_at_ms")?,
    })
}

#[async_trait]
impl Store for SqlStore {
    fn kind(&self) -> DatabaseKind {
        self.kind
    }

    fn pool_usage(&self) -> (u64, u64) {
        let size = u64::from(self.pool.size());
        let idle = self.pool.num_idle() as u64;
        (size.saturating_sub(idle), idle)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        if let Some(file) = &self.sqlite_file
            && !file.exists()
        {
            return Err(StoreError::DatabaseFileMissing {
                path: file.display().to_string(),
                marker: marker_of(file).display().to_string(),
            });
        }
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        if self.kind == DatabaseKind::Sqlite {
            // A file that refuses writes still answers reads: take the
            // write lock to know (health is NOT_SERVING while it refuses).
            let mut connection = self.pool.acquire().await?;
            if !sqlite_writable(&mut connection).await {
                self.write_fault
                    .store(now_ms(), std::sync::atomic::Ordering::Relaxed);
                connection.close_on_drop();
                return Err(StoreError::Database(sqlx::Error::Protocol(
                    "the SQLite file refuses writes".to_string(),
                )));
            }
        }
        Ok(())
    }

    async fn ensure_tenant(&self, tenant_id: &str) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO tenants (tenant_id, created_at_ms) VALUES ($1, $2) \
             ON CONFLICT (tenant_id) DO NOTHING",
        )
        .bind(tenant_id)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        keys::insert_key(&self.pool, key, now_ms()).await
    }

    async fn find_api_key(&self, key_id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT key_id, tenant_id, role, secret_sha256, label, revoked_at_ms, expires_at_ms, \
             last_used_at_ms, agent_id, team_id FROM api_keys WHERE key_id = $1",
        )
        .bind(key_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let role: String = row.try_get("role")?;
        Ok(Some(ApiKeyRecord {
            key_id: row.try_get("key_id")?,
            tenant_id: row.try_get("tenant_id")?,
            role: role.parse().map_err(|error: crate::auth::UnknownRole| {
                StoreError::Corrupt(error.to_string())
            })?,
            secret_sha256: row.try_get("secret_sha256")?,
            label: row.try_get("label")?,
            revoked: row.try_get::<Option<i64>, _>("revoked_at_ms")?.is_some(),
            expires_at_ms: row.try_get("expires_at_ms")?,
            last_used_at_ms: row.try_get("last_used_at_ms")?,
            scope: crate::auth::KeyScope {
                agent_id: row.try_get("agent_id")?,
                team_id: row.try_get("team_id")?,
            },
        }))
    }

    async fn create_rubric(
        &self,
        tenant_id: &str,
        name: &str,
        first_version: &RubricVersionRecord,
    ) -> Result<RubricRecord, StoreError> {
        let rubric_id = &first_version.rubric_id;
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO rubrics (tenant_id, rubric_id, name, created_at_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(tenant_id)
        .bind(rubric_id)
        .bind(name)
        .bind(first_version.published_at_ms)
        .execute(&mut *transaction)
        .await
        .map_err(|error| match is_unique_violation(&error) {
            true => StoreError::AlreadyExists(format!("rubric {rubric_id:?}")),
            false => error.into(),
        })?;
        insert_version(&mut transaction, tenant_id, first_version, 1).await?;
        transaction.commit().await?;
        self.get_rubric(tenant_id, rubric_id).await
    }

    async fn publish_rubric_version(
        &self,
        tenant_id: &str,
        version: &RubricVersionRecord,
    ) -> Result<RubricRecord, StoreError> {
        let rubric_id = &version.rubric_id;
        if !self.rubric_exists(tenant_id, rubric_id).await? {
            return Err(StoreError::NotFound(format!("rubric {rubric_id:?}")));
        }
        let mut transaction = self.pool.begin().await?;
        let last_seq: i64 = sqlx::query(
            "SELECT COALESCE(MAX(publish_seq), 0) AS last_seq FROM rubric_versions \
             WHERE tenant_id = $1 AND rubric_id = $2",
        )
        .bind(tenant_id)
        .bind(rubric_id)
        .fetch_one(&mut *transaction)
        .await?
        .try_get("last_seq")?;
        insert_version(&mut transaction, tenant_id, version, last_seq + 1).await?;
        transaction.commit().await?;
        self.get_rubric(tenant_id, rubric_id).await
    }

    async fn get_rubric(
        &self,
        tenant_id: &str,
        rubric_id: &str,
    ) -> Result<RubricRecord, StoreError> {
        let row = sqlx::query(
            "SELECT r.rubric_id, r.name, r.created_at_ms, t.default_rubric_id \
             FROM rubrics r JOIN tenants t ON t.tenant_id = r.tenant_id \
             WHERE r.tenant_id = $1 AND r.rubric_id = $2",
        )
        .bind(tenant_id)
        .bind(rubric_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("rubric {rubric_id:?}")))?;
        let versions = sqlx::query(
            "SELECT version FROM rubric_versions WHERE tenant_id = $1 AND rubric_id = $2 \
             ORDER BY publish_seq",
        )
        .bind(tenant_id)
        .bind(rubric_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| row.try_get::<String, _>("version"))
        .collect::<Result<Vec<_>, _>>()?;
        let default_id: Option<String> = row.try_get("default_rubric_id")?;
        Ok(RubricRecord {
            is_default: default_id.as_deref() == Some(rubric_id),
            rubric_id: row.try_get("rubric_id")?,
            name: row.try_get("name")?,
            created_at_ms: row.try_get("created_at_ms")?,
            versions,
        })
    }

    async fn get_rubric_version(
        &self,
        tenant_id: &str,
        rubric_id: &str,
        version: Option<&str>,
    ) -> Result<RubricVersionRecord, StoreError> {
        let row = match version {
            Some(version) => {
                sqlx::query(
                    "SELECT rubric_id, version, content_hash, document, published_at_ms \
                     FROM rubric_versions WHERE tenant_id = $1 AND rubric_id = $2 AND version = $3",
                )
                .bind(tenant_id)
                .bind(rubric_id)
                .bind(version)
                .fetch_optional(&self.pool)
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT rubric_id, version, content_hash, document, published_at_ms \
                     FROM rubric_versions WHERE tenant_id = $1 AND rubric_id = $2 \
                     ORDER BY publish_seq DESC LIMIT 1",
                )
                .bind(tenant_id)
                .bind(rubric_id)
                .fetch_optional(&self.pool)
                .await?
            }
        };
        let row = row.ok_or_else(|| {
            StoreError::NotFound(match version {
                Some(version) => format!("rubric {rubric_id:?} version {version:?}"),
                None => format!("rubric {rubric_id:?}"),
            })
        })?;
        Ok(version_from_row(&row)?)
    }

    async fn list_rubrics(
        &self,
        tenant_id: &str,
        after_rubric_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<RubricRecord>, StoreError> {
        let ids = sqlx::query(
            "SELECT rubric_id FROM rubrics WHERE tenant_id = $1 AND rubric_id > $2 \
             ORDER BY rubric_id LIMIT $3",
        )
        .bind(tenant_id)
        .bind(after_rubric_id.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut rubrics = Vec::with_capacity(ids.len());
        for row in ids {
            let rubric_id: String = row.try_get("rubric_id")?;
            rubrics.push(self.get_rubric(tenant_id, &rubric_id).await?);
        }
        Ok(rubrics)
    }

    async fn set_default_rubric(
        &self,
        tenant_id: &str,
        rubric_id: &str,
    ) -> Result<RubricRecord, StoreError> {
        if !self.rubric_exists(tenant_id, rubric_id).await? {
            return Err(StoreError::NotFound(format!("rubric {rubric_id:?}")));
        }
        sqlx::query("UPDATE tenants SET default_rubric_id = $2 WHERE tenant_id = $1")
            .bind(tenant_id)
            .bind(rubric_id)
            .execute(&self.pool)
            .await?;
        self.get_rubric(tenant_id, rubric_id).await
    }

    async fn default_rubric_id(&self, tenant_id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT default_rubric_id FROM tenants WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(row.try_get("default_rubric_id")?),
            None => Ok(None),
        }
    }
}

async fn insert_version(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant_id: &str,
    version: &RubricVersionRecord,
    publish_seq: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO rubric_versions \
         (tenant_id, rubric_id, version, publish_seq, content_hash, document, published_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tenant_id)
    .bind(&version.rubric_id)
    .bind(&version.version)
    .bind(publish_seq)
    .bind(&version.content_hash)
    .bind(&version.document)
    .bind(version.published_at_ms)
    .execute(&mut **transaction)
    .await
    .map_err(|error| match is_unique_violation(&error) {
        true => StoreError::AlreadyExists(format!(
            "rubric {:?} version {:?}",
            version.rubric_id, version.version
        )),
        false => error.into(),
    })?;
    Ok(())
}

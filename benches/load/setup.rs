//! Options, and a server on a fresh database with a tenant and an API key.

use std::sync::Arc;

use anyhow::{Context, bail};
use callscore::app::{AppError, Application};
use callscore::auth::{Role, issue_key};
use callscore::config::{Overrides, Settings};
use callscore::store::{ApiKeyRecord, Store};
use callscore::tenants::provision_tenant;
use secrecy::ExposeSecret;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The tenant every seeded scorecard belongs to.
pub const TENANT: &str = "load";

/// Which database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary folder.
    Sqlite,
    /// A fresh database on the local PostgreSQL.
    Postgres,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Databases, in order.
    pub backends: Vec<Backend>,
    /// Store size for GetScorecard and ListScorecards.
    pub scorecards: u64,
    /// Store size for the second GetAgentTrend run.
    pub trend_scorecards: u64,
    /// Seconds per step.
    pub seconds: u64,
    /// Closed-loop concurrency steps.
    pub concurrency: Vec<usize>,
}

impl Options {
    /// Reads `--name value` pairs; `cargo bench` adds `--bench`, which is ignored.
    pub fn from_args(args: impl Iterator<Item = String>) -> anyhow::Result<Self> {
        let mut options = Options {
            backends: vec![Backend::Sqlite, Backend::Postgres],
            scorecards: 100_000,
            trend_scorecards: 1_000_000,
            seconds: 3,
            concurrency: vec![1, 4, 16, 64],
        };
        let mut args = args.peekable();
        while let Some(arg) = args.next() {
            let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
            match arg.as_str() {
                "--backend" => {
                    options.backends = match value()?.as_str() {
                        "sqlite" => vec![Backend::Sqlite],
                        "postgres" => vec![Backend::Postgres],
                        "both" => vec![Backend::Sqlite, Backend::Postgres],
                        other => bail!("--backend {other}: sqlite, postgres or both"),
                    }
                }
                "--scorecards" => options.scorecards = value()?.parse()?,
                "--trend-scorecards" => options.trend_scorecards = value()?.parse()?,
                "--seconds" => options.seconds = value()?.parse()?,
                "--concurrency" => {
                    options.concurrency = value()?
                        .split(',')
                        .map(str::parse)
                        .collect::<Result<_, _>>()?
                }
                _ => {}
            }
        }
        Ok(options)
    }
}

/// A running server over a seeded-to-be database.
pub struct Bench {
    /// Which database.
    pub backend: Backend,
    /// Its URL, for the seeder's own connection.
    pub url: String,
    /// The server's address.
    pub address: std::net::SocketAddr,
    /// A key of the load tenant.
    pub token: String,
    /// The server's store, for store-level comparisons.
    pub store: Arc<dyn Store>,
    shutdown: CancellationToken,
    server: JoinHandle<Result<(), AppError>>,
    _dir: Option<tempfile::TempDir>,
    _blob_dir: tempfile::TempDir,
    postgres_name: Option<String>,
}

/// The PostgreSQL server to create the bench database on.
fn postgres_admin_url() -> String {
    std::env::var("CALLSCORE_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

async fn postgres_admin(sql: String) -> anyhow::Result<()> {
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(&postgres_admin_url()).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut connection)
        .await?;
    Ok(())
}

impl Bench {
    /// Creates the database, starts the server and issues an admin key.
    pub async fn start(backend: Backend) -> anyhow::Result<Self> {
        // Uploaded audio would go here; the bench uploads none.
        let blob_dir = tempfile::tempdir()?;
        let (url, dir, postgres_name) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir()?;
                let url = format!("sqlite://{}/load.db", dir.path().display());
                (url, Some(dir), None)
            }
            Backend::Postgres => {
                let name = format!("callscore_load_{}", uuid::Uuid::now_v7().simple());
                postgres_admin(format!("CREATE DATABASE {name}")).await?;
                let admin = postgres_admin_url();
                let (base, _) = admin.rsplit_once('/').context("URL with a database")?;
                (format!("{base}/{name}"), None, Some(name))
            }
        };
        let overrides = Overrides {
            listen_address: Some("127.0.0.1:0".into()),
            database_url: Some(url.clone()),
            // API only: no Whisper model, no workers competing for the cores.
            role: Some("api".into()),
            ..Overrides::default()
        };
        let mut settings = Settings::load(None, &overrides)?;
        settings.blob_dir = blob_dir.path().to_path_buf();
        let app = Application::build(settings).await?;
        let address = app.local_addr();
        let store: Arc<dyn Store> = app.store();
        provision_tenant(store.as_ref(), TENANT).await?;
        let issued = issue_key();
        store
            .insert_api_key(&ApiKeyRecord {
                key_id: issued.key_id.clone(),
                tenant_id: TENANT.to_string(),
                role: Role::Admin,
                secret_sha256: issued.secret_sha256,
                label: "load generator".into(),
                revoked: false,
                expires_at_ms: None,
                last_used_at_ms: None,
                scope: Default::default(),
            })
            .await?;
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        Ok(Self {
            backend,
            url,
            address,
            token: issued.token.expose_secret().to_string(),
            store,
            shutdown,
            server,
            _dir: dir,
            _blob_dir: blob_dir,
            postgres_name,
        })
    }

    /// Stops the server and removes the database.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.server.await??;
        if let Some(name) = &self.postgres_name {
            postgres_admin(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
        }
        Ok(())
    }
}

//! Layered settings: embedded defaults < `callscore.toml` < `CALLSCORE_*`
//! environment < command-line flags, validated once at start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::tls::ServerTlsFiles;

/// The defaults compiled into the binary.
const DEFAULTS: &str = include_str!("../config.default.toml");

/// The settings file read from the working directory when present.
pub const DEFAULT_CONFIG_FILE: &str = "callscore.toml";

/// Every setting of the service, after layering.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Where the gRPC server listens (port 0 picks a free port).
    pub listen_address: String,
    /// `sqlite://PATH` or `postgres://...`.
    pub database_url: String,
    /// Connections in the database pool.
    pub database_max_connections: u32,
    /// `plain` or `json`.
    pub log_format: String,
    /// A `tracing` filter directive.
    pub log_level: String,
    /// How long in-flight requests may take to finish at shutdown.
    pub shutdown_grace_seconds: u64,
    /// `api`, `worker` or `all`.
    pub role: String,
    /// Folder for uploaded audio.
    pub blob_dir: PathBuf,
    /// File with the key (64 hex digits) that seals the original recordings
    /// tenants keep for re-transcription; empty: none can be kept.
    pub audio_encryption_key_file: PathBuf,
    /// Largest accepted upload in bytes.
    pub max_upload_bytes: u64,
    /// Longest accepted call in seconds.
    pub max_call_seconds: u64,
    /// The ggml Whisper model file.
    pub model_path: PathBuf,
    /// The sentence encoder's folder (scripts/provision-encoder.sh fills it);
    /// empty: run without it. A folder without the encoder is not an error:
    /// semantic checks then do not apply and graded checks use cues alone.
    pub encoder_dir: PathBuf,
    /// The speaker encoder that splits mono recordings by voice; empty, or
    /// a path with no file (a warning), leaves mono recordings unattributed.
    pub speaker_encoder_path: PathBuf,
    /// CPU threads per transcription.
    pub whisper_threads: usize,
    /// Calls transcribed at once by this process.
    pub worker_concurrency: usize,
    /// Job lease length in seconds.
    pub job_lease_seconds: u64,
    /// Attempts per call.
    pub job_max_attempts: u32,
    /// Delay before a retry, seconds.
    pub job_retry_seconds: u64,
    /// Idle worker poll interval, milliseconds.
    pub job_poll_ms: u64,
    /// Waiting or running calls a tenant may have.
    pub max_queued_calls_per_tenant: u32,
    /// PEM certificate chain for the gRPC port; with `tls_key_path`, TLS.
    pub tls_cert_path: PathBuf,
    /// PEM private key of `tls_cert_path`.
    pub tls_key_path: PathBuf,
    /// PEM CA bundle; set, clients must present a certificate it signed.
    pub tls_client_ca_path: PathBuf,
    /// How often the TLS files are checked for a new version, seconds.
    pub tls_reload_seconds: u64,
    /// Open connections in all.
    pub max_connections: usize,
    /// Open connections from one IP address.
    pub max_connections_per_address: usize,
    /// Seconds to finish the TLS handshake (plaintext: send a first byte).
    pub handshake_timeout_seconds: u64,
    /// Seconds a connection may send nothing before it is closed.
    pub idle_timeout_seconds: u64,
    /// Seconds a request may take until its response starts.
    pub request_timeout_seconds: u64,
    /// Seconds an upload may pause between messages before it is dropped.
    pub upload_stall_seconds: u64,
    /// Concurrent HTTP/2 streams (RPCs) per connection.
    pub max_streams_per_connection: u32,
    /// RPCs per second an API key earns (0: no limit).
    pub rate_limit_per_second: u32,
    /// RPCs an API key may send at once before the rate applies.
    pub rate_limit_burst: u32,
    /// Open WatchCall streams per API key.
    pub max_watch_streams_per_key: usize,
    /// How often health pings the database, seconds.
    pub health_check_seconds: u64,
    /// SubmitTranscript requests scored at once (0: one per CPU).
    pub max_concurrent_scoring: usize,
    /// How often the retention worker looks for data past its tenant's
    /// policy, seconds.
    pub retention_interval_seconds: u64,
    /// How long change-feed events are kept, hours.
    pub change_feed_retention_hours: u64,
    /// Plaintext port for probes and scrapes (gRPC health, `/metrics`,
    /// `/livez`, `/readyz`); empty: none.
    pub admin_listen_address: String,
    /// How often the queue gauges are read from the database, seconds.
    pub metrics_refresh_seconds: u64,
    /// Web origins (`https://qa.example.com`, comma-separated) whose pages may
    /// call the API from a browser over gRPC-Web; `*` for any; "" for none
    /// (a page served by callscore itself needs none).
    pub cors_allowed_origins: String,
    /// Serve the QA console at `/` on the API port (docs/console.md).
    pub console_enabled: bool,
    /// Webhooks may go to private, loopback and plain-http URLs (for
    /// development and tests; never on a shared deployment).
    pub webhook_allow_private_networks: bool,
    /// The first webhook retry's delay, milliseconds; each later one doubles.
    pub webhook_retry_base_ms: u64,
}

/// Which web origins may call the API from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// None (the default).
    None,
    /// These, exactly (scheme, host and port).
    List(Vec<String>),
    /// Any origin (the API key still decides what a caller may do).
    Any,
}

/// Which parts of the service a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessRole {
    /// The gRPC API only.
    Api,
    /// The job workers only.
    Worker,
    /// Both (the default).
    All,
}

impl ProcessRole {
    /// Whether this process serves gRPC.
    pub fn serves_api(self) -> bool {
        matches!(self, Self::Api | Self::All)
    }

    /// Whether this process runs workers.
    pub fn runs_workers(self) -> bool {
        matches!(self, Self::Worker | Self::All)
    }
}

/// A setting that is missing or wrong, named so an operator can fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The layered sources could not be read or merged.
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    /// A setting has a value it cannot take.
    #[error("setting `{setting}` = {value:?}: {problem}")]
    Invalid {
        /// The setting's name, as in the file (the env variable is `CALLSCORE_` + upper case).
        setting: &'static str,
        /// The offending value.
        value: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// Values given on the command line; `None` leaves the lower layers in force.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    /// `--listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen_address: Option<String>,
    /// `--database-url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// `--log-format`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
    /// `--role`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// `--model`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_path: Option<PathBuf>,
}

/// The log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Plain,
    /// One JSON object per line.
    Json,
}

/// Which database engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    /// The embedded default.
    Sqlite,
    /// For scale: many API and worker replicas against one server.
    Postgres,
}

impl Settings {
    /// Layers the sources. `file` is the settings file to read; when `None`,
    /// `callscore.toml` in the working directory is read if it exists.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULTS));
        match file {
            Some(path) => {
                if !path.is_file() {
                    return Err(ConfigError::Invalid {
                        setting: "config",
                        value: path.display().to_string(),
                        problem: "no such file".into(),
                    });
                }
                figment = figment.merge(Toml::file(path));
            }
            None => figment = figment.merge(Toml::file(PathBuf::from(DEFAULT_CONFIG_FILE))),
        }
        let settings: Settings = figment
            .merge(Env::prefixed("CALLSCORE_").ignore(&["CONFIG"]))
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(Box::new)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks every setting, naming the first one that is wrong.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_socket()?;
        self.admin_socket()?;
        self.cors_origins()?;
        self.database_kind()?;
        self.log_format()?;
        if self.database_max_connections == 0 {
            return Err(invalid(
                "database_max_connections",
                "0",
                "must be at least 1",
            ));
        }
        self.process_role()?;
        self.server_tls_files()?;
        for (setting, value) in [
            ("max_upload_bytes", self.max_upload_bytes),
            ("max_call_seconds", self.max_call_seconds),
            ("whisper_threads", self.whisper_threads as u64),
            ("worker_concurrency", self.worker_concurrency as u64),
            ("job_lease_seconds", self.job_lease_seconds),
            ("job_max_attempts", u64::from(self.job_max_attempts)),
            ("job_poll_ms", self.job_poll_ms),
            ("webhook_retry_base_ms", self.webhook_retry_base_ms),
            (
                "max_queued_calls_per_tenant",
                u64::from(self.max_queued_calls_per_tenant),
            ),
            ("tls_reload_seconds", self.tls_reload_seconds),
            ("max_connections", self.max_connections as u64),
            (
                "max_connections_per_address",
                self.max_connections_per_address as u64,
            ),
            ("handshake_timeout_seconds", self.handshake_timeout_seconds),
            ("idle_timeout_seconds", self.idle_timeout_seconds),
            ("request_timeout_seconds", self.request_timeout_seconds),
            ("upload_stall_seconds", self.upload_stall_seconds),
            (
                "max_streams_per_connection",
                u64::from(self.max_streams_per_connection),
            ),
            (
                "max_watch_streams_per_key",
                self.max_watch_streams_per_key as u64,
            ),
            ("health_check_seconds", self.health_check_seconds),
            ("metrics_refresh_seconds", self.metrics_refresh_seconds),
            (
                "retention_interval_seconds",
                self.retention_interval_seconds,
            ),
            (
                "change_feed_retention_hours",
                self.change_feed_retention_hours,
            ),
        ] {
            if value == 0 {
                return Err(invalid(setting, "0", "must be at least 1"));
            }
        }
        if let Err(error) = tracing_subscriber::EnvFilter::try_new(&self.log_level) {
            return Err(invalid("log_level", &self.log_level, &error.to_string()));
        }
        Ok(())
    }

    /// The gRPC port's TLS files, when TLS is configured.
    pub fn server_tls_files(&self) -> Result<Option<ServerTlsFiles>, ConfigError> {
        let set = |path: &Path| !path.as_os_str().is_empty();
        match (set(&self.tls_cert_path), set(&self.tls_key_path)) {
            (true, true) => Ok(Some(ServerTlsFiles {
                certificate: self.tls_cert_path.clone(),
                private_key: self.tls_key_path.clone(),
                client_ca: Some(self.tls_client_ca_path.clone()).filter(|path| set(path)),
            })),
            (false, false) if set(&self.tls_client_ca_path) => Err(invalid(
                "tls_client_ca_path",
                &self.tls_client_ca_path.display().to_string(),
                "client certificates need TLS: set tls_cert_path and tls_key_path too",
            )),
            (false, false) => Ok(None),
            (true, false) => Err(invalid(
                "tls_key_path",
                "",
                "tls_cert_path is set: give its private key too",
            )),
            (false, true) => Err(invalid(
                "tls_cert_path",
                "",
                "tls_key_path is set: give its certificate chain too",
            )),
        }
    }

    /// SubmitTranscript requests scored at once: the setting, or one per CPU.
    pub fn concurrent_scoring(&self) -> usize {
        match self.max_concurrent_scoring {
            0 => std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
            n => n,
        }
    }

    /// The listen address, parsed.
    pub fn listen_socket(&self) -> Result<SocketAddr, ConfigError> {
        self.listen_address.parse().map_err(|_| {
            invalid(
                "listen_address",
                &self.listen_address,
                "expected HOST:PORT with an IP address, e.g. 127.0.0.1:50051",
            )
        })
    }

    /// The admin (probes and metrics) address, when one is configured.
    pub fn admin_socket(&self) -> Result<Option<SocketAddr>, ConfigError> {
        if self.admin_listen_address.trim().is_empty() {
            return Ok(None);
        }
        self.admin_listen_address.parse().map(Some).map_err(|_| {
            invalid(
                "admin_listen_address",
                &self.admin_listen_address,
                "expected HOST:PORT with an IP address, e.g. 127.0.0.1:9464, or \"\" for none",
            )
        })
    }

    /// The web origins allowed to call the API from a browser, parsed: each
    /// `http://` or `https://` with a host, an optional port and nothing
    /// after it, since browsers send the origin in exactly that form.
    pub fn cors_origins(&self) -> Result<CorsOrigins, ConfigError> {
        let origins: Vec<&str> = self
            .cors_allowed_origins
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .collect();
        if origins.is_empty() {
            return Ok(CorsOrigins::None);
        }
        if origins == ["*"] {
            return Ok(CorsOrigins::Any);
        }
        for origin in &origins {
            let host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            let valid = host.is_some_and(|h| {
                !h.is_empty()
                    && !h.contains(['/', '?', '#', '*', ' ', '@'])
                    && http::uri::Authority::try_from(h).is_ok()
            });
            if !valid {
                return Err(invalid(
                    "cors_allowed_origins",
                    &self.cors_allowed_origins,
                    &format!(
                        "{origin:?} is not an origin: expected scheme://host[:port] such as \
                         https://qa.example.com (no path, no trailing slash), or * alone"
                    ),
                ));
            }
        }
        Ok(CorsOrigins::List(
            origins.iter().map(|o| (*o).to_string()).collect(),
        ))
    }

    /// The database engine named by `database_url`.
    pub fn database_kind(&self) -> Result<DatabaseKind, ConfigError> {
        database_kind(&self.database_url)
    }

    /// What this process runs, parsed.
    pub fn process_role(&self) -> Result<ProcessRole, ConfigError> {
        match self.role.as_str() {
            "api" => Ok(ProcessRole::Api),
            "worker" => Ok(ProcessRole::Worker),
            "all" => Ok(ProcessRole::All),
            other => Err(invalid(
                "role",
                other,
                "expected \"api\", \"worker\" or \"all\"",
            )),
        }
    }

    /// The log format, parsed.
    pub fn log_format(&self) -> Result<LogFormat, ConfigError> {
        match self.log_format.as_str() {
            "plain" => Ok(LogFormat::Plain),
            "json" => Ok(LogFormat::Json),
            other => Err(invalid(
                "log_format",
                other,
                "expected \"plain\" or \"json\"",
            )),
        }
    }
}

/// The engine a database URL names, by its scheme.
pub fn database_kind(url: &str) -> Result<DatabaseKind, ConfigError> {
    if url.starts_with("sqlite:") {
        Ok(DatabaseKind::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(DatabaseKind::Postgres)
    } else {
        Err(invalid(
            "database_url",
            url,
            "expected sqlite://PATH or postgres://USER@HOST/DATABASE",
        ))
    }
}

fn invalid(setting: &'static str, value: &str, problem: &str) -> ConfigError {
    ConfigError::Invalid {
        setting,
        value: value.to_string(),
        problem: problem.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn defaults_are_valid_and_flags_win() -> TestResult {
        let overrides = Overrides {
            listen_address: Some("127.0.0.1:0".into()),
            ..Overrides::default()
        };
        let settings = Settings::load(None, &overrides)?;
        assert_eq!(settings.listen_address, "127.0.0.1:0");
        assert_eq!(settings.database_kind().ok(), Some(DatabaseKind::Sqlite));
        Ok(())
    }

    #[test]
    fn a_bad_value_names_its_setting() {
        let overrides = Overrides {
            database_url: Some("mysql://nope".into()),
            ..Overrides::default()
        };
        let result = Settings::load(None, &overrides);
        assert!(
            matches!(&result, Err(error) if error.to_string().contains("database_url")),
            "{result:?}"
        );
    }

    #[test]
    fn a_file_layer_overrides_defaults() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "log_format = \"json\"\nlog_level = \"debug\"\n")?;
        let settings = Settings::load(Some(&path), &Overrides::default())?;
        assert_eq!(settings.log_format().ok(), Some(LogFormat::Json));
        std::fs::write(&path, "log_format = \"xml\"\n")?;
        let result = Settings::load(Some(&path), &Overrides::default());
        assert!(
            matches!(&result, Err(error) if error.to_string().contains("log_format")),
            "{result:?}"
        );
        Ok(())
    }
}

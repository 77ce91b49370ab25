//! The gRPC port's TLS: a certificate chain and key, optionally a CA whose
//! client certificates are then required (mutual TLS). The files are watched
//! and a changed set is loaded without a restart; a set that does not load
//! (half-written during a rotation, a key that does not match) is logged and
//! the previous one kept, so a bad rotation never takes the port down.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::{TlsError, install_crypto_provider, pem};

/// Where the server's TLS material lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTlsFiles {
    /// PEM certificate chain, leaf first.
    pub certificate: PathBuf,
    /// PEM private key of the leaf.
    pub private_key: PathBuf,
    /// PEM CA bundle; when set, clients must present a certificate it signed.
    pub client_ca: Option<PathBuf>,
}

/// What a file looked like when it was last loaded: a change of either
/// means a new file was put in place.
type Stamp = Option<(SystemTime, u64)>;

/// The server's current TLS configuration, swapped whole on reload.
pub struct ServerTls {
    files: ServerTlsFiles,
    current: RwLock<Arc<ServerConfig>>,
    loaded_stamps: Mutex<Vec<Stamp>>,
}

impl ServerTls {
    /// Loads the files; an error names the file that is wrong.
    pub fn load(files: ServerTlsFiles) -> Result<Self, TlsError> {
        install_crypto_provider();
        let stamps = stamps(&files);
        let config = build(&files)?;
        Ok(Self {
            files,
            current: RwLock::new(Arc::new(config)),
            loaded_stamps: Mutex::new(stamps),
        })
    }

    /// Whether clients must present a certificate.
    pub fn requires_client_certificates(&self) -> bool {
        self.files.client_ca.is_some()
    }

    /// An acceptor over the configuration in force now.
    pub fn acceptor(&self) -> TlsAcceptor {
        let config = match self.current.read() {
            Ok(config) => config.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        TlsAcceptor::from(config)
    }

    /// Loads the files again if any changed since the last load. `Ok(true)`
    /// when a new configuration is in force; on error the old one stays and
    /// the next call tries again.
    pub fn reload_if_changed(&self) -> Result<bool, TlsError> {
        let now = stamps(&self.files);
        {
            let loaded = self
                .loaded_stamps
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if *loaded == now {
                return Ok(false);
            }
        }
        let config = build(&self.files)?;
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(config);
        *self
            .loaded_stamps
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = now;
        Ok(true)
    }

    /// Checks the files every `every` until `stop`.
    pub async fn watch(self: Arc<Self>, every: Duration, stop: CancellationToken) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_error = None;
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = ticks.tick() => {}
            }
            let this = self.clone();
            let outcome = tokio::task::spawn_blocking(move || this.reload_if_changed()).await;
            match outcome {
                Ok(Ok(true)) => {
                    tracing::info!(certificate = %self.files.certificate.display(), "TLS certificates reloaded");
                    last_error = None;
                }
                Ok(Ok(false)) => {}
                Ok(Err(error)) => {
                    // Logged once per distinct problem, not every tick.
                    let message = error.to_string();
                    if last_error.as_deref() != Some(message.as_str()) {
                        tracing::warn!(%error, "new TLS files not loaded; the previous ones stay in force");
                        last_error = Some(message);
                    }
                }
                Err(error) => tracing::warn!(%error, "TLS reload task failed"),
            }
        }
    }
}

fn stamp(path: &Path) -> Stamp {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

fn stamps(files: &ServerTlsFiles) -> Vec<Stamp> {
    let mut stamps = vec![stamp(&files.certificate), stamp(&files.private_key)];
    if let Some(ca) = &files.client_ca {
        stamps.push(stamp(ca));
    }
    stamps
}

fn build(files: &ServerTlsFiles) -> Result<ServerConfig, TlsError> {
    let chain = pem::certificates("tls_cert_path", &files.certificate)?;
    let key = pem::private_key("tls_key_path", &files.private_key)?;
    let builder = ServerConfig::builder();
    let builder = match &files.client_ca {
        Some(ca) => {
            let roots = pem::root_store("tls_client_ca_path", ca)?;
            let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
                .build()
                .map_err(|error| TlsError::Config(format!("tls_client_ca_path: {error}")))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|error| {
        TlsError::Config(format!(
            "tls_cert_path and tls_key_path do not make a usable pair: {error}"
        ))
    })?;
    // gRPC is HTTP/2 only.
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

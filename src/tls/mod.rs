//! TLS for every connection the binary makes or accepts: the gRPC server
//! (certificates reloaded while serving, optional client certificates), the
//! CLI's channel to a `https://` server, and sqlx's to PostgreSQL. One rustls
//! crypto provider, *ring*, serves all three; see docs/tls.md.

mod client;
mod pem;
mod server;

pub use client::ClientTls;
pub use server::{ServerTls, ServerTlsFiles};

/// A certificate, key or CA file that cannot be used, named.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file could not be read.
    #[error("{role} {path}: {source}")]
    Read {
        /// What the file is for (`tls_cert_path`, `--ca-file`, ...).
        role: &'static str,
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file was read but holds nothing usable.
    #[error("{role} {path}: {problem}")]
    Content {
        /// What the file is for.
        role: &'static str,
        /// The file.
        path: String,
        /// What is wrong with it.
        problem: String,
    },
    /// rustls refused the certificates and key together.
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// Makes *ring* the process-wide rustls provider. Every TLS user in the
/// binary (tonic, tokio-rustls, sqlx) then agrees on one; calling it again is
/// harmless.
pub fn install_crypto_provider() {
    // Err only means a provider is already installed, which is the goal.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

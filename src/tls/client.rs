//! The CLI's side: a `https://` server is verified against the public web
//! roots, or only against the CA given; a client certificate is presented
//! when the server asks for one (mutual TLS).

use std::path::PathBuf;

use tonic::transport::{Certificate, ClientTlsConfig, Identity};

use super::{TlsError, install_crypto_provider, pem};

/// How the CLI verifies the server and proves itself.
#[derive(Debug, Clone, Default)]
pub struct ClientTls {
    /// A PEM CA bundle that signed the server's certificate (a private CA).
    pub ca_file: Option<PathBuf>,
    /// A PEM client certificate chain, for servers that require one.
    pub certificate: Option<PathBuf>,
    /// The client certificate's PEM private key.
    pub private_key: Option<PathBuf>,
}

impl ClientTls {
    /// The tonic configuration for `domain` (the server URL's host).
    pub fn config(&self, domain: &str) -> Result<ClientTlsConfig, TlsError> {
        install_crypto_provider();
        let mut config = ClientTlsConfig::new().domain_name(domain);
        config = match &self.ca_file {
            Some(path) => {
                config.ca_certificate(Certificate::from_pem(pem::text("--ca-file", path)?))
            }
            None => config.with_webpki_roots(),
        };
        match (&self.certificate, &self.private_key) {
            (Some(certificate), Some(key)) => {
                let identity = Identity::from_pem(
                    pem::text("--client-cert", certificate)?,
                    pem::text("--client-key", key)?,
                );
                config = config.identity(identity);
            }
            (None, None) => {}
            _ => {
                return Err(TlsError::Config(
                    "--client-cert and --client-key go together".into(),
                ));
            }
        }
        Ok(config)
    }
}

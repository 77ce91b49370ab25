//! Reading PEM certificate chains and private keys, with errors that name
//! the file and what it was for.

use std::path::Path;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::TlsError;

fn read(role: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        role,
        path: path.display().to_string(),
        source,
    })
}

fn content(role: &'static str, path: &Path, problem: impl Into<String>) -> TlsError {
    TlsError::Content {
        role,
        path: path.display().to_string(),
        problem: problem.into(),
    }
}

/// Every certificate in a PEM file, in order; at least one.
pub fn certificates(
    role: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(role, path)?;
    let certificates = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| content(role, path, format!("not PEM certificates: {error}")))?;
    if certificates.is_empty() {
        return Err(content(
            role,
            path,
            "holds no certificate (expected -----BEGIN CERTIFICATE-----)",
        ));
    }
    Ok(certificates)
}

/// The first private key (PKCS#8, PKCS#1 or SEC1) in a PEM file.
pub fn private_key(role: &'static str, path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(role, path)?;
    PrivateKeyDer::from_pem_slice(&bytes)
        .map_err(|error| content(role, path, format!("no usable private key: {error}")))
}

/// A root store of the CA certificates in a PEM file.
pub fn root_store(role: &'static str, path: &Path) -> Result<rustls::RootCertStore, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in certificates(role, path)? {
        roots
            .add(certificate)
            .map_err(|error| content(role, path, format!("not a CA certificate: {error}")))?;
    }
    Ok(roots)
}

/// The raw PEM text of a file (tonic's client configuration takes PEM).
pub fn text(role: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    // Parsed first, so a wrong file is named here rather than at connect time.
    certificates_or_key(role, path)?;
    read(role, path)
}

fn certificates_or_key(role: &'static str, path: &Path) -> Result<(), TlsError> {
    match certificates(role, path) {
        Ok(_) => Ok(()),
        Err(error @ TlsError::Read { .. }) => Err(error),
        Err(_) => private_key(role, path).map(drop),
    }
}

//! Sealed blobs: an original recording a tenant keeps for re-transcription is
//! stored encrypted and authenticated (XChaCha20-Poly1305, RustCrypto) with
//! the operator's key, bound to where it is stored, so a copied or swapped
//! file does not open. Layout: magic, key id, 24-byte random nonce,
//! ciphertext with its 16-byte tag.

use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, SecretBox};
use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"CSSEAL1\0";
const KEY_ID_LEN: usize = 8;
const NONCE_LEN: usize = 24;

/// Why a key could not be loaded or a blob not opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The key file is missing or unreadable.
    #[error("audio_encryption_key_file {path}: {source}")]
    KeyFile {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The key file does not hold 64 hex digits.
    #[error(
        "audio_encryption_key_file {path}: expected 64 hex digits (32 random bytes, e.g. `openssl rand -hex 32`)"
    )]
    KeyFormat {
        /// The file.
        path: String,
    },
    /// The cipher refused the plaintext (past its length limit).
    #[error("the blob cannot be sealed: {0}")]
    Seal(&'static str),
    /// Not a sealed blob, another key's, or altered.
    #[error("the sealed blob cannot be opened: {0}")]
    Open(&'static str),
}

/// Seals and opens blobs with the operator's key.
pub struct Sealer {
    key: SecretBox<[u8; 32]>,
    key_id: [u8; KEY_ID_LEN],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealer(key {})", hex::encode(self.key_id))
    }
}

impl Sealer {
    /// The key in `path`: 64 hex digits, surrounding whitespace ignored.
    pub fn from_key_file(path: &Path) -> Result<Self, SealError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SealError::KeyFile {
            path: shown.clone(),
            source,
        })?;
        let mut key = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut key)
            .map_err(|_| SealError::KeyFormat { path: shown })?;
        Ok(Self::new(key))
    }

    /// A sealer with `key`.
    pub fn new(key: [u8; 32]) -> Self {
        let digest = Sha256::digest(key);
        let mut key_id = [0u8; KEY_ID_LEN];
        key_id.copy_from_slice(&digest[..KEY_ID_LEN]);
        Self {
            key: SecretBox::new(Box::new(key)),
            key_id,
        }
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.key.expose_secret().into())
    }

    /// `plaintext` sealed; `context` (where it is stored) must be given again to open it.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<Vec<u8>, SealError> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let payload = Payload {
            msg: plaintext,
            aad: context.as_bytes(),
        };
        // Fails only past the cipher's length limit (256 GiB per message);
        // an error, never an empty blob standing in for the original.
        let ciphertext = self
            .cipher()
            .encrypt(&XNonce::from(nonce), payload)
            .map_err(|_| SealError::Seal("longer than the cipher allows"))?;
        let mut out = Vec::with_capacity(MAGIC.len() + KEY_ID_LEN + NONCE_LEN + ciphertext.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.key_id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    /// The plaintext of a blob sealed with this key and `context`.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, SealError> {
        let header = MAGIC.len() + KEY_ID_LEN + NONCE_LEN;
        if sealed.len() < header || &sealed[..MAGIC.len()] != MAGIC {
            return Err(SealError::Open("not a sealed blob"));
        }
        let (key_id, rest) = sealed[MAGIC.len()..].split_at(KEY_ID_LEN);
        if key_id != self.key_id {
            return Err(SealError::Open("sealed with another key"));
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce
            .try_into()
            .map_err(|_| SealError::Open("not a sealed blob"))?;
        self.cipher()
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SealError::Open("altered, or stored under another name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_blobs_open_only_with_their_key_and_place() {
        let sealer = Sealer::new([7; 32]);
        let sealed = sealer
            .seal(b"RIFF card 4111", "acme/call.wav")
            .expect("sealed");
        assert!(!sealed.windows(4).any(|w| w == b"4111"), "no plaintext");
        assert_eq!(
            sealer.open(&sealed, "acme/call.wav").expect("opens"),
            b"RIFF card 4111"
        );
        assert!(sealer.open(&sealed, "globex/call.wav").is_err());
        assert!(Sealer::new([8; 32]).open(&sealed, "acme/call.wav").is_err());
        let mut altered = sealed.clone();
        if let Some(last) = altered.last_mut() {
            *last ^= 1;
        }
        assert!(sealer.open(&altered, "acme/call.wav").is_err());
        // Two seals of the same bytes differ (fresh nonce).
        assert_ne!(
            sealed,
            sealer
                .seal(b"RIFF card 4111", "acme/call.wav")
                .expect("sealed")
        );
    }

    #[test]
    fn key_files_hold_64_hex_digits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let good = dir.path().join("good.key");
        std::fs::write(&good, format!("{}\n", "ab".repeat(32))).expect("write");
        assert!(Sealer::from_key_file(&good).is_ok());
        let short = dir.path().join("short.key");
        std::fs::write(&short, "abcd").expect("write");
        let error = Sealer::from_key_file(&short).expect_err("too short");
        assert!(error.to_string().contains("64 hex digits"), "{error}");
        assert!(Sealer::from_key_file(&dir.path().join("missing.key")).is_err());
    }
}

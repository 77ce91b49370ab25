//! API keys: `cs_<key id>_<secret>`. Only the secret's SHA-256 is stored; the
//! secret is 256 random bits, so a fast hash is enough (no password stretching).

use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const PREFIX: &str = "cs_";

/// A key as handed to its owner once, and what is stored of it.
pub struct IssuedKey {
    /// Public identifier, stored in clear, used to find the key.
    pub key_id: String,
    /// The whole key to give to the client; never stored.
    pub token: SecretString,
    /// Hex SHA-256 of the secret part, the only thing stored.
    pub secret_sha256: String,
}

/// A presented key split into its id and secret.
pub struct PresentedKey {
    /// Public identifier.
    pub key_id: String,
    secret: SecretString,
}

/// Makes a new random key.
pub fn issue() -> IssuedKey {
    let mut rng = rand::rng();
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut id);
    rng.fill_bytes(&mut secret);
    let key_id = hex::encode(id);
    let secret = hex::encode(secret);
    IssuedKey {
        token: SecretString::from(format!("{PREFIX}{key_id}_{secret}")),
        secret_sha256: sha256_hex(&secret),
        key_id,
    }
}

/// Splits a presented token; `None` when it is not shaped like a key.
pub fn parse(token: &str) -> Option<PresentedKey> {
    let rest = token.strip_prefix(PREFIX)?;
    let (key_id, secret) = rest.split_once('_')?;
    let well_formed = key_id.len() == 16
        && secret.len() == 64
        && key_id
            .bytes()
            .chain(secret.bytes())
            .all(|b| b.is_ascii_hexdigit());
    well_formed.then(|| PresentedKey {
        key_id: key_id.to_string(),
        secret: SecretString::from(secret.to_string()),
    })
}

impl PresentedKey {
    /// Whether the secret hashes to `stored_sha256`, compared in constant time.
    pub fn matches(&self, stored_sha256: &str) -> bool {
        let presented = sha256_hex(self.secret.expose_secret());
        presented.as_bytes().ct_eq(stored_sha256.as_bytes()).into()
    }
}

fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_key_verifies_and_a_changed_one_does_not() {
        let issued = issue();
        let token = issued.token.expose_secret().to_string();
        let Some(presented) = parse(&token) else {
            panic!("an issued key is well formed: {token}");
        };
        assert_eq!(presented.key_id, issued.key_id);
        assert!(presented.matches(&issued.secret_sha256));
        // Change the secret's last hex digit: still well formed, no longer matching.
        let (head, last) = token.split_at(token.len() - 1);
        let tampered = format!("{head}{}", if last == "0" { '1' } else { '0' });
        assert!(parse(&tampered).is_some_and(|t| !t.matches(&issued.secret_sha256)));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for token in [
            "",
            "cs_",
            "cs_abc_def",
            "xx_0123456789abcdef_00",
            "Bearer x",
        ] {
            assert!(parse(token).is_none(), "{token}");
        }
    }
}

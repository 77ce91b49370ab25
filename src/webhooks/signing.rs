//! Signatures as Standard Webhooks (and Svix) define them: HMAC-SHA256 of
//! `"{webhook-id}.{webhook-timestamp}.{body}"` keyed with the secret's
//! bytes, sent as `webhook-signature: v1,<base64>`; while a rotated-out
//! secret is still valid, its signature follows, space-separated.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sha2::Sha256;

/// Every secret starts so, as in Standard Webhooks.
pub const SECRET_PREFIX: &str = "whsec_";

/// A new random secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The key bytes of a `whsec_` secret; `None` when it is not one.
fn key_bytes(secret: &str) -> Option<Vec<u8>> {
    STANDARD.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()
}

/// `v1,<base64 HMAC>` of one message under one secret.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key_bytes(secret)?).ok()?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Whether any `v1` signature in a `webhook-signature` header matches:
/// what a receiver checks (constant time), along with the timestamp's age.
pub fn verify(secret: &str, id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let Some(key) = key_bytes(secret) else {
        return false;
    };
    header.split(' ').any(|candidate| {
        let Some(encoded) = candidate.strip_prefix("v1,") else {
            return false;
        };
        let Ok(given) = STANDARD.decode(encoded) else {
            return false;
        };
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
            return false;
        };
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        mac.verify_slice(&given).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks specification's example: secret
    /// `whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw`, id `msg_p5jXN8AQM9LWM0D4loKWxJek`,
    /// timestamp 1614265330, body `{"test": 2432232314}`.
    #[test]
    fn matches_the_standard_webhooks_example() {
        let signed = signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn verifies_either_of_two_signatures_and_nothing_else() {
        let (old, new) = (new_secret(), new_secret());
        let body = b"{}";
        let header = format!(
            "{} {}",
            signature(&new, "d1", 10, body).unwrap(),
            signature(&old, "d1", 10, body).unwrap()
        );
        assert!(verify(&old, "d1", 10, body, &header));
        assert!(verify(&new, "d1", 10, body, &header));
        assert!(!verify(&new_secret(), "d1", 10, body, &header));
        assert!(!verify(&new, "d1", 11, body, &header));
        assert!(!verify(&new, "d1", 10, b"{ }", &header));
        assert!(!verify("not-a-secret", "d1", 10, body, &header));
    }
}

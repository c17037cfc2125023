//! The secrets of access control: password hashes (Argon2id), random session and token
//! values (kept only as SHA-256 digests), and the signed 签收 links of alert messages.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// The shortest password a user may have (as NIST SP 800-63B asks at least 8).
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Argon2 hashes what it is given; a bound keeps a login from hashing megabytes.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Hashes a password with Argon2id at its default cost (19 MiB, 2 passes, 1 lane: the
/// OWASP recommendation), as a PHC string holding the salt and the parameters.
pub(crate) fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).expect("the operating system's random source");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("Argon2 with default parameters hashes any password of bounded length")
        .to_string()
}

/// Whether `password` is the one `hash` was made from. A hash that cannot be read is a
/// mismatch, never a way in.
pub(crate) fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Spends the time of a real verification, so that a login for a user who does not exist
/// takes as long as one with a wrong password (no finding names by timing).
pub(crate) fn verify_nobody(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_password("no such user, no such password"));
    let _ = verify_password(password, hash);
}

/// `bytes` random bytes from the operating system, as hex.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    getrandom::getrandom(&mut buffer).expect("the operating system's random source");
    hex::encode(buffer)
}

/// The digest a session or token value is kept as: the value itself never is, so the
/// state database does not let anyone in.
pub(crate) fn digest(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// Signs and checks the token of a 签收 link: it names one alert and a time it expires,
/// and lets whoever holds it acknowledge that alert and nothing else.
#[derive(Clone)]
pub struct AlertLinks {
    key: [u8; 32],
    valid_for: chrono::Duration,
}

/// Why a 签收 link's token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("签收链接已过期，请登录舆情值班台签收")]
    Expired,
    #[error("签收链接无效（与此预警不符或已被改动）")]
    Invalid,
}

impl AlertLinks {
    pub fn new(key: [u8; 32], valid_for: chrono::Duration) -> Self {
        AlertLinks { key, valid_for }
    }

    /// The token for alert `id`, valid from `now` for the configured time:
    /// `{expiry as Unix seconds}.{first 128 bits of HMAC-SHA256}`.
    pub fn sign(&self, id: &str, now: chrono::DateTime<chrono::Utc>) -> String {
        let expires = (now + self.valid_for).timestamp();
        let mac = self.keyed(id, expires).finalize().into_bytes();
        format!("{expires}.{}", hex::encode(&mac[..16]))
    }

    /// Whether `token` was signed for alert `id` and has not expired at `now`.
    pub fn verify(
        &self,
        id: &str,
        token: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), LinkError> {
        let (expires, tag) = token.split_once('.').ok_or(LinkError::Invalid)?;
        let expires: i64 = expires.parse().map_err(|_| LinkError::Invalid)?;
        let tag = hex::decode(tag).map_err(|_| LinkError::Invalid)?;
        if tag.len() != 16 {
            return Err(LinkError::Invalid);
        }
        // Compared in constant time, then the expiry: an altered expiry fails the MAC.
        self.keyed(id, expires)
            .verify_truncated_left(&tag)
            .map_err(|_| LinkError::Invalid)?;
        if now.timestamp() > expires {
            return Err(LinkError::Expired);
        }
        Ok(())
    }

    fn keyed(&self, id: &str, expires: i64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(b"yuqing ack link\n");
        mac.update(id.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};

    #[test]
    fn a_password_verifies_against_its_hash_and_nothing_else_does() {
        let hash = hash_password("长城长城长城长城长城");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("长城长城长城长城长城", &hash));
        assert!(!verify_password("长城长城长城长城长", &hash));
        assert!(!verify_password("长城长城长城长城长城", "not a hash"));
        // Salted: the same password never hashes the same twice.
        assert_ne!(hash, hash_password("长城长城长城长城长城"));
    }

    #[test]
    fn a_link_acknowledges_its_own_alert_until_it_expires() {
        let links = AlertLinks::new([7; 32], Duration::days(7));
        let now = Utc::now();
        let token = links.sign("alert-1", now);
        assert_eq!(links.verify("alert-1", &token, now), Ok(()));
        assert_eq!(
            links.verify("alert-1", &token, now + Duration::days(6)),
            Ok(())
        );
        assert_eq!(
            links.verify("alert-1", &token, now + Duration::days(8)),
            Err(LinkError::Expired)
        );
        // Another alert, a stretched expiry, another key, garbage: all refused.
        assert_eq!(
            links.verify("alert-2", &token, now),
            Err(LinkError::Invalid)
        );
        let (expires, tag) = token.split_once('.').unwrap();
        let later = format!("{}.{tag}", expires.parse::<i64>().unwrap() + 86_400 * 365);
        assert_eq!(
            links.verify("alert-1", &later, now),
            Err(LinkError::Invalid)
        );
        let other = AlertLinks::new([8; 32], Duration::days(7));
        assert_eq!(
            other.verify("alert-1", &token, now),
            Err(LinkError::Invalid)
        );
        for junk in ["", ".", "abc", "1.zz", "99999999999999999999999.00"] {
            assert_eq!(
                links.verify("alert-1", junk, now),
                Err(LinkError::Invalid),
                "{junk}"
            );
        }
    }
}

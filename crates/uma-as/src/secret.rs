//! Bearer secrets: tickets, PATs, RPT handles, PCTs, client secrets.
//!
//! A secret is 256 random bits from ring's `SystemRandom`, written base64url.
//! The server keeps only the SHA-256 digest of a secret ([`SecretHash`]), so a
//! copied database holds no usable token, and looks records up by that digest.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::digest::{digest, SHA256};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use std::fmt;
use subtle::ConstantTimeEq;

/// A secret as handed to (or received from) a peer. Redacted in `Debug`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// 32 fresh random bytes, base64url without padding (43 characters).
    pub fn generate() -> Self {
        Secret(URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
    }

    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.0)
    }

    /// Constant-time comparison with a stored digest.
    pub fn matches(&self, stored: &SecretHash) -> bool {
        self.hash().0.ct_eq(&stored.0).into()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// SHA-256 of a secret: the key under which the server stores its record.
/// Serialized as base64url text.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretHash(pub [u8; 32]);

impl Serialize for SecretHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl<'de> Deserialize<'de> for SecretHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(serde::de::Error::custom)?;
        <[u8; 32]>::try_from(bytes.as_slice()).map(SecretHash).map_err(|_| serde::de::Error::custom("a SHA-256 digest has 32 bytes"))
    }
}

impl SecretHash {
    pub fn of(value: &str) -> Self {
        let mut out = [0u8; 32];
        out.copy_from_slice(digest(&SHA256, value.as_bytes()).as_ref());
        SecretHash(out)
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

/// Random bytes from the operating system. Failure of the OS generator leaves
/// no safe way to continue, so it aborts rather than issue a weak secret.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    SystemRandom::new()
        .fill(&mut out)
        .expect("the operating system's random generator failed");
    out
}

/// A random identifier (128 bits) for records that are not secrets, in
/// lowercase hex: it never starts with `-`, so it is safe as a command-line argument.
pub fn random_id() -> String {
    hex(&random_bytes::<16>())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time string equality, for secrets compared in the clear (CSRF tokens).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_and_redacted() {
        let a = Secret::generate();
        let b = Secret::generate();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 43);
        assert_eq!(format!("{a:?}"), "Secret([redacted])");
        assert!(a.matches(&a.hash()));
        assert!(!a.matches(&b.hash()));
    }
}

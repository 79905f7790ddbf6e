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
use std::marker::PhantomData;
use subtle::ConstantTimeEq;

/// What a secret is for. Each role is its own type, so that a ticket can
/// never be handed on where a PAT or an RPT is wanted.
pub mod role {
    /// A permission ticket (Grant §3.2).
    pub enum Ticket {}
    /// A protection API access token (FedAuthz §1.3).
    pub enum Pat {}
    /// A requesting party token (Grant §3.3.5).
    pub enum Rpt {}
    /// A persisted claims token (Grant §3.3.5).
    pub enum Pct {}
    /// A client's secret (RFC 7591 §3.2.1).
    pub enum ClientSecret {}
    /// The owner API's bearer token.
    pub enum OwnerToken {}
    /// A claim token a client pushes (an ID token, a presentation): not the
    /// server's own, but a credential all the same.
    pub enum ClaimToken {}
    /// A client's signed assertion of who it is (RFC 7523 §2.2).
    pub enum ClientAssertion {}
    /// A claims-gathering page's anti-forgery token.
    pub enum Csrf {}
}

/// A secret in one role, as handed to (or received from) a peer. Redacted
/// in `Debug`, and deliberately not `Serialize`: it reaches a body or a
/// record only through [`Secret::expose`], in plain sight.
///
/// A secret of one role is not one of another:
/// ```compile_fail
/// use uma_as::secret::{role, Secret};
/// let rpt: Secret<role::Rpt> = Secret::<role::Ticket>::generate();
/// ```
/// and no secret serializes by accident:
/// ```compile_fail
/// fn into_a_body<T: serde::Serialize>(_: &T) {}
/// into_a_body(&uma_as::secret::Secret::<uma_as::secret::role::Pat>::generate());
/// ```
pub struct Secret<R> {
    value: String,
    role: PhantomData<fn() -> R>,
}

impl<R> Secret<R> {
    /// 32 fresh random bytes, base64url without padding (43 characters).
    pub fn generate() -> Self {
        Secret::new(URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
    }

    pub fn new(value: impl Into<String>) -> Self {
        Secret { value: value.into(), role: PhantomData }
    }

    pub fn expose(&self) -> &str {
        &self.value
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.value)
    }

    /// Constant-time comparison with a stored digest.
    pub fn matches(&self, stored: &SecretHash) -> bool {
        self.hash().0.ct_eq(&stored.0).into()
    }
}

impl<R> Clone for Secret<R> {
    fn clone(&self) -> Self {
        Secret::new(self.value.clone())
    }
}

impl<R> fmt::Debug for Secret<R> {
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
        let a = Secret::<role::Ticket>::generate();
        let b = Secret::<role::Ticket>::generate();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 43);
        assert_eq!(format!("{a:?}"), "Secret([redacted])");
        assert!(a.matches(&a.hash()));
        assert!(!a.matches(&b.hash()));
    }
}

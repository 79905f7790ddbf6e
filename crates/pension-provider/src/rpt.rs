//! Checking an RPT here, without the wallet: so a dashboard holding a valid
//! RPT can still read while the owner's laptop sleeps.
//!
//! The wallet's RPTs are JWT access tokens (RFC 9068) signed with the key
//! its metadata publishes. A token passes only if all of this holds:
//! - `typ` is `at+jwt` (the wallet's key signs other kinds of token too);
//! - the signature verifies under a key of the wallet the pension is
//!   registered at, and `iss` is that wallet;
//! - `aud` names this provider as that wallet knows it (the subject of the
//!   assertion it connected with);
//! - it has not expired, and was not issued in the future;
//! - its `permissions` name the pension's registration there, and only
//!   scopes of permissions that have not ended count.
//!
//! What it cannot say is whether the owner has revoked the token since:
//! the provider asks the wallet (introspection) whenever it can reach it,
//! and the local check decides alone only while the wallet is unreachable,
//! and then only for a token issued less than [`MAX_UNCHECKED_AGE`] ago.
//! A token the wallet once called inactive stays refused here
//! ([`Refused`]). A revocation therefore takes effect at the next read
//! while the wallet is reachable, and within the token's lifetime (and
//! [`MAX_UNCHECKED_AGE`]) at most while it is not, or while someone makes
//! it look unreachable.

use crate::protection::Registration;
use crate::trust::{Registry, TokenError};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;

/// The JOSE `typ` of an RPT (RFC 9068 §2.1).
pub const RPT_TYPE: &str = "at+jwt";
/// Clock difference tolerated on `iat` between the wallet and here.
const CLOCK_SKEW: i64 = 60;
/// The oldest token (by `iat`) honoured without the wallet's word, whatever
/// lifetime the wallet gave it: the longest a revocation can go unseen.
pub const MAX_UNCHECKED_AGE: i64 = 600;
/// Tokens remembered as refused by the wallet, at most.
const MAX_REFUSED: usize = 100_000;

/// What the local check found in a token.
#[derive(Debug, PartialEq)]
pub struct Checked {
    /// The scopes granted on this pension.
    pub scopes: Vec<String>,
    pub issued_at: i64,
    pub expires_at: i64,
}

impl Checked {
    /// Whether the token is young enough to be honoured on this check alone.
    pub fn may_stand_alone(&self, now: i64) -> bool {
        now - self.issued_at <= MAX_UNCHECKED_AGE
    }
}

/// Tokens the wallet called inactive (revoked), until they expire: so a
/// wallet that later looks unreachable cannot bring one back. Only tokens
/// that passed the local check (the wallet's own, for this provider) get
/// here, so strangers cannot fill it.
#[derive(Default)]
pub struct Refused {
    until: Mutex<HashMap<[u8; 32], i64>>,
}

fn digest(rpt: &str) -> [u8; 32] {
    let hash = ring::digest::digest(&ring::digest::SHA256, rpt.as_bytes());
    hash.as_ref().try_into().expect("SHA-256 is 32 bytes")
}

impl Refused {
    pub fn remember(&self, rpt: &str, expires_at: i64, now: i64) {
        let mut until = self.until.lock();
        if until.len() >= MAX_REFUSED {
            until.retain(|_, exp| *exp > now);
        }
        if until.len() < MAX_REFUSED {
            until.insert(digest(rpt), expires_at);
        } else {
            tracing::warn!("too many refused tokens to remember; this one is not");
        }
    }

    pub fn contains(&self, rpt: &str) -> bool {
        self.until.lock().contains_key(&digest(rpt))
    }
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    aud: Value,
    exp: i64,
    iat: i64,
    #[serde(default)]
    permissions: Vec<Permission>,
}

#[derive(Deserialize)]
struct Permission {
    resource_id: String,
    #[serde(default)]
    resource_scopes: Vec<String>,
    #[serde(default)]
    exp: Option<i64>,
}

impl Registry {
    /// The scopes `rpt` grants on the pension `registration` describes,
    /// checked with the wallet's keys alone (see the module's notes).
    pub async fn check_rpt(&self, rpt: &str, registration: &Registration, now: i64) -> Result<Checked, TokenError> {
        let header = jsonwebtoken::decode_header(rpt).map_err(|_| TokenError::Malformed)?;
        if header.typ.as_deref() != Some(RPT_TYPE) {
            return Err(TokenError::WrongType);
        }
        if !matches!(header.alg, Algorithm::EdDSA | Algorithm::ES256) {
            return Err(TokenError::BadSignature);
        }
        let kid = header.kid.as_deref().ok_or(TokenError::BadSignature)?;
        let find = |set: Value| serde_json::from_value::<JwkSet>(set).ok().and_then(|set| set.find(kid).cloned());
        let jwk = match find(self.wallet_keys(&registration.issuer, false).await?) {
            Some(jwk) => jwk,
            // A key the wallet has rotated in since the keys were fetched.
            None => find(self.wallet_keys(&registration.issuer, true).await?).ok_or(TokenError::BadSignature)?,
        };
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| TokenError::BadSignature)?;
        let mut validation = Validation::new(header.alg);
        // Checked below against this provider's own clock and names.
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<Claims>(rpt, &key, &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::Json(_) => TokenError::Malformed,
                _ => TokenError::BadSignature,
            })?
            .claims;
        if claims.iss.trim_end_matches('/') != registration.issuer {
            return Err(TokenError::UntrustedIssuer(claims.iss));
        }
        if claims.exp <= now || claims.iat > now + CLOCK_SKEW {
            return Err(TokenError::Expired);
        }
        let for_us = match &claims.aud {
            Value::String(aud) => *aud == registration.resource_server_id,
            Value::Array(list) => list.iter().any(|aud| aud.as_str() == Some(registration.resource_server_id.as_str())),
            _ => false,
        };
        if !for_us {
            return Err(TokenError::WrongAudience);
        }
        let scopes = claims
            .permissions
            .into_iter()
            .filter(|p| p.resource_id == registration.as_resource_id && p.exp.is_none_or(|exp| now < exp))
            .flat_map(|p| p.resource_scopes)
            .collect();
        Ok(Checked { scopes, issued_at: claims.iat, expires_at: claims.exp })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protection::Endpoints;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use jsonwebtoken::{EncodingKey, Header};
    use ring::signature::{Ed25519KeyPair, KeyPair};
    use serde_json::json;

    // Nothing listens on the discard port: a wallet that cannot be reached.
    const WALLET: &str = "http://127.0.0.1:9";
    const NOW: i64 = 1_800_000_000;

    struct Wallet {
        pkcs8: Vec<u8>,
        registry: Registry,
    }

    fn key_pair() -> Vec<u8> {
        Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap().as_ref().to_vec()
    }

    fn wallet() -> Wallet {
        let pkcs8 = key_pair();
        let public = Ed25519KeyPair::from_pkcs8(&pkcs8).unwrap().public_key().as_ref().to_vec();
        let registry = Registry::new(vec![WALLET.into()], vec![]);
        let jwk = json!({ "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "k1", "x": URL_SAFE_NO_PAD.encode(public) });
        registry.remember_wallet_keys(WALLET, json!({ "keys": [jwk] }));
        Wallet { pkcs8, registry }
    }

    fn registration() -> Registration {
        Registration {
            issuer: WALLET.into(),
            as_resource_id: "r1".into(),
            resource_server_id: "https://acme.example".into(),
            holder_keys: Vec::new(),
            pat: String::new(),
            endpoints: Endpoints::default(),
        }
    }

    fn claims() -> Value {
        json!({
            "iss": WALLET, "sub": "did:key:z6Mk", "aud": ["https://acme.example"], "azp": "c1", "client_id": "c1",
            "jti": "j1", "iat": NOW - 5, "exp": NOW + 600,
            "permissions": [{ "resource_id": "r1", "resource_scopes": ["owner"] }]
        })
    }

    fn sign(pkcs8: &[u8], typ: &str, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(typ.into());
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(pkcs8)).unwrap()
    }

    async fn check(wallet: &Wallet, token: &str) -> Result<Vec<String>, TokenError> {
        wallet.registry.check_rpt(token, &registration(), NOW).await.map(|checked| checked.scopes)
    }

    fn with(changes: Value) -> Value {
        let mut c = claims();
        for (k, v) in changes.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    }

    #[tokio::test]
    async fn a_valid_rpt_grants_its_scopes_on_this_pension_only() {
        let w = wallet();
        assert_eq!(check(&w, &sign(&w.pkcs8, RPT_TYPE, "k1", &claims())).await, Ok(vec!["owner".to_string()]));
        let elsewhere = with(json!({ "permissions": [
            { "resource_id": "r2", "resource_scopes": ["owner", "value"] },
            { "resource_id": "r1", "resource_scopes": ["value"], "exp": NOW },
        ] }));
        assert_eq!(check(&w, &sign(&w.pkcs8, RPT_TYPE, "k1", &elsewhere)).await, Ok(vec![]), "another pension's, or an ended permission");
    }

    #[tokio::test]
    async fn a_token_that_is_not_this_wallets_rpt_for_this_provider_is_refused() {
        let w = wallet();
        let cases = [
            (sign(&w.pkcs8, "JWT", "k1", &claims()), TokenError::WrongType),
            (sign(&w.pkcs8, "find+jwt", "k1", &claims()), TokenError::WrongType),
            (sign(&w.pkcs8, RPT_TYPE, "k1", &with(json!({ "aud": ["https://other.example"] }))), TokenError::WrongAudience),
            (sign(&w.pkcs8, RPT_TYPE, "k1", &with(json!({ "aud": "https://other.example" }))), TokenError::WrongAudience),
            (sign(&w.pkcs8, RPT_TYPE, "k1", &with(json!({ "iss": "http://127.0.0.1:8" }))), TokenError::UntrustedIssuer("http://127.0.0.1:8".into())),
            (sign(&w.pkcs8, RPT_TYPE, "k1", &with(json!({ "exp": NOW }))), TokenError::Expired),
            (sign(&w.pkcs8, RPT_TYPE, "k1", &with(json!({ "iat": NOW + 120 }))), TokenError::Expired),
            // Another key under the wallet's key id, and a key id the wallet never published.
            (sign(&key_pair(), RPT_TYPE, "k1", &claims()), TokenError::BadSignature),
            (sign(&w.pkcs8, RPT_TYPE, "k2", &claims()), TokenError::BadSignature),
            ("not.a.token".to_string(), TokenError::Malformed),
        ];
        for (token, expected) in cases {
            assert_eq!(check(&w, &token).await, Err(expected));
        }
    }

    #[tokio::test]
    async fn only_a_young_token_may_stand_on_the_local_check_alone() {
        let w = wallet();
        let long_lived = with(json!({ "iat": NOW - MAX_UNCHECKED_AGE - 1, "exp": NOW + 3600 }));
        let checked = w.registry.check_rpt(&sign(&w.pkcs8, RPT_TYPE, "k1", &long_lived), &registration(), NOW).await.unwrap();
        assert!(!checked.may_stand_alone(NOW), "valid, but too old to honour without the wallet");
        let checked = w.registry.check_rpt(&sign(&w.pkcs8, RPT_TYPE, "k1", &claims()), &registration(), NOW).await.unwrap();
        assert!(checked.may_stand_alone(NOW));
    }

    #[test]
    fn a_refused_token_is_remembered_and_forgotten_once_expired_when_room_is_needed() {
        let refused = Refused::default();
        refused.remember("a", NOW + 10, NOW);
        assert!(refused.contains("a") && !refused.contains("b"));
        for i in 0..MAX_REFUSED {
            refused.remember(&format!("t{i}"), NOW + 5, NOW);
        }
        // Full: expired ones make room, live ones are kept.
        refused.remember("c", NOW + 100, NOW + 20);
        assert!(refused.contains("c") && !refused.contains("a") && !refused.contains("t0"));
    }
}

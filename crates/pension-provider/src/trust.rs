//! Which authorization servers this provider trusts (its governance
//! registry), and verification of the find tokens they sign.
//!
//! A find token is a JWT signed by a trusted authorization server, for this
//! provider (`aud`), short-lived, carrying `find_data`. The signing keys come
//! from the server's own metadata (`/.well-known/oauth-authorization-server`
//! → `jwks_uri`), cached for ten minutes.

use crate::find::FindData;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The longest lifetime accepted on a find token.
pub const MAX_FIND_TOKEN_LIFETIME: i64 = 600;
/// The JOSE `typ` of a find token: a wallet's key signs other kinds of
/// token too, and none of them is a find token.
pub const FIND_TOKEN_TYPE: &str = "find+jwt";
const KEYS_TTL: Duration = Duration::from_secs(600);
/// An unknown `kid` refetches a wallet's keys at most this often.
const REFETCH_EVERY: Duration = Duration::from_secs(60);
/// Metadata and key sets are small.
const MAX_DOCUMENT: usize = 256 * 1024;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TokenError {
    #[error("a bearer find token is required")]
    Missing,
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("authorization server {0:?} is not in this provider's registry")]
    UntrustedIssuer(String),
    #[error("cannot fetch the authorization server's keys: {0}")]
    KeysUnavailable(String),
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token has expired or lives too long")]
    Expired,
    #[error("the token is for another provider")]
    WrongAudience,
    #[error("the token is not a find token")]
    WrongType,
}

#[derive(Deserialize)]
pub struct FindClaims {
    pub iss: String,
    pub aud: Value,
    pub exp: i64,
    pub iat: i64,
    pub find_data: FindData,
}

pub struct Registry {
    trusted: Vec<String>,
    keys: Mutex<HashMap<String, (Instant, JwkSet)>>,
    http: reqwest::Client,
}

/// Seconds since the Unix epoch, for token times.
pub(crate) fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl Registry {
    pub fn new(trusted: Vec<String>) -> Registry {
        let http = http_guard::outbound::client(Duration::from_secs(5));
        let trusted = trusted.into_iter().map(|t| t.trim_end_matches('/').to_string()).collect();
        Registry { trusted, keys: Mutex::new(HashMap::new()), http }
    }

    pub fn trusted(&self) -> &[String] {
        &self.trusted
    }

    /// The wallet's keys, from its metadata's `jwks_uri`, which must be on
    /// the wallet's own origin.
    async fn fetch_keys(&self, issuer: &str) -> Result<JwkSet, TokenError> {
        use http_guard::outbound::{json_capped, on_origin, secure_url};
        let unavailable = |e: String| TokenError::KeysUnavailable(e);
        let origin = secure_url(issuer).map_err(|e| unavailable(e.to_string()))?;
        let response = self.http.get(format!("{issuer}/.well-known/oauth-authorization-server")).send().await.map_err(|e| unavailable(e.to_string()))?;
        let response = response.error_for_status().map_err(|e| unavailable(e.to_string()))?;
        let metadata: Value = json_capped(response, MAX_DOCUMENT).await.map_err(|e| unavailable(e.to_string()))?;
        let jwks_uri = metadata["jwks_uri"].as_str().ok_or_else(|| unavailable("no jwks_uri".into()))?;
        let jwks_uri = on_origin(jwks_uri, &origin).map_err(|e| unavailable(e.to_string()))?;
        let response = self.http.get(jwks_uri).send().await.map_err(|e| unavailable(e.to_string()))?;
        let response = response.error_for_status().map_err(|e| unavailable(e.to_string()))?;
        json_capped(response, MAX_DOCUMENT).await.map_err(|e| unavailable(e.to_string()))
    }

    async fn keys(&self, issuer: &str, refresh: bool) -> Result<JwkSet, TokenError> {
        if let Some((at, set)) = self.keys.lock().get(issuer) {
            let age = at.elapsed();
            if (age < KEYS_TTL && !refresh) || age < REFETCH_EVERY {
                return Ok(set.clone());
            }
        }
        let set = self.fetch_keys(issuer).await?;
        self.keys.lock().insert(issuer.to_string(), (Instant::now(), set.clone()));
        Ok(set)
    }

    /// Verifies a find token addressed to `audience` (this provider's URL).
    pub async fn verify_find_token(&self, token: &str, audience: &str) -> Result<FindClaims, TokenError> {
        let payload = token.split('.').nth(1).ok_or(TokenError::Malformed)?;
        let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Malformed)?;
        let unverified: Value = serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
        let issuer = unverified["iss"].as_str().ok_or(TokenError::Malformed)?.trim_end_matches('/').to_string();
        if !self.trusted.contains(&issuer) {
            return Err(TokenError::UntrustedIssuer(issuer));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.typ.as_deref() != Some(FIND_TOKEN_TYPE) {
            return Err(TokenError::WrongType);
        }
        if !matches!(header.alg, Algorithm::EdDSA | Algorithm::ES256 | Algorithm::RS256) {
            return Err(TokenError::BadSignature);
        }
        let find = |set: &JwkSet| header.kid.as_deref().and_then(|kid| set.find(kid).cloned());
        let jwk = match find(&self.keys(&issuer, false).await?) {
            Some(k) => k,
            None => find(&self.keys(&issuer, true).await?).ok_or(TokenError::BadSignature)?,
        };
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| TokenError::BadSignature)?;
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<FindClaims>(token, &key, &validation).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::Json(_) => TokenError::Malformed,
            _ => TokenError::BadSignature,
        })?;
        let claims = claims.claims;
        let now = now();
        if claims.exp <= now || claims.exp - claims.iat > MAX_FIND_TOKEN_LIFETIME || claims.iat > now + 60 {
            return Err(TokenError::Expired);
        }
        let for_us = match &claims.aud {
            Value::String(a) => a.trim_end_matches('/') == audience,
            Value::Array(list) => list.iter().any(|a| a.as_str().is_some_and(|a| a.trim_end_matches('/') == audience)),
            _ => false,
        };
        if !for_us {
            return Err(TokenError::WrongAudience);
        }
        Ok(claims)
    }
}

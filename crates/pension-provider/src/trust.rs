//! Which authorization servers and identity services this provider trusts
//! (its governance registry), verification of the find tokens the servers
//! sign, and of the identity presentations inside them.
//!
//! A find token is a JWT signed by a trusted authorization server, for this
//! provider (`aud`), short-lived, used once (`jti`), carrying `find_data`
//! (what the member states, never taken as verified) and, when the member
//! has one, `identity_presentation`: an SD-JWT VC identity credential from a
//! trusted identity service, presented to this provider with a nonce it
//! gave out, and bound to the key of the very server that signed the find
//! token. Only what that presentation attests is matched as verified.
//!
//! Keys come from the parties' own metadata (an authorization server's
//! `/.well-known/oauth-authorization-server` → `jwks_uri`; an identity
//! service's `/.well-known/jwt-vc-issuer`), cached for ten minutes.

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
/// While a wallet cannot be reached, the keys last fetched from it are
/// used for this long: RPTs keep verifying while its laptop sleeps, but a
/// key it has since withdrawn is not honoured for ever.
const STALE_WALLET_KEYS: Duration = Duration::from_secs(24 * 3600);
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
    #[error("this find token was used before; send a fresh one")]
    Replayed,
    #[error("identity service {0:?} is not in this provider's registry")]
    UntrustedIdentityIssuer(String),
    #[error("the identity presentation does not verify: {0}")]
    Identity(String),
    #[error("the identity credential is bound to another wallet than the one asking")]
    IdentityNotThisWallet,
    #[error("the identity presentation's nonce is unknown, used or expired; ask for a fresh one")]
    IdentityNonce,
    #[error("too many find tokens in flight; try again shortly")]
    Busy,
}

#[derive(Deserialize)]
pub struct FindClaims {
    pub iss: String,
    pub aud: Value,
    pub exp: i64,
    pub iat: i64,
    #[serde(default)]
    pub jti: Option<String>,
    #[serde(default)]
    pub find_data: FindData,
    /// An SD-JWT VC presentation of the member's identity credential.
    #[serde(default)]
    pub identity_presentation: Option<String>,
}

/// A verified find token, and the key of the server that signed it.
pub struct VerifiedFind {
    pub claims: FindClaims,
    pub signer_key: Value,
}

/// Find token ids seen and not yet expired, per authorization server: one
/// server filling its share refuses only its own find tokens.
const MAX_SEEN_PER_ISSUER: usize = 20_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum KeyKind {
    AuthorizationServer,
    IdentityIssuer,
}

/// A key set, when it was fetched, and when it was last asked for.
struct CachedKeys {
    fetched: Instant,
    tried: Instant,
    set: Value,
}

#[derive(Default)]
struct Governed {
    authorization_servers: Vec<String>,
    identity_issuers: Vec<String>,
    pinned_keys: HashMap<String, Value>,
    expires_at: i64,
}

impl Governed {
    fn live(&self) -> bool {
        now() < self.expires_at
    }
}

pub struct Registry {
    trusted: Vec<String>,
    identity_issuers: Vec<String>,
    /// What a signed governance registry adds, until it expires: its
    /// authorization servers, its identity services, and their keys (used
    /// as they are, never fetched).
    governed: Governed,
    /// Key sets by (kind, issuer URL): an authorization server's keys never
    /// verify identity credentials, nor the other way round.
    keys: Mutex<HashMap<(KeyKind, String), CachedKeys>>,
    /// Per authorization server: `jti` → `exp` of every find token accepted.
    seen: Mutex<HashMap<String, HashMap<String, i64>>>,
    http: reqwest::Client,
}

/// Seconds since the Unix epoch, for token times.
pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl Registry {
    pub fn new(trusted: Vec<String>, identity_issuers: Vec<String>) -> Registry {
        let http = http_guard::outbound::client(Duration::from_secs(5));
        let canonical = |list: Vec<String>| list.into_iter().map(|t| t.trim_end_matches('/').to_string()).collect();
        Registry {
            trusted: canonical(trusted),
            identity_issuers: canonical(identity_issuers),
            governed: Governed::default(),
            keys: Mutex::default(),
            seen: Mutex::default(),
            http,
        }
    }

    /// Adds what a signed governance registry lists: its authorization
    /// servers are trusted, and its identity services with the keys it
    /// gives for them.
    /// Past the registry's `exp`, none of it is trusted any more.
    pub fn add_governance(&mut self, signed: &registry::Signed) {
        let mut governed = Governed { expires_at: signed.expires_at, ..Governed::default() };
        for entry in signed.registry.with_role(registry::Role::AuthorizationServer) {
            governed.authorization_servers.push(entry.id.clone());
        }
        for entry in signed.registry.with_role(registry::Role::IdentityIssuer) {
            governed.identity_issuers.push(entry.id.clone());
            if let Some(jwks) = &entry.jwks {
                governed.pinned_keys.insert(entry.id.clone(), jwks.clone());
            }
        }
        self.governed = governed;
    }

    /// The authorization servers trusted now.
    pub fn trusted(&self) -> Vec<String> {
        let governed = self.governed.live().then_some(&self.governed.authorization_servers).into_iter().flatten();
        self.trusted.iter().chain(governed).cloned().collect()
    }

    pub fn trusts_authorization_server(&self, issuer: &str) -> bool {
        self.trusted.iter().any(|t| t == issuer) || (self.governed.live() && self.governed.authorization_servers.iter().any(|t| t == issuer))
    }

    fn trusts_identity_issuer(&self, issuer: &str) -> bool {
        self.identity_issuers.iter().any(|t| t == issuer) || (self.governed.live() && self.governed.identity_issuers.iter().any(|t| t == issuer))
    }

    /// The wallet's keys, from its metadata's `jwks_uri`, which must be on
    /// the wallet's own origin.
    async fn fetch_wallet_keys(&self, issuer: &str) -> Result<Value, TokenError> {
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

    /// An identity service's keys, from its SD-JWT VC issuer metadata.
    async fn fetch_identity_keys(&self, issuer: &str) -> Result<Value, TokenError> {
        use http_guard::outbound::{json_capped, well_known};
        let unavailable = |e: String| TokenError::KeysUnavailable(e);
        let url = well_known(issuer, "jwt-vc-issuer").map_err(|e| unavailable(e.to_string()))?;
        let response = self.http.get(url).send().await.map_err(|e| unavailable(e.to_string()))?;
        let response = response.error_for_status().map_err(|e| unavailable(e.to_string()))?;
        let metadata: Value = json_capped(response, MAX_DOCUMENT).await.map_err(|e| unavailable(e.to_string()))?;
        if metadata["issuer"].as_str().map(|i| i.trim_end_matches('/')) != Some(issuer) {
            return Err(unavailable("its metadata names another issuer".into()));
        }
        Ok(metadata["jwks"].clone())
    }

    /// `stale_ok` lets a wallet's keys serve up to [`STALE_WALLET_KEYS`]
    /// old while it cannot be reached (for RPTs only).
    async fn keys(&self, issuer: &str, identity: bool, refresh: bool, stale_ok: bool) -> Result<Value, TokenError> {
        if let Some(pinned) = self.governed.pinned_keys.get(issuer).filter(|_| identity && self.governed.live()) {
            return Ok(pinned.clone());
        }
        let kind = if identity { KeyKind::IdentityIssuer } else { KeyKind::AuthorizationServer };
        let cache_key = (kind, issuer.to_string());
        let usable = |cached: &CachedKeys| {
            let age = cached.fetched.elapsed();
            age < KEYS_TTL || (stale_ok && !identity && age < STALE_WALLET_KEYS)
        };
        if let Some(cached) = self.keys.lock().get(&cache_key) {
            let fresh = cached.fetched.elapsed() < KEYS_TTL && !refresh;
            // Not asked again within a minute, whether it answered or not:
            // an unreachable wallet costs one timeout a minute, not one a read.
            if fresh || (cached.tried.elapsed() < REFETCH_EVERY && usable(cached)) {
                return Ok(cached.set.clone());
            }
        }
        let fetched = if identity { self.fetch_identity_keys(issuer).await } else { self.fetch_wallet_keys(issuer).await };
        let mut keys = self.keys.lock();
        match fetched {
            Ok(set) => {
                let now = Instant::now();
                keys.insert(cache_key, CachedKeys { fetched: now, tried: now, set: set.clone() });
                Ok(set)
            }
            Err(e) => match keys.get_mut(&cache_key).filter(|cached| usable(cached)) {
                Some(cached) => {
                    cached.tried = Instant::now();
                    Ok(cached.set.clone())
                }
                None => Err(e),
            },
        }
    }

    /// Keys for the wallet at `issuer`, as if just fetched from it.
    #[cfg(test)]
    pub(crate) fn remember_wallet_keys(&self, issuer: &str, set: Value) {
        let now = Instant::now();
        self.keys.lock().insert((KeyKind::AuthorizationServer, issuer.to_string()), CachedKeys { fetched: now, tried: now, set });
    }

    /// The keys of the wallet at `issuer`; `refresh` asks for a fresh copy
    /// (at most once a minute). While the wallet cannot be reached, the
    /// last copy fetched, up to a day old.
    pub async fn wallet_keys(&self, issuer: &str, refresh: bool) -> Result<Value, TokenError> {
        self.keys(issuer, false, refresh, true).await
    }

    /// Records a find token's id until it expires: false if seen before.
    /// Only trusted servers' verified tokens get here, each in its own share.
    fn first_use(&self, issuer: &str, jti: &str, exp: i64, now: i64) -> Result<bool, TokenError> {
        let mut seen = self.seen.lock();
        let mine = seen.entry(issuer.to_string()).or_default();
        if mine.len() >= MAX_SEEN_PER_ISSUER {
            mine.retain(|_, until| *until > now);
            if mine.len() >= MAX_SEEN_PER_ISSUER {
                return Err(TokenError::Busy);
            }
        }
        Ok(mine.insert(jti.to_string(), exp).is_none())
    }

    /// Verifies an identity presentation inside a find token that `signer_key`
    /// signed, for this provider (`audience`), spending its nonce with
    /// `spend_nonce`. Returns every claim it attests.
    pub async fn verify_identity(
        &self,
        presentation: &str,
        signer_key: &Value,
        audience: &str,
        spend_nonce: impl FnOnce(&str) -> bool,
    ) -> Result<serde_json::Map<String, Value>, TokenError> {
        let issuer = sd_jwt_vc::unverified_issuer(presentation).ok_or_else(|| TokenError::Identity("not an SD-JWT VC".into()))?;
        let issuer = issuer.trim_end_matches('/').to_string();
        if !self.trusts_identity_issuer(&issuer) {
            return Err(TokenError::UntrustedIdentityIssuer(issuer));
        }
        let verify = |keys: &Value| sd_jwt_vc::verify_presentation(presentation, keys, audience, now());
        let presented = match verify(&self.keys(&issuer, true, false, false).await?) {
            Err(sd_jwt_vc::SdJwtError::UnknownKey(_)) => verify(&self.keys(&issuer, true, true, false).await?),
            other => other,
        }
        .map_err(|e| TokenError::Identity(e.to_string()))?;
        if presented.credential.vct != sd_jwt_vc::IDENTITY_VCT || presented.credential.issuer.trim_end_matches('/') != issuer {
            return Err(TokenError::Identity("not an identity credential".into()));
        }
        if !sd_jwt_vc::same_key(&presented.credential.holder_key, signer_key) {
            return Err(TokenError::IdentityNotThisWallet);
        }
        if !spend_nonce(&presented.nonce) {
            return Err(TokenError::IdentityNonce);
        }
        Ok(presented.credential.claims)
    }

    /// Verifies a find token addressed to `audience` (this provider's URL),
    /// and records it as used.
    pub async fn verify_find_token(&self, token: &str, audience: &str) -> Result<VerifiedFind, TokenError> {
        let payload = token.split('.').nth(1).ok_or(TokenError::Malformed)?;
        let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Malformed)?;
        let unverified: Value = serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
        let issuer = unverified["iss"].as_str().ok_or(TokenError::Malformed)?.trim_end_matches('/').to_string();
        if !self.trusts_authorization_server(&issuer) {
            return Err(TokenError::UntrustedIssuer(issuer));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.typ.as_deref() != Some(FIND_TOKEN_TYPE) {
            return Err(TokenError::WrongType);
        }
        if !matches!(header.alg, Algorithm::EdDSA | Algorithm::ES256 | Algorithm::RS256) {
            return Err(TokenError::BadSignature);
        }
        let find = |set: Value| {
            let set: JwkSet = serde_json::from_value(set).ok()?;
            header.kid.as_deref().and_then(|kid| set.find(kid).cloned())
        };
        let jwk = match find(self.keys(&issuer, false, false, false).await?) {
            Some(k) => k,
            None => find(self.keys(&issuer, false, true, false).await?).ok_or(TokenError::BadSignature)?,
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
        let jti = claims.jti.as_deref().filter(|j| !j.is_empty() && j.len() <= 200).ok_or(TokenError::Malformed)?;
        if !self.first_use(&issuer, jti, claims.exp, now)? {
            return Err(TokenError::Replayed);
        }
        let signer_key = serde_json::to_value(&jwk).map_err(|_| TokenError::BadSignature)?;
        Ok(VerifiedFind { claims, signer_key })
    }
}

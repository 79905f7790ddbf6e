//! Dynamic client registration (RFC 7591, with UMA's `claims_redirect_uris`,
//! Grant §2) and client authentication at the token endpoint (RFC 6749 §2.3.1).
//!
//! A client authenticates with a secret (`client_secret_basic`,
//! `client_secret_post`) or with a key (`private_key_jwt`, RFC 7523 §2.2:
//! a JWT signed with a key it registered in `jwks`, for this token
//! endpoint, short-lived and used once). Public clients are not supported.
//! A client registered with a key and a `software_id` is one the owner can
//! be shown as the governance registry lists it, when the registry gives
//! the same keys for that software id: only its holder can authenticate.
//!
//! Registration is open to anyone, so it is bounded: a token bucket on
//! registrations, a cap on clients that have not authenticated yet, and
//! those are removed after [`Config::unused_client_ttl`](crate::Config). A
//! client enters the audit log when it first authenticates; a failed
//! authentication is counted, not stored verbatim.

use crate::id::ClientId;
use crate::error::{ProtocolError, ProtocolResult};
use crate::model::{Client, GrantType, Protection};
use crate::secret::{role, Secret};
use crate::server::AuthorizationServer;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The grants a client may register for: the jwt-bearer grant needs no
/// client, only the owner's assertion.
const REGISTRABLE: [GrantType; 2] = [GrantType::UmaTicket, GrantType::ClientCredentials];
pub const PROTECTION_SCOPE: &str = "uma_protection";
const AUTH_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", PRIVATE_KEY_JWT];
pub const PRIVATE_KEY_JWT: &str = "private_key_jwt";
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// A client assertion may live at most this long.
const MAX_ASSERTION_LIFETIME: i64 = 300;
/// Client assertion ids remembered per client until they expire.
const MAX_LIVE_ASSERTIONS: usize = 1000;

/// Client metadata a client sends (RFC 7591 §2).
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientMetadata {
    #[serde(default)]
    pub client_name: Option<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// UMA Grant §2: where the AS may send the requesting party back after
    /// interactive claims gathering.
    #[serde(default)]
    pub claims_redirect_uris: Vec<String>,
    #[serde(default)]
    pub grant_types: Option<Vec<String>>,
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    /// Space-separated scopes the client may request (RegisteredScopes).
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub response_types: Option<Vec<String>>,
    #[serde(default)]
    pub client_uri: Option<String>,
    #[serde(default)]
    pub contacts: Option<Vec<String>>,
    #[serde(default)]
    pub software_id: Option<String>,
    /// Public keys, for `private_key_jwt`.
    #[serde(default)]
    pub jwks: Option<serde_json::Value>,
    /// Why the app asks for access, in its own words, shown to the owner
    /// beside every request as the app's statement (an extension member,
    /// RFC 7591 §2: "additional client metadata").
    #[serde(default)]
    pub purpose: Option<String>,
}

/// The registration response (RFC 7591 §3.2.1).
#[derive(Serialize, utoipa::ToSchema)]
pub struct RegisteredClient {
    pub client_id: ClientId,
    /// None for a `private_key_jwt` client: it has no secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub client_id_issued_at: i64,
    /// 0: the secret does not expire (sent with a secret only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    pub redirect_uris: Vec<String>,
    pub claims_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub token_endpoint_auth_method: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

impl std::fmt::Debug for RegisteredClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisteredClient")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("client_name", &self.client_name)
            .finish_non_exhaustive()
    }
}

/// Credentials presented at an endpoint that authenticates clients.
#[derive(Debug)]
pub struct ClientCredentials {
    pub client_id: ClientId,
    pub secret: Option<Secret<role::ClientSecret>>,
    /// A `private_key_jwt` client assertion (RFC 7523 §2.2).
    pub assertion: Option<Secret<role::ClientAssertion>>,
}

/// Checks registered public keys: 1 to 5 of them, Ed25519 or P-256, no
/// private parts, each usable by the JWT library.
fn check_jwks(jwks: &serde_json::Value) -> ProtocolResult<()> {
    let keys = jwks["keys"].as_array().filter(|k| (1..=5).contains(&k.len())).ok_or_else(|| ProtocolError::invalid_client_metadata("jwks must hold 1 to 5 keys"))?;
    for key in keys {
        let curve_ok = matches!((key["kty"].as_str(), key["crv"].as_str()), (Some("OKP"), Some("Ed25519")) | (Some("EC"), Some("P-256")));
        if !curve_ok || key.get("d").is_some() {
            return Err(ProtocolError::invalid_client_metadata("jwks keys must be public Ed25519 or P-256 keys"));
        }
        let parsed: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.clone()).map_err(|_| ProtocolError::invalid_client_metadata("a jwks key does not parse"))?;
        jsonwebtoken::DecodingKey::from_jwk(&parsed).map_err(|_| ProtocolError::invalid_client_metadata("a jwks key is not usable"))?;
    }
    if jwks.to_string().len() > 8 * 1024 {
        return Err(ProtocolError::invalid_client_metadata("jwks is too large"));
    }
    Ok(())
}

/// An absolute URI without a fragment (RFC 6749 §3.1.2, Grant §3.3.2).
pub fn check_redirect_uri(uri: &str) -> Result<url::Url, String> {
    let parsed = url::Url::parse(uri).map_err(|_| format!("{uri:?} is not an absolute URI"))?;
    if parsed.fragment().is_some() {
        return Err(format!("{uri:?} has a fragment"));
    }
    if parsed.cannot_be_a_base() {
        return Err(format!("{uri:?} is not a usable redirect URI"));
    }
    Ok(parsed)
}

fn bounded(value: &Option<String>, name: &str, max: usize) -> ProtocolResult<()> {
    match value {
        Some(v) if v.len() > max => Err(ProtocolError::invalid_client_metadata(format!("{name} is longer than {max}"))),
        _ => Ok(()),
    }
}

enum AssertionRefused {
    Invalid,
    Busy,
}

/// How much of a stranger's client id goes into the audit log.
const LOGGED_ID_CHARS: usize = 64;

impl AuthorizationServer {
    pub fn register_client(&self, metadata: ClientMetadata) -> ProtocolResult<RegisteredClient> {
        bounded(&metadata.client_name, "client_name", 200)?;
        bounded(&metadata.scope, "scope", 2000)?;
        for uri in metadata.redirect_uris.iter().chain(&metadata.claims_redirect_uris) {
            check_redirect_uri(uri).map_err(ProtocolError::invalid_redirect_uri)?;
        }
        if metadata.redirect_uris.len() + metadata.claims_redirect_uris.len() > 20 {
            return Err(ProtocolError::invalid_client_metadata("too many redirect URIs"));
        }
        let method = metadata.token_endpoint_auth_method.unwrap_or_else(|| AUTH_METHODS[0].into());
        if !AUTH_METHODS.contains(&method.as_str()) {
            return Err(ProtocolError::invalid_client_metadata(format!(
                "token_endpoint_auth_method must be one of {AUTH_METHODS:?}"
            )));
        }
        let uses_key = method == PRIVATE_KEY_JWT;
        match (&metadata.jwks, uses_key) {
            (Some(jwks), true) => check_jwks(jwks)?,
            (None, true) => return Err(ProtocolError::invalid_client_metadata("private_key_jwt needs jwks")),
            (Some(_), false) => return Err(ProtocolError::invalid_client_metadata("jwks is only for private_key_jwt")),
            (None, false) => {}
        }
        bounded(&metadata.software_id, "software_id", 200)?;
        bounded(&metadata.purpose, "purpose", 300)?;
        let grant_types = match metadata.grant_types {
            None => REGISTRABLE.to_vec(),
            Some(names) => {
                let mut types = Vec::with_capacity(names.len());
                for name in &names {
                    match GrantType::parse(name).filter(|g| REGISTRABLE.contains(g)) {
                        Some(g) if !types.contains(&g) => types.push(g),
                        Some(_) => {}
                        None => return Err(ProtocolError::invalid_client_metadata(format!("grant type {name:?} is not supported"))),
                    }
                }
                types
            }
        };
        let now = self.now();
        let unused = self.cache().read().clients.values().filter(|c| c.authenticated_at.is_none()).count();
        let admitted = if unused >= self.config().max_unused_clients { Err(self.config().unused_client_ttl as u64) } else { self.inner.registrations.take(now) };
        if let Err(wait) = admitted {
            self.audit_noisy("anonymous", "client.registration_refused", json!({ "unused_clients": unused }));
            return Err(ProtocolError::temporarily_unavailable("too many client registrations; try again later", wait));
        }
        let scope: Vec<String> = metadata.scope.as_deref().unwrap_or("").split_whitespace().map(String::from).collect();
        let secret = (!uses_key).then(Secret::<role::ClientSecret>::generate);
        let client = Client {
            client_id: ClientId::generate(),
            secret_hash: secret.as_ref().map(Secret::hash),
            client_name: metadata.client_name,
            redirect_uris: metadata.redirect_uris,
            claims_redirect_uris: metadata.claims_redirect_uris,
            grant_types,
            token_endpoint_auth_method: method,
            scope,
            // A resource server joins the owner's waiting list when it first
            // asks for a PAT, authenticated, not when anyone registers.
            protection: Protection::None,
            created_at: now,
            authenticated_at: None,
            refused_at: None,
            software_id: metadata.software_id,
            jwks: metadata.jwks,
            purpose: metadata.purpose,
        };
        self.save_client(&client)?;
        Ok(RegisteredClient {
            client_id: client.client_id.clone(),
            client_secret: secret.as_ref().map(|s| s.expose().to_string()),
            client_id_issued_at: now,
            client_secret_expires_at: secret.as_ref().map(|_| 0),
            software_id: client.software_id.clone(),
            client_name: client.client_name.clone(),
            redirect_uris: client.redirect_uris.clone(),
            claims_redirect_uris: client.claims_redirect_uris.clone(),
            grant_types: client.grant_types.clone(),
            token_endpoint_auth_method: client.token_endpoint_auth_method.clone(),
            scope: client.scope.join(" "),
        })
    }

    /// A client for this wallet's own use, registered in-process: it has no
    /// secret, so nothing can authenticate as it over HTTP.
    pub fn register_internal_client(&self, client_name: &str) -> ProtocolResult<Client> {
        let now = self.now();
        let client = Client {
            client_id: ClientId::generate(),
            secret_hash: None,
            client_name: Some(client_name.into()),
            redirect_uris: vec![],
            claims_redirect_uris: vec![],
            grant_types: vec![GrantType::UmaTicket],
            token_endpoint_auth_method: "none".into(),
            scope: vec![],
            protection: Protection::None,
            created_at: now,
            authenticated_at: Some(now),
            refused_at: None,
            software_id: None,
            jwks: None,
            purpose: None,
        };
        self.save_client(&client)?;
        self.audit("owner", "client.registered", json!({ "client_id": client.client_id, "client_name": client.client_name, "internal": true }));
        Ok(client)
    }

    /// Takes away a client's secret: it can no longer authenticate over HTTP.
    pub fn forget_client_secret(&self, client_id: &ClientId) -> ProtocolResult<()> {
        let mut client = self.client(client_id).ok_or_else(|| ProtocolError::not_found("no such client"))?;
        if client.secret_hash.take().is_some() {
            self.save_client(&client)?;
        }
        Ok(())
    }

    pub(crate) fn save_client(&self, client: &Client) -> ProtocolResult<()> {
        self.trees().clients.insert(&client.client_id, client)?;
        self.cache().write().clients.insert(client.client_id.clone(), client.clone());
        Ok(())
    }

    pub fn client(&self, client_id: &ClientId) -> Option<Client> {
        self.cache().read().clients.get(client_id).cloned()
    }

    /// Authenticates a client by its secret, in constant time. Every failure
    /// is the same `invalid_client` so that client ids cannot be probed.
    pub fn authenticate_client(&self, credentials: &ClientCredentials) -> ProtocolResult<Client> {
        let fail = || {
            let shown: String = credentials.client_id.as_str().chars().take(LOGGED_ID_CHARS).collect();
            self.audit_noisy("anonymous", "client.authentication_failed", json!({ "client_id": shown }));
            ProtocolError::invalid_client("client authentication failed")
        };
        let client = self.client(&credentials.client_id);
        match (client, &credentials.secret, &credentials.assertion) {
            (Some(c), Some(secret), None) if c.token_endpoint_auth_method != PRIVATE_KEY_JWT && c.secret_hash.as_ref().is_some_and(|h| secret.matches(h)) => {
                self.first_use(c)
            }
            (Some(c), None, Some(assertion)) if c.token_endpoint_auth_method == PRIVATE_KEY_JWT => match self.check_client_assertion(&c, assertion.expose()) {
                Ok(()) => self.first_use(c),
                Err(AssertionRefused::Busy) => Err(ProtocolError::temporarily_unavailable("too many client assertions in flight; try again shortly", 60)),
                Err(AssertionRefused::Invalid) => Err(fail()),
            },
            _ => Err(fail()),
        }
    }

    /// RFC 7523 §3: signed by one of the client's keys, `iss` and `sub` its
    /// id, `aud` this token endpoint (or the issuer), `exp` soon, `jti`
    /// never seen before.
    fn check_client_assertion(&self, client: &Client, assertion: &str) -> Result<(), AssertionRefused> {
        use jsonwebtoken::{Algorithm, DecodingKey, Validation};
        let header = jsonwebtoken::decode_header(assertion).map_err(|_| AssertionRefused::Invalid)?;
        if !matches!(header.alg, Algorithm::EdDSA | Algorithm::ES256) {
            return Err(AssertionRefused::Invalid);
        }
        let keys: jsonwebtoken::jwk::JwkSet = client.jwks.clone().and_then(|j| serde_json::from_value(j).ok()).ok_or(AssertionRefused::Invalid)?;
        let candidates: Vec<&jsonwebtoken::jwk::Jwk> = match header.kid.as_deref() {
            Some(kid) => keys.find(kid).into_iter().collect(),
            None => keys.keys.iter().collect(),
        };
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = candidates
            .into_iter()
            .filter_map(|jwk| DecodingKey::from_jwk(jwk).ok())
            .find_map(|key| jsonwebtoken::decode::<serde_json::Value>(assertion, &key, &validation).ok())
            .ok_or(AssertionRefused::Invalid)?
            .claims;
        let id = client.client_id.as_str();
        let token_endpoint = self.config().endpoint("/token");
        let issuer = self.config().issuer.as_str();
        let for_us = |a: &serde_json::Value| a.as_str().is_some_and(|a| a == token_endpoint || a.trim_end_matches('/') == issuer);
        let audience_ok = match &claims["aud"] {
            serde_json::Value::Array(list) => list.iter().any(for_us),
            single => for_us(single),
        };
        let now = self.now();
        let exp = claims["exp"].as_i64().ok_or(AssertionRefused::Invalid)?;
        let jti = claims["jti"].as_str().filter(|j| !j.is_empty() && j.len() <= 200).ok_or(AssertionRefused::Invalid)?;
        if claims["iss"] != id || claims["sub"] != id || !audience_ok || exp <= now || exp > now + MAX_ASSERTION_LIFETIME {
            return Err(AssertionRefused::Invalid);
        }
        let mut seen = self.inner.client_assertions.lock();
        let mine = seen.entry(id.to_string()).or_default();
        if mine.len() >= MAX_LIVE_ASSERTIONS {
            mine.retain(|_, until| *until > now);
            if mine.len() >= MAX_LIVE_ASSERTIONS {
                return Err(AssertionRefused::Busy);
            }
        }
        if mine.insert(jti.to_string(), exp).is_some() {
            return Err(AssertionRefused::Invalid);
        }
        Ok(())
    }

    /// The first time a client proves who it is, it is kept for good and
    /// enters the audit log.
    pub(crate) fn first_use(&self, mut client: Client) -> ProtocolResult<Client> {
        if client.authenticated_at.is_none() {
            client.authenticated_at = Some(self.now());
            self.save_client(&client)?;
            self.audit(
                &format!("client:{}", client.client_id),
                "client.registered",
                json!({ "client_id": client.client_id, "client_name": client.client_name, "registered_at": client.created_at }),
            );
        }
        Ok(client)
    }

    /// Removes clients registered longer than the TTL ago that never
    /// authenticated. Returns how many went.
    pub(crate) fn reap_unused_clients(&self, now: crate::clock::UnixTime) -> Result<usize, crate::store::StoreError> {
        let ttl = self.config().unused_client_ttl;
        let unused: Vec<ClientId> = self
            .cache()
            .read()
            .clients
            .values()
            .filter(|c| c.authenticated_at.is_none() && c.protection != Protection::Approved && c.created_at + ttl <= now)
            .map(|c| c.client_id.clone())
            .collect();
        for id in &unused {
            self.trees().clients.remove(id)?;
            self.cache().write().clients.remove(id);
        }
        Ok(unused.len())
    }
}

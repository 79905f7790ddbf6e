//! This provider as a UMA resource server: connecting to a wallet's
//! authorization server with the owner's assertion (jwt-bearer PAT),
//! registering resources there, asking for permission tickets, and
//! introspecting RPTs (FedAuthz §3–5).

use parking_lot::Mutex;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

#[derive(Debug, thiserror::Error)]
pub enum AsError {
    #[error("the authorization server cannot be reached: {0}")]
    Unreachable(String),
    #[error("the authorization server refused: {error}: {description}")]
    Refused { status: u16, error: String, description: String },
    #[error("the authorization server answered something unexpected: {0}")]
    Garbled(String),
}

/// What this provider keeps about one resource registered at one AS.
#[derive(Clone, Serialize)]
pub struct Registration {
    pub issuer: String,
    /// The `_id` the authorization server assigned.
    pub as_resource_id: String,
    /// Who this provider is at that authorization server: the subject of
    /// the assertion it connected with, and the audience of the RPTs it
    /// issues for this pension.
    pub resource_server_id: String,
    /// The keys of the wallet holding the pension: the signer of its find
    /// token when it asked for itself, else the keys it publishes. Its
    /// identity whatever its address, so the same wallet at a new address
    /// is known as the holder.
    #[serde(skip)]
    pub holder_keys: Vec<Value>,
    #[serde(skip)]
    pub pat: String,
    #[serde(skip)]
    pub endpoints: Endpoints,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("issuer", &self.issuer)
            .field("as_resource_id", &self.as_resource_id)
            .field("resource_server_id", &self.resource_server_id)
            .field("pat", &"[redacted]")
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, Default)]
pub struct Endpoints {
    pub token: String,
    pub resource_registration: String,
    pub permission: String,
    pub introspection: String,
}

pub struct AsClient {
    http: reqwest::Client,
    /// Authorization servers that did not answer, until when they are not
    /// asked again: a sleeping laptop costs a reader one wait, not one per read.
    unreachable_until: Mutex<HashMap<String, Instant>>,
}

impl Default for AsClient {
    fn default() -> Self {
        AsClient { http: http_guard::outbound::client(Duration::from_secs(10)), unreachable_until: Mutex::default() }
    }
}

/// How long a reader's request (a ticket, an introspection) waits for the
/// authorization server; past it, the RPT is checked here alone.
const READER_WAIT: Duration = Duration::from_secs(3);
/// How long an authorization server that did not answer is left alone.
const UNREACHABLE_FOR: Duration = Duration::from_secs(10);

/// The largest answer read from an authorization server.
const MAX_ANSWER: usize = 256 * 1024;

async fn answer(response: Result<reqwest::Response, reqwest::Error>) -> Result<(u16, Value), AsError> {
    let response = response.map_err(|e| AsError::Unreachable(e.to_string()))?;
    let status = response.status().as_u16();
    let bytes = http_guard::outbound::read_capped(response, MAX_ANSWER).await.map_err(|e| AsError::Unreachable(e.to_string()))?;
    let text = String::from_utf8_lossy(&bytes);
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).map_err(|_| AsError::Garbled(text.chars().take(200).collect()))? };
    if status >= 400 {
        return Err(AsError::Refused {
            status,
            error: body["error"].as_str().unwrap_or("error").into(),
            description: body["error_description"].as_str().unwrap_or("").into(),
        });
    }
    Ok((status, body))
}

impl AsClient {
    /// Reads the AS's UMA metadata (Grant §2, FedAuthz §2). Every endpoint
    /// must be on the issuer's own origin: the metadata is the AS's word,
    /// and this provider will send the owner's assertion and its PAT there.
    pub async fn discover(&self, issuer: &str) -> Result<Endpoints, AsError> {
        let origin = http_guard::outbound::secure_url(issuer).map_err(|e| AsError::Garbled(e.to_string()))?;
        let (_, doc) = answer(self.http.get(format!("{issuer}/.well-known/uma2-configuration")).send().await).await?;
        let field = |name: &str| {
            let url = doc[name].as_str().ok_or_else(|| AsError::Garbled(format!("metadata lacks {name}")))?;
            http_guard::outbound::on_origin(url, &origin).map(String::from).map_err(|e| AsError::Garbled(format!("{name}: {e}")))
        };
        if doc["issuer"].as_str() != Some(issuer) {
            return Err(AsError::Garbled("metadata names another issuer".into()));
        }
        Ok(Endpoints {
            token: field("token_endpoint")?,
            resource_registration: field("resource_registration_endpoint")?,
            permission: field("permission_endpoint")?,
            introspection: field("introspection_endpoint")?,
        })
    }

    /// Exchanges the owner's assertion for a PAT (RFC 7523 §2.1).
    pub async fn pat(&self, endpoints: &Endpoints, assertion: &str) -> Result<String, AsError> {
        let (_, body) = answer(self.http.post(&endpoints.token).form(&[("grant_type", JWT_BEARER), ("assertion", assertion)]).send().await).await?;
        body["access_token"].as_str().map(String::from).ok_or_else(|| AsError::Garbled("no access_token".into()))
    }

    pub async fn register(&self, endpoints: &Endpoints, pat: &str, description: &Value) -> Result<String, AsError> {
        let (_, body) = answer(self.http.post(&endpoints.resource_registration).bearer_auth(pat).json(description).send().await).await?;
        body["_id"].as_str().map(String::from).ok_or_else(|| AsError::Garbled("no _id".into()))
    }

    /// Whether the resource `id` is registered at this AS under this PAT's
    /// resource server (FedAuthz §3.2: read).
    pub async fn holds(&self, endpoints: &Endpoints, pat: &str, id: &str) -> Result<bool, AsError> {
        let url = format!("{}/{id}", endpoints.resource_registration);
        match answer(self.http.get(url).bearer_auth(pat).send().await).await {
            Ok(_) => Ok(true),
            Err(AsError::Refused { status: 404, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn deregister(&self, registration: &Registration) -> Result<(), AsError> {
        let url = format!("{}/{}", registration.endpoints.resource_registration, registration.as_resource_id);
        answer(self.http.delete(url).bearer_auth(&registration.pat).send().await).await.map(drop)
    }

    /// A permission ticket for these scopes on the registered resource.
    pub async fn ticket(&self, registration: &Registration, scopes: &[&str]) -> Result<String, AsError> {
        let body = json!({ "resource_id": registration.as_resource_id, "resource_scopes": scopes });
        let request = self.http.post(&registration.endpoints.permission).bearer_auth(&registration.pat).json(&body);
        let (_, answer) = self.for_a_reader(&registration.issuer, request).await?;
        answer["ticket"].as_str().map(String::from).ok_or_else(|| AsError::Garbled("no ticket".into()))
    }

    /// Sends a request a reader of a pension is waiting on: not at all to
    /// a server that did not answer a moment ago, and waiting
    /// [`READER_WAIT`] at most. A server that does not answer, or whose
    /// proxy says it is not there (502, 503, 504), is left alone for
    /// [`UNREACHABLE_FOR`].
    async fn for_a_reader(&self, issuer: &str, request: reqwest::RequestBuilder) -> Result<(u16, Value), AsError> {
        if self.lately_unreachable(issuer) {
            return Err(AsError::Unreachable("it did not answer a moment ago".into()));
        }
        let answered = match answer(request.timeout(READER_WAIT).send().await).await {
            // What a proxy or tunnel answers for a wallet that is not there;
            // the wallet's own failure (500) is no reason to trust a token more.
            Err(AsError::Refused { status: 502..=504, error, .. }) => Err(AsError::Unreachable(format!("its proxy answered {error}"))),
            other => other,
        };
        if let Err(AsError::Unreachable(_)) = &answered {
            self.unreachable_until.lock().insert(issuer.to_string(), Instant::now() + UNREACHABLE_FOR);
        }
        answered
    }

    /// Whether `issuer` failed to answer lately ([`UNREACHABLE_FOR`]).
    fn lately_unreachable(&self, issuer: &str) -> bool {
        let mut unreachable = self.unreachable_until.lock();
        match unreachable.get(issuer) {
            Some(until) if Instant::now() < *until => true,
            Some(_) => {
                unreachable.remove(issuer);
                false
            }
            None => false,
        }
    }

    /// The scopes an RPT grants on the registered resource, if it is
    /// active, in the authorization server's own word (introspection).
    pub async fn introspected_scopes(&self, registration: &Registration, rpt: &str) -> Result<Option<Vec<String>>, AsError> {
        let request = self.http.post(&registration.endpoints.introspection).bearer_auth(&registration.pat).form(&[("token", rpt)]);
        let (_, body) = self.for_a_reader(&registration.issuer, request).await?;
        if body["active"] != true {
            return Ok(None);
        }
        let scopes = body["permissions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["resource_id"] == registration.as_resource_id.as_str())
            .flat_map(|p| p["resource_scopes"].as_array().cloned().unwrap_or_default())
            .filter_map(|s| s.as_str().map(String::from))
            .collect();
        Ok(Some(scopes))
    }
}

/// The subject of a jwt-bearer assertion, read without checking it: the
/// authorization server it is for checks it, and the PAT it gives for it
/// belongs to that subject.
pub fn assertion_subject(assertion: &str) -> Option<String> {
    use base64::Engine;
    let payload = assertion.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims["sub"].as_str().filter(|s| !s.is_empty()).map(String::from)
}

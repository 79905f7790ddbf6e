//! The owner's side of finding pensions: identity details kept encrypted,
//! the providers to ask, find (in parallel, with a timeout each), and the
//! offers that discovery turns up.
//!
//! Providers trust this wallet's authorization server; a find token is a JWT
//! signed with the wallet's key, addressed to one provider, valid for five
//! minutes, carrying the PDP find data.

use crate::WalletError;
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::Duration;
use uma_as::keys::new_jti;
use uma_as::store::Tree;
use uma_as::{AuthorizationServer, ProtocolError, Store};

/// How long one provider may take to answer a find or a discovery.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(5);
const FIND_TOKEN_LIFETIME: i64 = 300;
const IDENTITY_KEY: &str = "owner";

/// The owner's identity details for finding pensions (PDP find data).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub given_name: String,
    pub family_name: String,
    /// ISO 8601 date.
    pub date_of_birth: String,
    #[serde(default)]
    pub nino: Option<String>,
    #[serde(default)]
    pub postcode: Option<String>,
    #[serde(default)]
    pub address_lines: Vec<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub mobile: Option<String>,
    /// Which items an identity service verified: any of `name`,
    /// `date_of_birth`, `nino`, `address`, `email`, `mobile`.
    #[serde(default)]
    pub verified: Vec<String>,
}

const ITEMS: [&str; 6] = ["name", "date_of_birth", "nino", "address", "email", "mobile"];

impl Identity {
    fn check(&self) -> Result<(), ProtocolError> {
        if self.given_name.trim().is_empty() || self.family_name.trim().is_empty() {
            return Err(ProtocolError::invalid_request("given_name and family_name are required"));
        }
        let date = self.date_of_birth.as_bytes();
        let is_date = date.len() == 10 && date[4] == b'-' && date[7] == b'-' && date.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !is_date {
            return Err(ProtocolError::invalid_request("date_of_birth must be YYYY-MM-DD"));
        }
        if let Some(item) = self.verified.iter().find(|v| !ITEMS.contains(&v.as_str())) {
            return Err(ProtocolError::invalid_request(format!("unknown verified item {item:?}; use {ITEMS:?}")));
        }
        Ok(())
    }

    /// The find data of a find token.
    pub fn find_data(&self) -> Value {
        let verified = |item: &str| self.verified.iter().any(|v| v == item);
        let one = |value: &Option<String>, item: &str| value.as_ref().map(|v| json!([{ "value": v, "verified": verified(item) }])).unwrap_or(json!([]));
        json!({
            "names": [{ "value": { "given_name": self.given_name, "family_name": self.family_name }, "verified": verified("name") }],
            "date_of_birth": { "value": self.date_of_birth, "verified": verified("date_of_birth") },
            "nino": self.nino.as_ref().map(|n| json!({ "value": n, "verified": verified("nino") })),
            "addresses": self.postcode.as_ref().map(|p| json!([{ "value": { "lines": self.address_lines, "postcode": p }, "verified": verified("address") }])).unwrap_or(json!([])),
            "emails": one(&self.email, "email"),
            "mobiles": one(&self.mobile, "mobile"),
        })
    }
}

/// A pension provider the wallet asks.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ProviderEntry {
    pub url: String,
    #[serde(default)]
    pub name: Option<String>,
    pub added_at: i64,
}

/// What one provider answered.
#[derive(Clone, Debug, Serialize)]
pub struct ProviderOutcome {
    pub url: String,
    pub name: Option<String>,
    /// `matched`, `possible`, `none`, `unreachable`, or `error`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn provider_failed(url: &str, why: &str) -> ProtocolError {
    ProtocolError::new(axum::http::StatusCode::BAD_GATEWAY, "provider_error", format!("{url}: {why}"))
}

#[derive(Clone)]
pub struct Pensions {
    server: AuthorizationServer,
    identity: Tree<Identity>,
    providers: Tree<ProviderEntry>,
    http: reqwest::Client,
}

impl Pensions {
    pub fn open(store: &Store, server: AuthorizationServer) -> Result<Pensions, WalletError> {
        let http = reqwest::Client::builder()
            .timeout(PROVIDER_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client builds");
        Ok(Pensions { server, identity: store.tree("identity")?, providers: store.tree("providers")?, http })
    }

    pub fn identity(&self) -> Result<Option<Identity>, ProtocolError> {
        Ok(self.identity.get(IDENTITY_KEY)?)
    }

    pub async fn set_identity(&self, identity: Identity) -> Result<(), ProtocolError> {
        identity.check()?;
        self.identity.insert(IDENTITY_KEY, &identity)?;
        self.server.flush().await?;
        Ok(())
    }

    pub fn providers(&self) -> Result<Vec<ProviderEntry>, ProtocolError> {
        let mut list = self.providers.values()?;
        list.sort_by(|a, b| a.added_at.cmp(&b.added_at).then(a.url.cmp(&b.url)));
        Ok(list)
    }

    pub async fn add_provider(&self, url: &str, name: Option<String>) -> Result<ProviderEntry, ProtocolError> {
        let url = url.trim_end_matches('/');
        let parsed = reqwest::Url::parse(url).map_err(|_| ProtocolError::invalid_request(format!("{url:?} is not an absolute URL")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ProtocolError::invalid_request("a provider URL is http or https"));
        }
        let entry = ProviderEntry { url: url.into(), name, added_at: self.server.now() };
        self.providers.insert(url, &entry)?;
        self.server.flush().await?;
        Ok(entry)
    }

    pub async fn remove_provider(&self, url: &str) -> Result<(), ProtocolError> {
        if !self.providers.remove(url.trim_end_matches('/'))? {
            return Err(ProtocolError::not_found("no such provider"));
        }
        self.server.flush().await?;
        Ok(())
    }

    /// A find token for one provider.
    pub fn find_token(&self, identity: &Identity, provider_url: &str) -> String {
        let now = self.server.now();
        self.server.signing_key().sign(&json!({
            "iss": self.server.config().issuer,
            "aud": provider_url,
            "iat": now,
            "exp": now + FIND_TOKEN_LIFETIME,
            "jti": new_jti(),
            "find_data": identity.find_data(),
        }))
    }

    fn require_identity(&self) -> Result<Identity, ProtocolError> {
        self.identity()?.ok_or_else(|| ProtocolError::invalid_request("set your identity details first (uma-wallet identity set)"))
    }

    /// Asks every provider at once, each with its own timeout.
    async fn ask_all(&self, method: reqwest::Method, path: &str) -> Result<Vec<(ProviderEntry, Result<Value, (&'static str, String)>)>, ProtocolError> {
        let identity = self.require_identity()?;
        let providers = self.providers()?;
        let calls = providers.into_iter().map(|p| {
            let token = self.find_token(&identity, &p.url);
            let request = self.http.request(method.clone(), format!("{}{}", p.url, path)).bearer_auth(token);
            async move {
                let answer = match request.send().await {
                    Err(e) => Err(("unreachable", e.to_string())),
                    Ok(r) if !r.status().is_success() => {
                        let status = r.status();
                        let body: Value = r.json().await.unwrap_or(Value::Null);
                        Err(("error", format!("HTTP {status}: {}", body["error_description"].as_str().or(body["error"].as_str()).unwrap_or("no detail"))))
                    }
                    Ok(r) => r.json::<Value>().await.map_err(|e| ("error", format!("unreadable answer: {e}"))),
                };
                (p, answer)
            }
        });
        Ok(join_all(calls).await)
    }

    /// Find: every provider, in parallel; matched, possible, none or unreachable each.
    pub async fn find(&self) -> Result<Vec<ProviderOutcome>, ProtocolError> {
        let answers = self.ask_all(reqwest::Method::POST, "/find").await?;
        Ok(answers
            .into_iter()
            .map(|(p, answer)| match answer {
                Err((outcome, error)) => ProviderOutcome { url: p.url, name: p.name, outcome, items: vec![], error: Some(error) },
                Ok(body) => match body["matches"].as_array() {
                    None => ProviderOutcome { url: p.url, name: p.name, outcome: "error", items: vec![], error: Some("the answer has no matches list".into()) },
                    Some(matches) => {
                        let status = |s: &str| matches.iter().any(|m| m["match_status"] == s);
                        let outcome = if status("match-yes") { "matched" } else if status("match-possible") { "possible" } else { "none" };
                        let name = p.name.or_else(|| body["provider"].as_str().map(String::from));
                        ProviderOutcome { url: p.url, name, outcome, items: matches.clone(), error: None }
                    }
                },
            })
            .collect())
    }

    /// Accept an offer: the provider registers the pension at this wallet's
    /// authorization server, consenting with an assertion minted for it.
    /// (Credential issuance over OpenID4VCI joins this step next.)
    pub async fn accept(&self, provider_url: &str, resource_id: &str) -> Result<Value, ProtocolError> {
        let provider_url = provider_url.trim_end_matches('/');
        if self.providers.get(provider_url)?.is_none() {
            return Err(ProtocolError::invalid_request(format!("{provider_url} is not one of your providers")));
        }
        let identity = self.require_identity()?;
        let assertion = self.server.mint_assertion(provider_url, 300)?;
        let request = self
            .http
            .post(format!("{provider_url}/resources/{resource_id}"))
            .bearer_auth(self.find_token(&identity, provider_url))
            .json(&json!({ "at_as": self.server.config().issuer, "assertion": assertion }));
        let response = request.send().await.map_err(|e| provider_failed(provider_url, &e.to_string()))?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| provider_failed(provider_url, &format!("unreadable answer: {e}")))?;
        if !status.is_success() {
            let detail = body["error_description"].as_str().or(body["error"].as_str()).unwrap_or("no detail");
            return Err(provider_failed(provider_url, &format!("HTTP {status}: {detail}")));
        }
        if body["authorization_server"].as_str() != Some(self.server.config().issuer.as_str()) {
            return Err(provider_failed(provider_url, "it registered the pension somewhere else"));
        }
        Ok(body)
    }

    /// Discover: each provider's resources for the owner; the ones not
    /// protected by this wallet are offers.
    pub async fn offers(&self) -> Result<Value, ProtocolError> {
        let issuer = self.server.config().issuer.clone();
        let answers = self.ask_all(reqwest::Method::GET, "/resources").await?;
        let mut offers = Vec::new();
        let mut providers = Vec::new();
        for (p, answer) in answers {
            match answer.map(|body| body.as_array().cloned().ok_or(("error", "the answer is not a list".to_string()))) {
                Ok(Ok(resources)) => {
                    for r in &resources {
                        if r["authorization_server"].as_str() == Some(issuer.as_str()) {
                            continue;
                        }
                        offers.push(json!({
                            "provider": p.url,
                            "provider_name": p.name,
                            "resource_id": r["_id"],
                            "pei": r["name"],
                            "scheme": r["description"],
                            "match_status": r["match_status"],
                            "authorization_server": r["authorization_server"],
                        }));
                    }
                    providers.push(json!({ "url": p.url, "outcome": "ok", "resources": resources.len() }));
                }
                Ok(Err((outcome, error))) | Err((outcome, error)) => providers.push(json!({ "url": p.url, "outcome": outcome, "error": error })),
            }
        }
        Ok(json!({ "offers": offers, "providers": providers }))
    }
}

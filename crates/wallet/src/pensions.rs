//! The owner's side of finding pensions: identity details kept encrypted,
//! the providers to ask, find (in parallel, with a timeout each), and the
//! offers that discovery turns up.
//!
//! Providers trust this wallet's authorization server; a find token is a JWT
//! signed with the wallet's key, addressed to one provider, valid for five
//! minutes, carrying the PDP find data.

use crate::credentials::Credentials;
use crate::WalletError;
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::Duration;
use uma_as::keys::new_jti;
use uma_as::store::Tree;
use uma_as::owner::NewPolicy;
use uma_as::policy::{Outcome, PartyCondition, Target};
use uma_as::{AuthorizationServer, ProtocolError, Store};

/// How long one provider may take to answer a find or a discovery.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(5);
const FIND_TOKEN_LIFETIME: i64 = 300;
const IDENTITY_KEY: &str = "owner";
const SELF_CLIENT_KEY: &str = "self";

/// The wallet's own client registration at its own authorization server:
/// the owner reads their pensions through UMA like any other client.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct SelfClient {
    client_id: String,
    client_secret: String,
}

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
    self_client: Tree<SelfClient>,
    credentials: Credentials,
    http: reqwest::Client,
}

impl Pensions {
    pub fn open(store: &Store, server: AuthorizationServer) -> Result<Pensions, WalletError> {
        let http = reqwest::Client::builder()
            .timeout(PROVIDER_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client builds");
        let credentials = Credentials::open(store, server.clone(), http.clone())?;
        Ok(Pensions {
            server,
            identity: store.tree("identity")?,
            providers: store.tree("providers")?,
            self_client: store.tree("self_client")?,
            credentials,
            http,
        })
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
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

    /// Moves a pension this wallet protects to another authorization server:
    /// the provider registers it there with the assertion that server minted,
    /// deregisters it here, and reissues the credential naming the new server.
    pub async fn move_to(&self, provider_url: &str, resource_id: &str, issuer: &str, assertion: &str) -> Result<Value, ProtocolError> {
        let provider_url = provider_url.trim_end_matches('/');
        if self.providers.get(provider_url)?.is_none() {
            return Err(ProtocolError::invalid_request(format!("{provider_url} is not one of your providers")));
        }
        let identity = self.require_identity()?;
        let body = self.assign(provider_url, resource_id, &identity, issuer, assertion).await?;
        Ok(self.collect_credential(&body).await)
    }

    /// Receives the credential the provider offered after an assignment. A
    /// failure is reported; the registration stands and can be retried.
    async fn collect_credential(&self, assigned: &Value) -> Value {
        let mut answer = json!({ "resource_id": assigned["resource_id"], "pei": assigned["pei"], "authorization_server": assigned["authorization_server"] });
        match self.credentials.receive(&assigned["credential_offer"]).await {
            Ok(credential) => answer["credential"] = json!({ "id": credential.id, "issuer": credential.issuer, "status": credential.status }),
            Err(e) => answer["credential_error"] = e.to_string().into(),
        }
        answer
    }

    /// `POST {provider}/resources/{id}`: the provider registers the pension
    /// at `issuer` with `assertion`, and answers with a credential offer.
    async fn assign(&self, provider_url: &str, resource_id: &str, identity: &Identity, issuer: &str, assertion: &str) -> Result<Value, ProtocolError> {
        let request = self
            .http
            .post(format!("{provider_url}/resources/{resource_id}"))
            .bearer_auth(self.find_token(identity, provider_url))
            .json(&json!({ "at_as": issuer, "assertion": assertion }));
        let response = request.send().await.map_err(|e| provider_failed(provider_url, &e.to_string()))?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| provider_failed(provider_url, &format!("unreadable answer: {e}")))?;
        if !status.is_success() {
            let detail = body["error_description"].as_str().or(body["error"].as_str()).unwrap_or("no detail");
            return Err(provider_failed(provider_url, &format!("HTTP {status}: {detail}")));
        }
        if body["authorization_server"].as_str() != Some(issuer.trim_end_matches('/')) {
            return Err(provider_failed(provider_url, "it registered the pension somewhere else"));
        }
        Ok(body)
    }

    /// Adds the providers of a governance registry file:
    /// `{"providers": [{"url": …, "name": …}]}`.
    pub async fn import_registry(&self, registry: &Value) -> Result<Vec<ProviderEntry>, ProtocolError> {
        let list = registry["providers"].as_array().ok_or_else(|| ProtocolError::invalid_request("a registry has a providers array"))?;
        let mut added = Vec::new();
        for p in list {
            let url = p["url"].as_str().ok_or_else(|| ProtocolError::invalid_request("every provider needs a url"))?;
            added.push(self.add_provider(url, p["name"].as_str().map(String::from)).await?);
        }
        Ok(added)
    }

    /// Accept an offer (assign = issue): the provider registers the pension
    /// at this wallet's authorization server, consenting with an assertion
    /// minted for it, and issues a credential over OpenID4VCI. A failed
    /// issuance is reported; the registration stands and can be retried.
    pub async fn accept(&self, provider_url: &str, resource_id: &str) -> Result<Value, ProtocolError> {
        let provider_url = provider_url.trim_end_matches('/');
        if self.providers.get(provider_url)?.is_none() {
            return Err(ProtocolError::invalid_request(format!("{provider_url} is not one of your providers")));
        }
        let identity = self.require_identity()?;
        let assertion = self.server.mint_assertion(provider_url, 300)?;
        let issuer = self.server.config().issuer.clone();
        let body = self.assign(provider_url, resource_id, &identity, &issuer, &assertion).await?;
        Ok(self.collect_credential(&body).await)
    }

    /// The wallet's own client, registered on first use, and a policy on
    /// each provider that permits it: the owner's own requests are never
    /// put to the owner.
    async fn owner_client(&self, providers: &[String]) -> Result<SelfClient, ProtocolError> {
        let client = match self.self_client.get(SELF_CLIENT_KEY)? {
            Some(c) => c,
            None => {
                let metadata = uma_as::client_registration::ClientMetadata {
                    client_name: Some("This wallet (the owner)".into()),
                    ..Default::default()
                };
                let registered = self.server.register_client(metadata)?;
                let client = SelfClient { client_id: registered.client_id, client_secret: registered.client_secret };
                self.self_client.insert(SELF_CLIENT_KEY, &client)?;
                client
            }
        };
        let policies = self.server.policies();
        for provider in providers {
            let target = Target::ResourceServer(provider.clone());
            let exists = policies.iter().any(|p| p.target == target && p.party.client_id.as_deref() == Some(&client.client_id) && p.outcome == Outcome::Permit);
            if !exists {
                self.server
                    .add_policy(NewPolicy {
                        target,
                        scopes: vec![],
                        party: PartyCondition { client_id: Some(client.client_id.clone()), ..Default::default() },
                        valid_from: None,
                        valid_until: None,
                        outcome: Outcome::Permit,
                        description: Some("the owner's own access through this wallet".into()),
                    })
                    .await?;
            }
        }
        Ok(client)
    }

    /// One pension's view data through the normal UMA flow: a tokenless
    /// request, the provider's ticket, an RPT from this wallet's token
    /// endpoint, the request again.
    async fn fetch_view(&self, client: &SelfClient, provider: &str, asset: &str) -> Result<Value, String> {
        let url = format!("{provider}/pensions/{asset}?include=value");
        let first = self.http.get(&url).send().await.map_err(|e| format!("unreachable: {e}"))?;
        if first.status().is_success() {
            return Err("the provider served the pension without authorization".into());
        }
        let challenge = first.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let part = |name: &str| challenge.split(&format!("{name}=\"")).nth(1).and_then(|r| r.split('"').next()).map(String::from);
        let (Some(as_uri), Some(ticket)) = (part("as_uri"), part("ticket")) else {
            return Err(format!("no UMA challenge (HTTP {})", first.status()));
        };
        if as_uri != self.server.config().issuer {
            return Err(format!("protected by another authorization server ({as_uri})"));
        }
        let token: Value = self
            .http
            .post(self.server.config().endpoint("/token"))
            .basic_auth(&client.client_id, Some(&client.client_secret))
            .form(&[("grant_type", uma_as::client_registration::GRANT_UMA_TICKET), ("ticket", ticket.as_str())])
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let rpt = token["access_token"].as_str().ok_or_else(|| format!("no RPT: {}", token["error"]))?;
        let second = self.http.get(&url).bearer_auth(rpt).send().await.map_err(|e| format!("unreachable: {e}"))?;
        if !second.status().is_success() {
            return Err(format!("refused with an RPT (HTTP {})", second.status()));
        }
        second.json::<Value>().await.map_err(|e| format!("unreadable view data: {e}"))
    }

    /// Every pension this wallet protects, read as the owner: values,
    /// estimated retirement income and employment periods, with totals.
    pub async fn my_pensions(&self) -> Result<Value, ProtocolError> {
        let providers: Vec<String> = self.providers()?.into_iter().map(|p| p.url).collect();
        let resources: Vec<_> = self.server.resources().into_iter().filter(|r| providers.contains(&r.resource_server)).collect();
        let mut connected: Vec<String> = resources.iter().map(|r| r.resource_server.clone()).collect();
        connected.sort();
        connected.dedup();
        let client = self.owner_client(&connected).await?;
        let fetches = resources.iter().map(|r| {
            let pei = r.description.name.clone().unwrap_or_default();
            let asset = pei.rsplit(':').next().unwrap_or_default().to_string();
            let client = client.clone();
            async move { (r, pei.clone(), self.fetch_view(&client, &r.resource_server, &asset).await) }
        });
        // The providers' own listings say how well each pension matched the
        // owner's find data; asked at the same time as the views.
        let (fetched_views, listings) = futures_util::future::join(join_all(fetches), self.ask_all(reqwest::Method::GET, "/resources")).await;
        let match_status: std::collections::HashMap<String, Value> = listings
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(_, answer)| answer.ok())
            .filter_map(|listing| listing.as_array().cloned())
            .flatten()
            .filter_map(|r| Some((r["name"].as_str()?.to_string(), r["match_status"].clone())))
            .collect();
        let mut pensions = Vec::new();
        let (mut income, mut pots) = (0u64, 0u64);
        for (resource, pei, fetched) in fetched_views {
            let matched = match_status.get(&pei).cloned().unwrap_or(Value::Null);
            match fetched {
                Ok(view) => {
                    let p = &view["pension"];
                    let components = p["benefitIllustrations"].as_array().into_iter().flatten().flat_map(|i| i["illustrationComponents"].as_array().cloned().unwrap_or_default());
                    let mut eri = 0;
                    for c in components {
                        if c["illustrationType"] == "ERI" {
                            eri += c["payableDetails"]["annualAmount"].as_u64().unwrap_or(0);
                            pots += c["dcPot"].as_u64().unwrap_or(0);
                        }
                    }
                    income += eri;
                    pensions.push(json!({
                        "resource_id": resource.id, "provider": resource.resource_server, "pei": pei, "match_status": matched, "scheme": p["schemeName"],
                        "pension_type": p["pensionType"], "estimated_annual_income": eri,
                        "retirement_date": p["retirementDate"], "employment": p["employmentMembershipPeriods"],
                        "illustrations": p["benefitIllustrations"],
                    }));
                }
                Err(error) => pensions.push(json!({ "resource_id": resource.id, "provider": resource.resource_server, "pei": pei, "match_status": matched, "error": error })),
            }
        }
        Ok(json!({ "pensions": pensions, "totals": { "estimated_annual_income": income, "dc_pots": pots } }))
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

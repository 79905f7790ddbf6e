//! The owner's side of finding pensions: identity details kept encrypted,
//! the providers to ask, find (in parallel, with a timeout each), and the
//! offers that discovery turns up.
//!
//! Providers trust this wallet's authorization server; a find token is a JWT
//! signed with the wallet's key, addressed to one provider, valid for five
//! minutes, carrying the PDP find data.

use crate::credentials::Credentials;
use crate::identity_credential::{HeldIdentity, IdentityCredential, FIND_DISCLOSURES};
use crate::WalletError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::Duration;
use uma_as::keys::new_jti;
use uma_as::model::{Client, Resource};
use uma_as::owner::NewPolicy;
use uma_as::policy::{Outcome, PartyCondition, Target};
use uma_as::store::Tree;
use uma_as::token::{ExpectedTicket, UmaGrantRequest};
use uma_as::{AuthorizationServer, ProtocolError, Store};

/// How long one provider may take to answer a find or a discovery.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(5);
const FIND_TOKEN_LIFETIME: i64 = 300;
const IDENTITY_KEY: &str = "owner";
const SELF_CLIENT_KEY: &str = "self";

/// The wallet's own client at its own authorization server: the owner
/// reads their pensions through UMA like any other client, but in-process,
/// with no secret that could travel anywhere.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct SelfClient {
    client_id: String,
    /// Wallets before this one registered the client with a secret and
    /// used it over HTTP; its presence says the secret must be taken away.
    #[serde(default, rename = "client_secret", skip_serializing)]
    legacy_secret: Option<serde::de::IgnoredAny>,
}

/// How many providers one find asks at once, and how many a wallet keeps:
/// each gets the owner's identity details.
const FIND_FANOUT: usize = 32;
pub const MAX_PROVIDERS: usize = 100;
/// The largest answer read from a provider.
const MAX_PROVIDER_ANSWER: usize = 1024 * 1024;

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

    /// The names of the items these details hold, for the audit log.
    pub fn items(&self) -> Vec<&'static str> {
        let present = [
            ("name", true),
            ("date_of_birth", true),
            ("nino", self.nino.is_some()),
            ("address", self.postcode.is_some()),
            ("email", self.email.is_some()),
            ("mobile", self.mobile.is_some()),
        ];
        present.into_iter().filter(|(_, p)| *p).map(|(item, _)| item).collect()
    }

    /// The find data of a find token: what the owner states, never marked
    /// verified (only an identity credential attests, and providers take
    /// nothing else as verified).
    pub fn find_data(&self) -> Value {
        let verified = |_: &str| false;
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

/// What the wallet can tell a provider about its owner.
pub struct Who {
    /// What the owner states (never taken as verified).
    pub stated: Option<Identity>,
    /// The identity credential, presented with [`FIND_DISCLOSURES`] only.
    pub credential: Option<HeldIdentity>,
}

impl Who {
    /// The audit entry for telling `to` about the owner.
    fn disclosure(&self, to: Vec<&str>, path: &str) -> Value {
        let attested = self.credential.as_ref().map(|held| {
            json!({ "issuer": held.issuer, "claims": FIND_DISCLOSURES.iter().map(|p| p.rsplit('/').next().unwrap_or(p)).collect::<Vec<_>>() })
        });
        json!({ "to": to, "path": path, "items": self.stated.as_ref().map(Identity::items).unwrap_or_default(), "attested": attested })
    }
}

/// A pension provider the wallet asks.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ProviderEntry {
    pub url: String,
    #[serde(default)]
    pub name: Option<String>,
    /// The DID its credentials must be signed with, when a governance
    /// registry names one; otherwise the provider's signed metadata says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub did: Option<String>,
    pub added_at: i64,
    /// Added from the governance registry: it goes when the registry no
    /// longer lists it (one the owner added herself stays).
    #[serde(default)]
    pub from_registry: bool,
}

/// What one provider answered.
#[derive(Clone, Debug, Serialize)]
pub struct ProviderOutcome {
    pub url: String,
    pub name: Option<String>,
    /// `matched`, `possible`, `none`, `unreachable`, `not_accepted` (the
    /// provider does not accept this wallet's authorization server), or
    /// `error`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn provider_failed(url: &str, why: &str) -> ProtocolError {
    ProtocolError::new(axum::http::StatusCode::BAD_GATEWAY, "provider_error", format!("{url}: {why}"))
}

fn checked_provider(url: &str, name: Option<String>, did: Option<String>) -> Result<(String, Option<String>, Option<String>), ProtocolError> {
    let url = provider_url(url)?;
    if name.as_ref().is_some_and(|n| n.len() > 200) || did.as_ref().is_some_and(|d| !d.starts_with("did:key:z") || d.len() > 500) {
        return Err(ProtocolError::invalid_request("a provider's name is at most 200 characters, its DID a did:key"));
    }
    Ok((url, name, did))
}

/// The key a provider is stored under: its parsed URL, or the text as
/// given when it does not parse (then nothing is stored under it).
fn provider_key(url: &str) -> String {
    provider_url(url).unwrap_or_else(|_| url.trim_end_matches('/').to_string())
}

/// A provider's URL as the owner gives it: `https`, or plain http on loopback
/// (the reference providers), with no trailing slash.
pub fn provider_url(url: &str) -> Result<String, ProtocolError> {
    let url = url.trim();
    let parsed = http_guard::outbound::secure_url(url).map_err(|e| ProtocolError::invalid_request(format!("provider: {e}")))?;
    if parsed.query().is_some() || parsed.fragment().is_some() || !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ProtocolError::invalid_request(format!("provider: {url:?} must be a plain address")));
    }
    // Kept as parsed: the name every later comparison and request uses is
    // the URL's own, not whatever spelling the parser forgave.
    Ok(parsed.as_str().trim_end_matches('/').to_string())
}

#[derive(Clone)]
pub struct Pensions {
    server: AuthorizationServer,
    identity: Tree<Identity>,
    providers: Tree<ProviderEntry>,
    self_client: Tree<SelfClient>,
    credentials: Credentials,
    identity_credential: IdentityCredential,
    governance: crate::governance::Governance,
    http: reqwest::Client,
}

impl Pensions {
    pub fn open(store: &Store, server: AuthorizationServer) -> Result<Pensions, WalletError> {
        let http = http_guard::outbound::client(PROVIDER_TIMEOUT);
        let credentials = Credentials::open(store, server.clone(), http.clone())?;
        let identity_credential = IdentityCredential::open(store, server.clone(), http.clone())?;
        let governance = crate::governance::Governance::open(store, server.clone())?;
        let self_client: Tree<SelfClient> = store.tree("self_client")?;
        // Wallets before this one gave their own client a secret and used
        // it over HTTP: take it away before anything can use it again.
        if let Some(stored) = self_client.get(SELF_CLIENT_KEY)? {
            if stored.legacy_secret.is_some() {
                if server.client(&stored.client_id).is_some() {
                    server.forget_client_secret(&stored.client_id).map_err(|e| WalletError::Io("self client".into(), std::io::Error::other(e.to_string())))?;
                }
                self_client.insert(SELF_CLIENT_KEY, &SelfClient { client_id: stored.client_id, legacy_secret: None })?;
            }
        }
        Ok(Pensions {
            server,
            identity: store.tree("identity")?,
            providers: store.tree("providers")?,
            self_client,
            credentials,
            identity_credential,
            governance,
            http,
        })
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The governance registry this wallet trusts.
    pub fn governance(&self) -> &crate::governance::Governance {
        &self.governance
    }

    /// The owner's identity credential: getting one, and what it attests.
    pub fn identity_credential(&self) -> &IdentityCredential {
        &self.identity_credential
    }

    pub fn identity(&self) -> Result<Option<Identity>, ProtocolError> {
        Ok(self.identity.get(IDENTITY_KEY)?)
    }

    pub async fn set_identity(&self, identity: Identity) -> Result<(), ProtocolError> {
        identity.check()?;
        self.identity.insert(IDENTITY_KEY, &identity)?;
        self.server.record("identity.update", json!({ "items": identity.items(), "verified": identity.verified }));
        self.server.flush().await?;
        Ok(())
    }

    pub fn providers(&self) -> Result<Vec<ProviderEntry>, ProtocolError> {
        let mut list = self.providers.values()?;
        list.sort_by(|a, b| a.added_at.cmp(&b.added_at).then(a.url.cmp(&b.url)));
        Ok(list)
    }

    pub async fn add_provider(&self, url: &str, name: Option<String>) -> Result<ProviderEntry, ProtocolError> {
        let entry = self.provider_entry(url, name, None)?;
        self.providers.insert(&entry.url, &entry)?;
        self.server.record("provider.add", json!({ "url": entry.url }));
        self.server.flush().await?;
        Ok(entry)
    }

    fn provider_entry(&self, url: &str, name: Option<String>, did: Option<String>) -> Result<ProviderEntry, ProtocolError> {
        let (url, name, did) = checked_provider(url, name, did)?;
        if self.providers.get(&url)?.is_none() && self.providers.raw().len() >= MAX_PROVIDERS {
            return Err(ProtocolError::invalid_request(format!("at most {MAX_PROVIDERS} providers")));
        }
        Ok(ProviderEntry { url, name, did, added_at: self.server.now(), from_registry: false })
    }

    /// Forgets a provider and disconnects it: it can no longer use this
    /// wallet's authorization server, and assertions minted for it before
    /// are void.
    pub async fn remove_provider(&self, url: &str) -> Result<(), ProtocolError> {
        let canonical = provider_key(url);
        let url = canonical.as_str();
        if !self.providers.remove(url)? {
            return Err(ProtocolError::not_found("no such provider"));
        }
        if self.server.client(url).is_some() {
            self.server.decide_resource_server(url, false).await?;
        }
        self.server.record("provider.remove", json!({ "url": url }));
        self.server.flush().await?;
        Ok(())
    }

    /// A find token for one provider: what the owner states, and, when the
    /// wallet holds an identity credential, a presentation of it for this
    /// provider with a nonce the provider gives out (one more request).
    pub async fn find_token(&self, who: &Who, provider_url: &str) -> Result<String, (&'static str, String)> {
        let presentation = match &who.credential {
            None => None,
            Some(held) => {
                let request = self.http.post(format!("{provider_url}/nonce"));
                let nonce = match http_guard::outbound::send_json::<Value>(request, MAX_PROVIDER_ANSWER).await {
                    Err(http_guard::outbound::FetchError::Unreachable(e)) => return Err(("unreachable", e)),
                    Err(e) => return Err(("error", e.to_string())),
                    Ok((status, body)) => match body["c_nonce"].as_str() {
                        Some(nonce) if status.is_success() => nonce.to_string(),
                        _ => return Err(("error", format!("no nonce from the provider (HTTP {status})"))),
                    },
                };
                Some(self.identity_credential.present(held, provider_url, &nonce).map_err(|e| ("error", e.to_string()))?)
            }
        };
        let now = self.server.now();
        let mut claims = json!({
            "iss": self.server.config().issuer,
            "aud": provider_url,
            "iat": now,
            "exp": now + FIND_TOKEN_LIFETIME,
            "jti": new_jti(),
            "find_data": who.stated.as_ref().map(Identity::find_data).unwrap_or_else(|| json!({})),
        });
        if let Some(presentation) = presentation {
            claims["identity_presentation"] = presentation.into();
        }
        Ok(self.server.signing_key().sign_typed(uma_as::keys::TokenType::FindToken, &claims))
    }

    /// Who the owner says they are, and what their identity credential
    /// attests; at least one of them.
    fn who(&self) -> Result<Who, ProtocolError> {
        let who = Who { stated: self.identity()?, credential: self.identity_credential.held()? };
        if who.stated.is_none() && who.credential.is_none() {
            return Err(ProtocolError::invalid_request(
                "prove who you are first (uma-wallet identity get --issuer URL), or enter your details (uma-wallet identity set)",
            ));
        }
        Ok(who)
    }

    /// Asks every provider, a few at a time, each with its own timeout;
    /// answers come back in the providers' order. What was disclosed to
    /// whom is audited.
    async fn ask_all(&self, method: reqwest::Method, path: &str) -> Result<Vec<(ProviderEntry, Result<Value, (&'static str, String)>)>, ProtocolError> {
        use futures_util::StreamExt;
        let who = self.who()?;
        let providers = self.providers()?;
        self.server.record("identity.disclosed", who.disclosure(providers.iter().map(|p| p.url.as_str()).collect(), path));
        let who = &who;
        let calls = providers.into_iter().enumerate().map(|(index, p)| {
            let method = method.clone();
            async move {
                let token = match self.find_token(who, &p.url).await {
                    Ok(token) => token,
                    Err(failure) => return (index, p, Err(failure)),
                };
                let request = self.http.request(method, format!("{}{}", p.url, path)).bearer_auth(token);
                let answer = match http_guard::outbound::send_json::<Value>(request, MAX_PROVIDER_ANSWER).await {
                    Err(http_guard::outbound::FetchError::Unreachable(e)) => Err(("unreachable", e)),
                    Err(e) => Err(("error", e.to_string())),
                    Ok((status, body)) if !status.is_success() => {
                        Err(("error", format!("HTTP {status}: {}", body["error_description"].as_str().or(body["error"].as_str()).unwrap_or("no detail"))))
                    }
                    Ok((_, body)) => Ok(body),
                };
                (index, p, answer)
            }
        });
        // Unordered, so a slow provider holds up only its own slot; the
        // answers are put back in the providers' order after.
        let mut answers: Vec<_> = futures_util::stream::iter(calls).buffer_unordered(FIND_FANOUT).collect().await;
        answers.sort_by_key(|(index, _, _)| *index);
        Ok(answers.into_iter().map(|(_, p, answer)| (p, answer)).collect())
    }

    /// Find: every provider, in parallel; matched, possible, none or unreachable each.
    pub async fn find(&self) -> Result<Vec<ProviderOutcome>, ProtocolError> {
        use futures_util::StreamExt;
        let answers = self.ask_all(reqwest::Method::POST, "/find").await?;
        let outcomes: Vec<ProviderOutcome> = answers
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
            .collect();
        // A provider that answered with an error may simply not accept this
        // wallet: its list of accepted authorization servers says so.
        let checks = outcomes.into_iter().map(|mut outcome| async move {
            if outcome.outcome == "error" && self.accepts_this_wallet(&outcome.url).await == Some(false) {
                outcome.outcome = "not_accepted";
                outcome.error = Some("This provider does not accept your wallet yet. It (or the governance registry) must list your wallet first.".into());
            }
            outcome
        });
        Ok(futures_util::stream::iter(checks).buffered(FIND_FANOUT).collect().await)
    }

    /// Whether a provider's `GET /authorization_servers` lists this wallet's
    /// authorization server; `None` when it cannot tell.
    async fn accepts_this_wallet(&self, provider_url: &str) -> Option<bool> {
        let request = self.http.get(format!("{provider_url}/authorization_servers"));
        let (status, list) = http_guard::outbound::send_json::<Value>(request, MAX_PROVIDER_ANSWER).await.ok()?;
        let list = list.as_array().filter(|_| status.is_success())?;
        let ours = self.server.config().issuer.trim_end_matches('/');
        Some(list.iter().any(|a| a.as_str().map(|a| a.trim_end_matches('/')) == Some(ours)))
    }

    /// Moves a pension this wallet protects to another authorization server:
    /// the provider registers it there with the assertion that server minted,
    /// deregisters it here, and reissues the credential naming the new server.
    pub async fn move_to(&self, provider_url: &str, resource_id: &str, issuer: &str, assertion: &str) -> Result<Value, ProtocolError> {
        let provider = self.known_provider(provider_url)?;
        let issuer = http_guard::outbound::secure_url(issuer.trim_end_matches('/'))
            .map_err(|e| ProtocolError::invalid_request(format!("to: {e}")))?
            .as_str()
            .trim_end_matches('/')
            .to_string();
        let body = self.assign(&provider.url, resource_id, &issuer, assertion, None).await?;
        Ok(self.collect_credential(&provider, &body, &issuer).await)
    }

    fn known_provider(&self, url: &str) -> Result<ProviderEntry, ProtocolError> {
        let canonical = provider_key(url);
        let url = canonical.as_str();
        self.providers.get(url)?.ok_or_else(|| ProtocolError::invalid_request(format!("{url} is not one of your providers")))
    }

    /// Receives the credential the provider offered after an assignment,
    /// bound to what the assignment said. A failure is reported; the
    /// registration stands and can be retried.
    async fn collect_credential(&self, provider: &ProviderEntry, assigned: &Value, authorization_server: &str) -> Value {
        let mut answer = json!({ "resource_id": assigned["resource_id"], "pei": assigned["pei"], "authorization_server": assigned["authorization_server"] });
        // Assigned here, the provider must really have registered that
        // pension here: its answer alone could name anyone's.
        let pei = assigned["pei"].as_str().unwrap_or_default();
        let registered_here = || self.server.resources().iter().any(|r| r.resource_server == provider.url && r.description.name.as_deref() == Some(pei));
        if authorization_server == self.server.config().issuer && !registered_here() {
            answer["credential_error"] = "the provider registered no such pension at this wallet".into();
            return answer;
        }
        let expected = crate::credentials::Expected {
            provider_url: &provider.url,
            pei: assigned["pei"].as_str().unwrap_or_default(),
            authorization_server,
            pinned_did: provider.did.as_deref(),
        };
        match self.credentials.receive(&assigned["credential_offer"], &expected).await {
            Ok(credential) => answer["credential"] = json!({ "id": credential.id, "issuer": credential.issuer, "status": credential.status }),
            Err(e) => answer["credential_error"] = e.to_string().into(),
        }
        answer
    }

    /// `POST {provider}/resources/{id}`: the provider registers the pension
    /// at `issuer` with `assertion`, and answers with a credential offer.
    /// `confirmation_code` is the code the provider sent the owner to move a
    /// pension another wallet protects.
    async fn assign(&self, provider_url: &str, resource_id: &str, issuer: &str, assertion: &str, confirmation_code: Option<&str>) -> Result<Value, ProtocolError> {
        if resource_id.is_empty() || resource_id.len() > 200 || !resource_id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)) {
            return Err(ProtocolError::invalid_request("resource_id is 1 to 200 letters, digits, '-', '_', '.' or ':'"));
        }
        let who = self.who()?;
        self.server.record("identity.disclosed", who.disclosure(vec![provider_url], "/resources/{id}"));
        let token = self.find_token(&who, provider_url).await.map_err(|(_, why)| provider_failed(provider_url, &why))?;
        let mut body = json!({ "at_as": issuer, "assertion": assertion });
        if let Some(code) = confirmation_code {
            body["confirmation_code"] = code.into();
        }
        let request = self.http.post(format!("{provider_url}/resources/{resource_id}")).bearer_auth(token).json(&body);
        let (status, body) = http_guard::outbound::send_json::<Value>(request, MAX_PROVIDER_ANSWER)
            .await
            .map_err(|e| provider_failed(provider_url, &e.to_string()))?;
        if status == reqwest::StatusCode::CONFLICT && body["error"] == "confirmation_required" {
            return Err(ProtocolError::new(
                axum::http::StatusCode::CONFLICT,
                "confirmation_required",
                "Another wallet protects this pension. The provider has sent you a code by its usual way of writing to you: accept again with that code.",
            ));
        }
        if !status.is_success() {
            let detail = body["error_description"].as_str().or(body["error"].as_str()).unwrap_or("no detail");
            return Err(provider_failed(provider_url, &format!("HTTP {status}: {detail}")));
        }
        if body["authorization_server"].as_str() != Some(issuer.trim_end_matches('/')) {
            return Err(provider_failed(provider_url, "it registered the pension somewhere else"));
        }
        Ok(body)
    }

    /// Imports a signed governance registry (checked whole against the
    /// registry key the owner trusts) and adds the pension providers it
    /// lists, each with the DID its credentials must be signed with.
    /// Returns the providers added or updated.
    pub async fn import_registry(&self, jws: &str) -> Result<Vec<ProviderEntry>, ProtocolError> {
        let key = self.governance.trusted_key()?.ok_or_else(|| ProtocolError::invalid_request("set the registry key first: a registry is checked against it"))?;
        // Checked in full before anything is kept.
        let signed = registry::verify(jws, &key, self.server.now()).map_err(|e| ProtocolError::invalid_request(format!("registry refused: {e}")))?;
        let entries = signed
            .registry
            .with_role(registry::Role::PensionProvider)
            .map(|p| self.provider_entry(&p.id, Some(p.name.clone()), p.did.clone()).map(|e| ProviderEntry { from_registry: true, ..e }))
            .collect::<Result<Vec<_>, _>>()?;
        // Those the registry added before and no longer lists go: a provider
        // struck off gets no more identity details.
        let listed = |url: &str| entries.iter().any(|e| e.url == url);
        let struck_off: Vec<ProviderEntry> = self.providers()?.into_iter().filter(|p| p.from_registry && !listed(&p.url)).collect();
        let known = self.providers.raw().len() - struck_off.len();
        let new = entries.iter().filter(|e| self.providers.get(&e.url).ok().flatten().is_none()).count();
        if known + new > MAX_PROVIDERS {
            return Err(ProtocolError::invalid_request(format!("at most {MAX_PROVIDERS} providers")));
        }
        self.governance.import(jws).await?;
        // The regulators it lists vouch for professionals (advisers): their
        // presentations count as verified, with the keys the registry gives.
        let mut regulators = Vec::new();
        for regulator in signed.registry.with_role(registry::Role::Regulator) {
            if let Some(jwks) = &regulator.jwks {
                self.server.trust_credential_issuer(&regulator.id, jwks.clone()).await?;
                regulators.push(regulator.id.trim_end_matches('/').to_string());
            }
        }
        // Those it no longer lists vouch for no one any more.
        self.server.keep_credential_issuers(&regulators).await?;
        for gone in &struck_off {
            self.providers.remove(&gone.url)?;
        }
        for entry in &entries {
            self.providers.insert(&entry.url, entry)?;
        }
        self.server.record(
            "provider.import",
            json!({ "urls": entries.iter().map(|e| &e.url).collect::<Vec<_>>(), "removed": struck_off.iter().map(|e| &e.url).collect::<Vec<_>>() }),
        );
        self.server.flush().await?;
        Ok(entries)
    }

    /// Accept an offer (assign = issue): the provider registers the pension
    /// at this wallet's authorization server, consenting with an assertion
    /// minted for it, and issues a credential over OpenID4VCI. A failed
    /// issuance is reported; the registration stands and can be retried.
    ///
    /// A pension another wallet protects moves here only with the code the
    /// provider sends the owner: the first try answers that one was sent
    /// (`confirmation_required`), the second carries `confirmation_code`.
    pub async fn accept(&self, provider_url: &str, resource_id: &str, confirmation_code: Option<&str>) -> Result<Value, ProtocolError> {
        let provider = self.known_provider(provider_url)?;
        let assertion = self.server.mint_assertion(&provider.url, 300)?;
        let issuer = self.server.config().issuer.clone();
        let body = self.assign(&provider.url, resource_id, &issuer, &assertion, confirmation_code).await?;
        Ok(self.collect_credential(&provider, &body, &issuer).await)
    }

    /// The wallet's own client, registered on first use, and a permit for
    /// it on each of the owner's pensions (one per pension, never a whole
    /// provider): the owner's own requests are never put to the owner.
    async fn owner_client(&self, resources: &[Resource]) -> Result<Client, ProtocolError> {
        let known = self.self_client.get(SELF_CLIENT_KEY)?.and_then(|stored| self.server.client(&stored.client_id));
        let client = match known {
            Some(client) => client,
            None => {
                let client = self.server.register_internal_client("This wallet (you)")?;
                self.self_client.insert(SELF_CLIENT_KEY, &SelfClient { client_id: client.client_id.clone(), legacy_secret: None })?;
                client
            }
        };
        let mine = |p: &uma_as::policy::Policy| p.party.client_id.as_deref() == Some(client.client_id.as_str()) && p.outcome == Outcome::Permit;
        let policies = self.server.policies();
        for whole_provider in policies.iter().filter(|p| mine(p) && matches!(p.target, Target::ResourceServer(_))) {
            self.server.remove_policy(&whole_provider.id).await?;
        }
        let mut added = false;
        for resource in resources {
            let target = Target::Resource(resource.id.clone());
            if !policies.iter().any(|p| mine(p) && p.target == target) {
                self.server.insert_policy(NewPolicy {
                    target,
                    scopes: vec![],
                    party: PartyCondition { client_id: Some(client.client_id.clone()), ..Default::default() },
                    valid_from: None,
                    valid_until: None,
                    outcome: Outcome::Permit,
                    description: Some("your own access through this wallet".into()),
                    grant_lifetime: None,
                })?;
                added = true;
            }
        }
        if added {
            self.server.flush().await?;
        }
        Ok(client)
    }

    /// One pension's view data through the normal UMA flow: a tokenless
    /// request, the provider's ticket, an RPT from this wallet's own
    /// authorization server (in-process: no credential of the wallet's ever
    /// goes over the network), the request again. The provider chooses the
    /// ticket, so the grant takes it only if it is this provider's ticket
    /// for exactly this pension: a provider cannot have the wallet fetch a
    /// token for another provider's pension and hand it over.
    async fn fetch_view(&self, client: &Client, resource: &Resource, asset: &str) -> Result<Value, String> {
        let provider = &resource.resource_server;
        let url = format!("{provider}/pensions/{asset}?include=value");
        let first = self.http.get(&url).send().await.map_err(|e| format!("unreachable: {e}"))?;
        if first.status().is_success() {
            return Err("the provider served the pension without authorization".into());
        }
        let header = first.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or("");
        let challenge = crate::challenge::UmaChallenge::find(header).ok_or_else(|| format!("no UMA challenge (HTTP {})", first.status()))?;
        if challenge.as_uri.trim_end_matches('/') != self.server.config().issuer {
            return Err(format!("protected by another authorization server ({})", challenge.as_uri));
        }
        let request = UmaGrantRequest {
            ticket: uma_as::secret::Secret::new(challenge.ticket),
            claim_token: None,
            claim_token_format: None,
            pct: None,
            rpt: None,
            scope: vec![],
        };
        let expected = ExpectedTicket { resource_server: provider, resource_id: &resource.id };
        let rpt = self.server.uma_grant_expecting(client, request, Some(expected)).await.map_err(|e| format!("no access: {e}"))?;
        let second = self.http.get(&url).bearer_auth(&rpt.access_token).send().await.map_err(|e| format!("unreachable: {e}"))?;
        if !second.status().is_success() {
            return Err(format!("refused with an RPT (HTTP {})", second.status()));
        }
        http_guard::outbound::json_capped::<Value>(second, MAX_PROVIDER_ANSWER).await.map_err(|e| format!("unreadable view data: {e}"))
    }

    /// Every pension this wallet protects, read as the owner: values,
    /// estimated retirement income and employment periods, with totals.
    pub async fn my_pensions(&self) -> Result<Value, ProtocolError> {
        let providers: Vec<String> = self.providers()?.into_iter().map(|p| p.url).collect();
        let resources: Vec<_> = self.server.resources().into_iter().filter(|r| providers.contains(&r.resource_server)).collect();
        let client = self.owner_client(&resources).await?;
        let fetches = resources.into_iter().map(|r| {
            let pei = r.description.name.clone().unwrap_or_default();
            let asset = pei.rsplit(':').next().unwrap_or_default().to_string();
            let client = client.clone();
            async move {
                let view = self.fetch_view(&client, &r, &asset).await;
                (r, pei, view)
            }
        });
        // A few at a time: a provider may have registered many.
        let views = futures_util::StreamExt::collect::<Vec<_>>(futures_util::StreamExt::buffered(futures_util::stream::iter(fetches), FIND_FANOUT));
        // The providers' own listings say how well each pension matched the
        // owner's find data; asked at the same time as the views.
        let (fetched_views, listings) = futures_util::future::join(views, self.ask_all(reqwest::Method::GET, "/resources")).await;
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

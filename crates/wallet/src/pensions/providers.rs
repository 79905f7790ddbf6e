//! The pension providers the wallet asks, and finding pensions at them:
//! every provider in parallel, each with its own timeout, each told only
//! what a find token for it carries.

use super::{Pensions, MAX_REGISTRY, FIND_FANOUT, FIND_TOKEN_LIFETIME, MAX_PROVIDERS, MAX_PROVIDER_ANSWER};
use super::identity::{Identity, Who};
use http_guard::outbound::send_json;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uma_as::keys::new_jti;
use crate::{OwnerError, ProviderError};

/// A pension provider the wallet asks.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema, ts_rs::TS)]
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

/// How one provider answered a find.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum FindOutcome {
    /// At least one pension matched the owner's details for sure.
    Matched,
    /// Pensions that may be the owner's: the provider needs more to be sure.
    Possible,
    None,
    Unreachable,
    /// The provider does not accept this wallet's authorization server.
    NotAccepted,
    Error,
}

/// A pension a provider found for the owner.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct FoundPension {
    /// The pension's identifier (`urn:pei:…`).
    pub pei: String,
    /// The scheme's name.
    #[serde(default)]
    pub description: Option<String>,
    /// `match-yes` or `match-possible`.
    pub match_status: String,
    /// Who she worked for while building it up, and when: given when she
    /// proved who she is, for her to recognise a possible match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub employment: Vec<EmploymentYears>,
}

/// An employer a pension was built up with, and the years.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[ts(optional_fields = nullable)]
pub struct EmploymentYears {
    pub employer: String,
    #[serde(default)]
    pub from: Option<u16>,
    /// Absent while she still works there.
    #[serde(default)]
    pub to: Option<u16>,
}

/// What a provider says of employers, as the owner may be shown it: at
/// most ten, each name one plain line of at most 100 characters.
pub(super) fn recognisable(employment: Vec<EmploymentYears>) -> Vec<EmploymentYears> {
    employment
        .into_iter()
        .filter_map(|e| {
            let employer: String = crate::sharing::one_line(&e.employer)?.chars().take(100).collect();
            Some(EmploymentYears { employer, ..e })
        })
        .take(10)
        .collect()
}

/// What one provider answered.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct ProviderOutcome {
    pub url: String,
    pub name: Option<String>,
    pub outcome: FindOutcome,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<FoundPension>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A provider's `POST /find` answer.
#[derive(Deserialize)]
struct FindAnswer {
    #[serde(default)]
    provider: Option<String>,
    matches: Vec<FoundPension>,
}

impl ProviderError {
    pub(super) fn outcome(&self) -> FindOutcome {
        match self {
            ProviderError::Unreachable(_) => FindOutcome::Unreachable,
            ProviderError::Answered(_) | ProviderError::Ours(_) => FindOutcome::Error,
        }
    }

    pub(super) fn into_message(self) -> String {
        match self {
            ProviderError::Unreachable(why) | ProviderError::Answered(why) | ProviderError::Ours(why) => why,
        }
    }
}

/// An OAuth-style error answer's words, for the owner.
pub(super) fn error_detail(body: &Value) -> &str {
    body["error_description"].as_str().or(body["error"].as_str()).unwrap_or("no detail")
}

fn checked_provider(url: &str, name: Option<String>, did: Option<String>) -> Result<(String, Option<String>, Option<String>), OwnerError> {
    let url = provider_url(url)?;
    if name.as_ref().is_some_and(|n| n.len() > 200) || did.as_ref().is_some_and(|d| !d.starts_with("did:key:z") || d.len() > 500) {
        return Err(OwnerError::invalid("a provider's name is at most 200 characters, its DID a did:key"));
    }
    Ok((url, name, did))
}

/// The key a provider is stored under: its parsed URL, or the text as
/// given when it does not parse (then nothing is stored under it).
pub(super) fn provider_key(url: &str) -> String {
    provider_url(url).unwrap_or_else(|_| url.trim_end_matches('/').to_string())
}

/// A provider's URL as the owner gives it: `https`, or plain http on loopback
/// (the reference providers), with no trailing slash.
pub fn provider_url(url: &str) -> Result<String, OwnerError> {
    let url = url.trim();
    let parsed = http_guard::outbound::secure_url(url).map_err(|e| OwnerError::invalid(format!("provider: {e}")))?;
    if parsed.query().is_some() || parsed.fragment().is_some() || !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(OwnerError::invalid(format!("provider: {url:?} must be a plain address")));
    }
    // Kept as parsed: the name every later comparison and request uses is
    // the URL's own, not whatever spelling the parser forgave.
    Ok(parsed.as_str().trim_end_matches('/').to_string())
}

impl Pensions {
    pub fn providers(&self) -> Result<Vec<ProviderEntry>, OwnerError> {
        let mut list = self.providers.values()?;
        list.sort_by(|a, b| a.added_at.cmp(&b.added_at).then(a.url.cmp(&b.url)));
        Ok(list)
    }

    pub async fn add_provider(&self, url: &str, name: Option<String>) -> Result<ProviderEntry, OwnerError> {
        let entry = self.provider_entry(url, name, None)?;
        self.providers.insert(&entry.url, &entry)?;
        self.server.record("provider.add", json!({ "url": entry.url }));
        self.server.flush().await?;
        Ok(entry)
    }

    pub(super) fn provider_entry(&self, url: &str, name: Option<String>, did: Option<String>) -> Result<ProviderEntry, OwnerError> {
        let (url, name, did) = checked_provider(url, name, did)?;
        if self.providers.get(&url)?.is_none() && self.providers.raw().len() >= MAX_PROVIDERS {
            return Err(OwnerError::invalid(format!("at most {MAX_PROVIDERS} providers")));
        }
        Ok(ProviderEntry { url, name, did, added_at: self.server.now(), from_registry: false })
    }

    /// Forgets a provider and disconnects it: it can no longer use this
    /// wallet's authorization server, and assertions minted for it before
    /// are void.
    pub async fn remove_provider(&self, url: &str) -> Result<(), OwnerError> {
        let canonical = provider_key(url);
        let url = canonical.as_str();
        if !self.providers.remove(url)? {
            return Err(OwnerError::not_found("no such provider"));
        }
        if self.server.client(&url.into()).is_some() {
            self.server.decide_resource_server(&url.into(), false).await?;
        }
        self.server.record("provider.remove", json!({ "url": url }));
        self.server.flush().await?;
        Ok(())
    }

    pub(super) fn known_provider(&self, url: &str) -> Result<ProviderEntry, OwnerError> {
        let canonical = provider_key(url);
        let url = canonical.as_str();
        self.providers.get(url)?.ok_or_else(|| OwnerError::invalid(format!("{url} is not one of your providers")))
    }

    /// Imports a signed governance registry (checked whole against the
    /// registry key the owner trusts) and adds the pension providers it
    /// lists, each with the DID its credentials must be signed with.
    /// Returns the providers added or updated.
    pub async fn import_registry(&self, jws: &str) -> Result<Vec<ProviderEntry>, OwnerError> {
        let key = self.governance.trusted_key()?.ok_or_else(|| OwnerError::invalid("set the registry key first: a registry is checked against it"))?;
        // Checked in full before anything is kept.
        let signed = registry::verify(jws, &key, self.server.now()).map_err(|e| OwnerError::invalid(format!("registry refused: {e}")))?;
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
            return Err(OwnerError::invalid(format!("at most {MAX_PROVIDERS} providers")));
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

    /// Fetches the signed registry from where its publisher serves it
    /// (`https`, or loopback for the reference peers; no redirects; at most
    /// 1 MiB), trusting `key` when the owner has not chosen a key yet, and
    /// imports it as [`Pensions::import_registry`] does. With no `url`, the
    /// address it was last fetched from. The address is kept for next time.
    pub async fn fetch_registry(&self, url: Option<&str>, key: Option<&str>) -> Result<Vec<ProviderEntry>, OwnerError> {
        let url = match url {
            Some(url) => url.trim().to_string(),
            None => self.governance.source()?.ok_or_else(|| OwnerError::invalid("say where the registry is published: no address is kept yet"))?,
        };
        let parsed = http_guard::outbound::secure_url(&url).map_err(|e| OwnerError::invalid(format!("registry address: {e}")))?;
        if parsed.query().is_some() || parsed.fragment().is_some() || !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(OwnerError::invalid("registry address: a plain address, with no query, fragment or credentials"));
        }
        let key = key.map(str::trim);
        if let (Some(key), Some(held)) = (key, self.governance.trusted_key()?) {
            if key != held {
                return Err(OwnerError::invalid("the registry key is already set to another key: change it in Advanced first"));
            }
        }
        let failed = |why: String| OwnerError::provider(parsed.as_str(), ProviderError::Unreachable(why));
        let response = self.http.get(parsed.clone()).send().await.map_err(|e| failed(e.to_string()))?;
        if !response.status().is_success() {
            return Err(OwnerError::provider(parsed.as_str(), ProviderError::Answered(format!("HTTP {}", response.status()))));
        }
        let body = http_guard::outbound::read_capped(response, MAX_REGISTRY).await.map_err(|e| OwnerError::provider(parsed.as_str(), e.into()))?;
        let jws = String::from_utf8(body).map_err(|_| OwnerError::provider(parsed.as_str(), ProviderError::Answered("the registry is not text".into())))?;
        // A key is trusted only once a registry verifies under it, and only
        // if no other key was set meanwhile.
        if let Some(key) = key {
            registry::verify(&jws, key, self.server.now()).map_err(|e| OwnerError::invalid(format!("registry refused: {e}")))?;
            self.governance.trust_key_if_none(key).await?;
        }
        let entries = self.import_registry(&jws).await?;
        self.governance.keep_source(parsed.as_str()).await?;
        Ok(entries)
    }

    /// A find token for one provider: what the owner states, and, when the
    /// wallet holds an identity credential, a presentation of it for this
    /// provider with a nonce the provider gives out (one more request).
    pub async fn find_token(&self, who: &Who, provider_url: &str) -> Result<String, ProviderError> {
        #[derive(Deserialize)]
        struct Nonce {
            c_nonce: String,
        }
        let presentation = match &who.credential {
            None => None,
            Some(held) => {
                let request = self.http.post(format!("{provider_url}/nonce"));
                let (status, body) = send_json::<Value>(request, MAX_PROVIDER_ANSWER).await?;
                let nonce = match serde_json::from_value::<Nonce>(body) {
                    Ok(nonce) if status.is_success() => nonce.c_nonce,
                    _ => return Err(ProviderError::Answered(format!("no nonce from the provider (HTTP {status})"))),
                };
                Some(self.identity_credential.present(held, provider_url, &nonce).map_err(|e| ProviderError::Ours(e.to_string()))?)
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

    /// Asks every provider, a few at a time, each with its own timeout;
    /// answers come back in the providers' order. What was disclosed to
    /// whom is audited.
    pub(super) async fn ask_all<T: DeserializeOwned>(&self, method: reqwest::Method, path: &str) -> Result<Vec<(ProviderEntry, Result<T, ProviderError>)>, OwnerError> {
        self.ask(self.providers()?, method, path).await
    }

    /// Asks `providers` (with the owner's find token for each).
    pub(super) async fn ask<T: DeserializeOwned>(&self, providers: Vec<ProviderEntry>, method: reqwest::Method, path: &str) -> Result<Vec<(ProviderEntry, Result<T, ProviderError>)>, OwnerError> {
        use futures_util::StreamExt;
        let who = self.who()?;
        self.server.record("identity.disclosed", who.disclosure(providers.iter().map(|p| p.url.as_str()).collect(), path));
        let who = &who;
        let calls = providers.into_iter().enumerate().map(|(index, p)| {
            let method = method.clone();
            async move {
                let answer = async {
                    let token = self.find_token(who, &p.url).await?;
                    let request = self.http.request(method, format!("{}{}", p.url, path)).bearer_auth(token);
                    let (status, body) = send_json::<Value>(request, MAX_PROVIDER_ANSWER).await?;
                    if !status.is_success() {
                        return Err(ProviderError::Answered(format!("HTTP {status}: {}", error_detail(&body))));
                    }
                    serde_json::from_value::<T>(body).map_err(|e| ProviderError::Answered(format!("the answer does not read: {e}")))
                };
                let answer = answer.await;
                (index, p, answer)
            }
        });
        // Unordered, so a slow provider holds up only its own slot; the
        // answers are put back in the providers' order after.
        let mut answers: Vec<_> = futures_util::stream::iter(calls).buffer_unordered(FIND_FANOUT).collect().await;
        if let Some((_, _, Err(ProviderError::Ours(why)))) = answers.iter().find(|(_, _, a)| matches!(a, Err(ProviderError::Ours(_)))) {
            tracing::error!(error = %why, "the wallet could not present its identity credential");
            return Err(OwnerError::Internal);
        }
        answers.sort_by_key(|(index, _, _)| *index);
        Ok(answers.into_iter().map(|(_, p, answer)| (p, answer)).collect())
    }

    /// Find: every provider, in parallel; matched, possible, none or unreachable each.
    pub async fn find(&self) -> Result<Vec<ProviderOutcome>, OwnerError> {
        use futures_util::StreamExt;
        let answers = self.ask_all::<FindAnswer>(reqwest::Method::POST, "/find").await?;
        let outcomes = answers.into_iter().map(|(p, answer)| match answer {
            Err(failure) => ProviderOutcome { url: p.url, name: p.name, outcome: failure.outcome(), items: vec![], error: Some(failure.into_message()) },
            Ok(mut found) => {
                for item in &mut found.matches {
                    item.employment = recognisable(std::mem::take(&mut item.employment));
                }
                let status = |s: &str| found.matches.iter().any(|m| m.match_status == s);
                let outcome = if status("match-yes") {
                    FindOutcome::Matched
                } else if status("match-possible") {
                    FindOutcome::Possible
                } else {
                    FindOutcome::None
                };
                ProviderOutcome { url: p.url, name: p.name.or(found.provider), outcome, items: found.matches, error: None }
            }
        });
        // A provider that answered with an error may simply not accept this
        // wallet: its list of accepted authorization servers says so.
        let checks = outcomes.map(|mut outcome| async move {
            if outcome.outcome == FindOutcome::Error && self.accepts_this_wallet(&outcome.url).await == Some(false) {
                outcome.outcome = FindOutcome::NotAccepted;
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
        let (status, list) = send_json::<Vec<Value>>(request, MAX_PROVIDER_ANSWER).await.ok()?;
        let ours = self.server.config().issuer.trim_end_matches('/');
        status.is_success().then(|| list.iter().any(|a| a.as_str().map(|a| a.trim_end_matches('/')) == Some(ours)))
    }
}

//! Offers and issuance: a provider's `GET /resources` list is what it
//! offers; accepting one has the provider register the pension at this
//! wallet's authorization server and issue a credential for it
//! (OpenID4VCI). Moving a pension is the same assignment, to another
//! authorization server.

use super::providers::{error_detail, recognisable, EmploymentYears, ProviderEntry};
use super::{provider_failed, Pensions, MAX_PROVIDER_ANSWER};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use crate::{OwnerError, ProviderError};
use uma_as::id::ResourceId;

/// A pension a provider holds for the owner that this wallet does not
/// protect yet.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct Offer {
    pub provider: String,
    pub provider_name: Option<String>,
    /// The provider's id for the pension.
    pub resource_id: String,
    /// The pension's identifier (`urn:pei:…`).
    pub pei: Option<String>,
    /// The scheme's name.
    pub scheme: Option<String>,
    /// `match-yes` or `match-possible`.
    pub match_status: Option<String>,
    /// The authorization server protecting it now, if any.
    pub authorization_server: Option<String>,
    /// Who she worked for while building it up, and when: given when she
    /// proved who she is, for her to recognise a possible match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub employment: Vec<EmploymentYears>,
}

/// Whether a provider answered a discovery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum DiscoveryOutcome {
    Ok,
    Unreachable,
    Error,
}

/// How one provider answered a discovery.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct ProviderReport {
    pub url: String,
    pub outcome: DiscoveryOutcome,
    /// How many pensions it listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What discovery turned up.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct Offers {
    pub offers: Vec<Offer>,
    pub providers: Vec<ProviderReport>,
}

/// A credential the wallet received for an accepted or moved pension.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct CredentialReceived {
    pub id: String,
    pub issuer: String,
    /// `active`, or `superseded` once a newer one for the same pension arrived.
    pub status: String,
}

/// An accepted (or moved) pension: where the provider registered it, and
/// the credential it issued, or why there is none yet (the registration
/// stands and accepting again retries the credential).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct Accepted {
    pub resource_id: Option<String>,
    pub pei: String,
    pub authorization_server: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<CredentialReceived>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_error: Option<String>,
}

/// One entry of a provider's `GET /resources`.
#[derive(Deserialize)]
pub(super) struct ListedResource {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub match_status: Option<String>,
    #[serde(default)]
    pub authorization_server: Option<String>,
    #[serde(default)]
    pub employment: Vec<EmploymentYears>,
}

/// A provider's answer to `POST /resources/{id}`.
#[derive(Deserialize)]
struct Assignment {
    #[serde(default)]
    resource_id: Option<String>,
    #[serde(default)]
    pei: String,
    #[serde(default)]
    authorization_server: String,
    #[serde(default)]
    credential_offer: Value,
}

impl Pensions {
    /// Discover: each provider's resources for the owner; the ones not
    /// protected by this wallet are offers.
    pub async fn offers(&self) -> Result<Offers, OwnerError> {
        self.offers_from(self.providers()?).await
    }

    /// Discovery at one provider: what a credential offer link names.
    pub async fn offers_at(&self, provider_url: &str) -> Result<Offers, OwnerError> {
        self.offers_from(vec![self.known_provider(provider_url)?]).await
    }

    async fn offers_from(&self, providers: Vec<super::ProviderEntry>) -> Result<Offers, OwnerError> {
        let issuer = self.server.config().issuer.clone();
        let answers = self.ask::<Vec<ListedResource>>(providers, reqwest::Method::GET, "/resources").await?;
        let mut offers = Vec::new();
        let mut providers = Vec::new();
        for (p, answer) in answers {
            match answer {
                Ok(resources) => {
                    providers.push(ProviderReport {
                        url: p.url.clone(),
                        outcome: DiscoveryOutcome::Ok,
                        resources: Some(resources.len() as u32),
                        error: None,
                    });
                    let elsewhere = resources.into_iter().filter(|r| r.authorization_server.as_deref() != Some(issuer.as_str()));
                    offers.extend(elsewhere.map(|r| Offer {
                        provider: p.url.clone(),
                        provider_name: p.name.clone(),
                        resource_id: r.id,
                        pei: r.name,
                        scheme: r.description,
                        match_status: r.match_status,
                        authorization_server: r.authorization_server,
                        employment: recognisable(r.employment),
                    }));
                }
                Err(failure) => {
                    let outcome = match failure {
                        ProviderError::Unreachable(_) => DiscoveryOutcome::Unreachable,
                        ProviderError::Answered(_) | ProviderError::Ours(_) => DiscoveryOutcome::Error,
                    };
                    providers.push(ProviderReport { url: p.url, outcome, resources: None, error: Some(failure.into_message()) })
                }
            }
        }
        Ok(Offers { offers, providers })
    }

    /// Accept an offer (assign = issue): the provider registers the pension
    /// at this wallet's authorization server, consenting with an assertion
    /// minted for it, and issues a credential over OpenID4VCI. A failed
    /// issuance is reported; the registration stands and can be retried.
    ///
    /// A pension another wallet protects moves here only with the code the
    /// provider sends the owner: the first try answers that one was sent
    /// (`confirmation_required`), the second carries `confirmation_code`.
    pub async fn accept(&self, provider_url: &str, resource_id: &str, confirmation_code: Option<&str>) -> Result<Accepted, OwnerError> {
        let provider = self.known_provider(provider_url)?;
        let assertion = self.server.mint_assertion(&provider.url.as_str().into(), 300)?;
        let issuer = self.server.config().issuer.clone();
        let assigned = self.assign(&provider.url, resource_id, &issuer, &assertion, confirmation_code).await?;
        let accepted = self.collect_credential(&provider, assigned, &issuer).await;
        let here = self.protected_here(&provider, resource_id);
        self.record_assignment("pension.accept", &provider, resource_id, here, &accepted).await?;
        Ok(accepted)
    }

    /// This wallet's id for the pension `provider` calls `provider_resource_id`,
    /// if this wallet protects it (its identifier ends with the provider's id).
    fn protected_here(&self, provider: &ProviderEntry, provider_resource_id: &str) -> Option<ResourceId> {
        let ours = |r: &uma_as::model::Resource| r.resource_server == provider.url.as_str() && r.description.name.as_deref().and_then(|pei| pei.rsplit(':').next()) == Some(provider_resource_id);
        self.server.resources().into_iter().find(ours).map(|r| r.id)
    }

    /// The audit entry for a pension accepted here or moved away: which
    /// one, from which provider, to where, and whether its credential came.
    /// What the owner asked for is recorded as asked; what the provider
    /// answered is its word, kept short.
    async fn record_assignment(&self, action: &str, provider: &ProviderEntry, asked: &str, resource_id: Option<ResourceId>, done: &Accepted) -> Result<(), OwnerError> {
        let short = |text: &str| text.chars().filter(|c| !c.is_control()).take(256).collect::<String>();
        self.server.record(
            action,
            json!({
                "provider": provider.url,
                "provider_resource_id": asked,
                "resource_id": resource_id,
                "pei": short(&done.pei),
                "authorization_server": short(&done.authorization_server),
                "credential": done.credential.as_ref().map(|c| &c.id),
                "credential_error": done.credential_error.as_deref().map(short),
            }),
        );
        self.server.flush().await?;
        Ok(())
    }

    /// Moves a pension this wallet protects to another authorization server:
    /// the provider registers it there with the assertion that server minted,
    /// deregisters it here, and reissues the credential naming the new server.
    pub async fn move_to(&self, provider_url: &str, resource_id: &str, issuer: &str, assertion: &str) -> Result<Accepted, OwnerError> {
        let provider = self.known_provider(provider_url)?;
        let issuer = http_guard::outbound::secure_url(issuer.trim_end_matches('/'))
            .map_err(|e| OwnerError::invalid(format!("to: {e}")))?
            .as_str()
            .trim_end_matches('/')
            .to_string();
        let here = self.protected_here(&provider, resource_id);
        let assigned = self.assign(&provider.url, resource_id, &issuer, assertion, None).await?;
        let moved = self.collect_credential(&provider, assigned, &issuer).await;
        self.record_assignment("pension.move", &provider, resource_id, here, &moved).await?;
        Ok(moved)
    }

    /// Asks `provider` to protect its pension `resource_id`, which this
    /// wallet protects under an earlier address, with this wallet at its
    /// address now (see `address.rs`).
    pub(super) async fn readdress(&self, provider: &ProviderEntry, resource_id: &str) -> Result<Accepted, OwnerError> {
        let address = self.server.config().issuer.clone();
        let assertion = self.server.mint_assertion(&provider.url.as_str().into(), 300)?;
        let assigned = self.assign(&provider.url, resource_id, &address, &assertion, None).await?;
        let accepted = self.collect_credential(provider, assigned, &address).await;
        let here = self.protected_here(provider, resource_id);
        self.record_assignment("pension.readdressed", provider, resource_id, here, &accepted).await?;
        Ok(accepted)
    }

    /// Receives the credential the provider offered after an assignment,
    /// bound to what the assignment said. A failure is reported; the
    /// registration stands and can be retried.
    async fn collect_credential(&self, provider: &ProviderEntry, assigned: Assignment, authorization_server: &str) -> Accepted {
        let mut answer = Accepted {
            resource_id: assigned.resource_id,
            pei: assigned.pei,
            authorization_server: assigned.authorization_server,
            credential: None,
            credential_error: None,
        };
        // Assigned here, the provider must really have registered that
        // pension here: its answer alone could name anyone's.
        let registered_here =
            || self.server.resources().iter().any(|r| r.resource_server == provider.url.as_str() && r.description.name.as_deref() == Some(answer.pei.as_str()));
        if authorization_server == self.server.config().issuer && !registered_here() {
            answer.credential_error = Some("the provider registered no such pension at this wallet".into());
            return answer;
        }
        let expected = crate::credentials::Expected {
            provider_url: &provider.url,
            pei: &answer.pei,
            authorization_server,
            pinned_did: provider.did.as_deref(),
        };
        match self.credentials.receive(&assigned.credential_offer, &expected).await {
            Ok(credential) => answer.credential = Some(CredentialReceived { id: credential.id, issuer: credential.issuer, status: credential.status }),
            Err(e) => answer.credential_error = Some(e.to_string()),
        }
        answer
    }

    /// `POST {provider}/resources/{id}`: the provider registers the pension
    /// at `issuer` with `assertion`, and answers with a credential offer.
    /// `confirmation_code` is the code the provider sent the owner to move a
    /// pension another wallet protects.
    async fn assign(&self, provider_url: &str, resource_id: &str, issuer: &str, assertion: &str, confirmation_code: Option<&str>) -> Result<Assignment, OwnerError> {
        if resource_id.is_empty() || resource_id.len() > 200 || !resource_id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)) {
            return Err(OwnerError::invalid("resource_id is 1 to 200 letters, digits, '-', '_', '.' or ':'"));
        }
        let who = self.who()?;
        self.server.record("identity.disclosed", who.disclosure(vec![provider_url], &format!("/resources/{resource_id}")));
        let token = self.find_token(&who, provider_url).await.map_err(|why| OwnerError::provider(provider_url, why))?;
        let mut body = json!({ "at_as": issuer, "assertion": assertion });
        if let Some(code) = confirmation_code {
            body["confirmation_code"] = code.into();
        }
        let request = self.http.post(format!("{provider_url}/resources/{resource_id}")).bearer_auth(token).json(&body);
        let (status, body) = http_guard::outbound::send_json::<Value>(request, MAX_PROVIDER_ANSWER)
            .await
            .map_err(|e| OwnerError::provider(provider_url, ProviderError::from(e)))?;
        if status == reqwest::StatusCode::CONFLICT && body["error"] == "confirmation_required" {
            return Err(OwnerError::ConfirmationRequired);
        }
        if !status.is_success() {
            return Err(provider_failed(provider_url, &format!("HTTP {status}: {}", error_detail(&body))));
        }
        let assigned: Assignment = serde_json::from_value(body).map_err(|e| provider_failed(provider_url, &format!("the answer does not read: {e}")))?;
        if assigned.authorization_server != issuer.trim_end_matches('/') {
            return Err(provider_failed(provider_url, "it registered the pension somewhere else"));
        }
        Ok(assigned)
    }
}

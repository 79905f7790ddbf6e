//! Claims about the requesting party: pushed ID tokens (Grant §3.3.1),
//! persisted claims tokens (§3.3.5), and interactive claims gathering
//! (§3.3.2–3.3.3).
//!
//! An ID token counts only when an issuer the owner trusts signed it, for
//! this client (`aud`), and it has not expired by the server's clock. Keys come
//! from the issuer's JWKS, found through OpenID discovery unless configured,
//! cached for ten minutes and refetched once when a token names an unknown key.

use crate::client_registration::check_redirect_uri;
use crate::clock::UnixTime;
use crate::error::{ProtocolError, ProtocolResult};
use crate::model::{ClaimSet, PctRecord, RequestingParty, SpentTicket, TicketRecord, TicketSlot, TrustedIssuer};
use crate::secret::{random_id, Secret, SecretHash};
use crate::server::AuthorizationServer;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

const JWKS_TTL: UnixTime = 600;
/// Allowance for clocks that disagree a little.
const LEEWAY: UnixTime = 60;

pub struct JwksCache {
    keys: Mutex<HashMap<String, (UnixTime, JwkSet)>>,
    http: reqwest::Client,
}

impl Default for JwksCache {
    fn default() -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            // A trusted issuer's keys are where it says they are; following
            // redirects would let a response steer the server elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client builds");
        JwksCache { keys: Mutex::new(HashMap::new()), http }
    }
}

/// Why a claim token was not accepted; becomes `need_info`'s description.
#[derive(Debug, thiserror::Error)]
pub enum ClaimTokenError {
    #[error("claim token format {0:?} is not supported")]
    UnsupportedFormat(String),
    #[error("the claim token is not a well-formed JWT")]
    Malformed,
    #[error("issuer {0:?} is not trusted by the resource owner")]
    UntrustedIssuer(String),
    #[error("could not fetch the issuer's keys: {0}")]
    KeysUnavailable(String),
    #[error("the claim token's signature does not verify")]
    BadSignature,
    #[error("the claim token has expired")]
    Expired,
    #[error("the claim token was not issued for this client")]
    WrongAudience,
}

#[derive(Deserialize)]
struct IdTokenClaims {
    iss: String,
    sub: String,
    aud: Value,
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<bool>,
    #[serde(default)]
    name: Option<String>,
}

impl JwksCache {
    async fn fetch(&self, issuer: &TrustedIssuer) -> Result<JwkSet, ClaimTokenError> {
        let unavailable = |e: reqwest::Error| ClaimTokenError::KeysUnavailable(e.to_string());
        let jwks_uri = match &issuer.jwks_uri {
            Some(uri) => uri.clone(),
            None => {
                let url = format!("{}/.well-known/openid-configuration", issuer.issuer.trim_end_matches('/'));
                let doc: Value = self.http.get(url).send().await.map_err(unavailable)?.error_for_status().map_err(unavailable)?.json().await.map_err(unavailable)?;
                doc["jwks_uri"].as_str().ok_or_else(|| ClaimTokenError::KeysUnavailable("no jwks_uri in discovery".into()))?.to_string()
            }
        };
        self.http.get(jwks_uri).send().await.map_err(unavailable)?.error_for_status().map_err(unavailable)?.json().await.map_err(unavailable)
    }

    async fn keys(&self, issuer: &TrustedIssuer, now: UnixTime, refresh: bool) -> Result<JwkSet, ClaimTokenError> {
        if !refresh {
            if let Some((at, set)) = self.keys.lock().get(&issuer.issuer) {
                if now - at < JWKS_TTL {
                    return Ok(set.clone());
                }
            }
        }
        let set = self.fetch(issuer).await?;
        self.keys.lock().insert(issuer.issuer.clone(), (now, set.clone()));
        Ok(set)
    }
}

fn unverified_issuer(token: &str) -> Result<String, ClaimTokenError> {
    let payload = token.split('.').nth(1).ok_or(ClaimTokenError::Malformed)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).map_err(|_| ClaimTokenError::Malformed)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| ClaimTokenError::Malformed)?;
    value["iss"].as_str().map(String::from).ok_or(ClaimTokenError::Malformed)
}

/// Self-asserted claims typed in on the gathering page.
#[derive(Debug, Default, Deserialize)]
pub struct StatedClaims {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub purpose: String,
}

/// A claims-gathering visit between the GET that shows the page and the POST
/// that submits it. The ticket it was opened with is already spent.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GatheringSession {
    pub ticket: TicketRecord,
    pub client_id: String,
    pub claims_redirect_uri: String,
    pub state: Option<String>,
    pub csrf: SecretHash,
    pub expires_at: UnixTime,
}

/// A claims-gathering request that cannot go back to the client: the page
/// shows it to the person instead (Grant §3.3.2).
#[derive(Debug)]
pub struct ShowError(pub String);

/// The page to show for a valid gathering request.
#[derive(Debug)]
pub struct GatheringPage {
    pub session: String,
    pub csrf: Secret,
    pub client_name: String,
    pub resources: Vec<String>,
}

const GATHERING_TTL: UnixTime = 900;

impl AuthorizationServer {
    /// Spends a live ticket at the claims endpoint (Grant §5.4), returning
    /// its record; `None` when it is unknown or already used.
    fn spend_ticket(&self, hash: &SecretHash) -> Result<Option<TicketRecord>, crate::store::StoreError> {
        let Some((TicketSlot::Live(record), sealed)) = self.trees().tickets.get_sealed(hash.0)? else { return Ok(None) };
        let spent = TicketSlot::Spent(SpentTicket { rpts: vec![], expires_at: record.expires_at.max(self.now()) });
        Ok(self.trees().tickets.swap(hash.0, &sealed, &spent)?.then_some(record))
    }

    /// Verifies a pushed ID token for `client_id` and returns its claims.
    pub async fn verify_id_token(&self, token: &str, client_id: &str) -> Result<ClaimSet, ClaimTokenError> {
        let iss = unverified_issuer(token)?;
        let issuer = self
            .trees()
            .issuers
            .get(&iss)
            .ok()
            .flatten()
            .ok_or_else(|| ClaimTokenError::UntrustedIssuer(iss.clone()))?;
        let header = jsonwebtoken::decode_header(token).map_err(|_| ClaimTokenError::Malformed)?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256 | Algorithm::EdDSA | Algorithm::PS256 | Algorithm::ES384) {
            return Err(ClaimTokenError::BadSignature);
        }
        let now = self.now();
        let mut keys = self.inner.jwks.keys(&issuer, now, false).await?;
        let find = |set: &JwkSet| match &header.kid {
            Some(kid) => set.find(kid).cloned(),
            None if set.keys.len() == 1 => set.keys.first().cloned(),
            None => None,
        };
        let jwk = match find(&keys) {
            Some(k) => k,
            None => {
                keys = self.inner.jwks.keys(&issuer, now, true).await?;
                find(&keys).ok_or(ClaimTokenError::BadSignature)?
            }
        };
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| ClaimTokenError::BadSignature)?;
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<IdTokenClaims>(token, &key, &validation)
            .map_err(|_| ClaimTokenError::BadSignature)?
            .claims;
        if claims.iss != issuer.issuer {
            return Err(ClaimTokenError::UntrustedIssuer(claims.iss));
        }
        if claims.exp + LEEWAY <= now || claims.iat.is_some_and(|iat| iat > now + LEEWAY) {
            return Err(ClaimTokenError::Expired);
        }
        let audience_ok = match &claims.aud {
            Value::String(a) => a == client_id,
            Value::Array(list) => list.iter().any(|a| a.as_str() == Some(client_id)),
            _ => false,
        };
        if !audience_ok {
            return Err(ClaimTokenError::WrongAudience);
        }
        Ok(ClaimSet {
            issuer: Some(claims.iss),
            subject: Some(claims.sub),
            email: claims.email.filter(|_| claims.email_verified != Some(false)),
            name: claims.name,
            purpose: None,
        })
    }

    /// Stores claims by reference and returns the PCT for them.
    pub(crate) fn issue_pct(&self, client_id: &str, party: &RequestingParty) -> ProtocolResult<Secret> {
        let pct = Secret::generate();
        let now = self.now();
        let record = PctRecord {
            client_id: client_id.into(),
            party: party.clone(),
            issued_at: now,
            expires_at: now + self.config().pct_ttl,
        };
        self.trees().pcts.insert(pct.hash().0, &record)?;
        Ok(pct)
    }

    /// The claims behind a PCT, if it is this client's and still valid.
    pub(crate) fn redeem_pct(&self, pct: &str, client_id: &str) -> ProtocolResult<RequestingParty> {
        match self.trees().pcts.get(SecretHash::of(pct).0)? {
            Some(r) if r.client_id == client_id && r.expires_at > self.now() => Ok(r.party),
            _ => Err(ProtocolError::invalid_grant("unknown, expired or foreign pct")),
        }
    }

    pub fn trusted_issuers(&self) -> ProtocolResult<Vec<TrustedIssuer>> {
        Ok(self.trees().issuers.values()?)
    }

    pub async fn trust_issuer(&self, issuer: &str, jwks_uri: Option<String>) -> ProtocolResult<TrustedIssuer> {
        let issuer = issuer.trim_end_matches('/');
        check_redirect_uri(issuer).map_err(|e| ProtocolError::invalid_request(format!("issuer: {e}")))?;
        if let Some(uri) = &jwks_uri {
            check_redirect_uri(uri).map_err(|e| ProtocolError::invalid_request(format!("jwks_uri: {e}")))?;
        }
        let record = TrustedIssuer { issuer: issuer.into(), jwks_uri, added_at: self.now() };
        self.trees().issuers.insert(issuer, &record)?;
        self.audit("owner", "trusted_issuer.add", json!({ "issuer": issuer }));
        self.flush().await?;
        Ok(record)
    }

    pub async fn distrust_issuer(&self, issuer: &str) -> ProtocolResult<()> {
        if !self.trees().issuers.remove(issuer.trim_end_matches('/'))? {
            return Err(ProtocolError::not_found("no such trusted issuer"));
        }
        self.audit("owner", "trusted_issuer.remove", json!({ "issuer": issuer }));
        self.flush().await?;
        Ok(())
    }

    /// Opens a gathering visit. `Err(ShowError)` is shown to the person;
    /// `Ok(Err(url))` redirects back to the client with an error.
    pub fn start_gathering(
        &self,
        client_id: &str,
        ticket: &str,
        claims_redirect_uri: Option<&str>,
        state: Option<&str>,
    ) -> Result<Result<GatheringPage, String>, ShowError> {
        let client = self.client(client_id).ok_or_else(|| ShowError("unknown client".into()))?;
        let redirect = match claims_redirect_uri {
            Some(uri) if client.claims_redirect_uris.iter().any(|r| r == uri) => uri.to_string(),
            Some(_) => return Err(ShowError("claims_redirect_uri is not registered for this client".into())),
            None if client.claims_redirect_uris.len() == 1 => client.claims_redirect_uris[0].clone(),
            None => return Err(ShowError("claims_redirect_uri is required".into())),
        };
        let back_with_error = |code: &str, description: &str| {
            redirect_with(&redirect, &[("error", code), ("error_description", description)], state)
        };
        let record = match self.spend_ticket(&SecretHash::of(ticket)) {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(Err(back_with_error("invalid_request", "unknown or used ticket"))),
            Err(e) => {
                tracing::error!(error = %e, "store failure in claims gathering");
                return Ok(Err(back_with_error("server_error", "internal error")));
            }
        };
        let now = self.now();
        if record.expires_at <= now {
            return Ok(Err(back_with_error("invalid_request", "the ticket has expired")));
        }
        if record.client_id.as_deref().is_some_and(|c| c != client_id) {
            return Ok(Err(back_with_error("invalid_request", "the ticket belongs to another client")));
        }
        let resources = {
            let cache = self.cache().read();
            record
                .permissions
                .iter()
                .map(|p| {
                    cache
                        .resources
                        .get(&p.resource_id)
                        .and_then(|r| r.description.name.clone())
                        .unwrap_or_else(|| p.resource_id.clone())
                })
                .collect()
        };
        let csrf = Secret::generate();
        let session = random_id();
        let visit = GatheringSession {
            ticket: record,
            client_id: client_id.into(),
            claims_redirect_uri: redirect.clone(),
            state: state.map(String::from),
            csrf: csrf.hash(),
            expires_at: now + GATHERING_TTL,
        };
        if let Err(e) = self.trees().sessions.insert(&session, &visit) {
            tracing::error!(error = %e, "store failure in claims gathering");
            return Ok(Err(back_with_error("server_error", "internal error")));
        }
        Ok(Ok(GatheringPage { session, csrf, client_name: client.display_name().into(), resources }))
    }

    /// Completes a visit: checks the CSRF token (in the form and in the
    /// cookie), keeps the stated claims in a new ticket, and returns the URL
    /// to send the person back to (Grant §3.3.3).
    pub fn finish_gathering(
        &self,
        session: &str,
        form_csrf: &str,
        cookie_csrf: Option<&str>,
        stated: StatedClaims,
    ) -> Result<String, ShowError> {
        let csrf_ok = Secret::new(form_csrf);
        if !cookie_csrf.is_some_and(|c| crate::secret::constant_time_eq(c, form_csrf)) {
            return Err(ShowError("the form's security token is missing or does not match; reload the page".into()));
        }
        let store_error = |e: crate::store::StoreError| {
            tracing::error!(error = %e, "store failure in claims gathering");
            ShowError("internal error".into())
        };
        let visit = self.trees().sessions.get(session).map_err(store_error)?.ok_or_else(|| ShowError("this page has expired; start again from the application".into()))?;
        if !csrf_ok.matches(&visit.csrf) {
            return Err(ShowError("the form's security token does not match; reload the page".into()));
        }
        self.trees().sessions.remove(session).map_err(store_error)?;
        let now = self.now();
        if visit.expires_at <= now {
            return Err(ShowError("this page has expired; start again from the application".into()));
        }
        let clean = |s: String| {
            let s: String = s.trim().chars().take(200).collect();
            (!s.is_empty()).then_some(s)
        };
        let claims = ClaimSet {
            issuer: None,
            subject: None,
            email: clean(stated.email),
            name: clean(stated.name),
            purpose: clean(stated.purpose),
        };
        let mut ticket = visit.ticket;
        ticket.client_id = Some(visit.client_id.clone());
        ticket.party.self_asserted = Some(claims.clone());
        ticket.issued_at = now;
        ticket.expires_at = now + self.config().ticket_ttl;
        let new_ticket = self.store_ticket(&ticket).map_err(store_error)?;
        let stated_fields: Vec<&str> = [("name", &claims.name), ("email", &claims.email), ("purpose", &claims.purpose)]
            .into_iter()
            .filter(|(_, v)| v.is_some())
            .map(|(k, _)| k)
            .collect();
        self.audit(&format!("client:{}", visit.client_id), "claims.gathered", json!({ "verified": false, "stated": stated_fields }));
        Ok(redirect_with(&visit.claims_redirect_uri, &[("ticket", new_ticket.expose())], visit.state.as_deref()))
    }
}

/// Adds parameters to a registered redirect URI, keeping its own query.
fn redirect_with(uri: &str, params: &[(&str, &str)], state: Option<&str>) -> String {
    let mut url = url::Url::parse(uri).expect("registered redirect URIs are absolute");
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in params {
            query.append_pair(k, v);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
    }
    url.to_string()
}

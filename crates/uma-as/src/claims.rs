//! Claims about the requesting party: pushed ID tokens (Grant §3.3.1),
//! persisted claims tokens (§3.3.5), and interactive claims gathering
//! (§3.3.2–3.3.3).
//!
//! An ID token counts only when an issuer the owner trusts signed it, for
//! this client (`aud`), and it has not expired by the server's clock. Keys come
//! from the issuer's JWKS, found through OpenID discovery unless configured,
//! cached for ten minutes and refetched once when a token names an unknown key.

use crate::id::ClientId;
use crate::clock::UnixTime;
use crate::error::{ProtocolError, ProtocolResult};
use crate::model::{ClaimSet, RequestingParty, TicketRecord, TicketSlot, TrustedIssuer};
use crate::secret::{role, Secret, SecretHash};
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
/// An unknown `kid` refetches an issuer's keys at most this often: a token
/// naming a made-up key must not turn the server into a request amplifier.
const JWKS_REFETCH_EVERY: UnixTime = 60;
/// Allowance for clocks that disagree a little.
const LEEWAY: UnixTime = 60;
/// An ID token older than this is not fresh enough to stand for a person
/// asking now.
const ID_TOKEN_MAX_AGE: UnixTime = 3600;
/// Discovery documents and key sets are small.
const MAX_KEYS_DOCUMENT: usize = 256 * 1024;

/// The `claim_token_format` of a pushed SD-JWT VC presentation.
pub const PRESENTATION_FORMAT: &str = "urn:pensions-wallet:claim-token-format:sd-jwt-vc-presentation";

pub struct JwksCache {
    keys: Mutex<HashMap<String, (UnixTime, JwkSet)>>,
    /// Credential issuers' key sets (SD-JWT VC issuer metadata).
    credential_keys: Mutex<HashMap<String, (UnixTime, Value)>>,
    http: reqwest::Client,
}

impl Default for JwksCache {
    fn default() -> Self {
        JwksCache { keys: Mutex::new(HashMap::new()), credential_keys: Mutex::default(), http: http_guard::outbound::client(Duration::from_secs(5)) }
    }
}

impl JwksCache {
    /// A trusted credential issuer's keys, from its SD-JWT VC issuer
    /// metadata (RFC 8615 place), cached for ten minutes: a presentation
    /// naming an unknown key waits for the next fetch rather than causing one.
    async fn credential_keys(&self, issuer: &str, now: UnixTime) -> Result<Value, ClaimTokenError> {
        if let Some((at, keys)) = self.credential_keys.lock().get(issuer) {
            if now - at < JWKS_TTL {
                return Ok(keys.clone());
            }
        }
        let unavailable = |e: String| ClaimTokenError::KeysUnavailable(e);
        let url = http_guard::outbound::well_known(issuer, "jwt-vc-issuer").map_err(|e| unavailable(e.to_string()))?;
        let response = self.http.get(url).send().await.map_err(|e| unavailable(e.to_string()))?;
        let metadata: Value = http_guard::outbound::json_capped(response, MAX_KEYS_DOCUMENT).await.map_err(|e| unavailable(e.to_string()))?;
        if metadata["issuer"].as_str().map(|i| i.trim_end_matches('/')) != Some(issuer) {
            return Err(unavailable("its key metadata names another issuer".into()));
        }
        let keys = metadata["jwks"].clone();
        self.credential_keys.lock().insert(issuer.to_string(), (now, keys.clone()));
        Ok(keys)
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
    #[error("the claim token has expired or is too old")]
    Expired,
    #[error("the claim token was not issued for this client")]
    WrongAudience,
    #[error("the claim token was already used")]
    Replayed,
}

#[derive(Deserialize)]
struct IdTokenClaims {
    iss: String,
    sub: String,
    aud: Value,
    exp: i64,
    iat: i64,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<bool>,
    #[serde(default)]
    name: Option<String>,
}

impl JwksCache {
    async fn fetch(&self, issuer: &TrustedIssuer) -> Result<JwkSet, ClaimTokenError> {
        use http_guard::outbound::{json_capped, on_origin, secure_url};
        let unavailable = |e: String| ClaimTokenError::KeysUnavailable(e);
        let origin = secure_url(&issuer.issuer).map_err(|e| unavailable(e.to_string()))?;
        let jwks_uri = match &issuer.jwks_uri {
            // The owner named it: it may live on another host (as Google's does).
            Some(uri) => secure_url(uri).map_err(|e| unavailable(e.to_string()))?,
            None => {
                let url = format!("{}/.well-known/openid-configuration", issuer.issuer.trim_end_matches('/'));
                let response = self.http.get(url).send().await.map_err(|e| unavailable(e.to_string()))?;
                let response = response.error_for_status().map_err(|e| unavailable(e.to_string()))?;
                let doc: Value = json_capped(response, MAX_KEYS_DOCUMENT).await.map_err(|e| unavailable(e.to_string()))?;
                let uri = doc["jwks_uri"].as_str().ok_or_else(|| unavailable("no jwks_uri in discovery".into()))?;
                // Discovery is the issuer's word: its keys stay on its origin.
                on_origin(uri, &origin).map_err(|e| unavailable(e.to_string()))?
            }
        };
        let response = self.http.get(jwks_uri).send().await.map_err(|e| unavailable(e.to_string()))?;
        let response = response.error_for_status().map_err(|e| unavailable(e.to_string()))?;
        json_capped(response, MAX_KEYS_DOCUMENT).await.map_err(|e| unavailable(e.to_string()))
    }

    async fn keys(&self, issuer: &TrustedIssuer, now: UnixTime, refresh: bool) -> Result<JwkSet, ClaimTokenError> {
        if let Some((at, set)) = self.keys.lock().get(&issuer.issuer) {
            let fresh = now - at < JWKS_TTL;
            if (fresh && !refresh) || now - at < JWKS_REFETCH_EVERY {
                return Ok(set.clone());
            }
        }
        let set = self.fetch(issuer).await?;
        self.keys.lock().insert(issuer.issuer.clone(), (now, set.clone()));
        Ok(set)
    }
}

/// The `iss` of a JWT, read before anything is verified: it says whose
/// keys to verify with.
pub fn unverified_issuer(token: &str) -> Result<String, ClaimTokenError> {
    let payload = token.split('.').nth(1).ok_or(ClaimTokenError::Malformed)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).map_err(|_| ClaimTokenError::Malformed)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| ClaimTokenError::Malformed)?;
    value["iss"].as_str().map(String::from).ok_or(ClaimTokenError::Malformed)
}

/// An ID token already pushed, and the request chain it belongs to.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UsedIdToken {
    pub client_id: ClientId,
    pub chain: String,
    pub expires_at: UnixTime,
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
/// that submits it. Stored under the ticket's digest, so a ticket has at most
/// one visit open (a second GET replaces the first); the ticket is spent
/// only when the form is submitted, so merely opening the page (a link
/// leaked in a log or a `Referer`) cancels nothing.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GatheringSession {
    pub ticket: SecretHash,
    /// The ticket as it was shown: tickets are stored nowhere else.
    pub record: TicketRecord,
    /// The ticket's generation: a visit begun before a crash cannot be
    /// finished after it (see [`crate::hot`]).
    #[serde(default)]
    pub generation: u64,
    pub client_id: ClientId,
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
    pub csrf: Secret<role::Csrf>,
    pub client_name: String,
    pub resources: Vec<String>,
}

const GATHERING_TTL: UnixTime = 900;

impl AuthorizationServer {
    /// Spends a ticket at the claims endpoint (Grant §5.4), the visit's
    /// copy of it; false when it was already used. No RPT comes from it, so
    /// its marker need not outlive it.
    fn spend_ticket(&self, hash: SecretHash, record: &TicketRecord, client_id: &ClientId) -> bool {
        let spent = crate::ticket::spent(record, client_id, vec![], self.now(), 0);
        self.hot().spend(hash, spent).is_ok()
    }

    /// Verifies a pushed ID token for `client_id` and returns its claims.
    ///
    /// The token must be addressed to this client: its client id here, this
    /// authorization server, or one of the client ids the owner listed for
    /// that issuer (a real OpenID Provider names the client's id at the
    /// provider). With several audiences, `azp` must name one of those
    /// (OpenID Connect Core §3.1.3.7). It must be fresh (`iat` within an
    /// hour) and belongs to the request chain it was first pushed in: that
    /// chain may push it again while it polls, but a client cannot replay a
    /// person's token in later requests without them.
    pub async fn verify_id_token(&self, token: &str, client_id: &ClientId, chain: &str) -> Result<ClaimSet, ClaimTokenError> {
        let iss = unverified_issuer(token)?;
        let issuer = self
            .trees()
            .issuers
            .get(&iss)
            .ok()
            .flatten()
            .filter(|i| !i.credential_issuer)
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
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::Json(_) => ClaimTokenError::Malformed,
                _ => ClaimTokenError::BadSignature,
            })?
            .claims;
        if claims.iss != issuer.issuer {
            return Err(ClaimTokenError::UntrustedIssuer(claims.iss));
        }
        if claims.exp + LEEWAY <= now || claims.iat > now + LEEWAY || claims.iat + ID_TOKEN_MAX_AGE <= now {
            return Err(ClaimTokenError::Expired);
        }
        let accepted = |a: &str| *client_id == a || a == self.config().issuer || issuer.client_ids.iter().any(|c| c == a);
        let audiences: Vec<&str> = match &claims.aud {
            Value::String(a) => vec![a.as_str()],
            Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let for_this_client = match (&claims.azp, audiences.len()) {
            (Some(azp), _) => accepted(azp) && audiences.contains(&azp.as_str()),
            (None, 1) => accepted(audiences[0]),
            (None, _) => false,
        };
        if !for_this_client {
            return Err(ClaimTokenError::WrongAudience);
        }
        // Bound to its first chain, remembered until it would have expired anyway.
        let first = UsedIdToken { client_id: client_id.clone(), chain: chain.into(), expires_at: claims.exp + LEEWAY };
        let key = SecretHash::of(token).0;
        let store_failed = |e: crate::store::StoreError| ClaimTokenError::KeysUnavailable(e.to_string());
        if !self.trees().id_tokens.insert_new(key, &first).map_err(store_failed)? {
            let seen = self.trees().id_tokens.get(key).map_err(store_failed)?;
            if seen.is_none_or(|seen| seen.client_id != first.client_id || seen.chain != first.chain) {
                return Err(ClaimTokenError::Replayed);
            }
        }
        Ok(ClaimSet {
            issuer: Some(claims.iss),
            subject: Some(claims.sub),
            // An email counts as verified only where the issuer says so.
            email: claims.email.filter(|_| claims.email_verified == Some(true)),
            name: claims.name,
            ..ClaimSet::default()
        })
    }

    /// Verifies an SD-JWT VC presentation ([`PRESENTATION_FORMAT`]): from an
    /// issuer the owner trusts (its keys as given, else from its
    /// `/.well-known/jwt-vc-issuer`), with a key-binding JWT for this
    /// authorization server whose nonce is `expected_nonce`: the very ticket
    /// being redeemed when pushed, the page's session when pasted on the
    /// claims page, so it stands for this request only. Returns the claims
    /// it proves.
    pub async fn verify_presentation(&self, presentation: &str, expected_nonce: &str) -> Result<ClaimSet, ClaimTokenError> {
        let iss = sd_jwt_vc::unverified_issuer(presentation).ok_or(ClaimTokenError::Malformed)?;
        // Only credential issuers (registry regulators) vouch in presentations.
        let issuer = self.trees().issuers.get(&iss).ok().flatten().filter(|i| i.credential_issuer).ok_or_else(|| ClaimTokenError::UntrustedIssuer(iss.clone()))?;
        let now = self.now();
        let keys = match &issuer.jwks {
            Some(keys) => keys.clone(),
            None => self.inner.jwks.credential_keys(&issuer.issuer, now).await?,
        };
        let presented = sd_jwt_vc::verify_presentation(presentation, &keys, &self.config().issuer, now).map_err(|e| match e {
            sd_jwt_vc::SdJwtError::WrongAudience => ClaimTokenError::WrongAudience,
            sd_jwt_vc::SdJwtError::Expired | sd_jwt_vc::SdJwtError::Stale => ClaimTokenError::Expired,
            sd_jwt_vc::SdJwtError::Malformed(_) => ClaimTokenError::Malformed,
            _ => ClaimTokenError::BadSignature,
        })?;
        if presented.nonce != expected_nonce {
            return Err(ClaimTokenError::Replayed);
        }
        let credential = presented.credential;
        if credential.issuer != issuer.issuer {
            return Err(ClaimTokenError::UntrustedIssuer(credential.issuer));
        }
        let text = |name: &str| credential.claims.get(name).and_then(Value::as_str).map(String::from);
        let name = match (text("given_name"), text("family_name")) {
            (Some(given), Some(family)) => Some(format!("{given} {family}")),
            (given, family) => given.or(family),
        };
        // Only the credential types this wallet knows say anything.
        let credential_type = match credential.vct.as_str() {
            sd_jwt_vc::ADVISER_VCT => "AdviserCredential".to_string(),
            other => return Err(ClaimTokenError::UnsupportedFormat(format!("credential type {other}"))),
        };
        Ok(ClaimSet {
            issuer: Some(credential.issuer),
            // The holder's key: the same person presenting again is the same subject.
            subject: credential.holder_key["x"].as_str().map(|x| format!("jwk:{x}")),
            name,
            credential_type: Some(credential_type),
            organisation: text("firm"),
            authorisation: text("authorisation"),
            valid_until: Some(credential.expires_at),
            ..ClaimSet::default()
        })
    }

    /// Stores claims by reference and returns the PCT for them.
    pub(crate) fn issue_pct(&self, client_id: &ClientId, party: &RequestingParty) -> ProtocolResult<Secret<role::Pct>> {
        let pct = Secret::generate();
        self.hot().put_pct(pct.hash(), crate::pct::issued(client_id, party, self.now(), self.config().pct_ttl));
        Ok(pct)
    }

    /// The claims behind a PCT, if it is this client's and still valid.
    pub(crate) fn redeem_pct(&self, pct: &str, client_id: &ClientId) -> ProtocolResult<RequestingParty> {
        let record = self.hot().pct(&SecretHash::of(pct));
        crate::pct::redeem(record, client_id, self.now()).ok_or_else(|| ProtocolError::invalid_grant("unknown, expired or foreign pct"))
    }

    pub fn trusted_issuers(&self) -> ProtocolResult<Vec<TrustedIssuer>> {
        Ok(self.trees().issuers.values()?)
    }

    /// Trusts an OpenID Provider's ID tokens. Its keys are fetched from it,
    /// so it must be `https` unless it is on loopback.
    pub async fn trust_issuer(&self, issuer: &str, jwks_uri: Option<String>, client_ids: Vec<String>) -> ProtocolResult<TrustedIssuer> {
        use http_guard::outbound::secure_url;
        let issuer = issuer.trim_end_matches('/');
        secure_url(issuer).map_err(|e| ProtocolError::invalid_request(format!("issuer: {e}")))?;
        if let Some(uri) = &jwks_uri {
            secure_url(uri).map_err(|e| ProtocolError::invalid_request(format!("jwks_uri: {e}")))?;
        }
        if client_ids.len() > 20 || client_ids.iter().any(|c| c.is_empty() || c.len() > 500) {
            return Err(ProtocolError::invalid_request("at most 20 client ids, each 1 to 500 characters"));
        }
        let record = TrustedIssuer { issuer: issuer.into(), jwks_uri, client_ids, added_at: self.now(), jwks: None, credential_issuer: false };
        self.trees().issuers.insert(issuer, &record)?;
        self.audit("owner", "trusted_issuer.add", json!({ "issuer": issuer }));
        self.flush().await?;
        Ok(record)
    }

    /// Trusts a credential issuer with the keys given for it (a governance
    /// registry's regulator): presentations it signed count as verified.
    /// An OpenID Provider the owner trusts under the same address is left
    /// as it is: each is trusted for its own kind only.
    pub async fn trust_credential_issuer(&self, issuer: &str, jwks: serde_json::Value) -> ProtocolResult<TrustedIssuer> {
        let issuer = issuer.trim_end_matches('/');
        http_guard::outbound::secure_url(issuer).map_err(|e| ProtocolError::invalid_request(format!("issuer: {e}")))?;
        if let Some(existing) = self.trees().issuers.get(issuer)?.filter(|i| !i.credential_issuer) {
            return Ok(existing);
        }
        let record = TrustedIssuer { issuer: issuer.into(), jwks_uri: None, client_ids: vec![], added_at: self.now(), jwks: Some(jwks), credential_issuer: true };
        self.trees().issuers.insert(issuer, &record)?;
        self.audit("owner", "trusted_issuer.add", json!({ "issuer": issuer, "keys": "given" }));
        self.flush().await?;
        Ok(record)
    }

    /// Stops trusting the credential issuers not in `kept` (those a new
    /// registry edition no longer lists); returns how many went.
    pub async fn keep_credential_issuers(&self, kept: &[String]) -> ProtocolResult<usize> {
        let gone: Vec<TrustedIssuer> = self.trusted_issuers()?.into_iter().filter(|i| i.credential_issuer && !kept.contains(&i.issuer)).collect();
        for issuer in &gone {
            self.trees().issuers.remove(&issuer.issuer)?;
            self.audit("owner", "trusted_issuer.remove", json!({ "issuer": issuer.issuer, "why": "no longer in the registry" }));
        }
        self.flush().await?;
        Ok(gone.len())
    }

    pub async fn distrust_issuer(&self, issuer: &str) -> ProtocolResult<()> {
        if !self.trees().issuers.remove(issuer.trim_end_matches('/'))? {
            return Err(ProtocolError::not_found("no such trusted issuer"));
        }
        self.audit("owner", "trusted_issuer.remove", json!({ "issuer": issuer }));
        self.flush().await?;
        Ok(())
    }

    /// Opens a gathering visit, or says why not: a request that cannot go
    /// on is shown to the person, never redirected with an error, since the
    /// client it would go back to is whoever registered a client with that
    /// address, and the endpoint would be a redirector for anyone
    /// (RFC 9700 §4.11.2).
    pub fn start_gathering(
        &self,
        client_id: &ClientId,
        ticket: &str,
        claims_redirect_uri: Option<&str>,
        state: Option<&str>,
    ) -> Result<GatheringPage, ShowError> {
        let client = self.client(client_id).ok_or_else(|| ShowError("unknown client".into()))?;
        let redirect = match claims_redirect_uri {
            Some(uri) if client.claims_redirect_uris.iter().any(|r| r == uri) => uri.to_string(),
            Some(_) => return Err(ShowError("claims_redirect_uri is not registered for this client".into())),
            None if client.claims_redirect_uris.len() == 1 => client.claims_redirect_uris[0].clone(),
            None => return Err(ShowError("claims_redirect_uri is required".into())),
        };
        let store_error = |e: crate::store::StoreError| {
            tracing::error!(error = %e, "store failure in claims gathering");
            ShowError("internal error".into())
        };
        let shown = Secret::<role::Ticket>::new(ticket);
        let hash = shown.hash();
        let record = match self.ticket_slot(&shown) {
            Ok(Some(TicketSlot::Live(r))) => r,
            _ => return Err(ShowError("this link is no longer valid; start again from the application".into())),
        };
        if record.client_id.as_ref().is_some_and(|c| c != client_id) {
            return Err(ShowError("this link belongs to another application".into()));
        }
        let now = self.now();
        if record.expires_at <= now {
            return Err(ShowError("this link has expired; start again from the application".into()));
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
                        .unwrap_or_else(|| p.resource_id.to_string())
                })
                .collect()
        };
        let csrf = Secret::generate();
        let session = crate::secret::hex(&hash.0);
        let visit = GatheringSession {
            ticket: hash,
            record,
            generation: self.inner.ticket_generation,
            client_id: client_id.clone(),
            claims_redirect_uri: redirect.clone(),
            state: state.map(String::from),
            csrf: csrf.hash(),
            expires_at: now + GATHERING_TTL,
        };
        self.trees().sessions.insert(&session, &visit).map_err(store_error)?;
        Ok(GatheringPage { session, csrf, client_name: client.display_name().into(), resources })
    }

    /// Completes a visit: checks the CSRF token (in the form and in the
    /// cookie), spends the ticket, keeps the stated claims in a new ticket,
    /// and returns the URL to send the person back to (Grant §3.3.3). A
    /// credential presentation pasted on the page (its nonce the page's
    /// session) adds verified claims; one that does not verify sends the
    /// person back to try again, and spends nothing.
    pub async fn finish_gathering(
        &self,
        session: &str,
        form_csrf: &str,
        cookie_csrf: Option<&str>,
        stated: StatedClaims,
        presentation: Option<&str>,
    ) -> Result<String, ShowError> {
        let csrf_ok = Secret::<role::Csrf>::new(form_csrf);
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
        let proven = match presentation.map(str::trim).filter(|p| !p.is_empty()) {
            None => None,
            Some(p) => Some(self.verify_presentation(p, session).await.map_err(|e| ShowError(format!("your proof was not accepted ({e}); go back and try again")))?),
        };
        self.trees().sessions.remove(session).map_err(store_error)?;
        let now = self.now();
        if visit.expires_at <= now {
            return Err(ShowError("this page has expired; start again from the application".into()));
        }
        let void = visit.generation != self.inner.ticket_generation;
        if void || visit.record.expires_at <= now || !self.spend_ticket(visit.ticket, &visit.record, &visit.client_id) {
            return Err(ShowError("this request was already answered or has expired; start again from the application".into()));
        }
        let mut ticket = visit.record;
        let clean = |s: String| {
            let s: String = s.trim().chars().take(200).collect();
            (!s.is_empty()).then_some(s)
        };
        let claims = ClaimSet { email: clean(stated.email), name: clean(stated.name), purpose: clean(stated.purpose), ..ClaimSet::default() };
        ticket.client_id = Some(visit.client_id.clone());
        ticket.party.self_asserted = Some(claims.clone());
        if let Some(proven) = proven {
            ticket.party.verified = Some(proven);
        }
        ticket.issued_at = now;
        ticket.expires_at = now + self.config().ticket_ttl;
        let new_ticket = self.seal_ticket(&ticket);
        let stated_fields: Vec<&str> = [("name", &claims.name), ("email", &claims.email), ("purpose", &claims.purpose)]
            .into_iter()
            .filter(|(_, v)| v.is_some())
            .map(|(k, _)| k)
            .collect();
        let verified = ticket.party.verified.as_ref().and_then(|v| v.credential_type.clone());
        self.audit(&format!("client:{}", visit.client_id), "claims.gathered", json!({ "verified": verified, "stated": stated_fields }));
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

//! The provider as an OpenID4VCI 1.0 credential issuer: assigning a pension
//! to an authorization server ends with a credential offer (pre-authorized
//! code), and the holder collects a `PensionResourceCredential` (`jwt_vc_json`,
//! VCDM 1.1 JWT form) bound to its did:key by a key proof.
//!
//! Pre-authorized codes live 10 minutes and are single-use; access tokens
//! 5 minutes and one credential; nonces 5 minutes and single-use. A key
//! proof must be an `openid4vci-proof+jwt`, EdDSA, `kid` a did:key URL whose
//! key signed it, `aud` this issuer, `iat` within 5 minutes, and `nonce` one
//! this issuer gave out.

use crate::did;
use crate::Provider;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use parking_lot::Mutex;
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const CONFIGURATION: &str = "PensionResourceCredential";
pub const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
pub const PROOF_TYPE: &str = "openid4vci-proof+jwt";
pub const SIGNED_METADATA_TYPE: &str = "openidvci-issuer-metadata+jwt";
const CODE_TTL: Duration = Duration::from_secs(600);
const TOKEN_TTL: Duration = Duration::from_secs(300);
const NONCE_TTL: Duration = Duration::from_secs(300);
const PROOF_WINDOW: i64 = 300;

/// What a credential will say: the pension and where it is protected.
#[derive(Clone, Debug)]
pub struct Subject {
    pub pei: String,
    pub scheme: String,
    pub authorization_server: String,
}

struct Expiring<T> {
    value: T,
    until: Instant,
}

pub struct Issuer {
    key: ring::signature::Ed25519KeyPair,
    did: String,
    codes: Mutex<HashMap<String, Expiring<Subject>>>,
    tokens: Mutex<HashMap<String, Expiring<Subject>>>,
    nonces: Mutex<Nonces>,
}

/// Nonces handed out, in the order they expire. The nonce endpoint is
/// anonymous: at most [`Nonces::MAX`] are live, the oldest going first, and
/// expiry costs nothing per request beyond the ones that expired.
#[derive(Default)]
struct Nonces {
    live: HashMap<String, Instant>,
    order: std::collections::VecDeque<(Instant, String)>,
}

impl Nonces {
    const MAX: usize = 10_000;

    fn issue(&mut self, nonce: String, now: Instant) {
        self.expire(now);
        while self.live.len() >= Self::MAX {
            let Some((_, oldest)) = self.order.pop_front() else { break };
            self.live.remove(&oldest);
        }
        let until = now + NONCE_TTL;
        self.live.insert(nonce.clone(), until);
        self.order.push_back((until, nonce));
    }

    fn expire(&mut self, now: Instant) {
        while self.order.front().is_some_and(|(until, _)| *until <= now) {
            let (_, nonce) = self.order.pop_front().expect("checked");
            self.live.remove(&nonce);
        }
    }

    /// Uses a nonce up: true if it was live.
    fn take(&mut self, nonce: &str, now: Instant) -> bool {
        self.live.remove(nonce).is_some_and(|until| until > now)
    }
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).expect("OS random generator");
    URL_SAFE_NO_PAD.encode(bytes)
}


/// Takes a live entry out of a map: single use, and expired ones are dropped.
fn take<T>(map: &Mutex<HashMap<String, Expiring<T>>>, key: &str) -> Option<T> {
    let mut map = map.lock();
    let now = Instant::now();
    map.retain(|_, e| e.until > now);
    map.remove(key).map(|e| e.value)
}

impl Default for Issuer {
    fn default() -> Self {
        let key = did::generate();
        let did = did::did_of(&key);
        Issuer { key, did, codes: Mutex::default(), tokens: Mutex::default(), nonces: Mutex::default() }
    }
}

impl Issuer {
    pub fn did(&self) -> &str {
        &self.did
    }

    /// Uses up a nonce this provider gave out (`POST /nonce`): true if it
    /// was live. Key proofs and identity presentations both carry one.
    pub fn spend_nonce(&self, nonce: &str) -> bool {
        self.nonces.lock().take(nonce, Instant::now())
    }

    /// A credential offer by value, with a fresh pre-authorized code.
    pub fn offer(&self, issuer_url: &str, subject: Subject) -> Value {
        let code = random_token();
        self.codes.lock().insert(code.clone(), Expiring { value: subject, until: Instant::now() + CODE_TTL });
        json!({
            "credential_issuer": issuer_url,
            "credential_configuration_ids": [CONFIGURATION],
            "grants": { PRE_AUTHORIZED_GRANT: { "pre-authorized_code": code } },
        })
    }

    fn credential(&self, provider: &Provider, subject: &Subject, holder: &str) -> String {
        let now = crate::trust::now();
        let header = json!({ "alg": "EdDSA", "typ": "JWT", "kid": did::verification_method(&self.did) });
        let payload = json!({
            "iss": self.did,
            "sub": holder,
            "nbf": now,
            "iat": now,
            "jti": format!("urn:uuid:{}", uuid_like()),
            "vc": {
                "@context": ["https://www.w3.org/2018/credentials/v1"],
                "type": ["VerifiableCredential", CONFIGURATION],
                "credentialSubject": {
                    "pei": subject.pei,
                    "scheme": subject.scheme,
                    "provider": { "name": provider.catalogue.provider_name, "url": provider.url },
                    "authorizationServer": subject.authorization_server,
                },
            },
        });
        did::sign(&self.key, &header, &payload)
    }
}

fn uuid_like() -> String {
    let mut b = [0u8; 16];
    SystemRandom::new().fill(&mut b).expect("OS random generator");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

pub fn routes() -> Router<Arc<Provider>> {
    Router::new()
        .route("/.well-known/openid-credential-issuer", get(metadata))
        .route("/.well-known/oauth-authorization-server", get(as_metadata))
        .route("/token", post(token))
        .route("/nonce", post(nonce))
        .route("/credential", post(credential))
        .route("/credential-offer", get(standing_offer))
}

/// The offer the provider's pages link to ("add my pensions to my
/// wallet": `openid-credential-offer://?credential_offer_uri=…/credential-offer`).
/// It carries no grant (OpenID4VCI 1.0 §4.1.1: the wallet then picks one
/// from the metadata): a pension's credential is issued once the member's
/// wallet takes the pension under its protection, and names it.
async fn standing_offer(State(p): State<Arc<Provider>>) -> Response {
    no_store(Json(json!({ "credential_issuer": p.url, "credential_configuration_ids": [CONFIGURATION] })).into_response())
}

fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    no_store((status, Json(json!({ "error": code, "error_description": description }))).into_response())
}

/// The issuer metadata; signed (`application/jwt`, OpenID4VCI 1.0 §12.2.2)
/// when the holder asks for it, so the holder learns which DID signs this
/// issuer's credentials from the issuer's own signature.
async fn metadata(State(p): State<Arc<Provider>>, headers: HeaderMap) -> Response {
    let document = metadata_document(&p);
    let wants_jwt = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("application/jwt"));
    if !wants_jwt {
        return Json(document).into_response();
    }
    let header = json!({ "alg": "EdDSA", "typ": SIGNED_METADATA_TYPE, "kid": did::verification_method(&p.issuer.did) });
    let mut claims = document;
    claims["sub"] = p.url.clone().into();
    claims["iss"] = p.issuer.did.clone().into();
    claims["iat"] = crate::trust::now().into();
    let jwt = did::sign(&p.issuer.key, &header, &claims);
    ([(header::CONTENT_TYPE, "application/jwt")], jwt).into_response()
}

fn metadata_document(p: &Provider) -> Value {
    json!({
        "credential_issuer": p.url,
        "credential_endpoint": format!("{}/credential", p.url),
        "nonce_endpoint": format!("{}/nonce", p.url),
        "display": [{ "name": p.catalogue.provider_name, "locale": "en-GB" }],
        "credential_configurations_supported": {
            CONFIGURATION: {
                "format": "jwt_vc_json",
                "credential_definition": { "type": ["VerifiableCredential", CONFIGURATION] },
                "credential_signing_alg_values_supported": ["EdDSA"],
                "cryptographic_binding_methods_supported": ["did:key"],
                "proof_types_supported": { "jwt": { "proof_signing_alg_values_supported": ["EdDSA"] } },
                "credential_metadata": { "display": [{ "name": "Pension", "locale": "en-GB", "description": "A pension and the authorization server that protects it" }] },
            }
        },
    })
}

/// The issuer is its own authorization server for the pre-authorized grant.
async fn as_metadata(State(p): State<Arc<Provider>>) -> Json<Value> {
    Json(json!({
        "issuer": p.url,
        "token_endpoint": format!("{}/token", p.url),
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "pre-authorized_grant_anonymous_access_supported": true,
        "response_types_supported": [],
    }))
}

async fn token(State(p): State<Arc<Provider>>, form: Result<Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>) -> Response {
    let Ok(Form(form)) = form else { return error(StatusCode::BAD_REQUEST, "invalid_request", "a form body is required") };
    if form.get("grant_type").map(String::as_str) != Some(PRE_AUTHORIZED_GRANT) {
        return error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "only the pre-authorized code grant is supported");
    }
    if form.contains_key("tx_code") {
        return error(StatusCode::BAD_REQUEST, "invalid_request", "no transaction code was asked for");
    }
    let Some(code) = form.get("pre-authorized_code") else { return error(StatusCode::BAD_REQUEST, "invalid_request", "pre-authorized_code is required") };
    let Some(subject) = take(&p.issuer.codes, code) else {
        return error(StatusCode::BAD_REQUEST, "invalid_grant", "unknown, used or expired pre-authorized code");
    };
    let access_token = random_token();
    p.issuer.tokens.lock().insert(access_token.clone(), Expiring { value: subject, until: Instant::now() + TOKEN_TTL });
    no_store(Json(json!({ "access_token": access_token, "token_type": "Bearer", "expires_in": TOKEN_TTL.as_secs() })).into_response())
}

async fn nonce(State(p): State<Arc<Provider>>) -> Response {
    let c_nonce = random_token();
    p.issuer.nonces.lock().issue(c_nonce.clone(), Instant::now());
    no_store(Json(json!({ "c_nonce": c_nonce })).into_response())
}

/// Checks a key proof; the holder's DID on success.
fn check_proof(p: &Provider, proof: &str) -> Result<String, Response> {
    let invalid = |why: &str| error(StatusCode::BAD_REQUEST, "invalid_proof", why);
    let (header, claims) = did::peek(proof).ok_or_else(|| invalid("the proof is not a compact JWS"))?;
    if header["typ"] != PROOF_TYPE || header["alg"] != "EdDSA" {
        return Err(invalid("the proof must be an EdDSA openid4vci-proof+jwt"));
    }
    if header.get("jwk").is_some_and(|jwk| jwk.get("d").is_some()) {
        return Err(invalid("the proof header carries a private key"));
    }
    let kid = header["kid"].as_str().ok_or_else(|| invalid("the proof must name its did:key in kid"))?;
    let public = did::public_key(kid).ok_or_else(|| invalid("kid is not an Ed25519 did:key URL"))?;
    if !did::verify(proof, &public) {
        return Err(invalid("the proof's signature does not verify"));
    }
    if claims["aud"] != p.url.as_str() {
        return Err(invalid("the proof is for another issuer"));
    }
    let iat = claims["iat"].as_i64().ok_or_else(|| invalid("iat is required"))?;
    if (crate::trust::now() - iat).abs() > PROOF_WINDOW {
        return Err(invalid("the proof is not fresh"));
    }
    let nonce = claims["nonce"].as_str().ok_or_else(|| invalid("the proof carries no c_nonce"))?;
    let fresh = p.issuer.nonces.lock().take(nonce, Instant::now());
    if !fresh {
        return Err(error(StatusCode::BAD_REQUEST, "invalid_nonce", "unknown, used or expired c_nonce; get a new one"));
    }
    Ok(kid.split('#').next().unwrap_or(kid).to_string())
}

async fn credential(State(p): State<Arc<Provider>>, headers: HeaderMap, body: Result<Json<Value>, axum::extract::rejection::JsonRejection>) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let subject = token.and_then(|t| p.issuer.tokens.lock().get(t).filter(|e| e.until > Instant::now()).map(|e| e.value.clone()));
    let Some(subject) = subject else {
        let mut response = error(StatusCode::UNAUTHORIZED, "invalid_token", "a valid access token from the token endpoint is required");
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(r#"Bearer error="invalid_token""#));
        return response;
    };
    let Ok(Json(body)) = body else { return error(StatusCode::BAD_REQUEST, "invalid_credential_request", "the body must be JSON") };
    if body["credential_configuration_id"] != CONFIGURATION {
        return error(StatusCode::BAD_REQUEST, "unknown_credential_configuration", "this issuer offers PensionResourceCredential");
    }
    let proofs = body["proofs"]["jwt"].as_array();
    let Some([proof]) = proofs.map(Vec::as_slice) else {
        return error(StatusCode::BAD_REQUEST, "invalid_proof", "exactly one jwt key proof is required");
    };
    let Some(proof) = proof.as_str() else { return error(StatusCode::BAD_REQUEST, "invalid_proof", "the proof must be a string") };
    let holder = match check_proof(&p, proof) {
        Ok(holder) => holder,
        Err(response) => return response,
    };
    // One credential per access token.
    if p.issuer.tokens.lock().remove(token.unwrap_or_default()).is_none() {
        return error(StatusCode::UNAUTHORIZED, "invalid_token", "the access token was already used");
    }
    let credential = p.issuer.credential(&p, &subject, &holder);
    no_store(Json(json!({ "credentials": [{ "credential": credential }] })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_stay_bounded_and_expire_in_order() {
        let mut nonces = Nonces::default();
        let start = Instant::now();
        for i in 0..Nonces::MAX + 50 {
            nonces.issue(format!("n{i}"), start);
        }
        assert_eq!(nonces.live.len(), Nonces::MAX);
        assert!(!nonces.take("n0", start), "the oldest made room");
        assert!(nonces.take(&format!("n{}", Nonces::MAX + 49), start));
        assert!(!nonces.take(&format!("n{}", Nonces::MAX + 48), start + NONCE_TTL), "expired");
        nonces.issue("late".into(), start + NONCE_TTL);
        assert_eq!(nonces.live.len(), 1, "expired ones went on the next issue");
    }
}

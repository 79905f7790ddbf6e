//! The identity credential over OpenID4VCI 1.0 (authorization code flow):
//! metadata, the token endpoint (code + PKCE verifier), the nonce endpoint
//! and the credential endpoint.
//!
//! The credential endpoint takes one `jwt` key proof (`typ`
//! `openid4vci-proof+jwt`, EdDSA, the holder's public key in the `jwk`
//! header, `aud` this issuer, `iat` within five minutes, `nonce` one this
//! service gave out and not yet used) and binds the credential to that key
//! (`cnf.jwk`). An access token collects one credential.

use crate::{now, oauth_error, random_token, IdentityService, ADVISER_CONFIGURATION, ADVISER_SCOPE, ADVISER_VCT, IDENTITY_CONFIGURATION, IDENTITY_SCOPE, IDENTITY_VCT};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

pub const PROOF_TYPE: &str = "openid4vci-proof+jwt";
const PROOF_WINDOW: i64 = 300;
/// How long an identity credential is good for; the wallet asks again after.
pub const CREDENTIAL_LIFETIME: i64 = 90 * 24 * 3600;
/// The claims a holder may disclose one by one.
pub const DISCLOSABLE: [&str; 8] = [
    "/given_name",
    "/family_name",
    "/birthdate",
    "/national_insurance_number",
    "/address/street_address",
    "/address/locality",
    "/address/postal_code",
    "/address/country",
];

pub fn routes() -> Router<Arc<IdentityService>> {
    Router::new()
        .route("/.well-known/openid-credential-issuer", get(issuer_metadata))
        .route("/.well-known/oauth-authorization-server", get(authorization_server_metadata))
        .route("/.well-known/jwt-vc-issuer", get(jwt_vc_issuer_metadata))
        // RFC 8615 places the regulator's (`{url}/regulator`) after the well-known name.
        .route("/.well-known/jwt-vc-issuer/regulator", get(regulator_metadata))
        .route("/token", post(token))
        .route("/nonce", post(nonce))
        .route("/credential", post(credential))
}

fn claim(path: &[&str], name: &str) -> Value {
    json!({ "path": path, "display": [{ "name": name, "locale": "en-GB" }] })
}

async fn issuer_metadata(State(service): State<Arc<IdentityService>>) -> Json<Value> {
    let url = &service.url;
    Json(json!({
        "credential_issuer": url,
        "credential_endpoint": format!("{url}/credential"),
        "nonce_endpoint": format!("{url}/nonce"),
        "display": [{ "name": service.people.service_name, "locale": "en-GB" }],
        "credential_configurations_supported": {
            IDENTITY_CONFIGURATION: {
                "format": "dc+sd-jwt",
                "vct": IDENTITY_VCT,
                "scope": IDENTITY_SCOPE,
                "cryptographic_binding_methods_supported": ["jwk"],
                "credential_signing_alg_values_supported": ["EdDSA"],
                "proof_types_supported": { "jwt": { "proof_signing_alg_values_supported": ["EdDSA"] } },
                "credential_metadata": {
                    "display": [{ "name": "Verified identity", "locale": "en-GB" }],
                    "claims": [
                        claim(&["given_name"], "Given name"),
                        claim(&["family_name"], "Family name"),
                        claim(&["birthdate"], "Date of birth"),
                        claim(&["national_insurance_number"], "National Insurance number"),
                        claim(&["address", "street_address"], "Street address"),
                        claim(&["address", "locality"], "Town or city"),
                        claim(&["address", "postal_code"], "Postcode"),
                        claim(&["address", "country"], "Country"),
                    ],
                },
            },
            ADVISER_CONFIGURATION: {
                "format": "dc+sd-jwt",
                "vct": ADVISER_VCT,
                "scope": ADVISER_SCOPE,
                "cryptographic_binding_methods_supported": ["jwk"],
                "credential_signing_alg_values_supported": ["EdDSA"],
                "proof_types_supported": { "jwt": { "proof_signing_alg_values_supported": ["EdDSA"] } },
                "credential_metadata": {
                    "display": [{ "name": "Authorised financial adviser", "locale": "en-GB" }],
                    "claims": [
                        claim(&["given_name"], "Given name"),
                        claim(&["family_name"], "Family name"),
                        claim(&["firm"], "Firm"),
                        claim(&["reference"], "Regulator's reference"),
                        claim(&["authorisation"], "Authorised as"),
                    ],
                },
            },
        },
    }))
}

async fn authorization_server_metadata(State(service): State<Arc<IdentityService>>) -> Json<Value> {
    let url = &service.url;
    Json(json!({
        "issuer": url,
        "authorization_endpoint": format!("{url}/authorize"),
        "token_endpoint": format!("{url}/token"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": [IDENTITY_SCOPE, ADVISER_SCOPE],
        "authorization_response_iss_parameter_supported": true,
    }))
}

/// SD-JWT VC issuer metadata: the keys credentials are signed with.
async fn jwt_vc_issuer_metadata(State(service): State<Arc<IdentityService>>) -> Json<Value> {
    Json(json!({ "issuer": service.url, "jwks": service.key.public_jwks() }))
}

/// The regulator's: the keys adviser credentials are signed with.
async fn regulator_metadata(State(service): State<Arc<IdentityService>>) -> Json<Value> {
    Json(json!({ "issuer": service.regulator_url(), "name": service.people.regulator_name, "jwks": service.regulator_key.public_jwks() }))
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    client_id: Option<String>,
    code_verifier: Option<String>,
}

fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let valid = (43..=128).contains(&verifier.len()) && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    valid && URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes())) == challenge
}

async fn token(State(service): State<Arc<IdentityService>>, form: Result<Form<TokenForm>, axum::extract::rejection::FormRejection>) -> Response {
    let Ok(Form(form)) = form else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "the body must be a form");
    };
    if form.grant_type.as_deref() != Some("authorization_code") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "only authorization_code");
    }
    let (Some(code), Some(redirect_uri), Some(client_id), Some(verifier)) = (form.code, form.redirect_uri, form.client_id, form.code_verifier) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "code, redirect_uri, client_id and code_verifier are required");
    };
    // The code is spent whatever follows: a wrong verifier does not leave
    // it for another try.
    let Some(grant) = service.codes.lock().take(&code) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "unknown, used or expired code");
    };
    if grant.client_id != client_id || grant.redirect_uri != redirect_uri || !pkce_matches(&verifier, &grant.code_challenge) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "the code was issued for another client, redirect or verifier");
    }
    let access_token = random_token();
    if !service.tokens.lock().insert(access_token.clone(), grant.person) {
        return oauth_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", "too many tokens outstanding");
    }
    let mut response = Json(json!({ "access_token": access_token, "token_type": "Bearer", "expires_in": 300, "scope": IDENTITY_SCOPE })).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn nonce(State(service): State<Arc<IdentityService>>) -> Response {
    let c_nonce = random_token();
    if !service.nonces.lock().insert(c_nonce.clone(), ()) {
        return oauth_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", "too many nonces outstanding");
    }
    let mut response = Json(json!({ "c_nonce": c_nonce })).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn invalid_token() -> Response {
    let mut response = oauth_error(StatusCode::UNAUTHORIZED, "invalid_token", "a valid access token is required");
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(r#"Bearer error="invalid_token""#));
    response
}

#[derive(Debug, PartialEq)]
enum ProofError {
    Invalid(&'static str),
    Nonce,
}

/// Checks a key proof and returns the holder's public key.
fn check_proof(service: &IdentityService, proof: &str) -> Result<Value, ProofError> {
    use ssi_claims::jws;
    let (header, _) = jws::decode_unverified(proof).map_err(|_| ProofError::Invalid("the proof is not a JWS"))?;
    if header.type_.as_deref() != Some(PROOF_TYPE) || header.algorithm != ssi_jwk::Algorithm::EdDSA {
        return Err(ProofError::Invalid("the proof must be an openid4vci-proof+jwt signed with EdDSA"));
    }
    let jwk = header.jwk.ok_or(ProofError::Invalid("the proof must carry the holder's key in its jwk header"))?;
    if header.key_id.is_some() || header.x509_certificate_chain.is_some() {
        return Err(ProofError::Invalid("the proof must name its key one way only"));
    }
    let public = serde_json::to_value(jwk.to_public()).map_err(|_| ProofError::Invalid("bad jwk"))?;
    if public != serde_json::to_value(&jwk).map_err(|_| ProofError::Invalid("bad jwk"))? {
        return Err(ProofError::Invalid("the proof's jwk holds a private key"));
    }
    let (_, payload) = jws::decode_verify(proof, &jwk).map_err(|_| ProofError::Invalid("the proof's signature does not verify"))?;
    let claims: Value = serde_json::from_slice(&payload).map_err(|_| ProofError::Invalid("the proof's claims are not JSON"))?;
    if claims["aud"].as_str() != Some(service.url.as_str()) {
        return Err(ProofError::Invalid("the proof is for another issuer"));
    }
    let issued_at = claims["iat"].as_i64().ok_or(ProofError::Invalid("the proof has no iat"))?;
    if (now() - issued_at).abs() > PROOF_WINDOW {
        return Err(ProofError::Invalid("the proof is too old or from the future"));
    }
    let nonce = claims["nonce"].as_str().ok_or(ProofError::Nonce)?;
    service.nonces.lock().take(nonce).ok_or(ProofError::Nonce)?;
    Ok(public)
}

async fn credential(State(service): State<Arc<IdentityService>>, headers: HeaderMap, body: Result<Json<Value>, axum::extract::rejection::JsonRejection>) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_string());
    let Some(token) = token else { return invalid_token() };
    let Ok(Json(body)) = body else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_credential_request", "the body must be JSON");
    };
    let configuration = body["credential_configuration_id"].as_str().unwrap_or_default().to_string();
    if configuration != IDENTITY_CONFIGURATION && configuration != ADVISER_CONFIGURATION {
        // Check the token first, so a stranger learns nothing.
        if service.tokens.lock().get_mut(&token).is_none() {
            return invalid_token();
        }
        return oauth_error(StatusCode::BAD_REQUEST, "unknown_credential_configuration", "IdentityCredential or AdviserCredential");
    }
    let proofs = body["proofs"].as_object().filter(|p| p.len() == 1);
    let Some(proof) = proofs.and_then(|p| p.get("jwt")).and_then(Value::as_array).filter(|list| list.len() == 1).and_then(|list| list[0].as_str()) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_proof", "exactly one jwt proof is required");
    };
    let Some(person) = service.tokens.lock().get_mut(&token).map(|p| *p) else { return invalid_token() };
    if configuration == ADVISER_CONFIGURATION && service.people.people[person].adviser.is_none() {
        return oauth_error(StatusCode::BAD_REQUEST, "credential_request_denied", "the regulator lists no authorisation for this person");
    }
    let holder_key = match check_proof(&service, proof) {
        Ok(key) => key,
        Err(ProofError::Nonce) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_nonce", "fetch a fresh c_nonce and sign the proof again"),
        Err(ProofError::Invalid(why)) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_proof", why),
    };
    // One credential per token.
    if service.tokens.lock().take(&token).is_none() {
        return invalid_token();
    }
    let issued = if configuration == ADVISER_CONFIGURATION { service.issue_adviser_to(person, &holder_key) } else { service.issue_to(person, &holder_key) };
    match issued {
        Ok(credential) => {
            let mut response = Json(json!({ "credentials": [{ "credential": credential }] })).into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &e.to_string()),
    }
}

impl IdentityService {
    /// The identity credential of the `person`-th person, bound to
    /// `holder_key` (a public JWK).
    pub fn issue_to(&self, person: usize, holder_key: &Value) -> Result<String, sd_jwt_vc::SdJwtError> {
        let person = &self.people.people[person];
        let issued_at = now();
        let claims = json!({
            "iss": self.url,
            "vct": IDENTITY_VCT,
            "iat": issued_at,
            "exp": issued_at + CREDENTIAL_LIFETIME,
            "cnf": { "jwk": holder_key },
            "given_name": person.given_name,
            "family_name": person.family_name,
            "birthdate": person.birthdate,
            "national_insurance_number": person.national_insurance_number,
            "address": person.address,
        });
        self.key.issue(&claims, &DISCLOSABLE)
    }

    /// The adviser credential of the `person`-th person, signed by the
    /// regulator, bound to `holder_key`; `None` when the regulator lists no
    /// authorisation for them.
    pub fn issue_adviser_to(&self, person: usize, holder_key: &Value) -> Result<String, sd_jwt_vc::SdJwtError> {
        let person = &self.people.people[person];
        let adviser = person.adviser.as_ref().ok_or_else(|| sd_jwt_vc::SdJwtError::Signing("not an authorised adviser".into()))?;
        let issued_at = now();
        let claims = json!({
            "iss": self.regulator_url(),
            "vct": ADVISER_VCT,
            "iat": issued_at,
            "exp": issued_at + CREDENTIAL_LIFETIME,
            "cnf": { "jwk": holder_key },
            "given_name": person.given_name,
            "family_name": person.family_name,
            "firm": adviser.firm,
            "reference": adviser.reference,
            "authorisation": adviser.authorisation,
        });
        self.regulator_key.issue(&claims, &["/given_name", "/family_name", "/firm", "/reference"])
    }

    /// The index of the person with this email address.
    pub fn person(&self, email: &str) -> Option<usize> {
        self.people.people.iter().position(|p| p.email.eq_ignore_ascii_case(email.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_only_its_verifier() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK", challenge));
        assert!(!pkce_matches("short", challenge));
    }
}

//! The axum routes of the authorization server. Handlers parse, call one
//! method of [`AuthorizationServer`], and map its error.

mod claims;
pub mod error;
pub mod openapi;
mod protection;
mod token;

use crate::client_registration::ClientCredentials;
use crate::error::ProtocolError;
use crate::pat::ProtectionCaller;
use crate::secret::Secret;
use crate::server::AuthorizationServer;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request, State};
use axum::http::{header, request::Parts, HeaderMap};
use axum::response::IntoResponse;
use axum::middleware;
use axum::routing::{get, post};
use axum::{Json, Router};
use http_guard::inbound::{body_of_type, check_host, json_body, refuse_cross_origin, Hosts, Origins};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

pub use http_guard::inbound::MAX_BODY;

/// The authorization server's routes. Requests for a host other than the
/// issuer's (or loopback) are refused, so a DNS-rebinding page cannot use
/// the server as its own origin; state-changing calls from web pages of
/// other origins are refused, so a page in the owner's browser cannot drive
/// the protocol endpoints with "simple" cross-origin POSTs. The claims page
/// is the one place a browser is expected, and it has its own CSRF check.
pub fn router(server: AuthorizationServer) -> Router {
    let issuer = server.config().issuer.clone();
    let collection = || get(protection::list_resources).post(protection::create_resource).fallback(method_not_allowed);
    let protocol = Router::new()
        .route("/register", post(token::register))
        .route("/token", post(token::token))
        .route("/revoke", post(token::revoke))
        .route("/access-grants", post(access_grants))
        .route("/introspect", post(protection::introspect))
        .route("/permission", post(protection::permission))
        // FedAuthz §3.2 writes create and list as `POST rreguri/` and `GET rreguri/`.
        .route("/resource_set", collection())
        .route("/resource_set/", collection())
        .route(
            "/resource_set/{id}",
            get(protection::read_resource)
                .put(protection::update_resource)
                .delete(protection::delete_resource)
                .fallback(method_not_allowed),
        )
        .layer(middleware::from_fn_with_state(Origins::of(&issuer), refuse_cross_origin));
    let router = Router::new()
        .route("/.well-known/uma2-configuration", get(metadata))
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/jwks", get(jwks))
        .route("/openapi.json", get(openapi_json))
        .route("/claims", get(claims::show).post(claims::submit))
        .route(crate::access_grant::STATUS_LIST_PATH, get(status_list))
        .merge(protocol)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(Hosts::of(&issuer), check_host))
        .with_state(server);
    http_guard::trace::traced(router)
}

/// Authorization server metadata (RFC 8414; UMA Grant §2, FedAuthz §2),
/// also served at `/.well-known/oauth-authorization-server`.
#[utoipa::path(get, path = "/.well-known/uma2-configuration", responses((status = 200, body = crate::discovery::Metadata)))]
#[tracing::instrument(skip_all)]
async fn metadata(State(server): State<AuthorizationServer>) -> Json<crate::discovery::Metadata> {
    Json(server.metadata())
}

/// The keys this server signs RPT-bound credentials and assertions with.
#[utoipa::path(get, path = "/jwks", responses((status = 200, body = openapi::Jwks)))]
#[tracing::instrument(skip_all)]
async fn jwks(State(server): State<AuthorizationServer>) -> impl IntoResponse {
    Json(server.signing_key().jwks())
}

static OPENAPI_JSON: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| openapi::document().to_json().expect("the document serialises"));

/// This document.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "The OpenAPI 3.1 document of the protocol endpoints", body = openapi::OpenApiOutline)))]
#[tracing::instrument(skip_all)]
async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON.as_str())
}

/// `POST /access-grants`: the client authenticates as at the token
/// endpoint and sends `rpt`, an active RPT it was issued; it gets a
/// verifiable credential for each grant behind it, to hold and show
/// (`application/vc+jwt` strings).
#[utoipa::path(
    post,
    path = "/access-grants",
    request_body(content = openapi::AccessGrantsForm, content_type = "application/x-www-form-urlencoded"),
    security(("client" = [])),
    responses((status = 200, body = openapi::AccessGrantCredentials))
)]
#[tracing::instrument(skip_all)]
async fn access_grants(State(server): State<AuthorizationServer>, headers: axum::http::HeaderMap, mut form: Form) -> Result<Json<openapi::AccessGrantCredentials>, ProtocolError> {
    let client = server.authenticate_client(&client_credentials(&headers, &mut form)?)?;
    let rpt = form.require("rpt")?;
    let credentials = server.access_grant_credentials_for_rpt(&client, &rpt)?;
    let credentials = credentials.into_iter().map(|(grant_id, credential)| openapi::AccessGrantCredential { grant_id, credential }).collect();
    Ok(Json(openapi::AccessGrantCredentials { credentials }))
}

/// The access-grant status list, as a `vc+jwt` anyone may fetch.
#[utoipa::path(get, path = "/status/access-grants", responses((status = 200, description = "A Bitstring Status List credential", content_type = "application/vc+jwt", body = String)))]
#[tracing::instrument(skip_all)]
async fn status_list(State(server): State<AuthorizationServer>) -> axum::response::Response {
    let mut response = server.status_list_credential().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/vc+jwt"));
    headers.insert(header::CACHE_CONTROL, axum::http::HeaderValue::from_static("max-age=60"));
    response
}

#[tracing::instrument(skip_all)]
async fn not_found() -> ProtocolError {
    ProtocolError::not_found("no such endpoint")
}

#[tracing::instrument(skip_all)]
async fn method_not_allowed() -> ProtocolError {
    ProtocolError::UnsupportedMethodType
}

/// A form body (`application/x-www-form-urlencoded`) in which every
/// parameter appears at most once (RFC 6749 §3.2: repeated parameters are
/// an `invalid_request`).
pub struct Form(pub HashMap<String, String>);

/// Parameter names whose values are never printed.
const SECRET_PARAMETERS: [&str; 8] = ["client_secret", "assertion", "ticket", "claim_token", "pct", "rpt", "token", "csrf"];

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for (k, v) in &self.0 {
            let shown: &str = if SECRET_PARAMETERS.contains(&k.as_str()) { "[redacted]" } else { v };
            map.entry(k, &shown);
        }
        map.finish()
    }
}

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = ProtocolError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        Form::parse(&body_of_type(req, "application/x-www-form-urlencoded").await?)
    }
}

impl Form {
    /// Parses a form body; a repeated parameter is an error.
    pub fn parse(bytes: &[u8]) -> Result<Form, ProtocolError> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(bytes).map_err(|_| ProtocolError::invalid_request("malformed form body"))?;
        let mut params = HashMap::with_capacity(pairs.len());
        for (k, v) in pairs {
            if params.insert(k.clone(), v).is_some() {
                return Err(ProtocolError::invalid_request(format!("parameter {:?} is repeated", k.chars().take(64).collect::<String>())));
            }
        }
        Ok(Form(params))
    }

    pub fn take(&mut self, name: &str) -> Option<String> {
        self.0.remove(name).filter(|v| !v.is_empty())
    }

    pub fn require(&mut self, name: &str) -> Result<String, ProtocolError> {
        self.take(name).ok_or_else(|| ProtocolError::invalid_request(format!("{name} is required")))
    }
}

/// A JSON body whose errors come out in the protocol's error format.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ProtocolError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        Ok(JsonBody(json_body(req).await?))
    }
}

/// The bearer token in `Authorization`, if any (RFC 6750 §2.1).
fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// A protection API call's caller, from its PAT.
impl FromRequestParts<AuthorizationServer> for ProtectionCaller {
    type Rejection = ProtocolError;

    async fn from_request_parts(parts: &mut Parts, server: &AuthorizationServer) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(|| ProtocolError::invalid_token("a PAT is required (Authorization: Bearer)"))?;
        server.authenticate_pat(token)
    }
}

/// Client credentials from HTTP Basic (RFC 6749 §2.3.1: each part
/// form-urlencoded before base64) or from the form body; using both is an error.
pub fn client_credentials(headers: &HeaderMap, form: &mut Form) -> Result<ClientCredentials, ProtocolError> {
    let in_body = form.take("client_id");
    let secret_in_body = form.take("client_secret");
    let assertion_type = form.take("client_assertion_type");
    let assertion = form.take("client_assertion");
    // RFC 7523 §2.2: a client assertion names its client in `sub` (and `iss`).
    if assertion_type.is_some() || assertion.is_some() {
        if assertion_type.as_deref() != Some(crate::client_registration::CLIENT_ASSERTION_TYPE) {
            return Err(ProtocolError::invalid_request("client_assertion_type must be jwt-bearer"));
        }
        let assertion = assertion.ok_or_else(|| ProtocolError::invalid_request("client_assertion is missing"))?;
        if secret_in_body.is_some() || headers.contains_key(header::AUTHORIZATION) {
            return Err(ProtocolError::invalid_request("use one client authentication method, not two"));
        }
        let payload = assertion.split('.').nth(1).and_then(|p| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).ok());
        let claims: Option<serde_json::Value> = payload.and_then(|p| serde_json::from_slice(&p).ok());
        let client_id = claims.as_ref().and_then(|c| c["sub"].as_str()).map(String::from).ok_or_else(|| ProtocolError::invalid_client("malformed client assertion"))?;
        if in_body.is_some_and(|b| b != client_id) {
            return Err(ProtocolError::invalid_request("client_id in the body differs from the client assertion"));
        }
        return Ok(ClientCredentials { client_id: client_id.into(), secret: None, assertion: Some(Secret::new(assertion)) });
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"));
    if basic.is_some() && secret_in_body.is_some() {
        return Err(ProtocolError::invalid_request("use one client authentication method, not two"));
    }
    match (basic, in_body) {
        (Some((_, encoded)), id_in_body) => {
            let malformed = || ProtocolError::invalid_client("malformed Basic credentials");
            let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
            let text = String::from_utf8(decoded).map_err(|_| malformed())?;
            let (id, secret) = text.split_once(':').ok_or_else(malformed)?;
            let unescape = |s: &str| -> String {
                url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
            };
            let client_id = unescape(id);
            if id_in_body.is_some_and(|b| b != client_id) {
                return Err(ProtocolError::invalid_request("client_id in the body differs from the Basic credentials"));
            }
            Ok(ClientCredentials { client_id: client_id.into(), secret: Some(Secret::new(unescape(secret))), assertion: None })
        }
        (None, Some(id)) => Ok(ClientCredentials { client_id: id.into(), secret: secret_in_body.map(Secret::new), assertion: None }),
        (None, None) => Err(ProtocolError::invalid_client("client authentication is required")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print_in_debug() {
        let form = Form::parse(b"grant_type=client_credentials&client_secret=s3cr3t-1&assertion=s3cr3t-2&ticket=s3cr3t-3&pct=s3cr3t-4").unwrap();
        let token = crate::token::RptResponse { access_token: "s3cr3t-5".into(), token_type: "Bearer", expires_in: 1, pct: Some("s3cr3t-6".into()), upgraded: None };
        let pat = crate::pat::AccessTokenResponse { access_token: "s3cr3t-7".into(), token_type: "Bearer", expires_in: 1, scope: "uma_protection" };
        let printed = format!("{form:?} {token:?} {pat:?}");
        assert!(printed.contains("client_credentials"), "{printed}");
        assert!(!printed.contains("s3cr3t"), "{printed}");
    }
}

//! Token endpoint, client registration and revocation.

use super::{client_credentials, Form, JsonBody};
use crate::client_registration::ClientMetadata;
use crate::model::GrantType;
use crate::error::ProtocolError;
use crate::secret::Secret;
use crate::server::AuthorizationServer;
use crate::token::{GrantOutcome, UmaGrantRequest};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Token responses must not be cached (RFC 6749 §5.1).
fn no_store(body: impl serde::Serialize) -> Response {
    let mut response = Json(body).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Dynamic client registration (RFC 7591 §3). Open to anyone; a client
/// that never authenticates is removed.
#[utoipa::path(post, path = "/register", request_body = ClientMetadata, responses((status = 201, body = crate::client_registration::RegisteredClient)))]
#[tracing::instrument(skip_all)]
pub async fn register(State(server): State<AuthorizationServer>, JsonBody(metadata): JsonBody<ClientMetadata>) -> Result<Response, ProtocolError> {
    let registered = server.register_client(metadata)?;
    let mut response = no_store(registered);
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

/// The token endpoint: RPTs for clients (Grant §3.3), PATs for resource
/// servers (client credentials or an owner-minted assertion).
#[utoipa::path(
    post,
    path = "/token",
    request_body(content = super::openapi::TokenForm, content_type = "application/x-www-form-urlencoded"),
    security((), ("client" = [])),
    responses((status = 200, body = super::openapi::TokenAnswer))
)]
#[tracing::instrument(skip_all)]
pub async fn token(State(server): State<AuthorizationServer>, headers: HeaderMap, mut form: Form) -> Result<Response, ProtocolError> {
    let grant_type = form.require("grant_type")?;
    let Some(grant) = GrantType::parse(&grant_type) else {
        return Err(ProtocolError::unsupported_grant_type(format!("grant type {grant_type:?} is not supported")));
    };
    match grant {
        GrantType::JwtBearer => {
            let assertion = form.require("assertion")?;
            Ok(no_store(server.pat_by_assertion(&assertion)?))
        }
        GrantType::ClientCredentials => {
            let client = server.authenticate_client(&client_credentials(&headers, &mut form)?)?;
            Ok(no_store(server.pat_by_client_credentials(&client, form.take("scope").as_deref())?))
        }
        GrantType::UmaTicket => {
            let client = server.authenticate_client(&client_credentials(&headers, &mut form)?)?;
            if !client.grant_types.contains(&GrantType::UmaTicket) {
                return Err(ProtocolError::unauthorized_client("the uma-ticket grant is not registered for this client"));
            }
            let claim_token = form.take("claim_token");
            let claim_token_format = form.take("claim_token_format");
            if claim_token.is_some() != claim_token_format.is_some() {
                return Err(ProtocolError::invalid_request("claim_token and claim_token_format go together"));
            }
            let request = UmaGrantRequest {
                ticket: Secret::new(form.require("ticket")?),
                claim_token: claim_token.map(Secret::new),
                claim_token_format,
                pct: form.take("pct").map(Secret::new),
                rpt: form.take("rpt").map(Secret::new),
                scope: form.take("scope").map(|s| s.split_whitespace().map(String::from).collect()).unwrap_or_default(),
            };
            Ok(match server.uma_grant(&client, request).await? {
                GrantOutcome::Issued(rpt) => no_store(rpt),
                GrantOutcome::NeedInfo(need) => need.into_response(),
                GrantOutcome::Submitted(submitted) => submitted.into_response(),
            })
        }
    }
}

/// Token revocation (RFC 7009).
#[utoipa::path(
    post,
    path = "/revoke",
    request_body(content = super::openapi::RevokeForm, content_type = "application/x-www-form-urlencoded"),
    security(("client" = [])),
    responses((status = 200, description = "Revoked, or never valid"))
)]
#[tracing::instrument(skip_all)]
pub async fn revoke(State(server): State<AuthorizationServer>, headers: HeaderMap, mut form: Form) -> Result<Response, ProtocolError> {
    let client = server.authenticate_client(&client_credentials(&headers, &mut form)?)?;
    let token = form.require("token")?;
    server.revoke_token(&client, &token, form.take("token_type_hint").as_deref()).await?;
    Ok(StatusCode::OK.into_response())
}

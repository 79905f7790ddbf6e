//! The provider's HTTP API: find, the owner's resources, the accepted
//! authorization servers.

use crate::find;
use crate::trust::TokenError;
use crate::Provider;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::Arc;

pub fn router(provider: Arc<Provider>) -> Router {
    Router::new()
        .route("/find", post(find_pensions))
        .route("/resources", get(resources))
        .route("/authorization_servers", get(authorization_servers))
        .fallback(|| async { (StatusCode::NOT_FOUND, Json(json!({ "error": "not_found" }))) })
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(provider)
}

fn unauthorized(error: TokenError) -> Response {
    let status = match error {
        TokenError::KeysUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNAUTHORIZED,
    };
    let description = error.to_string();
    let mut response = (status, Json(json!({ "error": "invalid_token", "error_description": description }))).into_response();
    let challenge = format!(r#"Bearer error="invalid_token", error_description="{}""#, description.replace('"', "'"));
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

fn bearer(headers: &HeaderMap) -> Result<&str, TokenError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .ok_or(TokenError::Missing)
}

/// Every pension of every member the find token matches, as resources.
async fn matched(provider: &Provider, headers: &HeaderMap) -> Result<Vec<Value>, Response> {
    let token = bearer(headers).map_err(unauthorized)?;
    let claims = provider.registry.verify_find_token(token, &provider.url).await.map_err(unauthorized)?;
    let catalogue = &provider.catalogue;
    let registered = provider.registered_at.lock();
    let mut out = Vec::new();
    for (member, status) in find::find(catalogue, &claims.find_data) {
        for pension in &member.pensions {
            let mut resource = json!({
                "_id": pension.asset_guid,
                "name": catalogue.pei(pension),
                "description": pension.scheme_name,
                "type": "https://pensions.example/pension",
                "resource_scopes": ["owner", "value", "delegate"],
                "match_status": status,
            });
            if let Some(issuer) = registered.get(&pension.asset_guid) {
                resource["authorization_server"] = issuer.clone().into();
            }
            out.push(resource);
        }
    }
    Ok(out)
}

/// `POST /find` with a find token: the matches, and nothing kept.
async fn find_pensions(State(provider): State<Arc<Provider>>, headers: HeaderMap) -> Response {
    match matched(&provider, &headers).await {
        Ok(resources) => {
            let matches: Vec<Value> = resources
                .into_iter()
                .map(|r| json!({ "pei": r["name"], "description": r["description"], "match_status": r["match_status"] }))
                .collect();
            Json(json!({ "provider": provider.catalogue.provider_name, "matches": matches })).into_response()
        }
        Err(response) => response,
    }
}

async fn resources(State(provider): State<Arc<Provider>>, headers: HeaderMap) -> Response {
    match matched(&provider, &headers).await {
        Ok(resources) => Json(resources).into_response(),
        Err(response) => response,
    }
}

async fn authorization_servers(State(provider): State<Arc<Provider>>) -> Json<Value> {
    Json(json!(provider.registry.trusted()))
}

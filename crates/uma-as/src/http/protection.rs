//! The protection API (FedAuthz §3–5): resource registration, permission
//! requests and introspection, each authorized by the caller's PAT.

use super::{Form, JsonBody};
use crate::error::ProtocolError;
use crate::model::{Permission, ResourceDescription};
use crate::pat::ProtectionCaller;
use crate::server::AuthorizationServer;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

pub async fn create_resource(
    State(server): State<AuthorizationServer>,
    caller: ProtectionCaller,
    JsonBody(description): JsonBody<ResourceDescription>,
) -> Result<Response, ProtocolError> {
    let resource = server.create_resource(&caller, description)?;
    // Acknowledged registrations survive a crash: the owner's pensions
    // must not silently drop out of her wallet.
    server.flush().await?;
    let location = server.config().endpoint(&format!("/resource_set/{}", resource.id));
    let mut response = (StatusCode::CREATED, Json(json!({ "_id": resource.id }))).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

pub async fn list_resources(State(server): State<AuthorizationServer>, caller: ProtectionCaller) -> Json<Vec<String>> {
    Json(server.list_resources(&caller))
}

pub async fn read_resource(
    State(server): State<AuthorizationServer>,
    caller: ProtectionCaller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ProtocolError> {
    let resource = server.read_resource(&caller, &id)?;
    let mut body = serde_json::to_value(&resource.description).expect("descriptions serialize");
    body["_id"] = resource.id.into();
    Ok(Json(body))
}

pub async fn update_resource(
    State(server): State<AuthorizationServer>,
    caller: ProtectionCaller,
    Path(id): Path<String>,
    JsonBody(description): JsonBody<ResourceDescription>,
) -> Result<Json<serde_json::Value>, ProtocolError> {
    let resource = server.update_resource(&caller, &id, description)?;
    server.flush().await?;
    Ok(Json(json!({ "_id": resource.id })))
}

pub async fn delete_resource(
    State(server): State<AuthorizationServer>,
    caller: ProtectionCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ProtocolError> {
    server.delete_resource(&caller, &id)?;
    server.flush().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One permission or an array of them (FedAuthz §4.1).
#[derive(Deserialize)]
#[serde(untagged)]
pub enum PermissionRequest {
    One(Permission),
    Many(Vec<Permission>),
}

pub async fn permission(
    State(server): State<AuthorizationServer>,
    caller: ProtectionCaller,
    JsonBody(request): JsonBody<PermissionRequest>,
) -> Result<Response, ProtocolError> {
    let permissions = match request {
        PermissionRequest::One(p) => vec![p],
        PermissionRequest::Many(list) => list,
    };
    let ticket = server.request_permission(&caller, permissions)?;
    Ok((StatusCode::CREATED, Json(json!({ "ticket": ticket.expose() }))).into_response())
}

pub async fn introspect(
    State(server): State<AuthorizationServer>,
    caller: ProtectionCaller,
    mut form: Form,
) -> Result<Response, ProtocolError> {
    let token = form.require("token")?;
    let mut response = Json(server.introspect(&caller, &token)?).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

//! The protection API (FedAuthz §3–5): resource registration, permission
//! requests and introspection, each authorized by the caller's PAT.

use super::{Form, JsonBody};
use crate::error::ProtocolError;
use super::openapi::{PermissionRequest, RegisteredResourceId, ResourceView, TicketResponse};
use crate::id::ResourceId;
use crate::model::ResourceDescription;
use crate::pat::ProtectionCaller;
use crate::server::AuthorizationServer;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Registers a resource (FedAuthz §3.2.1).
#[utoipa::path(post, path = "/resource_set", request_body = ResourceDescription, security(("pat" = [])), responses((status = 201, body = RegisteredResourceId)))]
#[tracing::instrument(skip_all)]
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
    let mut response = (StatusCode::CREATED, Json(RegisteredResourceId { id: resource.id })).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// The caller's resources' ids (FedAuthz §3.2.5).
#[utoipa::path(get, path = "/resource_set", security(("pat" = [])), responses((status = 200, body = Vec<ResourceId>)))]
#[tracing::instrument(skip_all)]
pub async fn list_resources(State(server): State<AuthorizationServer>, caller: ProtectionCaller) -> Json<Vec<ResourceId>> {
    Json(server.list_resources(&caller))
}

/// One of the caller's resources (FedAuthz §3.2.2).
#[utoipa::path(get, path = "/resource_set/{id}", params(("id" = String, Path)), security(("pat" = [])), responses((status = 200, body = ResourceView)))]
#[tracing::instrument(skip_all)]
pub async fn read_resource(State(server): State<AuthorizationServer>, caller: ProtectionCaller, Path(id): Path<ResourceId>) -> Result<Json<ResourceView>, ProtocolError> {
    let resource = server.read_resource(&caller, &id)?;
    Ok(Json(ResourceView { id: resource.id, description: resource.description }))
}

/// Replaces a resource's description (FedAuthz §3.2.3).
#[utoipa::path(put, path = "/resource_set/{id}", params(("id" = String, Path)), request_body = ResourceDescription, security(("pat" = [])), responses((status = 200, body = RegisteredResourceId)))]
#[tracing::instrument(skip_all)]
pub async fn update_resource(
    State(server): State<AuthorizationServer>,
    caller: ProtectionCaller,
    Path(id): Path<ResourceId>,
    JsonBody(description): JsonBody<ResourceDescription>,
) -> Result<Json<RegisteredResourceId>, ProtocolError> {
    let resource = server.update_resource(&caller, &id, description)?;
    server.flush().await?;
    Ok(Json(RegisteredResourceId { id: resource.id }))
}

/// Deregisters a resource (FedAuthz §3.2.4).
#[utoipa::path(delete, path = "/resource_set/{id}", params(("id" = String, Path)), security(("pat" = [])), responses((status = 204, description = "Deleted")))]
#[tracing::instrument(skip_all)]
pub async fn delete_resource(
    State(server): State<AuthorizationServer>,
    caller: ProtectionCaller,
    Path(id): Path<ResourceId>,
) -> Result<StatusCode, ProtocolError> {
    server.delete_resource(&caller, &id)?;
    server.flush().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A permission ticket for the permissions a client asked for (FedAuthz §4).
#[utoipa::path(post, path = "/permission", request_body = PermissionRequest, security(("pat" = [])), responses((status = 201, body = TicketResponse)))]
#[tracing::instrument(skip_all)]
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
    Ok((StatusCode::CREATED, Json(TicketResponse { ticket: ticket.expose().to_string() })).into_response())
}

/// RPT introspection (RFC 7662; FedAuthz §5): only permissions on the
/// caller's own resources.
#[utoipa::path(
    post,
    path = "/introspect",
    request_body(content = super::openapi::IntrospectForm, content_type = "application/x-www-form-urlencoded"),
    security(("pat" = [])),
    responses((status = 200, body = crate::introspection::Introspection))
)]
#[tracing::instrument(skip_all)]
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

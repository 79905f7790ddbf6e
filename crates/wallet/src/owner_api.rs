//! The owner HTTP API: everything the owner can do, for the CLI and other
//! local front ends. Bound to loopback; every route but `/openapi.json`
//! needs `Authorization: Bearer <token in the data directory's owner-token>`.

use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_stream::wrappers::BroadcastStream;
use uma_as::http::JsonBody;
use uma_as::owner::{Approval, NewPolicy};
use uma_as::secret::{Secret, SecretHash};
use crate::pensions::{Identity, Pensions};
use crate::Wallet;
use uma_as::{AuthorizationServer, ProtocolError};

/// The OpenAPI 3.1 description of this API, served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

#[derive(Clone)]
struct OwnerState {
    server: AuthorizationServer,
    pensions: Pensions,
    token: SecretHash,
}

type Result<T> = std::result::Result<T, ProtocolError>;

pub fn router(wallet: &Wallet, owner_token: &Secret) -> Router {
    let state = OwnerState { server: wallet.server().clone(), pensions: wallet.pensions().clone(), token: owner_token.hash() };
    let protected = Router::new()
        .route("/status", get(status))
        .route("/clients", get(clients))
        .route("/clients/{id}/approve", post(approve_client))
        .route("/clients/{id}/refuse", post(refuse_client))
        .route("/resources", get(resources))
        .route("/pending", get(pending))
        .route("/pending/{id}/approve", post(approve_request))
        .route("/pending/{id}/deny", post(deny_request))
        .route("/policies", get(policies).post(add_policy))
        .route("/policies/{id}", axum::routing::delete(remove_policy))
        .route("/grants", get(grants))
        .route("/grants/{id}/revoke", post(revoke_grant))
        .route("/receipts", get(receipts))
        .route("/trusted-issuers", get(trusted_issuers).post(trust_issuer).delete(distrust_issuer))
        .route("/audit", get(audit))
        .route("/audit/verify", get(audit_verify))
        .route("/audit/export", get(audit_export))
        .route("/assertions", post(mint_assertion))
        .route("/events", get(events))
        .route("/identity", get(identity).put(set_identity))
        .route("/identity/credential", get(identity_credential).post(get_identity_credential).delete(forget_identity_credential))
        .route("/providers", get(providers).post(add_provider).delete(remove_provider))
        .route("/find", post(find))
        .route("/offers", get(offers))
        .route("/offers/accept", post(accept))
        .route("/pensions/move", post(move_pension))
        .route("/registry", get(registry_summary).post(import_registry))
        .route("/registry/key", axum::routing::put(set_registry_key))
        .route("/pensions", get(my_pensions))
        .route("/did", get(did))
        .route("/credentials", get(credentials))
        .route("/credentials/export", get(export_credentials))
        .route("/credentials/{id}", get(show_credential).delete(delete_credential))
        .route("/credentials/{id}/verify", post(verify_credential))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_owner));
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/identify", post(identify))
        .merge(protected)
        .fallback(|| async { ProtocolError::not_found("no such endpoint") })
        .method_not_allowed_fallback(|| async { ProtocolError::unsupported_method_type() })
        .layer(DefaultBodyLimit::max(uma_as::http::MAX_BODY))
        .with_state(state)
}

async fn require_owner(State(state): State<OwnerState>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| Secret::new(token.trim()));
    match presented {
        Some(token) if token.matches(&state.token) => next.run(request).await,
        _ => ProtocolError::invalid_token("the owner API token is missing or wrong").into_response(),
    }
}

/// What a server proves it knows the owner token with: an HMAC of the
/// caller's nonce under the token's digest. The token itself never leaves
/// the caller until the proof checks out.
pub fn owner_proof(token: &SecretHash, nonce: &str) -> String {
    use base64::Engine;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &token.0);
    let tag = ring::hmac::sign(&key, format!("uma-wallet owner api\0{nonce}").as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Identify {
    nonce: String,
}

/// `POST /identify {"nonce"}`: lets a command line check that the server
/// `server.json` points at is this wallet before it sends the owner token
/// (a stale file may point at a port someone else now listens on).
async fn identify(State(s): State<OwnerState>, JsonBody(body): JsonBody<Identify>) -> Result<Json<Value>> {
    if !(16..=256).contains(&body.nonce.len()) {
        return Err(ProtocolError::invalid_request("the nonce is 16 to 256 characters"));
    }
    Ok(Json(json!({ "proof": owner_proof(&s.token, &body.nonce) })))
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn status(State(s): State<OwnerState>) -> Json<Value> {
    Json(s.server.stats())
}

async fn clients(State(s): State<OwnerState>) -> Json<Value> {
    // A registry that cannot be read lists no one.
    let held = s.pensions.governance().current().ok().flatten();
    let list: Vec<Value> = s
        .server
        .clients()
        .into_iter()
        .map(|c| {
            json!({
                "client_id": c.client_id,
                "client_name": c.client_name,
                "protection": c.protection,
                "scope": c.scope.join(" "),
                "claims_redirect_uris": c.claims_redirect_uris,
                "created_at": c.created_at,
                "registry": crate::governance::client_standing(held.as_ref(), &c),
            })
        })
        .collect();
    Json(json!(list))
}

async fn approve_client(State(s): State<OwnerState>, Path(id): Path<String>) -> Result<Json<Value>> {
    let client = s.server.decide_resource_server(&id, true).await?;
    Ok(Json(json!({ "client_id": client.client_id, "protection": client.protection })))
}

async fn refuse_client(State(s): State<OwnerState>, Path(id): Path<String>) -> Result<Json<Value>> {
    let client = s.server.decide_resource_server(&id, false).await?;
    Ok(Json(json!({ "client_id": client.client_id, "protection": client.protection })))
}

async fn resources(State(s): State<OwnerState>) -> Json<Value> {
    Json(json!(s.server.resources()))
}

#[derive(Deserialize)]
struct PendingQuery {
    #[serde(default)]
    all: bool,
}

/// Requests, each with what the governance registry says of the app asking.
async fn pending(State(s): State<OwnerState>, Query(q): Query<PendingQuery>) -> Result<Json<Value>> {
    let held = s.pensions.governance().current()?;
    let mut list = Vec::new();
    for request in s.server.pending_requests(!q.all)? {
        let standing = match s.server.client(&request.client_id) {
            Some(client) => crate::governance::client_standing(held.as_ref(), &client),
            None => json!({ "listed": false }),
        };
        let mut value = json!(request);
        value["registry"] = standing;
        list.push(value);
    }
    Ok(Json(json!(list)))
}

/// The body is optional: an empty one approves everything that was asked.
async fn approve_request(State(s): State<OwnerState>, Path(id): Path<String>, body: axum::body::Bytes) -> Result<Json<Value>> {
    let approval: Approval = if body.iter().all(u8::is_ascii_whitespace) {
        Approval::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ProtocolError::invalid_request(format!("malformed JSON: {e}")))?
    };
    Ok(Json(json!(s.server.approve_request(&id, approval).await?)))
}

async fn deny_request(State(s): State<OwnerState>, Path(id): Path<String>) -> Result<Json<Value>> {
    Ok(Json(json!(s.server.deny_request(&id).await?)))
}

async fn policies(State(s): State<OwnerState>) -> Json<Value> {
    Json(json!(s.server.policies()))
}

async fn add_policy(State(s): State<OwnerState>, JsonBody(policy): JsonBody<NewPolicy>) -> Result<Response> {
    let policy = s.server.add_policy(policy).await?;
    Ok((StatusCode::CREATED, Json(json!(policy))).into_response())
}

async fn remove_policy(State(s): State<OwnerState>, Path(id): Path<String>) -> Result<Json<Value>> {
    Ok(Json(json!(s.server.remove_policy(&id).await?)))
}

async fn grants(State(s): State<OwnerState>) -> Json<Value> {
    let now = s.server.now();
    let list: Vec<Value> = s
        .server
        .grants()
        .into_iter()
        .map(|g| {
            let active = g.is_active(now);
            let mut v = json!(g);
            v["active"] = active.into();
            v
        })
        .collect();
    Json(json!(list))
}

/// The owner's consent receipts: one for each approval given, saying who
/// may see what, since and until when, whether it was withdrawn, and how
/// to withdraw it; each with the access grant credential the wallet issued
/// for it (signed by the wallet's DID, revoked with the grant).
async fn receipts(State(s): State<OwnerState>) -> Result<Json<Value>> {
    let now = s.server.now();
    let resources = s.server.resources();
    let mut list = Vec::new();
    for grant in s.server.grants() {
        let uma_as::model::GrantSource::Approval { request_id } = &grant.source else { continue };
        let resource = resources.iter().find(|r| r.id == grant.resource_id);
        let client = s.server.client(&grant.client_id);
        list.push(json!({
            "grant_id": grant.id,
            "request_id": request_id,
            "client_id": grant.client_id,
            "client_name": client.and_then(|c| c.client_name),
            "pension": resource.and_then(|r| r.description.description.clone().or(r.description.name.clone())),
            "pei": resource.and_then(|r| r.description.name.clone()),
            "provider": resource.map(|r| r.resource_server.clone()),
            "scopes": grant.scopes,
            "granted_at": grant.created_at,
            "until": grant.expires_at,
            "revoked_at": grant.revoked_at,
            "active": grant.is_active(now),
            "how_to_withdraw": "Sharing: revoke this access. The app asking is told at once, and this receipt's credential shows as revoked.",
            // While it is in force; a withdrawn grant's credential is revoked.
            "credential": if grant.is_active(now) { Some(s.server.access_grant_credential(&grant.id)?) } else { None },
        }));
    }
    list.sort_by(|a, b| b["granted_at"].as_i64().cmp(&a["granted_at"].as_i64()));
    Ok(Json(json!(list)))
}

async fn revoke_grant(State(s): State<OwnerState>, Path(id): Path<String>) -> Result<Json<Value>> {
    Ok(Json(json!(s.server.revoke_grant(&id).await?)))
}

async fn trusted_issuers(State(s): State<OwnerState>) -> Result<Json<Value>> {
    Ok(Json(json!(s.server.trusted_issuers()?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustIssuer {
    issuer: String,
    #[serde(default)]
    jwks_uri: Option<String>,
    /// Client ids at that issuer whose ID tokens count here.
    #[serde(default)]
    client_ids: Vec<String>,
}

async fn trust_issuer(State(s): State<OwnerState>, JsonBody(body): JsonBody<TrustIssuer>) -> Result<Response> {
    let record = s.server.trust_issuer(&body.issuer, body.jwks_uri, body.client_ids).await?;
    Ok((StatusCode::CREATED, Json(json!(record))).into_response())
}

#[derive(Deserialize)]
struct IssuerQuery {
    issuer: String,
}

async fn distrust_issuer(State(s): State<OwnerState>, Query(q): Query<IssuerQuery>) -> Result<StatusCode> {
    s.server.distrust_issuer(&q.issuer).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct AuditQuery {
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    100
}

async fn audit(State(s): State<OwnerState>, Query(q): Query<AuditQuery>) -> Result<Json<Value>> {
    Ok(Json(json!(s.server.audit_log().list(q.limit.min(10_000))?)))
}

async fn audit_verify(State(s): State<OwnerState>) -> Result<Json<Value>> {
    Ok(Json(match s.server.audit_log().verify()? {
        Ok(entries) => json!({ "intact": true, "entries": entries }),
        Err(broken) => json!({ "intact": false, "broken_at": broken.seq, "reason": broken.reason }),
    }))
}

async fn audit_export(State(s): State<OwnerState>) -> Result<Json<Value>> {
    Ok(Json(json!(s.server.audit_log().export()?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssertionRequest {
    resource_server: String,
    #[serde(default = "default_assertion_lifetime")]
    lifetime: i64,
}

fn default_assertion_lifetime() -> i64 {
    600
}

async fn mint_assertion(State(s): State<OwnerState>, JsonBody(body): JsonBody<AssertionRequest>) -> Result<Json<Value>> {
    let assertion = s.server.mint_assertion(&body.resource_server, body.lifetime)?;
    Ok(Json(json!({
        "assertion": assertion,
        "grant_type": uma_as::client_registration::GRANT_JWT_BEARER,
        "token_endpoint": s.server.config().endpoint("/token"),
    })))
}

/// Server-sent events: one `pending_request` or `resource_server_waiting`
/// event per occurrence, as JSON.
async fn events(State(s): State<OwnerState>) -> impl IntoResponse {
    let stream = BroadcastStream::new(s.server.subscribe()).filter_map(|event| async move {
        let event = event.ok()?;
        let data = serde_json::to_string(&event).ok()?;
        Some(Ok::<_, std::convert::Infallible>(Event::default().data(data)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn identity(State(s): State<OwnerState>) -> Result<Json<Value>> {
    let identity = s.pensions.identity()?.ok_or_else(|| ProtocolError::not_found("no identity details yet"))?;
    Ok(Json(json!(identity)))
}

async fn set_identity(State(s): State<OwnerState>, JsonBody(identity): JsonBody<Identity>) -> Result<Json<Value>> {
    s.pensions.set_identity(identity.clone()).await?;
    Ok(Json(json!(identity)))
}

async fn providers(State(s): State<OwnerState>) -> Result<Json<Value>> {
    Ok(Json(json!(s.pensions.providers()?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddProvider {
    url: String,
    #[serde(default)]
    name: Option<String>,
}

async fn add_provider(State(s): State<OwnerState>, JsonBody(body): JsonBody<AddProvider>) -> Result<Response> {
    let entry = s.pensions.add_provider(&body.url, body.name).await?;
    Ok((StatusCode::CREATED, Json(json!(entry))).into_response())
}

#[derive(Deserialize)]
struct UrlQuery {
    url: String,
}

async fn remove_provider(State(s): State<OwnerState>, Query(q): Query<UrlQuery>) -> Result<StatusCode> {
    s.pensions.remove_provider(&q.url).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends the owner's find data to every provider, in parallel.
async fn find(State(s): State<OwnerState>) -> Result<Json<Value>> {
    Ok(Json(json!(s.pensions.find().await?)))
}

/// Each provider's resources not yet protected by this wallet.
async fn offers(State(s): State<OwnerState>) -> Result<Json<Value>> {
    Ok(Json(s.pensions.offers().await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Accept {
    provider: String,
    resource_id: String,
    /// The code the provider sent, to move a pension another wallet protects.
    #[serde(default)]
    confirmation_code: Option<String>,
}

/// Accepts an offer: the provider registers the pension at this wallet.
async fn accept(State(s): State<OwnerState>, JsonBody(body): JsonBody<Accept>) -> Result<Json<Value>> {
    Ok(Json(s.pensions.accept(&body.provider, &body.resource_id, body.confirmation_code.as_deref()).await?))
}

/// The identity credential held (what it attests) and the latest sign-in.
async fn identity_credential(State(s): State<OwnerState>) -> Result<Json<Value>> {
    let credential = s.pensions.identity_credential();
    Ok(Json(json!({ "credential": credential.summary()?, "sign_in": credential.sign_in_status() })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GetIdentityCredential {
    /// The identity service's issuer URL.
    issuer: String,
}

/// Starts signing in at an identity service: `202` with the page the owner
/// opens in their browser; the wallet collects the credential when they
/// finish (see `GET /identity/credential`).
async fn get_identity_credential(State(s): State<OwnerState>, JsonBody(body): JsonBody<GetIdentityCredential>) -> Result<Response> {
    let authorize_url = s.pensions.identity_credential().start_sign_in(&body.issuer).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "authorize_url": authorize_url }))).into_response())
}

async fn forget_identity_credential(State(s): State<OwnerState>) -> Result<StatusCode> {
    if s.pensions.identity_credential().forget().await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ProtocolError::not_found("no identity credential is held"))
    }
}

/// The owner's own view of every pension this wallet protects.
async fn my_pensions(State(s): State<OwnerState>) -> Result<Json<Value>> {
    Ok(Json(s.pensions.my_pensions().await?))
}

/// This wallet's DID, the subject of the credentials it holds.
async fn did(State(s): State<OwnerState>) -> Json<Value> {
    Json(json!({ "did": s.pensions.credentials().did() }))
}

async fn credentials(State(s): State<OwnerState>) -> Result<Json<Value>> {
    let list: Vec<Value> = s
        .pensions
        .credentials()
        .list()?
        .into_iter()
        .map(|c| json!({ "id": c.id, "pei": c.pei, "scheme": c.scheme, "issuer": c.issuer, "authorization_server": c.authorization_server, "status": c.status, "received_at": c.received_at }))
        .collect();
    Ok(Json(json!(list)))
}

/// Every credential with its JWT, for backup or another wallet.
async fn export_credentials(State(s): State<OwnerState>) -> Result<Json<Value>> {
    Ok(Json(json!(s.pensions.credentials().list()?)))
}

async fn show_credential(State(s): State<OwnerState>, Path(id): Path<String>) -> Result<Json<Value>> {
    Ok(Json(s.pensions.credentials().show(&id)?))
}

async fn verify_credential(State(s): State<OwnerState>, Path(id): Path<String>) -> Result<Json<Value>> {
    Ok(Json(s.pensions.credentials().verify(&id).await?))
}

async fn delete_credential(State(s): State<OwnerState>, Path(id): Path<String>) -> Result<StatusCode> {
    s.pensions.credentials().delete(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Move {
    provider: String,
    resource_id: String,
    /// The issuer of the authorization server to move to.
    to: String,
    /// An assertion that server minted for the provider.
    assertion: String,
}

/// Moves a pension to another authorization server; the credential is reissued.
async fn move_pension(State(s): State<OwnerState>, JsonBody(body): JsonBody<Move>) -> Result<Json<Value>> {
    Ok(Json(s.pensions.move_to(&body.provider, &body.resource_id, &body.to, &body.assertion).await?))
}

/// Adds every provider of a governance registry document.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportRegistry {
    /// The signed registry (a compact JWS), as the file holds it.
    registry: String,
}

/// Imports a signed governance registry: checked whole against the trusted
/// registry key, then its pension providers are added.
async fn import_registry(State(s): State<OwnerState>, JsonBody(body): JsonBody<ImportRegistry>) -> Result<Json<Value>> {
    let added = s.pensions.import_registry(&body.registry).await?;
    Ok(Json(json!({ "providers": added, "governance": s.pensions.governance().summary()? })))
}

/// The registry key the wallet trusts and the registry it holds.
async fn registry_summary(State(s): State<OwnerState>) -> Result<Json<Value>> {
    Ok(Json(s.pensions.governance().summary()?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryKey {
    /// The registry's did:key.
    key: String,
}

async fn set_registry_key(State(s): State<OwnerState>, JsonBody(body): JsonBody<RegistryKey>) -> Result<Json<Value>> {
    s.pensions.governance().set_trusted_key(&body.key).await?;
    Ok(Json(s.pensions.governance().summary()?))
}

//! The owner HTTP API: everything the owner can do, for the CLI, the app
//! and other local front ends. Bound to loopback; every route but
//! `/openapi.json` and `/identify` needs `Authorization: Bearer <token in
//! the data directory's owner-token>`.
//!
//! Each handler is annotated with its route and types ([`crate::api`]), and
//! the router is built from those annotations, so the OpenAPI document
//! served at `/openapi.json` is the routes themselves.

use crate::api::{self, paths, *};
use crate::{OwnerError, Wallet};
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use tokio_stream::wrappers::BroadcastStream;
use http_guard::inbound::{json_body, MAX_BODY};
use uma_as::id::{ClientId, GrantId, PolicyId, RequestId};
use uma_as::http::openapi::ErrorBody;
use crate::OwnerToken;
use uma_as::secret::SecretHash;
use uma_as::ProtocolError;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as Document;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Clone)]
struct OwnerState {
    wallet: Wallet,
    token: SecretHash,
    /// Turns true when the server stops: event streams end then, rather
    /// than hold its shutdown until their clients go.
    stopping: Option<tokio::sync::watch::Receiver<bool>>,
}

type Result<T> = std::result::Result<T, OwnerError>;

/// The status each failure is answered with; the body is the same
/// `ErrorBody` the authorization server answers with, and what the AS
/// itself refused keeps the AS's answer.
impl IntoResponse for OwnerError {
    fn into_response(self) -> Response {
        let status = match &self {
            OwnerError::Protocol(e) => return e.clone().into_response(),
            OwnerError::Invalid(_) => StatusCode::BAD_REQUEST,
            OwnerError::NotFound(_) => StatusCode::NOT_FOUND,
            OwnerError::WrongPassphrase => StatusCode::FORBIDDEN,
            OwnerError::ConfirmationRequired | OwnerError::OlderCopy(_) => StatusCode::CONFLICT,
            // The owner's request depended on a peer that failed it: not a
            // fault of the wallet's own, so never a 5xx.
            OwnerError::Provider { .. } | OwnerError::IdentityService { .. } => StatusCode::FAILED_DEPENDENCY,
            OwnerError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        uma_as::http::error::no_store(status, ErrorBody { error: self.code().into(), error_description: Some(self.to_string()), ..ErrorBody::default() })
    }
}

/// A JSON body, refused as every other bad request is.
struct JsonBody<T>(T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = ProtocolError;

    async fn from_request(request: Request, _: &S) -> std::result::Result<Self, ProtocolError> {
        json_body(request).await.map(JsonBody).map_err(ProtocolError::from)
    }
}

/// Query parameters, refused as every other bad request is (a JSON error
/// body), not as axum's plain-text rejection.
struct QueryParams<T>(T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = OwnerError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or(""))
            .map(QueryParams)
            .map_err(|e| OwnerError::invalid(format!("query: {e}")))
    }
}

/// An id from the path: letters, digits, `-` and `_` only.
struct Id(String);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = OwnerError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let Path(id) = Path::<String>::from_request_parts(parts, state).await.map_err(|_| OwnerError::not_found("no such id"))?;
        if api::is_id(&id) {
            Ok(Id(id))
        } else {
            Err(OwnerError::not_found("no such id"))
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "uma-wallet owner API", description = "Everything the owner of a wallet can do: her pensions, who may see them, and the record of it. Served on loopback only."),
    components(schemas(ErrorBody, OwnerEvent)),
    security(("owner_token" = [])),
    modifiers(&OwnerSecurity, &ErrorAnswers)
)]
struct OwnerApiDoc;

/// The owner token as a bearer scheme.
struct OwnerSecurity;

impl Modify for OwnerSecurity {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme("owner_token", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

/// Every operation may fail with an [`ErrorBody`]: `default` says so for
/// each status a route does not list itself.
struct ErrorAnswers;

impl Modify for ErrorAnswers {
    fn modify(&self, doc: &mut Document) {
        uma_as::http::openapi::document_error_answers(doc, "An error: `error` is its code, `error_description` says why.");
    }
}

/// The router and the OpenAPI document of its routes.
fn routes() -> (axum::Router<OwnerState>, Document) {
    let protected = OpenApiRouter::new()
        .routes(routes!(status))
        .routes(routes!(clients))
        .routes(routes!(approve_client))
        .routes(routes!(refuse_client))
        .routes(routes!(resources))
        .routes(routes!(pending))
        .routes(routes!(approve_request))
        .routes(routes!(request_preview))
        .routes(routes!(deny_request))
        .routes(routes!(policies, add_policy))
        .routes(routes!(remove_policy))
        .routes(routes!(grants))
        .routes(routes!(revoke_grant))
        .routes(routes!(receipts))
        .routes(routes!(trusted_issuers, trust_issuer, distrust_issuer))
        .routes(routes!(audit))
        .routes(routes!(audit_verify))
        .routes(routes!(audit_export))
        .routes(routes!(mint_assertion))
        .routes(routes!(events))
        .routes(routes!(identity, set_identity))
        .routes(routes!(identity_credential, get_identity_credential, forget_identity_credential))
        .routes(routes!(providers, add_provider, remove_provider))
        .routes(routes!(find))
        .routes(routes!(offers))
        .routes(routes!(offer_link))
        .routes(routes!(accept))
        .routes(routes!(move_pension))
        .routes(routes!(address_status, follow_address))
        .routes(routes!(registry_summary, import_registry))
        .routes(routes!(set_registry_key))
        .routes(routes!(fetch_registry))
        .routes(routes!(my_pensions))
        .routes(routes!(did))
        .routes(routes!(credentials))
        .routes(routes!(export_credentials))
        .routes(routes!(show_credential, delete_credential))
        .routes(routes!(verify_credential))
        .routes(routes!(change_passphrase))
        .routes(routes!(check_passphrase))
        .routes(routes!(back_up, backups));
    let open = OpenApiRouter::with_openapi(OwnerApiDoc::openapi()).routes(routes!(openapi)).routes(routes!(identify));
    let (protected, protected_doc) = protected.split_for_parts();
    let (open, mut doc) = open.split_for_parts();
    doc.merge(protected_doc);
    // Modifiers run before the routes join the document; run them again over it all.
    ErrorAnswers.modify(&mut doc);
    (open.merge(protected), doc)
}

/// The owner API's OpenAPI 3.1 document, generated from its routes.
pub fn openapi_document() -> Document {
    routes().1
}

static OPENAPI_JSON: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| openapi_document().to_json().expect("the document serialises"));

pub fn router(wallet: &Wallet, owner_token: &OwnerToken) -> axum::Router {
    router_until(wallet, owner_token, None)
}

/// [`router`] for a server whose event streams end once `stopping` turns true.
pub fn router_until(wallet: &Wallet, owner_token: &OwnerToken, stopping: Option<tokio::sync::watch::Receiver<bool>>) -> axum::Router {
    let state = OwnerState { wallet: wallet.clone(), token: owner_token.hash(), stopping };
    let (router, _) = routes();
    let router = router
        .fallback(|| async { OwnerError::not_found("no such endpoint") })
        .method_not_allowed_fallback(|| async { ProtocolError::UnsupportedMethodType })
        .layer(middleware::from_fn_with_state(state.clone(), require_owner))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state);
    http_guard::trace::traced(router)
}

/// Opens the wallet with a passphrase: what a locked server does with the
/// one it is given ([`locked_router`]).
pub type Unlock = std::sync::Arc<dyn Fn(CheckPassphrase) -> futures_util::future::BoxFuture<'static, Result<()>> + Send + Sync>;

#[derive(Clone)]
struct LockedState {
    token: SecretHash,
    unlock: Unlock,
}

/// The owner API of a server started before its passphrase was given
/// (`uma-wallet serve --locked`): the proof a client checks, and
/// `POST /passphrase/check`, which opens the wallet with a right passphrase
/// (the same call that, once open, only checks it). Anything else is
/// refused with 423 `wallet_locked` until then.
pub fn locked_router(owner_token: &OwnerToken, unlock: Unlock) -> axum::Router {
    let state = LockedState { token: owner_token.hash(), unlock };
    let router = axum::Router::new()
        .route(paths::IDENTIFY, axum::routing::post(locked_identify))
        .route(paths::PASSPHRASE_CHECK, axum::routing::post(locked_unlock))
        .fallback(|| async {
            let body = ErrorBody {
                error: "wallet_locked".into(),
                error_description: Some("the wallet is locked: give its passphrase first (POST /passphrase/check)".into()),
                ..Default::default()
            };
            (StatusCode::LOCKED, Json(body)).into_response()
        })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state);
    http_guard::trace::traced(router)
}

async fn locked_identify(State(s): State<LockedState>, JsonBody(body): JsonBody<IdentifyRequest>) -> Result<Json<IdentifyProof>> {
    prove(&s.token, &body)
}

async fn locked_unlock(State(s): State<LockedState>, headers: axum::http::HeaderMap, JsonBody(body): JsonBody<CheckPassphrase>) -> Response {
    if !presents(&headers, &s.token) {
        return ProtocolError::invalid_token("the owner API token is missing or wrong").into_response();
    }
    match (s.unlock)(body).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// Whether `headers` carry the owner token (as a bearer token).
fn presents(headers: &axum::http::HeaderMap, token: &SecretHash) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .is_some_and(|(_, presented)| OwnerToken::new(presented.trim()).matches(token))
}

/// Routes anyone on loopback may call: the document, and the proof a
/// client checks before it sends the owner token.
fn is_open(path: &str) -> bool {
    path == paths::OPENAPI || path == paths::IDENTIFY
}

async fn require_owner(State(state): State<OwnerState>, request: Request, next: Next) -> Response {
    if is_open(request.uri().path()) || presents(request.headers(), &state.token) {
        return next.run(request).await;
    }
    ProtocolError::invalid_token("the owner API token is missing or wrong").into_response()
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

/// Lets a command line check that the server `server.json` points at is
/// this wallet before it sends the owner token (a stale file may point at a
/// port someone else now listens on).
#[utoipa::path(post, path = paths::IDENTIFY, security(()), request_body = IdentifyRequest, responses((status = 200, body = IdentifyProof)))]
#[tracing::instrument(skip_all)]
async fn identify(State(s): State<OwnerState>, JsonBody(body): JsonBody<IdentifyRequest>) -> Result<Json<IdentifyProof>> {
    prove(&s.token, &body)
}

/// The answer to an identify request, open or locked.
fn prove(token: &SecretHash, request: &IdentifyRequest) -> Result<Json<IdentifyProof>> {
    if !(16..=256).contains(&request.nonce.len()) {
        return Err(OwnerError::invalid("the nonce is 16 to 256 characters"));
    }
    Ok(Json(IdentifyProof { proof: owner_proof(token, &request.nonce) }))
}

/// This document.
#[utoipa::path(get, path = paths::OPENAPI, security(()), responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = uma_as::http::openapi::OpenApiOutline)))]
#[tracing::instrument(skip_all)]
async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON.as_str()).into_response()
}

/// How much the authorization server holds.
#[utoipa::path(get, path = paths::STATUS, responses((status = 200, body = Stats)))]
#[tracing::instrument(skip_all)]
async fn status(State(s): State<OwnerState>) -> Json<Stats> {
    Json(s.wallet.server().stats())
}

/// Every registered client, with what the governance registry says of it.
#[utoipa::path(get, path = paths::CLIENTS, responses((status = 200, body = Vec<ClientView>)))]
#[tracing::instrument(skip_all)]
async fn clients(State(s): State<OwnerState>) -> Json<Vec<ClientView>> {
    Json(s.wallet.clients())
}

/// Connects a resource server waiting for the owner's approval.
#[utoipa::path(post, path = paths::CLIENT_APPROVE, params(("id" = String, Path, description = "The client id")), responses((status = 200, body = ClientDecision)))]
#[tracing::instrument(skip_all)]
async fn approve_client(State(s): State<OwnerState>, Id(id): Id) -> Result<Json<ClientDecision>> {
    decide_client(&s, &ClientId::from(id), true).await
}

/// Refuses a resource server: it gets no protection API access.
#[utoipa::path(post, path = paths::CLIENT_REFUSE, params(("id" = String, Path, description = "The client id")), responses((status = 200, body = ClientDecision)))]
#[tracing::instrument(skip_all)]
async fn refuse_client(State(s): State<OwnerState>, Id(id): Id) -> Result<Json<ClientDecision>> {
    decide_client(&s, &ClientId::from(id), false).await
}

#[tracing::instrument(skip_all)]
async fn decide_client(s: &OwnerState, id: &ClientId, approve: bool) -> Result<Json<ClientDecision>> {
    let client = s.wallet.server().decide_resource_server(id, approve).await?;
    Ok(Json(ClientDecision { client_id: client.client_id, protection: client.protection }))
}

/// The pensions (resources) providers registered here.
#[utoipa::path(get, path = paths::RESOURCES, responses((status = 200, body = Vec<Resource>)))]
#[tracing::instrument(skip_all)]
async fn resources(State(s): State<OwnerState>) -> Json<Vec<Resource>> {
    Json(s.wallet.server().resources())
}

/// Access requests waiting for the owner, each with what the governance
/// registry says of the app asking.
#[utoipa::path(get, path = paths::PENDING, params(PendingQuery), responses((status = 200, body = Vec<PendingView>)))]
#[tracing::instrument(skip_all)]
async fn pending(State(s): State<OwnerState>, QueryParams(q): QueryParams<PendingQuery>) -> Result<Json<Vec<PendingView>>> {
    Ok(Json(s.wallet.requests(q.all)?))
}

/// Approves a request. The body is optional: none approves everything
/// that was asked, for as long as the owner's rules allow.
#[utoipa::path(
    post,
    path = paths::PENDING_APPROVE,
    params(("id" = String, Path, description = "The request id")),
    request_body = Option<Approval>,
    responses((status = 200, body = PendingRequest))
)]
#[tracing::instrument(skip_all)]
async fn approve_request(State(s): State<OwnerState>, Id(id): Id, body: axum::body::Bytes) -> Result<Json<PendingRequest>> {
    let approval: Approval = if body.iter().all(u8::is_ascii_whitespace) {
        Approval::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| OwnerError::invalid(format!("malformed JSON: {e}")))?
    };
    Ok(Json(s.wallet.approve_request(&RequestId::from(id), approval).await?))
}

/// What the request would release, pension by pension and scope by
/// scope, with the owner's own values, read now from each provider.
#[utoipa::path(get, path = paths::PENDING_PREVIEW, params(("id" = String, Path, description = "The request id")), responses((status = 200, body = Vec<PensionPreview>)))]
#[tracing::instrument(skip_all)]
async fn request_preview(State(s): State<OwnerState>, Id(id): Id) -> Result<Json<Vec<PensionPreview>>> {
    Ok(Json(s.wallet.request_preview(&RequestId::from(id)).await?))
}

#[utoipa::path(post, path = paths::PENDING_DENY, params(("id" = String, Path, description = "The request id")), responses((status = 200, body = PendingRequest)))]
#[tracing::instrument(skip_all)]
async fn deny_request(State(s): State<OwnerState>, Id(id): Id) -> Result<Json<PendingRequest>> {
    Ok(Json(s.wallet.server().deny_request(&RequestId::from(id)).await?))
}

/// The owner's rules.
#[utoipa::path(get, path = paths::POLICIES, responses((status = 200, body = Vec<Policy>)))]
#[tracing::instrument(skip_all)]
async fn policies(State(s): State<OwnerState>) -> Json<Vec<Policy>> {
    Json(s.wallet.policies())
}

#[utoipa::path(post, path = paths::POLICIES, request_body = NewPolicy, responses((status = 201, body = Policy)))]
#[tracing::instrument(skip_all)]
async fn add_policy(State(s): State<OwnerState>, JsonBody(policy): JsonBody<NewPolicy>) -> Result<(StatusCode, Json<Policy>)> {
    Ok((StatusCode::CREATED, Json(s.wallet.server().add_policy(policy).await?)))
}

#[utoipa::path(delete, path = paths::POLICY, params(("id" = String, Path, description = "The policy id")), responses((status = 200, body = Policy)))]
#[tracing::instrument(skip_all)]
async fn remove_policy(State(s): State<OwnerState>, Id(id): Id) -> Result<Json<Policy>> {
    Ok(Json(s.wallet.server().remove_policy(&PolicyId::from(id)).await?))
}

/// Every grant, in force or not.
#[utoipa::path(get, path = paths::GRANTS, responses((status = 200, body = Vec<GrantView>)))]
#[tracing::instrument(skip_all)]
async fn grants(State(s): State<OwnerState>) -> Json<Vec<GrantView>> {
    Json(s.wallet.grants())
}

/// Stops a grant, and any standing rule that would let the same app back
/// in to the same pension without asking.
#[utoipa::path(post, path = paths::GRANT_REVOKE, params(("id" = String, Path, description = "The grant id")), responses((status = 200, body = Grant)))]
#[tracing::instrument(skip_all)]
async fn revoke_grant(State(s): State<OwnerState>, Id(id): Id) -> Result<Json<Grant>> {
    Ok(Json(s.wallet.stop_sharing(&GrantId::from(id)).await?))
}

/// The owner's consent receipts: one for each approval given, saying who
/// may see what, since and until when, whether it was withdrawn, and how
/// to withdraw it; each with the access grant credential the wallet issued
/// for it (signed by the wallet's DID, revoked with the grant).
#[utoipa::path(get, path = paths::RECEIPTS, responses((status = 200, body = Vec<Receipt>)))]
#[tracing::instrument(skip_all)]
async fn receipts(State(s): State<OwnerState>) -> Result<Json<Vec<Receipt>>> {
    Ok(Json(s.wallet.receipts()?))
}

/// The identity providers and credential issuers the owner trusts.
#[utoipa::path(get, path = paths::TRUSTED_ISSUERS, responses((status = 200, body = Vec<TrustedIssuer>)))]
#[tracing::instrument(skip_all)]
async fn trusted_issuers(State(s): State<OwnerState>) -> Result<Json<Vec<TrustedIssuer>>> {
    Ok(Json(s.wallet.server().trusted_issuers()?))
}

#[utoipa::path(post, path = paths::TRUSTED_ISSUERS, request_body = TrustIssuer, responses((status = 201, body = TrustedIssuer)))]
#[tracing::instrument(skip_all)]
async fn trust_issuer(State(s): State<OwnerState>, JsonBody(body): JsonBody<TrustIssuer>) -> Result<(StatusCode, Json<TrustedIssuer>)> {
    let record = s.wallet.server().trust_issuer(&body.issuer, body.jwks_uri, body.client_ids).await?;
    Ok((StatusCode::CREATED, Json(record)))
}

#[utoipa::path(delete, path = paths::TRUSTED_ISSUERS, params(IssuerQuery), responses((status = 204, description = "No longer trusted")))]
#[tracing::instrument(skip_all)]
async fn distrust_issuer(State(s): State<OwnerState>, QueryParams(q): QueryParams<IssuerQuery>) -> Result<StatusCode> {
    s.wallet.server().distrust_issuer(&q.issuer).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The newest audit entries that match the query, newest first.
#[utoipa::path(get, path = paths::AUDIT, params(AuditQuery), responses((status = 200, body = Vec<ActivityEntry>)))]
#[tracing::instrument(skip_all)]
async fn audit(State(s): State<OwnerState>, QueryParams(q): QueryParams<AuditQuery>) -> Result<Json<Vec<ActivityEntry>>> {
    // Decrypting thousands of entries is blocking work: off the runtime the
    // authorization server shares.
    let wallet = s.wallet.clone();
    Ok(Json(tokio::task::spawn_blocking(move || wallet.activity(&q)).await.map_err(OwnerError::internal)??))
}

/// Walks the audit log's hash chain.
#[utoipa::path(get, path = paths::AUDIT_VERIFY, responses((status = 200, body = AuditVerification)))]
#[tracing::instrument(skip_all)]
async fn audit_verify(State(s): State<OwnerState>) -> Result<Json<AuditVerification>> {
    Ok(Json(match s.wallet.server().audit_log().verify()? {
        Ok(entries) => AuditVerification { intact: true, entries: Some(entries), broken_at: None, reason: None },
        Err(broken) => AuditVerification { intact: false, entries: None, broken_at: Some(broken.seq), reason: Some(broken.reason) },
    }))
}

/// The whole audit log, oldest first.
#[utoipa::path(get, path = paths::AUDIT_EXPORT, responses((status = 200, body = Vec<AuditEntry>)))]
#[tracing::instrument(skip_all)]
async fn audit_export(State(s): State<OwnerState>) -> Result<Json<Vec<AuditEntry>>> {
    Ok(Json(s.wallet.server().audit_log().export()?))
}

/// An assertion a resource server connects to this wallet with (RFC 7523).
#[utoipa::path(post, path = paths::ASSERTIONS, request_body = AssertionRequest, responses((status = 200, body = MintedAssertion)))]
#[tracing::instrument(skip_all)]
async fn mint_assertion(State(s): State<OwnerState>, JsonBody(body): JsonBody<AssertionRequest>) -> Result<Json<MintedAssertion>> {
    let server = s.wallet.server();
    Ok(Json(MintedAssertion {
        assertion: server.mint_assertion(&body.resource_server, body.lifetime)?,
        grant_type: uma_as::model::GrantType::JwtBearer.as_str().into(),
        token_endpoint: server.config().endpoint("/token"),
    }))
}

/// Server-sent events: one [`OwnerEvent`] (JSON) per new request or
/// resource server waiting.
#[utoipa::path(get, path = paths::EVENTS, responses((status = 200, description = "A stream of OwnerEvent, one JSON object per `data:` line", content_type = "text/event-stream")))]
#[tracing::instrument(skip_all)]
async fn events(State(s): State<OwnerState>) -> impl IntoResponse {
    let stream = BroadcastStream::new(s.wallet.server().subscribe()).filter_map(|event| async move {
        let event = event.ok()?;
        let data = serde_json::to_string(&event).ok()?;
        Some(Ok::<_, std::convert::Infallible>(Event::default().data(data)))
    });
    let stopping = s.stopping.clone();
    let stopped = async move {
        match stopping {
            Some(mut stopping) => {
                let _ = stopping.wait_for(|stopped| *stopped).await;
            }
            None => std::future::pending().await,
        }
    };
    Sse::new(stream.take_until(stopped)).keep_alive(KeepAlive::default())
}

/// The identity details the owner gave.
#[utoipa::path(get, path = paths::IDENTITY, responses((status = 200, body = Identity)))]
#[tracing::instrument(skip_all)]
async fn identity(State(s): State<OwnerState>) -> Result<Json<Identity>> {
    Ok(Json(s.wallet.pensions().identity()?.ok_or_else(|| OwnerError::not_found("no identity details yet"))?))
}

#[utoipa::path(put, path = paths::IDENTITY, request_body = Identity, responses((status = 200, body = Identity)))]
#[tracing::instrument(skip_all)]
async fn set_identity(State(s): State<OwnerState>, JsonBody(identity): JsonBody<Identity>) -> Result<Json<Identity>> {
    s.wallet.pensions().set_identity(identity.clone()).await?;
    Ok(Json(identity))
}

/// The identity credential held (what it attests) and the latest sign-in.
#[utoipa::path(get, path = paths::IDENTITY_CREDENTIAL, responses((status = 200, body = IdentityCredentialStatus)))]
#[tracing::instrument(skip_all)]
async fn identity_credential(State(s): State<OwnerState>) -> Result<Json<IdentityCredentialStatus>> {
    let credential = s.wallet.pensions().identity_credential();
    Ok(Json(IdentityCredentialStatus { credential: credential.summary()?, sign_in: credential.sign_in_status() }))
}

/// Starts signing in at an identity service: the page the owner opens in
/// her browser; the wallet collects the credential when she finishes (see
/// `GET /identity/credential`).
#[utoipa::path(post, path = paths::IDENTITY_CREDENTIAL, request_body = SignInRequest, responses((status = 202, body = SignInStarted)))]
#[tracing::instrument(skip_all)]
async fn get_identity_credential(State(s): State<OwnerState>, JsonBody(body): JsonBody<SignInRequest>) -> Result<(StatusCode, Json<SignInStarted>)> {
    let authorize_url = s.wallet.pensions().identity_credential().start_sign_in(&body.issuer).await?;
    Ok((StatusCode::ACCEPTED, Json(SignInStarted { authorize_url })))
}

#[utoipa::path(delete, path = paths::IDENTITY_CREDENTIAL, responses((status = 204, description = "Forgotten")))]
#[tracing::instrument(skip_all)]
async fn forget_identity_credential(State(s): State<OwnerState>) -> Result<StatusCode> {
    if s.wallet.pensions().identity_credential().forget().await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(OwnerError::not_found("no identity credential is held"))
    }
}

/// The pension providers the wallet asks.
#[utoipa::path(get, path = paths::PROVIDERS, responses((status = 200, body = Vec<ProviderEntry>)))]
#[tracing::instrument(skip_all)]
async fn providers(State(s): State<OwnerState>) -> Result<Json<Vec<ProviderEntry>>> {
    Ok(Json(s.wallet.pensions().providers()?))
}

#[utoipa::path(post, path = paths::PROVIDERS, request_body = AddProvider, responses((status = 201, body = ProviderEntry)))]
#[tracing::instrument(skip_all)]
async fn add_provider(State(s): State<OwnerState>, JsonBody(body): JsonBody<AddProvider>) -> Result<(StatusCode, Json<ProviderEntry>)> {
    Ok((StatusCode::CREATED, Json(s.wallet.pensions().add_provider(&body.url, body.name).await?)))
}

/// Forgets a provider and disconnects it.
#[utoipa::path(delete, path = paths::PROVIDERS, params(UrlQuery), responses((status = 204, description = "Forgotten")))]
#[tracing::instrument(skip_all)]
async fn remove_provider(State(s): State<OwnerState>, QueryParams(q): QueryParams<UrlQuery>) -> Result<StatusCode> {
    s.wallet.pensions().remove_provider(&q.url).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends the owner's find data to every provider, in parallel.
#[utoipa::path(post, path = paths::FIND, responses((status = 200, body = Vec<ProviderOutcome>)))]
#[tracing::instrument(skip_all)]
async fn find(State(s): State<OwnerState>) -> Result<Json<Vec<ProviderOutcome>>> {
    Ok(Json(s.wallet.pensions().find().await?))
}

/// Each provider's pensions not yet protected by this wallet (or one
/// provider's, when named).
#[utoipa::path(get, path = paths::OFFERS, params(OffersQuery), responses((status = 200, body = Offers)))]
#[tracing::instrument(skip_all)]
async fn offers(State(s): State<OwnerState>, QueryParams(q): QueryParams<OffersQuery>) -> Result<Json<Offers>> {
    let pensions = s.wallet.pensions();
    Ok(Json(match q.provider {
        Some(provider) => pensions.offers_at(&provider).await?,
        None => pensions.offers().await?,
    }))
}

/// Reads an `openid-credential-offer://` link: which of the owner's
/// providers offers. Stores nothing.
#[utoipa::path(post, path = paths::OFFERS_LINK, request_body = ReadOfferLink, responses((status = 200, body = OfferLink)))]
#[tracing::instrument(skip_all)]
async fn offer_link(State(s): State<OwnerState>, JsonBody(body): JsonBody<ReadOfferLink>) -> Result<Json<OfferLink>> {
    Ok(Json(s.wallet.pensions().read_offer_link(&body.link).await?))
}

/// Accepts an offer: the provider registers the pension at this wallet and
/// issues a credential for it.
#[utoipa::path(post, path = paths::OFFERS_ACCEPT, request_body = AcceptOffer, responses((status = 200, body = Accepted)))]
#[tracing::instrument(skip_all)]
async fn accept(State(s): State<OwnerState>, JsonBody(body): JsonBody<AcceptOffer>) -> Result<Json<Accepted>> {
    Ok(Json(s.wallet.pensions().accept(&body.provider, &body.resource_id, body.confirmation_code.as_deref()).await?))
}

/// Moves a pension to another authorization server; the credential is reissued.
#[utoipa::path(post, path = paths::PENSIONS_MOVE, request_body = MovePension, responses((status = 200, body = Accepted)))]
#[tracing::instrument(skip_all)]
async fn move_pension(State(s): State<OwnerState>, JsonBody(body): JsonBody<MovePension>) -> Result<Json<Accepted>> {
    Ok(Json(s.wallet.pensions().move_to(&body.provider, &body.resource_id, &body.to, &body.assertion).await?))
}

/// The wallet's address, and the pensions whose provider still names an
/// earlier one.
#[utoipa::path(get, path = paths::PENSIONS_ADDRESS, responses((status = 200, body = AddressStatus)))]
#[tracing::instrument(skip_all)]
async fn address_status(State(s): State<OwnerState>) -> Result<Json<AddressStatus>> {
    Ok(Json(s.wallet.pensions().address_status()?))
}

/// Tells each provider that still names an earlier address of this wallet
/// to name the current one; what moved and what did not.
#[utoipa::path(post, path = paths::PENSIONS_ADDRESS, responses((status = 200, body = AddressReport)))]
#[tracing::instrument(skip_all)]
async fn follow_address(State(s): State<OwnerState>) -> Result<Json<AddressReport>> {
    Ok(Json(s.wallet.pensions().follow_address().await?))
}

/// The registry key the wallet trusts and the registry it holds.
#[utoipa::path(get, path = paths::REGISTRY, responses((status = 200, body = GovernanceSummary)))]
#[tracing::instrument(skip_all)]
async fn registry_summary(State(s): State<OwnerState>) -> Result<Json<GovernanceSummary>> {
    Ok(Json(s.wallet.pensions().governance().summary()?))
}

/// Imports a signed governance registry: checked whole against the
/// trusted registry key, then its pension providers are added.
#[utoipa::path(post, path = paths::REGISTRY, request_body = ImportRegistry, responses((status = 200, body = RegistryImported)))]
#[tracing::instrument(skip_all)]
async fn import_registry(State(s): State<OwnerState>, JsonBody(body): JsonBody<ImportRegistry>) -> Result<Json<RegistryImported>> {
    let providers = s.wallet.pensions().import_registry(&body.registry).await?;
    Ok(Json(RegistryImported { providers, governance: s.wallet.pensions().governance().summary()? }))
}

/// Fetches the signed registry from where it is published, checks it
/// whole against the registry key and adds its pension providers: how the
/// owner's providers are found with nothing to type.
#[utoipa::path(post, path = paths::REGISTRY_FETCH, request_body = FetchRegistry, responses((status = 200, body = RegistryImported)))]
#[tracing::instrument(skip_all)]
async fn fetch_registry(State(s): State<OwnerState>, JsonBody(body): JsonBody<FetchRegistry>) -> Result<Json<RegistryImported>> {
    let providers = s.wallet.pensions().fetch_registry(body.url.as_deref(), body.key.as_deref()).await?;
    Ok(Json(RegistryImported { providers, governance: s.wallet.pensions().governance().summary()? }))
}

#[utoipa::path(put, path = paths::REGISTRY_KEY, request_body = RegistryKey, responses((status = 200, body = GovernanceSummary)))]
#[tracing::instrument(skip_all)]
async fn set_registry_key(State(s): State<OwnerState>, JsonBody(body): JsonBody<RegistryKey>) -> Result<Json<GovernanceSummary>> {
    let governance = s.wallet.pensions().governance();
    governance.set_trusted_key(&body.key).await?;
    Ok(Json(governance.summary()?))
}

/// The owner's own view of every pension this wallet protects.
#[utoipa::path(get, path = paths::PENSIONS, responses((status = 200, body = MyPensions)))]
#[tracing::instrument(skip_all)]
async fn my_pensions(State(s): State<OwnerState>) -> Result<Json<MyPensions>> {
    Ok(Json(s.wallet.pensions().my_pensions().await?))
}

/// This wallet's DID, the subject of the credentials it holds.
#[utoipa::path(get, path = paths::DID, responses((status = 200, body = Did)))]
#[tracing::instrument(skip_all)]
async fn did(State(s): State<OwnerState>) -> Json<Did> {
    Json(Did { did: s.wallet.pensions().credentials().did().to_string() })
}

/// The credentials the wallet holds, without their JWTs.
#[utoipa::path(get, path = paths::CREDENTIALS, responses((status = 200, body = Vec<CredentialSummary>)))]
#[tracing::instrument(skip_all)]
async fn credentials(State(s): State<OwnerState>) -> Result<Json<Vec<CredentialSummary>>> {
    Ok(Json(s.wallet.pensions().credentials().list()?.into_iter().map(CredentialSummary::from).collect()))
}

/// Every credential with its JWT, for backup or another wallet.
#[utoipa::path(get, path = paths::CREDENTIALS_EXPORT, responses((status = 200, body = Vec<StoredCredential>)))]
#[tracing::instrument(skip_all)]
async fn export_credentials(State(s): State<OwnerState>) -> Result<Json<Vec<StoredCredential>>> {
    Ok(Json(s.wallet.pensions().credentials().list()?))
}

#[utoipa::path(get, path = paths::CREDENTIAL, params(("id" = String, Path, description = "The credential id")), responses((status = 200, body = CredentialDetail)))]
#[tracing::instrument(skip_all)]
async fn show_credential(State(s): State<OwnerState>, Id(id): Id) -> Result<Json<CredentialDetail>> {
    Ok(Json(s.wallet.pensions().credentials().show(&id)?))
}

/// Verifies a credential again, against what it was accepted for.
#[utoipa::path(post, path = paths::CREDENTIAL_VERIFY, params(("id" = String, Path, description = "The credential id")), responses((status = 200, body = CredentialCheck)))]
#[tracing::instrument(skip_all)]
async fn verify_credential(State(s): State<OwnerState>, Id(id): Id) -> Result<Json<CredentialCheck>> {
    Ok(Json(s.wallet.pensions().credentials().verify(&id).await?))
}

#[utoipa::path(delete, path = paths::CREDENTIAL, params(("id" = String, Path, description = "The credential id")), responses((status = 204, description = "Deleted")))]
#[tracing::instrument(skip_all)]
async fn delete_credential(State(s): State<OwnerState>, Id(id): Id) -> Result<StatusCode> {
    s.wallet.pensions().credentials().delete(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the wallet's passphrase: the data key is sealed again under the
/// new one, no record is rewritten. Backups made before keep the old one.
#[utoipa::path(post, path = paths::PASSPHRASE, request_body = ChangePassphrase, responses((status = 204, description = "Changed")))]
#[tracing::instrument(skip_all)]
async fn change_passphrase(State(s): State<OwnerState>, JsonBody(body): JsonBody<ChangePassphrase>) -> Result<StatusCode> {
    s.wallet.change_passphrase(&body.current, &body.new).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Whether `passphrase` is the wallet's (403 `wrong_passphrase` if not):
/// the owner token lets a program act for the owner, and an app that shows
/// her screens still asks her for the passphrase. Slow: the key derivation runs.
#[utoipa::path(post, path = paths::PASSPHRASE_CHECK, request_body = CheckPassphrase, responses((status = 204, description = "It is the wallet's passphrase")))]
#[tracing::instrument(skip_all)]
async fn check_passphrase(State(s): State<OwnerState>, JsonBody(body): JsonBody<CheckPassphrase>) -> Result<StatusCode> {
    s.wallet.check_passphrase(&body.passphrase).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A sealed backup of the whole wallet, made now in the wallet's backup
/// folder. It opens with the passphrase the wallet has now.
#[utoipa::path(post, path = paths::BACKUPS, responses((status = 201, body = BackupFile)))]
#[tracing::instrument(skip_all)]
async fn back_up(State(s): State<OwnerState>) -> Result<(StatusCode, Json<BackupFile>)> {
    Ok((StatusCode::CREATED, Json(s.wallet.back_up().await?)))
}

/// The backups in the wallet's backup folder, newest first.
#[utoipa::path(get, path = paths::BACKUPS, responses((status = 200, body = Vec<BackupFile>)))]
#[tracing::instrument(skip_all)]
async fn backups(State(s): State<OwnerState>) -> Json<Vec<BackupFile>> {
    Json(s.wallet.backups())
}

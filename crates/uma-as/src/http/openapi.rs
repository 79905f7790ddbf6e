//! The OpenAPI document of the authorization server's public protocol
//! endpoints, generated from the handlers' annotations and served at
//! `/openapi.json`: the reference an engineer pokes this AS with. The specs
//! remain the contract (UMA 2.0 Grant and Federated Authorization, RFC 6749,
//! 7591, 7662, 7009, 8414); this says how this server answers them.

use crate::id::{GrantId, ResourceId};
use crate::client_registration::ClientMetadata;
use crate::discovery::Metadata;
use crate::introspection::{IntrospectedPermission, Introspection};
use crate::model::{Permission, ResourceDescription};
use crate::pat::AccessTokenResponse;
use crate::token::RptResponse;
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

/// An error answer (RFC 6749 §5.2; Grant §3.3.6 adds `ticket`,
/// `required_claims`, `redirect_user` and `interval`).
#[derive(Default, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// A new permission ticket (`need_info`, `request_submitted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// What claims would let the request go on (`need_info`): objects with
    /// the optional members `claim_token_format`, `claim_type`,
    /// `friendly_name`, `issuer` and `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_claims: Option<Vec<serde_json::Value>>,
    /// The claims interaction URI the client sends the requesting party to
    /// (`need_info`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_user: Option<String>,
    /// Seconds to wait before polling again (`request_submitted`, `slow_down`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u64>,
}

/// `POST /token` (application/x-www-form-urlencoded). Which members count
/// depends on `grant_type`: `urn:ietf:params:oauth:grant-type:uma-ticket`
/// (Grant §3.3.1) with client authentication; `client_credentials` for a
/// PAT; `urn:ietf:params:oauth:grant-type:jwt-bearer` with an owner-minted
/// assertion for a PAT (RFC 7523 §2.1).
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct TokenForm {
    grant_type: String,
    ticket: Option<String>,
    claim_token: Option<String>,
    claim_token_format: Option<String>,
    pct: Option<String>,
    rpt: Option<String>,
    /// Space-separated.
    scope: Option<String>,
    assertion: Option<String>,
    /// With `client_secret_post`.
    client_id: Option<String>,
    client_secret: Option<String>,
    /// With `private_key_jwt` (RFC 7523 §2.2).
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

/// `POST /revoke` (RFC 7009 §2.1).
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct RevokeForm {
    token: String,
    token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// `POST /introspect` (RFC 7662 §2.1), with the caller's PAT.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct IntrospectForm {
    token: String,
    token_type_hint: Option<String>,
}

/// `POST /access-grants`: an RPT the client holds, with client authentication.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct AccessGrantsForm {
    rpt: String,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

/// `POST /claims`: the claims-gathering page's form.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct ClaimsForm {
    /// The gathering session the page was made for.
    session: String,
    /// The page's anti-forgery token, matched against its cookie.
    csrf: String,
    email: Option<String>,
    name: Option<String>,
    purpose: Option<String>,
    /// A verifiable presentation (SD-JWT VC) for this session.
    presentation: Option<String>,
}

/// A permission ticket (FedAuthz §4.2).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TicketResponse {
    pub ticket: String,
}

/// A registered resource's id (FedAuthz §3.2.1).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct RegisteredResourceId {
    #[serde(rename = "_id")]
    pub id: ResourceId,
}

/// A registered resource (FedAuthz §3.2.2).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ResourceView {
    #[serde(rename = "_id")]
    pub id: ResourceId,
    #[serde(flatten)]
    pub description: ResourceDescription,
}

/// One access grant credential: a `vc+jwt` the wallet signed.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct AccessGrantCredential {
    pub grant_id: GrantId,
    pub credential: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct AccessGrantCredentials {
    pub credentials: Vec<AccessGrantCredential>,
}

/// A JWK Set (RFC 7517 §5).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Jwks {
    pub keys: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// An OpenAPI document's outline, to describe an `/openapi.json` itself.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct OpenApiOutline {
    /// `3.1.0`.
    openapi: String,
    info: serde_json::Map<String, serde_json::Value>,
    paths: serde_json::Map<String, serde_json::Value>,
}

/// One permission or an array of them (FedAuthz §4.1).
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum PermissionRequest {
    One(Permission),
    Many(Vec<Permission>),
}

/// The token endpoint answers an RPT (uma-ticket) or a PAT.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum TokenAnswer {
    Rpt(RptResponse),
    Pat(AccessTokenResponse),
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "uma-wallet authorization server",
        description = "A personal UMA 2.0 authorization server: UMA 2.0 Grant for clients, Federated Authorization's protection API for resource servers."
    ),
    paths(
        super::metadata,
        super::jwks,
        super::openapi_json,
        super::token::register,
        super::token::token,
        super::token::revoke,
        super::access_grants,
        super::status_list,
        super::protection::introspect,
        super::protection::permission,
        super::protection::list_resources,
        super::protection::create_resource,
        super::protection::read_resource,
        super::protection::update_resource,
        super::protection::delete_resource,
        super::claims::show,
        super::claims::submit,
    ),
    components(schemas(ErrorBody, Metadata, ClientMetadata, Introspection, IntrospectedPermission, TokenAnswer)),
    modifiers(&Security, &ErrorAnswers)
)]
pub struct ProtocolApi;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme("pat", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
        components.add_security_scheme("client", SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)));
    }
}

/// Every operation may fail with an [`ErrorBody`].
struct ErrorAnswers;

impl Modify for ErrorAnswers {
    fn modify(&self, doc: &mut Document) {
        document_error_answers(doc, "An error: `error` is its code (RFC 6749 §5.2, FedAuthz §6, Grant §3.3.6).");
    }
}

/// Gives every operation of `doc` a `default` answer: the JSON error body
/// (the schema named `ErrorBody`), for each status it does not list itself.
pub fn document_error_answers(doc: &mut Document, description: &str) {
    let error = ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody"))).build())
        .build();
    for item in doc.paths.paths.values_mut() {
        for operation in [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten() {
            operation.responses.responses.entry("default".into()).or_insert(RefOr::T(error.clone()));
        }
    }
}

/// The document, as served.
pub fn document() -> Document {
    ProtocolApi::openapi()
}

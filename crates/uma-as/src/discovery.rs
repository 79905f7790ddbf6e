//! Authorization server metadata (RFC 8414, with the UMA members of Grant §2
//! and FedAuthz §2), served at both well-known names.

use crate::model::GrantType;
use crate::server::AuthorizationServer;
use serde::Serialize;

/// What the server says of itself (RFC 8414 §2; Grant §2; FedAuthz §2).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Metadata {
    pub issuer: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub registration_endpoint: String,
    pub introspection_endpoint: String,
    pub revocation_endpoint: String,
    pub resource_registration_endpoint: String,
    pub permission_endpoint: String,
    pub claims_interaction_endpoint: String,
    /// REQUIRED by RFC 8414; this AS has no authorization endpoint, so none.
    pub response_types_supported: Vec<String>,
    pub grant_types_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    pub scopes_supported: Vec<String>,
    pub claim_token_profiles_supported: Vec<String>,
    pub uma_profiles_supported: Vec<String>,
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

impl AuthorizationServer {
    pub fn metadata(&self) -> Metadata {
        let c = self.config();
        Metadata {
            issuer: c.issuer.clone(),
            token_endpoint: c.endpoint("/token"),
            jwks_uri: c.endpoint("/jwks"),
            registration_endpoint: c.endpoint("/register"),
            introspection_endpoint: c.endpoint("/introspect"),
            revocation_endpoint: c.endpoint("/revoke"),
            resource_registration_endpoint: c.endpoint("/resource_set"),
            permission_endpoint: c.endpoint("/permission"),
            claims_interaction_endpoint: c.endpoint("/claims"),
            response_types_supported: vec![],
            grant_types_supported: GrantType::ALL.iter().map(|g| g.as_str().to_string()).collect(),
            token_endpoint_auth_methods_supported: strings(&["client_secret_basic", "client_secret_post", "private_key_jwt"]),
            token_endpoint_auth_signing_alg_values_supported: strings(&["EdDSA", "ES256"]),
            introspection_endpoint_auth_methods_supported: strings(&["bearer"]),
            revocation_endpoint_auth_methods_supported: strings(&["client_secret_basic", "client_secret_post"]),
            scopes_supported: strings(&["uma_protection"]),
            claim_token_profiles_supported: strings(&[crate::policy::ID_TOKEN_FORMAT, crate::claims::PRESENTATION_FORMAT]),
            uma_profiles_supported: vec![],
        }
    }
}

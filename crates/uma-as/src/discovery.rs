//! Authorization server metadata (RFC 8414, with the UMA members of Grant §2
//! and FedAuthz §2), served at both well-known names.

use crate::client_registration::{GRANT_CLIENT_CREDENTIALS, GRANT_JWT_BEARER, GRANT_UMA_TICKET};
use crate::server::AuthorizationServer;
use serde_json::{json, Value};

impl AuthorizationServer {
    pub fn metadata(&self) -> Value {
        let c = self.config();
        json!({
            "issuer": c.issuer,
            "token_endpoint": c.endpoint("/token"),
            "jwks_uri": c.endpoint("/jwks"),
            "registration_endpoint": c.endpoint("/register"),
            "introspection_endpoint": c.endpoint("/introspect"),
            "revocation_endpoint": c.endpoint("/revoke"),
            "resource_registration_endpoint": c.endpoint("/resource_set"),
            "permission_endpoint": c.endpoint("/permission"),
            "claims_interaction_endpoint": c.endpoint("/claims"),
            // REQUIRED by RFC 8414; this AS has no authorization endpoint, so none.
            "response_types_supported": [],
            "grant_types_supported": [GRANT_UMA_TICKET, GRANT_CLIENT_CREDENTIALS, GRANT_JWT_BEARER],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["EdDSA", "ES256"],
            "introspection_endpoint_auth_methods_supported": ["bearer"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["uma_protection"],
            "claim_token_profiles_supported": [crate::policy::ID_TOKEN_FORMAT, crate::claims::PRESENTATION_FORMAT],
            "uma_profiles_supported": [],
        })
    }
}

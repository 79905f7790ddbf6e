//! Token introspection for resource servers (RFC 7662 with FedAuthz §5).
//!
//! An active answer carries `permissions`, never `scope`, and only the
//! permissions on the calling resource server's own resources: an RPT that
//! grants nothing there is inactive for that caller.

use crate::id::{ClientId, ResourceId};
use crate::clock::UnixTime;
use crate::pat::ProtectionCaller;
use crate::server::AuthorizationServer;
use serde::{Deserialize, Serialize};

/// One permission of an active RPT (FedAuthz §5.1.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IntrospectedPermission {
    pub resource_id: ResourceId,
    pub resource_scopes: Vec<String>,
    /// Shown only where earlier than the token's own `exp`: the earlier wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<UnixTime>,
}

/// An introspection answer (RFC 7662 §2.2 with FedAuthz §5.1.1): just
/// `active: false`, or the token's facts with its permissions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Introspection {
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<UnixTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<UnixTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<IntrospectedPermission>,
}

impl Introspection {
    fn inactive() -> Self {
        Introspection { active: false, exp: None, iat: None, iss: None, client_id: None, jti: None, token_type: None, permissions: vec![] }
    }
}

impl AuthorizationServer {
    pub fn introspect(&self, caller: &ProtectionCaller, token: &str) -> Result<Introspection, crate::store::StoreError> {
        let Some(record) = self.rpt_record(token) else { return Ok(Introspection::inactive()) };
        let now = self.now();
        // One snapshot for the token's standing and what the caller may see.
        let cache = self.cache().read();
        if cache.rpt_liveness(&record, now) != crate::rpt::Liveness::Active {
            return Ok(Introspection::inactive());
        }
        let permissions: Vec<IntrospectedPermission> = record
            .permissions
            .iter()
            .filter(|p| cache.resources.get(&p.resource_id).is_some_and(|r| r.resource_server == caller.client_id))
            .map(|p| IntrospectedPermission {
                resource_id: p.resource_id.clone(),
                resource_scopes: p.resource_scopes.clone(),
                exp: p.expires_at.filter(|e| *e < record.expires_at),
            })
            .collect();
        if permissions.is_empty() {
            return Ok(Introspection::inactive());
        }
        Ok(Introspection {
            active: true,
            exp: Some(record.expires_at),
            iat: Some(record.issued_at),
            iss: Some(self.config().issuer.clone()),
            client_id: Some(record.client_id),
            jti: Some(record.jti),
            token_type: Some("Bearer".into()),
            permissions,
        })
    }
}

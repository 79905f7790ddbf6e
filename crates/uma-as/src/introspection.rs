//! Token introspection for resource servers (RFC 7662 with FedAuthz §5).
//!
//! An active answer carries `permissions`, never `scope`, and only the
//! permissions on the calling resource server's own resources: an RPT that
//! grants nothing there is inactive for that caller.

use crate::pat::ProtectionCaller;
use crate::secret::SecretHash;
use crate::server::AuthorizationServer;
use serde_json::{json, Value};

impl AuthorizationServer {
    pub fn introspect(&self, caller: &ProtectionCaller, token: &str) -> Result<Value, crate::store::StoreError> {
        let inactive = json!({ "active": false });
        let Some(record) = self.trees().rpts.get(SecretHash::of(token).0)? else { return Ok(inactive) };
        let now = self.now();
        if !self.rpt_is_active(&record, now, false) {
            return Ok(inactive);
        }
        let cache = self.cache().read();
        let permissions: Vec<Value> = record
            .permissions
            .iter()
            .filter(|p| cache.resources.get(&p.resource_id).is_some_and(|r| r.resource_server == caller.client_id))
            .map(|p| {
                let mut v = json!({ "resource_id": p.resource_id, "resource_scopes": p.resource_scopes });
                // A permission's own exp is shown only where it is earlier
                // than the token's, since the earlier one wins (FedAuthz §5.1.1).
                if let Some(exp) = p.expires_at.filter(|e| *e < record.expires_at) {
                    v["exp"] = exp.into();
                }
                v
            })
            .collect();
        if permissions.is_empty() {
            return Ok(inactive);
        }
        Ok(json!({
            "active": true,
            "exp": record.expires_at,
            "iat": record.issued_at,
            "iss": self.config().issuer,
            "client_id": record.client_id,
            "jti": record.jti,
            "token_type": "Bearer",
            "permissions": permissions,
        }))
    }
}

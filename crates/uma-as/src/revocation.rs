//! Token revocation (RFC 7009; Grant §3.7 adds `token_type_hint=pct`).
//!
//! A client may revoke its own RPTs and PCTs. An unknown token is answered
//! like a revoked one (RFC 7009 §2.2); another client's token is refused.

use crate::error::{ProtocolError, ProtocolResult};
use crate::model::Client;
use crate::secret::SecretHash;
use crate::server::AuthorizationServer;
use serde_json::json;

impl AuthorizationServer {
    /// Answers once the revocation is durable: a revoked token stays revoked
    /// after a crash.
    pub async fn revoke_token(&self, client: &Client, token: &str, hint: Option<&str>) -> ProtocolResult<()> {
        let hash = SecretHash::of(token);
        let actor = format!("client:{}", client.client_id);
        let try_pct_first = hint == Some("pct");
        for kind in if try_pct_first { ["pct", "rpt"] } else { ["rpt", "pct"] } {
            let owner = match kind {
                "rpt" => self.rpt_record(token).map(|r| r.client_id),
                _ => self.hot().pct(&hash).map(|r| r.client_id),
            };
            let Some(owner) = owner else { continue };
            if owner != client.client_id {
                self.audit(&actor, "revocation.refused", json!({ "kind": kind }));
                return Err(ProtocolError::unauthorized_client("the token was not issued to this client"));
            }
            match kind {
                "rpt" => {
                    self.revoke_rpt_record(&hash);
                }
                _ => {
                    self.hot().remove_pct(&hash);
                }
            }
            self.hot().commit().await?;
            self.audit(&actor, "revocation.revoked", json!({ "kind": kind }));
            return Ok(());
        }
        Ok(())
    }
}

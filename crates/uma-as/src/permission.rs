//! The permission endpoint (FedAuthz §4): a resource server asks for a
//! permission ticket on behalf of a client that came without a sufficient RPT.

use crate::error::{ProtocolError, ProtocolResult};
use crate::model::{Permission, TicketRecord, TicketSlot};
use crate::pat::ProtectionCaller;
use crate::secret::{role, Secret};
use crate::server::AuthorizationServer;
use crate::ticket::Refusal;
use serde_json::json;

/// At most this many permissions in one request.
const MAX_PERMISSIONS: usize = 100;

impl AuthorizationServer {
    /// Checks every requested permission against the caller's registrations
    /// and returns one ticket for all of them.
    pub fn request_permission(&self, caller: &ProtectionCaller, requested: Vec<Permission>) -> ProtocolResult<Secret<role::Ticket>> {
        if requested.is_empty() {
            return Err(ProtocolError::invalid_request("at least one permission is required"));
        }
        if requested.len() > MAX_PERMISSIONS {
            return Err(ProtocolError::invalid_request(format!("at most {MAX_PERMISSIONS} permissions per request")));
        }
        // A public resource server asks for a ticket on every anonymous
        // request it gets: strangers must not be able to fill this store
        // through it.
        if let Err(wait) = self.inner.tickets.take(caller.client_id.as_str(), self.now()) {
            self.audit_noisy(&format!("resource_server:{}", caller.client_id), "permission.rate_limited", json!({}));
            return Err(ProtocolError::temporarily_unavailable("too many permission requests; try again later", wait));
        }
        let mut permissions: Vec<Permission> = Vec::with_capacity(requested.len());
        {
            let cache = self.cache().read();
            for p in requested {
                let resource = match cache.resources.get(&p.resource_id) {
                    Some(r) if r.resource_server == caller.client_id => r,
                    _ => return Err(ProtocolError::invalid_resource_id(format!("resource {:?} is not registered", p.resource_id))),
                };
                if let Some(s) = p.resource_scopes.iter().find(|s| !resource.description.resource_scopes.contains(s)) {
                    return Err(ProtocolError::invalid_scope(format!("scope {s:?} is not registered for resource {:?}", p.resource_id)));
                }
                Permission::merge_into(&mut permissions, &p.resource_id, &p.resource_scopes);
            }
        }
        let ticket = crate::ticket::issued(&caller.client_id, permissions, self.now(), self.config().ticket_ttl);
        Ok(self.seal_ticket(&ticket))
    }

    /// The ticket for `ticket`: its state sealed in it, nothing stored.
    pub(crate) fn seal_ticket(&self, ticket: &TicketRecord) -> Secret<role::Ticket> {
        self.inner.ticket_key.seal(ticket, self.inner.ticket_generation)
    }

    /// What a ticket shown to this server stands for: spent once its
    /// marker is in the hot store, live if this server sealed it in this
    /// generation, unknown otherwise.
    pub(crate) fn ticket_slot(&self, ticket: &Secret<role::Ticket>) -> Result<Option<TicketSlot>, Refusal> {
        if let Some(spent) = self.hot().spent(&ticket.hash()) {
            return Ok(Some(TicketSlot::Spent(spent)));
        }
        match self.inner.ticket_key.open(ticket.expose()) {
            Some((record, generation)) if generation == self.inner.ticket_generation => Ok(Some(TicketSlot::Live(record))),
            Some(_) => Err(Refusal::Void),
            None => Ok(None),
        }
    }
}

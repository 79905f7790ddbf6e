//! What only the resource owner may do: connect or refuse resource servers,
//! set policies, decide pending requests, see and revoke grants.
//!
//! Every change here is flushed to disk before it returns, so an
//! acknowledged decision survives a crash.

use crate::id::{ClientId, PolicyId, RequestId, ResourceId};
use crate::clock::UnixTime;
use crate::error::{ProtocolError, ProtocolResult};
use crate::model::*;
use crate::policy::{Outcome, PartyCondition, Policy, Target};
use crate::server::AuthorizationServer;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A policy as the owner writes it; the server assigns `id` and `created_at`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields = nullable)]
pub struct NewPolicy {
    pub target: Target,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub party: PartyCondition,
    #[serde(default)]
    pub valid_from: Option<UnixTime>,
    #[serde(default)]
    pub valid_until: Option<UnixTime>,
    pub outcome: Outcome,
    #[serde(default)]
    pub description: Option<String>,
    /// Seconds the access a permit gives lasts (at most five years).
    #[serde(default)]
    pub grant_lifetime: Option<i64>,
    /// Set by the owner service only, never from a request body: see
    /// [`Policy::from_request`].
    #[serde(skip)]
    #[ts(skip)]
    pub from_request: Option<RequestId>,
}

/// The owner's answer to a pending request.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields = nullable)]
pub struct Approval {
    /// The scopes granted; absent means everything that was asked.
    #[serde(default)]
    pub permissions: Option<Vec<Permission>>,
    #[serde(default)]
    pub expires_at: Option<UnixTime>,
}

impl AuthorizationServer {
    pub fn clients(&self) -> Vec<Client> {
        let mut clients: Vec<Client> = self.cache().read().clients.values().cloned().collect();
        clients.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.client_id.cmp(&b.client_id)));
        clients
    }

    /// Approves or refuses a resource server's connection. Refusing also
    /// withdraws its PATs.
    pub async fn decide_resource_server(&self, client_id: &ClientId, approve: bool) -> ProtocolResult<Client> {
        let mut client = self.client(client_id).ok_or_else(|| ProtocolError::not_found("no such client"))?;
        client.protection = if approve { Protection::Approved } else { Protection::Refused };
        if !approve {
            client.refused_at = Some(self.now());
        }
        self.save_client(&client)?;
        if !approve {
            let withdrawn: Vec<_> = {
                let mut cache = self.cache().write();
                let hashes: Vec<_> = cache.pats.iter().filter(|(_, p)| p.client_id == *client_id).map(|(h, _)| *h).collect();
                for h in &hashes {
                    cache.pats.remove(h);
                }
                hashes
            };
            for h in withdrawn {
                self.trees().pats.remove(h.0)?;
            }
        }
        let action = if approve { "resource_server.approve" } else { "resource_server.refuse" };
        self.audit("owner", action, json!({ "client_id": client_id }));
        self.flush_owner_decision().await?;
        Ok(client)
    }

    pub fn resources(&self) -> Vec<Resource> {
        let mut resources: Vec<Resource> = self.cache().read().resources.values().cloned().collect();
        resources.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        resources
    }

    pub fn policies(&self) -> Vec<Policy> {
        let mut policies: Vec<Policy> = self.cache().read().policies.values().flatten().cloned().collect();
        policies.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        policies
    }

    /// Adds a policy. A `deny` policy also revokes the grants it now forbids.
    pub async fn add_policy(&self, new: NewPolicy) -> ProtocolResult<Policy> {
        self.check_policy(&new)?;
        let policy = self.insert_policy(new)?;
        if policy.outcome == Outcome::Deny {
            // Only the resources that active grants are on; cloned, because
            // the filter below runs under the cache's read lock.
            let now = self.now();
            let granted: std::collections::HashMap<ResourceId, Resource> = {
                let cache = self.cache().read();
                cache
                    .grants
                    .values()
                    .filter(|g| g.is_active(now))
                    .filter_map(|g| cache.resources.get(&g.resource_id).map(|r| (r.id.clone(), r.clone())))
                    .collect()
            };
            // Only a rule on unlisted apps asks about the apps themselves;
            // they are copied out because the grants are filtered under
            // the cache's read lock.
            let clients: std::collections::HashMap<ClientId, Client> =
                if policy.party.unlisted_apps { self.cache().read().clients.clone() } else { Default::default() };
            let listed = |client_id: &ClientId| clients.get(client_id).is_some_and(|c| self.app_listed(c));
            let revoked = self.revoke_grants_where(|g| {
                granted.get(&g.resource_id).is_some_and(|r| {
                    let scopes = if g.scopes.is_empty() { vec![String::new()] } else { g.scopes.clone() };
                    scopes.iter().any(|s| policy.applies_to(r, s, now)) && policy.party.matches(&g.client_id, &g.party, &|| listed(&g.client_id))
                })
            })?;
            if revoked > 0 {
                self.audit("owner", "grant.revoked_by_policy", json!({ "policy_id": policy.id, "grants": revoked }));
            }
        }
        self.flush_owner_decision().await?;
        Ok(policy)
    }

    /// Adds a policy without flushing: for bulk loading (benchmarks, imports),
    /// followed by one [`AuthorizationServer::flush`].
    pub fn insert_policy(&self, new: NewPolicy) -> ProtocolResult<Policy> {
        let policy = Policy {
            id: PolicyId::generate(),
            target: new.target,
            scopes: new.scopes,
            party: new.party,
            valid_from: new.valid_from,
            valid_until: new.valid_until,
            outcome: new.outcome,
            description: new.description,
            grant_lifetime: new.grant_lifetime,
            from_request: new.from_request,
            created_at: self.now(),
        };
        self.trees().policies.insert(&policy.id, &policy)?;
        self.cache().write().put_policy(policy.clone());
        self.audit("owner", "policy.add", json!({ "policy_id": policy.id, "target": policy.target, "outcome": policy.outcome }));
        Ok(policy)
    }

    fn check_policy(&self, new: &NewPolicy) -> ProtocolResult<()> {
        if new.grant_lifetime.is_some_and(|l| !(60..=5 * 365 * 86_400).contains(&l)) {
            return Err(ProtocolError::invalid_request("grant_lifetime is from a minute to five years, in seconds"));
        }
        if new.party.unlisted_apps && new.outcome == Outcome::Permit {
            // It names no one: a permit would let in any unlisted app.
            return Err(ProtocolError::invalid_request("a rule for every unlisted app can refuse or ask, not permit"));
        }
        let cache = self.cache().read();
        match &new.target {
            Target::Resource(id) => {
                let resource = cache.resources.get(id).ok_or_else(|| ProtocolError::invalid_request(format!("no resource {id:?}")))?;
                if let Some(s) = new.scopes.iter().find(|s| !resource.description.resource_scopes.contains(s)) {
                    return Err(ProtocolError::invalid_scope(format!("resource {id:?} has no scope {s:?}")));
                }
            }
            Target::ResourceServer(id) => {
                if !cache.clients.contains_key(id) {
                    return Err(ProtocolError::invalid_request(format!("no resource server {id:?}")));
                }
            }
        }
        if let (Some(from), Some(until)) = (new.valid_from, new.valid_until) {
            if from >= until {
                return Err(ProtocolError::invalid_request("valid_from must be before valid_until"));
            }
        }
        Ok(())
    }

    /// Removes a policy and revokes the grants it made.
    pub async fn remove_policy(&self, id: &PolicyId) -> ProtocolResult<Policy> {
        let removed = {
            let mut cache = self.cache().write();
            let mut found = None;
            for list in cache.policies.values_mut() {
                if let Some(i) = list.iter().position(|p| p.id == *id) {
                    found = Some(list.remove(i));
                    break;
                }
            }
            found
        };
        let policy = removed.ok_or_else(|| ProtocolError::not_found("no such policy"))?;
        self.trees().policies.remove(id)?;
        let source = GrantSource::Policy { policy_id: id.clone() };
        let revoked = self.revoke_grants_where(|g| g.source == source)?;
        self.audit("owner", "policy.remove", json!({ "policy_id": id, "grants_revoked": revoked }));
        self.flush_owner_decision().await?;
        Ok(policy)
    }

    /// Requests newest first; `only_pending` leaves out decided and expired ones.
    pub fn pending_requests(&self, only_pending: bool) -> ProtocolResult<Vec<PendingRequest>> {
        let now = self.now();
        let mut requests: Vec<PendingRequest> = if only_pending {
            self.cache().read().open_requests(now).cloned().collect()
        } else {
            self.trees().pending.values()?
        };
        requests.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        Ok(requests)
    }

    /// One request, decided or not.
    pub fn pending_request(&self, id: &RequestId) -> ProtocolResult<PendingRequest> {
        self.trees().pending.get(id)?.ok_or_else(|| ProtocolError::not_found("no such request"))
    }

    fn undecided(&self, id: &RequestId) -> ProtocolResult<PendingRequest> {
        let request = self.pending_request(id)?;
        if request.status != RequestStatus::Pending {
            return Err(ProtocolError::invalid_request("this request has already been decided"));
        }
        if request.is_expired(self.now()) {
            return Err(ProtocolError::ExpiredRequest("this request has expired: the client stopped asking for it".into()));
        }
        Ok(request)
    }

    /// Approves a request, possibly with fewer scopes and an expiry. The
    /// client's next poll gets the RPT.
    pub async fn approve_request(&self, id: &RequestId, approval: Approval) -> ProtocolResult<PendingRequest> {
        let mut request = self.undecided(id)?;
        let now = self.now();
        if approval.expires_at.is_some_and(|e| e <= now) {
            return Err(ProtocolError::invalid_request("expires_at is in the past"));
        }
        let granted = match approval.permissions {
            None => request.permissions.clone(),
            Some(chosen) => {
                for p in &chosen {
                    let asked = request.permissions.iter().find(|a| a.resource_id == p.resource_id);
                    let Some(asked) = asked else {
                        return Err(ProtocolError::invalid_request(format!("resource {:?} was not requested", p.resource_id)));
                    };
                    if let Some(s) = p.resource_scopes.iter().find(|s| !asked.resource_scopes.contains(s)) {
                        return Err(ProtocolError::invalid_scope(format!("scope {s:?} was not requested")));
                    }
                }
                chosen
            }
        };
        let source = GrantSource::Approval { request_id: request.id.clone() };
        for p in &granted {
            self.ensure_grant(&source, &request.client_id, &request.party, &p.resource_id, &p.resource_scopes, approval.expires_at)?;
        }
        request.status = RequestStatus::Approved { scopes: granted, expires_at: approval.expires_at, decided_at: now };
        self.store_request(&request)?;
        self.audit("owner", "pending.approve", json!({ "request_id": id, "decision": request.status }));
        self.flush_owner_decision().await?;
        Ok(request)
    }

    pub async fn deny_request(&self, id: &RequestId) -> ProtocolResult<PendingRequest> {
        let mut request = self.undecided(id)?;
        request.status = RequestStatus::Denied { decided_at: self.now() };
        self.store_request(&request)?;
        self.audit("owner", "pending.deny", json!({ "request_id": id }));
        self.flush_owner_decision().await?;
        Ok(request)
    }
}

//! Grants: who may do what on which resource. Every RPT names the grants it
//! was issued from; revoking a grant makes those RPTs inactive at once.

use crate::clock::UnixTime;
use crate::error::{ProtocolError, ProtocolResult};
use crate::id::{ClientId, GrantId, ResourceId};
use crate::model::{Grant, GrantSource, RequestingParty};
use crate::server::AuthorizationServer;
use ring::digest::{digest, SHA256};
use serde_json::json;

/// Grant ids are derived from what the grant is about, so the same policy
/// permitting the same party again finds its grant instead of piling up new ones.
pub fn grant_id(source: &GrantSource, client_id: &ClientId, party_key: &str, resource_id: &ResourceId) -> GrantId {
    generation_id(source, client_id, party_key, resource_id, 0)
}

/// The id of the `generation`th grant about the same thing: a revoked grant
/// keeps its id and stays revoked, and a policy that permits again makes a
/// grant of the next generation.
fn generation_id(source: &GrantSource, client_id: &ClientId, party_key: &str, resource_id: &ResourceId, generation: u32) -> GrantId {
    let origin = match source {
        GrantSource::Policy { policy_id } => format!("policy\0{policy_id}"),
        GrantSource::Approval { request_id } => format!("approval\0{request_id}"),
    };
    let mut material = format!("{origin}\0{client_id}\0{party_key}\0{resource_id}");
    if generation > 0 {
        material.push_str(&format!("\0{generation}"));
    }
    GrantId::from(crate::secret::hex(&digest(&SHA256, material.as_bytes()).as_ref()[..16]))
}

impl AuthorizationServer {
    /// Makes sure an active grant covers `scopes`, creating or widening it.
    /// Returns the grant id and when it ends. Writes only when something changed. An owner's
    /// approval is held by the party it was given to
    /// ([`RequestingParty::holder_key`]); a policy's by whoever it admits.
    pub(crate) fn ensure_grant(
        &self,
        source: &GrantSource,
        client_id: &ClientId,
        party: &RequestingParty,
        resource_id: &ResourceId,
        scopes: &[String],
        expires_at: Option<UnixTime>,
    ) -> ProtocolResult<(GrantId, Option<UnixTime>)> {
        let party_key = match source {
            GrantSource::Approval { .. } => party.holder_key(),
            GrantSource::Policy { .. } => party.key(),
        };
        let now = self.now();
        let (id, existing) = {
            let cache = self.cache().read();
            let mut generation = 0;
            loop {
                let id = generation_id(source, client_id, &party_key, resource_id, generation);
                match cache.grants.get(&id) {
                    Some(g) if g.revoked_at.is_some() => generation += 1,
                    found => break (id, found.cloned()),
                }
            }
        };
        let grant = match existing {
            Some(g) if g.is_active(now) && scopes.iter().all(|s| g.scopes.contains(s)) => return Ok((id, g.expires_at)),
            Some(mut g) if g.revoked_at.is_none() => {
                crate::model::merge_scopes(&mut g.scopes, scopes);
                g.expires_at = expires_at;
                g
            }
            _ => Grant {
                id: id.clone(),
                resource_id: resource_id.clone(),
                scopes: scopes.to_vec(),
                client_id: client_id.clone(),
                party_key,
                party: Box::new(party.clone()),
                source: source.clone(),
                created_at: now,
                expires_at,
                revoked_at: None,
                status_index: None,
            },
        };
        self.trees().grants.insert(&grant.id, &grant)?;
        let expires_at = grant.expires_at;
        self.cache().write().put_grant(grant);
        Ok((id, expires_at))
    }

    pub fn grants(&self) -> Vec<Grant> {
        let mut grants: Vec<Grant> = self.cache().read().grants.values().cloned().collect();
        grants.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        grants
    }

    /// Revokes one grant. Idempotent; durable when it returns.
    pub async fn revoke_grant(&self, id: &GrantId) -> ProtocolResult<Grant> {
        let grant = self.revoke_grant_quietly(id)?.ok_or_else(|| ProtocolError::not_found("no such grant"))?;
        self.audit("owner", "grant.revoke", json!({ "grant_id": id, "resource_id": grant.resource_id }));
        self.flush_owner_decision().await?;
        Ok(grant)
    }

    pub(crate) fn revoke_grant_quietly(&self, id: &GrantId) -> ProtocolResult<Option<Grant>> {
        let Some(mut grant) = self.cache().read().grants.get(id).cloned() else { return Ok(None) };
        if grant.revoked_at.is_none() {
            grant.revoked_at = Some(self.now());
            self.trees().grants.insert(&grant.id, &grant)?;
            self.cache().write().put_grant(grant.clone());
        }
        Ok(Some(grant))
    }

    /// Revokes every active grant `matches` selects; returns how many.
    pub(crate) fn revoke_grants_where(&self, matches: impl Fn(&Grant) -> bool) -> ProtocolResult<usize> {
        let now = self.now();
        let ids: Vec<GrantId> = self
            .cache()
            .read()
            .grants
            .values()
            .filter(|g| g.is_active(now) && matches(g))
            .map(|g| g.id.clone())
            .collect();
        for id in &ids {
            self.revoke_grant_quietly(id)?;
        }
        Ok(ids.len())
    }

    /// A deleted resource takes its own policies with it and revokes its grants.
    pub(crate) fn forget_resource(&self, resource_id: &ResourceId) -> ProtocolResult<()> {
        let target = crate::policy::Target::Resource(resource_id.clone());
        let removed = self.cache().write().policies.remove(&target).unwrap_or_default();
        for policy in removed {
            self.trees().policies.remove(&policy.id)?;
        }
        self.revoke_grants_where(|g| g.resource_id == *resource_id)?;
        Ok(())
    }
}

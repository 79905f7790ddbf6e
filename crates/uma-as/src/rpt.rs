//! The RPT's life (Grant §3.3.5, §3.7; FedAuthz §5; RFC 7009), as plain
//! functions of its record, with `now` and the grants passed in:
//!
//! - **issued** with the permissions the grants give, each naming its grant
//!   ([`add_permission`]);
//! - **upgraded** (Grant §3.3.1 `rpt`): a new RPT carries the old one's
//!   permissions too, and the old one is retired; only by the client it was
//!   issued to, only while it is live, and only at one resource server
//!   ([`may_upgrade`], [`carry_over`]);
//! - **live** while unexpired, unrevoked, and every grant it came from is
//!   in force ([`liveness`]): revoking a grant ends its RPTs at once;
//! - **revoked** by its client, by a replayed ticket, or when retired by an
//!   upgrade ([`revoked`]).
//!
//! Storage and signing are the callers' ([`crate::token`],
//! [`crate::introspection`], [`crate::revocation`]).

use crate::clock::UnixTime;
use crate::hot::RptState;
use crate::id::{ClientId, GrantId, ResourceId};
use crate::model::{merge_scopes, GrantedPermission, RptRecord};
use crate::token::RptClaims;

/// Whether an RPT is live, and if not, why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liveness {
    Active,
    Expired,
    Revoked,
    /// A grant it came from was revoked or ran out.
    GrantEnded,
}

/// How `record` stands at `now`; `grant_active` says whether a grant is in
/// force.
pub fn liveness(record: &RptRecord, now: UnixTime, grant_active: impl Fn(&GrantId) -> bool) -> Liveness {
    if record.revoked_at.is_some() {
        Liveness::Revoked
    } else if record.expires_at <= now {
        Liveness::Expired
    } else if !record.permissions.iter().all(|p| grant_active(&p.grant_id)) {
        Liveness::GrantEnded
    } else {
        Liveness::Active
    }
}

/// Adds `scope` of `resource_id` under `grant_id` to what an RPT gives. An
/// empty scope is a permission without scopes.
pub fn add_permission(granted: &mut Vec<GrantedPermission>, resource_id: &ResourceId, scope: &str, grant_id: &GrantId, expires_at: Option<UnixTime>) {
    match granted.iter_mut().find(|g| g.resource_id == *resource_id && g.grant_id == *grant_id) {
        Some(g) => merge_scopes(&mut g.resource_scopes, [scope]),
        None => {
            let mut resource_scopes = Vec::new();
            merge_scopes(&mut resource_scopes, [scope]);
            granted.push(GrantedPermission { resource_id: resource_id.clone(), resource_scopes, grant_id: grant_id.clone(), expires_at })
        }
    }
}

/// Whether `client`, asking at `resource_server`, may upgrade the RPT
/// `record`: its own, live, and valid at that one resource server only (an
/// RPT valid at several would let any of them replay it at the others).
/// `server_of` gives a resource's server.
pub fn may_upgrade(record: &RptRecord, client: &ClientId, resource_server: &ClientId, live: Liveness, server_of: impl Fn(&ResourceId) -> Option<ClientId>) -> bool {
    record.client_id == *client
        && live == Liveness::Active
        && record.permissions.iter().all(|p| server_of(&p.resource_id).as_ref() == Some(resource_server))
}

/// The old RPT's permissions, added to the new one's.
pub fn carry_over(granted: &mut Vec<GrantedPermission>, previous: &RptRecord) {
    for p in &previous.permissions {
        if p.resource_scopes.is_empty() {
            add_permission(granted, &p.resource_id, "", &p.grant_id, p.expires_at);
        }
        for scope in &p.resource_scopes {
            add_permission(granted, &p.resource_id, scope, &p.grant_id, p.expires_at);
        }
    }
}

/// The record again, from the token's own claims and what the store kept;
/// `None` when they do not fit together.
pub fn rebuilt(claims: RptClaims, state: &RptState) -> Option<RptRecord> {
    if claims.permissions.len() != state.grants.len() {
        return None;
    }
    let permissions = claims
        .permissions
        .into_iter()
        .zip(state.grants.iter())
        .map(|(p, (grant, expires_at))| GrantedPermission {
            resource_id: p.resource_id,
            resource_scopes: p.resource_scopes,
            grant_id: GrantId::from(&**grant),
            expires_at: *expires_at,
        })
        .collect();
    Some(RptRecord { jti: claims.jti, client_id: claims.client_id, permissions, issued_at: claims.iat, expires_at: state.expires_at, revoked_at: state.revoked_at })
}

/// The record once revoked at `now`; `None` when it already was, so the
/// first revocation's time stands.
pub fn revoked(record: &RptRecord, now: UnixTime) -> Option<RptRecord> {
    record.revoked_at.is_none().then(|| RptRecord { revoked_at: Some(now), ..record.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(permissions: Vec<GrantedPermission>) -> RptRecord {
        RptRecord {
            jti: "j".into(),
            client_id: "app".into(),
            permissions,
            issued_at: 100,
            expires_at: 700,
            revoked_at: None,
        }
    }

    fn granted(resource: &str, scopes: &[&str], grant: &str) -> GrantedPermission {
        GrantedPermission { resource_id: resource.into(), resource_scopes: scopes.iter().map(|s| s.to_string()).collect(), grant_id: grant.into(), expires_at: None }
    }

    #[test]
    fn an_rpt_lives_until_it_expires_is_revoked_or_a_grant_it_came_from_ends() {
        let rpt = record(vec![granted("r1", &["owner"], "g1"), granted("r2", &["value"], "g2")]);
        assert_eq!(liveness(&rpt, 699, |_| true), Liveness::Active);
        assert_eq!(liveness(&rpt, 700, |_| true), Liveness::Expired);
        assert_eq!(liveness(&rpt, 200, |g| g != "g2"), Liveness::GrantEnded, "any one grant ending ends it");
        let gone = revoked(&rpt, 300).unwrap();
        assert_eq!(liveness(&gone, 301, |_| true), Liveness::Revoked);
        assert_eq!(revoked(&gone, 400), None, "the first revocation's time stands");
        assert_eq!(gone.revoked_at, Some(300));
    }

    #[test]
    fn permissions_merge_per_resource_and_grant_and_a_scope_less_one_stays_empty() {
        let mut out = Vec::new();
        add_permission(&mut out, &"r1".into(), "owner", &"g1".into(), Some(900));
        add_permission(&mut out, &"r1".into(), "value", &"g1".into(), Some(900));
        add_permission(&mut out, &"r1".into(), "owner", &"g1".into(), Some(900));
        add_permission(&mut out, &"r1".into(), "owner", &"g2".into(), None);
        add_permission(&mut out, &"r2".into(), "", &"g3".into(), None);
        assert_eq!(out, vec![
            GrantedPermission { expires_at: Some(900), ..granted("r1", &["owner", "value"], "g1") },
            granted("r1", &["owner"], "g2"),
            granted("r2", &[], "g3"),
        ]);
    }

    #[test]
    fn only_its_own_client_upgrades_a_live_rpt_at_its_one_resource_server() {
        let rpt = record(vec![granted("r1", &["owner"], "g1")]);
        let at = |r: &ResourceId| (*r == "r1").then(|| ClientId::from("rs"));
        assert!(may_upgrade(&rpt, &"app".into(), &"rs".into(), Liveness::Active, at));
        assert!(!may_upgrade(&rpt, &"other-app".into(), &"rs".into(), Liveness::Active, at));
        assert!(!may_upgrade(&rpt, &"app".into(), &"rs-2".into(), Liveness::Active, at), "never carried to another server");
        assert!(!may_upgrade(&rpt, &"app".into(), &"rs".into(), Liveness::Revoked, at));
        let spanning = record(vec![granted("r1", &["owner"], "g1"), granted("r9", &["owner"], "g9")]);
        assert!(!may_upgrade(&spanning, &"app".into(), &"rs".into(), Liveness::Active, at), "a resource elsewhere (or gone) keeps it out");

        let mut new = vec![granted("r1", &["value"], "g4")];
        carry_over(&mut new, &rpt);
        assert_eq!(new, vec![granted("r1", &["value"], "g4"), granted("r1", &["owner"], "g1")]);
    }

    #[test]
    fn a_record_is_rebuilt_from_its_token_claims_and_the_stored_state_only_when_they_fit() {
        let rpt = record(vec![GrantedPermission { expires_at: Some(900), ..granted("r1", &["owner"], "g1") }, granted("r2", &[], "g2")]);
        let claims = |permissions: &[GrantedPermission]| RptClaims {
            iss: "as".into(),
            sub: "owner".into(),
            aud: vec!["rs".into()],
            azp: "app".into(),
            client_id: "app".into(),
            jti: "j".into(),
            iat: 100,
            exp: 700,
            permissions: permissions
                .iter()
                .map(|p| crate::token::RptPermission { resource_id: p.resource_id.clone(), resource_scopes: p.resource_scopes.clone(), exp: None })
                .collect(),
        };
        let state = |record: &RptRecord| RptState {
            expires_at: record.expires_at,
            revoked_at: record.revoked_at,
            grants: record.permissions.iter().map(|p| (p.grant_id.as_str().into(), p.expires_at)).collect(),
        };
        let stored = state(&rpt);
        assert_eq!(rebuilt(claims(&rpt.permissions), &stored), Some(rpt.clone()));
        let revoked_state = state(&revoked(&rpt, 300).unwrap());
        assert_eq!(rebuilt(claims(&rpt.permissions), &revoked_state).and_then(|r| r.revoked_at), Some(300));
        assert_eq!(rebuilt(claims(&rpt.permissions[..1]), &stored), None, "a permission more or less than stored");
    }
}

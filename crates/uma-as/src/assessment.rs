//! Authorization assessment and results determination (Grant §3.3.4).
//!
//! First the requested scopes per resource are computed:
//! `RequestedScopes(r) = TicketScopes(r) ∪ (RegisteredScopes ∩ RequestedScopes)`,
//! where the second part only adds scopes that resource `r` offers. Then each
//! (resource, scope) gets a verdict from the owner's grants and policies, and
//! [`determine`] turns the verdicts into one result. This AS issues partial
//! grants: scopes the owner denied are left out of the RPT rather than failing
//! the whole request.

use crate::id::ResourceId;
use crate::model::{Grant, GrantSource, Permission, PendingRequest, RequestStatus, Resource};
use crate::policy::Decision;

/// A scope in the `scope` parameter was not pre-registered for the client,
/// or matches no scope of any resource in the ticket (Grant §3.3.6).
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidScope(pub String);

/// Computes `RequestedScopes(r)` for every ticket resource; `resource`
/// finds a registered resource.
pub fn requested_scopes<'a>(
    ticket: &[Permission],
    resource: impl Fn(&ResourceId) -> Option<&'a Resource>,
    registered: &[String],
    requested: &[String],
) -> Result<Vec<Permission>, InvalidScope> {
    for scope in requested {
        if !registered.contains(scope) {
            return Err(InvalidScope(format!("scope {scope:?} is not registered for this client")));
        }
        let offered = ticket.iter().any(|p| {
            resource(&p.resource_id).is_some_and(|r| r.description.resource_scopes.contains(scope))
        });
        if !offered {
            return Err(InvalidScope(format!("scope {scope:?} is not available on any resource in the ticket")));
        }
    }
    let mut out: Vec<Permission> = Vec::with_capacity(ticket.len());
    for permission in ticket {
        let available = resource(&permission.resource_id).map(|r| &r.description.resource_scopes);
        let asked_here = requested.iter().filter(|scope| available.is_some_and(|a| a.contains(scope)));
        Permission::merge_into(&mut out, &permission.resource_id, permission.resource_scopes.iter().chain(asked_here));
    }
    Ok(out)
}

/// The verdict for one (resource, scope).
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    Permit(GrantSource),
    Deny,
    Ask,
    NeedInfo(Vec<serde_json::Value>),
}

/// Whether the owner, answering the request this ticket chain polls for,
/// refused `scope` of `resource_id`: she denied the request, or approved
/// it without that scope. Her answer stands for the rest of the chain.
pub fn owner_refused(decided: Option<&PendingRequest>, resource_id: &ResourceId, scope: &str) -> bool {
    let names = |p: &Permission| p.resource_id == *resource_id && p.resource_scopes.iter().any(|s| s == scope);
    match decided.map(|d| (&d.status, &d.permissions)) {
        Some((RequestStatus::Denied { .. }, asked)) => asked.iter().any(|p| names(p) || (p.resource_id == *resource_id && p.resource_scopes.is_empty())),
        Some((RequestStatus::Approved { scopes, .. }, asked)) => asked.iter().any(names) && !scopes.iter().any(names),
        _ => false,
    }
}

/// The verdict for one (resource, scope), in this order: a denying policy
/// wins over everything; then a grant she holds (an approval outlives the
/// policies that did not exist when it was given); then a permitting
/// policy; then the owner's own refusal in this chain; then what the
/// policies ask for (claims, or her decision).
pub fn verdict(decision: Decision, held: Option<&Grant>, refused_by_owner: bool) -> Verdict {
    match (decision, held) {
        (Decision::Deny { .. }, _) => Verdict::Deny,
        (_, Some(grant)) => Verdict::Permit(grant.source.clone()),
        (Decision::Permit { policy_id }, None) => Verdict::Permit(GrantSource::Policy { policy_id }),
        _ if refused_by_owner => Verdict::Deny,
        (Decision::NeedInfo { required_claims }, None) => Verdict::NeedInfo(required_claims),
        (Decision::Ask, None) => Verdict::Ask,
    }
}

/// One permitted scope and the grant source that permits it.
#[derive(Clone, Debug, PartialEq)]
pub struct PermittedScope {
    pub resource_id: ResourceId,
    pub scope: String,
    pub source: GrantSource,
}

/// What the token endpoint answers.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Issue an RPT with these (possibly fewer than requested) scopes.
    Grant(Vec<PermittedScope>),
    NeedInfo(Vec<serde_json::Value>),
    /// The owner must decide on these permissions.
    Submit(Vec<Permission>),
    Denied,
}

/// Results determination: claims first (they may change every other
/// verdict), then the owner's pending decisions, then the grant.
pub fn determine(verdicts: Vec<(ResourceId, String, Verdict)>) -> Outcome {
    let mut required = Vec::new();
    let mut asked: Vec<Permission> = Vec::new();
    let mut permitted = Vec::new();
    for (resource_id, scope, verdict) in verdicts {
        match verdict {
            Verdict::NeedInfo(claims) => {
                for c in claims {
                    if !required.contains(&c) {
                        required.push(c);
                    }
                }
            }
            Verdict::Ask => Permission::merge_into(&mut asked, &resource_id, [scope]),
            Verdict::Permit(source) => permitted.push(PermittedScope { resource_id, scope, source }),
            Verdict::Deny => {}
        }
    }
    if !required.is_empty() {
        Outcome::NeedInfo(required)
    } else if !asked.is_empty() {
        Outcome::Submit(asked)
    } else if !permitted.is_empty() {
        Outcome::Grant(permitted)
    } else {
        Outcome::Denied
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ResourceDescription;
    use std::collections::HashMap;

    fn resources() -> HashMap<ResourceId, Resource> {
        let mk = |id: &str, scopes: &[&str]| Resource {
            id: id.into(),
            resource_server: "rs".into(),
            description: ResourceDescription {
                resource_scopes: scopes.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            },
            created_at: 0,
        };
        HashMap::from([("a".into(), mk("a", &["owner", "value"])), ("b".into(), mk("b", &["owner", "delegate"]))])
    }

    fn perm(id: &str, scopes: &[&str]) -> Permission {
        Permission { resource_id: id.into(), resource_scopes: scopes.iter().map(|s| s.to_string()).collect() }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ticket_scopes_alone_when_no_scope_parameter() {
        let resources = resources();
        let r = requested_scopes(&[perm("a", &["owner"])], |id| resources.get(id), &strings(&["value"]), &[]).unwrap();
        assert_eq!(r, vec![perm("a", &["owner"])]);
    }

    #[test]
    fn registered_requested_scopes_are_added_where_offered() {
        let (ticket, resources) = ([perm("a", &["owner"]), perm("b", &["owner"])], resources());
        let r = requested_scopes(&ticket, |id| resources.get(id), &strings(&["value", "delegate"]), &strings(&["value"])).unwrap();
        assert_eq!(r, vec![perm("a", &["owner", "value"]), perm("b", &["owner"])]);
    }

    #[test]
    fn unregistered_or_unavailable_scope_is_invalid_scope() {
        let (ticket, resources) = ([perm("a", &["owner"])], resources());
        assert!(requested_scopes(&ticket, |id| resources.get(id), &strings(&["value"]), &strings(&["delegate"])).is_err());
        assert!(requested_scopes(&ticket, |id| resources.get(id), &strings(&["delegate"]), &strings(&["delegate"])).is_err());
    }

    fn policy_source() -> GrantSource {
        GrantSource::Policy { policy_id: "p".into() }
    }

    #[test]
    fn partial_grant_leaves_denied_scopes_out() {
        let out = determine(vec![
            ("a".into(), "owner".into(), Verdict::Permit(policy_source())),
            ("a".into(), "value".into(), Verdict::Deny),
        ]);
        assert_eq!(
            out,
            Outcome::Grant(vec![PermittedScope { resource_id: "a".into(), scope: "owner".into(), source: policy_source() }])
        );
    }

    #[test]
    fn any_ask_submits_the_asked_scopes_only() {
        let out = determine(vec![
            ("a".into(), "owner".into(), Verdict::Permit(policy_source())),
            ("a".into(), "value".into(), Verdict::Ask),
            ("b".into(), "owner".into(), Verdict::Ask),
        ]);
        assert_eq!(out, Outcome::Submit(vec![perm("a", &["value"]), perm("b", &["owner"])]));
    }

    #[test]
    fn need_info_comes_before_asking_the_owner() {
        let claim = serde_json::json!({"name": "email"});
        let out = determine(vec![
            ("a".into(), "owner".into(), Verdict::NeedInfo(vec![claim.clone()])),
            ("a".into(), "value".into(), Verdict::Ask),
        ]);
        assert_eq!(out, Outcome::NeedInfo(vec![claim]));
    }

    fn grant(source: GrantSource) -> Grant {
        Grant {
            id: "g".into(),
            resource_id: "a".into(),
            scopes: strings(&["owner"]),
            client_id: "c".into(),
            party_key: "anonymous".into(),
            party: Default::default(),
            source,
            created_at: 0,
            expires_at: None,
            revoked_at: None,
            status_index: None,
        }
    }

    #[test]
    fn a_denying_policy_beats_a_held_grant_which_beats_the_owners_refusal() {
        let approval = GrantSource::Approval { request_id: "r".into() };
        let deny = || Decision::Deny { policy_id: Some("d".into()) };
        assert_eq!(verdict(deny(), Some(&grant(approval.clone())), false), Verdict::Deny);
        assert_eq!(verdict(Decision::Ask, Some(&grant(approval.clone())), true), Verdict::Permit(approval));
        assert_eq!(verdict(Decision::Permit { policy_id: "p".into() }, None, true), Verdict::Permit(policy_source()));
        assert_eq!(verdict(Decision::Ask, None, true), Verdict::Deny, "she said no in this chain: not asked again");
        assert_eq!(verdict(Decision::Ask, None, false), Verdict::Ask);
        let claims = vec![serde_json::json!({ "name": "email" })];
        assert_eq!(verdict(Decision::NeedInfo { required_claims: claims.clone() }, None, false), Verdict::NeedInfo(claims));
    }

    #[test]
    fn the_owner_refused_what_she_denied_or_left_out_of_her_approval() {
        let request = |status: RequestStatus| PendingRequest {
            id: "r".into(),
            client_id: "c".into(),
            client_name: "app".into(),
            party: Default::default(),
            party_key: "anonymous".into(),
            permissions: vec![perm("a", &["owner", "value"]), perm("b", &[])],
            created_at: 0,
            open_until: None,
            status,
        };
        let denied = request(RequestStatus::Denied { decided_at: 1 });
        assert!(owner_refused(Some(&denied), &"a".into(), "value") && owner_refused(Some(&denied), &"b".into(), "anything"));
        assert!(!owner_refused(Some(&denied), &"c".into(), "owner"), "never asked about");
        let approved = request(RequestStatus::Approved { scopes: vec![perm("a", &["owner"])], expires_at: None, decided_at: 1 });
        assert!(!owner_refused(Some(&approved), &"a".into(), "owner"));
        assert!(owner_refused(Some(&approved), &"a".into(), "value"), "left out of her approval");
        assert!(!owner_refused(Some(&request(RequestStatus::Pending)), &"a".into(), "value"));
        assert!(!owner_refused(None, &"a".into(), "value"));
    }

    #[test]
    fn all_denied_is_denied() {
        assert_eq!(determine(vec![("a".into(), "owner".into(), Verdict::Deny)]), Outcome::Denied);
        assert_eq!(determine(vec![]), Outcome::Denied);
    }
}

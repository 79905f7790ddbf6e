//! The owner's search of her activity log: by pension, by who acted and by
//! what happened, over the whole log (not only the newest page of it).

use crate::api::AuditQuery;
use crate::{OwnerResult, Wallet};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;
use uma_as::audit::AuditEntry;
use uma_as::model::Resource;

/// An entry of the activity log, and whether it was the owner's own doing
/// (her decisions, or her wallet reading her pensions for her).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct ActivityEntry {
    #[serde(flatten)]
    pub entry: AuditEntry,
    pub by_you: bool,
}

/// The most entries one search returns.
pub const MAX_ENTRIES: usize = 10_000;
/// The most entries one search looks through, newest first: strangers can
/// make the log grow, and a search must stay a bounded piece of work.
pub const MAX_SCANNED: usize = 200_000;

/// Who acted, as the owner groups them.
fn actor_is(actor: &str, who: &str) -> bool {
    match who {
        "owner" => actor == "owner",
        "apps" => actor.starts_with("client:"),
        "providers" => actor.starts_with("resource_server:"),
        "others" => actor == "anonymous" || actor == "many",
        one => actor == one,
    }
}

fn action_is(action: &str, wanted: &str) -> bool {
    if wanted.ends_with('.') {
        action.starts_with(wanted)
    } else {
        action == wanted
    }
}

/// The pensions an entry's detail names: by `resource_id` (grants, access
/// requests, decisions, registrations), by `pei` (deleted records) and as a
/// rule's target (`{"kind": "resource", "id": ...}`).
fn pension_refs<'a>(detail: &'a Value, out: &mut HashSet<&'a str>) {
    match detail {
        Value::Array(items) => items.iter().for_each(|item| pension_refs(item, out)),
        Value::Object(members) => {
            for (key, value) in members {
                match (key.as_str(), value) {
                    ("resource_id" | "pei", Value::String(id)) => {
                        out.insert(id);
                    }
                    _ => pension_refs(value, out),
                }
            }
            if let (Some("resource"), Some(id)) = (members.get("kind").and_then(Value::as_str), members.get("id").and_then(Value::as_str)) {
                out.insert(id);
            }
        }
        _ => {}
    }
}

/// Whether any string in `detail` is `wanted`.
fn mentions(detail: &Value, wanted: &[&str]) -> bool {
    match detail {
        Value::String(s) => wanted.contains(&s.as_str()),
        Value::Array(items) => items.iter().any(|item| mentions(item, wanted)),
        Value::Object(members) => members.values().any(|value| mentions(value, wanted)),
        _ => false,
    }
}

/// Which entries a pension filter keeps: those naming one pension (by its
/// id here or its PEI), or (`gone`) those about a pension no longer
/// protected here. Worked out once per search, not once per entry.
enum PensionFilter<'a> {
    Named(Vec<&'a str>),
    Gone(&'a [Resource]),
}

impl<'a> PensionFilter<'a> {
    fn new(filter: &'a str, resources: &'a [Resource]) -> Self {
        if filter == "gone" {
            return PensionFilter::Gone(resources);
        }
        // Every resource by that id or PEI: one a hostile provider registered
        // under another pension's PEI is shown beside it, never instead.
        let mut names = vec![filter];
        for r in resources.iter().filter(|r| r.id == filter || r.description.name.as_deref() == Some(filter)) {
            names.push(r.id.as_str());
            names.extend(r.description.name.as_deref());
        }
        PensionFilter::Named(names)
    }

    fn keeps(&self, entry: &AuditEntry) -> bool {
        match self {
            PensionFilter::Named(names) => mentions(&entry.detail, names),
            PensionFilter::Gone(resources) => {
                let mut refs = HashSet::new();
                pension_refs(&entry.detail, &mut refs);
                refs.iter().any(|r| !resources.iter().any(|known| known.id == *r || known.description.name.as_deref() == Some(*r)))
            }
        }
    }
}

#[cfg(test)]
fn about_pension(entry: &AuditEntry, filter: &str, resources: &[Resource]) -> bool {
    PensionFilter::new(filter, resources).keeps(entry)
}

impl Wallet {
    /// The newest entries of the activity log that match `query`, newest
    /// first.
    pub fn activity(&self, query: &AuditQuery) -> OwnerResult<Vec<ActivityEntry>> {
        let resources = if query.pension.is_some() { self.server().resources() } else { vec![] };
        let pension = query.pension.as_deref().map(|filter| PensionFilter::new(filter, &resources));
        let own = self.pensions().own_client_id().map(|id| format!("client:{id}"));
        // Only the owner's acts and her wallet's successful reads: a refusal
        // of the wallet's own client (a provider handing it a wrong ticket)
        // is someone else's doing, and stays in view.
        let by_you = |entry: &AuditEntry| entry.actor == "owner" || (own.as_deref() == Some(entry.actor.as_str()) && entry.action == "token.rpt_issued");
        let wanted = |entry: &AuditEntry| {
            query.who.as_deref().is_none_or(|who| if who == "you" { by_you(entry) } else { actor_is(&entry.actor, who) })
                && query.action.as_deref().is_none_or(|action| action_is(&entry.action, action))
                && pension.as_ref().is_none_or(|pension| pension.keeps(entry))
        };
        let found = self.server().audit_log().search(query.limit.min(MAX_ENTRIES), MAX_SCANNED, wanted)?;
        Ok(found.into_iter().map(|entry| ActivityEntry { by_you: by_you(&entry), entry }).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(actor: &str, action: &str, detail: Value) -> AuditEntry {
        AuditEntry { seq: 1, at: 0, actor: actor.into(), action: action.into(), detail, prev_hash: String::new(), hash: String::new() }
    }

    #[test]
    fn who_and_what_are_matched_as_the_owner_groups_them() {
        assert!(actor_is("client:abc", "apps") && actor_is("client:abc", "client:abc") && !actor_is("client:abc", "providers"));
        assert!(actor_is("anonymous", "others") && actor_is("owner", "owner") && !actor_is("owner", "others"));
        assert!(action_is("token.rpt_issued", "token.") && action_is("token.rpt_issued", "token.rpt_issued"));
        assert!(!action_is("token.rpt_issued", "token") && !action_is("pending.approve", "token."));
    }

    #[test]
    fn a_pension_is_found_by_its_id_or_its_pei_anywhere_in_the_detail() {
        let granted = entry("client:a", "token.rpt_issued", json!({ "permissions": [{ "resource_id": "r1", "resource_scopes": ["value"] }] }));
        let rule = entry("owner", "policy.add", json!({ "target": { "kind": "resource", "id": "r2" } }));
        let deleted = entry("owner", "credential.delete", json!({ "pei": "urn:pei:acme:9" }));
        let resources = vec![Resource {
            id: "r1".into(),
            resource_server: "https://acme.example".into(),
            description: uma_as::model::ResourceDescription { resource_scopes: vec!["value".into()], name: Some("urn:pei:acme:1".into()), ..Default::default() },
            created_at: 0,
        }];
        assert!(about_pension(&granted, "r1", &resources) && about_pension(&granted, "urn:pei:acme:1", &resources));
        assert!(about_pension(&rule, "r2", &resources) && !about_pension(&rule, "r1", &resources));
        assert!(about_pension(&deleted, "urn:pei:acme:9", &resources));
        assert!(about_pension(&deleted, "gone", &resources) && about_pension(&rule, "gone", &resources));
        assert!(!about_pension(&granted, "gone", &resources));

        // A second resource under the same PEI (a provider registering
        // another's): searching by the PEI finds both, never just the first.
        let mut twins = resources.clone();
        twins.push(Resource { id: "r3".into(), ..resources[0].clone() });
        let other = entry("client:b", "token.rpt_issued", json!({ "permissions": [{ "resource_id": "r3", "resource_scopes": ["value"] }] }));
        assert!(about_pension(&granted, "urn:pei:acme:1", &twins) && about_pension(&other, "urn:pei:acme:1", &twins));
    }
}

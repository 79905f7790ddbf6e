//! The owner's policies and their evaluation for one resource, scope and party.
//!
//! Rules, in order: a matching `deny` wins; else a matching `permit`; else a
//! matching `ask`. With no matching policy the answer is "ask the owner",
//! unless the party presented no claims at all and some `permit` policy would
//! apply to it with the right claims: then the AS asks for those claims
//! (`need_info`). A policy that names nobody still needs *some* claims, so an
//! empty claim set never passes by default (Grant §5.6).

use crate::clock::UnixTime;
use crate::id::{ClientId, PolicyId, RequestId, ResourceId};
use crate::model::{RequestingParty, Resource};
use serde::{Deserialize, Serialize};

/// The claim token format for OpenID Connect ID tokens (Grant §3.3.1).
pub const ID_TOKEN_FORMAT: &str = "http://openid.net/specs/openid-connect-core-1_0.html#IDToken";

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Target {
    /// One resource, by `_id`.
    Resource(ResourceId),
    /// Every resource a resource server registered, by its client id.
    ResourceServer(ClientId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Permit,
    Ask,
    Deny,
}

/// Conditions on who is asking; all that are set must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[ts(optional_fields = nullable)]
pub struct PartyCondition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientId>,
    /// A verifiable presentation of this kind of credential (e.g.
    /// `AdviserCredential`) from an issuer the owner trusts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_type: Option<String>,
    /// Only claims verified from a trusted issuer's token count.
    #[serde(default)]
    pub verified_only: bool,
    /// Only apps the owner's governance register does not vouch for: "turn
    /// away every app the register doesn't list". Which apps it vouches for
    /// is the wallet's to say ([`crate::AuthorizationServer::set_app_listing`]).
    /// Such a rule may refuse or ask, never permit (see `check_policy`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[ts(as = "Option<bool>", optional)]
    pub unlisted_apps: bool,
}

impl PartyCondition {
    fn names_someone(&self) -> bool {
        self.email.is_some() || self.issuer.is_some() || self.subject.is_some() || self.credential_type.is_some()
    }

    /// Whether the party asking through `client_id` meets this condition;
    /// `listed` says whether the register vouches for the app, and is only
    /// asked when the condition depends on it.
    pub fn matches(&self, client_id: &ClientId, party: &RequestingParty, listed: &dyn Fn() -> bool) -> bool {
        if self.client_id.as_ref().is_some_and(|c| c != client_id) {
            return false;
        }
        if self.unlisted_apps && listed() {
            return false;
        }
        if !self.names_someone() {
            // Naming only a client (or every unlisted app) is a condition on
            // an authenticated client; naming nobody at all still requires
            // some claims (Grant §5.6).
            let by_client = (self.client_id.is_some() || self.unlisted_apps) && !self.verified_only;
            let by_claims = !party.is_anonymous() && (!self.verified_only || party.verified.is_some());
            return by_client || by_claims;
        }
        let verified = party.verified.as_ref();
        if let Some(wanted) = &self.credential_type {
            // Only a presentation verified under a trusted issuer's key says this.
            if verified.is_none_or(|v| v.credential_type.as_deref() != Some(wanted.as_str())) {
                return false;
            }
        }
        if self.issuer.is_some() || self.subject.is_some() {
            let Some(v) = verified else { return false };
            if self.issuer.is_some() && v.issuer != self.issuer {
                return false;
            }
            if self.subject.is_some() && v.subject != self.subject {
                return false;
            }
        }
        if let Some(wanted) = &self.email {
            let same = |e: &Option<String>| e.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(wanted));
            let by_verified = verified.is_some_and(|v| same(&v.email));
            // With an issuer named, the email is that issuer's word, never the party's own.
            let by_statement = !self.verified_only && self.issuer.is_none() && party.self_asserted.as_ref().is_some_and(|a| same(&a.email));
            if !by_verified && !by_statement {
                return false;
            }
        }
        true
    }

    /// Whether presenting claims could make this condition hold for this
    /// client: never when it names another client.
    fn could_match_with_claims(&self, client_id: &ClientId) -> bool {
        self.client_id.as_ref().is_none_or(|c| c == client_id) && (self.names_someone() || self.client_id.is_none())
    }

    /// The claims a party would have to present to satisfy this condition
    /// (Grant §3.3.6 `required_claims`).
    pub fn required_claims(&self) -> Vec<serde_json::Value> {
        let issuers: Vec<&String> = self.issuer.iter().collect();
        let mut out = Vec::new();
        let mut claim = |name: &str, friendly: &str| {
            let mut c = serde_json::json!({
                "name": name,
                "friendly_name": friendly,
                "claim_token_format": [ID_TOKEN_FORMAT],
            });
            if !issuers.is_empty() {
                c["issuer"] = serde_json::json!(issuers);
            }
            out.push(c);
        };
        if self.email.is_some() || !self.names_someone() {
            claim("email", "Email address");
        }
        if self.subject.is_some() || self.issuer.is_some() {
            claim("sub", "Subject identifier");
        }
        if let Some(kind) = &self.credential_type {
            // Proved by presenting the credential itself.
            let mut c = serde_json::json!({
                "name": "credential_type",
                "friendly_name": format!("A {kind}"),
                "claim_token_format": [crate::claims::PRESENTATION_FORMAT],
                "value": kind,
            });
            if !issuers.is_empty() {
                c["issuer"] = serde_json::json!(issuers);
            }
            out.push(c);
        }
        out
    }
}

/// An owner's rule: for these resources and scopes, for these parties, in
/// this period, do this.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct Policy {
    pub id: PolicyId,
    pub target: Target,
    /// Scopes the policy covers; empty means every scope of the resource.
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub party: PartyCondition,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<UnixTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<UnixTime>,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// How long the access a permit gives lasts, from when it is given
    /// (seconds); without it, as long as the policy stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_lifetime: Option<i64>,
    /// The request whose approval asked for this rule ("next time, without
    /// asking"): stopping what that app shares ends it too, where a rule
    /// the owner wrote herself stands until she removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_request: Option<RequestId>,
    pub created_at: UnixTime,
}

impl Policy {
    pub fn applies_to(&self, resource: &Resource, scope: &str, now: UnixTime) -> bool {
        let target = match &self.target {
            Target::Resource(id) => *id == resource.id,
            Target::ResourceServer(rs) => *rs == resource.resource_server,
        };
        target
            && (self.scopes.is_empty() || self.scopes.iter().any(|s| s == scope))
            && self.valid_from.is_none_or(|from| now >= from)
            && self.valid_until.is_none_or(|until| now < until)
    }
}

/// The result of evaluating the policies for one scope.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    Permit { policy_id: PolicyId },
    Deny { policy_id: Option<PolicyId> },
    Ask,
    NeedInfo { required_claims: Vec<serde_json::Value> },
}

/// Evaluates `policies` (those that may concern the resource) for one scope.
pub fn evaluate<'a>(
    policies: impl IntoIterator<Item = &'a Policy>,
    resource: &Resource,
    scope: &str,
    client_id: &ClientId,
    party: &RequestingParty,
    listed: &dyn Fn() -> bool,
    now: UnixTime,
) -> Decision {
    let mut permit = None;
    let mut asked = false;
    let mut required = Vec::new();
    for policy in policies {
        if !policy.applies_to(resource, scope, now) {
            continue;
        }
        if policy.outcome == Outcome::Permit && policy.party.unlisted_apps {
            // Names no one: never a way in, however it was stored.
            continue;
        }
        if !policy.party.matches(client_id, party, listed) {
            if policy.outcome == Outcome::Permit && party.is_anonymous() && policy.party.could_match_with_claims(client_id) {
                required.extend(policy.party.required_claims());
            }
            continue;
        }
        match policy.outcome {
            Outcome::Deny => return Decision::Deny { policy_id: Some(policy.id.clone()) },
            Outcome::Permit => permit = permit.or(Some(policy.id.clone())),
            Outcome::Ask => asked = true,
        }
    }
    if let Some(policy_id) = permit {
        Decision::Permit { policy_id }
    } else if asked || required.is_empty() {
        Decision::Ask
    } else {
        required.dedup();
        Decision::NeedInfo { required_claims: required }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClaimSet, ResourceDescription};

    fn resource() -> Resource {
        Resource {
            id: "r1".into(),
            resource_server: "rs-a".into(),
            description: ResourceDescription { resource_scopes: vec!["owner".into(), "value".into()], ..Default::default() },
            created_at: 0,
        }
    }

    fn policy(outcome: Outcome, party: PartyCondition) -> Policy {
        Policy {
            id: format!("{outcome:?}").into(),
            target: Target::Resource("r1".into()),
            scopes: vec![],
            party,
            valid_from: None,
            valid_until: None,
            outcome,
            description: None,
            created_at: 0,
            grant_lifetime: None,
            from_request: None,
        }
    }

    fn verified(email: &str) -> RequestingParty {
        RequestingParty {
            verified: Some(ClaimSet {
                issuer: Some("https://idp".into()),
                subject: Some("bob".into()),
                email: Some(email.into()),
                ..Default::default()
            }),
            self_asserted: None,
            chain: None,
        }
    }

    fn stated(email: &str) -> RequestingParty {
        RequestingParty {
            verified: None,
            self_asserted: Some(ClaimSet { email: Some(email.into()), ..Default::default() }),
            chain: None,
        }
    }

    #[test]
    fn a_credential_type_counts_only_from_a_verified_presentation() {
        let rule = PartyCondition { credential_type: Some("AdviserCredential".into()), ..Default::default() };
        let adviser = RequestingParty {
            verified: Some(ClaimSet { issuer: Some("https://regulator".into()), credential_type: Some("AdviserCredential".into()), ..Default::default() }),
            self_asserted: None,
            chain: None,
        };
        assert!(rule.matches(&"any-client".into(), &adviser, &|| false));
        // Saying so oneself is not presenting one.
        let claims_it = RequestingParty {
            verified: None,
            self_asserted: Some(ClaimSet { credential_type: Some("AdviserCredential".into()), ..Default::default() }),
            chain: None,
        };
        assert!(!rule.matches(&"any-client".into(), &claims_it, &|| false));
        assert!(!rule.matches(&"any-client".into(), &verified("bob@adviser.example"), &|| false), "a verified email is not an adviser credential");
    }

    fn by_email(email: &str, verified_only: bool) -> PartyCondition {
        PartyCondition { email: Some(email.into()), verified_only, ..Default::default() }
    }

    #[test]
    fn no_policy_means_ask() {
        let d = evaluate([], &resource(), "owner", &"c".into(), &verified("bob@x.org"), &|| false, 0);
        assert_eq!(d, Decision::Ask);
    }

    #[test]
    fn matching_permit_permits() {
        let p = policy(Outcome::Permit, by_email("Bob@X.org", false));
        let d = evaluate([&p], &resource(), "owner", &"c".into(), &verified("bob@x.org"), &|| false, 0);
        assert_eq!(d, Decision::Permit { policy_id: "Permit".into() });
    }

    #[test]
    fn deny_overrides_permit() {
        let p = policy(Outcome::Permit, by_email("bob@x.org", false));
        let d = policy(Outcome::Deny, by_email("bob@x.org", false));
        let result = evaluate([&p, &d], &resource(), "owner", &"c".into(), &verified("bob@x.org"), &|| false, 0);
        assert_eq!(result, Decision::Deny { policy_id: Some("Deny".into()) });
    }

    #[test]
    fn verified_only_ignores_stated_email() {
        let p = policy(Outcome::Permit, by_email("bob@x.org", true));
        assert_eq!(evaluate([&p], &resource(), "owner", &"c".into(), &stated("bob@x.org"), &|| false, 0), Decision::Ask);
        let lax = policy(Outcome::Permit, by_email("bob@x.org", false));
        assert!(matches!(evaluate([&lax], &resource(), "owner", &"c".into(), &stated("bob@x.org"), &|| false, 0), Decision::Permit { .. }));
    }

    #[test]
    fn anonymous_party_is_asked_for_the_claims_a_permit_needs() {
        let p = policy(Outcome::Permit, by_email("bob@x.org", false));
        match evaluate([&p], &resource(), "owner", &"c".into(), &RequestingParty::default(), &|| false, 0) {
            Decision::NeedInfo { required_claims } => assert_eq!(required_claims[0]["name"], "email"),
            other => panic!("expected need_info, got {other:?}"),
        }
    }

    #[test]
    fn empty_condition_never_lets_an_empty_claim_set_through() {
        let p = policy(Outcome::Permit, PartyCondition::default());
        let d = evaluate([&p], &resource(), "owner", &"c".into(), &RequestingParty::default(), &|| false, 0);
        assert!(matches!(d, Decision::NeedInfo { .. }));
        let d = evaluate([&p], &resource(), "owner", &"c".into(), &stated("anyone@x.org"), &|| false, 0);
        assert!(matches!(d, Decision::Permit { .. }));
    }

    #[test]
    fn client_condition_permits_that_client_only() {
        let cond = PartyCondition { client_id: Some("dash".into()), ..Default::default() };
        let p = policy(Outcome::Permit, cond);
        assert!(matches!(evaluate([&p], &resource(), "owner", &"dash".into(), &RequestingParty::default(), &|| false, 0), Decision::Permit { .. }));
        assert_eq!(evaluate([&p], &resource(), "owner", &"other".into(), &verified("a@b.c"), &|| false, 0), Decision::Ask);
    }

    #[test]
    fn a_permit_for_another_client_does_not_ask_for_claims() {
        let cond = PartyCondition { client_id: Some("owner-app".into()), ..Default::default() };
        let p = policy(Outcome::Permit, cond);
        assert_eq!(evaluate([&p], &resource(), "owner", &"dashboard".into(), &RequestingParty::default(), &|| false, 0), Decision::Ask);
        let cond = PartyCondition { client_id: Some("owner-app".into()), email: Some("a@b.c".into()), ..Default::default() };
        let p = policy(Outcome::Permit, cond);
        assert_eq!(evaluate([&p], &resource(), "owner", &"dashboard".into(), &RequestingParty::default(), &|| false, 0), Decision::Ask);
        assert!(matches!(evaluate([&p], &resource(), "owner", &"owner-app".into(), &RequestingParty::default(), &|| false, 0), Decision::NeedInfo { .. }));
    }

    #[test]
    fn validity_window_and_scopes_limit_a_policy() {
        let mut p = policy(Outcome::Permit, by_email("bob@x.org", false));
        p.scopes = vec!["owner".into()];
        p.valid_from = Some(100);
        p.valid_until = Some(200);
        let party = verified("bob@x.org");
        assert_eq!(evaluate([&p], &resource(), "owner", &"c".into(), &party, &|| false, 99), Decision::Ask);
        assert!(matches!(evaluate([&p], &resource(), "owner", &"c".into(), &party, &|| false, 150), Decision::Permit { .. }));
        assert_eq!(evaluate([&p], &resource(), "owner", &"c".into(), &party, &|| false, 200), Decision::Ask);
        assert_eq!(evaluate([&p], &resource(), "value", &"c".into(), &party, &|| false, 150), Decision::Ask);
    }

    #[test]
    fn resource_server_wide_policy_covers_its_resources_only() {
        let mut p = policy(Outcome::Deny, by_email("eve@x.org", false));
        p.target = Target::ResourceServer("rs-a".into());
        let mut other = resource();
        other.resource_server = "rs-b".into();
        let eve = verified("eve@x.org");
        assert!(matches!(evaluate([&p], &resource(), "owner", &"c".into(), &eve, &|| false, 0), Decision::Deny { .. }));
        assert_eq!(evaluate([&p], &other, "owner", &"c".into(), &eve, &|| false, 0), Decision::Ask);
    }

    #[test]
    fn an_email_pinned_to_an_issuer_is_that_issuers_word_only() {
        let cond = PartyCondition { email: Some("bob@x.org".into()), issuer: Some("https://idp".into()), ..Default::default() };
        let p = policy(Outcome::Permit, cond);
        assert!(matches!(evaluate([&p], &resource(), "owner", &"c".into(), &verified("bob@x.org"), &|| false, 0), Decision::Permit { .. }));
        // Verified by that issuer as someone else, stating Bob's email.
        let mut mallory = verified("mallory@x.org");
        mallory.self_asserted = Some(ClaimSet { email: Some("bob@x.org".into()), ..Default::default() });
        assert_eq!(evaluate([&p], &resource(), "owner", &"c".into(), &mallory, &|| false, 0), Decision::Ask);
        // Bob's email verified by another issuer.
        let mut elsewhere = verified("bob@x.org");
        elsewhere.verified.as_mut().unwrap().issuer = Some("https://lax-idp".into());
        assert_eq!(evaluate([&p], &resource(), "owner", &"c".into(), &elsewhere, &|| false, 0), Decision::Ask);
    }

    #[test]
    fn issuer_and_subject_need_verified_claims() {
        let cond = PartyCondition { issuer: Some("https://idp".into()), subject: Some("bob".into()), ..Default::default() };
        let p = policy(Outcome::Permit, cond);
        assert!(matches!(evaluate([&p], &resource(), "owner", &"c".into(), &verified("x@y.z"), &|| false, 0), Decision::Permit { .. }));
        let mut claims_bob = stated("x@y.z");
        claims_bob.self_asserted.as_mut().unwrap().subject = Some("bob".into());
        assert_eq!(evaluate([&p], &resource(), "owner", &"c".into(), &claims_bob, &|| false, 0), Decision::Ask);
    }

    #[test]
    fn a_rule_for_unlisted_apps_turns_away_every_app_the_register_does_not_vouch_for_and_no_other() {
        let rule = PartyCondition { unlisted_apps: true, ..Default::default() };
        let p = policy(Outcome::Deny, rule);
        // Anonymous or not, an unlisted app is refused.
        assert!(matches!(evaluate([&p], &resource(), "owner", &"c".into(), &RequestingParty::default(), &|| false, 0), Decision::Deny { .. }));
        assert!(matches!(evaluate([&p], &resource(), "owner", &"c".into(), &verified("bob@x.org"), &|| false, 0), Decision::Deny { .. }));
        // A listed one is asked about as before.
        assert_eq!(evaluate([&p], &resource(), "owner", &"c".into(), &RequestingParty::default(), &|| true, 0), Decision::Ask);
        // Whether an app is listed is only asked when a rule depends on it.
        let plain = policy(Outcome::Deny, by_email("eve@x.org", false));
        let asked = std::cell::Cell::new(false);
        evaluate([&plain], &resource(), "owner", &"c".into(), &verified("bob@x.org"), &|| { asked.set(true); true }, 0);
        assert!(!asked.get());
    }
}

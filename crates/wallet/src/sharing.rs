//! Who the owner shares with, as she sees it: the apps registered and
//! asking, each with what the governance registry says of it; the access
//! in force; and a consent receipt for each approval she gave.

use crate::governance::{client_standing, RegistryStanding};
use crate::pensions::PensionPreview;
use crate::{OwnerError, OwnerResult, Wallet};
use serde::{Deserialize, Serialize};
use uma_as::id::{ClientId, GrantId, RequestId};
use uma_as::model::{Grant, GrantSource, PendingRequest, Protection, RequestStatus, RequestingParty};
use uma_as::model::Permission;
use uma_as::owner::NewPolicy;
use uma_as::policy::{Outcome, PartyCondition, Policy, Target};

/// Whether someone has checked who the party is, and the proof they
/// presented has not run out.
fn checked_now(party: &RequestingParty, now: i64) -> bool {
    party.is_verified() && party.verified.as_ref().and_then(|v| v.valid_until).is_none_or(|until| until > now)
}

/// The condition a standing rule puts on who asks: this app, and this
/// person as the issuer that checked them names them, never their own word.
fn standing_party(client_id: &ClientId, party: &RequestingParty) -> PartyCondition {
    let verified = party.verified.clone().unwrap_or_default();
    let by_subject = verified.issuer.is_some() && verified.subject.is_some();
    PartyCondition {
        client_id: Some(client_id.clone()),
        issuer: verified.issuer.clone(),
        subject: verified.subject.filter(|_| by_subject),
        email: verified.email.filter(|_| !by_subject),
        credential_type: verified.credential_type,
        verified_only: true,
        unlisted_apps: false,
    }
}

/// A requester's words as one plain line: no control, format (bidi,
/// zero-width) or line-breaking characters, which could make them pass for
/// the wallet's own words on the card; at most 300 characters.
pub(crate) fn one_line(text: &str) -> Option<String> {
    use std::fmt::Write;
    let mut out = String::new();
    for c in text.chars().filter(|c| !is_format(*c)).take(300) {
        let _ = out.write_char(if c.is_control() { ' ' } else { c });
    }
    let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    (!out.is_empty()).then_some(out)
}

/// Unicode's format characters that reorder or hide text.
fn is_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}')
}

/// How long access lasts when the owner approves without saying, for a
/// person whose identity nobody checked: never "for ever" by default.
pub const DEFAULT_ACCESS_DAYS: i64 = 30;

/// The longest access a standing rule may give each time (the AS's
/// limit on a policy's grant lifetime).
const MAX_RULE_LIFETIME: i64 = 5 * 365 * 86_400;

/// The owner's answer to a pending request.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields = nullable)]
pub struct Approval {
    /// The scopes granted; absent means everything that was asked.
    #[serde(default)]
    pub permissions: Option<Vec<Permission>>,
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// "Next time, allow this app without asking me": a standing rule that
    /// lets the same app, used by the same checked person, have the same
    /// access for the same length of time without a new request. Only for
    /// a person whose identity was checked ([`Requester::may_have_no_end`]):
    /// a rule for an app alone would let anyone using that app in.
    #[serde(default)]
    pub remember: bool,
}

/// A registered client (an app, or a provider as resource server).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct ClientView {
    pub client_id: ClientId,
    pub client_name: Option<String>,
    pub protection: Protection,
    /// The scopes it registered, space-separated.
    pub scope: String,
    pub claims_redirect_uris: Vec<String>,
    pub created_at: i64,
    pub registry: RegistryStanding,
}

/// An access request, with what the registry says of the app asking and
/// who is asking in the owner's terms.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct PendingView {
    #[serde(flatten)]
    pub request: PendingRequest,
    pub registry: RegistryStanding,
    pub requester: Requester,
}

/// Who is asking, as the owner must weigh it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct Requester {
    /// The app's name. The app chose it itself unless `app_name_checked`.
    pub app_name: String,
    /// The governance registry lists the app under this name, and the app
    /// proved it is the one listed.
    pub app_name_checked: bool,
    /// When the app first registered here (Unix seconds).
    pub app_first_seen_at: i64,
    /// How many requests the app made before this one.
    pub earlier_requests: u32,
    /// Why, in the app's own words (its registration's `purpose`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// Why, in the words the person using the app typed, never checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_purpose: Option<String>,
    pub person: PersonStanding,
    /// Whether access with no end, or "next time, without asking", may be
    /// given: only to a person whose identity was checked.
    pub may_have_no_end: bool,
}

/// The person using the app, as far as anyone vouches for them.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PersonStanding {
    /// Checked by someone the owner trusts.
    Verified {
        name: Option<String>,
        email: Option<String>,
        /// What vouches for them, e.g. an adviser credential and its firm.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vouched_as: Option<String>,
        /// Who checked them (the identity provider or credential issuer).
        checked_by: Option<String>,
    },
    /// Typed in by the requester, not checked.
    Stated { name: Option<String>, email: Option<String> },
    /// Nothing is known of them.
    Unknown,
}

impl PersonStanding {
    fn of(party: &RequestingParty) -> PersonStanding {
        if party.is_verified() {
            let v = party.verified.clone().unwrap_or_default();
            let vouched_as = match (&v.authorisation, &v.organisation) {
                (Some(what), Some(firm)) => Some(format!("{what}, {firm}")),
                (what, firm) => what.clone().or(firm.clone()),
            };
            return PersonStanding::Verified { name: v.name, email: v.email, vouched_as, checked_by: v.issuer };
        }
        match &party.self_asserted {
            Some(stated) if !stated.is_empty() => PersonStanding::Stated { name: stated.name.clone(), email: stated.email.clone() },
            _ => PersonStanding::Unknown,
        }
    }
}

/// A grant, and whether it is in force now.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct GrantView {
    #[serde(flatten)]
    pub grant: Grant,
    pub active: bool,
}

/// A consent receipt: who may see what, since and until when, whether it
/// was withdrawn, and how to withdraw it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct Receipt {
    pub grant_id: GrantId,
    pub request_id: RequestId,
    pub client_id: ClientId,
    pub client_name: Option<String>,
    /// The pension's scheme name (or identifier).
    pub pension: Option<String>,
    /// The pension's identifier (`urn:pei:…`).
    pub pei: Option<String>,
    pub provider: Option<String>,
    pub scopes: Vec<String>,
    pub granted_at: i64,
    pub until: Option<i64>,
    pub revoked_at: Option<i64>,
    pub active: bool,
    pub how_to_withdraw: String,
    /// The access grant credential the wallet issued for it (signed by the
    /// wallet's DID), while it is in force; a withdrawn one is revoked.
    pub credential: Option<String>,
}

const HOW_TO_WITHDRAW: &str = "Sharing: revoke this access. The app asking is told at once, and this receipt's credential shows as revoked.";

impl Wallet {
    /// Every registered client but the wallet's own (the owner's own
    /// access is hers, not an app's to revoke). A registry that cannot be
    /// read lists no one.
    pub fn clients(&self) -> Vec<ClientView> {
        let held = self.pensions().governance().current().ok().flatten();
        let own = self.pensions().own_client_id();
        self.server
            .clients()
            .into_iter()
            .filter(|c| Some(&c.client_id) != own.as_ref())
            .map(|c| ClientView {
                registry: client_standing(held.as_ref(), &c),
                client_id: c.client_id,
                client_name: c.client_name,
                protection: c.protection,
                scope: c.scope.join(" "),
                claims_redirect_uris: c.claims_redirect_uris,
                created_at: c.created_at,
            })
            .collect()
    }

    /// Requests waiting for the owner (`all`: decided and expired too).
    pub fn requests(&self, all: bool) -> Result<Vec<PendingView>, OwnerError> {
        let held = self.pensions().governance().current()?;
        let every = self.server.pending_requests(false)?;
        let now = self.server.now();
        // The open ones are those still waiting and still asked for: one
        // read of the requests serves both the list and the app's history.
        let requests: Vec<PendingRequest> =
            every.iter().filter(|r| all || (r.status == RequestStatus::Pending && !r.is_expired(now))).cloned().collect();
        Ok(requests
            .into_iter()
            .map(|request| {
                let client = self.server.client(&request.client_id);
                let registry = client.as_ref().map(|c| client_standing(held.as_ref(), c)).unwrap_or_default();
                let earlier = every.iter().filter(|r| r.client_id == request.client_id && r.created_at < request.created_at).count();
                let person = PersonStanding::of(&request.party);
                let checked_now = checked_now(&request.party, self.server.now());
                let requester = Requester {
                    app_name: registry.name.clone().filter(|_| registry.listed).unwrap_or_else(|| request.client_name.clone()),
                    app_name_checked: registry.listed,
                    app_first_seen_at: client.as_ref().map_or(request.created_at, |c| c.created_at),
                    earlier_requests: u32::try_from(earlier).unwrap_or(u32::MAX),
                    person_purpose: [request.party.verified.as_ref(), request.party.self_asserted.as_ref()]
                        .into_iter()
                        .flatten()
                        .find_map(|claims| claims.purpose.as_deref().and_then(one_line)),
                    purpose: client.and_then(|c| c.purpose).as_deref().and_then(one_line),
                    may_have_no_end: checked_now,
                    person,
                };
                PendingView { request, registry, requester }
            })
            .collect())
    }

    /// Approves a request. Access for a person nobody checked ends after
    /// [`DEFAULT_ACCESS_DAYS`] unless the owner says when; it never runs
    /// with no end. With `remember`, the same app and checked person get
    /// the same access again without asking (one permit rule per pension).
    pub async fn approve_request(&self, id: &RequestId, approval: Approval) -> OwnerResult<PendingRequest> {
        let request = self.server.pending_request(id)?;
        let now = self.server.now();
        let checked = checked_now(&request.party, now);
        let expires_at = match approval.expires_at {
            None if !checked => Some(now + DEFAULT_ACCESS_DAYS * 86_400),
            chosen => chosen,
        };
        let rule_lifetime = expires_at.map(|until| until - now);
        let shared = approval.permissions.clone().unwrap_or_else(|| request.permissions.clone());
        if approval.remember {
            self.may_remember(checked, rule_lifetime, &shared)?;
        }
        let decided = self.server.approve_request(id, uma_as::owner::Approval { permissions: approval.permissions, expires_at }).await?;
        if approval.remember {
            // After the approval, which checked the permissions against
            // what was asked: a rule never covers more than she shared.
            let party = standing_party(&request.client_id, &request.party);
            let app = self.server.client(&request.client_id).and_then(|c| c.client_name).unwrap_or_else(|| request.client_name.clone());
            let app: String = one_line(&app).unwrap_or_default().chars().take(60).collect();
            for permission in shared {
                self.server
                    .add_policy(NewPolicy {
                        target: Target::Resource(permission.resource_id),
                        scopes: permission.resource_scopes,
                        party: party.clone(),
                        valid_from: None,
                        valid_until: None,
                        outcome: Outcome::Permit,
                        description: Some(format!("You allowed the app named “{app}” to see this without asking you again")),
                        grant_lifetime: rule_lifetime,
                        from_request: Some(id.clone()),
                    })
                    .await?;
            }
        }
        Ok(decided)
    }

    /// Whether "next time, without asking" can be kept for what she is
    /// sharing, checked before anything is shared so that an approval never
    /// stands without the rule she asked for.
    fn may_remember(&self, checked: bool, rule_lifetime: Option<i64>, shared: &[Permission]) -> OwnerResult<()> {
        if !checked {
            return Err(OwnerError::invalid("\"Next time, without asking\" is only for a person whose identity was checked; this one's was not"));
        }
        if rule_lifetime.is_some_and(|l| !(60..=MAX_RULE_LIFETIME).contains(&l)) {
            return Err(OwnerError::invalid("a standing rule gives access for a minute to five years each time"));
        }
        let resources = self.server.resources();
        for permission in shared {
            // A rule naming no scope covers every scope of the pension, more
            // than anyone showed her.
            if permission.resource_scopes.is_empty() {
                return Err(OwnerError::invalid("\"Next time, without asking\" needs to name what is shared; this request names nothing"));
            }
            let registered = resources.iter().find(|r| r.id == permission.resource_id).map(|r| &r.description.resource_scopes);
            if !registered.is_some_and(|r| permission.resource_scopes.iter().all(|s| r.contains(s))) {
                return Err(OwnerError::invalid("the provider no longer offers all of this: share it once, without \"next time\""));
            }
        }
        Ok(())
    }

    /// Stops a grant ("Stop sharing"), and with it every "next time,
    /// without asking" rule that would let the same app and person back in
    /// to the same pension at their next request. Rules she wrote herself,
    /// and those for other people using the app, stand.
    pub async fn stop_sharing(&self, grant_id: &GrantId) -> OwnerResult<Grant> {
        let grant = self.server.revoke_grant(grant_id).await?;
        let target = Target::Resource(grant.resource_id.clone());
        let standing = self
            .server
            .policies()
            .into_iter()
            .filter(|p| p.from_request.is_some() && p.target == target && p.party.matches(&grant.client_id, &grant.party, &|| true));
        for policy in standing {
            self.server.remove_policy(&policy.id).await?;
        }
        Ok(grant)
    }

    /// What a request would release, read now from the providers: "see
    /// exactly what they'll see".
    pub async fn request_preview(&self, id: &RequestId) -> OwnerResult<Vec<PensionPreview>> {
        let request = self.server.pending_request(id)?;
        self.pensions().preview(&request.permissions).await
    }

    /// Every grant but those of the wallet's own reads.
    pub fn grants(&self) -> Vec<GrantView> {
        let now = self.server.now();
        let own = self.pensions().own_client_id();
        self.server
            .grants()
            .into_iter()
            .filter(|g| Some(&g.client_id) != own.as_ref())
            .map(|grant| GrantView { active: grant.is_active(now), grant })
            .collect()
    }

    /// The owner's rules, but the wallet's own standing permit for her.
    pub fn policies(&self) -> Vec<Policy> {
        let own = self.pensions().own_client_id();
        self.server.policies().into_iter().filter(|p| own.is_none() || p.party.client_id != own).collect()
    }

    /// The owner's consent receipts, newest first: one for each approval
    /// she gave, each with its access grant credential while in force.
    pub fn receipts(&self) -> Result<Vec<Receipt>, OwnerError> {
        let now = self.server.now();
        let resources = self.server.resources();
        let mut list = Vec::new();
        for grant in self.server.grants() {
            let GrantSource::Approval { request_id } = &grant.source else { continue };
            let resource = resources.iter().find(|r| r.id == grant.resource_id);
            let active = grant.is_active(now);
            list.push(Receipt {
                grant_id: grant.id.clone(),
                request_id: request_id.clone(),
                client_name: self.server.client(&grant.client_id).and_then(|c| c.client_name),
                client_id: grant.client_id.clone(),
                pension: resource.and_then(|r| r.description.description.clone().or(r.description.name.clone())),
                pei: resource.and_then(|r| r.description.name.clone()),
                provider: resource.map(|r| r.resource_server.to_string()),
                scopes: grant.scopes.clone(),
                granted_at: grant.created_at,
                until: grant.expires_at,
                revoked_at: grant.revoked_at,
                active,
                how_to_withdraw: HOW_TO_WITHDRAW.into(),
                credential: if active { Some(self.server.access_grant_credential(&grant.id)?) } else { None },
            });
        }
        list.sort_by(|a, b| b.granted_at.cmp(&a.granted_at));
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_requesters_words_come_as_one_plain_line() {
        assert_eq!(super::one_line("  Show my\nfamily\u{202E}  our income "), Some("Show my family our income".into()));
        assert_eq!(super::one_line("\u{200B}\u{2066}"), None);
        assert_eq!(super::one_line(&"x".repeat(1000)).map(|s| s.len()), Some(300));
    }

    #[test]
    fn a_proof_that_ran_out_no_longer_counts_as_checked() {
        use uma_as::model::{ClaimSet, RequestingParty};
        let party = |valid_until| RequestingParty {
            verified: Some(ClaimSet { email: Some("bob@adviser.example".into()), valid_until, ..ClaimSet::default() }),
            ..RequestingParty::default()
        };
        assert!(super::checked_now(&party(None), 1_000));
        assert!(super::checked_now(&party(Some(2_000)), 1_000));
        assert!(!super::checked_now(&party(Some(1_000)), 1_000), "expired at this very second");
        assert!(!super::checked_now(&RequestingParty::default(), 1_000));
    }
}

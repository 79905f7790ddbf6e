//! The records the authorization server keeps, as plain serde types.

use crate::clock::UnixTime;
use crate::id::{ClientId, GrantId, PolicyId, RequestId, ResourceId};
use crate::secret::SecretHash;
use serde::{Deserialize, Serialize};

/// One resource and the scopes bound to it: requested in a ticket, granted in
/// an RPT (Grant §1.3; FedAuthz §4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct Permission {
    /// REQUIRED. The `_id` the AS assigned at resource registration.
    pub resource_id: ResourceId,
    /// REQUIRED, possibly empty (FedAuthz §4.1).
    pub resource_scopes: Vec<String>,
}

/// The one way scopes are merged: each once, in the order first seen. An
/// empty scope stands for a request without scopes and adds nothing.
pub fn merge_scopes<S: AsRef<str>>(into: &mut Vec<String>, scopes: impl IntoIterator<Item = S>) {
    for scope in scopes {
        let scope = scope.as_ref();
        if !scope.is_empty() && !into.iter().any(|s| s == scope) {
            into.push(scope.to_string());
        }
    }
}

impl Permission {
    /// Adds `scopes` of `resource_id` to `list`: each resource once, its
    /// scopes merged ([`merge_scopes`]).
    pub fn merge_into<S: AsRef<str>>(list: &mut Vec<Permission>, resource_id: &ResourceId, scopes: impl IntoIterator<Item = S>) {
        match list.iter_mut().find(|p| p.resource_id == *resource_id) {
            Some(p) => merge_scopes(&mut p.resource_scopes, scopes),
            None => {
                let mut resource_scopes = Vec::new();
                merge_scopes(&mut resource_scopes, scopes);
                list.push(Permission { resource_id: resource_id.clone(), resource_scopes });
            }
        }
    }
}

/// Where a resource server stands with the owner (FedAuthz §1.3: the PAT
/// records the owner's consent that this RS may use this AS).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    /// A plain client; it never asked for `uma_protection`.
    None,
    /// Asked for a PAT; waiting for the owner.
    Pending,
    Approved,
    Refused,
}

/// The grants the token endpoint knows (RFC 6749 §4.4, RFC 7523 §2.1,
/// Grant §3.3.1), under their registered names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum GrantType {
    #[serde(rename = "urn:ietf:params:oauth:grant-type:uma-ticket")]
    UmaTicket,
    /// For a resource server's PAT, once the owner approved it.
    #[serde(rename = "client_credentials")]
    ClientCredentials,
    /// For a PAT from an owner-minted assertion.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:jwt-bearer")]
    JwtBearer,
}

impl GrantType {
    pub const ALL: [GrantType; 3] = [GrantType::UmaTicket, GrantType::ClientCredentials, GrantType::JwtBearer];

    pub const fn as_str(self) -> &'static str {
        match self {
            GrantType::UmaTicket => "urn:ietf:params:oauth:grant-type:uma-ticket",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::JwtBearer => "urn:ietf:params:oauth:grant-type:jwt-bearer",
        }
    }

    pub fn parse(name: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == name)
    }
}

/// A registered OAuth client (RFC 7591). Resource servers are clients too.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Client {
    pub client_id: ClientId,
    /// Absent for resource servers connected through an owner-minted
    /// assertion: they authenticate with the assertion, not a secret.
    pub secret_hash: Option<SecretHash>,
    pub client_name: Option<String>,
    pub redirect_uris: Vec<String>,
    pub claims_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub token_endpoint_auth_method: String,
    /// The scopes pre-registered for this client (Grant §3.3.4 RegisteredScopes).
    pub scope: Vec<String>,
    pub protection: Protection,
    pub created_at: UnixTime,
    /// When the client first proved who it is (a secret, an assertion). A
    /// client that never does is reaped: registration is open to anyone.
    /// Records from before this field count as authenticated: they were
    /// kept, and may be in use.
    #[serde(default = "kept_before")]
    pub authenticated_at: Option<UnixTime>,
    /// When the owner last refused this resource server. Assertions minted
    /// before then no longer connect it.
    #[serde(default)]
    pub refused_at: Option<UnixTime>,
    /// RFC 7591 `software_id`: what the client says it is, e.g. its id in
    /// the governance registry. Believed only with `private_key_jwt` and
    /// the registry's keys for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_id: Option<String>,
    /// The public keys a `private_key_jwt` client signs its assertions with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// Why the app says it asks (its registration's `purpose`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
}

fn kept_before() -> Option<UnixTime> {
    Some(0)
}

impl Client {
    pub fn display_name(&self) -> &str {
        self.client_name.as_deref().unwrap_or(self.client_id.as_str())
    }
}

/// A protection API access token, stored under the hash of its value.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pat {
    pub client_id: ClientId,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
}

/// A registered resource description (FedAuthz §3.1).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct Resource {
    pub id: ResourceId,
    /// The resource server (client id) that registered it; only it may see or touch it.
    pub resource_server: ClientId,
    #[serde(flatten)]
    pub description: ResourceDescription,
    pub created_at: UnixTime,
}

/// The body of a resource registration request (FedAuthz §3.1).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct ResourceDescription {
    /// REQUIRED. Scopes available for this resource.
    pub resource_scopes: Vec<String>,
    /// OPTIONAL. Human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// OPTIONAL. A URI for an icon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_uri: Option<String>,
    /// OPTIONAL. Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// OPTIONAL. A string identifying the semantics of the resource.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// Claims about one set of facts on the requesting party.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct ClaimSet {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The kind of credential these claims were presented in (e.g.
    /// `AdviserCredential`), when a verifiable presentation carried them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_type: Option<String>,
    /// The organisation the credential names (an adviser's firm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// What the issuer vouches the party is authorised as, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorisation: Option<String>,
    /// When the presented credential expires: these claims stop counting
    /// then, even when a PCT carries them on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<UnixTime>,
}

impl ClaimSet {
    pub fn is_empty(&self) -> bool {
        self.issuer.is_none() && self.subject.is_none() && self.email.is_none() && self.name.is_none() && self.credential_type.is_none()
    }
}

/// Who is asking, as far as the AS knows: claims verified from a token signed
/// by an issuer the owner trusts, and claims the person typed in themselves.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct RequestingParty {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<ClaimSet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_asserted: Option<ClaimSet>,
    /// The request chain this party came with: assigned when a ticket is
    /// first shown, carried by every ticket after it and by the PCT. A party
    /// nobody vouches for (a stated email, or no claims at all) is only
    /// ever this chain: see [`RequestingParty::holder_key`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
}

impl RequestingParty {
    fn is_default(&self) -> bool {
        *self == RequestingParty::default()
    }

    /// True when no claim at all is known (Grant §5.6: such a party must never
    /// pass a policy by default).
    pub fn is_anonymous(&self) -> bool {
        self.verified.as_ref().is_none_or(ClaimSet::is_empty) && self.self_asserted.as_ref().is_none_or(ClaimSet::is_empty)
    }

    /// Who the party says it is: the verified issuer and subject when
    /// known, else the verified or stated email, else anonymous. Policies
    /// judge this; the owner's approvals are bound to [`Self::holder_key`].
    pub fn key(&self) -> String {
        if let Some(v) = &self.verified {
            if let (Some(iss), Some(sub)) = (&v.issuer, &v.subject) {
                return format!("oidc:{iss}#{sub}");
            }
            if let Some(email) = &v.email {
                return format!("email:{}", email.to_lowercase());
            }
        }
        if let Some(email) = self.self_asserted.as_ref().and_then(|a| a.email.as_ref()) {
            return format!("stated-email:{}", email.to_lowercase());
        }
        "anonymous".into()
    }

    /// Whether a trusted issuer vouches for who this party is.
    pub fn is_verified(&self) -> bool {
        self.verified.as_ref().is_some_and(|v| (v.issuer.is_some() && v.subject.is_some()) || v.email.is_some())
    }

    /// Whom an approval by the owner is for. A verified party is the same
    /// person in every request; a stated email or an anonymous party is
    /// anyone who types it, so the approval stays with the request chain it
    /// was given on (the polling tickets and the PCT that follow), never
    /// with every user of the same client.
    pub fn holder_key(&self) -> String {
        match (&self.chain, self.is_verified()) {
            (Some(chain), false) => format!("{}#chain:{chain}", self.key()),
            _ => self.key(),
        }
    }

    /// Claims shown later in the chain win; the chain stays the one
    /// already held (a PCT's chain is the party's own).
    pub fn merge(&mut self, other: RequestingParty) {
        if other.verified.is_some() {
            self.verified = other.verified;
        }
        if other.self_asserted.is_some() {
            self.self_asserted = other.self_asserted;
        }
        if self.chain.is_none() {
            self.chain = other.chain;
        }
    }
}

/// A permission ticket's server-side state (Grant §3.2, §5.4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TicketRecord {
    pub permissions: Vec<Permission>,
    pub resource_server: ClientId,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    /// Set once a client has shown the ticket chain: rotated tickets are
    /// bound to that client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientId>,
    /// The pending request this ticket is polling for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_request: Option<RequestId>,
    /// Claims gathered interactively or pushed earlier in this chain.
    #[serde(default, skip_serializing_if = "RequestingParty::is_default")]
    pub party: RequestingParty,
}

/// What a used ticket leaves behind, so a replay can be recognised and the
/// tokens issued from it revoked (Grant §5.4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpentTicket {
    pub rpts: Vec<SecretHash>,
    pub expires_at: UnixTime,
    /// Who used it. Only that client showing it again is a replay that
    /// revokes what it got; anyone else who learnt the ticket is refused
    /// and cancels nothing (Grant §5.4).
    #[serde(default)]
    pub client_id: Option<ClientId>,
}

/// A ticket's slot in the store: live until shown, then spent. Spending is
/// one compare-and-swap of the slot, so of two requests showing the same
/// ticket exactly one wins, and the loser is treated as a replay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TicketSlot {
    Live(TicketRecord),
    Spent(SpentTicket),
}

impl TicketSlot {
    pub fn expires_at(&self) -> UnixTime {
        match self {
            TicketSlot::Live(t) => t.expires_at,
            TicketSlot::Spent(s) => s.expires_at,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GrantSource {
    Policy { policy_id: PolicyId },
    Approval { request_id: RequestId },
}

/// Who may do what on which resource, and why.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct Grant {
    pub id: GrantId,
    pub resource_id: ResourceId,
    pub scopes: Vec<String>,
    pub client_id: ClientId,
    pub party_key: String,
    // Boxed: the party's claim sets are most of a grant's size (480 of
    // 640 bytes inline), and a wallet keeps every grant in memory.
    pub party: Box<RequestingParty>,
    pub source: GrantSource,
    pub created_at: UnixTime,
    pub expires_at: Option<UnixTime>,
    pub revoked_at: Option<UnixTime>,
    /// Its place in the access-grant status list, given with its first
    /// credential ([`crate::access_grant`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_index: Option<u32>,
}

impl Grant {
    pub fn is_active(&self, now: UnixTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|exp| now < exp)
    }
}

/// A granted permission inside an RPT, with the grant it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantedPermission {
    pub resource_id: ResourceId,
    pub resource_scopes: Vec<String>,
    pub grant_id: GrantId,
    pub expires_at: Option<UnixTime>,
}

/// An issued RPT as the server knows it. Only part of it is stored (see
/// [`crate::hot::RptState`]): the rest is the token's own signed claims,
/// read back from the token it is looked up by ([`crate::rpt::rebuilt`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RptRecord {
    pub jti: String,
    pub client_id: ClientId,
    pub permissions: Vec<GrantedPermission>,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
}

/// A persisted claims token (Grant §3.3.5): claims stored by reference.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PctRecord {
    pub client_id: ClientId,
    pub party: RequestingParty,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    Approved { scopes: Vec<Permission>, expires_at: Option<UnixTime>, decided_at: UnixTime },
    Denied { decided_at: UnixTime },
}

/// An access request waiting for (or decided by) the owner.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct PendingRequest {
    pub id: RequestId,
    pub client_id: ClientId,
    pub client_name: String,
    pub party: RequestingParty,
    pub party_key: String,
    /// Only the scopes that need the owner's decision.
    pub permissions: Vec<Permission>,
    pub created_at: UnixTime,
    /// When the client stops asking: its polling ticket's expiry, pushed
    /// back by each poll. The owner cannot decide an expired request.
    #[serde(default)]
    pub open_until: Option<UnixTime>,
    #[serde(flatten)]
    pub status: RequestStatus,
}

impl PendingRequest {
    pub fn is_expired(&self, now: UnixTime) -> bool {
        self.open_until.is_some_and(|at| at <= now)
    }
}

/// An OpenID Provider whose ID tokens the owner accepts as claims.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct TrustedIssuer {
    pub issuer: String,
    /// Where the issuer's keys are; found through OpenID discovery when absent.
    pub jwks_uri: Option<String>,
    /// Client ids at that issuer whose ID tokens count here (the `aud` a
    /// real OpenID Provider writes is the client's id there, not here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_ids: Vec<String>,
    pub added_at: UnixTime,
    /// Its keys, when given (a governance registry lists them): used as
    /// they are, never fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// A credential issuer (a regulator the governance registry lists),
    /// whose presentations count; never an OpenID Provider, whose ID
    /// tokens count. Each is trusted for its own kind only.
    #[serde(default)]
    pub credential_issuer: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_types_travel_under_their_registered_names_and_nothing_else_parses() {
        for grant in GrantType::ALL {
            assert_eq!(serde_json::to_value(grant).unwrap(), grant.as_str());
            assert_eq!(GrantType::parse(grant.as_str()), Some(grant));
        }
        assert_eq!(GrantType::parse("authorization_code"), None);
        assert_eq!(GrantType::parse("UMA-TICKET"), None);
        // Client records written before the enum read back the same.
        let old: Vec<GrantType> = serde_json::from_str(r#"["urn:ietf:params:oauth:grant-type:uma-ticket","client_credentials"]"#).unwrap();
        assert_eq!(old, [GrantType::UmaTicket, GrantType::ClientCredentials]);
    }

    #[test]
    fn scopes_merge_once_each_in_the_order_first_seen_and_an_empty_scope_adds_none() {
        let mut scopes = vec!["owner".to_string()];
        merge_scopes(&mut scopes, ["value", "owner", "", "value", "delegate"]);
        assert_eq!(scopes, ["owner", "value", "delegate"]);

        let mut list = Vec::new();
        Permission::merge_into(&mut list, &"r1".into(), [""]);
        Permission::merge_into(&mut list, &"r2".into(), ["value"]);
        Permission::merge_into(&mut list, &"r1".into(), ["owner", "owner"]);
        assert_eq!(list, vec![
            Permission { resource_id: "r1".into(), resource_scopes: vec!["owner".into()] },
            Permission { resource_id: "r2".into(), resource_scopes: vec!["value".into()] },
        ]);
    }
}

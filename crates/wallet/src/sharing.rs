//! Who the owner shares with, as she sees it: the apps registered and
//! asking, each with what the governance registry says of it; the access
//! in force; and a consent receipt for each approval she gave.

use crate::governance::{client_standing, RegistryStanding};
use crate::Wallet;
use serde::{Deserialize, Serialize};
use uma_as::model::{Grant, GrantSource, PendingRequest, Protection};
use crate::OwnerError;

/// A registered client (an app, or a provider as resource server).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct ClientView {
    pub client_id: String,
    pub client_name: Option<String>,
    pub protection: Protection,
    /// The scopes it registered, space-separated.
    pub scope: String,
    pub claims_redirect_uris: Vec<String>,
    pub created_at: i64,
    pub registry: RegistryStanding,
}

/// An access request, with what the registry says of the app asking.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct PendingView {
    #[serde(flatten)]
    pub request: PendingRequest,
    pub registry: RegistryStanding,
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
    pub grant_id: String,
    pub request_id: String,
    pub client_id: String,
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
    /// Every registered client. A registry that cannot be read lists no one.
    pub fn clients(&self) -> Vec<ClientView> {
        let held = self.pensions().governance().current().ok().flatten();
        self.server
            .clients()
            .into_iter()
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
        let requests = self.server.pending_requests(!all)?;
        Ok(requests
            .into_iter()
            .map(|request| {
                let registry = self.server.client(&request.client_id).map(|c| client_standing(held.as_ref(), &c)).unwrap_or_default();
                PendingView { request, registry }
            })
            .collect())
    }

    pub fn grants(&self) -> Vec<GrantView> {
        let now = self.server.now();
        self.server.grants().into_iter().map(|grant| GrantView { active: grant.is_active(now), grant }).collect()
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
                provider: resource.map(|r| r.resource_server.clone()),
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

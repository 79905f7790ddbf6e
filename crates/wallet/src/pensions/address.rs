//! When the wallet's address changes (a new `--issuer`, a new port), every
//! provider still sends readers to the old one. Each pension this wallet
//! protects is pointed at the new address: the provider is asked, as for
//! a move, to protect it with this wallet at its new address; it knows
//! this wallet by its key, keeps the registration (so the owner's rules
//! and grants stand), and reissues the pension's credential naming the new
//! address. What moved and what could not is kept for the owner, and
//! whatever failed is tried again at the next start or when she asks.
//!
//! Only the wallet's own earlier addresses count (each address it has
//! opened at is remembered): a pension whose provider names another
//! wallet was moved there, and is never taken back from here.

use super::{Pensions, ProviderEntry};
use crate::OwnerError;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A pension whose provider still names an earlier address of this wallet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct ReaddressedPension {
    pub provider: String,
    pub provider_name: Option<String>,
    pub pei: String,
    pub scheme: String,
    /// The address the provider names now (before it is updated).
    pub was: String,
    /// Why it could not be updated, in the provider's words or ours.
    pub error: Option<String>,
}

/// The outcome of pointing the pensions at the wallet's current address.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct AddressReport {
    /// The wallet's address now.
    pub address: String,
    pub at: i64,
    pub updated: Vec<ReaddressedPension>,
    pub failed: Vec<ReaddressedPension>,
}

/// What the owner sees about the wallet's address.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct AddressStatus {
    pub address: String,
    /// Pensions whose provider still names another address of this wallet.
    pub waiting: Vec<ReaddressedPension>,
    /// The last time they were updated, since this wallet started.
    pub last: Option<AddressReport>,
}

/// The last [`AddressReport`], and the turn to make the next one: one run
/// at a time (the run at start and the owner's button), shared by every
/// copy of [`Pensions`].
#[derive(Clone, Default)]
pub(super) struct LastReport {
    report: Arc<Mutex<Option<AddressReport>>>,
    turn: Arc<tokio::sync::Mutex<()>>,
}

/// Addresses this wallet remembers having had, at most.
const MAX_ADDRESSES: usize = 100;

/// When this wallet first opened at an address.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct PastAddress {
    pub since: i64,
}

/// A pension protected here that its provider names under another address.
struct Stale {
    provider: ProviderEntry,
    provider_resource_id: String,
    pension: ReaddressedPension,
}

impl Pensions {
    /// Pensions this wallet protects whose credential names another address
    /// than the wallet's own now. One moved to another wallet is not here
    /// any more, so it is not among them.
    fn stale_addresses(&self) -> Result<Vec<Stale>, OwnerError> {
        let address = self.server.config().issuer.clone();
        let providers = self.providers()?;
        let resources = self.server.resources();
        let mut stale = Vec::new();
        for credential in self.credentials.list()? {
            let named = credential.authorization_server.trim_end_matches('/');
            if credential.status != "active" || named == address || self.addresses.get(named)?.is_none() {
                continue;
            }
            let Some(provider) = providers.iter().find(|p| p.url == credential.credential_issuer) else { continue };
            let protected_here = resources.iter().any(|r| r.resource_server == provider.url.as_str() && r.description.name.as_deref() == Some(credential.pei.as_str()));
            // The provider's own id for the pension ends its PeI.
            let Some(provider_resource_id) = credential.pei.rsplit(':').next().filter(|id| !id.is_empty()) else { continue };
            if !protected_here {
                continue;
            }
            stale.push(Stale {
                provider: provider.clone(),
                provider_resource_id: provider_resource_id.to_string(),
                pension: ReaddressedPension {
                    provider: provider.url.clone(),
                    provider_name: provider.name.clone(),
                    pei: credential.pei.clone(),
                    scheme: credential.scheme.clone(),
                    was: credential.authorization_server.clone(),
                    error: None,
                },
            });
        }
        Ok(stale)
    }

    pub fn address_status(&self) -> Result<AddressStatus, OwnerError> {
        Ok(AddressStatus {
            address: self.server.config().issuer.clone(),
            waiting: self.stale_addresses()?.into_iter().map(|s| s.pension).collect(),
            last: self.last_address_report.report.lock().clone(),
        })
    }

    /// Asks each provider that names an earlier address of this wallet to
    /// name the current one, and reports what moved and what did not.
    pub async fn follow_address(&self) -> Result<AddressReport, OwnerError> {
        let _turn = self.last_address_report.turn.lock().await;
        let address = self.server.config().issuer.clone();
        let stale = self.stale_addresses()?;
        let last = self.last_address_report.report.lock().clone();
        if let (true, Some(last)) = (stale.is_empty(), last) {
            // Nothing left to tell (another run just did): that run's report.
            return Ok(last);
        }
        let mut report = AddressReport { address: address.clone(), at: self.server.now(), updated: Vec::new(), failed: Vec::new() };
        for Stale { provider, provider_resource_id, mut pension } in stale {
            match self.readdress(&provider, &provider_resource_id).await.map(|accepted| accepted.credential_error) {
                Ok(None) => report.updated.push(pension),
                Ok(Some(error)) => {
                    pension.error = Some(format!("the provider now sends readers here, but its new credential did not arrive: {error}"));
                    report.failed.push(pension);
                }
                Err(e) => {
                    pension.error = Some(e.to_string());
                    report.failed.push(pension);
                }
            }
        }
        *self.last_address_report.report.lock() = Some(report.clone());
        Ok(report)
    }
}

impl Pensions {
    /// Remembers the address this wallet opened at, as one of its own.
    pub(super) fn remember_address(&self) -> Result<(), uma_as::StoreError> {
        let address = self.server.config().issuer.clone();
        if self.addresses.get(&address)?.is_some() {
            return Ok(());
        }
        let mut known = self.addresses.iter().collect::<Result<Vec<_>, _>>()?;
        if known.len() >= MAX_ADDRESSES {
            known.sort_by_key(|(_, past)| past.since);
            for (oldest, _) in &known[..=known.len() - MAX_ADDRESSES] {
                self.addresses.remove(oldest)?;
            }
        }
        self.addresses.insert(&address, &PastAddress { since: self.server.now() })
    }
}

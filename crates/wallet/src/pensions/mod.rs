//! The owner's side of her pensions: who she is to providers, the
//! providers she asks and finding pensions at them, the offers discovery
//! turns up and accepting them (issuance), and her own view of what the
//! wallet protects.
//!
//! Providers trust this wallet's authorization server; a find token is a JWT
//! signed with the wallet's key, addressed to one provider, valid for five
//! minutes, carrying the PDP find data.

mod address;
mod identity;
mod my_pensions;
mod offer_link;
mod offers;
mod preview;
mod providers;

pub use address::{AddressReport, AddressStatus, ReaddressedPension};
pub use identity::{Identity, IdentityItem, Who};
pub use my_pensions::{Administrator, BenefitIllustration, DataSource, EmploymentPeriod, IllustrationComponent, MyPensions, PayableDetails, PensionTotals, PensionView};
pub use preview::{PensionPreview, ScopePreview, SharedItem};
pub use offer_link::{OfferLink, ReadOfferLink, OFFER_SCHEME};
pub use offers::{Accepted, CredentialReceived, DiscoveryOutcome, Offer, Offers, ProviderReport};
pub use providers::{provider_url, EmploymentYears, FindOutcome, FoundPension, ProviderEntry, ProviderOutcome};

use crate::credentials::Credentials;
use crate::identity_credential::IdentityCredential;
use crate::WalletError;
use my_pensions::SelfClient;
use std::time::Duration;
use uma_as::store::Tree;
use crate::OwnerError;
use uma_as::{AuthorizationServer, Store};

/// How long one provider may take to answer a find or a discovery.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(5);
const FIND_TOKEN_LIFETIME: i64 = 300;
const IDENTITY_KEY: &str = "owner";
const SELF_CLIENT_KEY: &str = "self";

/// How many providers one find asks at once, and how many a wallet keeps:
/// each gets the owner's identity details.
const FIND_FANOUT: usize = 32;
pub const MAX_PROVIDERS: usize = 100;
/// The largest signed registry fetched.
const MAX_REGISTRY: usize = 1024 * 1024;
/// The largest answer read from a provider.
const MAX_PROVIDER_ANSWER: usize = 1024 * 1024;

/// A provider answered the wallet, but not with what it asked for.
fn provider_failed(url: &str, why: &str) -> OwnerError {
    OwnerError::provider(url, crate::ProviderError::Answered(why.into()))
}

#[derive(Clone)]
pub struct Pensions {
    server: AuthorizationServer,
    identity: Tree<Identity>,
    providers: Tree<ProviderEntry>,
    self_client: Tree<SelfClient>,
    /// Each pension's figures as last read, shown when its provider is down.
    last_read: Tree<my_pensions::PensionView>,
    credentials: Credentials,
    identity_credential: IdentityCredential,
    governance: crate::governance::Governance,
    last_address_report: address::LastReport,
    /// Every address this wallet has opened at (see `address.rs`).
    addresses: Tree<address::PastAddress>,
    http: reqwest::Client,
}

impl Pensions {
    pub fn open(store: &Store, server: AuthorizationServer) -> Result<Pensions, WalletError> {
        let http = http_guard::outbound::client(PROVIDER_TIMEOUT);
        let credentials = Credentials::open(store, server.clone(), http.clone())?;
        let identity_credential = IdentityCredential::open(store, server.clone(), http.clone())?;
        let governance = crate::governance::Governance::open(store, server.clone())?;
        let self_client: Tree<SelfClient> = store.tree("self_client")?;
        // Wallets before this one gave their own client a secret and used
        // it over HTTP: take it away before anything can use it again.
        if let Some(stored) = self_client.get(SELF_CLIENT_KEY)? {
            if stored.legacy_secret.is_some() {
                if server.client(&stored.client_id).is_some() {
                    server.forget_client_secret(&stored.client_id).map_err(|e| WalletError::Io("self client".into(), std::io::Error::other(e.to_string())))?;
                }
                self_client.insert(SELF_CLIENT_KEY, &SelfClient { client_id: stored.client_id, legacy_secret: None })?;
            }
        }
        let own_app = self_client.clone();
        server.set_app_listing(governance.app_listing(move || own_app.get(SELF_CLIENT_KEY).ok().flatten().map(|c| c.client_id)));
        let pensions = Pensions {
            server,
            identity: store.tree("identity")?,
            providers: store.tree("providers")?,
            self_client,
            last_read: store.tree("pension_last_read")?,
            credentials,
            identity_credential,
            governance,
            last_address_report: address::LastReport::default(),
            addresses: store.tree("addresses")?,
            http,
        };
        pensions.remember_address()?;
        Ok(pensions)
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The governance registry this wallet trusts.
    pub fn governance(&self) -> &crate::governance::Governance {
        &self.governance
    }

    /// The owner's identity credential: getting one, and what it attests.
    pub fn identity_credential(&self) -> &IdentityCredential {
        &self.identity_credential
    }
}

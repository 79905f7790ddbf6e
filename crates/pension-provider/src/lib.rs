//! A reference pension provider: the resource server side of the wallet's
//! story, a real peer over HTTP.
//!
//! - [`fixtures::Catalogue`]: members and pensions with PDP view data fields.
//! - [`find`]: PDP find data and the matching rules.
//! - [`trust::Registry`]: the authorization servers this provider trusts,
//!   and verification of the find tokens they sign.
//! - [`protection::AsClient`]: the provider as a UMA resource server at a
//!   wallet's authorization server (PAT, registration, tickets, introspection).
//! - [`http::router`]: `POST /find`, `GET /resources`, `POST /resources/{id}`
//!   (assign to an authorization server), `GET /authorization_servers`, and
//!   the UMA-protected view API `GET /pensions/{id}`.
//!
//! - [`rpt`]: RPTs checked here with the wallet's keys, for when the
//!   wallet cannot be reached.
//! - [`issuance::Issuer`]: OpenID4VCI 1.0, pre-authorized code flow, issuing
//!   a `PensionResourceCredential` when a pension is assigned.

pub mod confirmation;
pub mod did;
pub mod find;
pub mod fixtures;
pub mod http;
pub mod issuance;
pub mod protection;
pub mod rpt;
pub mod trust;

use parking_lot::Mutex;
use std::collections::HashMap;

pub struct Provider {
    /// This provider's base URL: the audience of find tokens.
    pub url: String,
    pub catalogue: fixtures::Catalogue,
    pub registry: trust::Registry,
    /// asset GUID → where that pension is registered.
    pub registered_at: Mutex<HashMap<String, protection::Registration>>,
    pub as_client: protection::AsClient,
    /// OpenID4VCI: offers, codes, nonces, and the key credentials are signed with.
    pub issuer: issuance::Issuer,
    /// RPTs the wallet called inactive, refused here until they expire.
    pub refused_rpts: rpt::Refused,
    /// Codes sent to members to confirm moving a pension to a new wallet.
    pub confirmations: confirmation::Confirmations,
    /// Added before every find and discovery answer: a slow provider, for
    /// benchmarks and timeout tests.
    pub find_delay: std::time::Duration,
}

impl Provider {
    pub fn new(url: String, catalogue: fixtures::Catalogue, trusted: Vec<String>, identity_issuers: Vec<String>) -> Provider {
        Provider {
            url,
            catalogue,
            registry: trust::Registry::new(trusted, identity_issuers),
            registered_at: Mutex::default(),
            as_client: protection::AsClient::default(),
            issuer: issuance::Issuer::default(),
            refused_rpts: rpt::Refused::default(),
            confirmations: confirmation::Confirmations::default(),
            find_delay: std::time::Duration::ZERO,
        }
    }
}

impl Provider {
    /// The scopes `rpt` grants on the pension `registration` describes;
    /// `None` if it grants nothing here.
    ///
    /// The token is first checked here ([`rpt`]): one that fails, or that
    /// the wallet once called inactive, grants nothing. One that passes is
    /// then put to the wallet (introspection), which alone knows whether
    /// the owner has revoked it. Only when the wallet cannot be reached
    /// does the check here decide alone, and only for a young token.
    pub async fn granted_scopes(&self, registration: &protection::Registration, rpt: &str) -> Result<Option<Vec<String>>, protection::AsError> {
        use protection::AsError;
        let now = trust::now();
        let checked = self.registry.check_rpt(rpt, registration, now).await;
        match &checked {
            // Without the wallet's keys nothing can be checked here: the wallet must say.
            Err(trust::TokenError::KeysUnavailable(_)) => {}
            Err(refused) => {
                tracing::debug!(reason = %refused, "RPT refused without asking the wallet");
                return Ok(None);
            }
            Ok(_) if self.refused_rpts.contains(rpt) => return Ok(None),
            Ok(_) => {}
        }
        match (self.as_client.introspected_scopes(registration, rpt).await, checked) {
            (Ok(None), Ok(checked)) => {
                self.refused_rpts.remember(rpt, checked.expires_at, now);
                Ok(None)
            }
            (Err(AsError::Unreachable(reason)), Ok(checked)) if checked.may_stand_alone(now) => {
                tracing::info!(issuer = registration.issuer, reason, "the wallet cannot be reached: RPT checked here alone");
                Ok(Some(checked.scopes))
            }
            (asked, _) => asked,
        }
    }
}

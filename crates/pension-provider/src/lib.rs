//! A reference pension provider: the resource server side of the wallet's
//! story, a real peer over HTTP.
//!
//! - [`fixtures::Catalogue`]: members and pensions with PDP view data fields.
//! - [`find`]: PDP find data and the matching rules.
//! - [`trust::Registry`]: the authorization servers this provider trusts,
//!   and verification of the find tokens they sign.
//! - [`http::router`]: `POST /find`, `GET /resources`, `GET /authorization_servers`.
//!
//! Still to come (issue 3): assigning a resource to an authorization server
//! with credential issuance (OpenID4VCI), and the UMA-protected view API.

pub mod find;
pub mod fixtures;
pub mod http;
pub mod trust;

use parking_lot::Mutex;
use std::collections::HashMap;

pub struct Provider {
    /// This provider's base URL: the audience of find tokens.
    pub url: String,
    pub catalogue: fixtures::Catalogue,
    pub registry: trust::Registry,
    /// asset GUID → issuer of the authorization server it is registered at.
    pub registered_at: Mutex<HashMap<String, String>>,
}

//! A UMA 2.0 authorization server for one resource owner: UMA Grant and
//! Federated Authorization, with the owner's decisions.
//!
//! How the pieces fit:
//! - [`Store`](store::Store) is the encrypted sled database; every record
//!   kind that must last has its own tree. The short-lived records every
//!   grant writes (spent tickets, RPTs, PCTs) are in the [`hot`] store, in
//!   memory and a journal; permission tickets carry their own state, sealed
//!   ([`ticket_seal`]).
//! - [`AuthorizationServer`] holds the store, the signing key, an in-memory
//!   index of what every request reads, and the [`AuditLog`](audit::AuditLog).
//!   Each protocol piece adds methods to it in its own module:
//!   [`client_registration`], [`pat`], [`resource_registration`],
//!   [`permission`], [`token`], [`claims`], [`introspection`], [`revocation`],
//!   [`discovery`], and the owner's side in [`owner`] and [`grant`];
//!   [`access_grant`] issues credentials for grants and their status list.
//! - The rules are plain functions: [`policy::evaluate`] decides one scope
//!   for one party, [`assessment`] computes requested scopes and turns
//!   verdicts into a result.
//! - [`http::router`] exposes it all over axum; handlers only parse and map errors.

pub mod access_grant;
pub mod anchor;
pub mod assessment;
pub mod audit;
pub mod claims;
pub mod client_registration;
pub mod clock;
pub mod discovery;
pub mod error;
pub mod grant;
pub mod hot;
pub mod http;
pub mod id;
pub mod introspection;
pub mod keys;
pub mod limit;
pub mod model;
pub mod owner;
pub mod pat;
pub mod pct;
pub mod permission;
pub mod policy;
pub mod resource_registration;
pub mod revocation;
pub mod rpt;
pub mod secret;
pub mod server;
pub mod ticket;
pub mod ticket_seal;
pub mod token;

pub use clock::Clock;
pub use error::ProtocolError;
pub use server::{AuthorizationServer, Config, OwnerEvent};
pub use sealed_store as store;
pub use sealed_store::{KdfParams, Store, StoreError};

//! End-to-end scenarios across the wallet and the reference pension
//! providers over loopback HTTP. One test binary; one module per story.

mod access_grant;
#[path = "../adviser_holder.rs"]
mod adviser_holder;
mod adviser_credential;
mod common;
mod consent;
mod forged_credential;
mod offer_link;
mod provider_find;
mod provider_issuance;
mod provider_share;
mod registry_client;
mod wallet_move;
mod wallet_pensions;

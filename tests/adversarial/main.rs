//! The adversarial suite: the real `uma-wallet`, `pension-provider` and
//! `identity-service` binaries on loopback, attacked by a hostile provider,
//! hostile clients, a stranger, and a stranger's wallet. Each test is named after what it keeps from breaking,
//! and fails if the attack succeeds or anything the wallet had is lost.

mod behind_caddy;
mod governance;
mod harness;
mod malicious_client;
mod malicious_provider;
mod new_address;
mod stolen_identity;
mod stranger;
mod wallet_asleep;

//! The adversarial suite: the real `uma-wallet` and `pension-provider`
//! binaries on loopback, attacked by a hostile provider, hostile clients
//! and a stranger. Each test is named after what it keeps from breaking,
//! and fails if the attack succeeds or anything the wallet had is lost.

mod harness;
mod malicious_client;
mod malicious_provider;
mod stranger;

//! JWTs of every kind the wallet and the provider read: RPTs, assertions,
//! find tokens and key proofs under the wallet's key (each `typ`), ID
//! tokens (issuer read before verification), credentials and signed
//! metadata (did:key signatures, through ssi), and the provider's own
//! reading of key proofs.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use uma_as::keys::{SigningKey, TokenType};

fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(SigningKey::generate)
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_current_thread().build().unwrap())
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else { return };
    for kind in TokenType::ALL {
        // A forged token never verifies under a key it was not signed with.
        assert!(key().verify_typed::<serde_json::Value>(kind, token).is_none());
        let _ = key().verify_typed::<uma_as::pat::AssertionClaims>(kind, token);
        let _ = key().verify_typed::<uma_as::token::RptClaims>(kind, token);
    }
    let _ = uma_as::claims::unverified_issuer(token);
    let _ = pension_provider::did::peek(token);
    let _ = wallet::vc::decode_claims(token);
    let _ = runtime().block_on(wallet::vc::verify_did_jws(token));
});

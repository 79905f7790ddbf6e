//! The signed governance registry as a provider uses it: the wallets and
//! identity services it lists (with their keys) are trusted, no one else
//! is, and a registry that does not verify stops the provider from
//! starting rather than leaving it trusting nobody, or anybody.

use crate::harness::*;
use serde_json::{json, Value};
use std::process::{Command, Stdio};

fn entry(role: registry::Role, id: &str, name: &str, jwks: Option<Value>) -> registry::Entry {
    registry::Entry { role, id: id.into(), name: name.into(), status: None, did: None, jwks }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_trusts_exactly_the_wallets_and_identity_services_its_signed_registry_lists() {
    let identity = IdentityProcess::start();
    let listed = WalletProcess::start().await;
    let unlisted = WalletProcess::start().await;
    let keys: Value = reqwest::get(format!("{}/.well-known/jwt-vc-issuer", identity.url)).await.unwrap().json().await.unwrap();
    let key = registry::RegistryKey::generate();
    let document = registry::Registry {
        name: "Reference registry".into(),
        version: 1,
        entries: vec![
            entry(registry::Role::AuthorizationServer, &listed.issuer, "Alice's wallet", None),
            entry(registry::Role::IdentityIssuer, &identity.url, "Reference Identity Service", Some(keys["jwks"].clone())),
        ],
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("registry.jws");
    std::fs::write(&file, key.sign(&document, now(), 3600).unwrap()).unwrap();
    let args = |trusted: &str| vec!["--registry".to_string(), file.display().to_string(), "--registry-key".to_string(), trusted.to_string()];
    let acme = ProviderProcess::start_with("acme", &args(&key.did()));

    for wallet in [&listed, &unlisted] {
        wallet.prove_identity(&identity, "alice@example.com").await;
        wallet.owner_ok(reqwest::Method::POST, "/providers", Some(json!({ "url": acme.url }))).await;
    }
    let found = listed.owner_ok(reqwest::Method::POST, "/find", None).await;
    assert_eq!(found[0]["outcome"], "matched", "{found}");
    // The unlisted wallet asks, is refused, and checks the provider's list
    // of accepted wallets to tell its owner why.
    let refused = unlisted.owner_ok(reqwest::Method::POST, "/find", None).await;
    assert_eq!(refused[0]["outcome"], "not_accepted", "{refused}");
    assert!(refused[0]["error"].as_str().unwrap().contains("does not accept your wallet"), "{refused}");

    // Signed by another key than the one the provider is told to trust.
    let output = Command::new(binary("pension-provider"))
        .args(["serve", "--fixtures", "acme"])
        .args(args(&registry::RegistryKey::generate().did()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("registry refused"), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.stdout.is_empty(), "it never announced itself ready");
}

//! The wallet at a new address (a new port here; a new `--issuer` alike):
//! every provider is told, keeps the registration it had (so the owner's
//! rules and grants stand), sends readers to the new address, and
//! reissues the pension's credential naming it. Nothing is left pointing
//! at the old address, and the owner can see what moved.

use crate::harness::*;
use serde_json::Value;

async fn ids(wallet: &WalletProcess, path: &str) -> Vec<String> {
    let listed = wallet.owner_ok(reqwest::Method::GET, path, None).await;
    let mut ids: Vec<String> = listed.as_array().unwrap().iter().map(|r| r["id"].as_str().or(r["_id"].as_str()).unwrap().to_string()).collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_a_new_address_every_provider_follows_and_nothing_is_orphaned() {
    let mut wallet = WalletProcess::start().await;
    let identity = IdentityProcess::start();
    let next_port = free_port();
    let next = format!("http://127.0.0.1:{next_port}");
    // The provider accepts the wallet at both addresses (a registry would list both).
    let acme = ProviderProcess::start("acme", &[&wallet.issuer, &next], &[&identity.url]);
    let first = wallet.issuer.clone();
    let offers = alice_with_acme(&wallet, &acme, &identity).await;
    let view = format!("{}/pensions/{}", acme.url, offers[0]["resource_id"].as_str().unwrap());
    let dashboard = register_client(&wallet, "Family dashboard").await;
    approved_rpt(&wallet, &dashboard, &view).await;
    let (resources, grants) = (ids(&wallet, "/resources").await, ids(&wallet, "/grants").await);

    wallet.restart_with(&["--listen", &format!("127.0.0.1:{next_port}")]);
    assert_eq!(wallet.issuer, next);
    let mut status = Value::Null;
    for _ in 0..200 {
        status = wallet.owner_ok(reqwest::Method::GET, "/pensions/address", None).await;
        if status["last"].is_object() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status["address"], next.as_str());
    assert_eq!(status["last"]["updated"].as_array().unwrap().len(), offers.len(), "{status}");
    assert_eq!(status["last"]["failed"], serde_json::json!([]), "{status}");
    assert_eq!(status["last"]["updated"][0]["was"], first.as_str());
    assert_eq!(status["waiting"], serde_json::json!([]), "nothing still names the old address");

    assert_eq!(uma_challenge(&view).await.0, next, "readers are sent to the new address");
    assert_eq!(ids(&wallet, "/resources").await, resources, "the same registrations, not new ones");
    assert_eq!(ids(&wallet, "/grants").await, grants, "the owner's grants stand");
    let credentials = wallet.owner_ok(reqwest::Method::GET, "/credentials", None).await;
    let active: Vec<&Value> = credentials.as_array().unwrap().iter().filter(|c| c["status"] == "active").collect();
    assert_eq!(active.len(), offers.len());
    assert!(active.iter().all(|c| c["authorization_server"] == next.as_str()), "{credentials}");
    assert!(wallet.audit_actions().await.iter().any(|a| a == "pension.readdressed"));

    // The dashboard asks again at the new address and is answered there.
    let rpt = approved_rpt(&wallet, &dashboard, &view).await;
    assert_eq!(read_status(&view, Some(&rpt)).await, 200);
}

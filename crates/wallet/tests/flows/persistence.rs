//! Restarting the server keeps everything it acknowledged.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn restart_keeps_policies_pending_requests_grants_registrations_and_rpts() {
    let w = TestWallet::start().await;
    let rs = w.connect_resource_server("rs").await;
    let pension = w.register_resource(&rs, "p", &["owner", "value"]).await;
    let trusted = w.client("trusted").await;
    let waiting = w.client("waiting").await;
    w.add_policy(json!({ "target": { "kind": "resource", "id": pension }, "scopes": ["owner"], "party": { "client_id": trusted.id }, "outcome": "permit" }))
        .await;
    let (_, body) = w.uma_grant(&trusted, &w.ticket(&rs, &pension, &["owner"]).await, &[]).await;
    let rpt = body["access_token"].as_str().unwrap().to_string();
    let (_, body) = w.uma_grant(&waiting, &w.ticket(&rs, &pension, &["value"]).await, &[]).await;
    let polling = body["ticket"].as_str().unwrap().to_string();
    let before = w.owner_get("/status").await;

    let w = w.restart().await;
    assert_eq!(w.owner_get("/status").await["policies"], before["policies"]);
    assert_eq!(w.owner_get("/status").await["grants"], 1);
    let pending = w.pending().await;
    assert_eq!(pending.len(), 1);
    let resources: Vec<String> = w.http.get(w.url("/resource_set")).bearer_auth(&rs.pat).send().await.unwrap().json().await.unwrap();
    assert_eq!(resources, vec![pension.clone()], "the PAT and the registration survive");
    assert_eq!(w.introspect(&rs, &rpt).await["active"], true, "the issued RPT survives");

    // A decision taken after the restart reaches the client still polling
    // with the ticket it got before.
    w.owner_post(&format!("/pending/{}/approve", pending[0]["id"].as_str().unwrap()), json!({})).await;
    let (status, body) = w.uma_grant(&waiting, &polling, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(w.owner_get("/audit/verify").await["intact"], true);
}

#[tokio::test]
async fn wrong_passphrase_is_refused_and_the_wallet_still_opens() {
    let mut w = TestWallet::start().await;
    let rs = w.connect_resource_server("rs").await;
    w.register_resource(&rs, "p", &["owner"]).await;
    w.shutdown().await;
    let wrong = wallet::Wallet::open(&w.data_dir(), "not the passphrase", wallet::Config::new("http://x"), wallet::Clock::System);
    assert!(matches!(wrong, Err(wallet::WalletError::Store(wallet::StoreError::WrongPassphrase))));
    let right = wallet::Wallet::open(&w.data_dir(), PASSPHRASE, wallet::Config::new("http://x"), wallet::Clock::System).unwrap();
    let owner = wallet::owner_client::OwnerClient::in_process(&right).unwrap();
    assert_eq!(owner.resources().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_new_passphrase_opens_the_wallet_and_the_old_one_no_longer_does() {
    let mut w = TestWallet::start().await;
    let rs = w.connect_resource_server("rs").await;
    w.register_resource(&rs, "p", &["owner"]).await;
    let new = "a quiet harbour at dawn";
    let (status, body) = w.owner(reqwest::Method::POST, "/passphrase", Some(json!({ "current": "not it", "new": new }))).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("wrong_passphrase")), "{body}");
    let (status, body) = w.owner(reqwest::Method::POST, "/passphrase", Some(json!({ "current": PASSPHRASE, "new": "password1" }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a weak passphrase is refused: {body}");
    let (status, body) = w.owner(reqwest::Method::POST, "/passphrase", Some(json!({ "current": PASSPHRASE, "new": new }))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let actions: Vec<String> = w.owner_get("/audit/export").await.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_string()).collect();
    assert!(actions.iter().any(|a| a == "wallet.passphrase_changed"), "{actions:?}");
    w.shutdown().await;
    let old = wallet::Wallet::open(&w.data_dir(), PASSPHRASE, wallet::Config::new("http://x"), wallet::Clock::System);
    assert!(matches!(old, Err(wallet::WalletError::Store(wallet::StoreError::WrongPassphrase))));
    let reopened = wallet::Wallet::open(&w.data_dir(), new, wallet::Config::new("http://x"), wallet::Clock::System).unwrap();
    let owner = wallet::owner_client::OwnerClient::in_process(&reopened).unwrap();
    assert_eq!(owner.resources().await.unwrap().len(), 1, "every record still opens");
}

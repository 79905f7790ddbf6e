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

/// A server started locked opens the wallet with the passphrase it is
/// given, and only once: a second server, locked or not, does not start
/// over it; a wrong passphrase is answered late and recorded; an older copy
/// of the wallet waits for the owner's explicit choice.
#[tokio::test]
async fn a_locked_server_is_the_only_one_and_opens_only_with_the_owners_choices() {
    use wallet::owner_client::OwnerClient;
    use wallet::serve::{self, ServeOptions};
    let dir = tempfile::tempdir().unwrap();
    let (data_dir, anchors) = (dir.path().join("wallet"), dir.path().join("anchors"));
    wallet::Wallet::init(&data_dir, PASSPHRASE, wallet::KdfParams { memory_kib: 1024, iterations: 1, parallelism: 1 }).unwrap();
    let anchored = || ServeOptions { anchoring: Some(wallet::Anchoring { dir: anchors.clone(), accept_older_copy: false }), ..ServeOptions::on_loopback(&data_dir, PASSPHRASE, wallet::Clock::System) };
    let copy_of = |from: &std::path::Path, to: &std::path::Path| {
        std::fs::create_dir_all(to).unwrap();
        for entry in walk(from) {
            let target = to.join(entry.strip_prefix(from).unwrap());
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(&entry, target).unwrap();
        }
    };

    // Served once, then copied; then a decision, then the copy put back.
    let first = serve::bind(anchored()).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(first.run(async { let _ = stopped.await; }));
    assert!(matches!(serve::bind_locked(anchored()).await, Err(serve::ServeError::AlreadyServed)), "not over a running server");
    let owner = OwnerClient::running(&data_dir).await.unwrap();
    owner.set_identity(&identity("Archer")).await.unwrap();
    let _ = stop.send(());
    running.await.unwrap().unwrap();
    let copy = dir.path().join("copy");
    copy_of(&data_dir, &copy);
    let again = serve::bind(anchored()).await.unwrap();
    let owner = wallet::owner_client::OwnerClient::in_process(again.wallet()).unwrap();
    owner.set_identity(&identity("Baker")).await.unwrap();
    drop(owner);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(again.run(async { let _ = stopped.await; }));
    let _ = stop.send(());
    running.await.unwrap().unwrap();
    std::fs::remove_dir_all(&data_dir).unwrap();
    copy_of(&copy, &data_dir);

    let locked = serve::bind_locked(anchored()).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(locked.run(async { let _ = stopped.await; }));
    let owner = OwnerClient::running(&data_dir).await.expect("a locked server proves it is this wallet's");
    let started = std::time::Instant::now();
    assert_eq!(owner.unlock("not the passphrase", false).await.unwrap_err().code, "wrong_passphrase");
    assert!(started.elapsed() >= wallet::WRONG_PASSPHRASE_DELAY, "a wrong passphrase is answered late");
    assert_eq!(owner.unlock(PASSPHRASE, false).await.unwrap_err().code, "older_copy", "an older copy is not opened on the passphrase alone");
    owner.unlock(PASSPHRASE, true).await.unwrap();
    let audit = owner.audit(&wallet::api::AuditQuery { limit: 100, ..Default::default() }).await.unwrap();
    assert!(audit.iter().any(|entry| entry.entry.action == "wallet.older_copy_accepted"), "{audit:?}");
    assert_eq!(owner.identity().await.unwrap().unwrap().family_name, "Archer", "the copy as it was, as the owner chose");
    assert_eq!(owner.check_passphrase("not the passphrase").await.unwrap_err().code, "wrong_passphrase");
    let audit = owner.audit(&wallet::api::AuditQuery { limit: 100, ..Default::default() }).await.unwrap();
    assert!(audit.iter().any(|entry| entry.entry.action == "wallet.passphrase_refused"), "a wrong passphrase once open is recorded");
    let _ = stop.send(());
    running.await.unwrap().unwrap();
}

fn identity(family_name: &str) -> wallet::api::Identity {
    serde_json::from_value(json!({ "given_name": "Alice", "family_name": family_name, "date_of_birth": "1975-04-12", "postcode": "SW1A 1AA" })).unwrap()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

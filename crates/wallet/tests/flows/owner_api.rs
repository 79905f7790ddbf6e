//! The owner API: its token, its OpenAPI document, the audit log.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn owner_api_refuses_a_missing_or_wrong_token() {
    let w = TestWallet::start().await;
    for token in [None, Some("wrong")] {
        let mut request = w.http.get(format!("{}/pending", w.owner_api));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.json::<serde_json::Value>().await.unwrap()["error"], "invalid_token");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(w.data_dir().join(wallet::OWNER_TOKEN_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let mode = std::fs::metadata(w.data_dir()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "the data directory is the owner's alone");
    }
    assert!(w.owner_api.starts_with("http://127.0.0.1:"));
}

/// The document is generated from the routes; it must still name every
/// route of the contract, and every operation in it must be served.
#[tokio::test]
async fn the_served_openapi_document_and_the_routes_agree() {
    let w = TestWallet::start().await;
    // The event stream never ends; the grant flow test reads from it.
    let doc = w.checked_openapi_document(&w.owner_api, Some(&w.owner_token), &["/events"]).await;
    let documented: std::collections::BTreeSet<&str> = doc["paths"].as_object().unwrap().keys().map(String::as_str).collect();
    let contract: std::collections::BTreeSet<&str> = wallet::api::paths::ALL.iter().copied().collect();
    assert_eq!(documented, contract, "the document and the contract's routes differ");
}

#[tokio::test]
async fn the_owner_api_refuses_what_it_does_not_serve_as_json() {
    let w = TestWallet::start().await;
    for (method, path) in [(reqwest::Method::GET, "/no-such-thing"), (reqwest::Method::PATCH, "/policies"), (reqwest::Method::GET, "/audit?limit=lots")] {
        let (status, body) = w.owner(method.clone(), path, None).await;
        assert!(status.is_client_error(), "{method} {path}: {status}");
        assert!(body["error"].is_string(), "{method} {path}: an error body, not {body}");
    }
    let stranger = w.http.get(format!("{}/no-such-thing", w.owner_api)).send().await.unwrap();
    assert_eq!(stranger.status(), StatusCode::UNAUTHORIZED, "no route map for anyone without the token");
}

#[tokio::test]
async fn audit_log_records_decisions_and_verifies() {
    let w = TestWallet::start().await;
    let rs = w.connect_resource_server("rs").await;
    let pension = w.register_resource(&rs, "p", &["owner"]).await;
    let client = w.client("c").await;
    w.uma_grant(&client, &w.ticket(&rs, &pension, &["owner"]).await, &[]).await;
    let (status, _) = w.form(&w.url("/token"), Some(&TestClient { id: client.id.clone(), secret: "wrong".into() }), &[("grant_type", UMA_GRANT), ("ticket", "t")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let verify = w.owner_get("/audit/verify").await;
    assert_eq!(verify["intact"], true);
    let entries = w.owner_get("/audit/export").await;
    let actions: Vec<&str> = entries.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for expected in ["assertion.minted", "pat.issued", "resource.registered", "client.registered", "token.request_submitted", "client.authentication_failed"] {
        assert!(actions.contains(&expected), "missing {expected} in {actions:?}");
    }
    assert_eq!(verify["entries"], entries.as_array().unwrap().len());
    let status = w.owner_get("/status").await;
    assert_eq!(status["pending_requests"], 1);
    assert_eq!(status["resources"], 1);
}

/// The owner searches the whole log by pension, by who acted and by what
/// happened, from any front end (the filters are the service's, not the app's).
#[tokio::test]
async fn the_activity_log_is_searched_by_pension_party_and_action() {
    let w = TestWallet::start().await;
    let rs = w.connect_resource_server("rs").await;
    let first = w.register_resource(&rs, "urn:pei:acme:1", &["owner"]).await;
    let second = w.register_resource(&rs, "urn:pei:acme:2", &["owner"]).await;
    let client = w.client("c").await;
    w.uma_grant(&client, &w.ticket(&rs, &first, &["owner"]).await, &[]).await;
    w.owner_post("/policies", json!({ "target": { "kind": "resource", "id": second }, "outcome": "deny" })).await;

    let actions = |entries: &serde_json::Value| -> Vec<String> { entries.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_string()).collect() };
    let about_first = w.owner_get(&format!("/audit?pension={first}")).await;
    assert!(actions(&about_first).contains(&"token.request_submitted".to_string()), "{about_first}");
    assert!(!actions(&about_first).contains(&"policy.add".to_string()), "{about_first}");
    let by_pei = w.owner_get("/audit?pension=urn:pei:acme:2").await;
    assert_eq!(actions(&by_pei), actions(&w.owner_get(&format!("/audit?pension={second}")).await));
    assert!(actions(&by_pei).contains(&"policy.add".to_string()), "{by_pei}");

    let owners = w.owner_get("/audit?who=owner&action=policy.").await;
    assert!(!owners.as_array().unwrap().is_empty());
    assert!(owners.as_array().unwrap().iter().all(|e| e["actor"] == "owner" && e["action"].as_str().unwrap().starts_with("policy.")), "{owners}");
    let apps = w.owner_get("/audit?who=apps").await;
    assert!(apps.as_array().unwrap().iter().all(|e| e["actor"].as_str().unwrap().starts_with("client:")), "{apps}");
    assert!(w.owner_get("/audit?action=no.such.action").await.as_array().unwrap().is_empty());
    assert_eq!(w.owner_get("/audit?who=apps&limit=1").await.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn owner_input_is_checked() {
    let w = TestWallet::start().await;
    let rs = w.connect_resource_server("rs").await;
    let pension = w.register_resource(&rs, "p", &["owner"]).await;
    let bad = [
        json!({ "target": { "kind": "resource", "id": "missing" }, "outcome": "permit" }),
        json!({ "target": { "kind": "resource", "id": pension }, "scopes": ["value"], "outcome": "permit" }),
        json!({ "target": { "kind": "resource", "id": pension }, "outcome": "maybe" }),
        json!({ "target": { "kind": "resource", "id": pension }, "valid_from": 10, "valid_until": 5, "outcome": "permit" }),
    ];
    for policy in bad {
        let (status, body) = w.owner(reqwest::Method::POST, "/policies", Some(policy.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{policy}: {body}");
    }
    assert!(w.owner_get("/policies").await.as_array().unwrap().is_empty(), "nothing half-written");
    let (status, _) = w.owner(reqwest::Method::POST, "/pending/nope/approve", Some(json!({}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = w.owner(reqwest::Method::POST, "/grants/nope/revoke", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Many owner decisions in flight at once each flush before answering; all
/// complete and all are kept.
#[tokio::test]
async fn concurrent_owner_decisions_all_complete_and_are_kept() {
    let w = TestWallet::start().await;
    let rs = w.connect_resource_server("rs").await;
    let pension = w.register_resource(&rs, "p", &["owner"]).await;
    let adds = (0..64).map(|n| {
        let policy = json!({ "target": { "kind": "resource", "id": pension }, "party": { "email": format!("p{n}@x.org") }, "outcome": "permit" });
        w.owner(reqwest::Method::POST, "/policies", Some(policy))
    });
    let all = tokio::time::timeout(std::time::Duration::from_secs(60), futures_util::future::join_all(adds)).await.expect("owner API hung");
    assert!(all.iter().all(|(status, _)| *status == StatusCode::CREATED));
    assert_eq!(w.owner_get("/policies").await.as_array().unwrap().len(), 64);
}

/// Each request has an id, answered in `x-request-id`, and the audit entry
/// it causes names it: the owner (or whoever helps her) can tie a line of
/// the log to the request behind it.
#[tokio::test]
async fn an_audit_entry_names_the_request_that_caused_it() {
    let w = TestWallet::start().await;
    let response = w
        .http
        .post(format!("{}/assertions", w.owner_api))
        .bearer_auth(&w.owner_token)
        .json(&json!({ "resource_server": "https://acme.example" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let id = response.headers()["x-request-id"].to_str().unwrap().to_string();
    let entries = w.owner_get("/audit/export").await;
    let minted = entries.as_array().unwrap().iter().find(|e| e["action"] == "assertion.minted").expect("audited");
    assert_eq!(minted["detail"]["request_id"], id.as_str());
    // A protocol request on the authorization server too: a failed login.
    let response = w.http.post(w.url("/token")).basic_auth("nobody", Some("wrong")).form(&[("grant_type", "client_credentials")]).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let id = response.headers()["x-request-id"].to_str().unwrap().to_string();
    let entries = w.owner_get("/audit/export").await;
    let refused = entries.as_array().unwrap().iter().find(|e| e["action"] == "client.authentication_failed").expect("audited");
    assert_eq!(refused["detail"]["request_id"], id.as_str());
}

/// The owner hears of a request on the event stream, and access she gives
/// an app and person nobody checked, without saying until when, ends after
/// the owner service's default, not never.
#[tokio::test]
async fn a_request_reaches_the_event_stream_and_unchecked_access_ends_by_default() {
    let w = TestWallet::start().await;
    let rs = w.connect_resource_server("https://provider-a.example").await;
    let pension = w.register_resource(&rs, "Acme DB pension", &["owner"]).await;
    let dashboard = w.client("Family dashboard").await;
    let mut events = w.http.get(format!("{}/events", w.owner_api)).bearer_auth(&w.owner_token).send().await.unwrap();
    let (_, body) = w.uma_grant(&dashboard, &w.ticket(&rs, &pension, &["owner"]).await, &[]).await;
    assert_eq!(body["error"], "request_submitted");
    let chunk = String::from_utf8(events.chunk().await.unwrap().unwrap().to_vec()).unwrap();
    assert!(chunk.contains("request_submitted") && chunk.contains(&pension), "event stream: {chunk}");
    let id = w.pending().await[0]["id"].as_str().unwrap().to_string();
    w.owner_post(&format!("/pending/{id}/approve"), json!({})).await;
    let grants = w.owner_get("/grants").await;
    assert_eq!(grants[0]["expires_at"], START + wallet::sharing::DEFAULT_ACCESS_DAYS * 86_400, "{grants}");
}

/// An app opening its screens over a wallet `serve` runs does it through
/// the typed client over HTTP: the owner's passphrase is checked there,
/// and requests reach it on the event stream.
#[tokio::test]
async fn the_typed_client_of_a_running_server_checks_the_passphrase_and_hears_requests() {
    use futures_util::StreamExt;
    let w = TestWallet::start().await;
    let (owner, ready) = wallet::owner_client::OwnerClient::running_server(w.dir.path()).await.expect("the server is found");
    assert_eq!(ready.owner_api, w.owner_api);
    let wrong = owner.check_passphrase("not the passphrase").await.unwrap_err();
    assert_eq!((wrong.status, wrong.code.as_str()), (403, "wrong_passphrase"), "{wrong}");
    owner.check_passphrase(PASSPHRASE).await.unwrap();

    let mut events = std::pin::pin!(owner.events().await.unwrap());
    let rs = w.connect_resource_server("https://provider-a.example").await;
    let pension = w.register_resource(&rs, "Acme DB pension", &["owner"]).await;
    let dashboard = w.client("Family dashboard").await;
    let (_, body) = w.uma_grant(&dashboard, &w.ticket(&rs, &pension, &["owner"]).await, &[]).await;
    assert_eq!(body["error"], "request_submitted");
    let event = loop {
        match tokio::time::timeout(std::time::Duration::from_secs(10), events.next()).await.expect("an event in time").expect("the stream goes on") {
            wallet::OwnerEvent::RequestSubmitted { request } => break request,
            wallet::OwnerEvent::ResourceServerWaiting { .. } => continue,
        }
    };
    assert_eq!(event.client_name, "Family dashboard");
}

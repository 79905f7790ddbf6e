//! The consent moment as the owner meets it: who is asking (and what is
//! only their own word), what exactly each scope would release, read from
//! the provider itself with her own values, and for how long; her own
//! access kept out of what she can revoke; her pensions' last figures when
//! a provider is down.

use crate::common::*;
use pension_provider::fixtures::Catalogue;
use pension_provider::{http, Provider};
use serde_json::{json, Value};
use std::sync::Arc;

/// A provider whose server the test can stop.
async fn stoppable_provider(identity: &identity_service::IdentityService, trusted: &str) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let provider = Arc::new(Provider::new(url.clone(), Catalogue::load("acme").unwrap(), vec![trusted.into()], vec![identity.url.clone()]));
    let app = http::router(provider);
    (url, tokio::spawn(async move { axum::serve(listener, app).await.unwrap() }))
}

/// A dashboard asks for Alice's DB pension with values, and is told to poll.
async fn dashboard_asks(acme: &str, purpose: Option<&str>) -> Value {
    let mut metadata = json!({ "client_name": "MoneyHelper" });
    if let Some(purpose) = purpose {
        metadata["purpose"] = purpose.into();
    }
    app_asks(&format!("{acme}/pensions/{ACME_DB_PENSION}?include=value"), metadata).await
}

#[tokio::test]
async fn the_owner_sees_who_asks_what_they_would_see_and_for_how_long() {
    let wallet = TestWallet::start().await;
    let identity = start_identity_service().await;
    let (acme, acme_server) = stoppable_provider(&identity, wallet.issuer()).await;
    wallet.protect_alices_db_pension(&acme, &identity).await;
    wallet.owner(reqwest::Method::POST, "/providers", Some(json!({ "url": acme }))).await;
    // Her own look at her pensions, through her wallet's own client.
    let mine = wallet.owner(reqwest::Method::GET, "/pensions", None).await;
    let db = &mine["pensions"][0];
    assert_eq!(db["error"], Value::Null, "{mine}");
    assert_eq!(db["provider_name"], "Acme Pensions");
    assert!(db["figures_as_at"].as_str().is_some_and(|d| d.len() == 10), "{db}");
    assert!(db["administrator"]["name"].as_str().is_some(), "{db}");

    let answer = dashboard_asks(&acme, Some("Show my family our retirement income")).await;
    assert_eq!(answer["error"], "request_submitted", "{answer}");
    let pending = wallet.owner(reqwest::Method::GET, "/pending", None).await;
    let request = &pending[0];
    let requester = &request["requester"];
    assert_eq!(requester["app_name"], "MoneyHelper");
    assert_eq!(requester["app_name_checked"], false, "a name the app chose itself is marked as such");
    assert_eq!(requester["purpose"], "Show my family our retirement income");
    assert_eq!(requester["person"]["kind"], "unknown");
    assert_eq!(requester["may_have_no_end"], false);
    assert_eq!(requester["earlier_requests"], 0);

    // What exactly each scope releases, as Acme serves it, with her values.
    let id = request["id"].as_str().unwrap();
    let preview = wallet.owner(reqwest::Method::GET, &format!("/pending/{id}/preview"), None).await;
    let scopes = preview[0]["scopes"].as_array().unwrap();
    let scope = |name: &str| scopes.iter().find(|s| s["scope"] == name).unwrap_or_else(|| panic!("no {name} in {preview}")).clone();
    let items = |s: &Value| s["items"].as_array().unwrap().iter().map(|i| (i["label"].as_str().unwrap().to_string(), i["value"].as_str().unwrap().to_string())).collect::<Vec<_>>();
    let details = items(&scope("owner"));
    assert!(details.iter().any(|(l, v)| l == "Your date of birth" && v.len() == 10), "the details cluster says it releases her date of birth: {details:?}");
    assert!(details.iter().any(|(l, v)| l == "Your employers and the dates you worked there" && v.contains("Acme Manufacturing")), "{details:?}");
    assert!(!details.iter().any(|(l, _)| l.contains("value")), "values are not the details scope's: {details:?}");
    let values = items(&scope("value"));
    assert_eq!(values.len(), 1, "{values:?}");
    assert!(values[0].1.contains("a year"), "{values:?}");

    // Her own access is not an app she could revoke.
    let clients = wallet.owner(reqwest::Method::GET, "/clients", None).await;
    assert!(clients.as_array().unwrap().iter().all(|c| c["client_name"] != "This wallet (you)"), "{clients}");
    assert!(wallet.owner(reqwest::Method::GET, "/grants", None).await.as_array().unwrap().is_empty());
    assert!(wallet.owner(reqwest::Method::GET, "/policies", None).await.as_array().unwrap().is_empty());
    let activity = wallet.owner(reqwest::Method::GET, "/audit?who=you&action=token.rpt_issued", None).await;
    assert!(!activity.as_array().unwrap().is_empty() && activity.as_array().unwrap().iter().all(|e| e["by_you"] == true), "{activity}");

    // Approved with no end said: someone nobody checked gets 30 days.
    let approved = wallet.owner(reqwest::Method::POST, &format!("/pending/{id}/approve"), Some(json!({}))).await;
    let until = approved["expires_at"].as_i64().expect("an end");
    assert!((until - now() - 30 * 86_400).abs() < 60, "{approved}");

    // Acme goes down: her pension keeps its last figures, with their date.
    acme_server.abort();
    let _ = acme_server.await;
    let mine = wallet.owner(reqwest::Method::GET, "/pensions", None).await;
    let db = &mine["pensions"][0];
    assert_eq!(db["error"], "Acme Pensions could not be reached just now.", "{db}");
    assert!(db["estimated_annual_income"].as_u64().is_some_and(|i| i > 0), "the last figures stay: {db}");
    assert!(db["last_read_at"].as_i64().is_some(), "{db}");
    assert_eq!(mine["totals"]["estimated_annual_income"], 0, "the totals leave out what could not be read now");
    let preview = wallet.owner(reqwest::Method::GET, &format!("/pending/{id}/preview"), None).await;
    assert_eq!(preview[0]["error"], "Acme Pensions could not be reached just now.", "{preview}");

    // Once the pension is no longer hers to read here, its figures go too.
    let (status, _) = wallet.call(reqwest::Method::DELETE, &format!("/providers?url={acme}"), None).await;
    assert_eq!(status, 204);
    assert!(wallet.owner(reqwest::Method::GET, "/pensions", None).await["pensions"].as_array().unwrap().is_empty());
    wallet.owner(reqwest::Method::POST, "/providers", Some(json!({ "url": acme }))).await;
    let mine = wallet.owner(reqwest::Method::GET, "/pensions", None).await;
    assert_eq!(mine["pensions"][0]["estimated_annual_income"], Value::Null, "no figures kept from before: {mine}");
}

//! Lifetimes, with the server's clock moved by the test instead of sleeping.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn tickets_rpts_and_approved_grants_expire_on_the_servers_clock() {
    let w = TestServer::start().await;
    let rs = w.connect_resource_server("rs").await;
    let pension = w.register_resource(&rs, "p", &["owner"]).await;
    let client = w.client("c").await;

    let stale = w.ticket(&rs, &pension, &["owner"]).await;
    w.clock.advance(301);
    let (status, body) = w.uma_grant(&client, &stale, &[]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "fresh tickets live 300 s");

    // A polling ticket outlives an owner who takes a day to decide.
    let (_, body) = w.uma_grant(&client, &w.ticket(&rs, &pension, &["owner"]).await, &[]).await;
    let polling = body["ticket"].as_str().unwrap().to_string();
    w.clock.advance(24 * 3600);
    let id = w.pending().await[0]["id"].as_str().unwrap().to_string();
    let grant_ends = w.clock.now() + 900;
    w.owner_post(&format!("/pending/{id}/approve"), json!({ "expires_at": grant_ends })).await;
    let (status, body) = w.uma_grant(&client, &polling, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rpt = body["access_token"].as_str().unwrap().to_string();
    let pct = body["pct"].as_str().expect("the approved chain continues with a PCT").to_string();
    assert_eq!(w.introspect(&rs, &rpt).await["active"], true);

    w.clock.advance(601);
    assert_eq!(w.introspect(&rs, &rpt).await["active"], false, "RPTs live 600 s");

    // Within the grant's 15 minutes a new RPT comes at once (for the same
    // party, shown by its PCT); after them, the owner is asked again.
    let (status, body) = w.uma_grant(&client, &w.ticket(&rs, &pension, &["owner"]).await, &[("pct", &pct)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rpt = body["access_token"].as_str().unwrap().to_string();
    let introspection = w.introspect(&rs, &rpt).await;
    assert_eq!(introspection["permissions"][0]["exp"], grant_ends, "the grant's earlier end is shown per permission");
    w.clock.advance(300);
    assert_eq!(w.introspect(&rs, &rpt).await["active"], false, "the grant ended before the RPT would have");
    let (status, body) = w.uma_grant(&client, &w.ticket(&rs, &pension, &["owner"]).await, &[("pct", &pct)]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("request_submitted")));
}

#[tokio::test]
async fn an_assertion_is_single_use_and_expires() {
    let w = TestServer::start().await;
    let minted = w.owner_post("/assertions", json!({ "resource_server": "rs", "lifetime": 60 })).await;
    let assertion = minted["assertion"].as_str().unwrap();
    let exchange = |a: String| {
        let w = &w;
        async move { w.form(&w.url("/token"), None, &[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", &a)]).await }
    };
    assert_eq!(exchange(assertion.into()).await.0, StatusCode::OK);
    let (status, body) = exchange(assertion.into()).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "replayed jti");

    let minted = w.owner_post("/assertions", json!({ "resource_server": "rs2", "lifetime": 60 })).await;
    w.clock.advance(61);
    let (status, body) = exchange(minted["assertion"].as_str().unwrap().into()).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "expired");
}

#[tokio::test]
async fn a_request_expires_when_its_client_stops_polling_and_polls_keep_it_alive() {
    let w = TestServer::start().await;
    let rs = w.connect_resource_server("rs").await;
    let pension = w.register_resource(&rs, "p", &["owner"]).await;
    let client = w.client("c").await;
    let (_, body) = w.uma_grant(&client, &w.ticket(&rs, &pension, &["owner"]).await, &[]).await;
    let polling = body["ticket"].as_str().unwrap().to_string();
    let week = 7 * 24 * 3600;

    // A poll after six days keeps the request open for another week.
    w.clock.advance(6 * 24 * 3600);
    let (_, body) = w.uma_grant(&client, &polling, &[]).await;
    assert_eq!(body["error"], "request_submitted");
    w.clock.advance(6 * 24 * 3600);
    let open = w.pending().await;
    assert_eq!(open.len(), 1, "still open twelve days in, six after the last poll");
    let id = open[0]["id"].as_str().unwrap().to_string();

    // No poll for a week: the owner's late decision is refused, and nothing changes.
    w.clock.advance(week);
    assert!(w.pending().await.is_empty(), "an expired request leaves the inbox");
    let (status, body) = w.owner(reqwest::Method::POST, &format!("/pending/{id}/approve"), Some(json!({}))).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::GONE, Some("expired_request")), "{body}");
    assert!(w.owner_get("/grants").await.as_array().unwrap().is_empty(), "no grant from an expired request");
    let all = w.owner_get("/pending?all=true").await;
    assert_eq!(all[0]["status"], "pending", "the record is kept, undecided, for the audit trail");
}

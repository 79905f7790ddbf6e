//! "Next time, without asking": the owner service's standing rules from
//! an approval, and who they let in again.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A client asks for `scopes` of a pension, pushing an ID token.
async fn asking(
    w: &TestWallet,
    rs: &ResourceServer,
    pension: &str,
    client: &TestClient,
    id_token: String,
    scopes: &[&str],
) -> (StatusCode, Value) {
    let ticket = w.ticket(rs, pension, scopes).await;
    w.uma_grant(
        client,
        &ticket,
        &[("claim_token", &id_token), ("claim_token_format", ID_TOKEN)],
    )
    .await
}

#[tokio::test]
async fn next_time_without_asking_lets_in_the_same_app_and_checked_person_only_for_what_was_shared()
{
    let w = TestWallet::start().await;
    let idp = OpenIdProvider::start().await;
    w.owner_post("/trusted-issuers", json!({ "issuer": idp.issuer }))
        .await;
    let rs = w.connect_resource_server("rs").await;
    let pension = w.register_resource(&rs, "p", &["owner", "value"]).await;
    let adviser = w.client("Adviser portal").await;
    let bob = |client: &TestClient| {
        idp.id_token(&client.id, "bob-123", "bob@adviser.example", w.clock.now())
    };

    // Bob, his identity checked, asks for details and values: Alice is asked.
    let (_, body) = asking(&w, &rs, &pension, &adviser, bob(&adviser), &["owner", "value"]).await;
    assert_eq!(body["error"], "request_submitted", "{body}");
    let request = w.pending().await[0]["id"].as_str().unwrap().to_string();
    // She shares only the details, for 30 days, and next time without asking.
    let approval = json!({
        "permissions": [{ "resource_id": pension, "resource_scopes": ["owner"] }],
        "expires_at": START + 30 * 86_400, "remember": true,
    });
    w.owner_post(&format!("/pending/{request}/approve"), approval)
        .await;
    let rules = w.owner_get("/policies").await;
    assert_eq!(
        rules.as_array().unwrap().len(),
        1,
        "one rule for the one pension: {rules}"
    );
    assert_eq!(rules[0]["party"]["client_id"], adviser.id.as_str());
    assert_eq!(rules[0]["party"]["subject"], "bob-123");
    assert_eq!(rules[0]["scopes"], json!(["owner"]));
    assert_eq!(rules[0]["from_request"], request.as_str(), "marked as hers from that approval");

    // The access ends; weeks later Bob asks again and is let in at once,
    // for another 30 days, and nobody asks Alice.
    w.clock.advance(40 * 86_400);
    let (status, body) = asking(&w, &rs, &pension, &adviser, bob(&adviser), &["owner"]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(w.pending().await.is_empty());
    let grants = w.owner_get("/grants").await;
    let renewed = grants
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["active"] == true)
        .expect("a grant in force");
    assert_eq!(
        renewed["expires_at"].as_i64(),
        Some(w.clock.now() + 30 * 86_400)
    );

    // Values were never shared: asking for them still goes to Alice. (A
    // second apart each time: an ID token is good for one use.)
    w.clock.advance(1);
    let (_, body) = asking(&w, &rs, &pension, &adviser, bob(&adviser), &["owner", "value"]).await;
    assert_eq!(body["error"], "request_submitted", "{body}");
    // Bob through another app, and someone else through this one: asked.
    w.clock.advance(1);
    let other_app = w.client("Other app").await;
    let (_, body) = asking(&w, &rs, &pension, &other_app, bob(&other_app), &["owner"]).await;
    assert_eq!(body["error"], "request_submitted", "{body}");
    w.clock.advance(1);
    let carol = idp.id_token(
        &adviser.id,
        "carol-9",
        "carol@adviser.example",
        w.clock.now(),
    );
    let (_, body) = asking(&w, &rs, &pension, &adviser, carol, &["owner"]).await;
    assert_eq!(body["error"], "request_submitted", "{body}");

    // A request naming no scope cannot be remembered: a rule naming none
    // would cover every scope of the pension.
    w.clock.advance(1);
    let (_, body) = asking(&w, &rs, &pension, &other_app, bob(&other_app), &[]).await;
    assert_eq!(body["error"], "request_submitted", "{body}");
    let waiting = w.pending().await;
    let scopeless = waiting.iter().find(|r| r["permissions"][0]["resource_scopes"] == json!([])).expect("the scope-less request")["id"].as_str().unwrap().to_string();
    let (status, _) = w.owner(reqwest::Method::POST, &format!("/pending/{scopeless}/approve"), Some(json!({ "remember": true }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(w.pending().await.iter().any(|r| r["id"] == scopeless.as_str()), "still waiting for her");

    // Stop sharing takes the rule with it: Bob must ask again.
    let grant_id = renewed["id"].as_str().unwrap();
    w.owner_post(&format!("/grants/{grant_id}/revoke"), json!({}))
        .await;
    assert_eq!(w.owner_get("/policies").await, json!([]));
    w.clock.advance(1);
    let (_, body) = asking(&w, &rs, &pension, &adviser, bob(&adviser), &["owner"]).await;
    assert_eq!(body["error"], "request_submitted", "{body}");
}

#[tokio::test]
async fn nobody_unchecked_is_let_in_next_time_without_asking() {
    let w = TestWallet::start().await;
    let rs = w.connect_resource_server("rs").await;
    let pension = w.register_resource(&rs, "p", &["owner"]).await;
    let app = w.client("Family dashboard").await;
    let ticket = w.ticket(&rs, &pension, &["owner"]).await;
    let (_, body) = w.uma_grant(&app, &ticket, &[]).await;
    assert_eq!(body["error"], "request_submitted", "{body}");
    let request = w.pending().await[0]["id"].as_str().unwrap().to_string();
    let (status, body) = w
        .owner(
            reqwest::Method::POST,
            &format!("/pending/{request}/approve"),
            Some(json!({ "remember": true })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(w.owner_get("/policies").await, json!([]), "no rule");
    assert_eq!(
        w.pending().await.len(),
        1,
        "and the request still waits for her"
    );
}

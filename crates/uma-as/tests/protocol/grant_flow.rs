//! The UMA grant from ticket to RPT: owner approval, denial, revocation,
//! replay, upgrade.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn request_is_submitted_then_owner_approves_and_the_polling_client_gets_its_rpt() {
    let w = TestServer::start().await;
    let rs = w.connect_resource_server("https://provider-a.example").await;
    let pension = w.register_resource(&rs, "Acme DB pension", &["owner", "value", "delegate"]).await;
    let dashboard = w.client("Family dashboard").await;
    let mut events = w.server.subscribe();

    let ticket = w.ticket(&rs, &pension, &["owner", "value"]).await;
    let (status, body) = w.uma_grant(&dashboard, &ticket, &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "request_submitted");
    assert_eq!(body["interval"], 5);
    let polling_ticket = body["ticket"].as_str().unwrap().to_string();
    assert_ne!(polling_ticket, ticket, "every new ticket differs from the old one");

    let event = serde_json::to_string(&events.try_recv().unwrap()).unwrap();
    assert!(event.contains("request_submitted") && event.contains(&pension), "owner event: {event}");

    let pending = w.pending().await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["client_name"], "Family dashboard");
    assert_eq!(pending[0]["permissions"][0]["resource_scopes"], json!(["owner", "value"]));

    // Polling before the owner decides: still submitted, with yet another ticket.
    let (status, body) = w.uma_grant(&dashboard, &polling_ticket, &[]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("request_submitted")));
    let polling_ticket = body["ticket"].as_str().unwrap().to_string();
    assert_eq!(w.pending().await.len(), 1, "polling does not file a second request");

    // The owner approves only `owner`.
    let id = pending[0]["id"].as_str().unwrap();
    let approval = json!({ "permissions": [{ "resource_id": pension, "resource_scopes": ["owner"] }] });
    w.owner_post(&format!("/pending/{id}/approve"), approval).await;

    let (status, body) = w.uma_grant(&dashboard, &polling_ticket, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body.get("scope").is_none(), "Grant §3.3.5: SHOULD NOT include scope");
    let rpt = body["access_token"].as_str().unwrap();

    let introspection = w.introspect(&rs, rpt).await;
    assert_eq!(introspection["active"], true);
    assert!(introspection.get("scope").is_none(), "FedAuthz §5.1.1: MUST NOT include scope");
    assert_eq!(introspection["permissions"], json!([{ "resource_id": pension, "resource_scopes": ["owner"] }]));

    // The RPT is a JWT verifiable against the published keys.
    let jwks: serde_json::Value = w.http.get(w.url("/jwks")).send().await.unwrap().json().await.unwrap();
    assert_eq!(jwks["keys"][0]["alg"], "EdDSA");
    let payload = rpt.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap()).unwrap();
    assert_eq!(claims["iss"], w.issuer);
    assert_eq!(claims["permissions"][0]["resource_id"], pension);

    let audit = w.owner_get("/audit?limit=100").await;
    let actions: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for expected in ["token.request_submitted", "pending.approve", "token.rpt_issued"] {
        assert!(actions.contains(&expected), "audit lacks {expected}: {actions:?}");
    }
}

#[tokio::test]
async fn owner_denial_answers_request_denied_at_the_next_poll() {
    let w = TestServer::start().await;
    let rs = w.connect_resource_server("rs").await;
    let pension = w.register_resource(&rs, "p", &["owner"]).await;
    let client = w.client("stranger").await;
    let (_, body) = w.uma_grant(&client, &w.ticket(&rs, &pension, &["owner"]).await, &[]).await;
    let next = body["ticket"].as_str().unwrap().to_string();
    let id = w.pending().await[0]["id"].as_str().unwrap().to_string();
    w.owner_post(&format!("/pending/{id}/deny"), json!({})).await;
    let (status, body) = w.uma_grant(&client, &next, &[]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("request_denied")));
    // A decided request cannot be decided again.
    let (status, _) = w.owner(reqwest::Method::POST, &format!("/pending/{id}/approve"), Some(json!({}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn deny_policy_refuses_at_once_and_revokes_what_it_forbids() {
    let w = TestServer::start().await;
    let rs = w.connect_resource_server("rs").await;
    let pension = w.register_resource(&rs, "p", &["owner"]).await;
    let client = w.client("c").await;
    let permit = w.permit_client(&client, &pension).await;
    let (status, body) = w.uma_grant(&client, &w.ticket(&rs, &pension, &["owner"]).await, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rpt = body["access_token"].as_str().unwrap().to_string();
    assert_eq!(w.introspect(&rs, &rpt).await["active"], true);

    w.add_policy(json!({ "target": { "kind": "resource_server", "id": "rs" }, "party": { "client_id": client.id }, "outcome": "deny" }))
        .await;
    assert_eq!(w.introspect(&rs, &rpt).await["active"], false, "a deny policy revokes the grant it forbids");
    let (status, body) = w.uma_grant(&client, &w.ticket(&rs, &pension, &["owner"]).await, &[]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("request_denied")));
    assert!(permit["id"].is_string());
}

#[tokio::test]
async fn revoking_a_grant_or_the_token_makes_the_rpt_inactive_at_once() {
    let w = TestServer::start().await;
    let rs = w.connect_resource_server("rs").await;
    let pension = w.register_resource(&rs, "p", &["owner", "value"]).await;
    let client = w.client("c").await;
    w.permit_client(&client, &pension).await;
    let rpt_of = |body: serde_json::Value| body["access_token"].as_str().unwrap().to_string();

    let (_, body) = w.uma_grant(&client, &w.ticket(&rs, &pension, &["owner"]).await, &[]).await;
    let first = rpt_of(body);
    let grants = w.owner_get("/grants").await;
    assert_eq!(grants.as_array().unwrap().len(), 1);
    let grant_id = grants[0]["id"].as_str().unwrap().to_string();
    w.owner_post(&format!("/grants/{grant_id}/revoke"), json!({})).await;
    assert_eq!(w.introspect(&rs, &first).await["active"], false);
    assert_eq!(w.owner_get("/grants").await[0]["active"], false);

    // The policy still stands, so a new request is permitted again; the
    // client revokes that RPT itself (RFC 7009).
    let (_, body) = w.uma_grant(&client, &w.ticket(&rs, &pension, &["owner"]).await, &[]).await;
    let second = rpt_of(body);
    assert_eq!(w.introspect(&rs, &second).await["active"], true);
    // ... under a new grant: the revoked one stays revoked (it used to be
    // recreated under the same id, active again).
    let grants = w.owner_get("/grants").await;
    let revoked = grants.as_array().unwrap().iter().find(|g| g["id"] == grant_id).unwrap();
    assert_eq!(revoked["active"], false, "{grants}");
    assert_eq!(grants.as_array().unwrap().iter().filter(|g| g["active"] == true).count(), 1, "{grants}");
    let other = w.client("other").await;
    let (status, body) = w.form(&w.url("/revoke"), Some(&other), &[("token", &second)]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unauthorized_client")));
    assert_eq!(w.introspect(&rs, &second).await["active"], true, "another client cannot revoke it");
    let (status, _) = w.form(&w.url("/revoke"), Some(&client), &[("token", &second), ("token_type_hint", "access_token")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(w.introspect(&rs, &second).await["active"], false);
    let (status, _) = w.form(&w.url("/revoke"), Some(&client), &[("token", "never-issued")]).await;
    assert_eq!(status, StatusCode::OK, "RFC 7009 §2.2: unknown tokens are fine");
}

#[tokio::test]
async fn a_replayed_ticket_is_refused_and_revokes_the_rpt_issued_from_it() {
    let w = TestServer::start().await;
    let rs = w.connect_resource_server("rs").await;
    let pension = w.register_resource(&rs, "p", &["owner"]).await;
    let client = w.client("c").await;
    w.permit_client(&client, &pension).await;
    let ticket = w.ticket(&rs, &pension, &["owner"]).await;
    let (status, body) = w.uma_grant(&client, &ticket, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let rpt = body["access_token"].as_str().unwrap();
    let (status, body) = w.uma_grant(&client, &ticket, &[]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    assert_eq!(w.introspect(&rs, rpt).await["active"], false);
    let audit = w.owner_get("/audit").await;
    assert!(audit.as_array().unwrap().iter().any(|e| e["action"] == "token.ticket_replayed"));
}

#[tokio::test]
async fn rpt_upgrade_carries_the_old_permissions_and_retires_the_old_token() {
    let w = TestServer::start().await;
    let rs = w.connect_resource_server("rs").await;
    let db = w.register_resource(&rs, "DB pension", &["owner", "value"]).await;
    let dc = w.register_resource(&rs, "DC pension", &["owner", "value"]).await;
    let client = w.client("c").await;
    w.add_policy(json!({ "target": { "kind": "resource_server", "id": "rs" }, "party": { "client_id": client.id }, "outcome": "permit" }))
        .await;
    let (_, body) = w.uma_grant(&client, &w.ticket(&rs, &db, &["owner"]).await, &[]).await;
    let first = body["access_token"].as_str().unwrap().to_string();
    assert!(body.get("upgraded").is_none());

    let (status, body) = w.uma_grant(&client, &w.ticket(&rs, &dc, &["value"]).await, &[("rpt", &first)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["upgraded"], true);
    let upgraded = body["access_token"].as_str().unwrap();
    let introspection = w.introspect(&rs, upgraded).await;
    let mut resources: Vec<&str> = introspection["permissions"].as_array().unwrap().iter().map(|p| p["resource_id"].as_str().unwrap()).collect();
    resources.sort();
    let mut expected = vec![db.as_str(), dc.as_str()];
    expected.sort();
    assert_eq!(resources, expected);
    assert_eq!(w.introspect(&rs, &first).await["active"], false, "Grant §3.3.5.1: the old RPT is revoked");
}

#[tokio::test]
async fn requested_scope_parameter_adds_registered_scopes_and_rejects_others() {
    let w = TestServer::start().await;
    let rs = w.connect_resource_server("rs").await;
    let pension = w.register_resource(&rs, "p", &["owner", "value"]).await;
    let client = w.register_client(json!({ "client_name": "c", "scope": "value delegate" })).await;
    w.permit_client(&client, &pension).await;
    let (status, body) = w.uma_grant(&client, &w.ticket(&rs, &pension, &["owner"]).await, &[("scope", "value")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let introspection = w.introspect(&rs, body["access_token"].as_str().unwrap()).await;
    assert_eq!(introspection["permissions"][0]["resource_scopes"], json!(["owner", "value"]));

    // `delegate` is registered for the client but offered by no ticket resource.
    let (status, body) = w.uma_grant(&client, &w.ticket(&rs, &pension, &["owner"]).await, &[("scope", "delegate")]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_scope")));
}

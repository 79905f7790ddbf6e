//! Claims: pushed ID tokens, need_info with interactive gathering, PCTs, and
//! claims never stored in plaintext.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn pushed_id_token_from_a_trusted_issuer_is_permitted_at_once_by_policy() {
    let w = TestServer::start().await;
    let idp = OpenIdProvider::start().await;
    w.owner_post("/trusted-issuers", json!({ "issuer": idp.issuer })).await;
    let rs = w.connect_resource_server("rs").await;
    let pension = w.register_resource(&rs, "p", &["owner", "value"]).await;
    w.add_policy(json!({
        "target": { "kind": "resource", "id": pension }, "scopes": ["owner"],
        "party": { "email": "bob@adviser.example", "verified_only": true }, "outcome": "permit"
    }))
    .await;
    let adviser = w.client("Adviser portal").await;
    let id_token = idp.id_token(&adviser.id, "bob-123", "bob@adviser.example", START);
    let ticket = w.ticket(&rs, &pension, &["owner"]).await;
    let (status, body) = w.uma_grant(&adviser, &ticket, &[("claim_token", &id_token), ("claim_token_format", ID_TOKEN)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(w.pending().await.is_empty(), "a permitting policy never asks the owner");
    let pct = body["pct"].as_str().expect("claims are kept by reference in a PCT").to_string();
    assert_eq!(w.introspect(&rs, body["access_token"].as_str().unwrap()).await["permissions"][0]["resource_scopes"], json!(["owner"]));

    // The PCT stands in for the claims next time.
    let (status, body) = w.uma_grant(&adviser, &w.ticket(&rs, &pension, &["owner"]).await, &[("pct", &pct)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Another client cannot use it.
    let other = w.client("other").await;
    let (status, body) = w.uma_grant(&other, &w.ticket(&rs, &pension, &["owner"]).await, &[("pct", &pct)]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));

    // Revoked (Grant §3.7, token_type_hint=pct), it stands for nothing.
    let (status, _) = w.form(&w.url("/revoke"), Some(&adviser), &[("token", &pct), ("token_type_hint", "pct")]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = w.uma_grant(&adviser, &w.ticket(&rs, &pension, &["owner"]).await, &[("pct", &pct)]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
}

#[tokio::test]
async fn bad_claim_tokens_get_need_info_with_a_new_ticket() {
    let w = TestServer::start().await;
    let trusted = OpenIdProvider::start().await;
    let untrusted = OpenIdProvider::start().await;
    w.owner_post("/trusted-issuers", json!({ "issuer": trusted.issuer })).await;
    let rs = w.connect_resource_server("rs").await;
    let pension = w.register_resource(&rs, "p", &["owner"]).await;
    let client = w.client("c").await;
    let cases = [
        ("untrusted issuer", untrusted.id_token(&client.id, "s", "e@x.org", START), ID_TOKEN),
        ("wrong audience", trusted.id_token("someone-else", "s", "e@x.org", START), ID_TOKEN),
        ("expired", trusted.id_token(&client.id, "s", "e@x.org", START - 3600), ID_TOKEN),
        ("garbage", "not.a.jwt".to_string(), ID_TOKEN),
        ("unknown format", trusted.id_token(&client.id, "s", "e@x.org", START), "urn:example:format"),
    ];
    for (case, token, format) in cases {
        let ticket = w.ticket(&rs, &pension, &["owner"]).await;
        let (status, body) = w.uma_grant(&client, &ticket, &[("claim_token", &token), ("claim_token_format", format)]).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("need_info")), "{case}: {body}");
        assert!(body["ticket"].is_string() && body["ticket"] != ticket.as_str(), "{case}");
        assert!(body["required_claims"].is_array(), "{case}");
    }
    let (status, body) = w.uma_grant(&client, &w.ticket(&rs, &pension, &["owner"]).await, &[("claim_token", "x")]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")), "format missing");
}

/// Parses the gathering page's hidden fields.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap() + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn need_info_then_interactive_claims_gathering_then_rpt() {
    let w = TestServer::start().await;
    let rs = w.connect_resource_server("rs").await;
    let pension = w.register_resource(&rs, "Acme DB pension", &["owner"]).await;
    let distinctive = "zebra-quartz-7f3a@family.example";
    w.add_policy(json!({ "target": { "kind": "resource", "id": pension }, "party": { "email": distinctive }, "outcome": "permit" })).await;
    let client = w.client("Relative's app").await;

    let (status, body) = w.uma_grant(&client, &w.ticket(&rs, &pension, &["owner"]).await, &[]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("need_info")), "{body}");
    assert_eq!(body["required_claims"][0]["name"], "email");
    let redirect_user = body["redirect_user"].as_str().unwrap();
    assert_eq!(redirect_user, w.url("/claims"));
    // The answer is the one the AS's OpenAPI document describes.
    let doc: Value = w.http.get(w.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    Peer::assert_documented(&doc, "ErrorBody", &body);
    let ticket = body["ticket"].as_str().unwrap();

    // The browser visits the claims interaction endpoint.
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let redirect_uri = "https://client.example/back?from=uma";
    let page = browser
        .get(redirect_user)
        .query(&[("client_id", client.id.as_str()), ("ticket", ticket), ("claims_redirect_uri", redirect_uri), ("state", "s-42")])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let cookie = page.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let html = page.text().await.unwrap();
    assert!(html.contains("Relative&#39;s app") && html.contains("Acme DB pension") && html.contains("not verified"));
    let (session, csrf) = (hidden(&html, "session"), hidden(&html, "csrf"));

    // Without the cookie the CSRF check fails and nothing is consumed.
    let form = [("session", session.as_str()), ("csrf", csrf.as_str()), ("name", "Carol"), ("email", distinctive), ("purpose", "help with retirement")];
    let forged = browser.post(w.url("/claims")).form(&form).send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);

    let submitted = browser.post(w.url("/claims")).header("cookie", &cookie).form(&form).send().await.unwrap();
    assert_eq!(submitted.status(), StatusCode::FOUND);
    let back = submitted.headers()["location"].to_str().unwrap().to_string();
    assert!(back.starts_with("https://client.example/back?from=uma&ticket="), "{back}");
    assert_eq!(query_param(&back, "state").as_deref(), Some("s-42"));
    let new_ticket = query_param(&back, "ticket").unwrap();
    assert_ne!(new_ticket, ticket);

    // The gathering ticket was single-use: a used ticket gets the error
    // page, never a redirect (the client cannot be told apart from anyone
    // who registered a client to use this endpoint as a redirector).
    let again = browser.get(redirect_user).query(&[("client_id", client.id.as_str()), ("ticket", ticket), ("claims_redirect_uri", redirect_uri)]).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(again.headers().get("location").is_none());

    let (status, body) = w.uma_grant(&client, &new_ticket, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(w.introspect(&rs, body["access_token"].as_str().unwrap()).await["active"], true);

    // The stated email went through the AS; it must not be on disk in plaintext.
    w.owner_get("/audit").await;
    let mut w = w;
    w.shutdown().await;
    let needle = distinctive.as_bytes();
    for entry in walk(&w.data_dir()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(!bytes.windows(needle.len()).any(|win| win == needle), "{} holds the claim in plaintext", entry.display());
    }
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

#[tokio::test]
async fn claims_endpoint_never_redirects_to_an_unregistered_uri() {
    let w = TestServer::start().await;
    let rs = w.connect_resource_server("rs").await;
    let pension = w.register_resource(&rs, "p", &["owner"]).await;
    let client = w.client("c").await;
    let ticket = w.ticket(&rs, &pension, &["owner"]).await;
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for redirect in ["https://evil.example/steal", "https://client.example/back"] {
        let response = browser
            .get(w.url("/claims"))
            .query(&[("client_id", client.id.as_str()), ("ticket", &ticket), ("claims_redirect_uri", redirect)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{redirect}");
        assert!(response.headers().get("location").is_none());
    }
    // The ticket was not consumed by those refusals.
    let (status, body) = w.uma_grant(&client, &ticket, &[]).await;
    assert_eq!(body["error"], "request_submitted", "{status}");
}

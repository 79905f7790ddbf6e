//! Malformed, oversized, unauthorized and forged input: the spec's error,
//! never a 500, nothing changed.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn malformed_and_oversized_bodies_get_invalid_request() {
    let w = TestServer::start().await;
    let rs = w.connect_resource_server("rs").await;
    let client = w.client("c").await;
    let post = |path: &str, content_type: &str, body: Vec<u8>, bearer: Option<&str>| {
        let mut request = w.http.post(w.url(path)).header("content-type", content_type).body(body);
        if let Some(b) = bearer {
            request = request.bearer_auth(b.to_string());
        }
        request.send()
    };
    let cases: Vec<(&str, &str, Vec<u8>, Option<&str>, StatusCode, &str)> = vec![
        ("/register", "application/json", b"{not json".to_vec(), None, StatusCode::BAD_REQUEST, "invalid_request"),
        ("/register", "application/json", br#"{"claims_redirect_uris":["not a uri"]}"#.to_vec(), None, StatusCode::BAD_REQUEST, "invalid_redirect_uri"),
        ("/register", "application/json", br#"{"claims_redirect_uris":["https://c.example/cb#frag"]}"#.to_vec(), None, StatusCode::BAD_REQUEST, "invalid_redirect_uri"),
        ("/register", "application/json", br#"{"token_endpoint_auth_method":"private_key_jwt"}"#.to_vec(), None, StatusCode::BAD_REQUEST, "invalid_client_metadata"),
        ("/resource_set", "application/json", br#"{"name":"no scopes"}"#.to_vec(), Some(&rs.pat), StatusCode::BAD_REQUEST, "invalid_request"),
        ("/resource_set", "application/json", br#"{"resource_scopes":["a","a"]}"#.to_vec(), Some(&rs.pat), StatusCode::BAD_REQUEST, "invalid_request"),
        ("/permission", "application/json", b"[{]".to_vec(), Some(&rs.pat), StatusCode::BAD_REQUEST, "invalid_request"),
        ("/permission", "text/plain", b"{}".to_vec(), Some(&rs.pat), StatusCode::BAD_REQUEST, "invalid_request"),
        ("/token", "application/x-www-form-urlencoded", b"grant_type=client_credentials&grant_type=client_credentials".to_vec(), None, StatusCode::BAD_REQUEST, "invalid_request"),
        ("/token", "application/x-www-form-urlencoded", b"ticket=abc".to_vec(), None, StatusCode::BAD_REQUEST, "invalid_request"),
        ("/register", "application/json", vec![b' '; 200 * 1024], None, StatusCode::PAYLOAD_TOO_LARGE, "invalid_request"),
    ];
    for (path, content_type, body, bearer, expected, code) in cases {
        let response = post(path, content_type, body, bearer).await.unwrap();
        assert_eq!(response.status(), expected, "{path} {content_type}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], code, "{path}: {body}");
    }
    let list: Vec<String> = w.http.get(w.url("/resource_set")).bearer_auth(&rs.pat).send().await.unwrap().json().await.unwrap();
    assert!(list.is_empty(), "no half-registered resource");
    let (status, body) = w.form(&w.url("/token"), Some(&client), &[("grant_type", "password")]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unsupported_grant_type")));
}

#[tokio::test]
async fn unauthorized_callers_get_invalid_client_or_invalid_token() {
    let w = TestServer::start().await;
    let client = w.client("c").await;
    let impostor = TestClient { id: client.id.clone(), secret: "guess".into() };
    let (status, body) = w.uma_grant(&impostor, "any", &[]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    let (status, body) = w.form(&w.url("/token"), None, &[("grant_type", UMA_GRANT), ("ticket", "t")]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    let (status, body) = w.uma_grant(&client, "never-issued", &[]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));

    for (path, pat) in [("/resource_set", None), ("/resource_set", Some("forged")), ("/introspect", Some("forged"))] {
        let mut request = w.http.post(w.url(path)).json(&json!({ "resource_scopes": [] }));
        if let Some(p) = pat {
            request = request.bearer_auth(p);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert!(response.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    }

    // An assertion signed by someone else, or for another audience.
    let forger = uma_as::keys::SigningKey::generate();
    let now = w.clock.now();
    let forged = forger.sign(&json!({ "iss": w.issuer, "sub": "rs", "aud": w.url("/token"), "iat": now, "exp": now + 60, "jti": "x" }));
    let (status, body) = w.form(&w.url("/token"), None, &[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", &forged)]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    assert!(w.owner_get("/clients").await.as_array().unwrap().iter().all(|c| c["client_id"] != "rs"), "no resource server was connected");
}

#[tokio::test]
async fn a_ticket_shown_by_another_client_is_refused() {
    let w = TestServer::start().await;
    let rs = w.connect_resource_server("rs").await;
    let pension = w.register_resource(&rs, "p", &["owner"]).await;
    let first = w.client("first").await;
    let second = w.client("second").await;
    let (_, body) = w.uma_grant(&first, &w.ticket(&rs, &pension, &["owner"]).await, &[]).await;
    let polling = body["ticket"].as_str().unwrap();
    let (status, body) = w.uma_grant(&second, polling, &[]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
}

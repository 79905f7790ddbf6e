//! The protection API: connecting resource servers, resource registration,
//! permission requests, and isolation between resource servers.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn client_credentials_pat_needs_the_owners_approval_of_the_resource_server() {
    let w = TestServer::start().await;
    let rs = w.register_client(json!({ "client_name": "Acme Pensions", "scope": "uma_protection", "grant_types": ["client_credentials"] })).await;
    let ask = [("grant_type", "client_credentials"), ("scope", "uma_protection")];
    let (status, body) = w.form(&w.url("/token"), Some(&rs), &ask).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unauthorized_client")));
    let clients = w.owner_get("/clients").await;
    assert_eq!(clients[0]["protection"], "pending");

    w.owner_post(&format!("/clients/{}/approve", rs.id), json!({})).await;
    let (status, body) = w.form(&w.url("/token"), Some(&rs), &ask).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let pat = body["access_token"].as_str().unwrap().to_string();
    let list = w.http.get(w.url("/resource_set")).bearer_auth(&pat).send().await.unwrap();
    assert_eq!(list.status(), StatusCode::OK);

    // client_secret_post works too.
    let (status, _) = w
        .form(&w.url("/token"), None, &[("grant_type", "client_credentials"), ("scope", "uma_protection"), ("client_id", &rs.id), ("client_secret", &rs.secret)])
        .await;
    assert_eq!(status, StatusCode::OK);

    w.owner_post(&format!("/clients/{}/refuse", rs.id), json!({})).await;
    let list = w.http.get(w.url("/resource_set")).bearer_auth(&pat).send().await.unwrap();
    assert_eq!(list.status(), StatusCode::UNAUTHORIZED, "a refused resource server's PAT stops working");
    let (status, body) = w.form(&w.url("/token"), Some(&rs), &ask).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unauthorized_client")));
}

#[tokio::test]
async fn resource_registration_create_read_update_list_delete() {
    let w = TestServer::start().await;
    let rs = w.connect_resource_server("rs").await;
    let id = w.register_resource(&rs, "DB pension", &["owner", "value"]).await;
    let get = |id: String| {
        let w = &w;
        let pat = rs.pat.clone();
        async move { w.http.get(w.url(&format!("/resource_set/{id}"))).bearer_auth(pat).send().await.unwrap() }
    };
    let read: serde_json::Value = get(id.clone()).await.json().await.unwrap();
    assert_eq!(read["_id"], id.as_str());
    assert_eq!(read["resource_scopes"], json!(["owner", "value"]));
    assert_eq!(read["type"], "https://pension.example/pension");

    let update = w
        .http
        .put(w.url(&format!("/resource_set/{id}")))
        .bearer_auth(&rs.pat)
        .json(&json!({ "name": "DB pension (2026)", "resource_scopes": ["owner", "value", "delegate"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(update.status(), StatusCode::OK);
    assert_eq!(update.json::<serde_json::Value>().await.unwrap()["_id"], id.as_str());
    let read: serde_json::Value = get(id.clone()).await.json().await.unwrap();
    assert_eq!(read["name"], "DB pension (2026)");
    assert!(read.get("type").is_none(), "update is a full replacement");

    let list: Vec<String> = w.http.get(w.url("/resource_set")).bearer_auth(&rs.pat).send().await.unwrap().json().await.unwrap();
    assert_eq!(list, vec![id.clone()]);

    let patch = w.http.patch(w.url(&format!("/resource_set/{id}"))).bearer_auth(&rs.pat).send().await.unwrap();
    assert_eq!(patch.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(patch.json::<serde_json::Value>().await.unwrap()["error"], "unsupported_method_type");

    let delete = w.http.delete(w.url(&format!("/resource_set/{id}"))).bearer_auth(&rs.pat).send().await.unwrap();
    assert_eq!(delete.status(), StatusCode::NO_CONTENT);
    let gone = get(id.clone()).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(gone.json::<serde_json::Value>().await.unwrap()["error"], "not_found");
}

#[tokio::test]
async fn one_resource_servers_pat_cannot_see_or_touch_anothers_resources() {
    let w = TestServer::start().await;
    let a = w.connect_resource_server("provider-a").await;
    let b = w.connect_resource_server("provider-b").await;
    let pension = w.register_resource(&a, "A's pension", &["owner"]).await;
    let path = w.url(&format!("/resource_set/{pension}"));

    assert_eq!(w.http.get(&path).bearer_auth(&b.pat).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let put = w.http.put(&path).bearer_auth(&b.pat).json(&json!({ "resource_scopes": ["owner"] })).send().await.unwrap();
    assert_eq!(put.status(), StatusCode::NOT_FOUND);
    assert_eq!(w.http.delete(&path).bearer_auth(&b.pat).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let list: Vec<String> = w.http.get(w.url("/resource_set")).bearer_auth(&b.pat).send().await.unwrap().json().await.unwrap();
    assert!(list.is_empty());
    let (status, body) = w.permission(&b, json!({ "resource_id": pension, "resource_scopes": ["owner"] })).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_resource_id")));

    // An RPT for A's resource means nothing to B.
    let client = w.client("c").await;
    w.permit_client(&client, &pension).await;
    let (_, body) = w.uma_grant(&client, &w.ticket(&a, &pension, &["owner"]).await, &[]).await;
    let rpt = body["access_token"].as_str().unwrap();
    assert_eq!(w.introspect(&a, rpt).await["active"], true);
    assert_eq!(w.introspect(&b, rpt).await["active"], false);
    // And A's resource is untouched.
    assert_eq!(w.http.get(&path).bearer_auth(&a.pat).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn permission_endpoint_takes_one_or_many_and_checks_scopes() {
    let w = TestServer::start().await;
    let rs = w.connect_resource_server("rs").await;
    let db = w.register_resource(&rs, "db", &["owner", "value"]).await;
    let dc = w.register_resource(&rs, "dc", &["owner"]).await;
    let (status, body) = w
        .permission(&rs, json!([{ "resource_id": db, "resource_scopes": ["value"] }, { "resource_id": dc, "resource_scopes": [] }]))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(body["ticket"].as_str().unwrap().len() >= 43, "tickets carry 256 random bits");
    let (status, body) = w.permission(&rs, json!({ "resource_id": dc, "resource_scopes": ["value"] })).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_scope")));
    let (status, body) = w.permission(&rs, json!({ "resource_id": "nope", "resource_scopes": [] })).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_resource_id")));
    let (status, body) = w.permission(&rs, json!([])).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
}

#[tokio::test]
async fn discovery_documents_publish_every_endpoint() {
    let w = TestServer::start().await;
    for path in ["/.well-known/uma2-configuration", "/.well-known/oauth-authorization-server"] {
        let doc: serde_json::Value = w.http.get(w.url(path)).send().await.unwrap().json().await.unwrap();
        assert_eq!(doc["issuer"], w.issuer);
        for endpoint in ["token_endpoint", "jwks_uri", "registration_endpoint", "introspection_endpoint", "revocation_endpoint", "resource_registration_endpoint", "permission_endpoint", "claims_interaction_endpoint"] {
            let url = doc[endpoint].as_str().unwrap_or_else(|| panic!("{endpoint} missing"));
            assert!(url.starts_with(&w.issuer), "{endpoint}");
        }
        assert!(doc["grant_types_supported"].as_array().unwrap().contains(&json!(UMA_GRANT)));
    }
}

/// The protocol endpoints' OpenAPI document is generated from the handlers;
/// every operation it lists must be served, with a schema for every JSON
/// answer and an error answer documented.
#[tokio::test]
async fn the_authorization_servers_openapi_document_lists_what_it_serves() {
    let w = TestServer::start().await;
    let doc = w.checked_openapi_document(&w.url(""), None, &[]).await;
    let paths = doc["paths"].as_object().unwrap();
    for route in ["/.well-known/uma2-configuration", "/register", "/token", "/revoke", "/introspect", "/permission", "/resource_set", "/resource_set/{id}", "/claims", "/jwks"] {
        assert!(paths.contains_key(route), "{route} is not documented");
    }
}

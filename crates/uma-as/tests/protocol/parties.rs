//! The parties of the protocol as they talk to an authorization server
//! over HTTP: resource servers, clients, an OpenID Provider. Shared by the
//! authorization server's own protocol tests and the wallet's (which
//! include this file), each with its own way of acting as the owner.

// Each test binary uses its own part of this.
#![allow(dead_code)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uma_as::keys::SigningKey;

pub const START: i64 = 1_800_000_000;
pub const UMA_GRANT: &str = "urn:ietf:params:oauth:grant-type:uma-ticket";
pub const ID_TOKEN: &str = "http://openid.net/specs/openid-connect-core-1_0.html#IDToken";

/// Acting as the owner. Each harness says how, in [`Owner::owner`] (the
/// wallet's owner API, or the server's own calls); the rest is shared.
#[allow(async_fn_in_trait)]
pub trait Owner {
    /// An owner action, named as the wallet's owner API names it.
    async fn owner(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value);

    fn peer(&self) -> &Peer;

    async fn owner_get(&self, path: &str) -> Value {
        let (status, body) = self.owner(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    }

    async fn owner_post(&self, path: &str, body: Value) -> Value {
        let (status, body) = self.owner(Method::POST, path, Some(body)).await;
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    async fn pending(&self) -> Vec<Value> {
        self.owner_get("/pending").await.as_array().unwrap().clone()
    }

    async fn add_policy(&self, policy: Value) -> Value {
        self.owner_post("/policies", policy).await
    }

    /// A resource server the owner connected with an assertion (jwt-bearer).
    async fn connect_resource_server(&self, name: &str) -> ResourceServer {
        let minted = self.owner_post("/assertions", json!({ "resource_server": name })).await;
        self.peer().connect_with_assertion(minted["assertion"].as_str().unwrap()).await
    }
}

/// Talks to the authorization server at `issuer`.
pub struct Peer {
    pub issuer: String,
    pub http: reqwest::Client,
}

impl Peer {
    pub fn new(issuer: String) -> Peer {
        Peer { issuer, http: reqwest::Client::new() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    /// The OpenAPI document a server generated from its routes, checked:
    /// every operation it lists (but those on `unchecked` paths) is served
    /// (sending `bearer` if given), each JSON answer has a schema, and each
    /// operation documents its error answer. Returns the document.
    pub async fn checked_openapi_document(&self, base: &str, bearer: Option<&str>, unchecked: &[&str]) -> Value {
        let doc: Value = self.http.get(format!("{base}/openapi.json")).send().await.unwrap().json().await.unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        for (path, item) in doc["paths"].as_object().unwrap() {
            if unchecked.contains(&path.as_str()) {
                continue;
            }
            for (method, operation) in item.as_object().unwrap() {
                let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let mut request = self.http.request(method.clone(), format!("{base}{}", path.replace("{id}", "does-not-exist")));
                if let Some(token) = bearer {
                    request = request.bearer_auth(token);
                }
                let response = request.send().await.unwrap();
                let status = response.status();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                assert!(
                    status != StatusCode::METHOD_NOT_ALLOWED && !(status == StatusCode::NOT_FOUND && body["error_description"] == "no such endpoint"),
                    "{method} {path} is documented but not served ({status})"
                );
                let responses = operation["responses"].as_object().unwrap();
                for (code, response) in responses {
                    if let Some(json) = response["content"].get("application/json") {
                        assert!(json.get("schema").is_some_and(|s| s != &json!({})), "{method} {path} {code} has no schema");
                    }
                }
                assert!(responses.contains_key("default"), "{method} {path} documents no error answer");
            }
        }
        doc
    }

    /// Asserts that each member of `body` has the JSON type the document's
    /// schema `name` gives it, and that the schema knows every member.
    pub fn assert_documented(doc: &Value, name: &str, body: &Value) {
        let properties = doc["components"]["schemas"][name]["properties"].as_object().unwrap_or_else(|| panic!("no schema {name}"));
        for (member, value) in body.as_object().unwrap() {
            let schema = properties.get(member).unwrap_or_else(|| panic!("{name} does not document `{member}`: {body}"));
            let kind = match value {
                Value::Null => "null",
                Value::Bool(_) => "boolean",
                Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
                Value::Number(_) => "number",
                Value::String(_) => "string",
                Value::Array(_) => "array",
                Value::Object(_) => "object",
            };
            let documented: Vec<&str> = match &schema["type"] {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => continue,
            };
            assert!(documented.contains(&kind), "{name}.{member} is documented as {documented:?}, answered as {kind}: {body}");
        }
    }

    /// A resource server connected with an assertion the owner minted (jwt-bearer).
    pub async fn connect_with_assertion(&self, assertion: &str) -> ResourceServer {
        let (status, body) = self.form(&self.url("/token"), None, &[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion)]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["scope"], "uma_protection");
        ResourceServer { pat: body["access_token"].as_str().unwrap().into() }
    }

    pub async fn register_client(&self, metadata: Value) -> TestClient {
        let response = self.http.post(self.url("/register")).json(&metadata).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        TestClient { id: body["client_id"].as_str().unwrap().into(), secret: body["client_secret"].as_str().unwrap().into() }
    }

    pub async fn client(&self, name: &str) -> TestClient {
        self.register_client(json!({ "client_name": name, "claims_redirect_uris": ["https://client.example/back?from=uma"] }))
            .await
    }

    /// POSTs a form, optionally with HTTP Basic client authentication.
    pub async fn form(&self, url: &str, client: Option<&TestClient>, params: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut request = self.http.post(url).form(params);
        if let Some(c) = client {
            request = request.header("authorization", c.basic());
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn register_resource(&self, rs: &ResourceServer, name: &str, scopes: &[&str]) -> String {
        let response = self
            .http
            .post(self.url("/resource_set"))
            .bearer_auth(&rs.pat)
            .json(&json!({ "name": name, "resource_scopes": scopes, "type": "https://pension.example/pension" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let location = response.headers()["location"].to_str().unwrap().to_string();
        let body: Value = response.json().await.unwrap();
        let id = body["_id"].as_str().unwrap().to_string();
        assert_eq!(location, self.url(&format!("/resource_set/{id}")));
        id
    }

    pub async fn permission(&self, rs: &ResourceServer, body: Value) -> (StatusCode, Value) {
        let response = self.http.post(self.url("/permission")).bearer_auth(&rs.pat).json(&body).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn ticket(&self, rs: &ResourceServer, resource_id: &str, scopes: &[&str]) -> String {
        let (status, body) = self.permission(rs, json!({ "resource_id": resource_id, "resource_scopes": scopes })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["ticket"].as_str().unwrap().into()
    }

    /// The uma-ticket grant with extra parameters.
    pub async fn uma_grant(&self, client: &TestClient, ticket: &str, extra: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut params = vec![("grant_type", UMA_GRANT), ("ticket", ticket)];
        params.extend_from_slice(extra);
        self.form(&self.url("/token"), Some(client), &params).await
    }

    pub async fn introspect(&self, rs: &ResourceServer, token: &str) -> Value {
        let response = self.http.post(self.url("/introspect")).bearer_auth(&rs.pat).form(&[("token", token)]).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }
}

pub struct ResourceServer {
    pub pat: String,
}

pub struct TestClient {
    pub id: String,
    pub secret: String,
}

impl TestClient {
    pub fn basic(&self) -> String {
        format!("Basic {}", STANDARD.encode(format!("{}:{}", self.id, self.secret)))
    }
}

/// An OpenID Provider on loopback: discovery, JWKS, and ID tokens it signs.
pub struct OpenIdProvider {
    pub issuer: String,
    key: std::sync::Arc<SigningKey>,
}

impl OpenIdProvider {
    pub async fn start() -> OpenIdProvider {
        use axum::routing::get;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let key = std::sync::Arc::new(SigningKey::generate());
        let jwks = key.jwks();
        let discovery = json!({ "issuer": issuer, "jwks_uri": format!("{issuer}/jwks") });
        let app = axum::Router::new()
            .route("/.well-known/openid-configuration", get(move || async move { axum::Json(discovery) }))
            .route("/jwks", get(move || async move { axum::Json(jwks) }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        OpenIdProvider { issuer, key }
    }

    pub fn id_token(&self, audience: &str, subject: &str, email: &str, now: i64) -> String {
        self.key.sign(&json!({
            "iss": self.issuer, "sub": subject, "aud": audience, "iat": now, "exp": now + 300,
            "email": email, "email_verified": true, "name": "Bob Adviser",
        }))
    }
}

/// Reads a query parameter from a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url).unwrap().query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

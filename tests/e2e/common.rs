//! The parties of the end-to-end scenarios: a wallet serving on loopback
//! port 0 and reference pension providers, all speaking real HTTP.

use pension_provider::{fixtures::Catalogue, http, Provider};
use serde_json::{json, Value};
use std::sync::Arc;
use uma_as::AuthorizationServer;
use wallet::serve::{self, Ready, ServeOptions};
use wallet::{Clock, KdfParams, Wallet};

pub struct TestWallet {
    _dir: tempfile::TempDir,
    pub server: AuthorizationServer,
    pub ready: Ready,
    token: String,
}

impl TestWallet {
    pub async fn start() -> TestWallet {
        let dir = tempfile::tempdir().unwrap();
        // Light KDF parameters: these scenarios are about the protocols.
        Wallet::init(dir.path(), "passphrase", KdfParams { memory_kib: 8 * 1024, iterations: 1, parallelism: 1 }).unwrap();
        let bound = serve::bind(ServeOptions {
            data_dir: dir.path().to_path_buf(),
            passphrase: "passphrase".into(),
            listen: "127.0.0.1:0".parse().unwrap(),
            owner_listen: "127.0.0.1:0".parse().unwrap(),
            public_issuer: None,
            clock: Clock::System,
            tickets_per_minute: None,
        })
        .await
        .unwrap();
        let (server, ready) = (bound.server().clone(), bound.ready.clone());
        tokio::spawn(bound.run(std::future::pending()));
        let token = std::fs::read_to_string(dir.path().join(wallet::OWNER_TOKEN_FILE)).unwrap().trim().to_string();
        TestWallet { _dir: dir, server, ready, token }
    }

    pub fn issuer(&self) -> &str {
        &self.ready.issuer
    }

    /// Calls the owner API.
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = reqwest::Client::new().request(method, format!("{}{}", self.ready.owner_api, path)).bearer_auth(&self.token);
        if let Some(b) = body {
            request = request.json(&b);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    /// Calls the owner API and expects success.
    pub async fn owner(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let (status, body) = self.call(method, path, body).await;
        assert!((200..300).contains(&status), "{path}: {status} {body}");
        body
    }

    pub async fn assertion_for(&self, provider: &str) -> String {
        let minted = self.owner(reqwest::Method::POST, "/assertions", Some(json!({ "resource_server": provider }))).await;
        minted["assertion"].as_str().unwrap().to_string()
    }

    /// A find token signed with the wallet's key, as the wallet's own find
    /// signs them, for scenarios that call a provider directly.
    pub fn find_token(&self, provider: &str, find_data: Value, issued_at: i64) -> String {
        self.server.signing_key().sign_typed(uma_as::keys::TokenType::FindToken, &json!({
            "iss": self.issuer(), "aud": provider, "iat": issued_at, "exp": issued_at + 300,
            "jti": format!("{issued_at}-{provider}"), "find_data": find_data,
        }))
    }
}

pub async fn start_provider(fixtures: &str, trusted: Vec<String>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let provider = Arc::new(Provider::new(url.clone(), Catalogue::load(fixtures).unwrap(), trusted));
    tokio::spawn(async move { axum::serve(listener, http::router(provider)).await.unwrap() });
    url
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Alice's find data, verified by an identity service.
pub fn alice() -> Value {
    json!({
        "names": [{ "value": { "given_name": "Alice", "family_name": "Archer" }, "verified": true }],
        "date_of_birth": { "value": "1975-04-12", "verified": true },
        "addresses": [{ "value": { "postcode": "SW1A 1AA" }, "verified": true }],
        "emails": [{ "value": "alice@example.org", "verified": true }]
    })
}

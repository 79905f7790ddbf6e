//! The parties of the end-to-end scenarios: a wallet serving on loopback
//! port 0, reference pension providers and the reference identity service,
//! all speaking real HTTP.

use identity_service::IdentityService;
use pension_provider::{fixtures::Catalogue, http, Provider};
use serde_json::{json, Value};
use std::sync::Arc;
use uma_as::AuthorizationServer;
use wallet::serve::{self, Ready, ServeOptions};
use wallet::challenge::UmaChallenge;
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
        let bound = serve::bind(ServeOptions::on_loopback(dir.path(), "passphrase", Clock::System)).await.unwrap();
        let (server, ready) = (bound.wallet().authorization_server().clone(), bound.ready.clone());
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
    /// signs them, for scenarios that call a provider directly: what the
    /// owner states only, so never more than a possible match.
    pub fn find_token(&self, provider: &str, find_data: Value, issued_at: i64) -> String {
        self.server.signing_key().sign_typed(uma_as::keys::TokenType::FindToken, &json!({
            "iss": self.issuer(), "aud": provider, "iat": issued_at, "exp": issued_at + 300,
            "jti": uma_as::keys::new_jti(), "find_data": find_data,
        }))
    }

    /// A find token with a presentation of `email`'s identity credential
    /// from `identity` (issued to this wallet's key, as a sign-in would),
    /// made for `provider` with a nonce it gave out.
    pub async fn find_token_with_proof(&self, provider: &str, identity: &IdentityService, email: &str) -> String {
        let key = self.server.signing_key();
        let person = identity.person(email).expect("a fixture person");
        let credential = identity.issue_to(person, &key.public_jwk()).unwrap();
        let nonce: Value = reqwest::Client::new().post(format!("{provider}/nonce")).send().await.unwrap().json().await.unwrap();
        let presentation = sd_jwt_vc::present(
            &credential,
            &wallet::identity_credential::FIND_DISCLOSURES,
            provider,
            nonce["c_nonce"].as_str().unwrap(),
            now(),
            |claims| key.sign_typed(uma_as::keys::TokenType::KeyBinding, claims),
        )
        .unwrap();
        key.sign_typed(uma_as::keys::TokenType::FindToken, &json!({
            "iss": self.issuer(), "aud": provider, "iat": now(), "exp": now() + 300,
            "jti": uma_as::keys::new_jti(), "find_data": {}, "identity_presentation": presentation,
        }))
    }

    /// Proves who the owner is the way a person does: the wallet starts the
    /// sign-in, the person signs in at the identity service's pages with the
    /// code sent to `email`, and the wallet collects the credential.
    pub async fn prove_identity(&self, identity: &IdentityService, email: &str) -> Value {
        let started = self.owner(reqwest::Method::POST, "/identity/credential", Some(json!({ "issuer": identity.url }))).await;
        let page = identity_service::person::start(started["authorize_url"].as_str().unwrap(), email).await.unwrap();
        page.enter(&identity.latest_code_for(email).expect("a code was sent")).await.unwrap();
        for _ in 0..100 {
            let status = self.owner(reqwest::Method::GET, "/identity/credential", None).await;
            match status["sign_in"]["state"].as_str() {
                Some("finished") => return status["credential"].clone(),
                Some("failed") => panic!("signing in failed: {status}"),
                _ => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
        panic!("the wallet never collected the credential");
    }
}

/// Alice's defined benefit pension at the Acme fixture.
pub const ACME_DB_PENSION: &str = "a1c0ffee-0001-4000-8000-000000000001";

impl TestWallet {
    /// Alice proves who she is to `acme` and has it protect her DB pension
    /// here, as accepting the offer does; returns the assignment answer.
    pub async fn protect_alices_db_pension(&self, acme: &str, identity: &IdentityService) -> Value {
        let token = self.find_token_with_proof(acme, identity, "alice@example.com").await;
        let assigned = reqwest::Client::new()
            .post(format!("{acme}/resources/{ACME_DB_PENSION}"))
            .bearer_auth(token)
            .json(&json!({ "at_as": self.issuer(), "assertion": self.assertion_for(acme).await }))
            .send()
            .await
            .unwrap();
        assert_eq!(assigned.status(), 200);
        assigned.json().await.unwrap()
    }

    /// Trusts `key` as the registry key and imports `registry` signed by it.
    pub async fn import_registry(&self, key: &registry::RegistryKey, registry: &registry::Registry) -> Value {
        self.owner(reqwest::Method::PUT, "/registry/key", Some(json!({ "key": key.did() }))).await;
        self.owner(reqwest::Method::POST, "/registry", Some(json!({ "registry": key.sign(registry, now(), 3600).unwrap() }))).await
    }
}

/// A registry naming the reference identity service's regulator, with its keys.
pub fn registry_with_regulator(identity: &IdentityService) -> registry::Registry {
    registry::Registry {
        name: "Reference registry".into(),
        version: 1,
        entries: vec![registry::Entry {
            role: registry::Role::Regulator,
            id: identity.regulator_url(),
            name: "Reference Financial Conduct Regulator".into(),
            status: None,
            did: None,
            jwks: Some(identity.regulator_key.public_jwks()),
        }],
    }
}

/// The reference identity service with its built-in people (Alice is
/// `alice@example.com`).
pub async fn start_identity_service() -> Arc<IdentityService> {
    identity_service::spawn_local().await
}

/// A provider trusting the wallets `trusted` and the identity service.
pub async fn start_provider(fixtures: &str, trusted: Vec<String>, identity: &IdentityService) -> String {
    start_provider_handle(fixtures, trusted, identity).await.0
}

/// The same, with the provider itself (to read the post it sends members).
pub async fn start_provider_handle(fixtures: &str, trusted: Vec<String>, identity: &IdentityService) -> (String, Arc<Provider>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let provider = Arc::new(Provider::new(url.clone(), Catalogue::load(fixtures).unwrap(), trusted, vec![identity.url.clone()]));
    let app = http::router(provider.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, provider)
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Alice's find data as she states it: whatever it says of itself, a
/// provider takes none of it as verified.
pub fn alice() -> Value {
    json!({
        "names": [{ "value": { "given_name": "Alice", "family_name": "Archer" }, "verified": true }],
        "date_of_birth": { "value": "1975-04-12", "verified": true },
        "addresses": [{ "value": { "postcode": "SW1A 1AA" }, "verified": true }],
        "emails": [{ "value": "alice@example.org", "verified": true }]
    })
}

/// An app that registers itself (with a secret) under `metadata` asks to
/// see what `view` shows, answering the UMA challenge it meets there: the
/// token endpoint's answer.
pub async fn app_asks(view: &str, metadata: Value) -> Value {
    let http = reqwest::Client::new();
    let response = http.get(view).send().await.unwrap();
    let header = response.headers()["www-authenticate"].to_str().unwrap();
    let UmaChallenge { as_uri, ticket, .. } = UmaChallenge::find(header).expect("an UMA challenge");
    let client: Value = http.post(format!("{as_uri}/register")).json(&metadata).send().await.unwrap().json().await.unwrap();
    http.post(format!("{as_uri}/token"))
        .basic_auth(client["client_id"].as_str().unwrap(), client["client_secret"].as_str())
        .form(&[("grant_type", "urn:ietf:params:oauth:grant-type:uma-ticket"), ("ticket", ticket.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

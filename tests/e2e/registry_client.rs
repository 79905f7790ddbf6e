//! Who is asking, as the governance registry says: an app registered with
//! its registry software id and the keys the registry gives for it, and
//! authenticating with them (`private_key_jwt`), is shown to the owner as
//! the registry lists it. An app that copies its id and public keys cannot
//! authenticate at all; one with its own keys is shown as unlisted.

use crate::common::*;
use serde_json::{json, Value};
use uma_as::keys::SigningKey;

const DB_PENSION: &str = ACME_DB_PENSION;

fn assertion(key: &SigningKey, client_id: &str, token_endpoint: &str, jti: &str) -> String {
    key.sign_with_header(
        &json!({ "typ": "JWT", "kid": key.public_jwk()["kid"] }),
        &json!({ "iss": client_id, "sub": client_id, "aud": token_endpoint, "exp": now() + 120, "jti": jti }),
    )
}

async fn register(wallet: &TestWallet, software_id: &str, key: &SigningKey) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/register", wallet.issuer()))
        .json(&json!({
            "client_name": "Adviser platform", "software_id": software_id,
            "token_endpoint_auth_method": "private_key_jwt", "jwks": { "keys": [key.public_jwk()] },
        }))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn ask(wallet: &TestWallet, view: &str, client_id: &str, assertion: &str) -> Value {
    let http = reqwest::Client::new();
    let challenge = http.get(view).send().await.unwrap();
    let header = challenge.headers()["www-authenticate"].to_str().unwrap().to_string();
    let ticket = header.split("ticket=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    http.post(format!("{}/token", wallet.issuer()))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:uma-ticket"),
            ("ticket", ticket.as_str()),
            ("client_id", client_id),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", assertion),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The owner's register lists the adviser platform with this key.
async fn list_platform(wallet: &TestWallet, platform_key: &SigningKey) {
    let registry_key = registry::RegistryKey::generate();
    let listed = registry::Registry {
        name: "Reference registry".into(),
        version: 1,
        entries: vec![registry::Entry {
            role: registry::Role::Client,
            id: "adviser-platform-ltd".into(),
            name: "Adviser Platform Ltd".into(),
            status: Some("FCA-authorised financial adviser platform".into()),
            did: None,
            jwks: Some(json!({ "keys": [platform_key.public_jwk()] })),
        }],
    };
    wallet.owner(reqwest::Method::PUT, "/registry/key", Some(json!({ "key": registry_key.did() }))).await;
    wallet.owner(reqwest::Method::POST, "/registry", Some(json!({ "registry": registry_key.sign(&listed, now(), 3600).unwrap() }))).await;
}

#[tokio::test]
async fn the_owner_sees_a_registry_listed_app_as_listed_and_an_impostor_cannot_pass_for_it() {
    let wallet = TestWallet::start().await;
    let identity = start_identity_service().await;
    let acme = start_provider("acme", vec![wallet.issuer().into()], &identity).await;
    wallet.protect_alices_db_pension(&acme, &identity).await;
    let view = format!("{acme}/pensions/{DB_PENSION}");
    let token_endpoint = format!("{}/token", wallet.issuer());

    let platform_key = SigningKey::generate();
    list_platform(&wallet, &platform_key).await;

    // The real platform registers with its software id and key, and asks.
    let (status, registered) = register(&wallet, "adviser-platform-ltd", &platform_key).await;
    assert_eq!(status, 201, "{registered}");
    assert!(registered.get("client_secret").is_none(), "a key-authenticated client gets no secret: {registered}");
    let real_id = registered["client_id"].as_str().unwrap().to_string();
    let first = assertion(&platform_key, &real_id, &token_endpoint, "a-1");
    let answer = ask(&wallet, &view, &real_id, &first).await;
    assert_eq!(answer["error"], "request_submitted", "{answer}");
    // The same assertion again is refused: each is used once.
    let replayed = ask(&wallet, &view, &real_id, &first).await;
    assert_eq!(replayed["error"], "invalid_client", "{replayed}");

    // An impostor copies the id and the public key: it cannot sign, so it
    // cannot authenticate, and never reaches the owner.
    let (_, copied) = register(&wallet, "adviser-platform-ltd", &platform_key).await;
    let copied_id = copied["client_id"].as_str().unwrap().to_string();
    let forged = assertion(&SigningKey::generate(), &copied_id, &token_endpoint, "b-1");
    assert_eq!(ask(&wallet, &view, &copied_id, &forged).await["error"], "invalid_client");
    // Another app claims the id with a key of its own: it may ask, as unlisted.
    let own_key = SigningKey::generate();
    let (_, other) = register(&wallet, "adviser-platform-ltd", &own_key).await;
    let other_id = other["client_id"].as_str().unwrap().to_string();
    let answer = ask(&wallet, &view, &other_id, &assertion(&own_key, &other_id, &token_endpoint, "c-1")).await;
    assert_eq!(answer["error"], "request_submitted", "{answer}");

    let pending = wallet.owner(reqwest::Method::GET, "/pending", None).await;
    let standing = |id: &str| pending.as_array().unwrap().iter().find(|p| p["client_id"] == id).map(|p| p["registry"].clone());
    assert_eq!(
        standing(&real_id),
        Some(json!({ "listed": true, "name": "Adviser Platform Ltd", "status": "FCA-authorised financial adviser platform" }))
    );
    assert_eq!(standing(&other_id), Some(json!({ "listed": false, "claims_to_be": "adviser-platform-ltd" })));
    assert_eq!(standing(&copied_id), None, "the impostor never filed a request");

    // Registration needs the keys for private_key_jwt, and a secret client
    // cannot bring keys.
    let http = reqwest::Client::new();
    for bad in [
        json!({ "client_name": "x", "token_endpoint_auth_method": "private_key_jwt" }),
        json!({ "client_name": "x", "jwks": { "keys": [own_key.public_jwk()] } }),
        json!({ "client_name": "x", "token_endpoint_auth_method": "private_key_jwt", "jwks": { "keys": [{ "kty": "OKP", "crv": "Ed25519", "x": "AA", "d": "secret" }] } }),
    ] {
        let response = http.post(format!("{}/register", wallet.issuer())).json(&bad).send().await.unwrap();
        assert_eq!(response.status(), 400, "{bad}");
    }
}

#[tokio::test]
async fn her_rule_turns_away_every_app_the_register_does_not_list_but_not_a_listed_one_nor_her_own_wallet() {
    let wallet = TestWallet::start().await;
    let identity = start_identity_service().await;
    let acme = start_provider("acme", vec![wallet.issuer().into()], &identity).await;
    wallet.protect_alices_db_pension(&acme, &identity).await;
    let view = format!("{acme}/pensions/{DB_PENSION}");
    let platform_key = SigningKey::generate();
    list_platform(&wallet, &platform_key).await;
    let resources = wallet.owner(reqwest::Method::GET, "/resources", None).await;
    let pension = resources[0]["_id"].as_str().or(resources[0]["id"].as_str()).unwrap().to_string();

    // A rule for every unlisted app may refuse or ask, never let them in.
    let rule = |outcome: &str| json!({ "target": { "kind": "resource", "id": pension }, "party": { "unlisted_apps": true }, "outcome": outcome });
    assert_eq!(wallet.call(reqwest::Method::POST, "/policies", Some(rule("permit"))).await.0, 400);
    wallet.owner(reqwest::Method::POST, "/policies", Some(rule("deny"))).await;

    // An app the register does not list is turned away, and nobody asks her.
    let answer = app_asks(&view, json!({ "client_name": "MoneyHelper" })).await;
    assert_eq!(answer["error"], "request_denied", "{answer}");
    // The listed platform, proving it is the one listed, is asked about.
    let (_, registered) = register(&wallet, "adviser-platform-ltd", &platform_key).await;
    let platform = registered["client_id"].as_str().unwrap().to_string();
    let answer = ask(&wallet, &view, &platform, &assertion(&platform_key, &platform, &format!("{}/token", wallet.issuer()), "l-1")).await;
    assert_eq!(answer["error"], "request_submitted", "{answer}");
    let pending = wallet.owner(reqwest::Method::GET, "/pending", None).await;
    assert_eq!(pending.as_array().unwrap().len(), 1, "only the listed app waits for her: {pending}");
    // Her own wallet, which no register lists, still reads her pension.
    wallet.owner(reqwest::Method::POST, "/providers", Some(json!({ "url": acme }))).await;
    let mine = wallet.owner(reqwest::Method::GET, "/pensions", None).await;
    assert!(mine["pensions"][0]["estimated_annual_income"].is_number(), "{mine}");
}

/// Where a governance body publishes its signed registry: served over real
/// HTTP, as `registry publish` does; `signed` can be replaced while it runs.
async fn publish(signed: std::sync::Arc<parking_lot::Mutex<String>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/registry.jws", listener.local_addr().unwrap());
    let app = axum::Router::new().route("/registry.jws", axum::routing::get(move || async move { signed.lock().clone() }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// The first run finds the owner's providers with nothing to type: the
/// wallet fetches the registry from where it is published, checks it whole
/// against the registry key, and finds at every provider it lists.
#[tokio::test]
async fn the_wallet_fetches_the_published_registry_and_finds_at_every_provider_it_lists() {
    let wallet = TestWallet::start().await;
    let identity = start_identity_service().await;
    let acme = start_provider("acme", vec![wallet.issuer().into()], &identity).await;
    let northwind = start_provider("northwind", vec![wallet.issuer().into()], &identity).await;
    let key = registry::RegistryKey::generate();
    let provider = |url: &str, name: &str| registry::Entry { role: registry::Role::PensionProvider, id: url.into(), name: name.into(), status: None, did: None, jwks: None };
    let listed = registry::Registry { name: "Pensions register".into(), version: 1, entries: vec![provider(&acme, "Acme Pensions"), provider(&northwind, "Northwind")] };
    let signed = std::sync::Arc::new(parking_lot::Mutex::new(key.sign(&listed, now(), 3600).unwrap()));
    let url = publish(signed.clone()).await;

    // A key the registry does not verify under is not kept: the right one still can be.
    let (status, body) = wallet.call(reqwest::Method::POST, "/registry/fetch", Some(json!({ "url": url, "key": registry::RegistryKey::generate().did() }))).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(wallet.owner(reqwest::Method::GET, "/registry", None).await["trusted_key"], Value::Null);
    let (status, body) = wallet.call(reqwest::Method::POST, "/registry/fetch", Some(json!({ "url": url, "key": key.did() }))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["providers"].as_array().unwrap().len(), 2, "{body}");
    assert_eq!(body["governance"]["source"], url.as_str());

    wallet.prove_identity(&identity, "alice@example.com").await;
    let (status, found) = wallet.call(reqwest::Method::POST, "/find", None).await;
    assert_eq!(status, 200, "{found}");
    assert!(found.as_array().unwrap().iter().all(|p| p["outcome"] == "matched"), "{found}");

    // A newer edition, fetched again from where it was: Northwind is struck off.
    let newer = registry::Registry { version: 2, entries: vec![provider(&acme, "Acme Pensions")], ..listed.clone() };
    *signed.lock() = key.sign(&newer, now(), 3600).unwrap();
    let (status, body) = wallet.call(reqwest::Method::POST, "/registry/fetch", Some(json!({}))).await;
    assert_eq!(status, 200, "{body}");
    let providers = wallet.owner(reqwest::Method::GET, "/providers", None).await;
    assert_eq!(providers.as_array().unwrap().len(), 1, "{providers}");

    // Signed by another key, or not a registry at all: refused, nothing changes.
    *signed.lock() = registry::RegistryKey::generate().sign(&listed, now(), 3600).unwrap();
    let (status, body) = wallet.call(reqwest::Method::POST, "/registry/fetch", Some(json!({}))).await;
    assert_eq!(status, 400, "{body}");
    *signed.lock() = "<html>not a registry</html>".into();
    let (status, _) = wallet.call(reqwest::Method::POST, "/registry/fetch", Some(json!({}))).await;
    assert_eq!(status, 400);
    let (status, body) = wallet.call(reqwest::Method::POST, "/registry/fetch", Some(json!({ "url": url, "key": registry::RegistryKey::generate().did() }))).await;
    assert_eq!(status, 400, "another key is not taken over the one the owner set: {body}");
    let (status, body) = wallet.call(reqwest::Method::POST, "/registry/fetch", Some(json!({ "url": "http://registry.example/registry.jws" }))).await;
    assert_eq!(status, 400, "plain http off loopback is refused: {body}");
    let (status, body) = wallet.call(reqwest::Method::POST, "/registry/fetch", Some(json!({ "url": "http://127.0.0.1:9/registry.jws" }))).await;
    assert_eq!(status, 424, "a publisher that cannot be reached is not the wallet's fault: {body}");
    assert_eq!(wallet.owner(reqwest::Method::GET, "/providers", None).await.as_array().unwrap().len(), 1, "nothing changed");
}

//! A provider whose credential is signed by a key other than the one its
//! `kid` names: the wallet refuses the credential, says why, and keeps what
//! it had.

use crate::common::*;
use axum::extract::{Json, State};
use axum::routing::{get, post};
use pension_provider::did;
use serde_json::{json, Value};
use std::sync::Arc;

struct Forger {
    url: String,
    named: ring::signature::Ed25519KeyPair,
    signing: ring::signature::Ed25519KeyPair,
}

/// Just enough of a provider and an OpenID4VCI issuer to deliver a forgery.
async fn start_forger() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let forger = Arc::new(Forger { url: url.clone(), named: did::generate(), signing: did::generate() });
    let app = axum::Router::new()
        .route(
            "/resources/{id}",
            post(|State(f): State<Arc<Forger>>, Json(body): Json<Value>| async move {
                // Connects and registers like any provider: the forgery is
                // in the credential alone.
                let wallet = body["at_as"].as_str().unwrap_or_default();
                let http = reqwest::Client::new();
                let form = [("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", body["assertion"].as_str().unwrap_or_default())];
                let pat: Value = http.post(format!("{wallet}/token")).form(&form).send().await.unwrap().json().await.unwrap();
                let registration = json!({ "name": "urn:pei:forged:r1", "resource_scopes": ["owner"] });
                http.post(format!("{wallet}/resource_set")).bearer_auth(pat["access_token"].as_str().unwrap_or_default()).json(&registration).send().await.unwrap();
                Json(json!({
                    "resource_id": "r1", "pei": "urn:pei:forged:r1", "authorization_server": body["at_as"],
                    "credential_offer": {
                        "credential_issuer": f.url, "credential_configuration_ids": ["PensionResourceCredential"],
                        "grants": { "urn:ietf:params:oauth:grant-type:pre-authorized_code": { "pre-authorized_code": "code" } }
                    }
                }))
            }),
        )
        .route(
            "/.well-known/openid-credential-issuer",
            // Signed metadata by the DID the credential will name: the
            // forgery is in the credential's signature alone.
            get(|State(f): State<Arc<Forger>>| async move {
                let named = did::did_of(&f.named);
                let jwt = did::sign(
                    &f.named,
                    &json!({ "alg": "EdDSA", "typ": "openidvci-issuer-metadata+jwt", "kid": did::verification_method(&named) }),
                    &json!({ "credential_issuer": f.url, "credential_endpoint": format!("{}/credential", f.url), "nonce_endpoint": format!("{}/nonce", f.url),
                             "sub": f.url, "iss": named, "iat": now() }),
                );
                ([(axum::http::header::CONTENT_TYPE, "application/jwt")], jwt)
            }),
        )
        .route("/.well-known/oauth-authorization-server", get(|State(f): State<Arc<Forger>>| async move { Json(json!({ "token_endpoint": format!("{}/token", f.url) })) }))
        .route("/token", post(|| async { Json(json!({ "access_token": "t", "token_type": "Bearer" })) }))
        .route("/nonce", post(|| async { Json(json!({ "c_nonce": "n" })) }))
        .route(
            "/credential",
            post(|State(f): State<Arc<Forger>>, Json(body): Json<Value>| async move {
                let proof = body["proofs"]["jwt"][0].as_str().unwrap_or_default();
                let holder = did::peek(proof).map(|(h, _)| h["kid"].as_str().unwrap_or_default().split('#').next().unwrap_or_default().to_string()).unwrap_or_default();
                let named = did::did_of(&f.named);
                let now = now();
                let credential = did::sign(
                    &f.signing,
                    &json!({ "alg": "EdDSA", "typ": "JWT", "kid": did::verification_method(&named) }),
                    &json!({ "iss": named, "sub": holder, "nbf": now, "iat": now, "vc": {
                        "@context": ["https://www.w3.org/2018/credentials/v1"],
                        "type": ["VerifiableCredential", "PensionResourceCredential"],
                        "credentialSubject": { "pei": "urn:pei:forged:r1", "scheme": "Forged", "authorizationServer": "x" } } }),
                );
                Json(json!({ "credentials": [{ "credential": credential }] }))
            }),
        )
        .with_state(forger);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test]
async fn a_credential_signed_by_the_wrong_key_is_refused_and_nothing_is_stored() {
    let owner = TestWallet::start().await;
    let forger = start_forger().await;
    let identity = json!({ "given_name": "Alice", "family_name": "Archer", "date_of_birth": "1975-04-12" });
    owner.owner(reqwest::Method::PUT, "/identity", Some(identity)).await;
    owner.owner(reqwest::Method::POST, "/providers", Some(json!({ "url": forger }))).await;

    let accepted = owner.owner(reqwest::Method::POST, "/offers/accept", Some(json!({ "provider": forger, "resource_id": "r1" }))).await;
    let error = accepted["credential_error"].as_str().expect("the forged credential is reported");
    assert!(error.contains("does not verify"), "{error}");
    assert!(accepted.get("credential").is_none());
    assert_eq!(owner.owner(reqwest::Method::GET, "/credentials", None).await, json!([]));
}

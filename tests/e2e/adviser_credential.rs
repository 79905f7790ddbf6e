//! The regulator's side of the reference identity service: an authorised
//! adviser signs in and collects an adviser credential over OpenID4VCI,
//! signed by the regulator's own key and naming the regulator as issuer;
//! a person the regulator does not list gets none.

use crate::common::*;
use base64::Engine;
use serde_json::{json, Value};
use uma_as::keys::SigningKey;

/// A holder (the adviser's platform) running the code flow by hand:
/// authorize, sign in as `email`, token, nonce, credential.
async fn collect(identity: &identity_service::IdentityService, email: &str, holder: &SigningKey) -> (u16, Value) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirect_uri = format!("http://127.0.0.1:{}/callback", listener.local_addr().unwrap().port());
    let (sender, received) = tokio::sync::oneshot::channel::<String>();
    let sender = std::sync::Arc::new(parking_lot::Mutex::new(Some(sender)));
    let app = axum::Router::new().route(
        "/callback",
        axum::routing::get(move |axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>| {
            let sender = sender.clone();
            async move {
                if let Some(s) = sender.lock().take() {
                    let _ = s.send(q.get("code").cloned().unwrap_or_default());
                }
                "back"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let verifier = "a-verifier-of-at-least-forty-three-characters-long-0123456789";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()));
    let mut url = url::Url::parse(&format!("{}/authorize", identity.url)).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "uma-wallet")
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", "adviser_credential")
        .append_pair("state", "s")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let page = identity_service::person::start(url.as_str(), email).await.unwrap();
    page.enter(&identity.latest_code_for(email).unwrap()).await.unwrap();
    let code = received.await.unwrap();
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{}/token", identity.url))
        .form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", &redirect_uri), ("client_id", "uma-wallet"), ("code_verifier", verifier)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let nonce: Value = http.post(format!("{}/nonce", identity.url)).send().await.unwrap().json().await.unwrap();
    let proof = holder.sign_with_header(
        &json!({ "typ": "openid4vci-proof+jwt", "jwk": holder.public_jwk() }),
        &json!({ "aud": identity.url, "iat": now(), "nonce": nonce["c_nonce"] }),
    );
    let response = http
        .post(format!("{}/credential", identity.url))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .json(&json!({ "credential_configuration_id": "AdviserCredential", "proofs": { "jwt": [proof] } }))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn an_authorised_adviser_collects_a_regulator_signed_credential_and_no_one_else_does() {
    let identity = start_identity_service().await;
    let holder = SigningKey::generate();
    let (status, answer) = collect(&identity, "bob@adviser.example", &holder).await;
    assert_eq!(status, 200, "{answer}");
    let credential = answer["credentials"][0]["credential"].as_str().unwrap();

    // The regulator's keys, where RFC 8615 puts them for `{url}/regulator`.
    let regulator = identity.regulator_url();
    let at = http_guard::outbound::well_known(&regulator, "jwt-vc-issuer").unwrap();
    let metadata: Value = reqwest::get(at).await.unwrap().json().await.unwrap();
    assert_eq!(metadata["issuer"], regulator.as_str());
    let verified = sd_jwt_vc::verify_credential(credential, &metadata["jwks"], now()).expect("signed by the regulator");
    assert_eq!(verified.issuer, regulator);
    assert_eq!(verified.vct, sd_jwt_vc::ADVISER_VCT);
    assert_eq!(verified.claims["firm"], "Sound Advice LLP");
    assert!(sd_jwt_vc::same_key(&verified.holder_key, &holder.public_jwk()));
    // Not under the identity service's own keys.
    assert!(sd_jwt_vc::verify_credential(credential, &identity.key.public_jwks(), now()).is_err());

    // Alice is a person, not an adviser: the regulator vouches for nothing.
    let (status, answer) = collect(&identity, "alice@example.com", &holder).await;
    assert_eq!((status, answer["error"].as_str()), (400, Some("credential_request_denied")), "{answer}");
}

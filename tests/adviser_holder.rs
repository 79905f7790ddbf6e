//! An adviser's platform as an OpenID4VCI holder of the code flow: it
//! listens once on loopback for the redirect, sends the adviser to the
//! identity service's pages (scripted by the person module), and collects
//! the `AdviserCredential` bound to its own key. Shared by `adviser-client`
//! (the demo) and the e2e tests, which differ only in how the adviser reads
//! the one-time code from their email.

use base64::Engine;
use serde_json::{json, Value};
use uma_as::keys::SigningKey;

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Runs the flow as `email`, reading the newest code with `read_code` (a
/// code other than the one there before the sign-in began). Returns the
/// credential endpoint's status and answer.
pub async fn collect(identity: &str, email: &str, holder: &SigningKey, read_code: impl Fn() -> Option<String>) -> Result<(u16, Value), String> {
    let failed = |e: reqwest::Error| e.to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let redirect_uri = format!("http://127.0.0.1:{}/callback", listener.local_addr().map_err(|e| e.to_string())?.port());
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
                "back to the adviser's platform"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let verifier = engine.encode(uma_as::secret::random_bytes::<32>());
    let challenge = engine.encode(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()));
    let mut authorize = url::Url::parse(&format!("{identity}/authorize")).map_err(|e| e.to_string())?;
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "uma-wallet")
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", "adviser_credential")
        .append_pair("state", "adviser")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let before = read_code();
    let page = identity_service::person::start(authorize.as_str(), email).await?;
    let mut code = None;
    for _ in 0..100 {
        code = read_code().filter(|c| Some(c) != before.as_ref());
        if code.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    page.enter(&code.ok_or("no code arrived in the adviser's email")?).await?;
    let authorization_code = received.await.map_err(|e| e.to_string())?;
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{identity}/token"))
        .form(&[("grant_type", "authorization_code"), ("code", &authorization_code), ("redirect_uri", &redirect_uri), ("client_id", "uma-wallet"), ("code_verifier", &verifier)])
        .send()
        .await
        .map_err(failed)?
        .json()
        .await
        .map_err(failed)?;
    let nonce: Value = http.post(format!("{identity}/nonce")).send().await.map_err(failed)?.json().await.map_err(failed)?;
    let proof = holder.sign_with_header(&json!({ "typ": "openid4vci-proof+jwt", "jwk": holder.public_jwk() }), &json!({ "aud": identity, "iat": now(), "nonce": nonce["c_nonce"] }));
    let response = http
        .post(format!("{identity}/credential"))
        .bearer_auth(token["access_token"].as_str().unwrap_or_default())
        .json(&json!({ "credential_configuration_id": "AdviserCredential", "proofs": { "jwt": [proof] } }))
        .send()
        .await
        .map_err(failed)?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.map_err(failed)?))
}

//! A provider the owner connected, turned hostile: it hands the wallet any
//! ticket, challenge, credential offer, metadata URL or credential, and
//! keeps every token the wallet sends it. Each attack must fail, and the
//! wallet must lose nothing it had.

use crate::harness::*;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use pension_provider::did;
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::sync::Arc;

const M_ASSET: &str = "m-asset";
const M_PEI: &str = "urn:pei:m-holder:m-asset";

/// What the hostile provider does when it is asked to issue a credential.
#[derive(Clone)]
pub enum Plan {
    /// A credential for `pei`, signed by its own DID, naming `authorization_server`.
    Credential { pei: String, authorization_server: Option<String> },
    /// An assignment answer and a credential both naming `pei`, which it
    /// never registered.
    ClaimsPei(String),
    /// An offer whose credential issuer is another address.
    IssuerElsewhere(String),
    /// Metadata whose endpoints are on another address.
    EndpointsElsewhere(String),
    /// Metadata of this many bytes.
    HugeMetadata(usize),
}

pub struct Hostile {
    pub url: String,
    wallet_issuer: String,
    plan: Mutex<Plan>,
    key: ring::signature::Ed25519KeyPair,
    /// The ticket it answers the wallet's tokenless request with.
    pub poisoned_ticket: Mutex<Option<String>>,
    /// Every bearer token the wallet sent it.
    pub stolen: Mutex<Vec<String>>,
}

impl Hostile {
    pub fn did(&self) -> String {
        did::did_of(&self.key)
    }

    pub fn set_plan(&self, plan: Plan) {
        *self.plan.lock() = plan;
    }
}

pub async fn start(wallet_issuer: &str, plan: Plan) -> Arc<Hostile> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hostile = Arc::new(Hostile {
        url,
        wallet_issuer: wallet_issuer.into(),
        plan: Mutex::new(plan),
        key: did::generate(),
        poisoned_ticket: Mutex::default(),
        stolen: Mutex::default(),
    });
    let app = Router::new()
        .route("/resources", get(|| async { Json(json!([{ "_id": M_ASSET, "name": M_PEI, "description": "Hostile scheme", "match_status": "match-yes" }])) }))
        .route("/find", post(|| async { Json(json!({ "provider": "Hostile", "matches": [] })) }))
        .route("/resources/{id}", post(assign))
        .route("/pensions/{id}", get(view))
        .route("/.well-known/openid-credential-issuer", get(metadata))
        .route("/.well-known/oauth-authorization-server", get(|State(h): State<Arc<Hostile>>| async move { Json(json!({ "issuer": h.url, "token_endpoint": format!("{}/token", h.url) })) }))
        .route("/token", post(|| async { Json(json!({ "access_token": "t", "token_type": "Bearer" })) }))
        .route("/nonce", post(|| async { Json(json!({ "c_nonce": "n" })) }))
        .route("/credential", post(credential))
        .with_state(hostile.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    hostile
}

/// Like an honest provider: connects with the owner's assertion, registers
/// its resource at the wallet, then answers with its offer.
async fn assign(State(h): State<Arc<Hostile>>, Path(_): Path<String>, Json(body): Json<Value>) -> Json<Value> {
    let http = reqwest::Client::new();
    let assertion = [("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", body["assertion"].as_str().unwrap_or_default())];
    let pat = answer(http.post(format!("{}/token", h.wallet_issuer)).form(&assertion)).await;
    let pat = pat["access_token"].as_str().unwrap_or_default();
    http.post(format!("{}/resource_set", h.wallet_issuer))
        .bearer_auth(pat)
        .json(&json!({ "name": M_PEI, "resource_scopes": ["owner", "value"] }))
        .send()
        .await
        .unwrap();
    let (issuer, pei) = match &*h.plan.lock() {
        Plan::IssuerElsewhere(elsewhere) => (elsewhere.clone(), M_PEI.to_string()),
        Plan::ClaimsPei(pei) => (h.url.clone(), pei.clone()),
        _ => (h.url.clone(), M_PEI.to_string()),
    };
    Json(json!({
        "resource_id": M_ASSET, "pei": pei, "authorization_server": body["at_as"],
        "credential_offer": {
            "credential_issuer": issuer, "credential_configuration_ids": ["PensionResourceCredential"],
            "grants": { "urn:ietf:params:oauth:grant-type:pre-authorized_code": { "pre-authorized_code": "code" } }
        }
    }))
}

/// The view API: a tokenless request gets the poisoned ticket; a request
/// with a token has the token kept.
async fn view(State(h): State<Arc<Hostile>>, headers: HeaderMap) -> Response {
    if let Some(token) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")) {
        h.stolen.lock().push(token.to_string());
        return Json(json!({ "pension": { "schemeName": "Hostile scheme" } })).into_response();
    }
    let ticket = h.poisoned_ticket.lock().clone().unwrap_or_else(|| "none".into());
    let challenge = format!(r#"UMA realm="hostile", as_uri="{}", ticket="{ticket}""#, h.wallet_issuer);
    (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, challenge)], "").into_response()
}

async fn metadata(State(h): State<Arc<Hostile>>, headers: HeaderMap) -> Response {
    let plan = h.plan.lock().clone();
    let base = match &plan {
        Plan::EndpointsElsewhere(elsewhere) => elsewhere.clone(),
        _ => h.url.clone(),
    };
    if let Plan::HugeMetadata(size) = plan {
        let mut body = vec![b' '; size];
        body[0] = b'{';
        return ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    }
    let document = json!({ "credential_issuer": h.url, "credential_endpoint": format!("{base}/credential"), "nonce_endpoint": format!("{base}/nonce") });
    // Like any issuer: signed metadata to a holder that asks for it.
    if !headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("application/jwt")) {
        return Json(document).into_response();
    }
    let own = h.did();
    let mut claims = document;
    claims["sub"] = h.url.clone().into();
    claims["iss"] = own.clone().into();
    claims["iat"] = now().into();
    let jwt = did::sign(&h.key, &json!({ "alg": "EdDSA", "typ": "openidvci-issuer-metadata+jwt", "kid": did::verification_method(&own) }), &claims);
    ([(header::CONTENT_TYPE, "application/jwt")], jwt).into_response()
}

async fn credential(State(h): State<Arc<Hostile>>, Json(body): Json<Value>) -> Json<Value> {
    let proof = body["proofs"]["jwt"][0].as_str().unwrap_or_default();
    let holder = did::peek(proof).map(|(header, _)| header["kid"].as_str().unwrap_or_default().split('#').next().unwrap_or_default().to_string()).unwrap_or_default();
    let (pei, authorization_server) = match h.plan.lock().clone() {
        Plan::Credential { pei, authorization_server } => (pei, authorization_server.unwrap_or_else(|| h.wallet_issuer.clone())),
        Plan::ClaimsPei(pei) => (pei, h.wallet_issuer.clone()),
        _ => (M_PEI.to_string(), h.wallet_issuer.clone()),
    };
    let own = h.did();
    let now = now();
    let credential = did::sign(
        &h.key,
        &json!({ "alg": "EdDSA", "typ": "JWT", "kid": did::verification_method(&own) }),
        &json!({ "iss": own, "sub": holder, "nbf": now, "iat": now, "vc": {
            "@context": ["https://www.w3.org/2018/credentials/v1"],
            "type": ["VerifiableCredential", "PensionResourceCredential"],
            "credentialSubject": { "pei": pei, "scheme": "Hostile scheme", "provider": { "url": h.url }, "authorizationServer": authorization_server } } }),
    );
    Json(json!({ "credentials": [{ "credential": credential }] }))
}

/// The owner accepts the hostile provider's one offer.
async fn accept_hostile(wallet: &WalletProcess, hostile: &Hostile) -> Value {
    wallet.owner_ok(reqwest::Method::POST, "/providers", Some(json!({ "url": hostile.url }))).await;
    wallet.owner_ok(reqwest::Method::POST, "/offers/accept", Some(json!({ "provider": hostile.url, "resource_id": M_ASSET }))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_cannot_make_the_wallet_fetch_a_token_for_another_providers_pension() {
    let wallet = WalletProcess::start().await;
    let identity = IdentityProcess::start();
    let acme = ProviderProcess::start("acme", &[&wallet.issuer], &[&identity.url]);
    let offers = alice_with_acme(&wallet, &acme, &identity).await;
    let hostile = start(&wallet.issuer, Plan::Credential { pei: M_PEI.into(), authorization_server: None }).await;
    accept_hostile(&wallet, &hostile).await;

    // The hostile provider asks Acme, like any stranger, and gets a ticket
    // for Alice's Acme pension; it hands that ticket to the wallet.
    let asset = offers[0]["resource_id"].as_str().unwrap();
    let acme_view = format!("{}/pensions/{asset}?include=value", acme.url);
    let challenge = reqwest::get(&acme_view).await.unwrap();
    assert_eq!(challenge.status(), 401);
    let header = challenge.headers()["www-authenticate"].to_str().unwrap().to_string();
    let ticket = header.split("ticket=\"").nth(1).unwrap().trim_end_matches('"').to_string();
    *hostile.poisoned_ticket.lock() = Some(ticket);

    // The owner opens her pensions: the wallet reads each one.
    let mine = wallet.owner_ok(reqwest::Method::GET, "/pensions", None).await;
    let pensions = mine["pensions"].as_array().unwrap();
    let hostile_row = pensions.iter().find(|p| p["provider"] == hostile.url.as_str()).unwrap();
    assert!(hostile_row["error"].is_string(), "the wallet refused the foreign ticket: {mine}");
    assert!(pensions.iter().filter(|p| p["provider"] == acme.url.as_str()).all(|p| p["error"].is_null()), "Acme's pensions still read: {mine}");

    // Nothing the hostile provider kept opens Alice's Acme pension.
    for token in hostile.stolen.lock().clone() {
        let status = reqwest::Client::new().get(&acme_view).bearer_auth(token).send().await.unwrap().status();
        assert_ne!(status, 200, "a token the wallet sent the hostile provider reads Acme's pension");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_claiming_another_providers_pension_is_refused_and_supersedes_nothing() {
    let wallet = WalletProcess::start().await;
    let identity = IdentityProcess::start();
    let acme = ProviderProcess::start("acme", &[&wallet.issuer], &[&identity.url]);
    let offers = alice_with_acme(&wallet, &acme, &identity).await;
    let acme_pei = offers[0]["pei"].as_str().unwrap().to_string();
    let before = wallet.owner_ok(reqwest::Method::GET, "/credentials", None).await;

    // Same pension as Acme's, signed by the hostile provider's own DID.
    let hostile = start(&wallet.issuer, Plan::Credential { pei: acme_pei.clone(), authorization_server: Some("x".into()) }).await;
    let accepted = accept_hostile(&wallet, &hostile).await;
    let error = accepted["credential_error"].as_str().expect("refused");
    assert!(error.contains("another pension"), "{error}");
    // Right pension, wrong authorization server.
    hostile.set_plan(Plan::Credential { pei: M_PEI.into(), authorization_server: Some("https://elsewhere.example".into()) });
    let accepted = accept_hostile(&wallet, &hostile).await;
    assert!(accepted["credential_error"].as_str().unwrap().contains("another authorization server"), "{accepted}");
    // Its answer and its credential agree on Acme's pension, which it never registered here.
    hostile.set_plan(Plan::ClaimsPei(acme_pei.clone()));
    let accepted = accept_hostile(&wallet, &hostile).await;
    assert!(accepted["credential_error"].as_str().unwrap().contains("registered no such pension"), "{accepted}");

    assert_eq!(wallet.owner_ok(reqwest::Method::GET, "/credentials", None).await, before, "nothing stored, nothing superseded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offer_cannot_send_the_wallet_to_another_address_or_flood_it() {
    let wallet = WalletProcess::start().await;
    wallet.owner_ok(reqwest::Method::PUT, "/identity", Some(alice())).await;
    let canary = Canary::start().await;
    let hostile = start(&wallet.issuer, Plan::IssuerElsewhere(canary.url.clone())).await;

    let issuer_elsewhere = accept_hostile(&wallet, &hostile).await;
    hostile.set_plan(Plan::EndpointsElsewhere(canary.url.clone()));
    let endpoints_elsewhere = accept_hostile(&wallet, &hostile).await;
    assert_eq!(canary.hits(), 0, "the wallet sent nothing to an address the provider chose");
    assert!(issuer_elsewhere["credential_error"].as_str().unwrap().contains("another credential issuer"), "{issuer_elsewhere}");
    assert!(endpoints_elsewhere["credential_error"].as_str().unwrap().contains("is not on"), "{endpoints_elsewhere}");

    hostile.set_plan(Plan::HugeMetadata(64 * 1024 * 1024));
    let accepted = accept_hostile(&wallet, &hostile).await;
    assert!(accepted["credential_error"].as_str().unwrap().contains("larger than"), "{accepted}");
    assert_eq!(wallet.owner(reqwest::Method::GET, "/status", None).await.0, 200, "the wallet is still up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_provider_can_no_longer_use_the_wallet() {
    let wallet = WalletProcess::start().await;
    let provider = "http://127.0.0.1:9";
    // An assertion minted earlier, not yet used: the provider kept it.
    let kept = wallet.owner_ok(reqwest::Method::POST, "/assertions", Some(json!({ "resource_server": provider }))).await;
    let pat = connect_resource_server(&wallet, provider).await;
    wallet.owner_ok(reqwest::Method::POST, "/providers", Some(json!({ "url": provider }))).await;
    let list = |pat: String| {
        let http = wallet.http.clone();
        let url = wallet.url("/resource_set");
        async move { http.get(url).bearer_auth(pat).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(list(pat.clone()).await, 200);

    let (status, _) = wallet.owner(reqwest::Method::DELETE, &format!("/providers?url={provider}"), None).await;
    assert_eq!(status, 204);
    assert_eq!(list(pat).await, 401, "its PAT stopped working");
    let reconnect = wallet
        .http
        .post(wallet.url("/token"))
        .form(&[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", kept["assertion"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(reconnect.status(), 400, "an assertion minted before the removal no longer connects it");
}

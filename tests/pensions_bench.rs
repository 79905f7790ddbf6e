//! `cargo run --release -p e2e --bin pensions-bench`: how long find with
//! proof takes across many providers (it should take the slowest
//! provider's time plus a small constant, since the wallet asks them all at
//! once, each with a nonce request and a presentation of its own), how many
//! identity presentations per second a provider verifies against a plain
//! find token, and how many credentials per second the wallet verifies
//! with ssi.

use pension_provider::{did, fixtures::Catalogue, http, Provider};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wallet::serve::{self, ServeOptions};
use wallet::{Clock, KdfParams, Wallet};

const PROVIDERS: usize = 20;
const SLOWEST_MS: u64 = 400;
const ROUNDS: usize = 10;
const CREDENTIALS: usize = 2000;

const PRESENTATIONS: usize = 2000;

async fn provider(issuer: &str, identity_issuer: &str, delay: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let mut provider = Provider::new(url.clone(), Catalogue::load("acme").expect("fixture"), vec![issuer.into()], vec![identity_issuer.into()]);
    provider.find_delay = delay;
    let provider = Arc::new(provider);
    tokio::spawn(async move { axum::serve(listener, http::router(provider)).await });
    url
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    Wallet::init(dir.path(), "bench passphrase", KdfParams::default()).expect("init");
    let bound = serve::bind(ServeOptions::on_loopback(dir.path(), "bench passphrase", Clock::System)).await.expect("bind");
    let ready = bound.ready.clone();
    tokio::spawn(bound.run(std::future::pending()));
    let token = std::fs::read_to_string(dir.path().join(wallet::OWNER_TOKEN_FILE)).expect("token").trim().to_string();
    let http = reqwest::Client::new();
    let owner = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut request = http.request(method, format!("{}{}", ready.owner_api, path)).bearer_auth(&token);
        if let Some(b) = body {
            request = request.json(&b);
        }
        request.send()
    };
    // Alice proves who she is at the identity service, as she would.
    let identity = identity_service::spawn_local().await;
    let started: Value = owner(reqwest::Method::POST, "/identity/credential", Some(json!({ "issuer": identity.url }))).await.expect("sign-in").json().await.expect("json");
    let page = identity_service::person::start(started["authorize_url"].as_str().expect("a page"), "alice@example.com").await.expect("sign-in page");
    page.enter(&identity.latest_code_for("alice@example.com").expect("a code")).await.expect("code accepted");
    loop {
        let status: Value = owner(reqwest::Method::GET, "/identity/credential", None).await.expect("status").json().await.expect("json");
        match status["sign_in"]["state"].as_str() {
            Some("finished") => break,
            Some("failed") => panic!("sign-in failed: {status}"),
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }

    let mut report = Vec::new();
    for (label, slowest) in [("all answer at once", 0), ("delays spread up to the slowest", SLOWEST_MS)] {
        let before: Vec<Value> = owner(reqwest::Method::GET, "/providers", None).await.expect("providers").json().await.expect("json");
        for p in before {
            let url = p["url"].as_str().unwrap_or_default().to_string();
            owner(reqwest::Method::DELETE, &format!("/providers?url={url}"), None).await.expect("remove");
        }
        for i in 0..PROVIDERS {
            // Provider i waits slowest·(i+1)/N: the last one is the slowest.
            let delay = Duration::from_millis(slowest * (i as u64 + 1) / PROVIDERS as u64);
            let url = provider(&ready.issuer, &identity.url, delay).await;
            owner(reqwest::Method::POST, "/providers", Some(json!({ "url": url }))).await.expect("add");
        }
        let mut times = Vec::new();
        for _ in 0..ROUNDS {
            let start = Instant::now();
            let results: Value = owner(reqwest::Method::POST, "/find", None).await.expect("find").json().await.expect("json");
            times.push(start.elapsed().as_secs_f64() * 1000.0);
            let matched = results.as_array().map_or(0, |r| r.iter().filter(|p| p["outcome"] == "matched").count());
            assert_eq!(matched, PROVIDERS, "every provider should match: {results}");
        }
        let med = median(times.clone());
        report.push(format!(
            "| find with proof across {PROVIDERS} providers, {label} | slowest {slowest} ms | median {med:.1} ms, min {:.1}, max {:.1} | {:.1} ms above the slowest |",
            times.iter().cloned().fold(f64::MAX, f64::min),
            times.iter().cloned().fold(0.0, f64::max),
            med - slowest as f64,
        ));
    }

    // What a provider checks per find: the find token's signature alone
    // (before), and the identity presentation in it (now).
    let holder = uma_as::keys::SigningKey::generate();
    let audience = "https://provider.example";
    let credential = identity.issue_to(identity.person("alice@example.com").expect("Alice"), &holder.public_jwk()).expect("issued");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    let presentation = sd_jwt_vc::present(&credential, &wallet::identity_credential::FIND_DISCLOSURES, audience, "n", now, |claims| {
        holder.sign_typed(uma_as::keys::TokenType::KeyBinding, claims)
    })
    .expect("presented");
    let keys = identity.key.public_jwks();
    sd_jwt_vc::verify_presentation(&presentation, &keys, audience, now).expect("the benchmark presentation verifies");
    let start = Instant::now();
    for _ in 0..PRESENTATIONS {
        sd_jwt_vc::verify_presentation(&presentation, &keys, audience, now).expect("verifies");
    }
    let elapsed = start.elapsed().as_secs_f64();
    report.push(format!(
        "| identity presentation verification (SD-JWT VC, 5 disclosures + key binding, one thread) | {PRESENTATIONS} presentations | {:.0} per second | {:.1} µs each |",
        PRESENTATIONS as f64 / elapsed,
        elapsed * 1e6 / PRESENTATIONS as f64
    ));
    let find_token = holder.sign_typed(uma_as::keys::TokenType::FindToken, &json!({ "iss": "w", "aud": audience, "iat": now, "exp": now + 300, "jti": "j", "find_data": {} }));
    let start = Instant::now();
    for _ in 0..PRESENTATIONS {
        holder.verify_typed::<Value>(uma_as::keys::TokenType::FindToken, &find_token).expect("verifies");
    }
    let elapsed = start.elapsed().as_secs_f64();
    report.push(format!(
        "| plain find token verification (EdDSA JWT, one thread) | {PRESENTATIONS} tokens | {:.0} per second | {:.1} µs each |",
        PRESENTATIONS as f64 / elapsed,
        elapsed * 1e6 / PRESENTATIONS as f64
    ));

    // An access grant credential, as an independent verifier checks its
    // signature and validity (the status list is one fetch per list, not
    // per credential, so it is left out here).
    let wallet_key = uma_as::keys::SigningKey::generate();
    let access_grant = wallet_key.sign_with_header(
        &json!({ "typ": "vc+jwt", "cty": "vc", "kid": wallet_key.did_key_url() }),
        &json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": "urn:uma-wallet:grant:bench",
            "type": ["VerifiableCredential", uma_as::access_grant::CREDENTIAL_TYPE],
            "issuer": wallet_key.did_key(),
            "validFrom": uma_as::access_grant::rfc3339(now - 60),
            "validUntil": uma_as::access_grant::rfc3339(now + 86_400),
            "credentialSubject": {
                "id": "http://127.0.0.1:7420/clients/bench",
                "client": { "clientId": "bench", "name": "Adviser platform" },
                "resource": { "name": "urn:pei:a:b", "resourceServer": "http://127.0.0.1:8101" },
                "scopes": ["owner"],
                "authorizationServer": "http://127.0.0.1:7420",
            },
        }),
    );
    verifier::verify_signed(&access_grant).await.expect("the benchmark access grant credential verifies");
    let start = Instant::now();
    for _ in 0..CREDENTIALS {
        verifier::verify_signed(&access_grant).await.expect("verifies");
    }
    let elapsed = start.elapsed().as_secs_f64();
    report.push(format!(
        "| access grant credential verification (ssi, VC-JOSE, did:key, one task) | {CREDENTIALS} credentials | {:.0} per second | {:.1} µs each |",
        CREDENTIALS as f64 / elapsed,
        elapsed * 1e6 / CREDENTIALS as f64
    ));

    // Credential verification: the same JWT-VC form the provider issues.
    let issuer = did::generate();
    let issuer_did = did::did_of(&issuer);
    let holder = did::did_of(&did::generate());
    let jwt = did::sign(
        &issuer,
        &json!({ "alg": "EdDSA", "typ": "JWT", "kid": did::verification_method(&issuer_did) }),
        &json!({ "iss": issuer_did, "sub": holder, "nbf": now, "iat": now, "jti": "urn:uuid:00000000-0000-4000-8000-000000000000", "vc": {
            "@context": ["https://www.w3.org/2018/credentials/v1"], "type": ["VerifiableCredential", "PensionResourceCredential"],
            "credentialSubject": { "pei": "urn:pei:a:b", "scheme": "Acme", "authorizationServer": ready.issuer } } }),
    );
    wallet::vc::verify_jwt_vc(&jwt).await.expect("the benchmark credential verifies");
    let start = Instant::now();
    for _ in 0..CREDENTIALS {
        wallet::vc::verify_jwt_vc(&jwt).await.expect("verifies");
    }
    let elapsed = start.elapsed().as_secs_f64();
    report.push(format!(
        "| credential verification (ssi, JWT-VC, did:key, one task) | {CREDENTIALS} credentials | {:.0} per second | {:.1} µs each |",
        CREDENTIALS as f64 / elapsed,
        elapsed * 1e6 / CREDENTIALS as f64
    ));
    println!("| measurement | setting | result | note |\n| --- | --- | --- | --- |");
    for line in report {
        println!("{line}");
    }
}

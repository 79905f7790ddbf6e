//! `adviser-client`: an adviser's platform, for the demo. It holds its own
//! key, collects the adviser's credential from the regulator (signing in
//! as the adviser at the identity service's pages, with the one-time code
//! read from the adviser's mailbox file), asks a provider for a pension,
//! presents the credential to the owner's wallet for that very request,
//! reads what it was let see, and keeps the access grant credential the
//! wallet issues. Prints one JSON line; the credential goes to `--grant-out`.

use base64::Engine;
use serde_json::{json, Value};
use std::path::PathBuf;
use uma_as::keys::{SigningKey, TokenType};

struct Args {
    identity: String,
    email: String,
    mailbox: PathBuf,
    view: String,
    grant_out: PathBuf,
}

fn args() -> Result<Args, String> {
    let mut found = std::collections::HashMap::new();
    let mut it = std::env::args().skip(1);
    while let Some(name) = it.next() {
        let value = it.next().ok_or_else(|| format!("{name} needs a value"))?;
        found.insert(name, value);
    }
    let mut take = |name: &str| found.remove(name).ok_or_else(|| format!("{name} is required"));
    Ok(Args { identity: take("--identity")?, email: take("--email")?, mailbox: take("--mailbox")?.into(), view: take("--view")?, grant_out: take("--grant-out")?.into() })
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// The newest one-time code in the mailbox file for `email`.
fn code_in(mailbox: &PathBuf, email: &str) -> Option<String> {
    let text = std::fs::read_to_string(mailbox).ok()?;
    text.lines().rev().filter_map(|l| serde_json::from_str::<Value>(l).ok()).find(|m| m["event"] == "one_time_code" && m["to"] == email).and_then(|m| m["code"].as_str().map(String::from))
}

async fn run(args: Args) -> Result<Value, String> {
    let http = reqwest::Client::new();
    let holder = SigningKey::generate();
    let fail = |e: reqwest::Error| e.to_string();

    // The code flow, with the browser's part scripted by the person module.
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
    let verifier = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(uma_as::secret::random_bytes::<32>());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()));
    let mut authorize = url::Url::parse(&format!("{}/authorize", args.identity)).map_err(|e| e.to_string())?;
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "uma-wallet")
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", "adviser_credential")
        .append_pair("state", "adviser")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let before = code_in(&args.mailbox, &args.email);
    let page = identity_service::person::start(authorize.as_str(), &args.email).await?;
    let mut code = None;
    for _ in 0..100 {
        code = code_in(&args.mailbox, &args.email).filter(|c| Some(c) != before.as_ref());
        if code.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    page.enter(&code.ok_or("no code arrived in the mailbox")?).await?;
    let authorization_code = received.await.map_err(|e| e.to_string())?;
    let token: Value = http
        .post(format!("{}/token", args.identity))
        .form(&[("grant_type", "authorization_code"), ("code", &authorization_code), ("redirect_uri", &redirect_uri), ("client_id", "uma-wallet"), ("code_verifier", &verifier)])
        .send()
        .await
        .map_err(fail)?
        .json()
        .await
        .map_err(fail)?;
    let nonce: Value = http.post(format!("{}/nonce", args.identity)).send().await.map_err(fail)?.json().await.map_err(fail)?;
    let proof = holder.sign_with_header(&json!({ "typ": "openid4vci-proof+jwt", "jwk": holder.public_jwk() }), &json!({ "aud": args.identity, "iat": now(), "nonce": nonce["c_nonce"] }));
    let issued: Value = http
        .post(format!("{}/credential", args.identity))
        .bearer_auth(token["access_token"].as_str().unwrap_or_default())
        .json(&json!({ "credential_configuration_id": "AdviserCredential", "proofs": { "jwt": [proof] } }))
        .send()
        .await
        .map_err(fail)?
        .json()
        .await
        .map_err(fail)?;
    let credential = issued["credentials"][0]["credential"].as_str().ok_or_else(|| format!("no adviser credential: {issued}"))?.to_string();

    // Ask the provider; present the credential to the wallet for this request.
    let challenge = http.get(&args.view).send().await.map_err(fail)?;
    let header = challenge.headers().get("www-authenticate").and_then(|h| h.to_str().ok()).unwrap_or_default().to_string();
    let part = |name: &str| header.split(&format!("{name}=\"")).nth(1).and_then(|t| t.split('"').next()).map(String::from);
    let (Some(wallet), Some(ticket)) = (part("as_uri"), part("ticket")) else { return Err(format!("no UMA challenge: {header}")) };
    let client: Value = http.post(format!("{wallet}/register")).json(&json!({ "client_name": "Sound Advice (adviser platform)" })).send().await.map_err(fail)?.json().await.map_err(fail)?;
    let (id, secret) = (client["client_id"].as_str().unwrap_or_default().to_string(), client["client_secret"].as_str().unwrap_or_default().to_string());
    let presentation = sd_jwt_vc::present(&credential, &["/given_name", "/family_name", "/firm"], &wallet, &ticket, now(), |c| holder.sign_typed(TokenType::KeyBinding, c))
        .map_err(|e| e.to_string())?;
    let answer: Value = http
        .post(format!("{wallet}/token"))
        .basic_auth(&id, Some(&secret))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:uma-ticket"),
            ("ticket", ticket.as_str()),
            ("claim_token", presentation.as_str()),
            ("claim_token_format", uma_as::claims::PRESENTATION_FORMAT),
        ])
        .send()
        .await
        .map_err(fail)?
        .json()
        .await
        .map_err(fail)?;
    let rpt = answer["access_token"].as_str().ok_or_else(|| format!("the wallet did not let the adviser in: {answer}"))?.to_string();
    let pension: Value = http.get(&args.view).bearer_auth(&rpt).send().await.map_err(fail)?.json().await.map_err(fail)?;
    let held: Value = http.post(format!("{wallet}/access-grants")).basic_auth(&id, Some(&secret)).form(&[("rpt", rpt.as_str())]).send().await.map_err(fail)?.json().await.map_err(fail)?;
    let grant = held["credentials"][0]["credential"].as_str().ok_or_else(|| format!("no access grant credential: {held}"))?;
    std::fs::write(&args.grant_out, grant).map_err(|e| e.to_string())?;
    Ok(json!({ "scopes": pension["scopes"], "scheme": pension["pension"]["schemeName"], "values": pension["pension"]["benefitIllustrations"].is_array() }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let result = match args() {
        Ok(args) => run(args).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(summary) => {
            println!("{summary}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

//! `adviser-client`: an adviser's platform, for the demo. It holds its own
//! key, collects the adviser's credential from the regulator (signing in
//! as the adviser at the identity service's pages, with the one-time code
//! read from the adviser's mailbox file), asks a provider for a pension,
//! presents the credential to the owner's wallet for that very request,
//! reads what it was let see, and keeps the access grant credential the
//! wallet issues. Prints one JSON line; the credential goes to `--grant-out`.

#[path = "adviser_holder.rs"]
mod adviser_holder;

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

    let (_, issued) = adviser_holder::collect(&args.identity, &args.email, &holder, || code_in(&args.mailbox, &args.email)).await?;
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

//! The desktop app end to end, in a real window: the app built by cargo,
//! started by tauri-driver in WebKitWebDriver, driven over W3C WebDriver
//! against two reference pension providers and a scripted client, all on
//! loopback. It needs an X display (Xvfb), a session bus, `tauri-driver` and
//! `WebKitWebDriver`: `scripts/test.sh` provides them and runs it with
//! `--ignored`. Screenshots of each screen go to `target/e2e-screenshots/`.

mod support;

use serde_json::{json, Value};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Xvfb, a session bus, tauri-driver and WebKitWebDriver: run by scripts/test.sh"]
async fn owner_creates_finds_accepts_and_approves_in_the_real_app() {
    let mut scene = Scene::launch(env!("CARGO_BIN_EXE_uma-wallet-desktop")).await;
    scene.create_wallet().await;
    let discovered: Value = reqwest::get(format!("{}/.well-known/uma2-configuration", scene.issuer)).await.unwrap().json().await.unwrap();
    assert_eq!(discovered["issuer"], scene.issuer, "the app's authorization server answers");
    scene.add_providers().await;
    scene.find_and_accept_all().await;
    let ui = &mut scene.ui;

    ui.open("pensions").await;
    ui.wait_for_count("[data-testid=pension-card]", 3).await;
    ui.wait_for("[data-testid=income-chart]").await;
    let total = ui.text("[data-testid=pensions-total]").await;
    assert!(total.contains("£") || total.chars().any(|c| c.is_ascii_digit()), "totals shown: {total}");
    ui.screenshot("pensions").await;

    ui.open("credentials").await;
    ui.wait_for_count("[data-testid=credential-row]", 3).await;
    ui.screenshot("credentials").await;

    // A dashboard asks for the Acme DB pension with its values; the wallet files a request.
    let (client_id, secret, polling, asked_at) = scene.client_asks("Family dashboard").await;
    let ui = &mut scene.ui;

    // The badge shows it without the owner doing anything.
    let badge = ui.wait_for("[data-testid=requests-badge]").await;
    let shown_after = asked_at.elapsed();
    assert_eq!(badge.text().await.unwrap().trim(), "1");
    eprintln!("inbox badge appeared {} ms after the token request", shown_after.as_millis());

    ui.open("requests").await;
    let card = ui.wait_for("[data-testid=request-card]").await;
    let text = card.text().await.unwrap();
    assert!(text.contains("Family dashboard"), "who asks: {text}");
    assert!(text.contains("Acme Staff Defined Benefit Scheme"), "for which pension: {text}");
    ui.screenshot("requests").await;
    ui.click("[data-testid=request-card] [data-testid=approve-request]").await;
    ui.wait_for("[data-testid=requests-empty]").await;

    // The dashboard's next poll gets its token, and the provider serves the values.
    let answer = scene.poll(&client_id, &secret, &polling).await;
    let rpt = answer["access_token"].as_str().unwrap_or_else(|| panic!("the client gets its token: {answer}"));
    let view = format!("{}/pensions/{ACME_DB_ASSET}?include=value", scene.acme);
    let pension = scene.http.get(&view).bearer_auth(rpt).send().await.unwrap();
    assert_eq!(pension.status(), 200);
    let pension: Value = pension.json().await.unwrap();
    assert_eq!(pension["pension"]["schemeName"], "Acme Staff Defined Benefit Scheme");

    // The dashboard can hold a credential of what it was granted.
    let held: Value = scene.http.post(format!("{}/access-grants", scene.issuer)).basic_auth(&client_id, Some(&secret)).form(&[("rpt", rpt)]).send().await.unwrap().json().await.unwrap();
    assert!(held["credentials"][0]["credential"].is_string(), "an access grant credential: {held}");

    let ui = &mut scene.ui;
    ui.open("sharing").await;
    // Alice keeps a receipt of her approval.
    let receipt = ui.text("[data-testid=receipt]").await;
    assert!(receipt.contains("Family dashboard") && receipt.contains("In force"), "the receipt: {receipt}");
    ui.screenshot("sharing").await;
    // An adviser: the official list names the regulator (imported through
    // the owner API the app serves), Alice makes the rule in the app, and
    // Bob's platform proves his status for its request.
    let server: Value = serde_json::from_str(&std::fs::read_to_string(scene.data_dir.join("server.json")).unwrap()).unwrap();
    let owner_api = server["owner_api"].as_str().unwrap().to_string();
    let owner_token = std::fs::read_to_string(scene.data_dir.join("owner-token")).unwrap().trim().to_string();
    let registry_key = registry::RegistryKey::generate();
    let listed = registry::Registry {
        name: "Reference registry".into(),
        version: 1,
        entries: vec![registry::Entry {
            role: registry::Role::Regulator,
            id: scene.identity.regulator_url(),
            name: "Reference Financial Conduct Regulator".into(),
            status: None,
            did: None,
            jwks: Some(scene.identity.regulator_key.public_jwks()),
        }],
    };
    let owner = |method: reqwest::Method, path: &str, body: Value| scene.http.request(method, format!("{owner_api}{path}")).bearer_auth(&owner_token).json(&body).send();
    assert!(owner(reqwest::Method::PUT, "/registry/key", json!({ "key": registry_key.did() })).await.unwrap().status().is_success());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let imported = owner(reqwest::Method::POST, "/registry", json!({ "registry": registry_key.sign(&listed, now, 3600).unwrap() })).await.unwrap();
    assert!(imported.status().is_success(), "{}", imported.text().await.unwrap());

    let ui = &mut scene.ui;
    let section = "//section[@data-testid='sharing-pension'][.//*[contains(text(), 'Acme Staff Defined Benefit Scheme')]]";
    let driver = ui.client.clone();
    let click_xpath = |xpath: String| {
        let client = driver.clone();
        async move {
            let element = client.wait().at_most(PATIENCE).for_element(fantoccini::Locator::XPath(&xpath)).await.unwrap_or_else(|e| panic!("{xpath}: {e}"));
            element.click().await.unwrap();
        }
    };
    click_xpath(format!("{section}//button[@data-testid='add-policy-open']")).await;
    click_xpath(format!("{section}//input[contains(@id, 'who-adviser')]")).await;
    ui.screenshot("adviser-rule").await;
    click_xpath(format!("{section}//button[text()='Save rule']")).await;
    let rules = ui.client.clone();
    rules.wait().at_most(PATIENCE).for_element(fantoccini::Locator::XPath(&format!("{section}//li[contains(., 'any authorised financial adviser')]"))).await.expect("the rule is listed");

    let bob_platform = uma_as::keys::SigningKey::generate();
    let bob = scene.identity.person("bob@adviser.example").unwrap();
    let credential = scene.identity.issue_adviser_to(bob, &bob_platform.public_jwk()).unwrap();
    let challenge = scene.http.get(&view).send().await.unwrap();
    let header = challenge.headers()["www-authenticate"].to_str().unwrap().to_string();
    let ticket = header.split("ticket=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let adviser: Value = scene.http.post(format!("{}/register", scene.issuer)).json(&json!({ "client_name": "Sound Advice" })).send().await.unwrap().json().await.unwrap();
    let presentation = sd_jwt_vc::present(&credential, &["/given_name", "/family_name", "/firm"], &scene.issuer, &ticket, now, |c| {
        bob_platform.sign_typed(uma_as::keys::TokenType::KeyBinding, c)
    })
    .unwrap();
    let answer: Value = scene
        .http
        .post(format!("{}/token", scene.issuer))
        .basic_auth(adviser["client_id"].as_str().unwrap(), adviser["client_secret"].as_str())
        .form(&[
            ("grant_type", UMA_GRANT),
            ("ticket", ticket.as_str()),
            ("claim_token", presentation.as_str()),
            ("claim_token_format", uma_as::claims::PRESENTATION_FORMAT),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let adviser_rpt = answer["access_token"].as_str().unwrap_or_else(|| panic!("the rule made in the app lets the adviser in: {answer}"));
    assert_eq!(scene.http.get(&view).bearer_auth(adviser_rpt).send().await.unwrap().status(), 200);
    let ui = &mut scene.ui;
    ui.open("activity").await;
    ui.open("sharing").await;
    let granted = ui.client.clone();
    granted.wait().at_most(PATIENCE).for_element(fantoccini::Locator::XPath(&format!("{section}//*[@data-testid='grant-row'][contains(., 'Sound Advice')][contains(., 'Bob Baker of Sound Advice LLP')]"))).await.expect("the adviser's access is shown");
    ui.screenshot("adviser-access").await;

    ui.open("activity").await;
    let status = ui.text("[data-testid=audit-status]").await;
    assert!(status.to_lowercase().contains("intact"), "the audit chain verifies: {status}");
    ui.screenshot("activity").await;
    ui.open("settings").await;
    ui.screenshot("settings-after").await;

    scene.ui.client.clone().close().await.unwrap();
}

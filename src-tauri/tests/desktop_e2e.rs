//! The desktop app end to end, in a real window: the app built by cargo,
//! started by tauri-driver in WebKitWebDriver, driven over W3C WebDriver
//! against two reference pension providers and a scripted client, all on
//! loopback. It needs an X display (Xvfb), a session bus, `tauri-driver` and
//! `WebKitWebDriver`: `scripts/test.sh` provides them and runs it with
//! `--ignored`. Screenshots of each screen go to `target/e2e-screenshots/`.

mod support;

use serde_json::Value;
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
    ui.open("activity").await;
    let status = ui.text("[data-testid=audit-status]").await;
    assert!(status.to_lowercase().contains("intact"), "the audit chain verifies: {status}");
    ui.screenshot("activity").await;
    ui.open("settings").await;
    ui.screenshot("settings-after").await;

    scene.ui.client.clone().close().await.unwrap();
}

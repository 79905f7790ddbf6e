//! The desktop app end to end, in a real window: the app built by cargo,
//! started by tauri-driver in WebKitWebDriver, driven over W3C WebDriver
//! against two reference pension providers and a scripted client, all on
//! loopback. It needs an X display (Xvfb), a session bus, `tauri-driver` and
//! `WebKitWebDriver`: `scripts/test.sh` provides them and runs it with
//! `--ignored`. Screenshots of each screen go to `target/e2e-screenshots/`.

mod support;

use serde_json::{json, Value};
use support::*;

const NEW_PASSPHRASE: &str = "a quiet harbour at dawn";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Xvfb, a session bus, tauri-driver and WebKitWebDriver: run by scripts/test.sh"]
async fn owner_creates_finds_accepts_and_approves_in_the_real_app() {
    let mut scene = Scene::launch(env!("CARGO_BIN_EXE_uma-wallet-desktop")).await;
    scene.create_wallet().await;
    let discovered: Value = reqwest::get(format!("{}/.well-known/uma2-configuration", scene.issuer)).await.unwrap().json().await.unwrap();
    assert_eq!(discovered["issuer"], scene.issuer, "the app's authorization server answers");
    scene.first_run().await;
    let ui = &mut scene.ui;

    // Lock now: the window asks for the passphrase, the server keeps answering.
    ui.click("[data-testid=lock-now]").await;
    ui.wait_for("[data-testid=screen-unlock]").await;
    let still: Value = reqwest::get(format!("{}/.well-known/uma2-configuration", scene.issuer)).await.unwrap().json().await.unwrap();
    assert_eq!(still["issuer"], scene.issuer, "the server answers while the window is locked");
    ui.screenshot("locked").await;
    ui.type_into("#unlock-passphrase", PASSPHRASE).await;
    ui.click("[data-testid=unlock]").await;
    ui.wait_for("[data-testid=screen-pensions]").await;

    ui.open("pensions").await;
    ui.wait_for_count("[data-testid=pension-card]", 3).await;
    ui.wait_for("[data-testid=income-chart]").await;
    let total = ui.text("[data-testid=pensions-total]").await;
    assert!(total.contains("£") || total.chars().any(|c| c.is_ascii_digit()), "totals shown: {total}");
    // Each pension says it is protected, with the provider's proof checked.
    ui.wait_for_count("[data-testid=pension-proof][data-proof=checked]", 3).await;
    ui.screenshot("pensions").await;

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
    assert!(text.contains("An app calling itself"), "a name the app chose is marked as such: {text}");

    // Links, clicked anywhere on the desktop: one to this request opens the
    // inbox on it, from another screen; an offer link from Acme's page shows
    // who offers and, when she asks, what.
    let request_id = card.attr("data-request-id").await.unwrap().expect("the card names its request");
    ui.open("pensions").await;
    scene.open_link(&format!("uma-wallet://request/{request_id}")).await;
    let ui = &mut scene.ui;
    ui.wait_for("[data-testid=screen-requests]").await;
    let focused = format!("req-{request_id}-h");
    let deadline = std::time::Instant::now() + PATIENCE;
    while bounded("focus", ui.client.execute("return document.activeElement && document.activeElement.id", vec![])).await != json!(focused) {
        assert!(std::time::Instant::now() < deadline, "the linked request's heading never took focus");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    ui.screenshot("link-request").await;
    // The app takes one link a second at most (a page cannot flood it): this
    // one, sooner, is held and shown once that second has passed.
    let offer_page = format!("{}/credential-offer", scene.acme);
    let offer_link = format!("openid-credential-offer://?credential_offer_uri={}", url::form_urlencoded::byte_serialize(offer_page.as_bytes()).collect::<String>());
    scene.open_link(&offer_link).await;
    let ui = &mut scene.ui;
    ui.wait_for("[data-testid=screen-offers] [data-testid=offer-link-show]").await;
    let heading = ui.text("#h-offer-link").await;
    assert_eq!(heading.trim(), "A link to your pensions at Acme Pensions");
    ui.screenshot("link-offer").await;
    ui.click("[data-testid=offer-link-show]").await;
    // Alice's three pensions are protected already: Acme has none left to offer.
    ui.wait_for("[data-testid=no-offers]").await;
    ui.open("requests").await;
    ui.wait_for("[data-testid=request-card]").await;
    // What Acme would release, with her own figures, read from Acme itself.
    ui.click("[data-testid=request-card] [data-testid=scope-preview] summary").await;
    let preview = ui.text("[data-testid=request-card] [data-testid=scope-preview]").await;
    assert!(preview.contains("Your date of birth") && preview.contains("1975"), "see exactly what they'll see: {preview}");
    ui.screenshot("requests").await;
    // Keyboard only: nothing is ticked for her; Space ticks what to share,
    // Enter shares it (for the 30 days chosen for her).
    for scope in ui.client.find_all(fantoccini::Locator::Css("[data-testid=request-card] [data-testid=share-scope]")).await.unwrap() {
        assert!(!bounded("read the box", scope.is_selected()).await, "nothing is pre-ticked");
        bounded("tick with Space", scope.send_keys("\u{e00d}")).await;
    }
    let share = ui.wait_for("[data-testid=request-card] [data-testid=approve-request]").await;
    bounded("share with Enter", share.send_keys("\u{e007}")).await;
    let receipt = ui.text("[data-testid=request-decided]").await;
    assert!(receipt.contains("Family dashboard") && receipt.contains("until"), "the receipt: {receipt}");
    ui.screenshot("request-receipt").await;

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
    // The register fetched at the first run names the regulator that
    // vouches for advisers: Alice makes the rule in the app, and Bob's
    // platform proves his status for its request.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
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

    rest_of_the_owner_service(&mut scene, &owner_api, &owner_token).await;
}

/// Every other thing the owner service does, done in the app: trusted
/// sign-in services, a provider waiting for approval, a rule with
/// conditions, credentials, the activity record, the passphrase, backups,
/// a move to another wallet, and restoring the wallet on a fresh start.
async fn rest_of_the_owner_service(scene: &mut Scene, owner_api: &str, owner_token: &str) {
    let owner_get = |path: &str| {
        let request = scene.http.get(format!("{owner_api}{path}")).bearer_auth(owner_token);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };

    // A sign-in service she trusts, then no longer.
    let identity_url = scene.identity.url.clone();
    let ui = &mut scene.ui;
    ui.open("settings").await;
    // Technical settings wait under Advanced.
    ui.click("[data-testid=settings-advanced-open]").await;
    ui.type_into("[data-testid=trust-issuer-url]", &identity_url).await;
    ui.click("[data-testid=trust-issuer-add]").await;
    let row = format!("//*[@data-testid='trusted-issuer'][contains(., '{identity_url}')]");
    ui.wait_xpath(&row).await;
    ui.screenshot("trusted-sign-in-service").await;
    let trusted = owner_get("/trusted-issuers").await;
    assert!(trusted.as_array().unwrap().iter().any(|t| t["issuer"] == identity_url.as_str()), "{trusted}");
    ui.click_xpath(&format!("{row}//button[@data-testid='trusted-issuer-remove']")).await;
    ui.click("[data-testid=trusted-issuer-confirm-remove]").await;
    let deadline = std::time::Instant::now() + PATIENCE;
    while owner_get("/trusted-issuers").await.as_array().unwrap().iter().any(|t| t["issuer"] == identity_url.as_str()) {
        assert!(std::time::Instant::now() < deadline, "the sign-in service is still trusted");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // A provider asks to connect: the badge counts it, and she lets it in.
    let rs: Value = scene
        .http
        .post(format!("{}/register", scene.issuer))
        .json(&json!({ "client_name": "Northwind Administration", "scope": "uma_protection", "grant_types": ["client_credentials"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (rs_id, rs_secret) = (rs["client_id"].as_str().unwrap().to_string(), rs["client_secret"].as_str().unwrap().to_string());
    let ask_pat = || scene.http.post(format!("{}/token", scene.issuer)).basic_auth(&rs_id, Some(&rs_secret)).form(&[("grant_type", "client_credentials"), ("scope", "uma_protection")]).send();
    assert!(!ask_pat().await.unwrap().status().is_success(), "no access before the owner says so");
    let ui = &mut scene.ui;
    assert_eq!(ui.text("[data-testid=requests-badge]").await.trim(), "1", "the badge counts the provider waiting");
    ui.open("requests").await;
    let waiting = ui.text("[data-testid=provider-waiting]").await;
    assert!(waiting.contains("Northwind Administration"), "{waiting}");
    ui.screenshot("provider-waiting").await;
    ui.click("[data-testid=provider-waiting] [data-testid=provider-approve]").await;
    ui.wait_gone("[data-testid=provider-waiting]").await;
    let pat: Value = ask_pat().await.unwrap().json().await.unwrap();
    assert!(pat["access_token"].is_string(), "the provider connected: {pat}");

    // A rule with conditions: everything from Acme, for one person, only
    // once a trusted service has checked who they are; ask her each time.
    let ui = &mut scene.ui;
    ui.open("sharing").await;
    let section = "//section[@data-testid='sharing-pension'][.//*[contains(text(), 'Acme Staff Defined Benefit Scheme')]]";
    ui.click_xpath(&format!("{section}//button[@data-testid='add-policy-open']")).await;
    let target = ui.wait_xpath(&format!("{section}//select[@data-testid='rule-target-kind']")).await;
    bounded("choose a whole provider", target.select_by_value("resource_server")).await;
    ui.click_xpath(&format!("{section}//input[@data-testid='rule-who-email']")).await;
    let email = ui.wait_xpath(&format!("{section}//input[@data-testid='rule-email']")).await;
    bounded("type the email", email.send_keys("carol@example.org")).await;
    let verified = ui.wait_xpath(&format!("{section}//input[@data-testid='rule-verified-only']")).await;
    if !bounded("read the checkbox", verified.is_selected()).await {
        bounded("tick verified only", verified.click()).await;
    }
    let outcome = ui.wait_xpath(&format!("{section}//select[@data-testid='rule-outcome']")).await;
    bounded("choose ask", outcome.select_by_value("ask")).await;
    ui.screenshot("rule-with-conditions").await;
    ui.click_xpath(&format!("{section}//button[@data-testid='rule-save']")).await;
    ui.wait_xpath("//*[@data-testid='rule-facts'][contains(., 'carol@example.org')]").await;
    let policies = owner_get("/policies").await;
    let rule = policies.as_array().unwrap().iter().find(|p| p["party"]["email"] == "carol@example.org").unwrap_or_else(|| panic!("the rule is kept: {policies}"));
    assert_eq!((rule["target"]["kind"].as_str(), rule["target"]["id"].as_str()), (Some("resource_server"), Some(scene.acme.as_str())), "{rule}");
    assert_eq!((rule["party"]["verified_only"].as_bool(), rule["outcome"].as_str()), (Some(true), Some("ask")), "{rule}");

    // The records behind those proofs, under Settings' Advanced: the
    // wallet's public name, an export, one deleted.
    let ui = &mut scene.ui;
    ui.open("settings").await;
    ui.click("[data-testid=settings-advanced-open]").await;
    ui.wait_for_count("[data-testid=credential-row]", 3).await;
    let did = owner_get("/did").await;
    assert_eq!(ui.text("[data-testid=wallet-did]").await.trim(), did["did"].as_str().unwrap());
    ui.click("[data-testid=credentials-export]").await;
    let exported = ui.text("[data-testid=credentials-exported]").await;
    let file = std::fs::read_dir(&scene.backups).unwrap().flatten().map(|e| e.path()).find(|p| p.to_string_lossy().contains("credentials")).expect("the export is written");
    assert!(exported.contains(file.file_name().unwrap().to_str().unwrap()), "{exported}");
    let credentials: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(credentials.as_array().unwrap().len(), 3);
    ui.click("[data-testid=credential-delete]").await;
    ui.click("[data-testid=credential-delete-confirm]").await;
    let deadline = std::time::Instant::now() + PATIENCE;
    while ui.count("[data-testid=credential-row]").await != 2 {
        assert!(std::time::Instant::now() < deadline, "the credential is still listed");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    ui.screenshot("credentials-after-delete").await;

    // The activity record: exported, and filtered by what happened.
    ui.open("activity").await;
    ui.click("[data-testid=activity-export]").await;
    ui.wait_for("[data-testid=activity-exported]").await;
    let file = std::fs::read_dir(&scene.backups).unwrap().flatten().map(|e| e.path()).find(|p| p.to_string_lossy().contains("activity")).expect("the export is written");
    let entries: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(entries.as_array().unwrap().iter().any(|e| e["action"] == "pension.accept"), "accepting is on record");
    let action = ui.wait_for("[data-testid=filter-action]").await;
    bounded("filter by one kind of event", action.select_by_index(1)).await;
    let count = ui.text("[data-testid=activity-count]").await;
    let numbers: Vec<usize> = count.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).collect();
    assert!(numbers.len() >= 2 && numbers[0] < numbers[1], "fewer entries match: {count}");
    ui.screenshot("activity-filtered").await;

    // A new passphrase, then a backup each day, keeping two.
    ui.open("settings").await;
    ui.type_into("[data-testid=passphrase-current]", PASSPHRASE).await;
    ui.type_into("[data-testid=passphrase-new]", NEW_PASSPHRASE).await;
    ui.type_into("[data-testid=passphrase-repeat]", NEW_PASSPHRASE).await;
    ui.click("[data-testid=passphrase-change]").await;
    ui.wait_for("[data-testid=passphrase-changed]").await;
    // The first run's backup opens with the old passphrase: one with the
    // new one now, then a backup each day, keeping two.
    let backups = || std::fs::read_dir(&scene.backups).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().starts_with("uma-wallet-backup-")).count();
    assert_eq!(backups(), 1, "the first run's backup");
    ui.click("[data-testid=export-backup]").await;
    let deadline = std::time::Instant::now() + PATIENCE;
    while backups() < 2 {
        assert!(std::time::Instant::now() < deadline, "no backup made");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    ui.click("[data-testid=backup-daily]").await;
    ui.type_into("[data-testid=backup-keep]", "2").await;
    ui.click("[data-testid=backup-schedule-save]").await;
    ui.open("pensions").await;
    ui.open("settings").await;
    ui.wait_for("[data-testid=backup-item]").await;
    ui.screenshot("backups").await;

    // Northwind's pension moves to another wallet, with the code that wallet made.
    let other_dir = tempfile::tempdir().unwrap();
    wallet::Wallet::init(other_dir.path(), NEW_PASSPHRASE, wallet::KdfParams { memory_kib: 8 * 1024, iterations: 1, parallelism: 1 }).unwrap();
    let other = wallet::serve::bind(wallet::serve::ServeOptions { listen: scene.other_issuer.trim_start_matches("http://").parse().unwrap(), ..wallet::serve::ServeOptions::on_loopback(other_dir.path(), NEW_PASSPHRASE, wallet::Clock::System) }).await.unwrap();
    let other_owner = wallet::owner_client::OwnerClient::in_process(other.wallet()).unwrap();
    tokio::spawn(other.run(std::future::pending()));
    let code = other_owner.mint_assertion(&wallet::api::AssertionRequest { resource_server: scene.northwind.as_str().into(), lifetime: 600 }).await.unwrap();
    let ui = &mut scene.ui;
    ui.open("pensions").await;
    let card = "//article[@data-testid='pension-card'][.//*[contains(text(), 'Northwind')]]";
    ui.click_xpath(&format!("{card}//button[@data-testid='move-open']")).await;
    let to = ui.wait_xpath(&format!("{card}//*[@data-testid='move-to']")).await;
    bounded("type the other wallet", to.send_keys(&scene.other_issuer)).await;
    let field = ui.wait_xpath(&format!("{card}//*[@data-testid='move-code']")).await;
    bounded("type the code", field.send_keys(&code.assertion)).await;
    ui.screenshot("move").await;
    ui.click_xpath(&format!("{card}//button[@data-testid='move-submit']")).await;
    ui.wait_for("[data-testid=move-done]").await;
    let deadline = std::time::Instant::now() + PATIENCE;
    while other_owner.resources().await.unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "the other wallet protects nothing");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let deadline = std::time::Instant::now() + PATIENCE;
    while ui.count("[data-testid=pension-card]").await != 2 {
        assert!(std::time::Instant::now() < deadline, "the moved pension is still listed here");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    ui.screenshot("moved").await;

    // A fresh start on another computer: no wallet, only the backup. She
    // restores it with the passphrase it was made with, and her pensions are back.
    let fresh = scene.data_dir.with_file_name("restored");
    scene.relaunch(env!("CARGO_BIN_EXE_uma-wallet-desktop"), &fresh).await;
    let ui = &mut scene.ui;
    ui.wait_for("[data-testid=screen-create]").await;
    ui.click("[data-testid=restore-open]").await;
    ui.click("[data-testid=restore-backup]").await;
    ui.type_into("[data-testid=restore-passphrase]", NEW_PASSPHRASE).await;
    ui.screenshot("restore").await;
    ui.click("[data-testid=restore-submit]").await;
    ui.wait_for("[data-testid=screen-pensions]").await;
    ui.wait_for_count("[data-testid=pension-card]", 2).await;
    ui.screenshot("restored").await;

    scene.ui.client.clone().close().await.unwrap();
}

/// The app as the system starts it: a `Command` for the app binary over the
/// wallet folder `data`, with `home` as the owner's home (where the login
/// entry goes), drawing in software like the WebDriver session.
fn app_process(home: &std::path::Path, data: &std::path::Path, extra: &[&str]) -> std::process::Child {
    in_the_session(std::process::Command::new(env!("CARGO_BIN_EXE_uma-wallet-desktop")).arg("--data-dir").arg(data).args(extra), home)
        .spawn()
        .expect("the app starts")
}

/// A process of the owner's desktop session in `home`, as the app and
/// whatever starts it run: her own folders, software rendering, quiet.
fn in_the_session<'c>(command: &'c mut std::process::Command, home: &std::path::Path) -> &'c mut std::process::Command {
    command
        .env("HOME", home)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
        .env("WEBKIT_DISABLE_DMABUF_RENDERER", "1")
        .env("LIBGL_ALWAYS_SOFTWARE", "1")
        .env("NO_AT_BRIDGE", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
}

/// The login entry the app keeps in `home`, once it appears (or is gone).
async fn login_entry(home: &std::path::Path, present: bool) -> Option<String> {
    let dir = home.join(".config/autostart");
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let entry = std::fs::read_dir(&dir).ok().into_iter().flatten().flatten().find(|e| e.path().extension().is_some_and(|x| x == "desktop"));
        let text = entry.and_then(|e| std::fs::read_to_string(e.path()).ok());
        if text.is_some() == present {
            return text;
        }
        assert!(std::time::Instant::now() < deadline, "the login entry is still {}", if present { "missing" } else { "there" });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Waits for `child` to end, up to PATIENCE.
async fn ended(child: &mut std::process::Child) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + PATIENCE;
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    None
}

/// The command line `uma-wallet`, which the `.deb` installs beside the app
/// (`scripts/test.sh` builds it into the same folder first).
fn server_program() -> std::path::PathBuf {
    let program = std::path::Path::new(env!("CARGO_BIN_EXE_uma-wallet-desktop")).with_file_name("uma-wallet");
    assert!(program.is_file(), "build uma-wallet first: cargo build -p uma-wallet-cli");
    program
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Xvfb and a session bus: run by scripts/test.sh"]
async fn the_app_starts_at_login_in_the_tray_and_runs_once_per_wallet() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("wallet");
    let mut first = app_process(home.path(), &data, &[]);

    // On unless turned off: the system will start the wallet at login, for
    // this same wallet: its server alone, locked, in the tray, opened from
    // the keyring if the owner kept the passphrase there.
    let entry = login_entry(home.path(), true).await.unwrap();
    let exec = entry.lines().find(|l| l.starts_with("Exec=")).expect("an Exec line");
    let server = format!("Exec={} --data-dir {} serve --locked --unlock-from-keyring --tray --listen 127.0.0.1:", server_program().display(), data.display());
    assert!(exec.starts_with(&server), "{exec}");

    // A second start for the same wallet hands over to the first and ends.
    let mut second = app_process(home.path(), &data, &[]);
    let status = ended(&mut second).await.expect("a second app for the same wallet ends");
    assert!(status.success(), "{status}");
    assert!(first.try_wait().unwrap().is_none(), "the first app still runs");

    // Another wallet folder is another wallet, with its own app.
    let other_home = tempfile::tempdir().unwrap();
    let mut other = app_process(other_home.path(), &other_home.path().join("wallet"), &[]);
    login_entry(other_home.path(), true).await;
    assert!(other.try_wait().unwrap().is_none(), "another wallet's app runs beside it");
    let _ = other.kill();
    let _ = other.wait();

    // Turned off in the settings, the entry goes at the next start.
    let _ = first.kill();
    let _ = first.wait();
    std::fs::create_dir_all(&data).unwrap();
    let settings = data.join("desktop.json");
    let mut saved: Value = std::fs::read(&settings).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_else(|| json!({ "listen": "127.0.0.1:7420" }));
    saved["start_at_login"] = json!(false);
    std::fs::write(&settings, serde_json::to_vec(&saved).unwrap()).unwrap();
    let mut again = app_process(home.path(), &data, &["--minimized"]);
    login_entry(home.path(), false).await;
    let _ = again.kill();
    let _ = again.wait();
}

/// WebKit's web processes among the app's children: the web view's.
fn web_processes(app: u32) -> usize {
    children(app).iter().filter(|(_, name)| name.starts_with("WebKitWeb")).count()
}

/// Waits up to PATIENCE for `done`.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + PATIENCE;
    while !done() {
        assert!(std::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Xvfb and a session bus: run by scripts/test.sh"]
async fn in_the_tray_the_app_holds_no_window_and_no_web_view() {
    const TITLE: &str = "Pension Wallet";
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("wallet");
    // As at login: set up (its login entry written), in the tray, and
    // nothing drawn: no window, no web view.
    let mut app = app_process(home.path(), &data, &["--minimized"]);
    login_entry(home.path(), true).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(windows_showing(TITLE).is_empty(), "no window at login");
    assert_eq!(web_processes(app.id()), 0, "no web view at login");

    // Opened (a second start does what the tray's "Open wallet" does): a
    // window, with its web view.
    let mut second = app_process(home.path(), &data, &[]);
    ended(&mut second).await.expect("the second start hands over and ends");
    until("the window opens", || !windows_showing(TITLE).is_empty()).await;
    until("the web view starts", || web_processes(app.id()) > 0).await;

    // Closed: the window and its web view go, the app stays in the tray.
    // A close asked while WebKit still loads the page can go unanswered (as
    // the owner would, the test asks again, once a second).
    let mut asked = std::time::Instant::now() - std::time::Duration::from_secs(1);
    until("the window closes", || {
        let showing = windows_showing(TITLE);
        if !showing.is_empty() && asked.elapsed() >= std::time::Duration::from_secs(1) {
            showing.into_iter().for_each(ask_to_close);
            asked = std::time::Instant::now();
        }
        windows_showing(TITLE).is_empty()
    })
    .await;
    until("the web view ends", || web_processes(app.id()) == 0).await;
    assert!(app.try_wait().unwrap().is_none(), "the app goes on in the tray");

    // And opens again.
    let mut third = app_process(home.path(), &data, &[]);
    ended(&mut third).await.expect("the third start hands over and ends");
    until("the window opens again", || !windows_showing(TITLE).is_empty()).await;
    let _ = app.kill();
    let _ = app.wait();
}

/// Libraries a process has mapped whose file name contains `part`.
fn maps_library(pid: u32, part: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default().lines().any(|l| l.rsplit('/').next().is_some_and(|file| file.contains(part)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Xvfb and a session bus: run by scripts/test.sh"]
async fn at_login_the_server_alone_sits_in_the_tray_and_opens_the_app_from_it() {
    const TITLE: &str = "Pension Wallet";
    let home = tempfile::tempdir().unwrap();
    // Her wallet in the usual folder: the app and the login entry name none.
    let data = home.path().join(".local/share/uma-wallet");
    let init = std::process::Command::new(server_program()).arg("--data-dir").arg(&data).arg("init").env("UMA_WALLET_PASSPHRASE", PASSPHRASE).output().unwrap();
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));

    // The app writes its login entry; what the system runs at login is
    // exactly what it says. (Its server on a free port, not the usual one.)
    let settings = json!({ "listen": format!("127.0.0.1:{}", free_port()) });
    std::fs::write(data.join("desktop.json"), settings.to_string()).unwrap();
    let mut app = app_process(home.path(), &data, &["--minimized"]);
    let entry = login_entry(home.path(), true).await.unwrap();
    let _ = app.kill();
    let _ = app.wait();
    let exec = entry.lines().find_map(|l| l.strip_prefix("Exec=")).expect("an Exec line").to_string();
    assert!(exec.starts_with(&format!("{} serve --locked --unlock-from-keyring --tray --listen 127.0.0.1:", server_program().display())), "{exec}");
    let panel = Panel::start().await;
    let notifications = Notifications::start().await;
    let mut words = exec.split(' ');
    // In the session, so the app it starts runs as `app_process` does.
    let mut server = Ending(in_the_session(std::process::Command::new(words.next().unwrap()).args(words), home.path()).spawn().unwrap());

    // Its icon shows, saying the wallet is locked; no window, and no GUI
    // toolkit in the process that runs all day.
    let item = panel.item_of(server.0.id()).await;
    let labels = |menu: Vec<(i32, String)>| menu.into_iter().map(|(_, l)| l).collect::<Vec<_>>();
    let menu = labels(panel.menu(&item).await);
    assert!(menu.iter().any(|l| l == "Open wallet"), "{menu:?}");
    assert!(menu.iter().any(|l| l.starts_with("Locked")), "{menu:?}");
    assert!(windows_showing(TITLE).is_empty(), "no window at login");
    for library in ["libgtk", "libwebkit", "libLLVM"] {
        assert!(!maps_library(server.0.id(), library), "the tray's server loads no {library}");
    }

    // Open wallet: the app starts, as a window over this server.
    panel.click(&item, "Open wallet").await;
    until("the window opens", || !windows_showing(TITLE).is_empty()).await;
    let app = children(server.0.id()).into_iter().find(|(_, name)| name.starts_with("uma-wallet-desk")).expect("the app runs, started by the tray").0;
    until("the app's web view starts", || web_processes(app) > 0).await;
    // It names the folder in full, and that is still the one login entry.
    let entries: Vec<_> = std::fs::read_dir(home.path().join(".config/autostart")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(entries, [std::ffi::OsString::from("Pension Wallet.desktop")]);
    assert_eq!(std::fs::read_to_string(home.path().join(".config/autostart/Pension Wallet.desktop")).unwrap(), entry, "the entry is unchanged");

    // Opened (here with `uma-wallet unlock`; the app's unlock does the same
    // through the owner API): the tray says so.
    let unlock = std::process::Command::new(server_program()).arg("--data-dir").arg(&data).arg("unlock").env("UMA_WALLET_PASSPHRASE", PASSPHRASE).output().unwrap();
    assert!(unlock.status.success(), "{}", String::from_utf8_lossy(&unlock.stderr));
    let deadline = std::time::Instant::now() + PATIENCE;
    while !labels(panel.menu(&item).await).iter().any(|l| l.starts_with("Open:")) {
        assert!(std::time::Instant::now() < deadline, "the tray says the wallet is open");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // Open, it shows who asks as a desktop notification, in plain text
    // whatever name the asker chose: here a provider asking to connect.
    let issuer = serde_json::from_slice::<Value>(&std::fs::read(data.join("server.json")).unwrap()).unwrap()["issuer"].as_str().unwrap().to_string();
    let http = reqwest::Client::new();
    let registered: Value = http
        .post(format!("{issuer}/register"))
        .json(&json!({ "client_name": "<a href=\"https://evil.example\">Acme</a> Pensions", "grant_types": ["client_credentials"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let asked = http
        .post(format!("{issuer}/token"))
        .basic_auth(registered["client_id"].as_str().unwrap(), registered["client_secret"].as_str())
        .form(&[("grant_type", "client_credentials"), ("scope", "uma_protection")])
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 400, "waiting for the owner");
    until("the request shows as a notification", || !notifications.shown.lock().is_empty()).await;
    let (title, body) = notifications.shown.lock()[0].clone();
    assert_eq!(title, "A provider asks to connect");
    assert!(body.contains("Acme") && !body.contains(['<', '>']), "{body}");

    // Closing the window ends the app (the server's tray stays): no app
    // and no web view left beside the server.
    let mut asked = std::time::Instant::now() - std::time::Duration::from_secs(1);
    until("the window closes and the app ends", || {
        let showing = windows_showing(TITLE);
        if !showing.is_empty() && asked.elapsed() >= std::time::Duration::from_secs(1) {
            showing.into_iter().for_each(ask_to_close);
            asked = std::time::Instant::now();
        }
        !std::path::Path::new(&format!("/proc/{app}")).exists()
    })
    .await;
    assert!(server.0.try_wait().unwrap().is_none(), "the server goes on");
    assert!(panel.shows(&item).await, "its icon stays");

    // Quit stops the server cleanly.
    panel.click(&item, "Quit").await;
    let status = ended(&mut server.0).await.expect("Quit stops the server");
    assert!(status.success(), "{status}");
    assert!(!data.join("server.json").exists(), "a clean stop removes server.json");
}

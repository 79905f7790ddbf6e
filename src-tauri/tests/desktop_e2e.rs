//! The desktop app end to end, in a real window: the app built by cargo,
//! started by tauri-driver in WebKitWebDriver, driven over W3C WebDriver
//! against two reference pension providers and a scripted client, all on
//! loopback. It needs an X display (Xvfb), a session bus, `tauri-driver` and
//! `WebKitWebDriver`: `scripts/test.sh` provides them and runs it with
//! `--ignored`. Screenshots of each screen go to `target/e2e-screenshots/`.

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use pension_provider::{fixtures::Catalogue, http, Provider};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PASSPHRASE: &str = "a long and private passphrase";
const ACME_DB_ASSET: &str = "a1c0ffee-0001-4000-8000-000000000001";
const UMA_GRANT: &str = "urn:ietf:params:oauth:grant-type:uma-ticket";
/// xvfb and a first WebKit start are slow on a loaded CI machine.
const PATIENCE: Duration = Duration::from_secs(60);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn screenshots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn start_provider(fixtures: &str, trusted: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let provider = Arc::new(Provider::new(url.clone(), Catalogue::load(fixtures).unwrap(), vec![trusted.to_string()]));
    tokio::spawn(async move { axum::serve(listener, http::router(provider)).await.unwrap() });
    url
}

/// tauri-driver in its own process group, which is killed with
/// WebKitWebDriver and the app when the test ends, however it ends.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.0.wait();
    }
}

fn require(program: &str) {
    let found = std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()));
    assert!(found, "{program} is not on PATH: run scripts/install-deps.sh (or scripts/test.sh, which runs this test)");
}

async fn start_driver() -> (Driver, String) {
    require("tauri-driver");
    require("WebKitWebDriver");
    assert!(std::env::var_os("DISPLAY").is_some(), "no X display: run under xvfb-run (scripts/test.sh does)");
    let (port, native_port) = (free_port(), free_port());
    let child = Command::new("tauri-driver")
        .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
        // Software rendering: Xvfb has no GPU, and WebKit's compositing
        // mode otherwise paints a blank window.
        .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
        .env("WEBKIT_DISABLE_DMABUF_RENDERER", "1")
        .env("LIBGL_ALWAYS_SOFTWARE", "1")
        .env("NO_AT_BRIDGE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .process_group(0)
        .spawn()
        .expect("tauri-driver starts");
    let driver = Driver(child);
    let deadline = Instant::now() + PATIENCE;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "tauri-driver did not listen on {port}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (driver, format!("http://127.0.0.1:{port}"))
}

struct Ui {
    client: Client,
    shots: PathBuf,
    taken: usize,
}

/// One WebDriver command, bounded: a stalled browser fails the test with
/// the step's name instead of hanging CI.
async fn bounded<T>(what: &str, command: impl std::future::Future<Output = Result<T, fantoccini::error::CmdError>>) -> T {
    match tokio::time::timeout(PATIENCE, command).await {
        Ok(Ok(value)) => value,
        Ok(Err(e)) => panic!("{what}: {e}"),
        Err(_) => panic!("{what}: no answer from the browser in {PATIENCE:?}"),
    }
}

impl Ui {
    async fn wait_for(&self, css: &str) -> Element {
        let wait = self.client.wait().at_most(PATIENCE).every(Duration::from_millis(50)).for_element(Locator::Css(css));
        bounded(&format!("waiting for {css}"), wait).await
    }

    async fn click(&self, css: &str) {
        let element = self.wait_for(css).await;
        bounded(&format!("click {css}"), element.click()).await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let field = self.wait_for(css).await;
        bounded(&format!("clear {css}"), field.clear()).await;
        bounded(&format!("type into {css}"), field.send_keys(text)).await;
    }

    async fn count(&self, css: &str) -> usize {
        bounded(&format!("count {css}"), self.client.find_all(Locator::Css(css))).await.len()
    }

    /// Waits until at least `n` elements match.
    async fn wait_for_count(&self, css: &str, n: usize) {
        let deadline = Instant::now() + PATIENCE;
        while self.count(css).await < n {
            assert!(Instant::now() < deadline, "fewer than {n} of {css}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn text(&self, css: &str) -> String {
        let element = self.wait_for(css).await;
        bounded(&format!("text of {css}"), element.text()).await
    }

    /// Saves what the X display shows: the app's real window, as painted.
    /// (WebDriver's own screenshot command stalls WebKitGTK's automation
    /// session under Xvfb now and then, and every later command with it.)
    async fn screenshot(&mut self, name: &str) {
        self.taken += 1;
        // Two animation frames: the last change is on screen.
        let painted = self.client.execute_async("const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));", vec![]);
        bounded(&format!("painting before screenshot {name}"), painted).await;
        let file = self.shots.join(format!("{:02}-{name}.png", self.taken));
        tokio::task::spawn_blocking(move || capture_display(&file)).await.unwrap();
        eprintln!("screen {:02}: {name}", self.taken);
    }

    async fn open(&mut self, screen: &str) {
        self.click(&format!("[data-testid=nav-{screen}]")).await;
        self.wait_for(&format!("[data-testid=screen-{screen}]")).await;
    }
}

/// The whole X screen as an RGBA PNG.
fn capture_display(file: &std::path::Path) {
    use x11rb::connection::Connection;
    use x11rb::protocol::xproto::{ConnectionExt, ImageFormat};
    let (conn, screen) = x11rb::connect(None).expect("the X display");
    let root = &conn.setup().roots[screen];
    let (width, height) = (root.width_in_pixels, root.height_in_pixels);
    let image = conn.get_image(ImageFormat::Z_PIXMAP, root.root, 0, 0, width, height, !0).unwrap().reply().unwrap();
    assert_eq!(image.depth, 24, "a 24-bit screen (xvfb-run -s \"-screen 0 WxHx24\")");
    // 24-bit Z pixmaps come as 32-bit little-endian BGRX pixels.
    let rgba: Vec<u8> = image.data.chunks_exact(4).flat_map(|p| [p[2], p[1], p[0], 255]).collect();
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(std::fs::File::create(file).unwrap()), width.into(), height.into());
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header().unwrap().write_image_data(&rgba).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Xvfb, a session bus, tauri-driver and WebKitWebDriver: run by scripts/test.sh"]
async fn owner_creates_finds_accepts_and_approves_in_the_real_app() {
    let dir = tempfile::tempdir().unwrap();
    let wallet_port = free_port();
    let issuer = format!("http://127.0.0.1:{wallet_port}");
    let acme = start_provider("acme", &issuer).await;
    let northwind = start_provider("northwind", &issuer).await;
    let (_driver, driver_url) = start_driver().await;

    let application = env!("CARGO_BIN_EXE_uma-wallet-desktop");
    let data_dir = dir.path().join("wallet");
    let backups = dir.path().join("backups");
    let args = ["--data-dir", data_dir.to_str().unwrap(), "--listen", &format!("127.0.0.1:{wallet_port}"), "--backup-dir", backups.to_str().unwrap()];
    let mut capabilities = serde_json::Map::new();
    // No browserName: WebKitGTK reports itself as MiniBrowser and would not match "wry".
    capabilities.insert("tauri:options".into(), json!({ "application": application, "args": args }));
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver_url)
        .await
        .expect("a WebDriver session with the app");
    let mut ui = Ui { client, shots: screenshots_dir(), taken: 0 };

    // First run: the wallet is created with the owner's identity details.
    ui.wait_for("[data-testid=screen-create]").await;
    ui.type_into("#passphrase", PASSPHRASE).await;
    ui.type_into("#passphrase-confirm", PASSPHRASE).await;
    ui.type_into("#given-name", "Alice").await;
    ui.type_into("#family-name", "Archer").await;
    ui.type_into("#date-of-birth", "1975-04-12").await;
    ui.type_into("#postcode", "SW1A 1AA").await;
    for item in ["name", "date_of_birth", "address"] {
        ui.click(&format!("#verified-{item}")).await;
    }
    ui.screenshot("create-wallet").await;
    ui.click("[data-testid=create-wallet]").await;
    ui.wait_for("[data-testid=screen-pensions]").await;
    ui.screenshot("pensions-empty").await;
    let discovered: Value = reqwest::get(format!("{issuer}/.well-known/uma2-configuration")).await.unwrap().json().await.unwrap();
    assert_eq!(discovered["issuer"], issuer, "the app's authorization server answers");

    // The owner adds the two providers.
    ui.open("settings").await;
    for (url, name) in [(&acme, "Acme Pensions"), (&northwind, "Northwind")] {
        ui.type_into("#provider-url", url).await;
        ui.type_into("#provider-name", name).await;
        ui.click("[data-testid=add-provider]").await;
    }
    ui.wait_for_count("[data-testid=provider-row]", 2).await;
    ui.screenshot("settings").await;

    // Find: three pensions across the two providers are offered.
    ui.open("offers").await;
    ui.click("[data-testid=find-pensions]").await;
    ui.wait_for_count("[data-testid=offer-card]", 3).await;
    ui.screenshot("offers").await;
    // Accept each: the provider registers it here and issues a credential.
    for accepted in 0..3 {
        ui.click("[data-testid=offer-card] [data-testid=accept-offer]:not([disabled])").await;
        // Each success is shown on its card before the next accept.
        let before = accepted;
        let deadline = Instant::now() + PATIENCE;
        while ui.count("[data-testid=accept-success]").await <= before && ui.count("[data-testid=accept-error]").await == 0 {
            assert!(Instant::now() < deadline, "no outcome for the accept");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(ui.count("[data-testid=accept-error]").await, 0, "accept failed: {}", ui.text("[data-testid=accept-error]").await);
    }
    ui.screenshot("offers-accepted").await;

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
    let http = reqwest::Client::new();
    let view = format!("{acme}/pensions/{ACME_DB_ASSET}?include=value");
    let challenge = http.get(&view).send().await.unwrap();
    assert_eq!(challenge.status(), 401);
    let header = challenge.headers()["www-authenticate"].to_str().unwrap().to_string();
    let ticket = header.split("ticket=\"").nth(1).and_then(|t| t.split('"').next()).expect("a ticket in the challenge").to_string();
    let client: Value = http.post(format!("{issuer}/register")).json(&json!({ "client_name": "Family dashboard" })).send().await.unwrap().json().await.unwrap();
    let (client_id, secret) = (client["client_id"].as_str().unwrap().to_string(), client["client_secret"].as_str().unwrap().to_string());
    let answer: Value = http
        .post(format!("{issuer}/token"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("grant_type", UMA_GRANT), ("ticket", ticket.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let asked_at = Instant::now();
    assert_eq!(answer["error"], "request_submitted", "{answer}");
    let polling = answer["ticket"].as_str().unwrap().to_string();

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
    let answer: Value = http
        .post(format!("{issuer}/token"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("grant_type", UMA_GRANT), ("ticket", polling.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rpt = answer["access_token"].as_str().unwrap_or_else(|| panic!("the client gets its token: {answer}"));
    let pension = http.get(&view).bearer_auth(rpt).send().await.unwrap();
    assert_eq!(pension.status(), 200);
    let pension: Value = pension.json().await.unwrap();
    assert_eq!(pension["pension"]["schemeName"], "Acme Staff Defined Benefit Scheme");

    ui.open("sharing").await;
    ui.screenshot("sharing").await;
    ui.open("activity").await;
    let status = ui.text("[data-testid=audit-status]").await;
    assert!(status.to_lowercase().contains("intact"), "the audit chain verifies: {status}");
    ui.screenshot("activity").await;
    ui.open("settings").await;
    ui.screenshot("settings-after").await;

    ui.client.close().await.unwrap();
}

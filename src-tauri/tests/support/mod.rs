//! What the desktop tests in a real window share: reference providers and
//! the reference identity service on loopback, tauri-driver, a WebDriver session with the app, screenshots
//! from the X display, and the owner's first steps in the app.

#![allow(dead_code)] // each test binary uses its own part

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use pension_provider::{fixtures::Catalogue, http, Provider};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const PASSPHRASE: &str = "a long and private passphrase";
pub const ACME_DB_ASSET: &str = "a1c0ffee-0001-4000-8000-000000000001";
pub const UMA_GRANT: &str = "urn:ietf:params:oauth:grant-type:uma-ticket";
/// xvfb and a first WebKit start are slow on a loaded CI machine.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn screenshots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub async fn start_provider(fixtures: &str, trusted: &[&str], identity_issuer: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let trusted = trusted.iter().map(|t| t.to_string()).collect();
    let provider = Arc::new(Provider::new(url.clone(), Catalogue::load(fixtures).unwrap(), trusted, vec![identity_issuer.to_string()]));
    tokio::spawn(async move { axum::serve(listener, http::router(provider)).await.unwrap() });
    url
}

/// tauri-driver in its own process group, which is killed with
/// WebKitWebDriver and the app when the test ends, however it ends.
pub struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.0.wait();
    }
}

pub fn require(program: &str) {
    let found = std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()));
    assert!(found, "{program} is not on PATH: run scripts/install-deps.sh (or scripts/test.sh, which runs this test)");
}

/// tauri-driver, and the apps it starts, with `home` as their home folder:
/// what they write there (login entries, link handlers) stays in the test's.
pub async fn start_driver(home: &std::path::Path) -> (Driver, String) {
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
        .env("HOME", home)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
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

pub struct Ui {
    pub client: Client,
    shots: PathBuf,
    taken: usize,
}

/// One WebDriver command, bounded: a stalled browser fails the test with
/// the step's name instead of hanging CI.
pub async fn bounded<T>(what: &str, command: impl std::future::Future<Output = Result<T, fantoccini::error::CmdError>>) -> T {
    match tokio::time::timeout(PATIENCE, command).await {
        Ok(Ok(value)) => value,
        Ok(Err(e)) => panic!("{what}: {e}"),
        Err(_) => panic!("{what}: no answer from the browser in {PATIENCE:?}"),
    }
}

impl Ui {
    pub async fn wait_for(&self, css: &str) -> Element {
        let wait = self.client.wait().at_most(PATIENCE).every(Duration::from_millis(50)).for_element(Locator::Css(css));
        bounded(&format!("waiting for {css}"), wait).await
    }

    pub async fn click(&self, css: &str) {
        let element = self.wait_for(css).await;
        bounded(&format!("click {css}"), element.click()).await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let field = self.wait_for(css).await;
        bounded(&format!("clear {css}"), field.clear()).await;
        bounded(&format!("type into {css}"), field.send_keys(text)).await;
    }

    pub async fn count(&self, css: &str) -> usize {
        // A list re-rendering while it is counted (a pension leaving it, say)
        // makes WebKitWebDriver report a stale element: count again.
        for _ in 0..20 {
            match tokio::time::timeout(PATIENCE, self.client.find_all(Locator::Css(css))).await {
                Ok(Ok(found)) => return found.len(),
                Ok(Err(e)) if e.to_string().contains("Stale element") => tokio::time::sleep(Duration::from_millis(50)).await,
                Ok(Err(e)) => panic!("count {css}: {e}"),
                Err(_) => panic!("count {css}: no answer from the browser in {PATIENCE:?}"),
            }
        }
        panic!("count {css}: the elements kept going stale");
    }

    /// Waits until at least `n` elements match.
    pub async fn wait_for_count(&self, css: &str, n: usize) {
        let deadline = Instant::now() + PATIENCE;
        while self.count(css).await < n {
            assert!(Instant::now() < deadline, "fewer than {n} of {css}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn text(&self, css: &str) -> String {
        let element = self.wait_for(css).await;
        bounded(&format!("text of {css}"), element.text()).await
    }

    /// Saves what the X display shows: the app's real window, as painted.
    /// (WebDriver's own screenshot command stalls WebKitGTK's automation
    /// session under Xvfb now and then, and every later command with it.)
    pub async fn screenshot(&mut self, name: &str) {
        self.taken += 1;
        // Two animation frames: the last change is on screen.
        let painted = self.client.execute_async("const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));", vec![]);
        bounded(&format!("painting before screenshot {name}"), painted).await;
        let file = self.shots.join(format!("{:02}-{name}.png", self.taken));
        tokio::task::spawn_blocking(move || capture_display(&file)).await.unwrap();
        eprintln!("screen {:02}: {name}", self.taken);
    }

    pub async fn wait_xpath(&self, xpath: &str) -> Element {
        let wait = self.client.wait().at_most(PATIENCE).every(Duration::from_millis(50)).for_element(Locator::XPath(xpath));
        bounded(&format!("waiting for {xpath}"), wait).await
    }

    pub async fn click_xpath(&self, xpath: &str) {
        let element = self.wait_xpath(xpath).await;
        bounded(&format!("click {xpath}"), element.click()).await;
    }

    /// Waits until no element matches.
    pub async fn wait_gone(&self, css: &str) {
        let deadline = Instant::now() + PATIENCE;
        while self.count(css).await > 0 {
            assert!(Instant::now() < deadline, "{css} is still shown");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn open(&mut self, screen: &str) {
        self.click(&format!("[data-testid=nav-{screen}]")).await;
        self.wait_for(&format!("[data-testid=screen-{screen}]")).await;
    }
}

/// The app's child processes (WebKit's web and network processes).
pub fn children(pid: u32) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else { continue };
        // The command name is in parentheses and may hold spaces; the parent pid follows it.
        let Some((name, rest)) = stat.split_once(" (").and_then(|(_, r)| r.rsplit_once(") ")) else { continue };
        if rest.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok()) == Some(pid) {
            found.push((child, name.to_string()));
        }
    }
    found
}

/// The app's windows on the X display that are showing (mapped), by
/// their title: GTK sets `_NET_WM_NAME` on each top-level window.
pub fn windows_showing(title: &str) -> Vec<u32> {
    use x11rb::connection::Connection;
    use x11rb::protocol::xproto::{AtomEnum, ConnectionExt, MapState};
    let (conn, screen) = x11rb::connect(None).expect("the X display");
    let root = conn.setup().roots[screen].root;
    let name = conn.intern_atom(false, b"_NET_WM_NAME").unwrap().reply().unwrap().atom;
    let tree = conn.query_tree(root).unwrap().reply().unwrap();
    tree.children
        .into_iter()
        .filter(|&w| conn.get_window_attributes(w).ok().and_then(|c| c.reply().ok()).is_some_and(|a| a.map_state == MapState::VIEWABLE))
        .filter(|&w| {
            let titled = conn.get_property(false, w, name, AtomEnum::ANY, 0, 256).ok().and_then(|c| c.reply().ok());
            titled.is_some_and(|p| p.value == title.as_bytes())
        })
        .collect()
}

/// How many different colours a window shows (up to 1000): one for a blank
/// window, many once text and controls are drawn.
pub fn colours_in(window: u32) -> usize {
    use x11rb::protocol::xproto::{ConnectionExt, ImageFormat};
    let (conn, _) = x11rb::connect(None).expect("the X display");
    let Some(geometry) = conn.get_geometry(window).ok().and_then(|c| c.reply().ok()) else { return 0 };
    let Some(image) = conn.get_image(ImageFormat::Z_PIXMAP, window, 0, 0, geometry.width, geometry.height, !0).ok().and_then(|c| c.reply().ok()) else { return 0 };
    let mut seen = std::collections::HashSet::new();
    for pixel in image.data.chunks_exact(4) {
        seen.insert([pixel[0], pixel[1], pixel[2]]);
        if seen.len() >= 1000 {
            break;
        }
    }
    seen.len()
}

/// Closes a window as a window manager's close button does: the
/// WM_DELETE_WINDOW message, which the app may act on as it likes.
pub fn ask_to_close(window: u32) {
    use x11rb::connection::Connection;
    use x11rb::protocol::xproto::{ClientMessageEvent, ConnectionExt, EventMask};
    let (conn, _) = x11rb::connect(None).expect("the X display");
    let atom = |name: &[u8]| conn.intern_atom(false, name).unwrap().reply().unwrap().atom;
    let (protocols, delete) = (atom(b"WM_PROTOCOLS"), atom(b"WM_DELETE_WINDOW"));
    let message = ClientMessageEvent::new(32, window, protocols, [delete, x11rb::CURRENT_TIME, 0, 0, 0]);
    conn.send_event(false, window, EventMask::NO_EVENT, message).unwrap();
    conn.flush().unwrap();
}

/// The whole X screen as an RGBA PNG.
pub fn capture_display(file: &std::path::Path) {
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


/// Where the register of pension providers is published, and its key.
pub struct Register {
    pub url: String,
    pub key: String,
}

/// Publishes, as a governance body would, a signed register listing the
/// two reference providers and the regulator that vouches for advisers.
async fn publish_register(providers: &[(&str, &str)], identity: &identity_service::IdentityService) -> Register {
    let key = registry::RegistryKey::generate();
    let mut entries: Vec<registry::Entry> = providers
        .iter()
        .map(|(url, name)| registry::Entry { role: registry::Role::PensionProvider, id: (*url).into(), name: (*name).into(), status: None, did: None, jwks: None })
        .collect();
    entries.push(registry::Entry {
        role: registry::Role::Regulator,
        id: identity.regulator_url(),
        name: "Reference Financial Conduct Regulator".into(),
        status: None,
        did: None,
        jwks: Some(identity.regulator_key.public_jwks()),
    });
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let signed = key.sign(&registry::Registry { name: "Register of pension providers".into(), version: 1, entries }, now, 3600).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/registry.jws", listener.local_addr().unwrap());
    let app = axum::Router::new().route("/registry.jws", axum::routing::get(move || async move { signed }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Register { url, key: key.did() }
}

/// The app started by tauri-driver over `data_dir`, in a WebDriver session.
async fn app_session(application: &str, driver_url: &str, data_dir: &std::path::Path, backups: &std::path::Path, port: u16, register: &Register) -> fantoccini::Client {
    let listen = format!("127.0.0.1:{port}");
    let args = [
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--listen",
        &listen,
        "--backup-dir",
        backups.to_str().unwrap(),
        "--registry-url",
        &register.url,
        "--registry-key",
        &register.key,
    ];
    let mut capabilities = serde_json::Map::new();
    // No browserName: WebKitGTK reports itself as MiniBrowser and would not match "wry".
    capabilities.insert("tauri:options".into(), json!({ "application": application, "args": args }));
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(driver_url)
        .await
        .expect("a WebDriver session with the app")
}

/// The app in a WebDriver session, its wallet's issuer fixed in advance so
/// the two reference providers can trust it from the start.
pub struct Scene {
    pub ui: Ui,
    pub issuer: String,
    pub identity: Arc<identity_service::IdentityService>,
    pub acme: String,
    pub northwind: String,
    pub data_dir: PathBuf,
    pub backups: PathBuf,
    /// The app's home folder.
    pub home: PathBuf,
    /// Another wallet's issuer the providers also accept (its port kept
    /// free for it), to move a pension to.
    pub other_issuer: String,
    pub wallet_port: u16,
    pub http: reqwest::Client,
    pub register: Register,
    driver_url: String,
    _driver: Driver,
    _dir: tempfile::TempDir,
}

impl Scene {
    /// Starts the providers, tauri-driver and `application` with a new data folder.
    pub async fn launch(application: &str) -> Scene {
        let dir = tempfile::tempdir().unwrap();
        let wallet_port = free_port();
        let issuer = format!("http://127.0.0.1:{wallet_port}");
        let identity = identity_service::spawn_local().await;
        let other_issuer = format!("http://127.0.0.1:{}", free_port());
        let acme = start_provider("acme", &[&issuer, &other_issuer], &identity.url).await;
        let northwind = start_provider("northwind", &[&issuer, &other_issuer], &identity.url).await;
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let (driver, driver_url) = start_driver(&home).await;
        let data_dir = dir.path().join("wallet");
        let backups = dir.path().join("backups");
        let register = publish_register(&[(&acme, "Acme Pensions"), (&northwind, "Northwind Retirement Trust")], &identity).await;
        let client = app_session(application, &driver_url, &data_dir, &backups, wallet_port, &register).await;
        let ui = Ui { client, shots: screenshots_dir(), taken: 0 };
        Scene {
            ui,
            issuer,
            identity,
            acme,
            northwind,
            data_dir,
            backups,
            home,
            other_issuer,
            wallet_port,
            http: reqwest::Client::new(),
            register,
            driver_url,
            _driver: driver,
            _dir: dir,
        }
    }

    /// Ends this window's session and starts the app again in a new one,
    /// over `data_dir` (the same backup folder and address).
    pub async fn relaunch(&mut self, application: &str, data_dir: &std::path::Path) {
        self.ui.client.clone().close().await.unwrap();
        // The app has gone with its session: its address is free again.
        let deadline = Instant::now() + PATIENCE;
        while std::net::TcpStream::connect(("127.0.0.1", self.wallet_port)).is_ok() {
            assert!(Instant::now() < deadline, "the first app still listens");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.ui.client = app_session(application, &self.driver_url, data_dir, &self.backups, self.wallet_port, &self.register).await;
    }

    /// The wallet is created with the owner's identity details; the first
    /// run follows.
    pub async fn create_wallet(&mut self) {
        let ui = &mut self.ui;
        ui.wait_for("[data-testid=screen-create]").await;
        ui.type_into("#passphrase", PASSPHRASE).await;
        ui.type_into("#passphrase-confirm", PASSPHRASE).await;
        ui.type_into("#given-name", "Alice").await;
        ui.type_into("#family-name", "Archer").await;
        ui.type_into("#date-of-birth", "1975-04-12").await;
        ui.type_into("#postcode", "SW1A 1AA").await;
        ui.screenshot("create-wallet").await;
        ui.click("[data-testid=create-wallet]").await;
        ui.wait_for("[data-testid=screen-first-run]").await;
    }

    /// The first run, with nothing to type but who she is: Alice proves who
    /// she is (the app sends her to the identity service's page; her
    /// browser is scripted here, at that very address), the app finds her
    /// pensions at every provider the published register lists, she
    /// protects each of the three (each provider registers its pension at
    /// the wallet and issues a credential), and makes a backup.
    pub async fn first_run(&mut self) {
        let ui = &mut self.ui;
        ui.type_into("#identity-service", &self.identity.url).await;
        ui.click("[data-testid=prove-identity-start]").await;
        let page = ui.text("[data-testid=sign-in-url]").await;
        ui.screenshot("first-run-prove-identity").await;
        let at_code = identity_service::person::start(page.trim(), "alice@example.com").await.expect("the sign-in page");
        at_code.enter(&self.identity.latest_code_for("alice@example.com").expect("a code was sent")).await.expect("signed in");
        ui.wait_for("[data-testid=identity-proven]").await;
        ui.click("[data-testid=first-run-next]").await;

        // The providers came from the register: nothing was typed.
        let providers = ui.text("[data-testid=first-run-providers]").await;
        assert!(providers.contains("Acme Pensions") && providers.contains("Northwind"), "the register's providers: {providers}");
        ui.click("[data-testid=find-pensions]").await;
        ui.wait_for("[data-testid=first-run-found]").await;
        ui.screenshot("first-run-found").await;
        ui.click("[data-testid=first-run-next]").await;

        ui.wait_for_count("[data-testid=offer-card]", 3).await;
        for accepted in 0..3 {
            ui.click("[data-testid=offer-card] [data-testid=accept-offer]:not([disabled])").await;
            // Each success is shown on its card before the next accept.
            let deadline = Instant::now() + PATIENCE;
            while ui.count("[data-testid=accept-success]").await <= accepted && ui.count("[data-testid=accept-error]").await == 0 {
                assert!(Instant::now() < deadline, "no outcome for the accept");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert_eq!(ui.count("[data-testid=accept-error]").await, 0, "accept failed: {}", ui.text("[data-testid=accept-error]").await);
        }
        ui.screenshot("first-run-protected").await;
        ui.click("[data-testid=first-run-next]").await;

        ui.click("[data-testid=first-run-backup]").await;
        let saved = ui.text("[data-testid=first-run-backup-path]").await;
        assert!(saved.contains("uma-wallet-backup-"), "where the backup went: {saved}");
        ui.screenshot("first-run-backup").await;
        ui.click("[data-testid=first-run-next]").await;
        ui.wait_for("[data-testid=screen-pensions]").await;
    }

    /// A client (`name`) asks the Acme provider for the DB pension with its
    /// values, and the wallet files a request: returns the client's
    /// credentials and its polling ticket, and when the wallet answered.
    pub async fn client_asks(&self, name: &str) -> (String, String, String, Instant) {
        let view = format!("{}/pensions/{ACME_DB_ASSET}?include=value", self.acme);
        let challenge = self.http.get(&view).send().await.unwrap();
        assert_eq!(challenge.status(), 401);
        let header = challenge.headers()["www-authenticate"].to_str().unwrap().to_string();
        let ticket = header.split("ticket=\"").nth(1).and_then(|t| t.split('"').next()).expect("a ticket in the challenge").to_string();
        let client: Value = self.http.post(format!("{}/register", self.issuer)).json(&json!({ "client_name": name })).send().await.unwrap().json().await.unwrap();
        let (id, secret) = (client["client_id"].as_str().unwrap().to_string(), client["client_secret"].as_str().unwrap().to_string());
        let answer = self.poll(&id, &secret, &ticket).await;
        let answered = Instant::now();
        assert_eq!(answer["error"], "request_submitted", "{answer}");
        (id, secret, answer["ticket"].as_str().unwrap().to_string(), answered)
    }

    /// Opens `link` as the desktop does for a link clicked anywhere: GIO
    /// (what GNOME's browsers and file manager use) finds the handler the
    /// app registered for its scheme and starts it, and that second start
    /// hands the link to the running app (the handler names its wallet
    /// folder). (Debian 12's generic xdg-open
    /// cannot start a handler whose path is quoted, as the plugin writes it.)
    pub async fn open_link(&self, link: &str) {
        require("gio");
        // The app registers itself as the handler when it starts.
        let handler = self.home.join(".local/share/applications/uma-wallet-desktop-handler.desktop");
        let defaults = self.home.join(".config/mimeapps.list");
        let registered = || {
            let chosen = std::fs::read_to_string(&defaults).unwrap_or_default();
            handler.exists() && chosen.contains("x-scheme-handler/uma-wallet=") && chosen.contains("x-scheme-handler/openid-credential-offer=")
        };
        let deadline = Instant::now() + PATIENCE;
        while !registered() {
            assert!(Instant::now() < deadline, "the app did not register itself for its links");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let status = Command::new("gio")
            .args(["open", link])
            .env("HOME", &self.home)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_DATA_HOME")
            // Nothing names the wallet but the handler itself, as for a link
            // clicked in a browser.
            .env_remove("UMA_WALLET_DATA_DIR")
            .stdout(Stdio::null())
            .status()
            .expect("gio runs");
        assert!(status.success(), "gio open {link}: {status}");
    }

    /// The client's uma-ticket grant request.
    pub async fn poll(&self, id: &str, secret: &str, ticket: &str) -> Value {
        self.http
            .post(format!("{}/token", self.issuer))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", UMA_GRANT), ("ticket", ticket)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// The desktop's panel, as far as the tray goes: a StatusNotifierWatcher
/// on the session bus (Debian's `status-notifier-watcher`, started here if
/// none runs) and this test registered with it as the host that shows the
/// icons, as a panel does.
pub struct Panel {
    bus: zbus::Connection,
    watcher: Option<std::process::Child>,
}

impl Drop for Panel {
    fn drop(&mut self) {
        if let Some(mut watcher) = self.watcher.take() {
            let _ = watcher.kill();
            let _ = watcher.wait();
        }
    }
}

const WATCHER: &str = "org.kde.StatusNotifierWatcher";

impl Panel {
    pub async fn start() -> Panel {
        let bus = zbus::Connection::session().await.expect("a session bus");
        let dbus = zbus::fdo::DBusProxy::new(&bus).await.unwrap();
        let watcher = if dbus.name_has_owner(WATCHER.try_into().unwrap()).await.unwrap() {
            None
        } else {
            require("status-notifier-watcher");
            Some(std::process::Command::new("status-notifier-watcher").stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap())
        };
        let deadline = std::time::Instant::now() + PATIENCE;
        while !dbus.name_has_owner(WATCHER.try_into().unwrap()).await.unwrap() {
            assert!(std::time::Instant::now() < deadline, "the StatusNotifierWatcher starts");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let host = format!("org.kde.StatusNotifierHost-{}", std::process::id());
        bus.request_name(host.as_str()).await.unwrap();
        bus.call_method(Some(WATCHER), "/StatusNotifierWatcher", Some(WATCHER), "RegisterStatusNotifierHost", &(host.as_str(),)).await.unwrap();
        Panel { bus, watcher }
    }

    async fn property<T: TryFrom<zbus::zvariant::OwnedValue>>(&self, service: &str, path: &str, interface: &str, name: &str) -> Option<T> {
        let reply = self.bus.call_method(Some(service), path, Some("org.freedesktop.DBus.Properties"), "Get", &(interface, name)).await.ok()?;
        let value: zbus::zvariant::OwnedValue = reply.body().deserialize().ok()?;
        T::try_from(value).ok()
    }

    /// The icon a process shows, once it shows one.
    pub async fn item_of(&self, pid: u32) -> String {
        let mark = format!("StatusNotifierItem-{pid}-");
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            let items: Vec<String> = self.property(WATCHER, "/StatusNotifierWatcher", WATCHER, "RegisteredStatusNotifierItems").await.unwrap_or_default();
            if let Some(item) = items.into_iter().find(|i| i.contains(&mark)) {
                return item.split('/').next().unwrap().to_string();
            }
            assert!(std::time::Instant::now() < deadline, "the server's icon shows in the tray");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    pub async fn shows(&self, item: &str) -> bool {
        let items: Vec<String> = self.property(WATCHER, "/StatusNotifierWatcher", WATCHER, "RegisteredStatusNotifierItems").await.unwrap_or_default();
        items.iter().any(|i| i.split('/').next() == Some(item))
    }

    /// The icon's menu: each entry's id and label (com.canonical.dbusmenu).
    pub async fn menu(&self, item: &str) -> Vec<(i32, String)> {
        let menu: zbus::zvariant::OwnedObjectPath = self.property(item, "/StatusNotifierItem", "org.kde.StatusNotifierItem", "Menu").await.expect("the icon has a menu");
        let reply = self.bus.call_method(Some(item), menu.as_str(), Some("com.canonical.dbusmenu"), "GetGroupProperties", &(Vec::<i32>::new(), vec!["label"])).await.unwrap();
        let entries: Vec<(i32, std::collections::HashMap<String, zbus::zvariant::OwnedValue>)> = reply.body().deserialize().unwrap();
        entries.into_iter().filter_map(|(id, props)| Some((id, String::try_from(props.get("label")?.try_clone().ok()?).ok()?))).collect()
    }

    /// Clicks the menu entry whose label starts with `label`, as the owner would.
    pub async fn click(&self, item: &str, label: &str) {
        let menu: zbus::zvariant::OwnedObjectPath = self.property(item, "/StatusNotifierItem", "org.kde.StatusNotifierItem", "Menu").await.unwrap();
        let entries = self.menu(item).await;
        let (id, _) = entries.iter().find(|(_, l)| l.starts_with(label)).unwrap_or_else(|| panic!("no {label:?} in {entries:?}"));
        let data = zbus::zvariant::Value::from("");
        self.bus.call_method(Some(item), menu.as_str(), Some("com.canonical.dbusmenu"), "Event", &(*id, "clicked", data, 0u32)).await.unwrap();
    }
}

/// The desktop's notification service, as far as a test goes: it owns
/// `org.freedesktop.Notifications` on the session bus and keeps each
/// notification shown (title and text), as a desktop's would show it.
pub struct Notifications {
    pub shown: Arc<parking_lot::Mutex<Vec<(String, String)>>>,
    _bus: zbus::Connection,
}

struct NotificationService {
    shown: Arc<parking_lot::Mutex<Vec<(String, String)>>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl NotificationService {
    #[allow(clippy::too_many_arguments)] // the specification's method
    async fn notify(
        &self,
        _app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        _actions: Vec<String>,
        _hints: std::collections::HashMap<String, zbus::zvariant::OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut shown = self.shown.lock();
        shown.push((summary, body));
        shown.len() as u32
    }

    async fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into()]
    }

    async fn get_server_information(&self) -> (String, String, String, String) {
        ("test".into(), "uma-wallet".into(), "1".into(), "1.2".into())
    }

    async fn close_notification(&self, _id: u32) {}
}

impl Notifications {
    pub async fn start() -> Notifications {
        let shown = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let bus = zbus::connection::Builder::session()
            .unwrap()
            .name("org.freedesktop.Notifications")
            .unwrap()
            .serve_at("/org/freedesktop/Notifications", NotificationService { shown: shown.clone() })
            .unwrap()
            .build()
            .await
            .expect("no other notification service on this session bus");
        Notifications { shown, _bus: bus }
    }
}

/// A process the test started, ended with the test even when it fails.
pub struct Ending(pub Child);

impl Drop for Ending {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

//! The real parties: the `uma-wallet`, `pension-provider` and
//! `identity-service` binaries, each in its own process on loopback, talked
//! to over HTTP.
//!
//! The binaries are taken from `UMA_WALLET_BIN`, `PENSION_PROVIDER_BIN` and
//! `IDENTITY_SERVICE_BIN` when set (CI builds them first; point them at release builds to attack
//! those), else built here once with `cargo build`, in the debug profile the
//! tests share, where arithmetic overflow panics instead of wrapping.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

pub const PASSPHRASE: &str = "a long and private passphrase";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the workspace").to_path_buf()
}

/// A binary of this workspace.
pub fn binary(name: &str) -> PathBuf {
    let variable = format!("{}_BIN", name.to_uppercase().replace('-', "_"));
    if let Ok(path) = std::env::var(&variable) {
        return PathBuf::from(path);
    }
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--locked", "-p", "uma-wallet-cli", "-p", "pension-provider", "-p", "identity-service", "--bins"])
            .current_dir(workspace())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the binaries failed");
        let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| workspace().join("target"));
        target.join("debug")
    });
    dir.join(name)
}

/// Reads the one JSON line a server prints when it is ready.
fn ready_line(child: &mut Child) -> Value {
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line).expect("ready line");
    serde_json::from_str(&line).unwrap_or_else(|_| panic!("not a ready line: {line:?}"))
}

/// A wallet: `uma-wallet serve` on loopback port 0 over its own data directory.
pub struct WalletProcess {
    pub dir: tempfile::TempDir,
    child: Option<Child>,
    serve_args: Vec<String>,
    pub issuer: String,
    pub owner_api: String,
    /// Where the authorization server itself listens (the issuer may be a
    /// proxy in front of it).
    pub listen: String,
    /// What the tests reach the wallet with: replace it with one that
    /// trusts a proxy's certificate authority.
    pub http: reqwest::Client,
}

pub fn uma_wallet(data_dir: &Path) -> Command {
    let mut command = Command::new(binary("uma-wallet"));
    // Backups stay beside the wallet, never in the documents of whoever runs the tests.
    command.arg("--data-dir").arg(data_dir).arg("--backup-dir").arg(data_dir.join("backups"));
    command.env("UMA_WALLET_PASSPHRASE", PASSPHRASE).env_remove("UMA_WALLET_DATA_DIR");
    // And its anchors (uma_as::anchor): inside the throwaway folder, never
    // in the state folder of whoever runs the tests.
    command.env("XDG_STATE_HOME", data_dir.join("test-state"));
    command
}

impl WalletProcess {
    pub async fn start() -> WalletProcess {
        WalletProcess::start_with(&[]).await
    }

    /// A wallet whose `serve` takes these extra arguments.
    pub async fn start_with(serve_args: &[&str]) -> WalletProcess {
        let dir = tempfile::tempdir().unwrap();
        let init = uma_wallet(dir.path()).arg("init").output().unwrap();
        assert!(init.status.success(), "init: {}", String::from_utf8_lossy(&init.stderr));
        let serve_args = serve_args.iter().map(|a| a.to_string()).collect();
        let mut wallet = WalletProcess {
            dir,
            child: None,
            serve_args,
            issuer: String::new(),
            owner_api: String::new(),
            listen: String::new(),
            http: reqwest::Client::new(),
        };
        wallet.serve();
        wallet
    }

    fn serve(&mut self) {
        let mut command = uma_wallet(self.dir.path());
        command.arg("serve");
        if !self.serve_args.iter().any(|a| a == "--listen") {
            command.args(["--listen", "127.0.0.1:0"]);
        }
        let mut child = command
            .args(&self.serve_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let ready = ready_line(&mut child);
        self.issuer = ready["issuer"].as_str().unwrap().into();
        self.owner_api = ready["owner_api"].as_str().unwrap().into();
        self.listen = ready["listen"].as_str().unwrap().into();
        self.child = Some(child);
    }

    pub fn token(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("owner-token")).unwrap().trim().to_string()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// Calls the owner API.
    pub async fn owner(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.owner_api)).bearer_auth(self.token());
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    pub async fn owner_ok(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let (status, body) = self.owner(method, path, body).await;
        assert!((200..300).contains(&status), "{path}: {status} {body}");
        body
    }

    pub async fn audit_actions(&self) -> Vec<String> {
        let entries = self.owner_ok(reqwest::Method::GET, "/audit?limit=10000", None).await;
        entries.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_string()).collect()
    }

    /// The server's process id, while it runs (for the soak tool).
    #[allow(dead_code)]
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGSTOP: the process stays, its sockets accept connections (the
    /// kernel does that) and nothing answers, as with a laptop asleep.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT after [`WalletProcess::pause`].
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("the wallet is running");
        let status = Command::new("kill").arg(signal).arg(child.id().to_string()).status().unwrap();
        assert!(status.success(), "kill {signal}");
    }

    /// SIGKILL: nothing is flushed, nothing is cleaned up.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM: the server drains and flushes, then exits.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.serve();
    }

    /// Stops the server and serves again with these arguments instead.
    pub fn restart_with(&mut self, serve_args: &[&str]) {
        self.stop();
        self.serve_args = serve_args.iter().map(|a| a.to_string()).collect();
        self.serve();
    }

    /// Used by the soak tool (`tests/soak.rs`), which shares this harness.
    #[allow(dead_code)]
    pub fn restart_after_kill(&mut self) {
        self.kill9();
        self.serve();
    }

    /// Bytes under the data directory.
    pub fn disk_usage(&self) -> u64 {
        fn walk(path: &Path) -> u64 {
            std::fs::read_dir(path).map_or(0, |entries| {
                entries.flatten().map(|e| if e.path().is_dir() { walk(&e.path()) } else { e.metadata().map_or(0, |m| m.len()) }).sum()
            })
        }
        walk(self.dir.path())
    }
}

impl Drop for WalletProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The JSON lines a peer writes on standard error: the post and email it
/// sends people (one-time codes, confirmation codes), among its logs.
#[derive(Clone, Default)]
pub struct Mailbox(std::sync::Arc<parking_lot::Mutex<Vec<Value>>>);

impl Mailbox {
    fn read_from(child: &mut Child) -> Mailbox {
        let mailbox = Mailbox::default();
        let lines = BufReader::new(child.stderr.take().expect("piped stderr"));
        let kept = mailbox.clone();
        std::thread::spawn(move || {
            for line in lines.lines().map_while(Result::ok) {
                if let Ok(message) = serde_json::from_str::<Value>(&line) {
                    kept.0.lock().push(message);
                }
            }
        });
        mailbox
    }

    /// How many messages have arrived: a mark to wait for newer ones.
    pub fn mark(&self) -> usize {
        self.0.lock().len()
    }

    /// The latest `event` message whose `field` is `value`, waiting a little
    /// for it to arrive.
    pub async fn latest(&self, event: &str, field: &str, value: &str) -> Option<Value> {
        self.latest_since(0, event, field, value).await
    }

    /// The same, among the messages that arrived after `mark`.
    pub async fn latest_since(&self, mark: usize, event: &str, field: &str, value: &str) -> Option<Value> {
        for _ in 0..100 {
            let found = self.0.lock().iter().skip(mark).rev().find(|m| m["event"] == event && m[field] == value).cloned();
            if found.is_some() {
                return found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        None
    }
}

/// A reference pension provider: `pension-provider serve`.
pub struct ProviderProcess {
    child: Child,
    pub url: String,
    /// What it writes to members.
    pub post: Mailbox,
}

impl ProviderProcess {
    /// A provider that trusts the wallets `trusted` and the identity
    /// services `identity_issuers`.
    pub fn start(fixtures: &str, trusted: &[&str], identity_issuers: &[&str]) -> ProviderProcess {
        let mut args = Vec::new();
        for issuer in trusted {
            args.extend(["--trust-as".to_string(), issuer.to_string()]);
        }
        for issuer in identity_issuers {
            args.extend(["--trust-identity-issuer".to_string(), issuer.to_string()]);
        }
        ProviderProcess::start_with(fixtures, &args)
    }

    /// A provider started with these `serve` arguments.
    pub fn start_with(fixtures: &str, args: &[String]) -> ProviderProcess {
        ProviderProcess::start_with_env(fixtures, args, &[])
    }

    /// The same, with these environment variables.
    pub fn start_with_env(fixtures: &str, args: &[String], env: &[(&str, &Path)]) -> ProviderProcess {
        let mut command = Command::new(binary("pension-provider"));
        command.args(["serve", "--fixtures", fixtures]).args(args).envs(env.iter().copied());
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let ready = ready_line(&mut child);
        let post = Mailbox::read_from(&mut child);
        ProviderProcess { url: ready["url"].as_str().unwrap().into(), child, post }
    }
}

/// The reference identity service: `identity-service serve`.
pub struct IdentityProcess {
    child: Child,
    pub url: String,
    /// The email it sends people: their one-time codes.
    pub email: Mailbox,
}

impl IdentityProcess {
    pub fn start() -> IdentityProcess {
        let mut child = Command::new(binary("identity-service")).arg("serve").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let ready = ready_line(&mut child);
        let email = Mailbox::read_from(&mut child);
        IdentityProcess { url: ready["url"].as_str().unwrap().into(), child, email }
    }

    /// The first one-time code sent to `address` after `mark`
    /// ([`Mailbox::mark`] taken before the sign-in began).
    pub async fn code_for(&self, address: &str, mark: usize) -> String {
        let message = self.email.latest_since(mark, "one_time_code", "to", address).await.unwrap_or_else(|| panic!("no code was sent to {address}"));
        message["code"].as_str().unwrap().to_string()
    }
}

impl Drop for IdentityProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ProviderProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Seconds since the Unix epoch, as tokens count time.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Alice's identity details, as the reference providers know her, stated
/// and marked verified by whoever typed them.
pub fn alice() -> Value {
    json!({
        "given_name": "Alice", "family_name": "Archer", "date_of_birth": "1975-04-12",
        "postcode": "SW1A 1AA", "verified": ["name", "date_of_birth", "address"]
    })
}

impl WalletProcess {
    /// Signs in at the identity service as the holder of `email` does: the
    /// wallet opens the page, the person gives the code from their email.
    pub async fn prove_identity(&self, identity: &IdentityProcess, email: &str) -> Value {
        let mark = identity.email.mark();
        let started = self.owner_ok(reqwest::Method::POST, "/identity/credential", Some(json!({ "issuer": identity.url }))).await;
        let page = identity_service::person::start(started["authorize_url"].as_str().unwrap(), email).await.unwrap();
        page.enter(&identity.code_for(email, mark).await).await.unwrap();
        for _ in 0..200 {
            let status = self.owner_ok(reqwest::Method::GET, "/identity/credential", None).await;
            match status["sign_in"]["state"].as_str() {
                Some("finished") => return status["credential"].clone(),
                Some("failed") => panic!("signing in failed: {status}"),
                _ => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
        panic!("the wallet never collected the identity credential");
    }
}

/// Alice's wallet with her identity proven, Acme connected and her pensions
/// there accepted. Returns the accepted offers.
pub async fn alice_with_acme(wallet: &WalletProcess, acme: &ProviderProcess, identity: &IdentityProcess) -> Vec<Value> {
    wallet.prove_identity(identity, "alice@example.com").await;
    wallet.owner_ok(reqwest::Method::POST, "/providers", Some(json!({ "url": acme.url }))).await;
    let offers = wallet.owner_ok(reqwest::Method::GET, "/offers", None).await["offers"].as_array().unwrap().clone();
    assert!(!offers.is_empty(), "Acme offers Alice's pensions");
    for offer in &offers {
        let accepted = wallet.owner_ok(reqwest::Method::POST, "/offers/accept", Some(json!({ "provider": acme.url, "resource_id": offer["resource_id"] }))).await;
        assert_eq!(accepted["credential"]["status"], "active", "{accepted}");
    }
    offers
}

/// Sends a request and reads its JSON answer, whatever its status.
pub async fn answer(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap_or(Value::Null)
}

/// A resource server the owner connected by minting an assertion for it.
pub async fn connect_resource_server(wallet: &WalletProcess, name: &str) -> String {
    let minted = wallet.owner_ok(reqwest::Method::POST, "/assertions", Some(json!({ "resource_server": name }))).await;
    let body = answer(wallet.http.post(wallet.url("/token")).form(&[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", minted["assertion"].as_str().unwrap())])).await;
    body["access_token"].as_str().unwrap_or_else(|| panic!("no PAT: {body}")).to_string()
}

pub async fn register_resource(wallet: &WalletProcess, pat: &str, name: &str) -> String {
    let created = answer(wallet.http.post(wallet.url("/resource_set")).bearer_auth(pat).json(&json!({ "name": name, "resource_scopes": ["owner", "value"] }))).await;
    created["_id"].as_str().unwrap().to_string()
}

pub async fn ticket(wallet: &WalletProcess, pat: &str, resource_id: &str, scopes: &[&str]) -> String {
    let body = answer(wallet.http.post(wallet.url("/permission")).bearer_auth(pat).json(&json!({ "resource_id": resource_id, "resource_scopes": scopes }))).await;
    body["ticket"].as_str().unwrap_or_else(|| panic!("no ticket: {body}")).to_string()
}

/// A client registered at the wallet.
pub struct Client {
    pub id: String,
    pub secret: String,
}

pub async fn register_client(wallet: &WalletProcess, name: &str) -> Client {
    let body = answer(wallet.http.post(wallet.url("/register")).json(&json!({ "client_name": name, "claims_redirect_uris": ["https://client.example/back"] }))).await;
    Client { id: body["client_id"].as_str().unwrap().into(), secret: body["client_secret"].as_str().unwrap().into() }
}

/// The uma-ticket grant, with extra parameters.
pub async fn uma_grant(wallet: &WalletProcess, client: &Client, ticket: &str, extra: &[(&str, &str)]) -> (u16, Value) {
    let mut form = vec![("grant_type", "urn:ietf:params:oauth:grant-type:uma-ticket"), ("ticket", ticket)];
    form.extend_from_slice(extra);
    let response = wallet.http.post(wallet.url("/token")).basic_auth(&client.id, Some(&client.secret)).form(&form).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

pub async fn introspect(wallet: &WalletProcess, pat: &str, token: &str) -> Value {
    answer(wallet.http.post(wallet.url("/introspect")).bearer_auth(pat).form(&[("token", token)])).await
}

/// The status a pension's view answers, with or without an RPT.
pub async fn read_status(view: &str, rpt: Option<&str>) -> u16 {
    let mut request = reqwest::Client::new().get(view);
    if let Some(rpt) = rpt {
        request = request.bearer_auth(rpt);
    }
    request.send().await.unwrap().status().as_u16()
}

/// The UMA challenge a pension's view answers a reader without a token:
/// its `as_uri` and `ticket`.
pub async fn uma_challenge(view: &str) -> (String, String) {
    let response = reqwest::Client::new().get(view).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let header = response.headers()["www-authenticate"].to_str().unwrap().to_string();
    let part = |name: &str| header.split(&format!("{name}=\"")).nth(1).unwrap().split('"').next().unwrap().to_string();
    (part("as_uri"), part("ticket"))
}

/// The dashboard asks to see `view`; the owner approves the administrative
/// data in the app; the dashboard's next try gets an RPT.
pub async fn approved_rpt(wallet: &WalletProcess, dashboard: &Client, view: &str) -> String {
    let (status, asked) = uma_grant(wallet, dashboard, &uma_challenge(view).await.1, &[]).await;
    assert_eq!((status, asked["error"].as_str()), (403, Some("request_submitted")), "{asked}");
    let pending = wallet.owner_ok(reqwest::Method::GET, "/pending", None).await;
    let request = &pending.as_array().unwrap().last().expect("the dashboard's request waits for the owner").clone();
    let resource_id = request["permissions"][0]["resource_id"].clone();
    let approval = json!({ "permissions": [{ "resource_id": resource_id, "resource_scopes": ["owner"] }] });
    wallet.owner_ok(reqwest::Method::POST, &format!("/pending/{}/approve", request["id"].as_str().unwrap()), Some(approval)).await;
    let (status, granted) = uma_grant(wallet, dashboard, asked["ticket"].as_str().unwrap(), &[]).await;
    assert_eq!(status, 200, "{granted}");
    granted["access_token"].as_str().unwrap().to_string()
}

/// The owner revokes every grant still standing.
pub async fn revoke_everything(wallet: &WalletProcess) {
    for grant in wallet.owner_ok(reqwest::Method::GET, "/grants", None).await.as_array().unwrap() {
        if grant["revoked_at"].is_null() {
            wallet.owner_ok(reqwest::Method::POST, &format!("/grants/{}/revoke", grant["id"].as_str().unwrap()), None).await;
        }
    }
}

/// A listener on another loopback port that counts what reaches it: where
/// a server must never be steered.
pub struct Canary {
    pub url: String,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Canary {
    pub async fn start() -> Canary {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = hits.clone();
        let app = axum::Router::new().fallback(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { "{}" }
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Canary { url, hits }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A port free on loopback a moment ago: for a server whose address must
/// be known before it starts (a proxy, and the issuer URL naming it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Caddy (the Debian package) terminating TLS on `https://localhost:{port}`
/// with a certificate from its own internal CA, and proxying to `upstream`.
pub struct CaddyProcess {
    child: Child,
    _dir: tempfile::TempDir,
    pub url: String,
    /// Caddy's root certificate (PEM): what a party must trust to reach `url`.
    pub root_ca: PathBuf,
}

impl CaddyProcess {
    pub async fn start(port: u16, upstream: &str) -> CaddyProcess {
        let dir = tempfile::tempdir().unwrap();
        let storage = dir.path().join("data");
        // No admin endpoint, no port 80, and nothing written outside `dir`:
        // not its CA into the system's trust store, nor its state into $HOME.
        let config = format!(
            r#"{{
    admin off
    skip_install_trust
    local_certs
    auto_https disable_redirects
    storage file_system {storage}
    https_port {port}
}}
https://localhost:{port} {{
    bind 127.0.0.1
    tls internal
    reverse_proxy {upstream}
}}
"#,
            storage = storage.display()
        );
        let caddyfile = dir.path().join("Caddyfile");
        std::fs::write(&caddyfile, config).unwrap();
        let child = Command::new("caddy")
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(&caddyfile)
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("caddy is installed (scripts/install-deps.sh --test-tools)");
        let caddy = CaddyProcess { child, url: format!("https://localhost:{port}"), root_ca: storage.join("pki/authorities/local/root.crt"), _dir: dir };
        for _ in 0..200 {
            if caddy.root_ca.exists() {
                if let Ok(response) = caddy.client().get(format!("{}/.well-known/uma2-configuration", caddy.url)).send().await {
                    if response.status().is_success() {
                        return caddy;
                    }
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("caddy did not serve {} within 10 s", caddy.url);
    }

    /// An HTTP client that trusts Caddy's CA (and no other private one).
    pub fn client(&self) -> reqwest::Client {
        let pem = std::fs::read(&self.root_ca).unwrap();
        reqwest::Client::builder().add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap()).build().unwrap()
    }
}

impl Drop for CaddyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

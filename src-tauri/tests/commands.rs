//! The window's commands through Tauri's IPC (the mock runtime: no window,
//! but the real command registration, argument parsing and error
//! serialization), over a real wallet on disk whose server listens on loopback.

use serde_json::{json, Value};
use std::net::TcpListener;
use std::time::Instant;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, Manager, WebviewWindow, WebviewWindowBuilder};
use wallet::{Clock, KdfParams};
use uma_wallet_desktop::desktop::{Desktop, DesktopOptions};

const PASSPHRASE: &str = "correct horse battery";
const UMA_GRANT: &str = "urn:ietf:params:oauth:grant-type:uma-ticket";

fn quick_kdf() -> KdfParams {
    KdfParams { memory_kib: 1024, iterations: 1, parallelism: 1 }
}

struct TestApp {
    dir: tempfile::TempDir,
    clock: Clock,
    _app: App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
}

impl TestApp {
    /// An app over `dir`, its server on a free port unless `listen_from_settings`.
    fn new(dir: tempfile::TempDir, listen_from_settings: bool) -> TestApp {
        let clock = Clock::manual(1_800_000_000);
        let desktop = Desktop::new(DesktopOptions {
            data_dir: dir.path().join("wallet"),
            backup_dir: dir.path().join("backups"),
            listen_override: (!listen_from_settings).then(|| "127.0.0.1:0".parse().unwrap()),
            clock: clock.clone(),
            kdf: quick_kdf(),
            started: Instant::now(),
            registry: None,
            anchor_dir: Some(dir.path().join("anchors")),
        });
        // The app's own configuration, so its capabilities (the ACL) apply as in the real window.
        let app = uma_wallet_desktop::build(mock_builder(), desktop).build(tauri::generate_context!()).expect("app builds");
        let window = WebviewWindowBuilder::new(&app, "main", Default::default()).build().expect("window builds");
        TestApp { dir, clock, _app: app, window }
    }

    fn start() -> TestApp {
        TestApp::new(tempfile::tempdir().unwrap(), false)
    }

    /// Invokes a command as the window would; `Err` is the rejected promise's value.
    fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        invoke_from(&self.window, cmd, args)
    }

}

fn invoke_from(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    {
        let request = InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        get_ipc_response(window, request).map(|body| body.deserialize::<Value>().expect("answers are JSON"))
    }
}

impl TestApp {

    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.invoke(cmd, args).unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    fn error_kind(&self, cmd: &str, args: Value) -> String {
        match self.invoke(cmd, args) {
            Ok(v) => panic!("{cmd} should fail, answered {v}"),
            Err(e) => {
                assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "every error explains itself: {e}");
                e["kind"].as_str().unwrap().to_string()
            }
        }
    }

    fn create(&self) -> Value {
        self.ok("create_wallet", json!({ "passphrase": PASSPHRASE, "identity": null }))
    }
}

fn identity() -> Value {
    json!({ "given_name": "Alice", "family_name": "Archer", "date_of_birth": "1975-04-12", "postcode": "SW1A 1AA", "verified": ["name"] })
}

#[test]
fn the_window_may_call_the_wallets_commands_and_nothing_else() {
    let app = TestApp::start();
    assert!(app.invoke("app_state", json!({})).is_ok());
    let refused = app.invoke("plugin:event|listen", json!({ "event": "x", "target": { "kind": "Any" }, "handler": 1 })).unwrap_err();
    assert!(refused.as_str().is_some_and(|m| m.contains("not allowed")), "core APIs are not granted: {refused}");
    let other = WebviewWindowBuilder::new(&app._app, "other", Default::default()).build().unwrap();
    let refused = invoke_from(&other, "app_state", json!({})).unwrap_err();
    assert!(refused.as_str().is_some_and(|m| m.contains("not allowed")), "only the main window is granted: {refused}");
}

#[test]
fn first_run_creates_the_wallet_starts_its_server_and_keeps_the_identity() {
    let app = TestApp::start();
    let state = app.ok("app_state", json!({}));
    assert_eq!((state["wallet_exists"].as_bool(), state["unlocked"].as_bool()), (Some(false), Some(false)));
    assert_eq!(app.error_kind("create_wallet", json!({ "passphrase": "short", "identity": null })), "invalid_input");
    assert_eq!(app.ok("app_state", json!({}))["wallet_exists"], false, "a refused passphrase creates nothing");

    let state = app.ok("create_wallet", json!({ "passphrase": PASSPHRASE, "identity": identity() }));
    assert_eq!((state["wallet_exists"].as_bool(), state["unlocked"].as_bool()), (Some(true), Some(true)));
    let issuer = state["server"]["issuer"].as_str().unwrap();
    let metadata: Value = reqwest::blocking::get(format!("{issuer}/.well-known/uma2-configuration")).unwrap().json().unwrap();
    assert_eq!(metadata["issuer"], issuer, "the authorization server answers on loopback");
    assert_eq!(app.ok("get_identity", json!({}))["given_name"], "Alice");
    assert_eq!(app.ok("list_requests", json!({ "all": true })), json!([]), "the owner service answers");
    assert_eq!(app.error_kind("create_wallet", json!({ "passphrase": PASSPHRASE, "identity": null })), "wallet_exists");
}

#[test]
fn a_locked_wallet_answers_nothing_and_a_wrong_passphrase_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let app = TestApp::new(dir, false);
        app.create();
        app.ok("add_provider", json!({ "url": "http://127.0.0.1:9", "name": "Kept" }));
        // Quitting the app stops its server and closes the wallet.
        tauri::async_runtime::block_on(app.window.state::<Desktop>().lock());
        let dir = app.dir;
        // A second app over the same folder.
        let app = TestApp::new(dir, false);
        assert_eq!(app.ok("app_state", json!({}))["unlocked"], false);
        assert_eq!(app.error_kind("list_requests", json!({ "all": false })), "locked");
        assert_eq!(app.error_kind("unlock_wallet", json!({ "passphrase": "not the passphrase" })), "wrong_passphrase");
        assert_eq!(app.ok("unlock_wallet", json!({ "passphrase": PASSPHRASE }))["unlocked"], true);
        assert_eq!(app.ok("list_providers", json!({}))[0]["name"], "Kept", "nothing was lost");
    }
}

/// "Lock now": the window asks for the passphrase again, and no owner
/// command runs meanwhile, but the wallet stays open and its server keeps
/// answering, so requests still arrive.
#[test]
fn a_locked_screen_keeps_the_server_answering_and_opens_only_with_the_passphrase() {
    let app = TestApp::start();
    let issuer = app.create()["server"]["issuer"].as_str().unwrap().to_string();
    let locked = app.ok("lock_screen", json!({}));
    assert_eq!((locked["unlocked"].as_bool(), locked["wallet_exists"].as_bool()), (Some(false), Some(true)));
    assert_eq!(app.error_kind("list_requests", json!({ "all": false })), "locked");
    assert_eq!(app.error_kind("export_backup", json!({})), "locked");
    let metadata: Value = reqwest::blocking::get(format!("{issuer}/.well-known/uma2-configuration")).unwrap().json().unwrap();
    assert_eq!(metadata["issuer"], issuer.as_str(), "the server keeps answering while the screen is locked");
    assert_eq!(app.error_kind("unlock_wallet", json!({ "passphrase": "not the passphrase" })), "wrong_passphrase");
    assert_eq!(app.ok("app_state", json!({}))["unlocked"], false);
    let open = app.ok("unlock_wallet", json!({ "passphrase": PASSPHRASE }));
    assert_eq!((open["unlocked"].as_bool(), open["server"]["issuer"].as_str()), (Some(true), Some(issuer.as_str())), "the same server, not a new one");
    assert_eq!(app.ok("list_requests", json!({ "all": false })), json!([]));
}

/// Closing the window while the passphrase is being checked leaves the
/// screens locked: the unlock under way does not open them again once its
/// check ends (the next window would otherwise open unlocked).
#[test]
fn closing_the_window_during_an_unlock_leaves_the_screens_locked() {
    let app = TestApp::start();
    app.create();
    let desktop = app.window.state::<Desktop>();
    let handle = app.window.app_handle().clone();
    // The check runs on another thread: it is caught under way on almost
    // every try, and a try that finished at once proves nothing, so again.
    let caught = (0..50).any(|_| {
        app.ok("lock_screen", json!({}));
        tauri::async_runtime::block_on(async {
            let mut unlocking = std::pin::pin!(desktop.unlock(&handle, PASSPHRASE.into(), false));
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            if std::future::Future::poll(unlocking.as_mut(), &mut cx).is_ready() {
                return false;
            }
            desktop.window_closed();
            unlocking.await.expect("the passphrase is right");
            true
        })
    });
    assert!(caught, "no unlock was caught under way");
    assert_eq!(app.ok("app_state", json!({}))["unlocked"], false);
    assert_eq!(app.error_kind("list_requests", json!({ "all": false })), "locked");
    assert_eq!(app.ok("unlock_wallet", json!({ "passphrase": PASSPHRASE }))["unlocked"], true, "and the next unlock opens them");
}

#[test]
fn a_taken_port_is_reported_and_another_address_can_be_chosen() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let app = TestApp::new(tempfile::tempdir().unwrap(), true);
    app.ok("save_settings", json!({ "settings": { "listen": taken.local_addr().unwrap().to_string(), "public_issuer": null } }));
    assert_eq!(app.error_kind("create_wallet", json!({ "passphrase": PASSPHRASE, "identity": null })), "port_in_use");
    let state = app.ok("app_state", json!({}));
    assert_eq!((state["wallet_exists"].as_bool(), state["unlocked"].as_bool()), (Some(true), Some(false)), "the wallet exists, locked");

    assert_eq!(app.error_kind("save_settings", json!({ "settings": { "listen": "not an address", "public_issuer": null } })), "invalid_input");
    app.ok("save_settings", json!({ "settings": { "listen": "127.0.0.1:0", "public_issuer": null } }));
    let state = app.ok("unlock_wallet", json!({ "passphrase": PASSPHRASE }));
    assert_eq!(state["unlocked"], true);
    assert_ne!(state["server"]["listen"], taken.local_addr().unwrap().to_string());
}

#[test]
fn a_new_wallet_takes_the_next_free_address_when_another_program_holds_the_usual_one_and_keeps_it() {
    // Held here, or already by some other program: taken either way.
    let _held = TcpListener::bind(uma_wallet_desktop::desktop::DEFAULT_LISTEN);
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::new(dir, true);
    let state = app.create();
    assert_eq!(state["unlocked"], true, "{state}");
    let listen = state["server"]["listen"].as_str().unwrap().to_string();
    assert_ne!(listen, uma_wallet_desktop::desktop::DEFAULT_LISTEN);
    assert_eq!(state["settings"]["listen"], listen.as_str(), "kept as her wallet's address");
    let saved: Value = serde_json::from_slice(&std::fs::read(app.dir.path().join("wallet").join("desktop.json")).unwrap()).unwrap();
    assert_eq!(saved["listen"], listen.as_str());
}

#[test]
fn a_wallet_open_in_another_program_is_reported_as_in_use() {
    let app = TestApp::new(tempfile::tempdir().unwrap(), false);
    let data_dir = app.dir.path().join("wallet");
    wallet::Wallet::init(&data_dir, PASSPHRASE, quick_kdf()).unwrap();
    let _held = wallet::Wallet::open(&data_dir, PASSPHRASE, wallet::Config::new("http://127.0.0.1:1"), Clock::System).unwrap();
    assert_eq!(app.error_kind("unlock_wallet", json!({ "passphrase": PASSPHRASE })), "wallet_in_use");
}

#[test]
fn ids_cannot_reach_other_endpoints() {
    let app = TestApp::start();
    app.create();
    assert_eq!(app.error_kind("revoke_grant", json!({ "id": "../policies" })), "invalid_request");
    assert_eq!(app.error_kind("show_credential", json!({ "id": "x?all=true" })), "invalid_request");
    assert_eq!(app.error_kind("deny_request", json!({ "id": "0123abcd" })), "not_found");
}

/// A client asks, the owner approves through the commands, the client's
/// poll gets a token; a request left until its client gave up cannot be approved.
#[test]
fn requests_are_decided_through_the_commands() {
    let app = TestApp::start();
    let state = app.create();
    let issuer = state["server"]["issuer"].as_str().unwrap().to_string();
    let owner_api = state["server"]["owner_api"].as_str().unwrap().to_string();
    let token = std::fs::read_to_string(app.dir.path().join("wallet/owner-token")).unwrap();
    let http = reqwest::blocking::Client::new();

    // A resource server connected by the owner, with one pension.
    let minted: Value = http.post(format!("{owner_api}/assertions")).bearer_auth(token.trim()).json(&json!({ "resource_server": "rs" })).send().unwrap().json().unwrap();
    let pat: Value = http
        .post(format!("{issuer}/token"))
        .form(&[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", minted["assertion"].as_str().unwrap())])
        .send()
        .unwrap()
        .json()
        .unwrap();
    let pat = pat["access_token"].as_str().unwrap().to_string();
    let resource: Value = http
        .post(format!("{issuer}/resource_set"))
        .bearer_auth(&pat)
        .json(&json!({ "name": "Acme DB", "resource_scopes": ["owner", "value"] }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let resource_id = resource["_id"].as_str().unwrap().to_string();
    let client: Value = http.post(format!("{issuer}/register")).json(&json!({ "client_name": "Dashboard" })).send().unwrap().json().unwrap();
    let (client_id, secret) = (client["client_id"].as_str().unwrap().to_string(), client["client_secret"].as_str().unwrap().to_string());
    let ask = || {
        let ticket: Value = http
            .post(format!("{issuer}/permission"))
            .bearer_auth(&pat)
            .json(&json!({ "resource_id": resource_id, "resource_scopes": ["owner", "value"] }))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let answer: Value = http
            .post(format!("{issuer}/token"))
            .basic_auth(&client_id, Some(&secret))
            .form(&[("grant_type", UMA_GRANT), ("ticket", ticket["ticket"].as_str().unwrap())])
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(answer["error"], "request_submitted", "{answer}");
        answer["ticket"].as_str().unwrap().to_string()
    };

    let polling = ask();
    let inbox = app.ok("list_requests", json!({ "all": false }));
    assert_eq!(inbox.as_array().unwrap().len(), 1);
    assert_eq!(inbox[0]["client_name"], "Dashboard");
    let approval = json!({ "permissions": [{ "resource_id": resource_id, "resource_scopes": ["owner"] }] });
    app.ok("approve_request", json!({ "id": inbox[0]["id"], "approval": approval }));
    assert!(app.ok("list_requests", json!({ "all": false })).as_array().unwrap().is_empty());
    let answer: Value = http
        .post(format!("{issuer}/token"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("grant_type", UMA_GRANT), ("ticket", polling.as_str())])
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(answer["access_token"].is_string(), "the client's poll gets its token: {answer}");
    let grants = app.ok("list_grants", json!({}));
    assert_eq!(grants[0]["scopes"], json!(["owner"]), "only the scope the owner ticked");

    // Asked for both scopes again: the value scope needs a decision. The client then gives up.
    ask();
    let waiting = app.ok("list_requests", json!({ "all": false }))[0]["id"].clone();
    let Clock::Manual(now) = &app.clock else { unreachable!() };
    now.fetch_add(8 * 24 * 3600, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(app.error_kind("approve_request", json!({ "id": waiting, "approval": {} })), "expired_request");
    assert_eq!(app.ok("list_grants", json!({})).as_array().unwrap().len(), 1, "nothing granted by the expired request");
}

#[test]
fn a_backup_is_written_sealed_and_settings_survive_a_restart() {
    let app = TestApp::start();
    app.ok("create_wallet", json!({ "passphrase": PASSPHRASE, "identity": identity() }));
    let path = app.ok("export_backup", json!({}))["path"].as_str().unwrap().to_string();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("uma-wallet-backup/1"));
    assert!(!text.contains("Archer"), "identity details stay sealed in the backup");
    let copy = app.dir.path().join("restored");
    assert!(wallet::Wallet::restore(std::path::Path::new(&path), &copy, "not the passphrase", None).is_err());
    wallet::Wallet::restore(std::path::Path::new(&path), &copy, PASSPHRASE, None).unwrap();
    let restored = wallet::Wallet::open(&copy, PASSPHRASE, wallet::Config::new("http://127.0.0.1:1"), Clock::System).unwrap();
    assert_eq!(restored.pensions().identity().unwrap().unwrap().family_name, "Archer", "the backup restores the wallet");
    drop(restored);

    app.ok("save_settings", json!({ "settings": { "listen": "127.0.0.1:0", "public_issuer": "https://wallet.example" } }));
    let state = app.ok("app_state", json!({}));
    assert_eq!(state["unlocked"], false, "a new address reopens the wallet");
    let state = app.ok("unlock_wallet", json!({ "passphrase": PASSPHRASE }));
    assert_eq!(state["server"]["issuer"], "https://wallet.example");
    assert_eq!(state["settings"]["public_issuer"], "https://wallet.example");
}

/// The owner fears her passphrase is known: a new one with a new key. A
/// wrong current passphrase closes nothing; the right one closes the
/// wallet, replaces the key and opens it again, under the new passphrase only.
#[test]
fn a_new_key_with_a_new_passphrase_reopens_the_wallet_under_the_new_one_only() {
    let app = TestApp::start();
    app.create();
    let new = "purple tractor sings loudly";
    let wrong = json!({ "current": "not the passphrase", "new": new, "newKey": true });
    assert_eq!(app.error_kind("change_passphrase", wrong), "wrong_passphrase");
    assert_eq!(app.ok("app_state", json!({}))["unlocked"], true, "nothing was closed");
    let state = app.ok("change_passphrase", json!({ "current": PASSPHRASE, "new": new, "newKey": true }));
    assert_eq!(state["unlocked"], true, "{state}");
    app.ok("lock_screen", json!({}));
    assert_eq!(app.error_kind("unlock_wallet", json!({ "passphrase": PASSPHRASE })), "wrong_passphrase");
    assert_eq!(app.ok("unlock_wallet", json!({ "passphrase": new }))["unlocked"], true);
    let activity = app.ok("list_audit", json!({ "query": { "action": "wallet.key_replaced" } }));
    assert_eq!(activity.as_array().map(Vec::len), Some(1), "{activity}");
}

/// `uma-wallet serve` already runs the wallet (started at login, say): the
/// app opens its screens over it, still asking for the passphrase, and
/// locking or closing the app leaves it serving.
#[test]
fn the_app_opens_its_screens_over_a_wallet_another_program_serves() {
    let (app, mut served, issuer) = ServedElsewhere::opened_by_the_app(false);
    assert_eq!(
        app.error_kind("save_settings", json!({ "settings": { "listen": "127.0.0.1:0", "public_issuer": "https://wallet.example" } })),
        "served_elsewhere",
        "its address is the serving program's"
    );
    app.ok("lock_screen", json!({}));
    let metadata = reqwest::blocking::get(format!("{issuer}/.well-known/uma2-configuration")).unwrap();
    assert_eq!(metadata.status(), 200, "the serving program goes on");
    assert_eq!(app.error_kind("unlock_wallet", json!({ "passphrase": "not the passphrase" })), "wrong_passphrase");
    app.ok("unlock_wallet", json!({ "passphrase": PASSPHRASE }));

    // The serving program stops: the app's screens lock, and the next
    // unlock opens the wallet in the app itself.
    served.stop();
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    while app.ok("app_state", json!({}))["unlocked"] == true {
        assert!(Instant::now() < deadline, "the app noticed the server stopped");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(app.error_kind("get_identity", json!({})), "locked");
    let state = app.ok("unlock_wallet", json!({ "passphrase": PASSPHRASE }));
    assert_ne!(state["server"]["issuer"], issuer.as_str(), "a server of the app's own: {state}");
    assert_eq!(app.ok("get_identity", json!({}))["family_name"], "Archer");
}

/// `uma-wallet serve --locked` started at login waits for the passphrase:
/// the app's unlock gives it, and the app's screens open over that server.
#[test]
fn the_apps_unlock_opens_a_wallet_a_locked_server_waits_with() {
    let (app, mut served, issuer) = ServedElsewhere::opened_by_the_app(true);
    let metadata = reqwest::blocking::get(format!("{issuer}/.well-known/uma2-configuration")).unwrap();
    assert_eq!(metadata.status(), 200, "the server it opened answers for the wallet");
    app.ok("lock_screen", json!({}));
    app.ok("unlock_wallet", json!({ "passphrase": PASSPHRASE }));
    served.stop();
}

/// A new wallet that `uma-wallet serve` (or `serve --locked`) runs in a
/// runtime of its own, as another program would.
struct ServedElsewhere {
    runtime: tokio::runtime::Runtime,
    issuer: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<Result<(), wallet::serve::ServeError>>>,
}

impl ServedElsewhere {
    fn start(data_dir: &std::path::Path, locked: bool) -> ServedElsewhere {
        wallet::Wallet::init(data_dir, PASSPHRASE, quick_kdf()).unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let stopped = async { let _ = stopped.await; };
        let (issuer, server) = if locked {
            let options = wallet::serve::ServeOptions::on_loopback(data_dir, "", Clock::System);
            let locked = runtime.block_on(wallet::serve::bind_locked(options)).unwrap();
            (locked.ready.issuer.clone(), runtime.spawn(locked.run(stopped)))
        } else {
            let options = wallet::serve::ServeOptions::on_loopback(data_dir, PASSPHRASE, Clock::System);
            let bound = runtime.block_on(wallet::serve::bind(options)).unwrap();
            (bound.ready.issuer.clone(), runtime.spawn(bound.run(stopped)))
        };
        ServedElsewhere { runtime, issuer, stop: Some(stop), server: Some(server) }
    }

    /// Started, and opened by an app whose unlock first failed with a wrong
    /// passphrase; the app wrote and read the owner's details through it.
    fn opened_by_the_app(locked: bool) -> (TestApp, ServedElsewhere, String) {
        let dir = tempfile::tempdir().unwrap();
        let served = ServedElsewhere::start(&dir.path().join("wallet"), locked);
        let issuer = served.issuer.clone();
        let app = TestApp::new(dir, false);
        assert_eq!(app.error_kind("unlock_wallet", json!({ "passphrase": "not the passphrase" })), "wrong_passphrase");
        let state = app.ok("unlock_wallet", json!({ "passphrase": PASSPHRASE }));
        assert_eq!((state["unlocked"].as_bool(), state["server"]["issuer"].as_str()), (Some(true), Some(issuer.as_str())));
        app.ok("set_identity", json!({ "identity": identity() }));
        assert_eq!(app.ok("get_identity", json!({}))["family_name"], "Archer", "written and read through the serving program");
        (app, served, issuer)
    }

    fn stop(&mut self) {
        let _ = self.stop.take().map(|stop| stop.send(()));
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server).unwrap().unwrap();
        }
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// A copy of the wallet's folder taken earlier is put back while the
/// wallet is closed: the passphrase alone does not open it (the app says
/// why, in its own kind), the owner's explicit choice does.
#[test]
fn an_older_copy_put_back_opens_only_when_the_owner_says_she_put_it_back() {
    let app = TestApp::start();
    app.create();
    let wallet = app.dir.path().join("wallet");
    let copy = app.dir.path().join("copy");
    // A new address closes the wallet (to be unlocked again).
    let closed = app.ok("save_settings", json!({ "settings": { "listen": "127.0.0.1:0", "public_issuer": "https://one.example" } }));
    assert_eq!(closed["unlocked"], false);
    copy_dir(&wallet, &copy);
    app.ok("unlock_wallet", json!({ "passphrase": PASSPHRASE }));
    app.ok("export_backup", json!({}));
    app.ok("save_settings", json!({ "settings": { "listen": "127.0.0.1:0", "public_issuer": "https://two.example" } }));

    std::fs::remove_dir_all(&wallet).unwrap();
    copy_dir(&copy, &wallet);
    assert_eq!(app.error_kind("unlock_wallet", json!({ "passphrase": PASSPHRASE })), "older_copy");
    assert_eq!(app.ok("app_state", json!({}))["unlocked"], false);
    assert_eq!(app.error_kind("unlock_wallet", json!({ "passphrase": "not the passphrase", "acceptOlderCopy": true })), "wrong_passphrase");
    let state = app.ok("unlock_wallet", json!({ "passphrase": PASSPHRASE, "acceptOlderCopy": true }));
    assert_eq!(state["unlocked"], true);
}

#[test]
fn a_corrupted_wallet_is_reported_and_left_as_it_was() {
    let app = TestApp::new(tempfile::tempdir().unwrap(), false);
    let data_dir = app.dir.path().join("wallet");
    wallet::Wallet::init(&data_dir, PASSPHRASE, quick_kdf()).unwrap();
    {
        // Damage the sealed key's header, as a bad disk or a careless edit would.
        let db = sled::open(data_dir.join("db")).unwrap();
        db.open_tree("meta").unwrap().insert("header", b"{ not a header".as_slice()).unwrap();
        db.flush().unwrap();
    }
    let before = std::fs::read(data_dir.join("db/db")).unwrap();
    assert_eq!(app.error_kind("unlock_wallet", json!({ "passphrase": PASSPHRASE })), "wallet_corrupted");
    assert_eq!(app.ok("app_state", json!({}))["unlocked"], false);
    assert_eq!(std::fs::read(data_dir.join("db/db")).unwrap(), before, "nothing written to a damaged wallet");
}

#[test]
fn a_provider_failing_during_accept_is_reported_and_nothing_is_registered() {
    let app = TestApp::start();
    app.ok("create_wallet", json!({ "passphrase": PASSPHRASE, "identity": identity() }));
    // A provider that accepted the connection and then answered garbage.
    let broken = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", broken.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in broken.incoming().flatten() {
            let mut stream = stream;
            let _ = stream.read(&mut [0u8; 4096]);
            let _ = stream.write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 9\r\n\r\nnot json!");
        }
    });
    app.ok("add_provider", json!({ "url": url, "name": "Broken" }));
    let kind = app.error_kind("accept_offer", json!({ "provider": url, "resourceId": "a1c0ffee-0001-4000-8000-000000000001" }));
    assert_eq!(kind, "provider_error");
    assert_eq!(app.ok("list_resources", json!({})), json!([]), "nothing registered");
    assert_eq!(app.ok("list_credentials", json!({})), json!([]), "no credential stored");
}

/// Against the session's real Secret Service (gnome-keyring-daemon):
/// `scripts/test.sh` starts one, unlocked, and runs this with `--ignored`.
#[test]
#[ignore = "needs a Secret Service on the session bus: run by scripts/test.sh"]
fn the_wallet_opens_at_start_with_the_passphrase_the_keyring_keeps_only_when_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("wallet");
    let app = TestApp::new(dir, false);
    app.create();
    assert_eq!(app.error_kind("set_unlock_at_login", json!({ "enabled": true, "passphrase": "not the passphrase" })), "wrong_passphrase");
    assert_eq!(wallet::login_keyring::recall(&data_dir).unwrap(), None, "a wrong passphrase is not kept");
    let state = app.ok("set_unlock_at_login", json!({ "enabled": true, "passphrase": PASSPHRASE }));
    assert_eq!(state["settings"]["unlock_at_login"], true);
    assert_eq!(wallet::login_keyring::recall(&data_dir).unwrap().as_deref().map(String::as_str), Some(PASSPHRASE));

    // The app starts again (at login): the wallet's server opens by itself
    // and takes requests; her screens still need the passphrase.
    tauri::async_runtime::block_on(app.window.state::<Desktop>().lock());
    let app = TestApp::new(app.dir, false);
    let desktop = app.window.state::<Desktop>();
    assert!(tauri::async_runtime::block_on(desktop.unlock_from_keyring(app.window.app_handle())));
    let state = app.ok("app_state", json!({}));
    assert_eq!(state["unlocked"], false, "the screens stay locked: {state}");
    let issuer = state["server"]["issuer"].as_str().expect("the server runs").to_string();
    let metadata: Value = reqwest::blocking::get(format!("{issuer}/.well-known/uma2-configuration")).unwrap().json().unwrap();
    assert_eq!(metadata["issuer"], issuer.as_str());
    assert_eq!(app.error_kind("list_requests", json!({ "all": true })), "locked");
    assert_eq!(app.error_kind("set_unlock_at_login", json!({ "enabled": false, "passphrase": null })), "locked");
    app.ok("unlock_wallet", json!({ "passphrase": PASSPHRASE }));
    assert_eq!(app.ok("app_state", json!({}))["unlocked"], true);

    // The passphrase changes: the keyring keeps the new one.
    app.ok("change_passphrase", json!({ "current": PASSPHRASE, "new": "a brand new harbour passphrase" }));
    assert_eq!(wallet::login_keyring::recall(&data_dir).unwrap().as_deref().map(String::as_str), Some("a brand new harbour passphrase"));

    // A kept passphrase that no longer opens the wallet is forgotten, and the wallet stays locked.
    wallet::login_keyring::remember(&data_dir, "stale").unwrap();
    tauri::async_runtime::block_on(app.window.state::<Desktop>().lock());
    let app = TestApp::new(app.dir, false);
    assert!(!tauri::async_runtime::block_on(app.window.state::<Desktop>().unlock_from_keyring(app.window.app_handle())));
    let state = app.ok("app_state", json!({}));
    assert_eq!((state["unlocked"].as_bool(), state["server"].is_null()), (Some(false), true));
    assert_eq!(state["settings"]["unlock_at_login"], false, "the setting says what is true now");
    assert_eq!(wallet::login_keyring::recall(&data_dir).unwrap(), None);

    // Forgotten by the server at login (`serve --locked --unlock-from-keyring`
    // found it no longer opened the wallet): the setting turns off here too.
    app.ok("unlock_wallet", json!({ "passphrase": "a brand new harbour passphrase" }));
    app.ok("set_unlock_at_login", json!({ "enabled": true, "passphrase": "a brand new harbour passphrase" }));
    wallet::login_keyring::forget(&data_dir).unwrap();
    tauri::async_runtime::block_on(app.window.state::<Desktop>().lock());
    let app = TestApp::new(app.dir, false);
    assert!(!tauri::async_runtime::block_on(app.window.state::<Desktop>().unlock_from_keyring(app.window.app_handle())));
    let state = app.ok("app_state", json!({}));
    assert_eq!(state["settings"]["unlock_at_login"], false, "nothing kept: the setting says so");

    // The settings form cannot turn it on behind the passphrase check.
    app.ok("unlock_wallet", json!({ "passphrase": "a brand new harbour passphrase" }));
    let mut settings = state["settings"].clone();
    settings["unlock_at_login"] = json!(true);
    assert_eq!(app.ok("save_settings", json!({ "settings": settings }))["settings"]["unlock_at_login"], false);

    // Turned off: nothing is kept, and nothing opens by itself.
    app.ok("set_unlock_at_login", json!({ "enabled": true, "passphrase": "a brand new harbour passphrase" }));
    assert_eq!(app.ok("set_unlock_at_login", json!({ "enabled": false, "passphrase": null }))["settings"]["unlock_at_login"], false);
    assert_eq!(wallet::login_keyring::recall(&data_dir).unwrap(), None);
    tauri::async_runtime::block_on(app.window.state::<Desktop>().lock());
    let app = TestApp::new(app.dir, false);
    assert!(!tauri::async_runtime::block_on(app.window.state::<Desktop>().unlock_from_keyring(app.window.app_handle())));
}

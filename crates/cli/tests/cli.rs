//! The `uma-wallet` binary as a person or a script runs it: real processes,
//! real signals, real files.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

const PASSPHRASE: &str = "a long enough passphrase";

fn uma_wallet(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_uma-wallet"));
    command.arg("--data-dir").arg(data_dir).env("UMA_WALLET_PASSPHRASE", PASSPHRASE).env_remove("UMA_WALLET_DATA_DIR");
    // Backups stay beside the wallet, never in the documents of whoever runs the tests.
    command.env("UMA_WALLET_BACKUP_DIR", backup_dir(data_dir));
    // And anchors too (the state folder, outside the wallet's).
    command.env("XDG_STATE_HOME", state_dir(data_dir));
    command
}

fn state_dir(data_dir: &Path) -> std::path::PathBuf {
    data_dir.with_extension("state")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn backup_dir(data_dir: &Path) -> std::path::PathBuf {
    data_dir.with_extension("backups")
}

fn run(data_dir: &Path, args: &[&str]) -> (bool, String, String) {
    let output = uma_wallet(data_dir).args(args).output().unwrap();
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into(), String::from_utf8_lossy(&output.stderr).into())
}

fn run_json(data_dir: &Path, args: &[&str]) -> Value {
    let (ok, stdout, stderr) = run(data_dir, args);
    assert!(ok, "uma-wallet {args:?} failed: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("not JSON: {stdout}"))
}

struct Serving {
    child: Child,
    ready: Value,
}

fn serve(data_dir: &Path) -> Serving {
    serve_with(data_dir, &[])
}

fn serve_with(data_dir: &Path, more: &[&str]) -> Serving {
    Serving::started(uma_wallet(data_dir).args(["serve", "--listen", "127.0.0.1:0"]).args(more))
}

impl Serving {
    /// Starts `serve` and waits for its ready line.
    fn started(command: &mut Command) -> Serving {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let ready: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("ready line: {line:?}"));
        Serving { child, ready }
    }

    fn issuer(&self) -> &str {
        self.ready["issuer"].as_str().unwrap()
    }

    fn signal(&mut self, signal: &str) {
        let status = Command::new("kill").args([signal, &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        self.child.wait().unwrap();
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::new()
}

/// Connects a resource server with a CLI-minted assertion, registers one
/// resource and has a client ask for it: one pending request.
fn one_pending_request(data_dir: &Path, issuer: &str) -> (String, String) {
    let minted = run_json(data_dir, &["assertion", "--resource-server", "provider"]);
    let pat: Value = http()
        .post(format!("{issuer}/token"))
        .form(&[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", minted["assertion"].as_str().unwrap())])
        .send()
        .unwrap()
        .json()
        .unwrap();
    let pat = pat["access_token"].as_str().unwrap().to_string();
    let resource: Value = http()
        .post(format!("{issuer}/resource_set"))
        .bearer_auth(&pat)
        .json(&json!({ "name": "pension", "resource_scopes": ["owner"] }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let resource_id = resource["_id"].as_str().unwrap().to_string();
    let ticket: Value = http()
        .post(format!("{issuer}/permission"))
        .bearer_auth(&pat)
        .json(&json!({ "resource_id": resource_id, "resource_scopes": ["owner"] }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let client: Value = http().post(format!("{issuer}/register")).json(&json!({ "client_name": "dashboard" })).send().unwrap().json().unwrap();
    let answer: Value = http()
        .post(format!("{issuer}/token"))
        .basic_auth(client["client_id"].as_str().unwrap(), client["client_secret"].as_str())
        .form(&[("grant_type", "urn:ietf:params:oauth:grant-type:uma-ticket"), ("ticket", ticket["ticket"].as_str().unwrap())])
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(answer["error"], "request_submitted");
    (resource_id, pat)
}

#[test]
fn init_refuses_a_second_wallet_and_a_wrong_passphrase_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let created = run_json(dir.path(), &["init"]);
    assert!(created["created"].is_string());
    let (ok, _, stderr) = run(dir.path(), &["init"]);
    assert!(!ok && stderr.contains("already exists"), "{stderr}");

    let output = uma_wallet(dir.path()).env("UMA_WALLET_PASSPHRASE", "not it at all").args(["policy", "list"]).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("wrong passphrase"));
    assert_eq!(run_json(dir.path(), &["policy", "list"]), json!([]), "the wallet still opens with the right one");

    let other = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = run(other.path(), &["status"]);
    assert!(!ok && stderr.contains("uma-wallet init"), "{stderr}");
}

#[test]
fn serve_announces_itself_and_owner_commands_use_the_running_server() {
    let dir = tempfile::tempdir().unwrap();
    run_json(dir.path(), &["init"]);
    let mut server = serve(dir.path());
    assert!(server.issuer().starts_with("http://127.0.0.1:"));
    assert!(server.ready["owner_api"].as_str().unwrap().starts_with("http://127.0.0.1:"));
    let discovery: Value = http().get(format!("{}/.well-known/uma2-configuration", server.issuer())).send().unwrap().json().unwrap();
    assert_eq!(discovery["issuer"], server.issuer());

    let status = run_json(dir.path(), &["status"]);
    assert_eq!(status["serving"], true, "the CLI talks to the running server while it holds the wallet");

    let issuer = server.issuer().to_string();
    let (resource_id, _) = one_pending_request(dir.path(), &issuer);
    let pending = run_json(dir.path(), &["pending", "list"]);
    assert_eq!(pending.as_array().unwrap().len(), 1);
    let id = pending[0]["id"].as_str().unwrap();
    let approved = run_json(dir.path(), &["pending", "approve", id, "--scope", &format!("{resource_id}:owner"), "--expires-in", "3600"]);
    assert_eq!(approved["status"], "approved");
    let (ok, stdout, _) = run(dir.path(), &["audit", "verify"]);
    assert!(ok && stdout.contains("intact"), "{stdout}");

    server.signal("-TERM");
    assert!(!dir.path().join("server.json").exists(), "a graceful stop removes server.json");
    let status = run_json(dir.path(), &["status"]);
    assert_eq!(status["serving"], false, "with no server the CLI opens the wallet itself");
    assert_eq!(status["grants"], 1);
}

#[test]
fn an_acknowledged_owner_decision_survives_a_hard_kill() {
    let dir = tempfile::tempdir().unwrap();
    run_json(dir.path(), &["init"]);
    let mut server = serve(dir.path());
    let issuer = server.issuer().to_string();
    let (resource_id, _) = one_pending_request(dir.path(), &issuer);
    let policy = run_json(dir.path(), &["policy", "add", "--resource", &resource_id, "--email", "carol@family.example", "--outcome", "permit"]);
    let pending = run_json(dir.path(), &["pending", "list"]);
    run_json(dir.path(), &["pending", "deny", pending[0]["id"].as_str().unwrap()]);

    server.signal("-KILL");
    let policies = run_json(dir.path(), &["policy", "list"]);
    assert_eq!(policies[0]["id"], policy["id"]);
    let all = run_json(dir.path(), &["pending", "list", "--all"]);
    assert_eq!(all[0]["status"], "denied");
    let (ok, stdout, stderr) = run(dir.path(), &["audit", "verify"]);
    assert!(ok, "{stdout}{stderr}");

    // And it serves again on the same data.
    let server = serve(dir.path());
    let resources = run_json(dir.path(), &["resources"]);
    assert_eq!(resources[0]["id"], resource_id.as_str());
    drop(server);
}

#[test]
fn audit_export_writes_a_file_and_verify_fails_on_tampering() {
    let dir = tempfile::tempdir().unwrap();
    run_json(dir.path(), &["init"]);
    run_json(dir.path(), &["assertion", "--resource-server", "a"]);
    run_json(dir.path(), &["assertion", "--resource-server", "b"]);
    let out = dir.path().join("audit.json");
    let (ok, stdout, _) = run(dir.path(), &["audit", "export", "--output", out.to_str().unwrap()]);
    assert!(ok && stdout.contains("exported 2 entries"), "{stdout}");
    let exported: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(exported[0]["action"], "assertion.minted");

    // Remove the last entry straight from the database.
    {
        let store = uma_as::Store::open(&dir.path().join("db"), PASSPHRASE).unwrap();
        let log = uma_as::audit::AuditLog::open(&store).unwrap();
        log.raw().remove(2u64.to_be_bytes()).unwrap();
        store.flush_blocking().unwrap();
    }
    // The wallet's anchor knew entry 2: it no longer opens as it is.
    let (ok, _, stderr) = run(dir.path(), &["audit", "verify"]);
    assert!(!ok && stderr.contains("differs from the one it had at entry 2"), "{stderr}");
    // Taken as it is, the chain itself says where it broke.
    run_json(dir.path(), &["accept-older-copy"]);
    let (ok, _, stderr) = run(dir.path(), &["audit", "verify"]);
    assert!(!ok && stderr.contains("BROKEN"), "{stderr}");
}

#[test]
fn passphrase_changes_the_passphrase_the_wallet_opens_with() {
    let dir = tempfile::tempdir().unwrap();
    run_json(dir.path(), &["init"]);
    let new = "a quiet harbour at dawn";
    let changed = uma_wallet(dir.path()).env("UMA_WALLET_NEW_PASSPHRASE", new).args(["passphrase"]).output().unwrap();
    assert!(changed.status.success(), "{}", String::from_utf8_lossy(&changed.stderr));
    let (ok, _, stderr) = run(dir.path(), &["status"]);
    assert!(!ok && stderr.contains("wrong passphrase"), "the old one no longer opens it: {stderr}");
    let status = uma_wallet(dir.path()).env("UMA_WALLET_PASSPHRASE", new).args(["status"]).output().unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
}

/// For when someone may have learnt the passphrase: `--new-key` replaces
/// the key that seals every record too, only while the wallet is closed,
/// and the wallet stays whole, anchored and audited under the new one.
#[test]
fn passphrase_with_a_new_key_replaces_the_key_while_the_wallet_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let wallet = dir.path().join("wallet");
    run_json(&wallet, &["init"]);
    run_json(&wallet, &["assertion", "--resource-server", "provider"]);
    let new = "a quiet harbour at dawn";
    let mut server = serve(&wallet);
    let refused = uma_wallet(&wallet).env("UMA_WALLET_NEW_PASSPHRASE", new).args(["passphrase", "--new-key"]).output().unwrap();
    assert!(!refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("stop it first"));
    server.signal("-TERM");
    let copy = dir.path().join("copy");
    copy_dir(&wallet, &copy);
    let token_before = std::fs::read(wallet.join("owner-token")).unwrap();

    let replaced = uma_wallet(&wallet).env("UMA_WALLET_NEW_PASSPHRASE", new).args(["passphrase", "--new-key"]).output().unwrap();
    assert!(replaced.status.success(), "{}", String::from_utf8_lossy(&replaced.stderr));
    let answer: Value = serde_json::from_slice(&replaced.stdout).unwrap();
    assert!(answer["records"].as_u64().unwrap() > 0, "{answer}");

    let (ok, _, stderr) = run(&wallet, &["status"]);
    assert!(!ok && stderr.contains("wrong passphrase"), "{stderr}");
    let with_new = |args: &[&str]| {
        let output = uma_wallet(&wallet).env("UMA_WALLET_PASSPHRASE", new).args(args).output().unwrap();
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let entries: Value = serde_json::from_str(&with_new(&["audit", "list", "--action", "wallet.key_replaced"])).unwrap();
    assert_eq!(entries.as_array().unwrap().len(), 1, "{entries}");
    assert!(with_new(&["audit", "verify"]).contains("intact"));
    let minted: Value = serde_json::from_str(&with_new(&["audit", "list", "--action", "assertion.minted"])).unwrap();
    assert_eq!(minted.as_array().unwrap().len(), 1, "what the wallet held is all there");
    assert_ne!(std::fs::read(wallet.join("owner-token")).unwrap(), token_before, "a new owner token too");

    // A copy under the old key, put back, opens with the old passphrase
    // (which someone may know) only if the owner says so.
    std::fs::remove_dir_all(&wallet).unwrap();
    copy_dir(&copy, &wallet);
    let (ok, _, stderr) = run(&wallet, &["status"]);
    assert!(!ok && stderr.contains("key was replaced since"), "{stderr}");
}

#[test]
fn backups_are_made_listed_and_restored_from_the_cli_and_daily_by_serve() {
    let dir = tempfile::tempdir().unwrap();
    let wallet = dir.path().join("wallet");
    run_json(&wallet, &["init"]);
    let made = run_json(&wallet, &["backup", "make"]);
    let path = made["path"].as_str().unwrap();
    assert!(path.starts_with(backup_dir(&wallet).to_str().unwrap()) && Path::new(path).is_file(), "{made}");
    assert!(made["bytes"].as_u64().unwrap() > 0);

    // Files the wallet did not make (another wallet's, or planted) are
    // listed for restoring, but never count as today's nor get pruned.
    let now = made["made_at"].as_i64().unwrap();
    let planted: Vec<_> = (1..=3).map(|n| backup_dir(&wallet).join(format!("uma-wallet-backup-{}.json", now + n))).collect();
    for file in &planted {
        std::fs::write(file, "{}").unwrap();
    }
    // `serve --daily-backups` makes today's at once only if none is there.
    let mut server = serve_with(&wallet, &["--daily-backups", "1"]);
    let listed = run_json(&wallet, &["backup", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 4, "a backup of today is there already: {listed}");
    assert!(Path::new(path).is_file() && planted.iter().all(|p| p.is_file()), "nothing pruned that should stay");
    let (ok, _, stderr) = run(&wallet, &["backup", "make"]);
    assert!(ok, "through the running server: {stderr}");
    let (ok, _, stderr) = run(&wallet, &["backup", "make"]);
    assert!(ok, "a second in the same second takes another name: {stderr}");
    assert_eq!(run_json(&wallet, &["backup", "list"]).as_array().unwrap().len(), 6);
    server.signal("-TERM");

    let restored = dir.path().join("restored");
    run_json(&restored, &["restore", path]);
    let status = run_json(&restored, &["status"]);
    assert_eq!(status["serving"], false);
    let (ok, _, stderr) = run(&wallet, &["serve", "--daily-backups", "0"]);
    assert!(!ok && stderr.contains("0"), "keeping no backups is refused: {stderr}");
}

#[test]
fn the_activity_log_is_searched_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    run_json(dir.path(), &["init"]);
    run_json(dir.path(), &["backup", "make"]);
    let found = run_json(dir.path(), &["audit", "list", "--who", "owner", "--action", "wallet."]);
    let actions: Vec<&str> = found.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"wallet.backup") && actions.iter().all(|a| a.starts_with("wallet.")), "{actions:?}");
    assert!(run_json(dir.path(), &["audit", "list", "--who", "apps"]).as_array().unwrap().is_empty());
}

/// Someone who can write to the owner's disk kept a copy of her wallet's
/// folder; after she removed a sharing rule, they put the copy back, which
/// would bring the rule back. The wallet notices (its history is anchored
/// outside its folder) and opens it only when the owner says she put it
/// back herself, and records that.
#[test]
fn an_older_copy_of_the_wallet_put_back_is_refused_until_the_owner_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    let wallet = dir.path().join("wallet");
    run_json(&wallet, &["init"]);
    let mut server = serve(&wallet);
    let issuer = server.issuer().to_string();
    let (resource_id, _) = one_pending_request(&wallet, &issuer);
    let rule = run_json(&wallet, &["policy", "add", "--resource", &resource_id, "--email", "carol@family.example", "--outcome", "permit"]);
    server.signal("-TERM");
    let copy = dir.path().join("copy");
    copy_dir(&wallet, &copy);

    // Removed through the running server, which is then killed: the
    // decision was anchored before it was acknowledged, not at a clean stop.
    let mut server = serve(&wallet);
    run_json(&wallet, &["policy", "remove", rule["id"].as_str().unwrap()]);
    assert!(run_json(&wallet, &["policy", "list"]).as_array().unwrap().is_empty());
    server.signal("-KILL");

    std::fs::remove_dir_all(&wallet).unwrap();
    copy_dir(&copy, &wallet);
    let (ok, _, stderr) = run(&wallet, &["policy", "list"]);
    assert!(!ok && stderr.contains("older than when it was last used") && stderr.contains("accept-older-copy"), "{stderr}");
    let (ok, _, stderr) = run(&wallet, &["serve", "--listen", "127.0.0.1:0"]);
    assert!(!ok && stderr.contains("older than when it was last used"), "nor does it serve: {stderr}");

    // Deleting the anchor as well does not make the copy pass.
    std::fs::remove_dir_all(state_dir(&wallet)).unwrap();
    let (ok, _, stderr) = run(&wallet, &["policy", "list"]);
    assert!(!ok && stderr.contains("safety record") && stderr.contains("missing"), "{stderr}");

    // The owner put it back herself: she takes it, rule and all, and the log says so.
    let accepted = run_json(&wallet, &["accept-older-copy"]);
    assert_eq!(accepted["accepted"], true, "{accepted}");
    assert_eq!(run_json(&wallet, &["policy", "list"])[0]["id"], rule["id"]);
    let entries = run_json(&wallet, &["audit", "list", "--action", "wallet.older_copy_accepted"]);
    assert_eq!(entries.as_array().unwrap().len(), 1, "{entries}");
    let again = run_json(&wallet, &["accept-older-copy"]);
    assert_eq!(again["accepted"], false, "from then on it is the wallet's current state: {again}");
    let (ok, stdout, stderr) = run(&wallet, &["audit", "verify"]);
    assert!(ok, "{stdout}{stderr}");
}

/// A backup file restored becomes a wallet of its own, with an anchor of
/// its own: the wallet it came from has moved on, and must not refuse it.
#[test]
fn a_backup_restored_after_the_wallet_moved_on_opens() {
    let dir = tempfile::tempdir().unwrap();
    let wallet = dir.path().join("wallet");
    run_json(&wallet, &["init"]);
    let made = run_json(&wallet, &["backup", "make"]);
    run_json(&wallet, &["assertion", "--resource-server", "later"]);
    let restored = dir.path().join("restored");
    // Same state folder as the original, so its anchor is there to refuse a copy.
    let restore = uma_wallet(&restored).env("XDG_STATE_HOME", state_dir(&wallet)).args(["restore", made["path"].as_str().unwrap()]).output().unwrap();
    assert!(restore.status.success(), "{}", String::from_utf8_lossy(&restore.stderr));
    let status = uma_wallet(&restored).env("XDG_STATE_HOME", state_dir(&wallet)).args(["status"]).output().unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
}

/// Started at login before anyone types the passphrase: `serve --locked`
/// answers at once, opens the wallet only with its passphrase, and until
/// then tells providers and owner commands it is locked.
#[test]
fn serve_locked_waits_for_the_passphrase_and_then_serves() {
    let dir = tempfile::tempdir().unwrap();
    run_json(dir.path(), &["init"]);
    let mut server = Serving::started(uma_wallet(dir.path()).env_remove("UMA_WALLET_PASSPHRASE").args(["serve", "--listen", "127.0.0.1:0", "--locked"]).stdin(Stdio::null()));
    let issuer = server.issuer().to_string();
    let metadata = http().get(format!("{issuer}/.well-known/uma2-configuration")).send().unwrap();
    assert_eq!(metadata.status(), 503, "locked, the authorization server has nothing to say yet");
    let (ok, _, stderr) = run(dir.path(), &["status"]);
    assert!(!ok && stderr.contains("wallet_locked"), "{stderr}");
    let token = std::fs::read(dir.path().join("owner-token")).unwrap();
    let (ok, _, stderr) = run(dir.path(), &["serve", "--listen", "127.0.0.1:0"]);
    assert!(!ok && stderr.contains("already being served"), "a second server does not start over it: {stderr}");
    assert_eq!(std::fs::read(dir.path().join("owner-token")).unwrap(), token, "nor replaces its token");

    let wrong = uma_wallet(dir.path()).env("UMA_WALLET_PASSPHRASE", "not the passphrase").args(["unlock"]).output().unwrap();
    assert!(!wrong.status.success() && String::from_utf8_lossy(&wrong.stderr).contains("wrong_passphrase"));
    assert_eq!(run_json(dir.path(), &["unlock"])["unlocked"], true);

    let status = run_json(dir.path(), &["status"]);
    assert_eq!((status["serving"].as_bool(), status["issuer"].as_str()), (Some(true), Some(issuer.as_str())), "{status}");
    let metadata: Value = http().get(format!("{issuer}/.well-known/uma2-configuration")).send().unwrap().json().unwrap();
    assert_eq!(metadata["issuer"], issuer.as_str());
    assert_eq!(run_json(dir.path(), &["unlock"])["unlocked"], true, "once open, unlocking only checks the passphrase");
    server.signal("-TERM");
    assert!(!dir.path().join("server.json").exists());
}

/// The server `serve --locked` started at login, the passphrase kept in the
/// keyring (the app's "Open the wallet when I log in").
fn serve_locked_from_keyring(data_dir: &Path) -> Serving {
    Serving::started(uma_wallet(data_dir).env_remove("UMA_WALLET_PASSPHRASE").args(["serve", "--listen", "127.0.0.1:0", "--locked", "--unlock-from-keyring"]).stdin(Stdio::null()))
}

/// The authorization server's answer to discovery, once it is not 503 or
/// `patience` has passed.
fn discovery_status(issuer: &str, patience: std::time::Duration) -> u16 {
    let deadline = std::time::Instant::now() + patience;
    loop {
        let status = http().get(format!("{issuer}/.well-known/uma2-configuration")).send().unwrap().status().as_u16();
        if status != 503 || std::time::Instant::now() > deadline {
            return status;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
#[ignore = "needs a Secret Service on the session bus: run by scripts/test.sh"]
fn serve_locked_opens_from_the_keyring_and_forgets_a_passphrase_that_no_longer_opens() {
    use wallet::login_keyring::{forget, recall, remember};
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("wallet");
    run_json(&data_dir, &["init"]);

    // Nothing kept: the wallet waits for its owner.
    forget(&data_dir).unwrap();
    let server = serve_locked_from_keyring(&data_dir);
    assert_eq!(discovery_status(server.issuer(), std::time::Duration::from_secs(3)), 503, "locked until she opens it");
    drop(server);

    // Kept: it opens at once, and serves.
    remember(&data_dir, PASSPHRASE).unwrap();
    let mut server = serve_locked_from_keyring(&data_dir);
    assert_eq!(discovery_status(server.issuer(), std::time::Duration::from_secs(60)), 200);
    server.signal("-TERM");

    // Kept but no longer right (changed elsewhere): locked, and forgotten.
    remember(&data_dir, "a passphrase it no longer takes").unwrap();
    let server = serve_locked_from_keyring(&data_dir);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while recall(&data_dir).unwrap().is_some() {
        assert!(std::time::Instant::now() < deadline, "the wrong passphrase is forgotten");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(discovery_status(server.issuer(), std::time::Duration::ZERO), 503);
}

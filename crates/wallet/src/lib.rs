//! The Wallet: the one owner-facing service. The CLI, the owner HTTP API and
//! (later) the desktop app all go through it.
//!
//! - [`Wallet`] opens a data directory: the encrypted store, the owner API
//!   token file, and the [`AuthorizationServer`] over them.
//! - [`pensions::Pensions`] finds the owner's pensions at providers and
//!   lists what they offer.
//! - [`owner_api::router`] is the owner HTTP API (bearer token, loopback
//!   only, OpenAPI at `/openapi.json`).
//! - [`owner_client::InProcessOwner`] calls that API in-process (CLI without
//!   a server, desktop app).
//! - [`serve`] binds the authorization server and the owner API, announces
//!   them, and stops cleanly, flushing everything, on SIGTERM or Ctrl-C.

pub mod activity;
pub mod api;
pub mod backups;
pub mod challenge;
pub mod credentials;
pub mod error;
pub mod governance;
pub mod identity_credential;
#[cfg(feature = "login-keyring")]
pub mod login_keyring;
pub mod owner_api;
pub mod owner_client;
pub mod pensions;
pub mod serve;
pub mod sharing;
pub mod vc;

use std::path::{Path, PathBuf};
use uma_as::secret::Secret;
pub use error::{OwnerError, OwnerResult, ProviderError};
pub use sealed_store::{KdfParams, Store, StoreError};
pub use uma_as::anchor::Anchoring;
pub use uma_as::{AuthorizationServer, Clock, Config, OwnerEvent};

/// The desktop notification an owner event makes (title, text), the same
/// from the app and from `uma-wallet serve --tray`. The names are the
/// asker's own choice, possibly "Your bank" or "This wallet": it says so,
/// and keeps them short and plain: no markup (notification servers read
/// `<`, `>` and `&` as markup, links included), no quotation marks to close
/// the quotation early with words of the asker's own after it, and no
/// invisible characters that reorder or hide text.
pub fn notification(event: &OwnerEvent) -> (String, String) {
    let shown = |c: &char| !c.is_control() && !matches!(c, '<' | '>' | '&' | '"' | '\'' | '“' | '”' | '‘' | '’' | '«' | '»') && !invisible(*c);
    let short = |name: &str| name.chars().filter(shown).take(60).collect::<String>();
    match event {
        OwnerEvent::RequestSubmitted { request } => (
            "Access request".into(),
            format!("An app calling itself “{}” asks to see your pension data. Open the wallet to decide.", short(&request.client_name)),
        ),
        OwnerEvent::ResourceServerWaiting { client_name, .. } => (
            "A provider asks to connect".into(),
            format!("A pension provider calling itself “{}” asks to use your wallet for your pensions. Open the wallet to decide.", short(client_name)),
        ),
    }
}

/// Unicode's format characters that change how text around them shows
/// (direction overrides and isolates, zero-width joiners and spaces, the
/// soft hyphen, the byte-order mark).
fn invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// At most one desktop notification in this time: a client asking in a
/// loop cannot flood the owner's desktop (the inbox still lists every
/// request).
pub const NOTIFICATION_GAP: std::time::Duration = std::time::Duration::from_secs(10);

/// Lets through one notification each [`NOTIFICATION_GAP`]; those held
/// back are counted in the next one shown.
#[derive(Default)]
pub struct NotificationGate {
    last: Option<std::time::Instant>,
    held: usize,
}

impl NotificationGate {
    pub fn notification(&mut self, event: &OwnerEvent, now: std::time::Instant) -> Option<(String, String)> {
        if self.last.is_some_and(|last| now.saturating_duration_since(last) < NOTIFICATION_GAP) {
            self.held += 1;
            return None;
        }
        self.last = Some(now);
        let (title, mut body) = notification(event);
        match std::mem::take(&mut self.held) {
            0 => {}
            1 => body.push_str(" One more asked since the last notice."),
            more => body.push_str(&format!(" {more} more asked since the last notice.")),
        }
        Some((title, body))
    }
}

/// The owner API's bearer token: its own kind of secret.
pub type OwnerToken = Secret<uma_as::secret::role::OwnerToken>;

/// The owner API token's file in the data directory (mode 0600).
pub const OWNER_TOKEN_FILE: &str = "owner-token";
/// Written while `serve` runs: where its endpoints are.
pub const SERVER_FILE: &str = "server.json";
/// The sled database's folder in the data directory.
const DB_DIR: &str = "db";

#[cfg(test)]
mod tests {
    #[test]
    fn a_notification_shows_the_askers_name_short_and_without_markup() {
        let event = super::OwnerEvent::ResourceServerWaiting {
            client_id: "rs".into(),
            client_name: format!("<a href=\"https://evil.example\">Your bank</a>&amp;\n{}", "x".repeat(100)),
        };
        let (title, body) = super::notification(&event);
        assert_eq!(title, "A provider asks to connect");
        assert!(!body.contains(['<', '>', '&', '\n']), "{body}");
        assert!(body.contains("“a href=https://evil.exampleYour bank/aamp;xxxxxxxxxxxx"), "{body}");
        assert!(!body.contains(&"x".repeat(60)), "the name is cut short: {body}");

        // Words of its own after a closing quotation mark, text reversed.
        let event = super::OwnerEvent::ResourceServerWaiting { client_id: "rs".into(), client_name: "HMRC” (verified). No action needed “\u{202E}x".into() };
        let (_, body) = super::notification(&event);
        assert!(body.starts_with("A pension provider calling itself “HMRC (verified). No action needed x” asks"), "{body}");
    }

    #[test]
    fn a_flood_of_requests_makes_one_notification_then_one_counting_the_rest() {
        let event = super::OwnerEvent::ResourceServerWaiting { client_id: "rs".into(), client_name: "Acme".into() };
        let mut gate = super::NotificationGate::default();
        let start = std::time::Instant::now();
        let shown: Vec<_> = (0..100).filter_map(|i| gate.notification(&event, start + std::time::Duration::from_millis(i * 50))).collect();
        assert_eq!(shown.len(), 1, "one in the first five seconds");
        let (_, later) = gate.notification(&event, start + super::NOTIFICATION_GAP).expect("shown once the gap has passed");
        assert!(later.ends_with(" 99 more asked since the last notice."), "{later}");
        let (_, next) = gate.notification(&event, start + super::NOTIFICATION_GAP * 2).unwrap();
        assert!(!next.contains("more asked"), "{next}");
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_she_already_keeps_is_left_as_it_is_and_a_new_one_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let hers = root.path().join("Documents");
        std::fs::create_dir(&hers).unwrap();
        std::fs::set_permissions(&hers, std::fs::Permissions::from_mode(0o755)).unwrap();
        super::create_owner_dir(&hers).unwrap();
        assert_eq!(std::fs::metadata(&hers).unwrap().permissions().mode() & 0o777, 0o755);
        let new = hers.join("Wallet backups");
        super::create_owner_dir(&new).unwrap();
        assert_eq!(std::fs::metadata(&new).unwrap().permissions().mode() & 0o777, 0o700);
    }

    #[test]
    fn weak_passphrases_are_refused_in_plain_words() {
        for weak in ["short", "password1234", "aaaaaaaaaaaa", "Summer2024!"] {
            assert!(super::passphrase_problem(weak).is_some(), "{weak}");
        }
        assert!(super::passphrase_problem("correct horse battery staple").is_none());
        assert!(super::passphrase_problem("password1234").unwrap().contains("too easy to guess"));
    }

    #[test]
    fn a_public_issuer_is_https_unless_on_loopback() {
        assert!(super::check_public_issuer("https://wallet.example/").is_ok());
        assert!(super::check_public_issuer("http://127.0.0.1:7420").is_ok());
        for bad in ["http://wallet.example", "http://192.168.1.5:7420", "https://wallet.example/?x=1", "ftp://wallet.example", "wallet.example"] {
            assert!(super::check_public_issuer(bad).is_err(), "{bad}");
        }
        assert_eq!(super::check_public_issuer("HTTPS://Wallet.Example:443/").unwrap(), "https://wallet.example");
    }

    #[test]
    fn a_provider_address_is_kept_as_parsed() {
        // Found by the registry fuzzer: a spelling the URL parser forgives
        // was kept as typed, and no longer looked like an https address.
        assert_eq!(crate::pensions::provider_url("https:/'acme.example").unwrap(), "https://'acme.example");
        assert_eq!(crate::pensions::provider_url(" https://Acme.Example/ ").unwrap(), "https://acme.example");
        assert_eq!(crate::pensions::provider_url("http://127.0.0.1:8101/").unwrap(), "http://127.0.0.1:8101");
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// What the owner asked for is refused as it is (a weak passphrase, say).
    #[error("{0}")]
    Refused(String),
}

/// How late a wrong passphrase is answered, one at a time ([`Wallet::check_passphrase`]).
pub const WRONG_PASSPHRASE_DELAY: std::time::Duration = std::time::Duration::from_secs(1);

#[derive(Clone)]
pub struct Wallet {
    data_dir: PathBuf,
    store: Store,
    server: AuthorizationServer,
    pensions: pensions::Pensions,
    passphrase_change: std::sync::Arc<tokio::sync::Mutex<()>>,
    passphrase_checks: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Where backups go ([`backups`]).
    backup_dir: PathBuf,
    backing_up: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// The backup files this wallet made: only these count towards the
    /// daily round and are ever pruned, whatever else is in the folder.
    backups_made: uma_as::store::Tree<backups::BackupFile>,
}

impl Wallet {
    /// Creates a wallet in `data_dir`: the encrypted database, the signing
    /// key and the owner API token.
    pub fn init(data_dir: &Path, passphrase: &str, kdf: KdfParams) -> Result<(), WalletError> {
        let db = data_dir.join(DB_DIR);
        if Store::exists(&db) {
            return Err(StoreError::AlreadyExists(data_dir.display().to_string()).into());
        }
        create_private_dir(data_dir)?;
        let store = Store::create(&db, passphrase, kdf)?;
        // Opening the server once creates and stores its signing key.
        AuthorizationServer::open(store.clone(), Config::new("http://127.0.0.1"), Clock::System)?;
        store.flush_blocking()?;
        write_private(&data_dir.join(OWNER_TOKEN_FILE), OwnerToken::generate().expose())?;
        Ok(())
    }

    pub fn open(data_dir: &Path, passphrase: &str, config: Config, clock: Clock) -> Result<Wallet, WalletError> {
        let store = Store::open(&data_dir.join(DB_DIR), passphrase)?;
        let server = AuthorizationServer::open(store.clone(), config, clock)?;
        let pensions = pensions::Pensions::open(&store, server.clone())?;
        if !data_dir.join(OWNER_TOKEN_FILE).exists() {
            write_private(&data_dir.join(OWNER_TOKEN_FILE), OwnerToken::generate().expose())?;
        }
        // The owner's documents are for the app and the CLI to choose.
        let backup_dir = data_dir.join("backups");
        let backups_made = store.tree("backups_made")?;
        Ok(Wallet { data_dir: data_dir.to_path_buf(), store, server, pensions, passphrase_change: Default::default(), passphrase_checks: Default::default(), backup_dir, backing_up: Default::default(), backups_made })
    }

    /// Recreates a wallet in an empty `data_dir` from a backup file
    /// ([`AuthorizationServer::backup`]), checking the passphrase it was made
    /// with. With `anchoring`, the restored state becomes the wallet's
    /// current one: restoring is the owner's choice, made with her
    /// passphrase, so an anchor the wallet has moved past since the backup
    /// does not refuse it ([`uma_as::anchor`]).
    pub fn restore(backup: &Path, data_dir: &Path, passphrase: &str, anchoring: Option<&Anchoring>) -> Result<(), WalletError> {
        if Wallet::exists(data_dir) {
            return Err(StoreError::AlreadyExists(data_dir.display().to_string()).into());
        }
        create_private_dir(data_dir)?;
        let store = Store::restore(backup, &data_dir.join(DB_DIR), passphrase)?;
        if let Some(anchoring) = anchoring {
            let accepting = Anchoring { accept_older_copy: true, ..anchoring.clone() };
            uma_as::audit::AuditLog::open_anchored(&store, Some(&accepting), Clock::System.now())?.anchor_now()?;
        }
        write_private(&data_dir.join(OWNER_TOKEN_FILE), OwnerToken::generate().expose())?;
        Ok(())
    }

    /// Where a wallet anchors its history against old copies put back
    /// ([`uma_as::anchor`]): the user's state folder, outside the wallet's.
    pub fn default_anchoring() -> Option<Anchoring> {
        // The state folder where there is one (Linux). Elsewhere a folder
        // beside the wallet's default one, never inside it: on macOS the
        // local data folder is the one the wallet's folder is in.
        let dir = match dirs::state_dir() {
            Some(state) => state.join("uma-wallet").join("anchors"),
            None => dirs::data_local_dir()?.join("uma-wallet-anchors"),
        };
        Some(Anchoring { dir, accept_older_copy: false })
    }

    /// Replaces the wallet's data key and its passphrase, with the wallet
    /// closed ([`Store::replace_key`]): for when someone may have learnt the
    /// passphrase, since a passphrase change alone keeps the key it seals.
    /// The ticket key and the owner token are replaced too; the signing key
    /// (the wallet's identity) is kept ([`uma_as::server::kept_on_new_key`]).
    /// The wallet must pass its anchor check first, on the very copy that is
    /// sealed again (a new key must not launder an older copy); the new key
    /// names a new anchor, and the old one is marked retired, refusing any
    /// copy under the old key. Returns how many records were sealed again. Tickets and
    /// tokens already handed out stop working.
    ///
    /// `Err` means the old passphrase still opens the wallet. Once the key
    /// is replaced, what follows (the audit entry, the new anchor, the new
    /// owner token) is logged if it fails, not returned: the new passphrase
    /// is the one that opens it.
    pub fn replace_key(data_dir: &Path, current: &str, new: &str, anchoring: Option<&Anchoring>) -> Result<usize, WalletError> {
        if let Some(problem) = passphrase_problem(new) {
            return Err(WalletError::Refused(problem));
        }
        if new == current {
            return Err(WalletError::Refused("the new passphrase is the current one".into()));
        }
        let db = data_dir.join(DB_DIR);
        let now = Clock::System.now();
        let mut retiring = None;
        let check = |old: &Store| {
            if let Some(anchoring) = anchoring {
                retiring = uma_as::audit::AuditLog::open_anchored(old, Some(anchoring), now)?.retire_anchor()?;
            }
            Ok(())
        };
        let sealed = Store::replace_key(&db, current, new, KdfParams::default(), check, uma_as::server::kept_on_new_key)?;
        let follow_up = || -> Result<(), WalletError> {
            if let Some(retired) = &retiring {
                retired.write()?;
            }
            write_private(&data_dir.join(OWNER_TOKEN_FILE), OwnerToken::generate().expose())?;
            let store = Store::open(&db, new)?;
            let log = uma_as::audit::AuditLog::open_anchored(&store, anchoring, now)?;
            log.append(now, "owner", "wallet.key_replaced", serde_json::json!({ "records": sealed }))?;
            log.anchor_now()?;
            Ok(())
        };
        if let Err(e) = follow_up() {
            tracing::error!(error = %e, "the wallet's key is replaced; recording it failed");
        }
        Ok(sealed)
    }

    pub fn exists(data_dir: &Path) -> bool {
        Store::exists(&data_dir.join(DB_DIR))
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub(crate) fn server(&self) -> &AuthorizationServer {
        &self.server
    }

    /// The authorization server inside, for tests that play a peer holding
    /// what only the wallet holds (its signing key, its clock).
    #[cfg(feature = "test-support")]
    pub fn authorization_server(&self) -> &AuthorizationServer {
        &self.server
    }

    /// New access requests and resource servers waiting for the owner, as
    /// they happen.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<OwnerEvent> {
        self.server.subscribe()
    }

    /// The wallet's clock, in Unix seconds.
    pub fn now(&self) -> i64 {
        self.server.now()
    }

    /// Writes a sealed copy of the whole wallet to `path` (still encrypted
    /// under the passphrase); returns how many records went in. Blocking.
    pub fn backup(&self, path: &Path) -> Result<usize, StoreError> {
        self.server.record("wallet.backup", serde_json::json!({ "file": path.display().to_string() }));
        self.store.backup(path)
    }

    /// Whether `passphrase` is the wallet's: for unlocking a locked screen
    /// while the wallet stays open and its server keeps answering.
    ///
    /// One check at a time, each wrong one answered a second late and
    /// recorded: a program holding the owner token must not be able to
    /// guess the passphrase at the key derivation's speed (nor run many
    /// at once, 64 MiB each).
    pub async fn check_passphrase(&self, passphrase: &str) -> Result<(), OwnerError> {
        let _turn = self.passphrase_checks.lock().await;
        let (store, passphrase) = (self.store.clone(), passphrase.to_string());
        match tokio::task::spawn_blocking(move || store.check_passphrase(&passphrase)).await.map_err(OwnerError::internal)? {
            Err(StoreError::WrongPassphrase) => {
                self.server.record("wallet.passphrase_refused", serde_json::json!({}));
                tokio::time::sleep(WRONG_PASSPHRASE_DELAY).await;
                Err(OwnerError::WrongPassphrase)
            }
            other => Ok(other?),
        }
    }

    /// Changes the passphrase: the data key is sealed again under the new
    /// one; no record is rewritten. Backups made before keep the old one.
    pub async fn change_passphrase(&self, current: &str, new: &str) -> Result<(), OwnerError> {
        if let Some(problem) = passphrase_problem(new) {
            return Err(OwnerError::invalid(problem));
        }
        // One change at a time: two at once would both check the old
        // passphrase, and the owner could be left with one she did not keep.
        let _one_at_a_time = self.passphrase_change.lock().await;
        let (store, current, new) = (self.store.clone(), current.to_string(), new.to_string());
        let changed = tokio::task::spawn_blocking(move || store.change_passphrase(&current, &new, KdfParams::default()))
            .await
            .map_err(|_| OwnerError::Internal)?;
        match changed {
            Err(StoreError::WrongPassphrase) => Err(OwnerError::WrongPassphrase),
            Err(e) => Err(e.into()),
            Ok(()) => {
                // The new header is on disk: the change stands whatever the audit write does.
                self.server.record("wallet.passphrase_changed", serde_json::json!({}));
                if let Err(e) = self.server.flush_owner_decision().await {
                    tracing::error!(error = %e, "the passphrase change is made, its audit entry not yet flushed");
                }
                Ok(())
            }
        }
    }

    /// Identity details, providers, find and offers.
    pub fn pensions(&self) -> &pensions::Pensions {
        &self.pensions
    }

    /// The owner API bearer token.
    pub fn owner_token(&self) -> Result<OwnerToken, WalletError> {
        read_owner_token(&self.data_dir)
    }

    /// Replaces the owner API token: `serve` does so every time it starts,
    /// so a token copied from an earlier run is worth nothing.
    pub fn rotate_owner_token(&self) -> Result<OwnerToken, WalletError> {
        let token = Secret::generate();
        write_private(&self.data_dir.join(OWNER_TOKEN_FILE), token.expose())?;
        Ok(token)
    }
}

/// What is wrong with a new passphrase, in words for its owner, if
/// anything. It guards a sealed wallet that anyone holding a backup or the
/// disk can try to guess offline: at least 8 characters (NIST SP 800-63B
/// §3.1.1.2) and not easy to guess (zxcvbn score 3 or more: common
/// passwords, names, dates, repeats and keyboard patterns are refused).
pub fn passphrase_problem(passphrase: &str) -> Option<String> {
    if passphrase.chars().count() < 8 {
        return Some("Choose a passphrase of at least 8 characters.".into());
    }
    let estimate = zxcvbn::zxcvbn(passphrase, &[]);
    if estimate.score() >= zxcvbn::Score::Three {
        return None;
    }
    let why = estimate.feedback().and_then(|f| f.warning()).map(|w| format!(" {w}")).unwrap_or_default();
    Some(format!("This passphrase is too easy to guess.{why} A few unrelated words make a strong one."))
}

/// Checks a public issuer URL: `https`, unless it is on loopback. Providers
/// and clients send tokens to it, and it is the name the wallet's
/// credentials and registrations carry.
pub fn check_public_issuer(issuer: &str) -> Result<String, String> {
    let issuer = issuer.trim();
    let url = http_guard::outbound::secure_url(issuer).map_err(|e| format!("public issuer: {e}"))?;
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(format!("public issuer: {issuer:?} must have no query, fragment or user name"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

pub fn read_owner_token(data_dir: &Path) -> Result<OwnerToken, WalletError> {
    let path = data_dir.join(OWNER_TOKEN_FILE);
    std::fs::read_to_string(&path)
        .map(|t| Secret::new(t.trim()))
        .map_err(|e| WalletError::Io(path.display().to_string(), e))
}

/// The data directory is the owner's alone (0700): it holds the owner API
/// token and the sealed database.
pub fn create_private_dir(dir: &Path) -> Result<(), WalletError> {
    let io = |e| WalletError::Io(dir.display().to_string(), e);
    std::fs::create_dir_all(dir).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    Ok(())
}

/// Creates a folder the owner names for her files (backups, exports): made
/// private if it is made now, left as she keeps it if it was there (it may
/// be shared with her other files; each file written in it is private).
pub fn create_owner_dir(dir: &Path) -> Result<(), WalletError> {
    if dir.is_dir() {
        return Ok(());
    }
    create_private_dir(dir)
}

/// Writes a file only its owner can read, created that way (no window in
/// which it is world-readable), under a temporary name first and renamed
/// over the old one: a crash leaves the old file or the new one, never half.
pub fn write_private(path: &Path, contents: &str) -> Result<(), WalletError> {
    sealed_store::write_private(path, contents.as_bytes()).map_err(|e| WalletError::Io(path.display().to_string(), e))
}

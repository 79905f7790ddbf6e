//! The app's one piece of state: where the wallet lives, its settings, and,
//! once unlocked, the running authorization server and the in-process owner
//! service every command goes through.

use crate::error::CommandError;
use crate::links::{Links, OpenedLink};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, Runtime};
use tokio::sync::watch;
use wallet::api::{FetchRegistry, Identity, OwnerEvent};
use wallet::backups::{backups_in, BackupFile, BackupSchedule};
use wallet::owner_client::OwnerClient;
use wallet::serve::{self, Ready, ServeError, ServeOptions};
use wallet::{Clock, KdfParams, Wallet};

/// The app's settings file in the data directory. Not secret: addresses only.
const SETTINGS_FILE: &str = "desktop.json";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7420";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Settings {
    /// Where the authorization server listens.
    pub listen: String,
    /// The issuer URL when a reverse proxy or tunnel fronts the server.
    #[serde(default)]
    pub public_issuer: Option<String>,
    #[serde(default)]
    pub backups: BackupSchedule,
    /// Start the app when the owner logs in, in the tray, so that requests
    /// reach the wallet while she does other things. On unless she turns
    /// it off.
    #[serde(default = "start_at_login_by_default")]
    pub start_at_login: bool,
    /// Open the wallet at start with the passphrase kept in the system's
    /// keyring (see `wallet::login_keyring`). Off unless she turns it on.
    #[serde(default)]
    pub unlock_at_login: bool,
}

fn start_at_login_by_default() -> bool {
    true
}

impl Default for Settings {
    fn default() -> Self {
        Settings { listen: DEFAULT_LISTEN.into(), public_issuer: None, backups: BackupSchedule::default(), start_at_login: true, unlock_at_login: false }
    }
}

impl Settings {
    /// Whether the server must restart for these settings to take effect.
    fn moves_the_server(&self, other: &Settings) -> bool {
        self.listen != other.listen || self.public_issuer != other.public_issuer
    }

    pub fn check(&self) -> Result<SocketAddr, CommandError> {
        self.backups.check().map_err(CommandError::invalid_input)?;
        let addr: SocketAddr = self
            .listen
            .trim()
            .parse()
            .map_err(|_| CommandError::invalid_input(format!("{:?} is not an address and port, like {DEFAULT_LISTEN}", self.listen)))?;
        if let Some(issuer) = &self.public_issuer {
            wallet::check_public_issuer(issuer).map_err(CommandError::invalid_input)?;
        }
        Ok(addr)
    }
}

/// `wanted` if no program holds it, else the first free port of the next
/// twenty on the same host, else any port the system gives.
fn free_address_near(wanted: SocketAddr) -> SocketAddr {
    let free = |addr: SocketAddr| std::net::TcpListener::bind(addr).and_then(|l| l.local_addr()).ok();
    let next = (0..=20u16).filter_map(|step| wanted.port().checked_add(step)).map(|port| SocketAddr::new(wanted.ip(), port));
    next.chain([SocketAddr::new(wanted.ip(), 0)]).find_map(free).unwrap_or(wanted)
}

/// What the window needs to know to choose a screen.
#[derive(Clone, Debug, Serialize, ts_rs::TS)]
pub struct AppState {
    pub wallet_exists: bool,
    pub unlocked: bool,
    pub data_dir: PathBuf,
    pub settings: Settings,
    pub server: Option<Ready>,
}

struct Session {
    owner: OwnerClient,
    ready: Ready,
    /// Carries the wallet's events to the window and the notifications.
    events: tauri::async_runtime::JoinHandle<()>,
    /// The server this app runs; none when its screens open over a wallet
    /// another program serves (`uma-wallet serve`), which goes on serving
    /// when the app locks or quits.
    hosted: Option<Hosted>,
}

struct Hosted {
    stop: watch::Sender<bool>,
    server: tauri::async_runtime::JoinHandle<Result<(), ServeError>>,
}

fn served_elsewhere() -> CommandError {
    CommandError::new(
        "served_elsewhere",
        "Your wallet is being run by another program on this computer (uma-wallet serve), so this can only be done there. Stop that program, then try again here.",
    )
}

fn wrong_passphrase(e: wallet::owner_client::OwnerApiError) -> CommandError {
    match e.code.as_str() {
        "wrong_passphrase" => CommandError::new("wrong_passphrase", "That passphrase does not open this wallet."),
        _ => e.into(),
    }
}

pub struct Desktop {
    data_dir: PathBuf,
    backup_dir: PathBuf,
    /// `--listen` on the command line wins over the saved setting.
    listen_override: Option<SocketAddr>,
    clock: Clock,
    kdf: KdfParams,
    started: Instant,
    anchor_dir: Option<PathBuf>,
    ui_ready: AtomicBool,
    settings: Arc<parking_lot::Mutex<Settings>>,
    /// A tokio mutex: unlocking holds it across the bind and the KDF, so two
    /// unlocks cannot race to open the database.
    session: tokio::sync::Mutex<Option<Session>>,
    /// The window's subscription to owner events. One window, so the latest
    /// subscription replaces any earlier one (after a reload, say).
    watcher: Watcher,
    /// Where the register of pension providers is published, and its key:
    /// what the first run fetches so the owner types no addresses.
    registry: Option<FetchRegistry>,
    /// The window is locked: the wallet stays open and its server keeps
    /// answering (requests still arrive), but no owner command runs until
    /// the passphrase is given again.
    screen_locked: AtomicBool,
    /// Counts each locking (Lock now, idle, the window closing): an unlock
    /// that began before one must not undo it when its passphrase check ends.
    locked_times: AtomicU64,
    links: parking_lot::Mutex<Links>,
}

type Watcher = Arc<parking_lot::Mutex<Option<Channel<OwnerEvent>>>>;

pub struct DesktopOptions {
    pub data_dir: PathBuf,
    pub backup_dir: PathBuf,
    pub listen_override: Option<SocketAddr>,
    pub clock: Clock,
    pub kdf: KdfParams,
    pub started: Instant,
    pub registry: Option<FetchRegistry>,
    /// Where the wallet anchors its history against old copies put back
    /// ([`Wallet::default_anchoring`] in the app).
    pub anchor_dir: Option<PathBuf>,
}

fn keyring_failed(e: String) -> CommandError {
    CommandError::new("keyring_unavailable", format!("This computer's keyring could not be used: {e}"))
}

impl Desktop {
    pub fn new(options: DesktopOptions) -> Desktop {
        // A settings file that does not pass the checks is ignored whole.
        let settings = std::fs::read(options.data_dir.join(SETTINGS_FILE))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Settings>(&bytes).ok())
            .filter(|s| s.check().is_ok())
            .unwrap_or_default();
        Desktop {
            data_dir: options.data_dir,
            backup_dir: options.backup_dir,
            listen_override: options.listen_override,
            clock: options.clock,
            kdf: options.kdf,
            started: options.started,
            anchor_dir: options.anchor_dir,
            ui_ready: AtomicBool::new(false),
            settings: Arc::new(parking_lot::Mutex::new(settings)),
            session: tokio::sync::Mutex::new(None),
            watcher: Arc::default(),
            registry: options.registry,
            screen_locked: AtomicBool::new(false),
            locked_times: AtomicU64::new(0),
            links: Default::default(),
        }
    }

    /// Locks the window (the owner's "Lock now", or her idle time running out).
    pub async fn lock_screen(&self) -> AppState {
        self.lock_now();
        self.state().await
    }

    /// The screens lock, and links wait for the next unlock. The count goes
    /// up before the flag is set, so an unlock that clears the flag and then
    /// finds the count unchanged cannot have crossed a locking (see
    /// `unlock_screen`).
    fn lock_now(&self) {
        self.locked_times.fetch_add(1, Ordering::SeqCst);
        self.screen_locked.store(true, Ordering::SeqCst);
        self.links.lock().unsubscribe();
    }

    /// The owner's passphrase opened the screens, unless they were locked
    /// again since she gave it (`locked_times` was `since`).
    fn unlock_screen(&self, since: u64) {
        self.screen_locked.store(false, Ordering::SeqCst);
        if self.locked_times.load(Ordering::SeqCst) != since {
            self.screen_locked.store(true, Ordering::SeqCst);
        }
    }

    /// The window closed while the server goes on in the tray: whoever
    /// opens it next gives the passphrase, and events stop going to a page
    /// that is gone.
    pub fn window_closed(&self) {
        self.lock_now();
        self.watcher.lock().take();
    }

    /// A link the system handed the app (see `links.rs`). `Some(when)`: it
    /// came too soon after the last one, and is held until `when`
    /// ([`Desktop::release_link`]).
    pub fn link_opened(&self, link: OpenedLink) -> Option<Instant> {
        self.links.lock().opened(link, Instant::now())
    }

    /// Shows a held link if its time has come; `Some(when)` if not yet.
    pub fn release_link(&self) -> Option<Instant> {
        self.links.lock().release(Instant::now())
    }

    /// The unlocked window asks for links: any waiting one now, the rest as
    /// they come. A locked window gets none; they wait. Checked under the
    /// links' lock, which every locking takes after setting the flag: a
    /// subscription cannot outlive a locking.
    pub async fn watch_links(&self, channel: Channel<OpenedLink>) {
        let open = self.session.lock().await.is_some();
        let mut links = self.links.lock();
        if open && !self.screen_locked.load(Ordering::SeqCst) {
            links.subscribe(channel);
        }
    }

    /// The register of providers to fetch: the one asked for, else the one
    /// fetched before, else the one this app was configured with.
    pub async fn fetch_registry(&self, fetch: FetchRegistry) -> Result<wallet::api::RegistryImported, CommandError> {
        let owner = self.owner().await?;
        let fetch = if fetch.url.is_some() || owner.registry().await?.source.is_some() {
            fetch
        } else {
            self.registry.clone().ok_or_else(|| CommandError::invalid_input("No register of pension providers is set up for this app: add your providers by their web address."))?
        };
        Ok(owner.fetch_registry(&fetch).await?)
    }

    pub async fn state(&self) -> AppState {
        let session = self.session.lock().await;
        AppState {
            wallet_exists: Wallet::exists(&self.data_dir),
            unlocked: session.is_some() && !self.screen_locked.load(Ordering::SeqCst),
            data_dir: self.data_dir.clone(),
            settings: self.settings.lock().clone(),
            server: session.as_ref().map(|s| s.ready.clone()),
        }
    }

    /// The first question the window asks marks it interactive: the figure
    /// the cold-start benchmark reads.
    pub fn note_window_interactive(&self) {
        if !self.ui_ready.swap(true, Ordering::Relaxed) {
            tracing::info!(elapsed_ms = self.started.elapsed().as_millis() as u64, "window interactive");
        }
    }

    pub async fn create<R: Runtime>(&self, app: &AppHandle<R>, passphrase: String, identity: Option<Identity>) -> Result<AppState, CommandError> {
        if let Some(problem) = wallet::passphrase_problem(&passphrase) {
            return Err(CommandError::invalid_input(problem));
        }
        if Wallet::exists(&self.data_dir) {
            return Err(CommandError::new("wallet_exists", "A wallet already exists here: unlock it instead."));
        }
        let (dir, kdf, pass) = (self.data_dir.clone(), self.kdf, passphrase.clone());
        tokio::task::spawn_blocking(move || Wallet::init(&dir, &pass, kdf))
            .await
            .map_err(|e| CommandError::new("wallet_error", e.to_string()))??;
        // A new wallet takes the usual address, or the next free one when
        // another program holds it: no provider or app knows the address
        // yet, so choosing another costs nothing. Once saved it stays put,
        // and an address the owner chose herself is never changed.
        if self.listen_override.is_none() && !self.data_dir.join(SETTINGS_FILE).exists() {
            let mut settings = self.settings.lock().clone();
            settings.listen = free_address_near(settings.check()?).to_string();
            self.write_settings(&settings)?;
            *self.settings.lock() = settings;
        }
        self.unlock(app, passphrase, false).await?;
        if let Some(identity) = identity {
            self.owner().await?.set_identity(&identity).await.map_err(|e| {
                let e = CommandError::from(e);
                CommandError::new(&e.kind, format!("Your wallet was created, but the identity details were refused: {}", e.message))
            })?;
        }
        Ok(self.state().await)
    }

    /// Opens the wallet and starts its authorization server, with the owner
    /// API for the CLI beside it on a free loopback port.
    /// With `accept_older_copy`, the owner chose to use a copy of her
    /// wallet older than its anchor ([`wallet::Anchoring`]).
    pub async fn unlock<R: Runtime>(&self, app: &AppHandle<R>, passphrase: String, accept_older_copy: bool) -> Result<AppState, CommandError> {
        self.open(app, passphrase, true, accept_older_copy).await
    }

    /// Opens the wallet (if it is not open) with `passphrase`, and its
    /// screens too when `screens` (not when the keyring opened it).
    async fn open<R: Runtime>(&self, app: &AppHandle<R>, passphrase: String, screens: bool, accept_older_copy: bool) -> Result<AppState, CommandError> {
        let since = self.locked_times.load(Ordering::SeqCst);
        let mut session = self.session.lock().await;
        if let Some(open) = session.as_ref().filter(|_| self.screen_locked.load(Ordering::SeqCst)) {
            let owner = open.owner.clone();
            drop(session);
            owner.check_passphrase(&passphrase).await.map_err(wrong_passphrase)?;
            if screens {
                self.unlock_screen(since);
            }
            return Ok(self.state().await);
        }
        if session.is_none() {
            if !Wallet::exists(&self.data_dir) {
                return Err(CommandError::new("no_wallet", "There is no wallet here yet: create one."));
            }
            *session = Some(match OwnerClient::running_server(&self.data_dir).await {
                Some((owner, ready)) => self.attach(app, owner, ready, &passphrase, accept_older_copy).await?,
                None => self.host(app, passphrase, accept_older_copy).await?,
            });
        }
        // The passphrase opened the wallet: the window is open too.
        if screens {
            self.unlock_screen(since);
        }
        drop(session);
        Ok(self.state().await)
    }

    /// Opens the screens over the wallet `uma-wallet serve` runs, once the
    /// passphrase is shown to be its own (a server started locked opens the
    /// wallet with it).
    async fn attach<R: Runtime>(&self, app: &AppHandle<R>, owner: OwnerClient, ready: Ready, passphrase: &str, accept_older_copy: bool) -> Result<Session, CommandError> {
        owner.unlock(passphrase, accept_older_copy).await.map_err(wrong_passphrase)?;
        let events = owner.events().await?;
        let events = tauri::async_runtime::spawn(forward_events(app.clone(), events, self.watcher.clone(), Attached::To { notifies_owner: ready.notifies_owner }));
        tracing::info!(issuer = %ready.issuer, owner_api = %ready.owner_api, "wallet opened over the server another program runs");
        Ok(Session { owner, ready, events, hosted: None })
    }

    /// Opens the wallet in this app, with its server.
    async fn host<R: Runtime>(&self, app: &AppHandle<R>, passphrase: String, accept_older_copy: bool) -> Result<Session, CommandError> {
        let settings = self.settings.lock().clone();
        let listen = match self.listen_override {
            Some(addr) => addr,
            None => settings.check()?,
        };
        let options = ServeOptions {
            listen,
            public_issuer: settings.public_issuer.clone(),
            anchoring: self.anchoring(accept_older_copy),
            ..ServeOptions::on_loopback(&self.data_dir, passphrase, self.clock.clone())
        };
        let bound = serve::bind(options).await?.backing_up(self.backup_dir.clone(), None);
        let owner = OwnerClient::in_process(bound.wallet())?;
        let wallet = bound.wallet().clone();
        let ready = bound.ready.clone();
        let events = owner.events().await?;
        let (stop, mut stopped) = watch::channel(false);
        let server = tauri::async_runtime::spawn(bound.run(async move {
            let _ = stopped.wait_for(|s| *s).await;
        }));
        let events = tauri::async_runtime::spawn(forward_events(app.clone(), events, self.watcher.clone(), Attached::No));
        tauri::async_runtime::spawn(scheduled_backups(wallet, self.settings.clone(), stop.subscribe()));
        tracing::info!(issuer = %ready.issuer, owner_api = %ready.owner_api, "wallet unlocked");
        Ok(Session { owner, ready, events, hosted: Some(Hosted { stop, server }) })
    }

    /// Stops the server (draining its connections and flushing every write)
    /// and closes the wallet; over a wallet another program serves, only
    /// the screens close.
    pub async fn lock(&self) {
        let Some(session) = self.session.lock().await.take() else { return };
        self.lock_now();
        session.events.abort();
        let Some(hosted) = session.hosted else { return };
        let _ = hosted.stop.send(true);
        match hosted.server.await {
            Ok(Ok(())) => tracing::info!("server stopped, wallet flushed"),
            Ok(Err(e)) => tracing::error!(error = %e, "server stopped with an error"),
            Err(e) => tracing::error!(error = %e, "server task failed"),
        }
    }

    /// Where the wallet anchors its history, and whether this opening takes
    /// an older copy ([`wallet::Anchoring`]).
    fn anchoring(&self, accept_older_copy: bool) -> Option<wallet::Anchoring> {
        self.anchor_dir.clone().map(|dir| wallet::Anchoring { dir, accept_older_copy })
    }

    /// Whether another program serves this wallet as the app starts
    /// (asked of its owner API, a second at most: the app's start waits).
    pub fn served_at_start(&self) -> bool {
        let asked = async { tokio::time::timeout(std::time::Duration::from_secs(1), OwnerClient::running_server(&self.data_dir)).await };
        tauri::async_runtime::block_on(asked).ok().flatten().is_some()
    }

    /// Whether the wallet is open over a server another program runs.
    async fn served_elsewhere(&self) -> bool {
        self.session.lock().await.as_ref().is_some_and(|session| session.hosted.is_none())
    }

    fn write_settings(&self, settings: &Settings) -> Result<(), CommandError> {
        // The wallet's folder is the owner's alone, even when settings come first.
        wallet::create_private_dir(&self.data_dir)?;
        let json = serde_json::to_string_pretty(settings).expect("settings serialize");
        Ok(wallet::write_private(&self.data_dir.join(SETTINGS_FILE), &json)?)
    }

    /// What the settings say now.
    pub fn settings(&self) -> Settings {
        self.settings.lock().clone()
    }

    /// Turns unlocking at login on (keeping `passphrase`, once it is shown
    /// to open this wallet, in the system's keyring) or off (forgetting it).
    pub async fn set_unlock_at_login(&self, enabled: bool, passphrase: Option<String>) -> Result<AppState, CommandError> {
        if enabled {
            let passphrase = passphrase.filter(|p| !p.is_empty()).ok_or_else(|| CommandError::invalid_input("Type your passphrase to keep it in this computer's keyring."))?;
            self.owner().await?.check_passphrase(&passphrase).await.map_err(wrong_passphrase)?;
            let data_dir = self.data_dir.clone();
            wallet::login_keyring::bounded(move || wallet::login_keyring::remember(&data_dir, &passphrase)).await.map_err(keyring_failed)?;
        } else {
            if self.screen_locked.load(Ordering::SeqCst) {
                return Err(CommandError::locked());
            }
            let data_dir = self.data_dir.clone();
            wallet::login_keyring::bounded(move || wallet::login_keyring::forget(&data_dir)).await.map_err(keyring_failed)?;
        }
        let settings = Settings { unlock_at_login: enabled, ..self.settings() };
        self.write_settings(&settings)?;
        *self.settings.lock() = settings;
        Ok(self.state().await)
    }

    /// At start: opens the wallet with the passphrase kept in the keyring,
    /// if the owner chose that, so that the server takes requests. Her
    /// screens stay locked: seeing or answering anything still takes her
    /// passphrase. Whatever goes wrong leaves the wallet closed, for her to
    /// unlock as usual; a kept passphrase that no longer opens the wallet
    /// is forgotten, and the setting with it.
    pub async fn unlock_from_keyring<R: Runtime>(&self, app: &AppHandle<R>) -> bool {
        if !self.settings().unlock_at_login || !Wallet::exists(&self.data_dir) {
            return false;
        }
        let data_dir = self.data_dir.clone();
        let passphrase = match wallet::login_keyring::bounded(move || wallet::login_keyring::recall(&data_dir)).await {
            Ok(Some(passphrase)) => passphrase,
            Ok(None) => {
                // Forgotten elsewhere (the server at login found it no
                // longer opened the wallet): the setting says so too.
                tracing::warn!("no passphrase kept in the keyring any more: unlocking at login is off");
                self.turn_off_unlock_at_login();
                return false;
            }
            Err(e) => {
                tracing::warn!(error = e, "the keyring could not be read: unlock by hand");
                return false;
            }
        };
        // Locked before it opens, and never unlocked by it: the page may
        // already be asking whether it is open.
        self.lock_now();
        match self.open(app, passphrase.to_string(), false, false).await {
            Ok(_) => true,
            Err(e) if e.kind == "wrong_passphrase" => {
                tracing::warn!("the passphrase in the keyring no longer opens the wallet: forgotten");
                let data_dir = self.data_dir.clone();
                let _ = wallet::login_keyring::bounded(move || wallet::login_keyring::forget(&data_dir)).await;
                self.turn_off_unlock_at_login();
                false
            }
            Err(e) => {
                tracing::warn!(error = %e.message, "could not unlock from the keyring");
                false
            }
        }
    }

    fn turn_off_unlock_at_login(&self) {
        let settings = Settings { unlock_at_login: false, ..self.settings() };
        if self.write_settings(&settings).is_ok() {
            *self.settings.lock() = settings;
        }
    }

    /// After the owner changed her passphrase: the keyring keeps the new one.
    /// A new passphrase and a new key for every record ([`Wallet::replace_key`]):
    /// the wallet closes (its server stops), the key is replaced, and it
    /// opens again with `new`. Both passphrases are checked before it closes.
    pub async fn replace_key<R: Runtime>(&self, app: &AppHandle<R>, current: String, new: String) -> Result<AppState, CommandError> {
        if self.screen_locked.load(Ordering::SeqCst) {
            return Err(CommandError::locked());
        }
        if let Some(problem) = wallet::passphrase_problem(&new) {
            return Err(CommandError::new("invalid_request", problem));
        }
        if self.served_elsewhere().await {
            return Err(served_elsewhere());
        }
        self.owner().await?.check_passphrase(&current).await.map_err(wrong_passphrase)?;
        self.lock().await;
        let (dir, anchoring) = (self.data_dir.clone(), self.anchoring(false));
        let (old, fresh) = (current.clone(), new.clone());
        let replaced = match tokio::task::spawn_blocking(move || Wallet::replace_key(&dir, &old, &fresh, anchoring.as_ref())).await {
            Ok(replaced) => replaced.map_err(CommandError::from),
            Err(e) => Err(CommandError::new("wallet_error", e.to_string())),
        };
        // Whatever happened, the wallet opens again, with whichever of the
        // two passphrases opens it now.
        let reopened = match self.open(app, new.clone(), true, false).await {
            Err(e) if e.kind == "wrong_passphrase" => self.open(app, current, true, false).await,
            opened => {
                if opened.is_ok() {
                    self.passphrase_changed(new).await;
                }
                opened
            }
        };
        replaced?;
        reopened
    }

    pub async fn passphrase_changed(&self, new: String) {
        if self.settings().unlock_at_login {
            let data_dir = self.data_dir.clone();
            if let Err(e) = wallet::login_keyring::bounded(move || wallet::login_keyring::remember(&data_dir, &new)).await {
                tracing::warn!(error = e, "the keyring could not take the new passphrase");
            }
        }
    }

    pub async fn save_settings(&self, mut settings: Settings) -> Result<AppState, CommandError> {
        if self.screen_locked.load(Ordering::SeqCst) {
            return Err(CommandError::locked());
        }
        // Only `set_unlock_at_login` changes this: it checks the passphrase
        // and keeps or forgets it in the keyring with the flag.
        settings.unlock_at_login = self.settings().unlock_at_login;
        settings.check()?;
        if self.settings().moves_the_server(&settings) && self.served_elsewhere().await {
            return Err(served_elsewhere());
        }
        self.write_settings(&settings)?;
        let moved = std::mem::replace(&mut *self.settings.lock(), settings.clone()).moves_the_server(&settings);
        // The issuer is part of every token and of the server's metadata, so a
        // new address needs the wallet reopened: lock, and the owner unlocks.
        if moved {
            self.lock().await;
        }
        Ok(self.state().await)
    }

    /// The owner service, for one call; the session lock is not held during it.
    pub async fn owner(&self) -> Result<OwnerClient, CommandError> {
        if self.screen_locked.load(Ordering::SeqCst) {
            return Err(CommandError::locked());
        }
        self.session.lock().await.as_ref().map(|s| s.owner.clone()).ok_or_else(CommandError::locked)
    }

    pub fn watch(&self, channel: Channel<OwnerEvent>) {
        *self.watcher.lock() = Some(channel);
    }

    fn backup_folder(&self) -> Result<&std::path::Path, CommandError> {
        wallet::create_owner_dir(&self.backup_dir)?;
        Ok(&self.backup_dir)
    }

    /// The backups in the backup folder, newest first.
    pub fn backups(&self) -> Vec<BackupFile> {
        backups_in(&self.backup_dir)
    }

    /// Recreates the wallet from a backup file, when there is none here
    /// yet, and opens it: the passphrase is the one it was backed up with.
    pub async fn restore<R: Runtime>(&self, app: &AppHandle<R>, backup: PathBuf, passphrase: String) -> Result<AppState, CommandError> {
        if Wallet::exists(&self.data_dir) {
            return Err(CommandError::new("wallet_exists", "A wallet already exists here: unlock it instead."));
        }
        if !backup.is_file() {
            return Err(CommandError::invalid_input(format!("There is no backup file at {}.", backup.display())));
        }
        let (dir, pass) = (self.data_dir.clone(), passphrase.clone());
        let anchoring = self.anchoring(false);
        tokio::task::spawn_blocking(move || Wallet::restore(&backup, &dir, &pass, anchoring.as_ref()))
            .await
            .map_err(|e| CommandError::new("wallet_error", e.to_string()))??;
        self.unlock(app, passphrase, false).await
    }

    /// Writes what the owner exports (her credentials, her activity) as
    /// JSON in the backup folder, readable by her alone; returns its path.
    pub async fn write_export<T: Serialize>(&self, what: &str, items: &T) -> Result<PathBuf, CommandError> {
        self.owner().await?;
        let path = self.backup_folder()?.join(format!("uma-wallet-{what}-{}.json", self.clock.now()));
        let json = serde_json::to_string_pretty(items).map_err(|e| CommandError::new("wallet_error", e.to_string()))?;
        wallet::write_private(&path, &json)?;
        Ok(path)
    }
}

/// While the wallet is open: a backup when one is due (none in the last
/// day), then the oldest deleted beyond the number to keep. Checked at
/// unlock and every hour; ends when the wallet locks.
async fn scheduled_backups(wallet: Wallet, settings: Arc<parking_lot::Mutex<Settings>>, mut stopped: watch::Receiver<bool>) {
    loop {
        let schedule = settings.lock().backups.clone();
        if schedule.daily {
            match wallet.scheduled_backup(schedule.keep).await {
                Ok(Some(made)) => tracing::info!(path = %made.path.display(), "scheduled backup made"),
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "scheduled backup failed"),
            }
        }
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
            // A change of schedule takes effect at once.
            _ = settings_changed(&settings, &schedule) => {}
        }
    }
}

/// Resolves once the backup schedule differs from `was`.
async fn settings_changed(settings: &parking_lot::Mutex<Settings>, was: &BackupSchedule) {
    while settings.lock().backups == *was {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// Sends each owner event to the window, and raises a desktop notification
/// for each new request. Ends when the wallet locks.
/// Whether the app's screens are open over a server another program runs,
/// and if so whether that one shows the owner's notifications.
#[derive(Clone, Copy, PartialEq)]
enum Attached {
    No,
    To { notifies_owner: bool },
}

async fn forward_events<R: Runtime>(app: AppHandle<R>, events: impl futures_util::Stream<Item = OwnerEvent>, watcher: Watcher, attached: Attached) {
    use futures_util::StreamExt;
    let mut events = std::pin::pin!(events);
    let mut gate = wallet::NotificationGate::default();
    while let Some(event) = events.next().await {
        if let Some(channel) = watcher.lock().as_ref() {
            if let Err(e) = channel.send(event.clone()) {
                tracing::debug!(error = %e, "the window did not take an owner event");
            }
        }
        // Not twice: the tray of `uma-wallet serve --tray` shows them.
        if attached != (Attached::To { notifies_owner: true }) {
            if let Some((title, body)) = gate.notification(&event, Instant::now()) {
                notify(&app, &title, &body);
            }
        }
    }
    // Over a server another program runs, the stream ends when that server
    // stops: the screens lock, and the next unlock opens the wallet here.
    if attached != Attached::No {
        if let Some(desktop) = app.try_state::<Desktop>() {
            tracing::info!("the program serving the wallet stopped: locking");
            desktop.lock().await;
        }
    }
}

/// Best effort: a desktop without a notification service (or a test run
/// without the plugin) still gets the request in the inbox.
fn notify<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str) {
    if app.try_state::<tauri_plugin_notification::Notification<R>>().is_none() {
        return;
    }
    let app = app.clone();
    let (title, body) = (title.to_string(), body.to_string());
    // D-Bus can stall for seconds on a broken session bus: never on the event path.
    tauri::async_runtime::spawn_blocking(move || {
        use tauri_plugin_notification::NotificationExt;
        if let Err(e) = app.notification().builder().title(title).body(body).show() {
            tracing::debug!(error = %e, "no desktop notification");
        }
    });
}


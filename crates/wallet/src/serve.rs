//! Running the wallet: the authorization server and the owner API on their
//! listeners, until SIGTERM or Ctrl-C, then a flush.

use crate::{owner_api, write_private, OwnerToken, Wallet, WalletError, SERVER_FILE};
use std::sync::Arc;
use serde::Serialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::net::TcpListener;
use http_guard::inbound::{check_host, refuse_cross_origin, Hosts, Limits, Origins};
use uma_as::{AuthorizationServer, Clock, Config};
/// What `serve` stops on: SIGTERM or Ctrl-C.
pub use http_guard::inbound::shutdown_signal;

pub struct ServeOptions {
    pub data_dir: PathBuf,
    pub passphrase: String,
    /// Where the authorization server listens; loopback unless the owner
    /// chooses otherwise.
    pub listen: SocketAddr,
    /// Where the owner API listens; must be loopback.
    pub owner_listen: SocketAddr,
    /// The issuer URL when the server sits behind a proxy or tunnel.
    pub public_issuer: Option<String>,
    pub clock: Clock,
    /// Permission tickets one resource server may ask for a minute (and in
    /// a burst); the default suits a personal wallet, a load test needs more.
    pub tickets_per_minute: Option<u32>,
    /// How long an RPT lasts, in seconds [default: 600]. A provider that
    /// checks RPTs itself while the wallet is unreachable honours a
    /// revocation only once the RPT ends, so shorter closes that gap sooner.
    pub rpt_lifetime: Option<i64>,
    /// Reverse proxies in front of the authorization server: their
    /// connections carry everyone's requests, so no per-address share
    /// limits them. The server reads no `X-Forwarded-*` header from anyone:
    /// its URLs come from the issuer, and no limit depends on who asks.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Where the wallet anchors its history against old copies put back
    /// ([`Wallet::default_anchoring`]); none for wallets a test throws away.
    pub anchoring: Option<crate::Anchoring>,
    /// This process shows the owner's desktop notifications (its tray):
    /// said in [`Ready::notifies_owner`].
    pub notifies_owner: bool,
}

impl ServeOptions {
    /// Both listeners on free loopback ports, the defaults otherwise, no
    /// anchor: a wallet a test or a benchmark serves and throws away.
    pub fn on_loopback(data_dir: impl Into<PathBuf>, passphrase: impl Into<String>, clock: Clock) -> ServeOptions {
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        ServeOptions {
            data_dir: data_dir.into(),
            passphrase: passphrase.into(),
            listen: any_port,
            owner_listen: any_port,
            public_issuer: None,
            clock,
            tickets_per_minute: None,
            rpt_lifetime: None,
            trusted_proxies: Vec::new(),
            anchoring: None,
            notifies_owner: false,
        }
    }
}

/// What `serve` announces once it accepts connections (one JSON line).
#[derive(Clone, Debug, Serialize, serde::Deserialize, ts_rs::TS)]
pub struct Ready {
    pub issuer: String,
    pub owner_api: String,
    pub listen: String,
    pub pid: u32,
    /// The server shows the owner's desktop notifications itself
    /// (`uma-wallet serve --tray`): an app opening its screens over it
    /// does not show them a second time.
    #[serde(default)]
    pub notifies_owner: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Wallet(#[from] WalletError),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("the owner API must listen on a loopback address, not {0}")]
    OwnerApiNotLoopback(SocketAddr),
    #[error("{0}")]
    Issuer(String),
    #[error("this wallet is already being served by another program (its server.json says where); stop it first")]
    AlreadyServed,
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Both listeners, bound, and the issuer their addresses give.
struct Listening {
    as_listener: TcpListener,
    owner_listener: TcpListener,
    ready: Ready,
    trusted_proxies: Vec<std::net::IpAddr>,
    /// Held while this server runs ([`serve_lock`]).
    _only_server: Option<std::fs::File>,
}

/// One server per wallet: a second `serve` (locked or not) or an app that
/// would host the wallet refuses to start, rather than replace the running
/// one's owner token and `server.json`. A lock, not a file's presence, so
/// a server that died leaves nothing in the way.
fn serve_lock(data_dir: &std::path::Path) -> Result<Option<std::fs::File>, ServeError> {
    if !data_dir.is_dir() {
        // No wallet here: opening it says so.
        return Ok(None);
    }
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(data_dir.join(SERVE_LOCK_FILE))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(ServeError::AlreadyServed),
        Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

const SERVE_LOCK_FILE: &str = "serve.lock";

async fn listen(options: &ServeOptions) -> Result<Listening, ServeError> {
    if !options.owner_listen.ip().is_loopback() {
        return Err(ServeError::OwnerApiNotLoopback(options.owner_listen));
    }
    let only_server = serve_lock(&options.data_dir)?;
    let public_issuer = options.public_issuer.as_deref().map(crate::check_public_issuer).transpose().map_err(ServeError::Issuer)?;
    let as_listener = TcpListener::bind(options.listen).await.map_err(|e| ServeError::Bind(options.listen, e))?;
    let owner_listener = TcpListener::bind(options.owner_listen).await.map_err(|e| ServeError::Bind(options.owner_listen, e))?;
    let as_addr = as_listener.local_addr()?;
    let ready = Ready {
        issuer: public_issuer.unwrap_or_else(|| format!("http://{as_addr}")),
        owner_api: format!("http://{}", owner_listener.local_addr()?),
        listen: as_addr.to_string(),
        pid: std::process::id(),
        notifies_owner: options.notifies_owner,
    };
    Ok(Listening { as_listener, owner_listener, ready, trusted_proxies: options.trusted_proxies.clone(), _only_server: only_server })
}

fn config(options: &ServeOptions, issuer: &str) -> Config {
    let mut config = Config::new(issuer);
    if let Some(rate) = options.tickets_per_minute {
        (config.ticket_burst, config.tickets_per_minute) = (rate, rate);
    }
    if let Some(seconds) = options.rpt_lifetime {
        config.rpt_ttl = seconds;
    }
    config.anchoring = options.anchoring.clone();
    config
}

/// Written before anyone learns the server is ready, so an owner command
/// run right after the ready line finds this server, not a stale file.
fn announce(data_dir: &std::path::Path, ready: &Ready) -> Result<(), ServeError> {
    Ok(write_private(&data_dir.join(SERVER_FILE), &serde_json::to_string(ready).expect("ready serializes"))?)
}

/// A bound, not yet running, wallet server.
pub struct Bound {
    wallet: Wallet,
    listening: Listening,
    pub ready: Ready,
    /// Keep this many daily backups, made while the server runs.
    daily_backups: Option<u32>,
}

impl Bound {
    pub fn wallet(&self) -> &Wallet {
        &self.wallet
    }

    /// Backups go to `dir`; with `daily_keep`, one is made each day the
    /// server runs and the newest `daily_keep` are kept.
    pub fn backing_up(mut self, dir: PathBuf, daily_keep: Option<u32>) -> Bound {
        self.wallet = self.wallet.with_backup_dir(dir);
        self.daily_backups = daily_keep;
        self
    }
}

/// Binds both listeners and opens the wallet with the resulting issuer.
pub async fn bind(options: ServeOptions) -> Result<Bound, ServeError> {
    let listening = listen(&options).await?;
    let wallet = Wallet::open(&options.data_dir, &options.passphrase, config(&options, &listening.ready.issuer), options.clock.clone())?;
    wallet.rotate_owner_token()?;
    let ready = listening.ready.clone();
    announce(wallet.data_dir(), &ready)?;
    Ok(Bound { wallet, listening, ready, daily_backups: None })
}

/// A bound wallet server whose passphrase is still to come
/// (`uma-wallet serve --locked`, started at login before anyone types it).
pub struct Locked {
    options: ServeOptions,
    listening: Listening,
    token: OwnerToken,
    pub ready: Ready,
    backup_dir: Option<PathBuf>,
    daily_backups: Option<u32>,
    opened: tokio::sync::watch::Sender<bool>,
    at_start: Option<AtStart>,
}

/// A passphrase to try once the server runs (the keyring's, at login), and
/// what to do with the answer.
struct AtStart {
    passphrase: futures_util::future::BoxFuture<'static, Option<String>>,
    answered: Box<dyn FnOnce(Result<(), crate::OwnerError>) + Send>,
}

/// Binds both listeners of a wallet that stays closed until the owner
/// gives its passphrase through the owner API ([`owner_api::locked_router`]).
/// `options.passphrase` is not used.
pub async fn bind_locked(options: ServeOptions) -> Result<Locked, ServeError> {
    if !Wallet::exists(&options.data_dir) {
        return Err(ServeError::Wallet(uma_as::StoreError::NotInitialized(options.data_dir.display().to_string()).into()));
    }
    let listening = listen(&options).await?;
    let token = OwnerToken::generate();
    write_private(&options.data_dir.join(crate::OWNER_TOKEN_FILE), token.expose())?;
    let ready = listening.ready.clone();
    announce(&options.data_dir, &ready)?;
    Ok(Locked { options, listening, token, ready, backup_dir: None, daily_backups: None, opened: tokio::sync::watch::channel(false).0, at_start: None })
}

impl Locked {
    /// As [`Bound::backing_up`], once the wallet is open.
    pub fn backing_up(mut self, dir: PathBuf, daily_keep: Option<u32>) -> Locked {
        self.backup_dir = Some(dir);
        self.daily_backups = daily_keep;
        self
    }

    /// Opens the wallet, once the server runs, with the passphrase
    /// `passphrase` comes to (none: it waits for the owner), in this
    /// process, as the owner API's unlock would; `answered` gets the outcome.
    pub fn unlocking_at_start(
        mut self,
        passphrase: impl std::future::Future<Output = Option<String>> + Send + 'static,
        answered: impl FnOnce(Result<(), crate::OwnerError>) + Send + 'static,
    ) -> Locked {
        self.at_start = Some(AtStart { passphrase: Box::pin(passphrase), answered: Box::new(answered) });
        self
    }

    /// Turns true once a passphrase has opened the wallet (the tray of
    /// `uma-wallet serve --tray` says so, and starts its notifications).
    pub fn opened(&self) -> tokio::sync::watch::Receiver<bool> {
        self.opened.subscribe()
    }

    /// Serves until `shutdown` resolves: locked, the owner API takes only
    /// the passphrase and the authorization server answers 503; once a
    /// right passphrase opens the wallet, both serve as [`Bound::run`] does.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> Result<(), ServeError> {
        let Locked { options, listening, token, ready, backup_dir, daily_backups, opened: opened_tx, at_start } = self;
        let server_file = options.data_dir.join(SERVER_FILE);
        let (stop_rx, slots) = (stopping(shutdown), Slots::new(unavailable(), axum::Router::new()));
        let state: Arc<tokio::sync::Mutex<Phase>> = Arc::new(tokio::sync::Mutex::new(Phase::Waiting));
        let unlock: owner_api::Unlock = {
            let (state, slots, stop_rx, token) = (state.clone(), slots.clone(), stop_rx.clone(), token.clone());
            let (options, opened_tx) = (Arc::new(options), Arc::new(opened_tx));
            Arc::new(move |given: crate::api::CheckPassphrase| {
                let (state, slots, stop_rx, token, options, issuer) = (state.clone(), slots.clone(), stop_rx.clone(), token.clone(), options.clone(), ready.issuer.clone());
                let opened_tx = opened_tx.clone();
                let backup_dir = backup_dir.clone();
                Box::pin(async move {
                    // One at a time: the first right passphrase opens the wallet.
                    let mut phase = state.lock().await;
                    match &*phase {
                        Phase::Open(open) => return open.wallet.check_passphrase(&given.passphrase).await,
                        Phase::Closed => return Err(crate::OwnerError::invalid("the server is stopping")),
                        Phase::Waiting if *stop_rx.borrow() => return Err(crate::OwnerError::invalid("the server is stopping")),
                        Phase::Waiting => {}
                    }
                    let mut config = config(&options, &issuer);
                    if let Some(anchoring) = config.anchoring.as_mut() {
                        anchoring.accept_older_copy = given.accept_older_copy;
                    }
                    let (data_dir, clock) = (options.data_dir.clone(), options.clock.clone());
                    let opened = tokio::task::spawn_blocking(move || Wallet::open(&data_dir, &given.passphrase, config, clock))
                        .await
                        .map_err(crate::OwnerError::internal)?;
                    let wallet = match opened {
                        Ok(wallet) => wallet,
                        Err(WalletError::Store(uma_as::StoreError::WrongPassphrase)) => {
                            tokio::time::sleep(crate::WRONG_PASSPHRASE_DELAY).await;
                            return Err(crate::OwnerError::WrongPassphrase);
                        }
                        Err(WalletError::Store(uma_as::StoreError::OlderCopy(why))) => return Err(crate::OwnerError::OlderCopy(why)),
                        Err(other) => return Err(crate::OwnerError::internal(other)),
                    };
                    let wallet = match backup_dir {
                        Some(dir) => wallet.with_backup_dir(dir),
                        None => wallet,
                    };
                    tracing::info!("wallet unlocked through the owner API");
                    let opened = Opened::start(wallet, &stop_rx, daily_backups);
                    slots.fill(opened.routers(&token, &stop_rx));
                    *phase = Phase::Open(opened);
                    opened_tx.send_replace(true);
                    Ok(())
                })
            })
        };
        if let Some(AtStart { passphrase, answered }) = at_start {
            let unlock = unlock.clone();
            tokio::spawn(async move {
                if let Some(passphrase) = passphrase.await {
                    answered(unlock(crate::api::CheckPassphrase { passphrase, accept_older_copy: false }).await);
                }
            });
        }
        *slots.owner.write() = owner_api::locked_router(&token, unlock);
        let served = serve_listeners(listening, dispatching(slots.authorization_server.clone()), dispatching(slots.owner.clone()), &stop_rx).await;
        // No unlock after this: one still on its way finds the server closed.
        let phase = std::mem::replace(&mut *state.lock().await, Phase::Closed);
        if let Phase::Open(opened) = phase {
            opened.finish().await?;
        }
        let _ = std::fs::remove_file(&server_file);
        served
    }
}

/// Where a locked server is: waiting for the passphrase, open, or stopped.
enum Phase {
    Waiting,
    Open(Opened),
    Closed,
}

impl Bound {
    /// Serves until `shutdown` resolves, then drains connections, flushes
    /// the store and removes `server.json` (written by [`bind`]).
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> Result<(), ServeError> {
        let token = self.wallet.owner_token()?;
        let server_file = self.wallet.data_dir().join(SERVER_FILE);
        let stop_rx = stopping(shutdown);
        let opened = Opened::start(self.wallet, &stop_rx, self.daily_backups);
        let (as_app, owner_app) = opened.routers(&token, &stop_rx);
        let served = serve_listeners(self.listening, as_app, owner_app, &stop_rx).await;
        opened.finish().await?;
        let _ = std::fs::remove_file(&server_file);
        served
    }
}

/// Turns true once `shutdown` resolves.
fn stopping(shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> tokio::sync::watch::Receiver<bool> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    stop_rx
}

async fn stopped(mut stop_rx: tokio::sync::watch::Receiver<bool>) {
    let _ = stop_rx.wait_for(|stopped| *stopped).await;
}

/// What each listener of a locked server serves now: the locked routers
/// until its passphrase opens the wallet, the wallet's own from then on.
#[derive(Clone)]
struct Slots {
    authorization_server: Arc<parking_lot::RwLock<axum::Router>>,
    owner: Arc<parking_lot::RwLock<axum::Router>>,
}

impl Slots {
    fn new(authorization_server: axum::Router, owner: axum::Router) -> Slots {
        Slots { authorization_server: Arc::new(parking_lot::RwLock::new(authorization_server)), owner: Arc::new(parking_lot::RwLock::new(owner)) }
    }

    fn fill(&self, (authorization_server, owner): (axum::Router, axum::Router)) {
        *self.authorization_server.write() = authorization_server;
        *self.owner.write() = owner;
    }
}

/// A router that hands each request to whatever `slot` holds when it comes.
fn dispatching(slot: Arc<parking_lot::RwLock<axum::Router>>) -> axum::Router {
    axum::Router::new().fallback(move |request: axum::extract::Request| {
        let router = slot.read().clone();
        async move {
            match tower::ServiceExt::oneshot(router, request).await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        }
    })
}

/// The authorization server of a locked wallet: nothing to answer with
/// yet. Providers take 503 as "unreachable" and check RPTs themselves.
fn unavailable() -> axum::Router {
    use axum::response::IntoResponse;
    axum::Router::new().fallback(|| async {
        let body = uma_as::http::openapi::ErrorBody {
            error: "temporarily_unavailable".into(),
            error_description: Some("the wallet is locked until its owner unlocks it".into()),
            ..Default::default()
        };
        (axum::http::StatusCode::SERVICE_UNAVAILABLE, [(axum::http::header::RETRY_AFTER, "60")], axum::Json(body)).into_response()
    })
}

/// Serves both listeners until `stop_rx` turns true.
async fn serve_listeners(listening: Listening, as_app: axum::Router, owner_app: axum::Router, stop_rx: &tokio::sync::watch::Receiver<bool>) -> Result<(), ServeError> {
    // Loopback only, and never driven by a web page: a DNS-rebinding
    // page or a cross-origin POST is refused before the token is checked.
    let owner_app = owner_app
        .layer(axum::middleware::from_fn_with_state(Origins::none(), refuse_cross_origin))
        .layer(axum::middleware::from_fn_with_state(Hosts::loopback_only(), check_host));
    let as_limits = Limits { proxies: listening.trusted_proxies.iter().map(|ip| ip.to_canonical()).collect(), ..Limits::default() };
    let as_task = http_guard::inbound::serve(listening.as_listener, as_app, as_limits, stopped(stop_rx.clone()));
    let owner_task = http_guard::inbound::serve(listening.owner_listener, owner_app, Limits::default(), stopped(stop_rx.clone()));
    let (a, b) = tokio::join!(as_task, owner_task);
    a?;
    b?;
    Ok(())
}

/// An open wallet being served, and what runs beside its routers.
struct Opened {
    wallet: Wallet,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Opened {
    fn start(wallet: Wallet, stop_rx: &tokio::sync::watch::Receiver<bool>, daily_backups: Option<u32>) -> Opened {
        let mut tasks = vec![
            tokio::spawn(housekeeping(wallet.server().clone(), stop_rx.clone())),
            // Providers call back while this runs: the listeners are bound
            // and served from here on.
            tokio::spawn(follow_address(wallet.pensions().clone())),
        ];
        if let Some(keep) = daily_backups {
            let (wallet, stop_rx) = (wallet.clone(), stop_rx.clone());
            tasks.push(tokio::spawn(async move { wallet.back_up_daily(keep, stopped(stop_rx)).await }));
        }
        Opened { wallet, tasks }
    }

    /// The authorization server's router and the owner API's.
    fn routers(&self, token: &OwnerToken, stop_rx: &tokio::sync::watch::Receiver<bool>) -> (axum::Router, axum::Router) {
        (uma_as::http::router(self.wallet.server().clone()), owner_api::router_until(&self.wallet, token, Some(stop_rx.clone())))
    }

    /// After the listeners stopped: writes what is counted and flushes.
    async fn finish(self) -> Result<(), ServeError> {
        for task in &self.tasks {
            task.abort();
        }
        let server = self.wallet.server().clone();
        server.write_counted_refusals();
        server.flush().await.map_err(WalletError::from)?;
        // The hot store's journal closed cleanly: tickets stay valid across
        // this restart (see uma_as::hot).
        let _ = tokio::task::spawn_blocking(move || server.close()).await;
        Ok(())
    }
}
/// Points every pension whose provider names an earlier address of this
/// wallet at its address now (see `pensions/address.rs`).
async fn follow_address(pensions: crate::pensions::Pensions) {
    match pensions.address_status() {
        Ok(status) if status.waiting.is_empty() => {}
        Ok(status) => {
            tracing::info!(address = status.address, pensions = status.waiting.len(), "the wallet's address changed: telling the providers");
            match pensions.follow_address().await {
                Ok(report) => tracing::info!(updated = report.updated.len(), failed = report.failed.len(), "providers told of the new address"),
                Err(e) => tracing::warn!(error = %e, "could not tell the providers of the new address"),
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not check the pensions' address"),
    }
}

/// Drops spent-ticket markers, RPTs, replay markers and claims-gathering
/// visits past their end every minute, so neither memory nor the database
/// grows with traffic alone: what is kept is what is live, plus at most a
/// minute's worth.
async fn housekeeping(server: AuthorizationServer, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(60)) => {
                match server.purge_expired() {
                    Ok(n) if n > 0 => tracing::info!(removed = n, "purged expired records"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "purge failed"),
                }
            }
            _ = stop.changed() => return,
        }
    }
}

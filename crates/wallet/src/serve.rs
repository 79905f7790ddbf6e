//! Running the wallet: the authorization server and the owner API on their
//! listeners, until SIGTERM or Ctrl-C, then a flush.

use crate::{owner_api, write_private, Wallet, WalletError, SERVER_FILE};
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
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// A bound, not yet running, wallet server.
pub struct Bound {
    wallet: Wallet,
    as_listener: TcpListener,
    owner_listener: TcpListener,
    pub ready: Ready,
    /// Keep this many daily backups, made while the server runs.
    daily_backups: Option<u32>,
    trusted_proxies: Vec<std::net::IpAddr>,
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
    if !options.owner_listen.ip().is_loopback() {
        return Err(ServeError::OwnerApiNotLoopback(options.owner_listen));
    }
    let public_issuer = options.public_issuer.as_deref().map(crate::check_public_issuer).transpose().map_err(ServeError::Issuer)?;
    let as_listener = TcpListener::bind(options.listen).await.map_err(|e| ServeError::Bind(options.listen, e))?;
    let owner_listener = TcpListener::bind(options.owner_listen).await.map_err(|e| ServeError::Bind(options.owner_listen, e))?;
    let as_addr = as_listener.local_addr()?;
    let owner_addr = owner_listener.local_addr()?;
    let issuer = public_issuer.unwrap_or_else(|| format!("http://{as_addr}"));
    let mut config = Config::new(issuer);
    if let Some(rate) = options.tickets_per_minute {
        (config.ticket_burst, config.tickets_per_minute) = (rate, rate);
    }
    if let Some(seconds) = options.rpt_lifetime {
        config.rpt_ttl = seconds;
    }
    config.anchoring = options.anchoring;
    let wallet = Wallet::open(&options.data_dir, &options.passphrase, config, options.clock)?;
    wallet.rotate_owner_token()?;
    let ready = Ready {
        issuer: wallet.server().config().issuer.clone(),
        owner_api: format!("http://{owner_addr}"),
        listen: as_addr.to_string(),
        pid: std::process::id(),
    };
    // Written before anyone learns the server is ready, so an owner command
    // run right after the ready line finds this server, not a stale file.
    let server_file = wallet.data_dir().join(SERVER_FILE);
    write_private(&server_file, &serde_json::to_string(&ready).expect("ready serializes"))?;
    Ok(Bound { wallet, as_listener, owner_listener, ready, daily_backups: None, trusted_proxies: options.trusted_proxies })
}

impl Bound {
    /// Serves until `shutdown` resolves, then drains connections, flushes
    /// the store and removes `server.json` (written by [`bind`]).
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> Result<(), ServeError> {
        let server = self.wallet.server().clone();
        let token = self.wallet.owner_token()?;
        let server_file = self.wallet.data_dir().join(SERVER_FILE);

        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stopped| *stopped).await;
        };
        let as_app = uma_as::http::router(server.clone());
        // Loopback only, and never driven by a web page: a DNS-rebinding
        // page or a cross-origin POST is refused before the token is checked.
        let owner_app = owner_api::router_until(&self.wallet, &token, Some(stop_rx.clone()))
            .layer(axum::middleware::from_fn_with_state(Origins::none(), refuse_cross_origin))
            .layer(axum::middleware::from_fn_with_state(Hosts::loopback_only(), check_host));
        let as_limits = Limits { proxies: self.trusted_proxies.iter().map(|ip| ip.to_canonical()).collect(), ..Limits::default() };
        let as_task = http_guard::inbound::serve(self.as_listener, as_app, as_limits, wait(stop_rx.clone()));
        let owner_task = http_guard::inbound::serve(self.owner_listener, owner_app, Limits::default(), wait(stop_rx.clone()));
        let housekeeping = tokio::spawn(housekeeping(server.clone(), stop_rx.clone()));
        // Providers call back while this runs: the listeners are bound and
        // served from here on.
        let follow = tokio::spawn(follow_address(self.wallet.pensions().clone()));
        let backups = self.daily_backups.map(|keep| {
            let wallet = self.wallet.clone();
            tokio::spawn(async move { wallet.back_up_daily(keep, wait(stop_rx)).await })
        });
        let (a, b) = tokio::join!(as_task, owner_task);
        housekeeping.abort();
        follow.abort();
        if let Some(backups) = backups {
            backups.abort();
        }
        server.write_counted_refusals();
        server.flush().await.map_err(WalletError::from)?;
        // The hot store's journal closed cleanly: tickets stay valid across
        // this restart (see uma_as::hot).
        let closing = server.clone();
        let _ = tokio::task::spawn_blocking(move || closing.close()).await;
        let _ = std::fs::remove_file(&server_file);
        a?;
        b?;
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

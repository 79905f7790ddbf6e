//! Serving with limits: what a stranger on the network can make a server
//! hold open, read or answer.

use crate::refuse;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// What one server allows each connection and request.
#[derive(Clone, Debug)]
pub struct Limits {
    /// A request head must arrive within this after the connection opens or
    /// goes idle: stalled and idle keep-alive connections are closed after it.
    pub header_read_timeout: Duration,
    /// A whole request body must arrive within this.
    pub body_read_timeout: Duration,
    /// Larger request bodies are refused with 413 before they are read.
    pub max_body: usize,
    /// Connections served at once; further ones wait in the listen backlog.
    /// By default half the process's open-file limit (at most 4,096), so
    /// that a flood of connections leaves descriptors for the store, the
    /// other listener and outgoing calls.
    pub max_connections: usize,
    /// Connections one address may hold at once, so that one party cannot
    /// take every slot and make the server look down to everyone else. A
    /// connection over it is closed at once.
    pub max_connections_per_address: usize,
    /// Addresses exempt from that: reverse proxies in front of the server,
    /// whose connections carry everyone's requests.
    pub proxies: Arc<[IpAddr]>,
    /// On shutdown, connections still open after this are dropped.
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        let max_connections = open_file_limit().map_or(512, |n| (n / 2).clamp(64, 4096));
        Limits {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            max_body: 64 * 1024,
            max_connections,
            max_connections_per_address: (max_connections / 4).max(16),
            proxies: Arc::new([]),
            drain_timeout: Duration::from_secs(10),
        }
    }
}

/// The soft limit on open files, where the system says (Linux).
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Serves `app` as the server at `url` (requests for any other host but
/// loopback get `421`), with the default limits, until SIGTERM or Ctrl-C:
/// how a reference peer's `serve` command runs.
pub async fn serve_as(listener: TcpListener, app: Router, url: &str) -> std::io::Result<()> {
    let app = app.layer(axum::middleware::from_fn_with_state(Hosts::of(url), check_host));
    serve(listener, crate::trace::traced(app), Limits::default(), shutdown_signal()).await
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets requests
/// in flight finish (up to [`Limits::drain_timeout`]).
pub async fn serve(listener: TcpListener, app: Router, limits: Limits, shutdown: impl Future<Output = ()> + Send) -> std::io::Result<()> {
    let app = app.layer(middleware::from_fn_with_state(limits.clone(), whole_body));
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let shares = Shares::default();
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before
                    // it was accepted: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(share) = shares.take(peer.ip(), &limits) else {
            tracing::debug!(peer = %peer.ip(), "connection refused: that address holds its share of connections");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone().map_request(|request: Request<hyper::body::Incoming>| request.map(Body::new)));
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop((slot, share));
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain_timeout, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after the drain timeout were dropped");
    }
    Ok(())
}

/// Connections open per address ([`Limits::max_connections_per_address`]).
#[derive(Clone, Default)]
struct Shares(Arc<std::sync::Mutex<HashMap<IpAddr, usize>>>);

/// One connection's place in its address's share; given back when dropped.
struct Share {
    shares: Shares,
    /// `None` for an exempt address (a proxy).
    counted: Option<IpAddr>,
}

impl Shares {
    fn take(&self, ip: IpAddr, limits: &Limits) -> Option<Share> {
        let ip = ip.to_canonical();
        if limits.proxies.contains(&ip) {
            return Some(Share { shares: self.clone(), counted: None });
        }
        let mut open = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = open.entry(ip).or_default();
        if *count >= limits.max_connections_per_address {
            return None;
        }
        *count += 1;
        Some(Share { shares: self.clone(), counted: Some(ip) })
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        let Some(ip) = self.counted else { return };
        let mut open = self.shares.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let std::collections::hash_map::Entry::Occupied(mut entry) = open.entry(ip) {
            *entry.get_mut() -= 1;
            if *entry.get() == 0 {
                entry.remove();
            }
        }
    }
}

/// Reads the whole request body within the deadline and the size limit, so
/// a handler never waits on a client that dribbles its body.
async fn whole_body(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limits.max_body) {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request", "request body too large");
    }
    let (parts, body) = request.into_parts();
    let read = tokio::time::timeout(limits.body_read_timeout, Limited::new(body, limits.max_body).collect()).await;
    let bytes = match read {
        Err(_) => return refuse(StatusCode::REQUEST_TIMEOUT, "invalid_request", "the request body did not arrive in time"),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return refuse(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request", "request body too large")
        }
        Ok(Err(_)) => return refuse(StatusCode::BAD_REQUEST, "invalid_request", "could not read the request body"),
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// The host names a server answers for. Loopback names (`localhost`,
/// 127.0.0.0/8, `::1`) can always be admitted: a DNS-rebinding page sends
/// its own host name, never a loopback one.
#[derive(Clone, Debug)]
pub struct Hosts {
    names: Arc<Vec<String>>,
    loopback: bool,
}

impl Hosts {
    /// Loopback names and the host of `url` (an issuer, say), if it has one.
    pub fn of(url: &str) -> Hosts {
        let names = url::Url::parse(url).ok().and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase()));
        Hosts { names: Arc::new(names.into_iter().collect()), loopback: true }
    }

    pub fn loopback_only() -> Hosts {
        Hosts { names: Arc::default(), loopback: true }
    }

    /// Whether a `Host` header value names this server (its port is not
    /// part of the check).
    pub fn admits(&self, host_header: &str) -> bool {
        let Ok(authority) = host_header.parse::<axum::http::uri::Authority>() else { return false };
        let host = authority.host().trim_matches(['[', ']']).to_ascii_lowercase();
        (self.loopback && is_loopback_name(&host)) || self.names.contains(&host)
    }
}

/// `localhost` or a loopback address.
pub fn is_loopback_name(host: &str) -> bool {
    let host = host.trim_matches(['[', ']']);
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Refuses requests for a host this server does not answer for with 421
/// (RFC 9110 §15.5.20), and requests that name none with 400.
pub async fn check_host(State(hosts): State<Hosts>, request: Request, next: Next) -> Response {
    let host = request.headers().get(header::HOST).and_then(|v| v.to_str().ok()).map(str::to_string).or_else(|| request.uri().authority().map(|a| a.to_string()));
    match host {
        None => refuse(StatusCode::BAD_REQUEST, "invalid_request", "the request names no host"),
        Some(host) if hosts.admits(&host) => next.run(request).await,
        Some(_) => refuse(StatusCode::MISDIRECTED_REQUEST, "invalid_request", "this server does not answer for that host"),
    }
}

/// The web origins allowed to send state-changing requests to a server's
/// API: none but its own. Browsers label every cross-origin POST with
/// `Origin`; a protocol client sends none.
#[derive(Clone, Debug)]
pub struct Origins {
    own: Arc<Vec<String>>,
}

impl Origins {
    /// The origin of `url` (scheme, host and port).
    pub fn of(url: &str) -> Origins {
        let own = url::Url::parse(url).ok().map(|u| u.origin().ascii_serialization());
        Origins { own: Arc::new(own.into_iter().collect()) }
    }

    pub fn none() -> Origins {
        Origins { own: Arc::default() }
    }
}

/// Refuses a non-GET request that a web page on another origin sent (a
/// "simple" cross-origin POST needs no CORS preflight, so without this a
/// page in the owner's browser could drive the API).
pub async fn refuse_cross_origin(State(origins): State<Origins>, request: Request, next: Next) -> Response {
    let reads_only = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let foreign = request.headers().get(header::ORIGIN).is_some_and(|origin| origin.to_str().map_or(true, |o| !origins.own.iter().any(|own| own == o)));
    if foreign && !reads_only {
        return refuse(StatusCode::FORBIDDEN, "invalid_request", "this endpoint does not take requests from web pages of other origins");
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_cap_leaves_half_the_descriptors() {
        let cap = Limits::default().max_connections;
        if let Some(limit) = open_file_limit() {
            assert!(cap <= limit.max(128) / 2 || cap == 64, "{cap} of {limit}");
        }
        assert!((64..=4096).contains(&cap));
    }

    /// A server with two connections per address, `proxies` exempt; its address.
    async fn small_server(proxies: &[IpAddr]) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let limits = Limits { max_connections_per_address: 2, proxies: proxies.into(), ..Limits::default() };
        let app = Router::new().route("/", axum::routing::get(|| async { "ok" }));
        tokio::spawn(serve(listener, app, limits, std::future::pending()));
        address
    }

    /// A connection from `source` (any 127.x address is this machine).
    async fn connect_from(source: &str, server: std::net::SocketAddr) -> tokio::net::TcpStream {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
        socket.connect(server).await.unwrap()
    }

    /// Sends a request on `stream` and says whether an answer came.
    async fn answered(stream: &mut tokio::net::TcpStream) -> bool {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        if stream.write_all(b"GET / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n").await.is_err() {
            return false;
        }
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
        answer.starts_with(b"HTTP/1.1 200")
    }

    #[tokio::test]
    async fn one_address_cannot_take_every_connection_but_a_proxy_may() {
        let server = small_server(&["127.0.0.3".parse().unwrap()]).await;
        // A stranger holds its two connections open without a word.
        let held = [connect_from("127.0.0.2", server).await, connect_from("127.0.0.2", server).await];
        assert!(!answered(&mut connect_from("127.0.0.2", server).await).await, "a third from the same address is closed");
        assert!(answered(&mut connect_from("127.0.0.1", server).await).await, "others are still served");
        let proxied = [connect_from("127.0.0.3", server).await, connect_from("127.0.0.3", server).await];
        assert!(answered(&mut connect_from("127.0.0.3", server).await).await, "the proxy carries everyone's requests");
        drop((held, proxied));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(answered(&mut connect_from("127.0.0.2", server).await).await, "closed connections give their place back");
    }

    #[test]
    fn hosts_admit_the_issuer_and_loopback_and_nothing_else() {
        let hosts = Hosts::of("https://Wallet.Example/uma");
        for ok in ["wallet.example", "WALLET.example:443", "127.0.0.1:7420", "localhost", "[::1]:80", "127.9.9.9"] {
            assert!(hosts.admits(ok), "{ok}");
        }
        for refused in ["attacker.example", "wallet.example.attacker.example", "192.168.1.10:7420", "", "a b", "wallet.example@evil"] {
            assert!(!hosts.admits(refused), "{refused:?}");
        }
        assert!(!Hosts::loopback_only().admits("wallet.example"));
    }
}

/// Resolves on SIGTERM or Ctrl-C: when a server should drain and stop.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

/// The largest request body a handler reads: larger ones are refused with
/// 413 before they are parsed.
pub const MAX_BODY: usize = 64 * 1024;

/// Why a request body could not be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("the body must be {0}")]
    WrongType(&'static str),
    #[error("the request body is too large")]
    TooLarge,
    #[error("could not read the request body")]
    Unreadable,
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
}

/// Whether the request's `Content-Type` is `wanted`, parameters aside.
pub fn content_type_is(headers: &axum::http::HeaderMap, wanted: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(wanted))
}

/// The body of a request that must be of `content_type`, within the
/// router's body limit (`DefaultBodyLimit`).
pub async fn body_of_type(request: Request, content_type: &'static str) -> Result<axum::body::Bytes, BodyError> {
    use axum::extract::FromRequest;
    if !content_type_is(request.headers(), content_type) {
        return Err(BodyError::WrongType(content_type));
    }
    axum::body::Bytes::from_request(request, &()).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            BodyError::TooLarge
        } else {
            BodyError::Unreadable
        }
    })
}

/// A JSON body, read as [`body_of_type`] reads it.
pub async fn json_body<T: serde::de::DeserializeOwned>(request: Request) -> Result<T, BodyError> {
    let bytes = body_of_type(request, "application/json").await?;
    serde_json::from_slice(&bytes).map_err(|e| BodyError::MalformedJson(e.to_string()))
}

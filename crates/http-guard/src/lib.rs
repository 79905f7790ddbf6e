//! The rules every server and client in this project keeps at the HTTP
//! edge, in one place so that the authorization server, the owner API and
//! the reference provider cannot drift apart.
//!
//! - [`inbound`]: serving. An accept loop with a connection cap and a timer,
//!   so that a request head must arrive within a deadline and idle
//!   keep-alive connections are closed (axum's own `serve` sets no timer, so
//!   hyper's header timeout never fires); whole request bodies within a
//!   deadline and a size; requests for a host this server does not answer
//!   for refused (DNS rebinding); state-changing requests from other web
//!   origins refused.
//! - [`outbound`]: fetching on a peer's word. No redirects, timeouts, URLs
//!   held to the origin the owner chose, `https` unless the peer is on
//!   loopback, and every response body read with a size cap.

pub mod inbound;
pub mod outbound;
pub mod trace;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// An error answer in the OAuth shape every server here uses.
pub(crate) fn refuse(status: StatusCode, code: &str, description: &str) -> Response {
    let body = serde_json::json!({ "error": code, "error_description": description });
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

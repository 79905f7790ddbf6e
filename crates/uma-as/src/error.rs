//! The one place protocol failures become HTTP answers.
//!
//! Every error is a JSON body with `error` set to the spec's code (RFC 6749
//! §5.2, FedAuthz §6, Grant §3.3.6) and `Cache-Control: no-store`.

use crate::store::StoreError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

#[derive(Debug, Clone)]
pub struct ProtocolError {
    pub status: StatusCode,
    pub code: &'static str,
    pub description: String,
    /// Extra members: `ticket`, `required_claims`, `redirect_user`, `interval`.
    pub extra: Map<String, Value>,
    /// `WWW-Authenticate` for 401s (RFC 6749 §5.2, RFC 6750 §3).
    pub challenge: Option<String>,
    /// `Retry-After` seconds for 429s (RFC 6585 §4).
    pub retry_after: Option<u64>,
}

impl ProtocolError {
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        ProtocolError { status, code, description: description.into(), extra: Map::new(), challenge: None, retry_after: None }
    }

    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(name.into(), value.into());
        self
    }

    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", d)
    }
    pub fn invalid_client(d: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, "invalid_client", d);
        e.challenge = Some(r#"Basic realm="uma""#.into());
        e
    }
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", d)
    }
    pub fn unauthorized_client(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unauthorized_client", d)
    }
    pub fn unsupported_grant_type(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unsupported_grant_type", d)
    }
    pub fn invalid_scope(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", d)
    }
    pub fn need_info(ticket: &str, d: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "need_info", d).with("ticket", ticket)
    }
    pub fn request_denied(d: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "request_denied", d)
    }
    pub fn request_submitted(ticket: &str, interval: u64) -> Self {
        Self::new(StatusCode::FORBIDDEN, "request_submitted", "the resource owner has been asked; poll again")
            .with("ticket", ticket)
            .with("interval", interval)
    }
    pub fn invalid_resource_id(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_resource_id", d)
    }
    /// RFC 6750 §3.1, for a missing or bad PAT.
    pub fn invalid_token(d: impl Into<String>) -> Self {
        let d = d.into();
        let mut e = Self::new(StatusCode::UNAUTHORIZED, "invalid_token", d.clone());
        e.challenge = Some(format!(r#"Bearer realm="uma", error="invalid_token", error_description="{}""#, d.replace('"', "'")));
        e
    }
    pub fn insufficient_scope(d: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "insufficient_scope", d)
    }
    pub fn not_found(d: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", d)
    }
    pub fn unsupported_method_type() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "unsupported_method_type", "method not supported here")
    }
    pub fn invalid_client_metadata(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_client_metadata", d)
    }
    pub fn invalid_redirect_uri(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_redirect_uri", d)
    }
    pub fn payload_too_large() -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request", "request body too large")
    }
    /// Too many requests from anonymous or barely known parties: 429 with
    /// `Retry-After`. The code is RFC 6749's for a server too busy to answer.
    pub fn temporarily_unavailable(d: impl Into<String>, retry_after: u64) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable", d);
        e.retry_after = Some(retry_after);
        e
    }
    pub fn server_error() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "internal error; see the server log")
    }

    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("error".into(), self.code.into());
        if !self.description.is_empty() {
            body.insert("error_description".into(), self.description.clone().into());
        }
        body.extend(self.extra.clone());
        Value::Object(body)
    }
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl From<StoreError> for ProtocolError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store failure");
        ProtocolError::server_error()
    }
}

impl IntoResponse for ProtocolError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(challenge) = &self.challenge {
            if let Ok(v) = HeaderValue::from_str(challenge) {
                headers.insert(header::WWW_AUTHENTICATE, v);
            }
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Shorthand for results of protocol operations.
pub type ProtocolResult<T> = Result<T, ProtocolError>;

//! What can go wrong in the authorization server, in the specs' own words.
//!
//! Each variant is one error code of RFC 6749 §5.2, RFC 6750 §3.1, RFC 7591
//! §3.2.2, FedAuthz §3.2/§4 or Grant §3.3.6, with its human-readable
//! description. There is no HTTP here: the status, headers and body each
//! code travels with are decided once, at the edge (`http::error`).
//!
//! The Grant's `need_info` and `request_submitted` are not errors of this
//! server but answers that let the client go on: they are
//! [`GrantOutcome`](crate::token::GrantOutcome)s.

use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// RFC 6749 §5.2.
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// `invalid_request` for a body over the size this server reads.
    #[error("invalid_request: the request body is too large")]
    BodyTooLarge,
    #[error("invalid_client: {0}")]
    InvalidClient(String),
    #[error("invalid_grant: {0}")]
    InvalidGrant(String),
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(String),
    #[error("unsupported_grant_type: {0}")]
    UnsupportedGrantType(String),
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    /// Grant §3.3.6: the owner's policies or decision refuse the request.
    #[error("request_denied: {0}")]
    RequestDenied(String),
    /// RFC 6750 §3.1: a missing, unknown or expired bearer token (a PAT, or
    /// the owner's token).
    #[error("invalid_token: {0}")]
    InvalidToken(String),
    #[error("insufficient_scope: {0}")]
    InsufficientScope(String),
    /// FedAuthz §4.2 (permission requests).
    #[error("invalid_resource_id: {0}")]
    InvalidResourceId(String),
    /// FedAuthz §3.2 (resource registration), and anything else asked for by
    /// an id this server does not know.
    #[error("not_found: {0}")]
    NotFound(String),
    /// FedAuthz §3.2: a method the endpoint does not serve.
    #[error("unsupported_method_type: method not supported here")]
    UnsupportedMethodType,
    /// RFC 7591 §3.2.2.
    #[error("invalid_client_metadata: {0}")]
    InvalidClientMetadata(String),
    #[error("invalid_redirect_uri: {0}")]
    InvalidRedirectUri(String),
    /// The owner answered a request its client had stopped asking for.
    #[error("expired_request: {0}")]
    ExpiredRequest(String),
    /// RFC 6749 §5.2's answer for a server too busy: anonymous or barely
    /// known parties have asked for too much. Try again after `retry_after`
    /// seconds.
    #[error("temporarily_unavailable: {description}")]
    TemporarilyUnavailable { description: String, retry_after: u64 },
    /// Our own fault; the cause is in the server log, never in the answer.
    #[error("server_error: internal error; see the server log")]
    ServerError,
}

impl ProtocolError {
    /// The `error` member of the answer.
    pub fn code(&self) -> &'static str {
        use ProtocolError::*;
        match self {
            InvalidRequest(_) | BodyTooLarge => "invalid_request",
            InvalidClient(_) => "invalid_client",
            InvalidGrant(_) => "invalid_grant",
            UnauthorizedClient(_) => "unauthorized_client",
            UnsupportedGrantType(_) => "unsupported_grant_type",
            InvalidScope(_) => "invalid_scope",
            RequestDenied(_) => "request_denied",
            InvalidToken(_) => "invalid_token",
            InsufficientScope(_) => "insufficient_scope",
            InvalidResourceId(_) => "invalid_resource_id",
            NotFound(_) => "not_found",
            UnsupportedMethodType => "unsupported_method_type",
            InvalidClientMetadata(_) => "invalid_client_metadata",
            InvalidRedirectUri(_) => "invalid_redirect_uri",
            ExpiredRequest(_) => "expired_request",
            TemporarilyUnavailable { .. } => "temporarily_unavailable",
            ServerError => "server_error",
        }
    }

    /// The `error_description` member: for people, never parsed.
    pub fn description(&self) -> String {
        use ProtocolError::*;
        match self {
            InvalidRequest(d) | InvalidClient(d) | InvalidGrant(d) | UnauthorizedClient(d) | UnsupportedGrantType(d) | InvalidScope(d)
            | RequestDenied(d) | InvalidToken(d) | InsufficientScope(d) | InvalidResourceId(d) | NotFound(d) | InvalidClientMetadata(d)
            | InvalidRedirectUri(d) | ExpiredRequest(d) => d.clone(),
            TemporarilyUnavailable { description, .. } => description.clone(),
            BodyTooLarge => "the request body is too large".into(),
            UnsupportedMethodType => "method not supported here".into(),
            ServerError => "internal error; see the server log".into(),
        }
    }

    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::InvalidRequest(d.into())
    }
    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::InvalidClient(d.into())
    }
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::InvalidGrant(d.into())
    }
    pub fn unauthorized_client(d: impl Into<String>) -> Self {
        Self::UnauthorizedClient(d.into())
    }
    pub fn unsupported_grant_type(d: impl Into<String>) -> Self {
        Self::UnsupportedGrantType(d.into())
    }
    pub fn invalid_scope(d: impl Into<String>) -> Self {
        Self::InvalidScope(d.into())
    }
    pub fn request_denied(d: impl Into<String>) -> Self {
        Self::RequestDenied(d.into())
    }
    pub fn invalid_resource_id(d: impl Into<String>) -> Self {
        Self::InvalidResourceId(d.into())
    }
    pub fn invalid_token(d: impl Into<String>) -> Self {
        Self::InvalidToken(d.into())
    }
    pub fn insufficient_scope(d: impl Into<String>) -> Self {
        Self::InsufficientScope(d.into())
    }
    pub fn not_found(d: impl Into<String>) -> Self {
        Self::NotFound(d.into())
    }
    pub fn invalid_client_metadata(d: impl Into<String>) -> Self {
        Self::InvalidClientMetadata(d.into())
    }
    pub fn invalid_redirect_uri(d: impl Into<String>) -> Self {
        Self::InvalidRedirectUri(d.into())
    }
    pub fn temporarily_unavailable(d: impl Into<String>, retry_after: u64) -> Self {
        Self::TemporarilyUnavailable { description: d.into(), retry_after }
    }
}

impl From<StoreError> for ProtocolError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store failure");
        ProtocolError::ServerError
    }
}

/// Shorthand for results of protocol operations.
pub type ProtocolResult<T> = Result<T, ProtocolError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_too_large_body_is_an_invalid_request_in_the_specs_words() {
        assert_eq!(ProtocolError::BodyTooLarge.code(), "invalid_request");
        assert_eq!(ProtocolError::invalid_grant("unknown ticket").to_string(), "invalid_grant: unknown ticket");
        assert_eq!(ProtocolError::temporarily_unavailable("busy", 60).description(), "busy");
    }
}

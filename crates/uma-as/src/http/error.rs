//! The one place the server's errors and unfinished grants become HTTP
//! answers: the status and headers each spec gives its codes, and a JSON
//! body with `Cache-Control: no-store`.

use super::openapi::ErrorBody;
use crate::error::ProtocolError;
use crate::token::{NeedInfo, Submitted};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// A body that cannot be taken is the client's `invalid_request`.
impl From<http_guard::inbound::BodyError> for ProtocolError {
    fn from(e: http_guard::inbound::BodyError) -> Self {
        match e {
            http_guard::inbound::BodyError::TooLarge => ProtocolError::BodyTooLarge,
            other => ProtocolError::InvalidRequest(other.to_string()),
        }
    }
}

/// The status each code is answered with.
pub fn status(error: &ProtocolError) -> StatusCode {
    use ProtocolError::*;
    match error {
        InvalidRequest(_) | InvalidGrant(_) | UnauthorizedClient(_) | UnsupportedGrantType(_) | InvalidScope(_)
        | InvalidResourceId(_) | InvalidClientMetadata(_) | InvalidRedirectUri(_) => StatusCode::BAD_REQUEST,
        BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        // RFC 6749 §5.2 and RFC 6750 §3.1: authentication failed.
        InvalidClient(_) | InvalidToken(_) => StatusCode::UNAUTHORIZED,
        RequestDenied(_) | InsufficientScope(_) => StatusCode::FORBIDDEN,
        NotFound(_) => StatusCode::NOT_FOUND,
        UnsupportedMethodType => StatusCode::METHOD_NOT_ALLOWED,
        ExpiredRequest(_) => StatusCode::GONE,
        // RFC 6585 §4: with `Retry-After`.
        TemporarilyUnavailable { .. } => StatusCode::TOO_MANY_REQUESTS,
        ServerError => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `WWW-Authenticate` for the 401s, and for a bearer token without the
/// scope it needs (RFC 6750 §3.1): the scheme the caller must use (RFC
/// 6749 §5.2 for client authentication, RFC 6750 §3 for bearer tokens).
fn challenge(error: &ProtocolError) -> Option<String> {
    match error {
        ProtocolError::InvalidClient(_) => Some(r#"Basic realm="uma""#.into()),
        ProtocolError::InvalidToken(d) => {
            Some(format!(r#"Bearer realm="uma", error="invalid_token", error_description="{}""#, d.replace(['"', '\\'], "'")))
        }
        ProtocolError::InsufficientScope(d) => {
            Some(format!(r#"Bearer realm="uma", error="insufficient_scope", error_description="{}""#, d.replace(['"', '\\'], "'")))
        }
        _ => None,
    }
}

fn body(error: &ProtocolError) -> ErrorBody {
    let description = error.description();
    ErrorBody { error: error.code().into(), error_description: Some(description).filter(|d| !d.is_empty()), ..ErrorBody::default() }
}

/// An error answer: `body` with `status`, never cached. The owner API
/// answers its own failures with it too.
pub fn no_store(status: StatusCode, body: ErrorBody) -> Response {
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

impl IntoResponse for ProtocolError {
    fn into_response(self) -> Response {
        let mut response = no_store(status(&self), body(&self));
        let headers = response.headers_mut();
        if let Some(value) = challenge(&self).and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        if let ProtocolError::TemporarilyUnavailable { retry_after, .. } = self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}

/// Grant §3.3.6: 403 `need_info` with the next ticket.
impl IntoResponse for NeedInfo {
    fn into_response(self) -> Response {
        no_store(
            StatusCode::FORBIDDEN,
            ErrorBody {
                error: "need_info".into(),
                error_description: Some(self.reason),
                ticket: Some(self.ticket.expose().to_string()),
                required_claims: Some(self.required_claims),
                redirect_user: Some(self.redirect_user),
                interval: None,
            },
        )
    }
}

/// Grant §3.3.6: 403 `request_submitted` with the polling ticket.
impl IntoResponse for Submitted {
    fn into_response(self) -> Response {
        no_store(
            StatusCode::FORBIDDEN,
            ErrorBody {
                error: "request_submitted".into(),
                error_description: Some("the resource owner has been asked; poll again".into()),
                ticket: Some(self.ticket.expose().to_string()),
                interval: Some(self.interval),
                ..ErrorBody::default()
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    async fn answer(response: Response) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let (parts, body) = response.into_parts();
        (parts.status, parts.headers, serde_json::from_slice(&to_bytes(body, 4096).await.unwrap()).unwrap())
    }

    #[tokio::test]
    async fn each_code_travels_with_its_specs_status_and_headers() {
        let (status, headers, body) = answer(ProtocolError::invalid_client("who?").into_response()).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
        assert_eq!(headers[header::WWW_AUTHENTICATE], r#"Basic realm="uma""#);
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");

        let (status, headers, _) = answer(ProtocolError::invalid_token(r#"a "quoted" reason"#).into_response()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(headers[header::WWW_AUTHENTICATE], r#"Bearer realm="uma", error="invalid_token", error_description="a 'quoted' reason""#);

        let (status, headers, _) = answer(ProtocolError::insufficient_scope("needs uma_protection").into_response()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(headers[header::WWW_AUTHENTICATE], r#"Bearer realm="uma", error="insufficient_scope", error_description="needs uma_protection""#);

        let (status, headers, body) = answer(ProtocolError::temporarily_unavailable("busy", 60).into_response()).await;
        assert_eq!((status, body["error_description"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("busy")));
        assert_eq!(headers[header::RETRY_AFTER], "60");

        let (status, _, body) = answer(ProtocolError::BodyTooLarge.into_response()).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("invalid_request")));

        let (status, _, body) = answer(ProtocolError::ServerError.into_response()).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::INTERNAL_SERVER_ERROR, Some("server_error")));
    }

    #[tokio::test]
    async fn unfinished_grants_are_403s_with_the_next_ticket() {
        let need = NeedInfo {
            ticket: crate::secret::Secret::new("next"),
            required_claims: vec![serde_json::json!({ "name": "email" })],
            redirect_user: "https://as.example/claims".into(),
            reason: "claims needed".into(),
        };
        let (status, _, body) = answer(need.into_response()).await;
        assert_eq!((status, body["error"].as_str(), body["ticket"].as_str()), (StatusCode::FORBIDDEN, Some("need_info"), Some("next")));
        assert_eq!(body["redirect_user"], "https://as.example/claims");
        assert_eq!(body["required_claims"][0]["name"], "email");

        let (status, _, body) = answer(Submitted { ticket: crate::secret::Secret::new("poll"), interval: 5 }.into_response()).await;
        assert_eq!((status, body["error"].as_str(), body["interval"].as_u64()), (StatusCode::FORBIDDEN, Some("request_submitted"), Some(5)));
    }
}

//! The owner API driven in-process: the same router the HTTP listener
//! serves, called without a socket. The CLI uses it when no server runs and
//! the desktop app for every owner action, so both go through exactly the
//! checks and JSON shapes the owner API documents.

use crate::{owner_api, Wallet, WalletError};
use axum::body::Body;
use axum::http::{header, Method, Request};
use serde_json::Value;
use tower::ServiceExt;
use uma_as::secret::Secret;

/// Answers larger than this are refused rather than buffered (the largest
/// real one, a full audit export, stays far below it).
const MAX_ANSWER: usize = 64 * 1024 * 1024;

#[derive(Clone)]
pub struct InProcessOwner {
    router: axum::Router,
    token: Secret,
}

/// An owner API error answer: its HTTP status and OAuth-style error body.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{code}: {description} (HTTP {status})")]
pub struct OwnerApiError {
    pub status: u16,
    pub code: String,
    pub description: String,
}

impl InProcessOwner {
    pub fn new(wallet: &Wallet) -> Result<InProcessOwner, WalletError> {
        let token = wallet.owner_token()?;
        Ok(InProcessOwner { router: owner_api::router(wallet, &token), token })
    }

    pub async fn get(&self, path: &str) -> Result<Value, OwnerApiError> {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Option<Value>) -> Result<Value, OwnerApiError> {
        self.call(Method::POST, path, body).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Result<Value, OwnerApiError> {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Result<Value, OwnerApiError> {
        self.call(Method::DELETE, path, None).await
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, OwnerApiError> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token.expose()));
        let body = match body {
            Some(json) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        let request = request.body(body).map_err(|e| OwnerApiError {
            status: 400,
            code: "invalid_request".into(),
            description: format!("cannot build the request for {path}: {e}"),
        })?;
        let response = match self.router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), MAX_ANSWER).await.map_err(|e| OwnerApiError {
            status: 500,
            code: "server_error".into(),
            description: format!("reading the answer: {e}"),
        })?;
        read_answer(status, &bytes)
    }
}

/// An owner API answer, however it arrived (in-process or over HTTP): the
/// JSON body (`null` when empty), or the error its status and body describe.
pub fn read_answer(status: u16, body: &[u8]) -> Result<Value, OwnerApiError> {
    let value: Value = if body.is_empty() { Value::Null } else { serde_json::from_slice(body).unwrap_or(Value::Null) };
    if status >= 400 {
        return Err(OwnerApiError {
            status,
            code: value["error"].as_str().unwrap_or("error").to_string(),
            description: value["error_description"].as_str().unwrap_or("").to_string(),
        });
    }
    Ok(value)
}

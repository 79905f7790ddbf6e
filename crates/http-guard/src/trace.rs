//! Request tracing: every request gets an id of its own, answered in
//! `x-request-id`, carried by a tracing span around it, and readable while
//! it is handled ([`current_request_id`]) so that what the request causes
//! (an audit entry, a log line) can name it.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tower_http::trace::TraceLayer;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

tokio::task_local! {
    static REQUEST_ID: RequestId;
}

/// A request's id: 128 random bits. Random, not counted: a stranger who
/// sees ids must learn nothing of when the server started or how busy the
/// owner keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub String);

fn next_id() -> RequestId {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new().fill(&mut bytes).expect("the system random source works");
    RequestId(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The id of the request being handled on this task, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(|id| id.0.clone()).ok()
}

/// A client's own `x-request-id` is never taken: ids name this server's
/// requests, and the owner's audit log must not carry a stranger's text.
async fn assign(mut request: Request, next: Next) -> Response {
    let id = next_id();
    request.extensions_mut().insert(id.clone());
    let mut response = REQUEST_ID.scope(id.clone(), next.run(request)).await;
    if let Ok(value) = HeaderValue::from_str(&id.0) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// `router` with a request id and a span (method, path, id) for each request.
pub fn traced(router: Router) -> Router {
    let trace = TraceLayer::new_for_http().make_span_with(|request: &Request| {
        let id = request.extensions().get::<RequestId>().map_or("", |id| id.0.as_str());
        tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
    });
    router.layer(trace).layer(middleware::from_fn(assign))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tower::ServiceExt;

    #[tokio::test]
    async fn each_request_gets_its_own_id_seen_by_the_handler_and_answered() {
        let app = traced(Router::new().route("/", get(|| async { current_request_id().unwrap_or_default() })));
        let mut seen = Vec::new();
        for _ in 0..2 {
            let request = Request::builder().uri("/").header(REQUEST_ID_HEADER, "forged").body(axum::body::Body::empty()).unwrap();
            let response = app.clone().oneshot(request).await.unwrap();
            let header = response.headers()[REQUEST_ID_HEADER].to_str().unwrap().to_string();
            let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
            assert_eq!(header, String::from_utf8(body.to_vec()).unwrap(), "the handler sees the id the answer names");
            assert_ne!(header, "forged", "a client's id is not taken");
            seen.push(header);
        }
        assert_ne!(seen[0], seen[1]);
        assert_eq!(current_request_id(), None, "outside a request there is none");
    }
}

//! The authorization server's own router on loopback port 0 with an
//! injected clock, and the parties that talk to it over HTTP: resource
//! servers, clients, an OpenID Provider. What the owner decides is called
//! on the server directly, as the wallet's owner service calls it; the
//! owner API itself is the wallet's, and tested there.

pub use crate::parties::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::net::SocketAddr;
use uma_as::id::{PolicyId, RequestId};
use uma_as::owner::{Approval, NewPolicy};
use uma_as::{AuthorizationServer, Clock, Config, KdfParams, ProtocolError, Store};

pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub server: AuthorizationServer,
    pub clock: Clock,
    peer: Peer,
    task: tokio::task::JoinHandle<()>,
}

/// The parties' side: `w.ticket(..)`, `w.uma_grant(..)` and the rest.
impl std::ops::Deref for TestServer {
    type Target = Peer;
    fn deref(&self) -> &Peer {
        &self.peer
    }
}

impl TestServer {
    pub async fn start() -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        // Light KDF parameters: these tests are about the protocol.
        let store = Store::create(&dir.path().join("db"), "correct horse battery staple", KdfParams { memory_kib: 1024, iterations: 1, parallelism: 1 }).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let clock = Clock::manual(START);
        let server = AuthorizationServer::open(store, Config::new(issuer.clone()), clock.clone()).unwrap();
        let app = uma_as::http::router(server.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        TestServer { dir, server, clock, peer: Peer::new(issuer), task }
    }

    /// Stops serving and closes the store's journal, as `serve` does at exit.
    pub async fn shutdown(&mut self) {
        self.task.abort();
        self.server.flush().await.unwrap();
        self.server.close();
    }

    pub fn data_dir(&self) -> std::path::PathBuf {
        self.dir.path().to_path_buf()
    }

    /// A policy that lets `client` have every scope of one resource.
    pub async fn permit_client(&self, client: &TestClient, resource_id: &str) -> Value {
        self.add_policy(json!({ "target": { "kind": "resource", "id": resource_id }, "party": { "client_id": client.id }, "outcome": "permit" }))
            .await
    }

}

impl Owner for TestServer {
    /// An owner action, named as the wallet's owner API names it, called
    /// on the server; answers as that API would.
    async fn owner(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let s = &self.server;
        let body = body.unwrap_or(Value::Null);
        let (route, query) = path.split_once('?').unwrap_or((path, ""));
        let segments: Vec<&str> = route.trim_start_matches('/').split('/').collect();
        let answer: Result<Value, ProtocolError> = match (method.as_str(), segments.as_slice()) {
            ("GET", ["pending"]) => s.pending_requests(!query.contains("all=true")).map(|r| json!(r)),
            ("POST", ["pending", id, "approve"]) => {
                let approval: Approval = serde_json::from_value(body).unwrap();
                s.approve_request(&RequestId::from(*id), approval).await.map(|r| json!(r))
            }
            ("POST", ["pending", id, "deny"]) => s.deny_request(&RequestId::from(*id)).await.map(|r| json!(r)),
            ("GET", ["grants"]) => {
                let now = s.now();
                Ok(s.grants().into_iter().map(|g| {
                    let active = g.is_active(now);
                    let mut view = json!(g);
                    view["active"] = active.into();
                    view
                }).collect())
            }
            ("POST", ["grants", id, "revoke"]) => s.revoke_grant(&(*id).into()).await.map(|g| json!(g)),
            ("GET", ["policies"]) => Ok(json!(s.policies())),
            ("POST", ["policies"]) => {
                let policy: NewPolicy = serde_json::from_value(body).unwrap();
                s.add_policy(policy).await.map(|p| json!(p))
            }
            ("DELETE", ["policies", id]) => s.remove_policy(&PolicyId::from(*id)).await.map(|p| json!(p)),
            ("GET", ["clients"]) => Ok(json!(s.clients().into_iter().map(|c| json!({ "client_id": c.client_id, "client_name": c.client_name, "protection": c.protection })).collect::<Vec<_>>())),
            ("POST", ["clients", id, decision @ ("approve" | "refuse")]) => {
                s.decide_resource_server(&(*id).into(), *decision == "approve").await.map(|c| json!({ "client_id": c.client_id, "protection": c.protection }))
            }
            // Newest first, as the owner reads them.
            ("GET", ["audit"]) => Ok(json!(s.audit_log().export().unwrap().into_iter().rev().collect::<Vec<_>>())),
            ("POST", ["trusted-issuers"]) => {
                let client_ids = body["client_ids"].as_array().map(|a| a.iter().filter_map(|c| c.as_str().map(String::from)).collect()).unwrap_or_default();
                s.trust_issuer(body["issuer"].as_str().unwrap(), body["jwks_uri"].as_str().map(String::from), client_ids).await.map(|t| json!(t))
            }
            ("POST", ["assertions"]) => {
                let lifetime = body["lifetime"].as_i64().unwrap_or(600);
                s.mint_assertion(&body["resource_server"].as_str().unwrap().into(), lifetime).map(|a| json!({ "assertion": a }))
            }
            _ => panic!("no owner action {method} {path} in this harness"),
        };
        match answer {
            Ok(value) => (StatusCode::OK, value),
            Err(e) => (uma_as::http::error::status(&e), json!({ "error": e.code(), "error_description": e.to_string() })),
        }
    }

    fn peer(&self) -> &Peer {
        &self.peer
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}


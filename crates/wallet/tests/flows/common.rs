//! A real wallet server on loopback port 0 with an injected clock; the
//! parties that talk to it over HTTP are the authorization server's own
//! test parties (`crates/uma-as/tests/protocol/parties.rs`).

#[path = "../../../uma-as/tests/protocol/parties.rs"]
mod parties;

pub use parties::*;
use reqwest::StatusCode;
use serde_json::Value;
use std::path::PathBuf;
use tokio::sync::oneshot;
use wallet::serve::{self, ServeOptions};
use wallet::{Clock, KdfParams, Wallet};

pub const PASSPHRASE: &str = "correct horse battery staple";

pub struct TestWallet {
    pub dir: tempfile::TempDir,
    pub owner_api: String,
    pub owner_token: String,
    pub clock: Clock,
    peer: Peer,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// The parties' side: `w.ticket(..)`, `w.uma_grant(..)` and the rest.
impl std::ops::Deref for TestWallet {
    type Target = Peer;
    fn deref(&self) -> &Peer {
        &self.peer
    }
}

/// Light KDF parameters: these tests are about the protocol, and the store's
/// own tests cover the production parameters.
fn test_kdf() -> KdfParams {
    KdfParams { memory_kib: 8 * 1024, iterations: 1, parallelism: 1 }
}

impl TestWallet {
    pub async fn start() -> TestWallet {
        let dir = tempfile::tempdir().unwrap();
        Wallet::init(dir.path(), PASSPHRASE, test_kdf()).unwrap();
        Self::boot(dir, Clock::manual(START)).await
    }

    pub async fn boot(dir: tempfile::TempDir, clock: Clock) -> TestWallet {
        let bound = serve::bind(ServeOptions::on_loopback(dir.path(), PASSPHRASE, clock.clone())).await.unwrap();
        let ready = bound.ready.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            bound.run(async { let _ = stopped.await; }).await.unwrap();
        });
        let owner_token = std::fs::read_to_string(dir.path().join(wallet::OWNER_TOKEN_FILE)).unwrap();
        TestWallet {
            dir,
            owner_api: ready.owner_api,
            owner_token: owner_token.trim().into(),
            clock,
            peer: Peer::new(ready.issuer),
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops gracefully (drain, flush) and starts again on the same data.
    pub async fn restart(mut self) -> TestWallet {
        self.shutdown().await;
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        Self::boot(dir, self.clock.clone()).await
    }

    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

impl Owner for TestWallet {
    async fn owner(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{}", self.owner_api, path)).bearer_auth(&self.owner_token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn peer(&self) -> &Peer {
        &self.peer
    }
}

impl Drop for TestWallet {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

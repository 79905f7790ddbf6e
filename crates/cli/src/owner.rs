//! How owner commands reach the owner API: over HTTP to a running `serve`,
//! or in-process over a wallet this command opened itself.

use axum::http::Method;
use serde_json::Value;
use std::path::Path;
use wallet::owner_client::{read_answer, InProcessOwner};
use wallet::serve::Ready;
use wallet::{read_owner_token, Clock, Config, Wallet, SERVER_FILE};

#[derive(Debug, thiserror::Error)]
pub enum OwnerError {
    #[error("{0}")]
    Api(String),
    #[error("{0}")]
    Usage(String),
    #[error("cannot reach the running server: {0}")]
    Http(#[from] reqwest::Error),
}

pub enum Owner {
    Remote { base: String, token: String, http: reqwest::Client },
    Local { owner: InProcessOwner, _wallet: Wallet },
}

/// Whether the server at `base` knows the owner token, proven without
/// sending it: `server.json` may be stale, and whoever listens on its port
/// now must not be handed the token.
async fn is_this_wallet(http: &reqwest::Client, base: &str, token: &str) -> bool {
    let nonce = uma_as::secret::Secret::generate();
    let answer = http.post(format!("{base}/identify")).json(&serde_json::json!({ "nonce": nonce.expose() })).send().await;
    let Ok(answer) = answer else { return false };
    let Ok(body) = answer.json::<Value>().await else { return false };
    let expected = wallet::owner_api::owner_proof(&uma_as::secret::SecretHash::of(token), nonce.expose());
    body["proof"].as_str().is_some_and(|proof| uma_as::secret::constant_time_eq(proof, &expected))
}

impl Owner {
    /// Uses the running server if `server.json` points at one that answers;
    /// otherwise opens the wallet here (asking for the passphrase).
    pub async fn connect(data_dir: &Path, passphrase: impl FnOnce() -> Result<String, String>) -> Result<Owner, OwnerError> {
        if !Wallet::exists(data_dir) {
            return Err(OwnerError::Usage(format!("no wallet at {}; run `uma-wallet init` first", data_dir.display())));
        }
        let token = read_owner_token(data_dir).map_err(|e| OwnerError::Usage(e.to_string()))?.expose().to_string();
        if let Ok(text) = std::fs::read_to_string(data_dir.join(SERVER_FILE)) {
            if let Ok(ready) = serde_json::from_str::<Ready>(&text) {
                let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build()?;
                if is_this_wallet(&http, &ready.owner_api, &token).await {
                    return Ok(Owner::Remote { base: ready.owner_api, token, http });
                }
            }
        }
        let passphrase = passphrase().map_err(OwnerError::Usage)?;
        let wallet = Wallet::open(data_dir, &passphrase, Config::new("http://127.0.0.1:7420"), Clock::System)
            .map_err(|e| OwnerError::Usage(e.to_string()))?;
        let owner = InProcessOwner::new(&wallet).map_err(|e| OwnerError::Usage(e.to_string()))?;
        Ok(Owner::Local { owner, _wallet: wallet })
    }

    pub fn is_remote(&self) -> bool {
        matches!(self, Owner::Remote { .. })
    }

    pub async fn get(&self, path: &str) -> Result<Value, OwnerError> {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Option<Value>) -> Result<Value, OwnerError> {
        self.call(Method::POST, path, body).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Result<Value, OwnerError> {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Result<Value, OwnerError> {
        self.call(Method::DELETE, path, None).await
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, OwnerError> {
        let answer = match self {
            Owner::Remote { base, token, http } => {
                let mut request = http.request(method, format!("{base}{path}")).bearer_auth(token);
                if let Some(body) = body {
                    request = request.json(&body);
                }
                let response = request.send().await?;
                let status = response.status().as_u16();
                read_answer(status, &response.bytes().await?)
            }
            Owner::Local { owner, .. } => owner.call(method, path, body).await,
        };
        answer.map_err(|e| OwnerError::Api(e.to_string()))
    }
}

//! How owner commands reach the owner service: the running `serve` if
//! there is one, or a wallet this command opens itself; either way through
//! the typed owner client.

use std::path::Path;
use wallet::owner_client::OwnerClient;
use wallet::{Clock, Config, Wallet};

#[derive(Debug, thiserror::Error)]
pub enum OwnerError {
    #[error("{0}")]
    Api(#[from] wallet::owner_client::OwnerApiError),
    #[error("{0}")]
    Usage(String),
}

pub struct Owner {
    pub client: OwnerClient,
    /// The wallet opened here when no server runs: kept open while the
    /// command does its work.
    _opened: Option<Wallet>,
}

impl Owner {
    /// Uses the running server if `server.json` points at one that proves
    /// it is this wallet; otherwise opens the wallet here (asking for the
    /// passphrase).
    pub async fn connect(data_dir: &Path, backup_dir: &Path, passphrase: impl FnOnce() -> Result<String, String>) -> Result<Owner, OwnerError> {
        if !Wallet::exists(data_dir) {
            return Err(OwnerError::Usage(format!("no wallet at {}; run `uma-wallet init` first", data_dir.display())));
        }
        if let Some(client) = OwnerClient::running(data_dir).await {
            return Ok(Owner { client, _opened: None });
        }
        let passphrase = passphrase().map_err(OwnerError::Usage)?;
        let mut config = Config::new("http://127.0.0.1:7420");
        config.anchoring = Wallet::default_anchoring();
        let wallet = Wallet::open(data_dir, &passphrase, config, Clock::System)
            .map_err(|e| OwnerError::Usage(e.to_string()))?
            .with_backup_dir(backup_dir.to_path_buf());
        let client = OwnerClient::in_process(&wallet).map_err(|e| OwnerError::Usage(e.to_string()))?;
        Ok(Owner { client, _opened: Some(wallet) })
    }
}

//! What a failed command tells the window: a stable `kind` the UI can act
//! on and a message for the owner. Never a secret, never a panic.

use serde::Serialize;
use wallet::owner_client::OwnerApiError;
use wallet::serve::ServeError;
use wallet::{StoreError, WalletError};

#[derive(Clone, Debug, PartialEq, Serialize, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct CommandError {
    pub kind: String,
    pub message: String,
}

impl CommandError {
    pub fn new(kind: &str, message: impl Into<String>) -> Self {
        CommandError { kind: kind.into(), message: message.into() }
    }

    pub fn locked() -> Self {
        Self::new("locked", "The wallet is locked: unlock it with your passphrase first.")
    }

    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new("invalid_input", message)
    }
}

/// The owner service's own error code becomes the kind (`invalid_request`,
/// `not_found`, `provider_error`, `expired_request`, …).
impl From<OwnerApiError> for CommandError {
    fn from(e: OwnerApiError) -> Self {
        let message = if e.description.is_empty() { e.code.clone() } else { e.description };
        CommandError { kind: e.code, message }
    }
}

impl From<StoreError> for CommandError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::WrongPassphrase => Self::new("wrong_passphrase", "That passphrase does not open this wallet."),
            StoreError::Locked(_) => Self::new(
                "wallet_in_use",
                "Another program has this wallet open (is `uma-wallet serve` running?). Stop it, then unlock here.",
            ),
            StoreError::Corrupt { .. } | StoreError::Db(_) => Self::new(
                "wallet_corrupted",
                format!("The wallet's database cannot be read ({e}). Nothing was changed; restore it from a backup."),
            ),
            StoreError::NotInitialized(_) => Self::new("no_wallet", e.to_string()),
            StoreError::AlreadyExists(_) => Self::new("wallet_exists", e.to_string()),
            StoreError::Kdf(_) | StoreError::BadBackup(_) => Self::new("wallet_error", e.to_string()),
            StoreError::Anchor(why) => Self::new(
                "safety_record_unavailable",
                format!("Your wallet keeps a safety record outside its folder, and it cannot be used: the record {why}. Your wallet itself is fine; check that folder can be written to."),
            ),
            StoreError::OlderCopy(why) => Self::new(
                "older_copy",
                format!("This wallet's records are older than when you last used it ({why}). Nothing was opened."),
            ),
        }
    }
}

impl From<WalletError> for CommandError {
    fn from(e: WalletError) -> Self {
        match e {
            WalletError::Store(store) => store.into(),
            WalletError::Io(..) => Self::new("io_error", e.to_string()),
            WalletError::Refused(why) => Self::new("invalid_request", why),
        }
    }
}

impl From<ServeError> for CommandError {
    fn from(e: ServeError) -> Self {
        match e {
            ServeError::Wallet(wallet) => wallet.into(),
            ServeError::AlreadyServed => Self::new(
                "wallet_in_use",
                "Another program has this wallet open (is `uma-wallet serve` running?). Stop it, then unlock here.",
            ),
            ServeError::Bind(addr, io) if io.kind() == std::io::ErrorKind::AddrInUse => Self::new(
                "port_in_use",
                format!("Another program on this computer is using your wallet's connection point ({addr}). It is often the wallet itself, still open in another window: close it there and try again."),
            ),
            ServeError::Bind(addr, io) => Self::new("cannot_listen", format!("Cannot listen on {addr}: {io}")),
            other => Self::new("server_error", other.to_string()),
        }
    }
}

//! Unlocking at login from the system's keyring (Secret Service on Linux,
//! Keychain on macOS, Credential Manager on Windows), when the owner opts
//! in: the passphrase is kept there, under her login, so the wallet can
//! open itself when the app starts at login and take requests while she
//! has not opened it yet.
//!
//! The trade-off, said in the app: any program running as her, while her
//! keyring is unlocked, can read the passphrase (which also opens her
//! backups). So only the server opens this way: her screens stay locked
//! until she types the passphrase. Off unless she turns it on in the app,
//! which keeps the passphrase here; the app, or `uma-wallet serve --locked
//! --unlock-from-keyring` that its login entry runs, reads it at login.
//!
//! A keyring can block (a locked one asks for its own password, and the
//! library waits for the answer), so every call runs on a thread of its
//! own with a time limit ([`bounded`]).

use std::path::Path;
use zeroize::Zeroizing;

/// The keyring's name for this app's entries.
const SERVICE: &str = "org.umawallet.desktop";

/// One entry per wallet folder.
fn entry(data_dir: &Path) -> Result<keyring::Entry, String> {
    let folder = data_dir.canonicalize().unwrap_or_else(|_| data_dir.to_path_buf());
    keyring::Entry::new(SERVICE, &folder.to_string_lossy()).map_err(|e| e.to_string())
}

/// How long a keyring call may take before the wallet goes on without it.
const KEYRING_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs a keyring call off the async workers, giving up after [`KEYRING_WAIT`].
pub async fn bounded<T: Send + 'static>(call: impl FnOnce() -> Result<T, String> + Send + 'static) -> Result<T, String> {
    match tokio::time::timeout(KEYRING_WAIT, tokio::task::spawn_blocking(call)).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the keyring did not answer in time (is it locked?)".into()),
    }
}

/// Keeps `passphrase` in the keyring for the wallet in `data_dir`.
pub fn remember(data_dir: &Path, passphrase: &str) -> Result<(), String> {
    entry(data_dir)?.set_password(passphrase).map_err(|e| e.to_string())
}

/// The passphrase kept for the wallet in `data_dir`, if any.
pub fn recall(data_dir: &Path) -> Result<Option<Zeroizing<String>>, String> {
    match entry(data_dir)?.get_password() {
        Ok(passphrase) => Ok(Some(Zeroizing::new(passphrase))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// Removes the passphrase kept for the wallet in `data_dir` (none kept is fine).
pub fn forget(data_dir: &Path) -> Result<(), String> {
    match entry(data_dir)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

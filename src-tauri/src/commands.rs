//! The window's commands: each one a thin call into the owner service
//! through the typed owner client (the same owner API the CLI and the HTTP
//! listener use, driven in-process), so the app adds no protocol logic of
//! its own.

use crate::desktop::{AppState, Desktop, Settings};
use crate::links::OpenedLink;
use wallet::backups::BackupFile;
use crate::error::CommandError;
use serde::Serialize;
use std::path::PathBuf;
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};
use wallet::api::*;

type Answer<T> = Result<T, CommandError>;

#[tauri::command]
pub async fn app_state(desktop: State<'_, Desktop>) -> Answer<AppState> {
    desktop.note_window_interactive();
    Ok(desktop.state().await)
}

#[tauri::command]
pub async fn create_wallet<R: Runtime>(app: AppHandle<R>, desktop: State<'_, Desktop>, passphrase: String, identity: Option<Identity>) -> Answer<AppState> {
    desktop.create(&app, passphrase, identity).await
}

#[tauri::command]
pub async fn unlock_wallet<R: Runtime>(
    app: AppHandle<R>,
    desktop: State<'_, Desktop>,
    passphrase: String,
    accept_older_copy: Option<bool>,
) -> Answer<AppState> {
    desktop.unlock(&app, passphrase, accept_older_copy.unwrap_or(false)).await
}

#[tauri::command]
pub async fn save_settings<R: Runtime>(app: AppHandle<R>, desktop: State<'_, Desktop>, settings: Settings) -> Answer<AppState> {
    let state = desktop.save_settings(settings).await?;
    crate::start_at_login(&app, &desktop.settings());
    Ok(state)
}

/// New requests (and resource servers waiting for approval) as they arrive.
#[tauri::command]
pub async fn watch_requests(desktop: State<'_, Desktop>, on_event: Channel<OwnerEvent>) -> Answer<()> {
    desktop.watch(on_event);
    Ok(())
}

/// Where a file the app wrote went.
#[derive(Clone, Debug, Serialize, ts_rs::TS)]
pub struct Written {
    pub path: PathBuf,
}

#[tauri::command]
pub async fn export_backup(desktop: State<'_, Desktop>) -> Answer<Written> {
    Ok(Written { path: desktop.owner().await?.back_up().await?.path })
}

/// The backups in the app's backup folder, newest first: what the first
/// screen offers to restore from.
#[tauri::command]
pub async fn list_backups(desktop: State<'_, Desktop>) -> Answer<Vec<BackupFile>> {
    Ok(desktop.backups())
}

/// Recreates the wallet from a backup (only when there is no wallet here),
/// with the passphrase it had when the backup was made, and opens it.
#[tauri::command]
pub async fn restore_backup<R: Runtime>(app: AppHandle<R>, desktop: State<'_, Desktop>, path: PathBuf, passphrase: String) -> Answer<AppState> {
    desktop.restore(&app, path, passphrase).await
}

/// A new passphrase: the wallet's key is sealed again under it; with
/// `new_key`, the key itself is replaced too (the wallet closes and opens).
#[tauri::command]
pub async fn change_passphrase<R: Runtime>(
    app: AppHandle<R>,
    desktop: State<'_, Desktop>,
    current: String,
    new: String,
    new_key: Option<bool>,
) -> Answer<AppState> {
    if new_key == Some(true) {
        return desktop.replace_key(&app, current, new).await;
    }
    desktop.owner().await?.change_passphrase(&ChangePassphrase { current, new: new.clone() }).await?;
    desktop.passphrase_changed(new).await;
    Ok(desktop.state().await)
}

/// Opens the wallet at start without asking, with the passphrase kept in
/// the system's keyring (on: `passphrase` must open this wallet), or not.
#[tauri::command]
pub async fn set_unlock_at_login(desktop: State<'_, Desktop>, enabled: bool, passphrase: Option<String>) -> Answer<AppState> {
    desktop.set_unlock_at_login(enabled, passphrase).await
}

/// `null` until the owner has given identity details.
#[tauri::command]
pub async fn get_identity(desktop: State<'_, Desktop>) -> Answer<Option<Identity>> {
    Ok(desktop.owner().await?.identity().await?)
}

#[tauri::command]
pub async fn set_identity(desktop: State<'_, Desktop>, identity: Identity) -> Answer<Identity> {
    Ok(desktop.owner().await?.set_identity(&identity).await?)
}

#[tauri::command]
pub async fn list_providers(desktop: State<'_, Desktop>) -> Answer<Vec<ProviderEntry>> {
    Ok(desktop.owner().await?.providers().await?)
}

#[tauri::command]
pub async fn add_provider(desktop: State<'_, Desktop>, url: String, name: Option<String>) -> Answer<ProviderEntry> {
    let name = name.filter(|n| !n.trim().is_empty());
    Ok(desktop.owner().await?.add_provider(&AddProvider { url: url.trim().into(), name }).await?)
}

#[tauri::command]
pub async fn remove_provider(desktop: State<'_, Desktop>, url: String) -> Answer<()> {
    Ok(desktop.owner().await?.remove_provider(&url).await?)
}

/// Imports a signed governance registry file's text.
#[tauri::command]
pub async fn import_registry(desktop: State<'_, Desktop>, registry: String) -> Answer<RegistryImported> {
    Ok(desktop.owner().await?.import_registry(&registry).await?)
}

/// Locks the window; the wallet's server keeps answering.
#[tauri::command]
pub async fn lock_screen(desktop: State<'_, Desktop>) -> Answer<AppState> {
    Ok(desktop.lock_screen().await)
}

/// Fetches the register of pension providers from where it is published
/// (the app's own, at the first run) and adds the providers it lists.
#[tauri::command]
pub async fn fetch_registry(desktop: State<'_, Desktop>, fetch: FetchRegistry) -> Answer<RegistryImported> {
    desktop.fetch_registry(fetch).await
}

/// The registry key the wallet trusts and the registry it holds.
#[tauri::command]
pub async fn registry_summary(desktop: State<'_, Desktop>) -> Answer<GovernanceSummary> {
    Ok(desktop.owner().await?.registry().await?)
}

#[tauri::command]
pub async fn set_registry_key(desktop: State<'_, Desktop>, key: String) -> Answer<GovernanceSummary> {
    Ok(desktop.owner().await?.set_registry_key(&key).await?)
}

#[tauri::command]
pub async fn find_pensions(desktop: State<'_, Desktop>) -> Answer<Vec<ProviderOutcome>> {
    Ok(desktop.owner().await?.find().await?)
}

#[tauri::command]
pub async fn list_offers(desktop: State<'_, Desktop>, provider: Option<String>) -> Answer<Offers> {
    let owner = desktop.owner().await?;
    Ok(match provider {
        Some(provider) => owner.offers_at(&provider).await?,
        None => owner.offers().await?,
    })
}

/// Which of the owner's providers a credential offer link comes from.
#[tauri::command]
pub async fn read_offer_link(desktop: State<'_, Desktop>, link: String) -> Answer<OfferLink> {
    Ok(desktop.owner().await?.read_offer_link(&link).await?)
}

/// Links the system opened the app with, as they come (see `links.rs`).
#[tauri::command]
pub async fn watch_links(desktop: State<'_, Desktop>, on_link: Channel<OpenedLink>) -> Answer<()> {
    desktop.watch_links(on_link).await;
    Ok(())
}

/// The wallet's address, and the pensions whose provider still names an
/// earlier one.
#[tauri::command]
pub async fn address_status(desktop: State<'_, Desktop>) -> Answer<AddressStatus> {
    Ok(desktop.owner().await?.address_status().await?)
}

/// Tells the providers that still name an earlier address the one now.
#[tauri::command]
pub async fn follow_address(desktop: State<'_, Desktop>) -> Answer<AddressReport> {
    Ok(desktop.owner().await?.follow_address().await?)
}

/// Accepts an offer; `confirmation_code` is the code the provider sent the
/// owner when another wallet protects the pension (the first try answers
/// the kind `confirmation_required`).
#[tauri::command]
pub async fn accept_offer(desktop: State<'_, Desktop>, provider: String, resource_id: String, confirmation_code: Option<String>) -> Answer<Accepted> {
    Ok(desktop.owner().await?.accept(&AcceptOffer { provider, resource_id, confirmation_code }).await?)
}

/// Moves a pension to another wallet: `to` is that wallet's address, and
/// `assertion` the permission code it gave for the provider.
#[tauri::command]
pub async fn move_pension(desktop: State<'_, Desktop>, provider: String, resource_id: String, to: String, assertion: String) -> Answer<Accepted> {
    let request = MovePension { provider, resource_id, to: to.trim().into(), assertion: assertion.trim().into() };
    Ok(desktop.owner().await?.move_pension(&request).await?)
}

/// A sign-in started: the page, and whether a browser opened it.
#[derive(Clone, Debug, Serialize, ts_rs::TS)]
pub struct SignInOpened {
    pub authorize_url: String,
    pub opened: bool,
}

/// Starts proving who the owner is at an identity service: the wallet
/// listens for the answer, and the sign-in page opens in the owner's own
/// browser (never in this window: the owner should see the service's real
/// address, and its page gets no access to the wallet). `opened` is false
/// when no browser could be started; the page's address is shown instead.
#[tauri::command]
pub async fn start_identity_sign_in<R: Runtime>(app: AppHandle<R>, desktop: State<'_, Desktop>, issuer: String) -> Answer<SignInOpened> {
    use tauri_plugin_opener::OpenerExt;
    let started = desktop.owner().await?.start_sign_in(&issuer).await?;
    let opened = match app.opener().open_url(&started.authorize_url, None::<&str>) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "no browser for the sign-in page");
            false
        }
    };
    Ok(SignInOpened { authorize_url: started.authorize_url, opened })
}

/// The identity credential held and how the latest sign-in went.
#[tauri::command]
pub async fn identity_credential(desktop: State<'_, Desktop>) -> Answer<IdentityCredentialStatus> {
    Ok(desktop.owner().await?.identity_credential().await?)
}

#[tauri::command]
pub async fn forget_identity_credential(desktop: State<'_, Desktop>) -> Answer<()> {
    Ok(desktop.owner().await?.forget_identity_credential().await?)
}

#[tauri::command]
pub async fn my_pensions(desktop: State<'_, Desktop>) -> Answer<MyPensions> {
    Ok(desktop.owner().await?.my_pensions().await?)
}

#[tauri::command]
pub async fn list_resources(desktop: State<'_, Desktop>) -> Answer<Vec<Resource>> {
    Ok(desktop.owner().await?.resources().await?)
}

#[tauri::command]
pub async fn list_clients(desktop: State<'_, Desktop>) -> Answer<Vec<ClientView>> {
    Ok(desktop.owner().await?.clients().await?)
}

/// Lets a provider waiting for approval use this wallet to protect pensions.
#[tauri::command]
pub async fn approve_client(desktop: State<'_, Desktop>, id: ClientId) -> Answer<ClientDecision> {
    Ok(desktop.owner().await?.approve_client(&id).await?)
}

#[tauri::command]
pub async fn refuse_client(desktop: State<'_, Desktop>, id: ClientId) -> Answer<ClientDecision> {
    Ok(desktop.owner().await?.refuse_client(&id).await?)
}

#[tauri::command]
pub async fn list_requests(desktop: State<'_, Desktop>, all: bool) -> Answer<Vec<PendingView>> {
    Ok(desktop.owner().await?.requests(all).await?)
}

#[tauri::command]
pub async fn approve_request(desktop: State<'_, Desktop>, id: RequestId, approval: Approval) -> Answer<PendingRequest> {
    Ok(desktop.owner().await?.approve_request(&id, &approval).await?)
}

/// What the request would release, with the owner's own values.
#[tauri::command]
pub async fn request_preview(desktop: State<'_, Desktop>, id: RequestId) -> Answer<Vec<PensionPreview>> {
    Ok(desktop.owner().await?.request_preview(&id).await?)
}

#[tauri::command]
pub async fn deny_request(desktop: State<'_, Desktop>, id: RequestId) -> Answer<PendingRequest> {
    Ok(desktop.owner().await?.deny_request(&id).await?)
}

#[tauri::command]
pub async fn list_policies(desktop: State<'_, Desktop>) -> Answer<Vec<Policy>> {
    Ok(desktop.owner().await?.policies().await?)
}

#[tauri::command]
pub async fn add_policy(desktop: State<'_, Desktop>, policy: NewPolicy) -> Answer<Policy> {
    Ok(desktop.owner().await?.add_policy(&policy).await?)
}

#[tauri::command]
pub async fn remove_policy(desktop: State<'_, Desktop>, id: PolicyId) -> Answer<Policy> {
    Ok(desktop.owner().await?.remove_policy(&id).await?)
}

#[tauri::command]
pub async fn list_grants(desktop: State<'_, Desktop>) -> Answer<Vec<GrantView>> {
    Ok(desktop.owner().await?.grants().await?)
}

#[tauri::command]
pub async fn revoke_grant(desktop: State<'_, Desktop>, id: GrantId) -> Answer<Grant> {
    Ok(desktop.owner().await?.revoke_grant(&id).await?)
}

/// The owner's consent receipts, each with its access grant credential.
#[tauri::command]
pub async fn list_receipts(desktop: State<'_, Desktop>) -> Answer<Vec<Receipt>> {
    Ok(desktop.owner().await?.receipts().await?)
}

/// The sign-in services whose word the owner takes about who is asking.
#[tauri::command]
pub async fn list_trusted_issuers(desktop: State<'_, Desktop>) -> Answer<Vec<TrustedIssuer>> {
    Ok(desktop.owner().await?.trusted_issuers().await?)
}

#[tauri::command]
pub async fn trust_issuer(desktop: State<'_, Desktop>, issuer: TrustIssuer) -> Answer<TrustedIssuer> {
    Ok(desktop.owner().await?.trust_issuer(&issuer).await?)
}

#[tauri::command]
pub async fn distrust_issuer(desktop: State<'_, Desktop>, issuer: String) -> Answer<()> {
    Ok(desktop.owner().await?.distrust_issuer(&issuer).await?)
}

#[tauri::command]
pub async fn list_credentials(desktop: State<'_, Desktop>) -> Answer<Vec<CredentialSummary>> {
    Ok(desktop.owner().await?.credentials().await?)
}

#[tauri::command]
pub async fn show_credential(desktop: State<'_, Desktop>, id: String) -> Answer<CredentialDetail> {
    Ok(desktop.owner().await?.credential(&id).await?)
}

#[tauri::command]
pub async fn verify_credential(desktop: State<'_, Desktop>, id: String) -> Answer<CredentialCheck> {
    Ok(desktop.owner().await?.verify_credential(&id).await?)
}

#[tauri::command]
pub async fn delete_credential(desktop: State<'_, Desktop>, id: String) -> Answer<()> {
    Ok(desktop.owner().await?.delete_credential(&id).await?)
}

/// Every credential, with what the provider signed, in a file in the
/// backup folder (for another wallet, or safekeeping).
#[tauri::command]
pub async fn export_credentials(desktop: State<'_, Desktop>) -> Answer<Written> {
    let credentials = desktop.owner().await?.export_credentials().await?;
    Ok(Written { path: desktop.write_export("credentials", &credentials).await? })
}

/// This wallet's DID: the name its credentials are issued to.
#[tauri::command]
pub async fn wallet_did(desktop: State<'_, Desktop>) -> Answer<Did> {
    Ok(desktop.owner().await?.did().await?)
}

#[tauri::command]
pub async fn list_audit(desktop: State<'_, Desktop>, query: AuditQuery) -> Answer<Vec<ActivityEntry>> {
    Ok(desktop.owner().await?.audit(&AuditQuery { limit: query.limit.clamp(1, 10_000), ..query }).await?)
}

#[tauri::command]
pub async fn verify_audit(desktop: State<'_, Desktop>) -> Answer<AuditVerification> {
    Ok(desktop.owner().await?.audit_verify().await?)
}

/// The whole activity record, oldest first, in a file in the backup folder.
#[tauri::command]
pub async fn export_audit(desktop: State<'_, Desktop>) -> Answer<Written> {
    let entries = desktop.owner().await?.audit_export().await?;
    Ok(Written { path: desktop.write_export("activity", &entries).await? })
}

/// The TypeScript of the app's own commands' types (the owner contract's
/// are in `ui/src/contract`).
pub fn export_typescript(dir: &std::path::Path) -> Result<(), ts_rs::ExportError> {
    use ts_rs::TS;
    let config = wallet::api::typescript::config(dir);
    AppState::export_all(&config)?;
    Written::export_all(&config)?;
    OpenedLink::export_all(&config)?;
    SignInOpened::export_all(&config)
}

#[cfg(test)]
mod tests {
    /// `UPDATE_CONTRACT=1 cargo test -p uma-wallet-desktop --lib contract` writes them afresh.
    #[test]
    fn the_apps_command_contract_types_are_current() {
        let checked_in = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/app-contract");
        if let Err(stale) = wallet::api::typescript::check(&checked_in, super::export_typescript) {
            panic!("{stale}: run UPDATE_CONTRACT=1 cargo test -p uma-wallet-desktop --lib contract");
        }
    }
}

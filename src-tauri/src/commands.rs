//! The window's commands: each one a thin call into the owner service (the
//! same owner API the CLI and the HTTP listener use, driven in-process), so
//! the app adds no protocol logic of its own.

use crate::desktop::{AppState, Desktop, Settings};
use crate::error::CommandError;
use serde_json::{json, Value};
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};
use uma_as::server::OwnerEvent;

type Answer = Result<Value, CommandError>;

/// Ids go into URL paths: anything but an id's characters is refused, so a
/// crafted id cannot reach another endpoint.
fn id_segment(id: &str) -> Result<&str, CommandError> {
    let ok = !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then_some(id).ok_or_else(|| CommandError::invalid_input(format!("{id:?} is not an id")))
}

fn query(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).expect("string pairs encode")
}

#[tauri::command]
pub async fn app_state(desktop: State<'_, Desktop>) -> Result<AppState, CommandError> {
    desktop.note_window_interactive();
    Ok(desktop.state().await)
}

#[tauri::command]
pub async fn create_wallet<R: Runtime>(app: AppHandle<R>, desktop: State<'_, Desktop>, passphrase: String, identity: Option<Value>) -> Result<AppState, CommandError> {
    desktop.create(&app, passphrase, identity).await
}

#[tauri::command]
pub async fn unlock_wallet<R: Runtime>(app: AppHandle<R>, desktop: State<'_, Desktop>, passphrase: String) -> Result<AppState, CommandError> {
    desktop.unlock(&app, passphrase).await
}

#[tauri::command]
pub async fn save_settings(desktop: State<'_, Desktop>, settings: Settings) -> Result<AppState, CommandError> {
    desktop.save_settings(settings).await
}

/// New requests (and resource servers waiting for approval) as they arrive.
#[tauri::command]
pub async fn watch_requests(desktop: State<'_, Desktop>, on_event: Channel<OwnerEvent>) -> Result<(), CommandError> {
    desktop.watch(on_event);
    Ok(())
}

#[tauri::command]
pub async fn export_backup(desktop: State<'_, Desktop>) -> Answer {
    Ok(json!({ "path": desktop.export_backup().await? }))
}

/// `null` until the owner has given identity details.
#[tauri::command]
pub async fn get_identity(desktop: State<'_, Desktop>) -> Answer {
    match desktop.owner().await?.get("/identity").await {
        Ok(identity) => Ok(identity),
        Err(e) if e.status == 404 => Ok(Value::Null),
        Err(e) => Err(e.into()),
    }
}

#[tauri::command]
pub async fn set_identity(desktop: State<'_, Desktop>, identity: Value) -> Answer {
    Ok(desktop.owner().await?.put("/identity", identity).await?)
}

#[tauri::command]
pub async fn list_providers(desktop: State<'_, Desktop>) -> Answer {
    Ok(desktop.owner().await?.get("/providers").await?)
}

#[tauri::command]
pub async fn add_provider(desktop: State<'_, Desktop>, url: String, name: Option<String>) -> Answer {
    let name = name.filter(|n| !n.trim().is_empty());
    Ok(desktop.owner().await?.post("/providers", Some(json!({ "url": url.trim(), "name": name }))).await?)
}

#[tauri::command]
pub async fn remove_provider(desktop: State<'_, Desktop>, url: String) -> Answer {
    Ok(desktop.owner().await?.delete(&format!("/providers?{}", query(&[("url", &url)]))).await?)
}

/// Imports a signed governance registry file's text.
#[tauri::command]
pub async fn import_registry(desktop: State<'_, Desktop>, registry: String) -> Answer {
    Ok(desktop.owner().await?.post("/registry", Some(json!({ "registry": registry }))).await?)
}

/// The registry key the wallet trusts and the registry it holds.
#[tauri::command]
pub async fn registry_summary(desktop: State<'_, Desktop>) -> Answer {
    Ok(desktop.owner().await?.get("/registry").await?)
}

#[tauri::command]
pub async fn set_registry_key(desktop: State<'_, Desktop>, key: String) -> Answer {
    Ok(desktop.owner().await?.put("/registry/key", json!({ "key": key })).await?)
}

#[tauri::command]
pub async fn find_pensions(desktop: State<'_, Desktop>) -> Answer {
    Ok(desktop.owner().await?.post("/find", None).await?)
}

#[tauri::command]
pub async fn list_offers(desktop: State<'_, Desktop>) -> Answer {
    Ok(desktop.owner().await?.get("/offers").await?)
}

/// Accepts an offer; `confirmation_code` is the code the provider sent the
/// owner when another wallet protects the pension (the first try answers
/// the kind `confirmation_required`).
#[tauri::command]
pub async fn accept_offer(desktop: State<'_, Desktop>, provider: String, resource_id: String, confirmation_code: Option<String>) -> Answer {
    let body = json!({ "provider": provider, "resource_id": resource_id, "confirmation_code": confirmation_code });
    Ok(desktop.owner().await?.post("/offers/accept", Some(body)).await?)
}

/// Starts proving who the owner is at an identity service: the wallet
/// listens for the answer, and the sign-in page opens in the owner's own
/// browser (never in this window: the owner should see the service's real
/// address, and its page gets no access to the wallet). `opened` is false
/// when no browser could be started; the page's address is shown instead.
#[tauri::command]
pub async fn start_identity_sign_in<R: Runtime>(app: AppHandle<R>, desktop: State<'_, Desktop>, issuer: String) -> Answer {
    use tauri_plugin_opener::OpenerExt;
    let started = desktop.owner().await?.post("/identity/credential", Some(json!({ "issuer": issuer }))).await?;
    let page = started["authorize_url"].as_str().unwrap_or_default().to_string();
    let opened = match app.opener().open_url(&page, None::<&str>) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "no browser for the sign-in page");
            false
        }
    };
    Ok(json!({ "authorize_url": page, "opened": opened }))
}

/// The identity credential held and how the latest sign-in went.
#[tauri::command]
pub async fn identity_credential(desktop: State<'_, Desktop>) -> Answer {
    Ok(desktop.owner().await?.get("/identity/credential").await?)
}

#[tauri::command]
pub async fn forget_identity_credential(desktop: State<'_, Desktop>) -> Answer {
    Ok(desktop.owner().await?.delete("/identity/credential").await?)
}

#[tauri::command]
pub async fn my_pensions(desktop: State<'_, Desktop>) -> Answer {
    Ok(desktop.owner().await?.get("/pensions").await?)
}

#[tauri::command]
pub async fn list_resources(desktop: State<'_, Desktop>) -> Answer {
    Ok(desktop.owner().await?.get("/resources").await?)
}

#[tauri::command]
pub async fn list_clients(desktop: State<'_, Desktop>) -> Answer {
    Ok(desktop.owner().await?.get("/clients").await?)
}

#[tauri::command]
pub async fn list_requests(desktop: State<'_, Desktop>, all: bool) -> Answer {
    Ok(desktop.owner().await?.get(if all { "/pending?all=true" } else { "/pending" }).await?)
}

#[tauri::command]
pub async fn approve_request(desktop: State<'_, Desktop>, id: String, approval: Value) -> Answer {
    Ok(desktop.owner().await?.post(&format!("/pending/{}/approve", id_segment(&id)?), Some(approval)).await?)
}

#[tauri::command]
pub async fn deny_request(desktop: State<'_, Desktop>, id: String) -> Answer {
    Ok(desktop.owner().await?.post(&format!("/pending/{}/deny", id_segment(&id)?), None).await?)
}

#[tauri::command]
pub async fn list_policies(desktop: State<'_, Desktop>) -> Answer {
    Ok(desktop.owner().await?.get("/policies").await?)
}

#[tauri::command]
pub async fn add_policy(desktop: State<'_, Desktop>, policy: Value) -> Answer {
    Ok(desktop.owner().await?.post("/policies", Some(policy)).await?)
}

#[tauri::command]
pub async fn remove_policy(desktop: State<'_, Desktop>, id: String) -> Answer {
    Ok(desktop.owner().await?.delete(&format!("/policies/{}", id_segment(&id)?)).await?)
}

#[tauri::command]
pub async fn list_grants(desktop: State<'_, Desktop>) -> Answer {
    Ok(desktop.owner().await?.get("/grants").await?)
}

#[tauri::command]
pub async fn revoke_grant(desktop: State<'_, Desktop>, id: String) -> Answer {
    Ok(desktop.owner().await?.post(&format!("/grants/{}/revoke", id_segment(&id)?), None).await?)
}

/// The owner's consent receipts, each with its access grant credential.
#[tauri::command]
pub async fn list_receipts(desktop: State<'_, Desktop>) -> Answer {
    Ok(desktop.owner().await?.get("/receipts").await?)
}

#[tauri::command]
pub async fn list_credentials(desktop: State<'_, Desktop>) -> Answer {
    Ok(desktop.owner().await?.get("/credentials").await?)
}

#[tauri::command]
pub async fn show_credential(desktop: State<'_, Desktop>, id: String) -> Answer {
    Ok(desktop.owner().await?.get(&format!("/credentials/{}", id_segment(&id)?)).await?)
}

#[tauri::command]
pub async fn verify_credential(desktop: State<'_, Desktop>, id: String) -> Answer {
    Ok(desktop.owner().await?.post(&format!("/credentials/{}/verify", id_segment(&id)?), None).await?)
}

#[tauri::command]
pub async fn list_audit(desktop: State<'_, Desktop>, limit: u32) -> Answer {
    Ok(desktop.owner().await?.get(&format!("/audit?limit={}", limit.clamp(1, 10_000))).await?)
}

#[tauri::command]
pub async fn verify_audit(desktop: State<'_, Desktop>) -> Answer {
    Ok(desktop.owner().await?.get("/audit/verify").await?)
}

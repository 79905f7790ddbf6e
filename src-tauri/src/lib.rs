//! The pension wallet's desktop app: a window over the owner service, with
//! the wallet's UMA authorization server running in the background on the
//! app's runtime. Closing the window keeps the server running in the tray,
//! so requests still arrive; the window and its web view go (most of the
//! app's memory), and it opens again on the lock screen. Quit stops the
//! server cleanly.

pub mod commands;
pub mod desktop;
pub mod error;
pub mod links;

use clap::Parser;
use desktop::{Desktop, DesktopOptions};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{Builder, Manager, RunEvent, Runtime, WindowEvent};
use tauri_plugin_deep_link::DeepLinkExt;
use wallet::{Clock, KdfParams};

#[derive(Parser, Debug)]
#[command(name = "uma-wallet-desktop", about = "The pension wallet: your own UMA authorization server, on your desktop")]
struct Args {
    /// The wallet's folder, shared with the `uma-wallet` command line.
    #[arg(long, env = "UMA_WALLET_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Where the authorization server listens, for this run (overrides the saved setting).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Where backups are written (default: your documents folder).
    #[arg(long)]
    backup_dir: Option<PathBuf>,
    /// Where the register of pension providers is published (a signed
    /// registry), fetched at the first run.
    #[arg(long, env = "UMA_WALLET_REGISTRY_URL", requires = "registry_key")]
    registry_url: Option<String>,
    /// The did:key the register is signed with.
    #[arg(long, env = "UMA_WALLET_REGISTRY_KEY")]
    registry_key: Option<String>,
    /// Start in the tray, without opening the window (as at login).
    #[arg(long)]
    minimized: bool,
    /// A link to open on: an `openid-credential-offer://` offer or a
    /// `uma-wallet://request/…` request (what the system passes).
    link: Option<String>,
}

/// What the system starts at login for this wallet. With the command line
/// `uma-wallet` installed beside the app (the `.deb` puts both in
/// `/usr/bin`): the server alone, locked, with its icon in the tray
/// (`uma-wallet serve --locked --tray`, a few MiB all day), which starts the
/// app's window from "Open wallet"; the passphrase the owner may have kept
/// in the keyring opens it at once. Without it: the app itself, in its tray.
pub struct LoginEntry {
    /// One entry per wallet folder: the default folder's is "Pension
    /// Wallet", another's is named after it.
    name: String,
    /// `--data-dir` (unless the default) and `--backup-dir` as chosen, in full.
    folders: Vec<(&'static str, PathBuf)>,
}

impl LoginEntry {
    /// The program and arguments to start at login, with these settings
    /// (checked again here: an entry is a command line the system runs).
    fn command(&self, settings: &desktop::Settings) -> Result<(PathBuf, Vec<String>), String> {
        let app = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut args = Vec::new();
        for (flag, dir) in &self.folders {
            args.push(flag.to_string());
            args.push(dir.to_str().ok_or("a folder whose name is not UTF-8")?.to_string());
        }
        // An AppImage's programs live in a mount that goes with the app.
        let appimage = std::env::var_os("APPIMAGE").map(PathBuf::from);
        let server = app.parent().map(|dir| dir.join("uma-wallet")).filter(|p| p.is_file() && appimage.is_none());
        let Some(server) = server else {
            args.push("--minimized".into());
            return Ok((appimage.unwrap_or(app), args));
        };
        args.extend(serve_arguments(settings)?);
        Ok((server, args))
    }

    /// On Linux, the entry's Exec line as the Desktop Entry Specification
    /// reads it: each argument quoted where it must be, and none that would
    /// need escaping twice (`%`, `"`, `\`, …), rather than an entry that
    /// starts something else. Elsewhere the system takes the arguments as they are.
    fn written(program: PathBuf, args: Vec<String>) -> Result<(String, Vec<String>), String> {
        #[cfg(target_os = "linux")]
        {
            let quoted = |arg: &str| links::desktop_entry_argument(std::path::Path::new(arg));
            let args = args.iter().map(|a| quoted(a)).collect::<Result<Vec<_>, _>>()?;
            Ok((links::desktop_entry_argument(&program)?, args))
        }
        #[cfg(not(target_os = "linux"))]
        Ok((program.to_str().ok_or("a program path that is not UTF-8")?.to_string(), args))
    }

    fn write(&self, settings: &desktop::Settings) -> Result<(), String> {
        let entry = |program: &str, args: &[String]| auto_launch::AutoLaunchBuilder::new().set_app_name(&self.name).set_app_path(program).set_args(args).build().map_err(|e| e.to_string());
        let made = self.command(settings).and_then(|(program, args)| Self::written(program, args));
        match made {
            // Written again each time, so the entry follows the app if it
            // moved and the server the settings.
            Ok((program, args)) if settings.start_at_login => entry(&program, &args)?.enable().map_err(|e| e.to_string()),
            made => {
                // Off, or no entry can say it: none at all, rather than one
                // that starts another wallet or an old address.
                let removed = entry("uma-wallet", &[])?;
                if removed.is_enabled().unwrap_or(true) {
                    removed.disable().map_err(|e| e.to_string())?;
                }
                made.map(|_| ())
            }
        }
    }
}

/// `serve` as the settings say, checked again (an entry is a command line
/// the system runs): the address and issuer as parsed, not as saved.
fn serve_arguments(settings: &desktop::Settings) -> Result<Vec<String>, String> {
    let listen = settings.check().map_err(|e| e.message)?;
    let mut args: Vec<String> = ["serve", "--locked", "--unlock-from-keyring", "--tray", "--listen"].map(String::from).into();
    args.push(listen.to_string());
    if let Some(issuer) = &settings.public_issuer {
        args.extend(["--issuer".into(), wallet::check_public_issuer(issuer)?]);
    }
    if settings.backups.daily {
        args.extend(["--daily-backups".into(), settings.backups.keep.to_string()]);
    }
    Ok(args)
}

/// Makes the system start the wallet at login or not, as the owner's
/// settings say. Without a login entry (the command tests' mock runtime)
/// there is nothing to do.
pub fn start_at_login<R: Runtime>(app: &tauri::AppHandle<R>, settings: &desktop::Settings) {
    let Some(entry) = app.try_state::<LoginEntry>() else { return };
    if let Err(e) = entry.write(settings) {
        tracing::warn!(error = %e, wanted = settings.start_at_login, "no login entry for this wallet");
    }
}

/// Whether two paths name the same folder (the one that does not exist yet
/// compared in full).
fn same_folder(a: &std::path::Path, b: &std::path::Path) -> bool {
    let full = |p: &std::path::Path| p.canonicalize().or_else(|_| std::path::absolute(p)).unwrap_or_else(|_| p.to_path_buf());
    full(a) == full(b)
}

/// One app per wallet: a second start for the same wallet folder shows the
/// running one's window instead (D-Bus on Linux). Another wallet folder is
/// another wallet, with its own app.
fn instance_id(data_dir: &std::path::Path) -> String {
    let path = data_dir.canonicalize().unwrap_or_else(|_| data_dir.to_path_buf());
    let digest = ring::digest::digest(&ring::digest::SHA256, path.as_os_str().as_encoded_bytes());
    let short: String = digest.as_ref()[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("org.umawallet.desktop.w{short}")
}

/// Shows the window, making it first if there is none: the app in the
/// tray holds no window (and no web view) at all, which is most of its
/// memory.
fn show_window<R: Runtime>(app: &tauri::AppHandle<R>) {
    if let Some(window) = window(app) {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// The window, made hidden from the built-in configuration if it is not there.
fn window<R: Runtime>(app: &tauri::AppHandle<R>) -> Option<tauri::WebviewWindow<R>> {
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        return Some(window);
    }
    let config = app.config().app.windows.iter().find(|w| w.label == MAIN_WINDOW)?;
    match tauri::WebviewWindowBuilder::from_config(app, config).and_then(|b| b.build()) {
        Ok(window) => Some(window),
        Err(e) => {
            tracing::error!(error = %e, "the window could not be made");
            None
        }
    }
}

const MAIN_WINDOW: &str = "main";

/// Opens the window on what a link names (see `links.rs`).
fn open_link<R: Runtime>(app: &tauri::AppHandle<R>, link: &str) {
    match links::parse(link) {
        Some(opened) => match app.state::<Desktop>().link_opened(opened) {
            None => show_window(app),
            Some(when) => {
                tracing::info!("a link too soon after the last one: held");
                let app = app.clone();
                tauri::async_runtime::spawn(async move {
                    let mut when = when;
                    loop {
                        tokio::time::sleep_until(when.into()).await;
                        match app.state::<Desktop>().release_link() {
                            None => break show_window(&app),
                            Some(later) => when = later,
                        }
                    }
                });
            }
        },
        None => tracing::warn!(length = link.len(), "a link the app does not open"),
    }
}

/// Makes this app the handler of its links for this user, off the main
/// thread (it runs xdg-mime): on Linux its own desktop entry, naming its
/// wallet folder (`links::register_on_linux`); on Windows the plugin's.
/// macOS takes them from the app bundle.
#[allow(unused_variables)] // each system uses what it needs of the two
fn register_link_handler<R: Runtime>(app: &tauri::AppHandle<R>, wallet_dir: Option<PathBuf>) {
    #[cfg(windows)]
    let app = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        #[cfg(target_os = "linux")]
        let registered = links::register_on_linux(wallet_dir.as_deref());
        #[cfg(windows)]
        let registered = app.deep_link().register_all().map_err(|e| e.to_string());
        #[cfg(not(any(target_os = "linux", windows)))]
        let registered: Result<(), String> = Ok(());
        if let Err(e) = registered {
            tracing::info!(error = %e, "links do not open this app: the system would not take it as their handler");
        }
    });
}

/// Whether a tray icon exists: without one, closing the window must quit,
/// or the app would keep running with no way back to it.
struct TrayPresent(AtomicBool);

/// Registers the state and every command: shared by the real app and the
/// command tests (`tauri::test`'s mock runtime).
pub fn build<R: Runtime>(builder: Builder<R>, desktop: Desktop) -> Builder<R> {
    // The opener is used from Rust only (the sign-in page): the window's
    // capabilities grant the page none of its commands.
    builder.plugin(tauri_plugin_opener::init()).manage(desktop).invoke_handler(tauri::generate_handler![
        commands::app_state,
        commands::create_wallet,
        commands::unlock_wallet,
        commands::lock_screen,
        commands::save_settings,
        commands::watch_requests,
        commands::export_backup,
        commands::get_identity,
        commands::set_identity,
        commands::list_providers,
        commands::add_provider,
        commands::remove_provider,
        commands::import_registry,
        commands::fetch_registry,
        commands::registry_summary,
        commands::set_registry_key,
        commands::find_pensions,
        commands::list_offers,
        commands::read_offer_link,
        commands::watch_links,
        commands::address_status,
        commands::follow_address,
        commands::accept_offer,
        commands::start_identity_sign_in,
        commands::identity_credential,
        commands::forget_identity_credential,
        commands::my_pensions,
        commands::list_resources,
        commands::list_clients,
        commands::list_requests,
        commands::approve_request,
        commands::deny_request,
        commands::request_preview,
        commands::list_policies,
        commands::add_policy,
        commands::remove_policy,
        commands::list_grants,
        commands::revoke_grant,
        commands::list_receipts,
        commands::list_trusted_issuers,
        commands::trust_issuer,
        commands::distrust_issuer,
        commands::approve_client,
        commands::refuse_client,
        commands::move_pension,
        commands::delete_credential,
        commands::export_credentials,
        commands::wallet_did,
        commands::export_audit,
        commands::list_backups,
        commands::restore_backup,
        commands::change_passphrase,
        commands::set_unlock_at_login,
        commands::list_credentials,
        commands::show_credential,
        commands::verify_credential,
        commands::list_audit,
        commands::verify_audit,
    ])
}

pub fn run() {
    let started = Instant::now();
    let mut args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("UMA_WALLET_LOG").unwrap_or_else(|_| "warn,uma_wallet_desktop=info".into()))
        .with_writer(std::io::stderr)
        .init();
    if args.link.is_some() && (args.listen.is_some() || args.registry_url.is_some() || args.minimized) {
        // A link comes from anywhere: it may name a wallet folder (the link
        // handler does), never where the server listens or whose register
        // of providers to trust.
        tracing::warn!("a start with a link takes only --data-dir and --backup-dir: its other options are ignored");
        (args.listen, args.registry_url, args.registry_key, args.minimized) = (None, None, None, false);
    }
    let default_dir = dirs::data_dir().unwrap_or_else(|| PathBuf::from(".")).join("uma-wallet");
    let data_dir = args.data_dir.clone().unwrap_or_else(|| default_dir.clone());
    // The default folder named in full (as the tray's "Open wallet" does)
    // is still the default wallet, with the one login entry.
    let other_wallet = !same_folder(&data_dir, &default_dir);
    let id = instance_id(&data_dir);
    // A second start hands over its link, if it ends with one (as the link
    // handler's start does), else just shows the window.
    let single_instance = tauri_plugin_single_instance::Builder::new()
        .dbus_id(id.clone())
        .callback(|app, args, _cwd| match args.last().filter(|a| args.len() > 1 && links::parse(a).is_some()) {
            Some(link) => open_link(app, link),
            None => show_window(app),
        })
        .build();
    // At login: this same wallet. Each wallet folder has its own login
    // entry (named after it), holding full paths.
    let mut login_entry = LoginEntry { name: "Pension Wallet".into(), folders: Vec::new() };
    if other_wallet {
        login_entry.name = format!("Pension Wallet {}", id.rsplit('.').next().unwrap_or_default());
    }
    let chosen_folders = [("--data-dir", args.data_dir.as_ref().filter(|_| other_wallet)), ("--backup-dir", args.backup_dir.as_ref())];
    for (flag, dir) in chosen_folders {
        if let Some(dir) = dir {
            login_entry.folders.push((flag, std::path::absolute(dir).unwrap_or_else(|_| dir.clone())));
        }
    }
    // A folder of the app's own: it is made private (0700), which a user's
    // Documents folder itself must never be.
    let backup_dir = args
        .backup_dir
        .or_else(|| dirs::document_dir().or_else(dirs::home_dir).map(|d| d.join("Pension wallet backups")))
        .unwrap_or_else(|| data_dir.join("backups"));
    let desktop = Desktop::new(DesktopOptions {
        data_dir,
        backup_dir,
        listen_override: args.listen,
        clock: Clock::System,
        kdf: KdfParams::default(),
        started,
        registry: args.registry_url.map(|url| wallet::api::FetchRegistry { url: Some(url), key: args.registry_key }),
        anchor_dir: wallet::Wallet::default_anchoring().map(|anchoring| anchoring.dir),
    });

    let minimized = args.minimized;
    let link = args.link;
    // The folder a link handler must name: the one chosen, in full.
    let link_data_dir = args.data_dir.as_ref().and_then(|d| std::path::absolute(d).ok());
    // The single-instance plugin first: a second start ends before the rest
    // is set up, handing its link (if any) to the deep-link plugin here.
    let builder = Builder::default()
        .plugin(single_instance)
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_notification::init());
    let app = build(builder, desktop)
        .manage(TrayPresent(AtomicBool::new(false)))
        .manage(login_entry)
        .setup(move |app| {
            // Over a server that already runs (`uma-wallet serve --tray`,
            // started at login), the app is its window alone: the server's
            // tray stays, and closing the window ends the app.
            let tray_present = if app.state::<Desktop>().served_at_start() {
                tracing::info!("the wallet is served by another program: closing the window ends the app");
                false
            } else {
                match tray(app.handle()) {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::warn!(error = %e, "no tray icon; closing the window will quit");
                        false
                    }
                }
            };
            app.state::<TrayPresent>().0.store(tray_present, Ordering::Relaxed);
            start_at_login(app.handle(), &app.state::<Desktop>().settings());
            let handle = app.handle().clone();
            app.deep_link().on_open_url(move |event| {
                for url in event.urls() {
                    open_link(&handle, url.as_str());
                }
            });
            register_link_handler(app.handle(), link_data_dir);
            // The server opens from the keyring (if the owner chose it) off
            // the main thread, so the tray answers meanwhile; the window
            // shows after, on the lock screen rather than the unlock one.
            // Started at login, it stays in the tray (if there is one to
            // come back from).
            let shown = !(minimized && tray_present) || link.is_some();
            if shown {
                // Its page loads while the keyring is read.
                window(app.handle());
            }
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                handle.state::<Desktop>().unlock_from_keyring(&handle).await;
                if let Some(link) = link {
                    open_link(&handle, &link);
                } else if shown {
                    show_window(&handle);
                }
            });
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::Destroyed = event {
                // Closed, with the server still running in the tray: the
                // window opens again on the lock screen, as the page (and
                // whatever it showed) is gone.
                window.state::<Desktop>().window_closed();
            }
        })
        .build(tauri::generate_context!())
        .expect("the app's configuration is built in; it cannot be invalid");

    app.run(|handle, event| match event {
        // The last window closed: the app goes on in the tray, serving,
        // and its web view is gone with the window. Quit asks with a code.
        RunEvent::ExitRequested { code: None, api, .. } if handle.state::<TrayPresent>().0.load(Ordering::Relaxed) => api.prevent_exit(),
        RunEvent::Exit => {
            // Outside the async runtime here (the GUI thread), so blocking is
            // allowed: drain the server and flush before the process ends.
            tauri::async_runtime::block_on(handle.state::<Desktop>().lock());
        }
        _ => {}
    });
}

fn tray<R: Runtime>(app: &tauri::AppHandle<R>) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, "open", "Open wallet", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit (stops the server)", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&open, &quit])?;
    let mut builder = TrayIconBuilder::with_id("wallet").menu(&menu).tooltip("Pension Wallet").on_menu_event(|app, event| {
        match event.id().as_ref() {
            "open" => show_window(app),
            "quit" => app.exit(0),
            _ => {}
        }
    });
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    builder.build(app)?;
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_login_entry_quotes_what_it_must_and_refuses_what_it_cannot_say() {
        let args = |list: &[&str]| list.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        let (program, written) = LoginEntry::written(PathBuf::from("/opt/My Apps/uma-wallet"), args(&["--data-dir", "/home/a b/wallet", "serve"])).unwrap();
        assert_eq!(program, "\"/opt/My Apps/uma-wallet\"");
        assert_eq!(written, ["--data-dir", "\"/home/a b/wallet\"", "serve"]);
        for unsayable in ["/home/u/a%d", "/home/u/a\"b", "/home/u/a\\b", "/home/u/a\nExec=x"] {
            assert!(LoginEntry::written(PathBuf::from("/usr/bin/uma-wallet"), args(&["--data-dir", unsayable])).is_err(), "{unsayable:?}");
        }
    }

    #[test]
    fn the_login_entry_runs_the_checked_settings_not_the_saved_text() {
        let settings = desktop::Settings { listen: " 127.0.0.1:7421 ".into(), public_issuer: Some(" https://wallet.example/ ".into()), ..Default::default() };
        assert_eq!(serve_arguments(&settings).unwrap(), ["serve", "--locked", "--unlock-from-keyring", "--tray", "--listen", "127.0.0.1:7421", "--issuer", "https://wallet.example"]);
        let daily = desktop::Settings { backups: wallet::backups::BackupSchedule { daily: true, keep: 9 }, ..Default::default() };
        assert!(serve_arguments(&daily).unwrap().ends_with(&["--daily-backups".to_string(), "9".to_string()]));
        let injected = desktop::Settings { public_issuer: Some("https://wallet.example/a --listen 0.0.0.0:80".into()), ..Default::default() };
        assert!(serve_arguments(&injected).map(|args| args.iter().all(|a| !a.contains(' '))).unwrap_or(true), "never an argument that splits");
    }
}

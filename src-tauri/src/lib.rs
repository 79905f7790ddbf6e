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
    /// One entry per wallet folder (named after it when one was chosen).
    name: String,
    /// `--data-dir` and `--backup-dir` as chosen, in full.
    folders: Vec<(&'static str, String)>,
    /// False when a chosen folder's path cannot be written in an entry.
    usable: bool,
}

impl LoginEntry {
    /// The program and arguments to start at login, with these settings.
    fn command(&self, settings: &desktop::Settings) -> std::io::Result<(PathBuf, Vec<String>)> {
        let app = std::env::current_exe()?;
        let folders = self.folders.iter().flat_map(|(flag, dir)| [flag.to_string(), dir.clone()]);
        // An AppImage's programs live in a mount that goes with the app.
        let server = app.parent().map(|dir| dir.join("uma-wallet")).filter(|p| p.is_file() && std::env::var_os("APPIMAGE").is_none());
        let Some(server) = server else {
            let app = std::env::var_os("APPIMAGE").map(PathBuf::from).unwrap_or(app);
            return Ok((app, folders.chain(["--minimized".to_string()]).collect()));
        };
        let mut args: Vec<String> = folders.collect();
        args.extend(["serve", "--locked", "--unlock-from-keyring", "--tray", "--listen", &settings.listen].map(String::from));
        if let Some(issuer) = &settings.public_issuer {
            args.extend(["--issuer".into(), issuer.clone()]);
        }
        if settings.backups.daily {
            args.extend(["--daily-backups".into(), settings.backups.keep.to_string()]);
        }
        Ok((server, args))
    }

    fn write(&self, settings: &desktop::Settings) -> Result<(), String> {
        let (program, args) = self.command(settings).map_err(|e| e.to_string())?;
        let program = program.to_str().filter(|p| !p.contains(char::is_whitespace)).ok_or("the program's path cannot be written in a login entry")?;
        let entry = auto_launch::AutoLaunchBuilder::new().set_app_name(&self.name).set_app_path(program).set_args(&args).build().map_err(|e| e.to_string())?;
        // Written again each time, so the entry follows the app if it moved
        // and the server the settings.
        let wanted = settings.start_at_login && self.usable;
        let done = if wanted { entry.enable() } else if entry.is_enabled().unwrap_or(true) { entry.disable() } else { Ok(()) };
        done.map_err(|e| e.to_string())
    }
}

/// Makes the system start the wallet at login or not, as the owner's
/// settings say. Without a login entry (the command tests' mock runtime)
/// there is nothing to do.
pub fn start_at_login<R: Runtime>(app: &tauri::AppHandle<R>, settings: &desktop::Settings) {
    let Some(entry) = app.try_state::<LoginEntry>() else { return };
    if let Err(e) = entry.write(settings) {
        tracing::warn!(error = %e, wanted = settings.start_at_login, "could not change whether the wallet starts at login");
    }
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
    let chosen = args.data_dir.is_some() || args.backup_dir.is_some();
    let data_dir = args.data_dir.clone().unwrap_or_else(|| dirs::data_dir().unwrap_or_else(|| PathBuf::from(".")).join("uma-wallet"));
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
    let mut login_entry = LoginEntry { name: "Pension Wallet".into(), folders: Vec::new(), usable: true };
    if chosen {
        login_entry.name = format!("Pension Wallet {}", id.rsplit('.').next().unwrap_or_default());
    }
    let absolute = |p: &PathBuf| std::path::absolute(p).ok().and_then(|p| p.to_str().map(String::from));
    for (flag, dir) in [("--data-dir", args.data_dir.as_ref()), ("--backup-dir", args.backup_dir.as_ref())] {
        let Some(dir) = dir else { continue };
        match absolute(dir).filter(|d| !d.contains(char::is_whitespace)) {
            Some(dir) => login_entry.folders.push((flag, dir)),
            // An autostart entry cannot carry such a path: no entry, rather
            // than one that starts another wallet.
            None => login_entry.usable = false,
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

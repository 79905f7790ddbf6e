//! The wallet's icon in the desktop's tray while `uma-wallet serve --tray`
//! runs (what the desktop app's login entry starts): "Open wallet" starts
//! the app, which opens its screens over this server, and "Quit" stops the
//! server. New requests show as desktop notifications once the wallet is
//! open.
//!
//! A StatusNotifierItem over D-Bus (`ksni`), so no GUI toolkit is loaded
//! into the process that runs all day: the window, with GTK and WebKit,
//! lives in the app's own process and only while it is open.

use crate::TrayOptions;
use std::path::{Path, PathBuf};
use tokio::sync::watch;
use wallet::owner_client::OwnerClient;

/// The desktop app's program, installed beside this one (`/usr/bin` in the
/// `.deb`, the same `target` folder in a build).
const APP_PROGRAM: &str = "uma-wallet-desktop";

/// The app beside this program, if it is installed.
fn app_beside_this_program() -> Option<PathBuf> {
    let app = std::env::current_exe().ok()?.parent()?.join(APP_PROGRAM);
    app.is_file().then_some(app)
}

struct WalletTray {
    options: TrayOptions,
    app: Option<PathBuf>,
    open: bool,
    quit: watch::Sender<bool>,
}

impl WalletTray {
    fn status(&self) -> &'static str {
        if self.open {
            "Open: requests reach you"
        } else {
            "Locked: requests wait until you open it"
        }
    }

    /// Starts the app on this wallet; it finds this server and opens its
    /// screens over it. A second start of the app hands over to the first.
    fn open_app(&self) {
        let Some(app) = &self.app else { return };
        let mut command = std::process::Command::new(app);
        command.arg("--data-dir").arg(&self.options.data_dir);
        if let Some(backup_dir) = &self.options.backup_dir {
            command.arg("--backup-dir").arg(backup_dir);
        }
        // The passphrases a script may have given this server stay here.
        command.env_remove("UMA_WALLET_PASSPHRASE").env_remove("UMA_WALLET_NEW_PASSPHRASE");
        match command.spawn() {
            // Waited for on a thread of its own, so it leaves no zombie.
            Ok(mut child) => drop(std::thread::spawn(move || child.wait())),
            Err(e) => tracing::warn!(error = %e, app = %app.display(), "the app could not be started"),
        }
    }
}

impl ksni::Tray for WalletTray {
    fn id(&self) -> String {
        "uma-wallet".into()
    }

    fn title(&self) -> String {
        "Pension Wallet".into()
    }

    fn category(&self) -> ksni::Category {
        ksni::Category::ApplicationStatus
    }

    /// The icon the app installs in the icon theme; [`icon`] when there is none.
    fn icon_name(&self) -> String {
        APP_PROGRAM.into()
    }

    fn icon_pixmap(&self) -> Vec<ksni::Icon> {
        icon().into_iter().collect()
    }

    fn tool_tip(&self) -> ksni::ToolTip {
        ksni::ToolTip { title: "Pension Wallet".into(), description: self.status().into(), ..Default::default() }
    }

    /// A click on the icon opens the wallet, as the menu's first item does.
    fn activate(&mut self, _x: i32, _y: i32) {
        self.open_app();
    }

    fn menu(&self) -> Vec<ksni::MenuItem<Self>> {
        use ksni::menu::{MenuItem, StandardItem};
        let open = match self.app {
            Some(_) => StandardItem { label: "Open wallet".into(), activate: Box::new(|tray: &mut Self| tray.open_app()), ..Default::default() },
            None => StandardItem { label: "Open wallet (the app is not installed)".into(), enabled: false, ..Default::default() },
        };
        let status = StandardItem { label: self.status().into(), enabled: false, ..Default::default() };
        let quit = StandardItem {
            label: "Quit (apps and providers can no longer reach your wallet)".into(),
            activate: Box::new(|tray: &mut Self| {
                tray.quit.send_replace(true);
            }),
            ..Default::default()
        };
        vec![open.into(), status.into(), MenuItem::Separator, quit.into()]
    }
}

/// The app's 32-pixel icon, as the ARGB32 pixels a StatusNotifierItem carries.
fn icon() -> Option<ksni::Icon> {
    let decoder = png::Decoder::new(std::io::Cursor::new(include_bytes!("../../../icons/32x32.png")));
    let mut reader = decoder.read_info().ok()?;
    let mut rgba = vec![0; reader.output_buffer_size()?];
    let frame = reader.next_frame(&mut rgba).ok()?;
    if frame.color_type != png::ColorType::Rgba || frame.bit_depth != png::BitDepth::Eight {
        return None;
    }
    let data = rgba[..frame.buffer_size()].chunks_exact(4).flat_map(|p| [p[3], p[0], p[1], p[2]]).collect();
    Some(ksni::Icon { width: frame.width as i32, height: frame.height as i32, data })
}

/// Shows the tray icon until the server stops. Resolves when the owner
/// chooses "Quit". On a desktop without a tray (no StatusNotifierWatcher on
/// the session bus) the server runs on, and the icon shows if one comes.
pub async fn run(options: TrayOptions, mut opened: watch::Receiver<bool>) {
    use ksni::TrayMethods;
    let data_dir = options.data_dir.clone();
    let (quit, mut quitting) = watch::channel(false);
    let open = *opened.borrow();
    let tray = WalletTray { options, app: app_beside_this_program(), open, quit };
    // Started at login, the server may come before the desktop's panel:
    // the icon shows once the panel's tray is there, rather than never.
    let handle = match tray.assume_sni_available(true).spawn().await {
        Ok(handle) => handle,
        Err(e) => {
            tracing::warn!(error = %e, "no tray icon (no session bus?); the server runs on without one");
            return std::future::pending().await;
        }
    };
    let notifications = async {
        if opened.wait_for(|open| *open).await.is_ok() {
            handle.update(|tray| tray.open = true).await;
            notify_requests(&data_dir).await;
        }
        std::future::pending::<()>().await
    };
    let quit = async {
        // Only an ended tray service drops the sender, and then no Quit comes.
        if quitting.wait_for(|quit| *quit).await.is_err() {
            std::future::pending::<()>().await
        }
    };
    tokio::select! {
        () = quit => {}
        () = notifications => {}
    }
}

/// Shows a desktop notification for each request that arrives, through the
/// owner API's events, as the app does while it runs.
async fn notify_requests(data_dir: &Path) {
    use futures_util::StreamExt;
    let Some(owner) = OwnerClient::running(data_dir).await else {
        return tracing::warn!("no notifications: the owner API did not answer");
    };
    let events = match owner.events().await {
        Ok(events) => events,
        Err(e) => return tracing::warn!(error = %e, "no notifications: the owner API's events did not open"),
    };
    let mut events = std::pin::pin!(events);
    let mut gate = wallet::NotificationGate::default();
    while let Some(event) = events.next().await {
        let Some((title, body)) = gate.notification(&event, std::time::Instant::now()) else { continue };
        // D-Bus can stall on a broken session bus: never on the event path.
        tokio::task::spawn_blocking(move || {
            if let Err(e) = notify_rust::Notification::new().appname("Pension Wallet").summary(&title).body(&body).show() {
                tracing::debug!(error = %e, "no desktop notification");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_icon_is_the_apps_own_in_argb() {
        let icon = super::icon().expect("the built-in icon decodes");
        assert_eq!((icon.width, icon.height), (32, 32));
        assert_eq!(icon.data.len(), 32 * 32 * 4);
    }
}

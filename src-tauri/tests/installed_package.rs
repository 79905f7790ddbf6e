//! The app as a user installs it: `scripts/package-check.sh` builds the
//! `.deb` with Tauri's bundler and installs it with apt into a fresh Debian
//! root that holds nothing else; this test starts the installed app there,
//! on the test's X display, and checks that its window opens and draws the
//! first screen (not a blank or single-colour rectangle), and that the
//! command line its login entry runs is installed beside it.

mod support;

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the package installed into a Debian root: run by scripts/package-check.sh"]
async fn the_installed_app_opens_its_window_and_draws_it() {
    let root = std::env::var("INSTALLED_ROOT").expect("INSTALLED_ROOT: the Debian root the package is installed in");
    let display = std::env::var("DISPLAY").expect("an X display");
    // The package's own files: the program, its desktop entry with the link
    // schemes it handles.
    let entry = std::fs::read_to_string(format!("{root}/usr/share/applications/Pension Wallet.desktop")).expect("the package's desktop entry");
    assert!(entry.contains("x-scheme-handler/openid-credential-offer") && entry.contains("x-scheme-handler/uma-wallet"), "{entry}");
    assert!(entry.lines().any(|l| l.starts_with("Exec=") && l.ends_with(" %u")), "a link reaches the app: {entry}");
    let program = entry.lines().find_map(|l| l.strip_prefix("Exec=")).and_then(|e| e.split_whitespace().next()).expect("an Exec line").to_string();
    // The command line beside it, which runs in that root as installed.
    let version = Command::new("chroot").arg(&root).args(["/usr/bin/uma-wallet", "--version"]).output().expect("chroot");
    assert!(version.status.success() && String::from_utf8_lossy(&version.stdout).starts_with("uma-wallet "), "{version:?}");

    let mut app = Command::new("chroot")
        .arg(&root)
        .args(["env", "-i", "HOME=/root", "LANG=C.UTF-8", "NO_AT_BRIDGE=1", "LIBGL_ALWAYS_SOFTWARE=1", "WEBKIT_DISABLE_COMPOSITING_MODE=1"])
        .arg(format!("DISPLAY={display}"))
        .args(["dbus-run-session", "--"])
        .arg(&program)
        .stdout(Stdio::null())
        // Its own group: the session bus and the app's WebKit processes end with it.
        .process_group(0)
        .spawn()
        .expect("the installed app starts");

    let deadline = std::time::Instant::now() + PATIENCE;
    let shot = screenshots_dir().join("installed-app.png");
    loop {
        assert!(app.try_wait().unwrap().is_none(), "the installed app ended");
        assert!(std::time::Instant::now() < deadline, "the installed app never drew its window (last look: {})", shot.display());
        if let Some(&window) = windows_showing("Pension Wallet").first() {
            // The first screen: a heading, a form, buttons; a blank web view is one colour.
            if colours_in(window) > 16 {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    capture_display(&shot);
    eprintln!("the installed app's window: {}", shot.display());
    // Its login entry starts the installed server in the tray, for her
    // wallet (the default folder).
    let login = std::fs::read_to_string(format!("{root}/root/.config/autostart/Pension Wallet.desktop")).expect("the app's login entry");
    assert!(login.lines().any(|l| l.starts_with("Exec=/usr/bin/uma-wallet serve --locked --unlock-from-keyring --tray --listen 127.0.0.1:")), "{login}");
    let _ = Command::new("kill").args(["-TERM", "--", &format!("-{}", app.id())]).status();
    let _ = app.wait();
}

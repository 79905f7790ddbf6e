//! Links that open the app on something: a provider's credential offer
//! (`openid-credential-offer://…`, OpenID4VCI 1.0 §4.1) or a request waiting
//! in the inbox (`uma-wallet://request/{id}`). The system starts the app
//! with the link (a second start hands it to the running app) or, on macOS,
//! sends it to the running app (the deep-link plugin).
//!
//! Any web page can open a link, as often as it likes, so a link only ever
//! shows something: the owner accepts, declines or decides on the screen it
//! opens; reading an offer link sends nothing and names only a provider she
//! already chose (the wallet's `offer_link.rs`); and one link a second at
//! most moves the window (a flood shows only its last). A link that arrives while the window is locked
//! or closed waits until she unlocks it.

use serde::Serialize;
use std::time::{Duration, Instant};
use tauri::ipc::Channel;
use wallet::api::OFFER_SCHEME;

/// The app's own scheme.
pub const APP_SCHEME: &str = "uma-wallet";
/// Longer than any link the app takes (an offer by value is a few hundred bytes).
const MAX_LINK: usize = 8 * 1024;
/// Request ids are the AS's own: short, URL-safe.
const MAX_REQUEST_ID: usize = 64;

/// What a link opens.
#[derive(Clone, Debug, PartialEq, Serialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OpenedLink {
    /// A credential offer: the whole link, which the owner service reads.
    Offer { link: String },
    /// A request in the inbox.
    Request { id: String },
}

/// What a link names, or nothing for a link the app does not open.
pub fn parse(link: &str) -> Option<OpenedLink> {
    if link.len() > MAX_LINK {
        return None;
    }
    let url = url::Url::parse(link).ok()?;
    match url.scheme() {
        OFFER_SCHEME => Some(OpenedLink::Offer { link: link.to_string() }),
        // uma-wallet://request/{id}: the host is "request".
        APP_SCHEME if url.host_str() == Some("request") => {
            let id = url.path().trim_start_matches('/');
            let plain = !id.is_empty() && id.len() <= MAX_REQUEST_ID && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            plain.then(|| OpenedLink::Request { id: id.to_string() })
        }
        _ => None,
    }
}

/// The schemes this app opens.
pub const SCHEMES: [&str; 2] = [OFFER_SCHEME, APP_SCHEME];
/// The desktop entry that hands links to this app, in the user's applications.
#[cfg(target_os = "linux")]
const HANDLER_ENTRY: &str = "uma-wallet-desktop-handler.desktop";

/// Makes this program the handler of its link schemes for this user: a
/// desktop entry in the user's applications folder, chosen with xdg-mime.
/// The entry names the wallet folder when one was chosen, so a link reaches
/// this same wallet (its start hands the link to the running app). Another
/// program already chosen for offer links (another wallet) stays chosen;
/// the app's own scheme is its own. Written again at each start, as the
/// login entry is, so it follows the program if it moved.
#[cfg(target_os = "linux")]
pub fn register_on_linux(data_dir: Option<&std::path::Path>) -> Result<(), String> {
    use std::process::Command;
    let program = std::env::var_os("APPIMAGE").map(std::path::PathBuf::from).map_or_else(std::env::current_exe, Ok).map_err(|e| e.to_string())?;
    let mut exec = vec![desktop_entry_argument(&program)?];
    if let Some(dir) = data_dir {
        exec.extend(["--data-dir".to_string(), desktop_entry_argument(dir)?]);
    }
    let mime_types: String = SCHEMES.iter().map(|s| format!("x-scheme-handler/{s};")).collect();
    let entry = format!(
        "[Desktop Entry]\nType=Application\nName=Pension Wallet\nExec={} %u\nMimeType={mime_types}\nNoDisplay=true\nTerminal=false\n",
        exec.join(" ")
    );
    let folder = dirs::data_dir().ok_or("no data folder")?.join("applications");
    std::fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
    let written = folder.join(format!("{HANDLER_ENTRY}.new"));
    std::fs::write(&written, entry).and_then(|()| std::fs::rename(&written, folder.join(HANDLER_ENTRY))).map_err(|e| e.to_string())?;
    for scheme in SCHEMES {
        let mime = format!("x-scheme-handler/{scheme}");
        if scheme == OFFER_SCHEME {
            let current = Command::new("xdg-mime").args(["query", "default", &mime]).output().map_err(|e| format!("xdg-mime: {e}"))?;
            let current = String::from_utf8_lossy(&current.stdout).trim().to_string();
            if !current.is_empty() && current != HANDLER_ENTRY {
                tracing::info!(handler = current, "offer links stay with the program the owner chose for them");
                continue;
            }
        }
        let status = Command::new("xdg-mime").args(["default", HANDLER_ENTRY, &mime]).status().map_err(|e| format!("xdg-mime: {e}"))?;
        if !status.success() {
            return Err(format!("xdg-mime default {mime}: {status}"));
        }
    }
    Ok(())
}

/// One argument of a desktop entry's Exec line (the Desktop Entry
/// Specification's quoting): in double quotes when it holds a reserved
/// character; refused when it holds one that would need escaping twice.
#[cfg(target_os = "linux")]
pub(crate) fn desktop_entry_argument(path: &std::path::Path) -> Result<String, String> {
    let text = path.to_str().ok_or("a path that is not UTF-8")?;
    if text.contains(['"', '`', '$', '\\', '%', '\n', '\r']) {
        return Err(format!("{text:?} cannot be named in a desktop entry"));
    }
    let reserved = text.contains([' ', '\t', '\'', '>', '<', '~', '|', '&', ';', '*', '?', '#', '(', ')']);
    Ok(if reserved { format!("\"{text}\"") } else { text.to_string() })
}

/// A page that opens links in a loop must not keep the window jumping
/// under the owner's hands: one link at most in this time. Links that come
/// sooner are held, the latest replacing the others, and shown once it has
/// passed: the last link the owner opened is the one she sees.
pub const LINK_GAP: Duration = Duration::from_secs(1);

/// The link the window has yet to show, and the window's subscription.
#[derive(Default)]
pub struct Links {
    pending: Option<OpenedLink>,
    /// A link that came within [`LINK_GAP`] of the last one shown.
    held: Option<OpenedLink>,
    window: Option<Channel<OpenedLink>>,
    last: Option<Instant>,
}

impl Links {
    /// A link arrived: to the open window at once, else kept (the latest
    /// one wins) for the window to take when it next subscribes. One that
    /// comes too soon after the last is held instead: `Some(when)` asks the
    /// caller to [`Links::release`] it then (asked once per held link, the
    /// later ones replace it).
    pub fn opened(&mut self, link: OpenedLink, now: Instant) -> Option<Instant> {
        match self.gap_ends(now) {
            Some(when) => self.held.replace(link).is_none().then_some(when),
            None => {
                self.show(link, now);
                None
            }
        }
    }

    /// Shows the held link, once [`LINK_GAP`] has passed since the last
    /// one; `Some(when)` if it has not yet.
    pub fn release(&mut self, now: Instant) -> Option<Instant> {
        let link = self.held.take()?;
        match self.gap_ends(now) {
            Some(when) => {
                self.held = Some(link);
                Some(when)
            }
            None => {
                self.show(link, now);
                None
            }
        }
    }

    /// When the gap after the last link shown ends, if it has not by `now`.
    fn gap_ends(&self, now: Instant) -> Option<Instant> {
        self.last.map(|last| last + LINK_GAP).filter(|&end| now < end)
    }

    fn show(&mut self, link: OpenedLink, now: Instant) {
        self.last = Some(now);
        let sent = self.window.as_ref().is_some_and(|w| w.send(link.clone()).is_ok());
        if !sent {
            self.pending = Some(link);
        }
    }

    /// The unlocked window subscribes, and gets any link waiting for it.
    pub fn subscribe(&mut self, window: Channel<OpenedLink>) {
        if let Some(link) = self.pending.take() {
            if window.send(link.clone()).is_err() {
                self.pending = Some(link);
            }
        }
        self.window = Some(window);
    }

    /// Locked or closed: links wait until the owner unlocks again.
    pub fn unsubscribe(&mut self) {
        self.window = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_open_offers_and_requests_and_nothing_else() {
        let offer = "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fprovider.example%2Fcredential-offer";
        assert_eq!(parse(offer), Some(OpenedLink::Offer { link: offer.into() }));
        assert_eq!(parse("uma-wallet://request/r-123_abc"), Some(OpenedLink::Request { id: "r-123_abc".into() }));
        for other in [
            "uma-wallet://request/",
            "uma-wallet://request/a%2Fb",
            "uma-wallet://request/a.b",
            "uma-wallet://approve/r-123",
            "https://provider.example/",
            "javascript:alert(1)",
            "not a link",
        ] {
            assert_eq!(parse(other), None, "{other}");
        }
        assert_eq!(parse(&format!("uma-wallet://request/{}", "a".repeat(MAX_REQUEST_ID + 1))), None);
        assert_eq!(parse(&format!("openid-credential-offer://?credential_offer={}", "x".repeat(MAX_LINK))), None);
    }

    /// A channel standing for the window's, recording what it was sent.
    fn window() -> (Channel<OpenedLink>, std::sync::Arc<parking_lot::Mutex<Vec<String>>>) {
        let got = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
        let seen = got.clone();
        let channel = Channel::new(move |body| {
            if let tauri::ipc::InvokeResponseBody::Json(json) = body {
                seen.lock().push(json);
            }
            Ok(())
        });
        (channel, got)
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn desktop_entries_name_paths_as_the_specification_quotes_them() {
        let arg = |p: &str| desktop_entry_argument(std::path::Path::new(p));
        assert_eq!(arg("/opt/wallet/uma-wallet-desktop").unwrap(), "/opt/wallet/uma-wallet-desktop");
        assert_eq!(arg("/home/a/My wallet").unwrap(), "\"/home/a/My wallet\"");
        for refused in ["/home/a/$HOME", "/home/a/50%", "/home/a/\"x\"", "/home/a/a\\b"] {
            assert!(arg(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn a_link_waits_for_the_unlocked_window_and_a_flood_shows_only_its_last() {
        let mut links = Links::default();
        let start = Instant::now();
        let request = |id: &str| OpenedLink::Request { id: id.into() };
        // Locked or closed: it waits; a later one replaces it.
        assert_eq!(links.opened(request("first"), start), None);
        assert_eq!(links.opened(request("second"), start + LINK_GAP), None);
        let (channel, got) = window();
        links.subscribe(channel);
        assert_eq!(got.lock().len(), 1);
        assert!(got.lock()[0].contains("second"));
        // Open: straight to the window.
        assert_eq!(links.opened(request("third"), start + LINK_GAP * 2), None);
        assert!(got.lock()[1].contains("third"));
        // Too soon after: held, the latest replacing the others, and shown
        // once the gap has passed; released early, it waits on.
        let soon = start + LINK_GAP * 2 + Duration::from_millis(10);
        assert_eq!(links.opened(request("flood 1"), soon), Some(start + LINK_GAP * 3));
        assert_eq!(links.opened(request("flood 2"), soon + Duration::from_millis(10)), None, "one release is asked for");
        assert_eq!(got.lock().len(), 2);
        assert_eq!(links.release(soon + Duration::from_millis(20)), Some(start + LINK_GAP * 3));
        assert_eq!(links.release(start + LINK_GAP * 3), None);
        assert_eq!(got.lock().len(), 3);
        assert!(got.lock()[2].contains("flood 2"));
        assert_eq!(links.release(start + LINK_GAP * 4), None, "nothing more is held");
        // Locked again: nothing goes to the old window.
        links.unsubscribe();
        assert_eq!(links.opened(request("later"), start + LINK_GAP * 5), None);
        assert_eq!(got.lock().len(), 3);
        assert_eq!(links.pending, Some(request("later")));
    }
}

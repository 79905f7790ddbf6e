//! Links that open the app on something: a provider's credential offer
//! (`openid-credential-offer://…`, OpenID4VCI 1.0 §4.1) or a request waiting
//! in the inbox (`uma-wallet://request/{id}`). The system hands them to the
//! app (the deep-link plugin; a second start passes them to the first).
//!
//! Any web page can open a link, so a link only ever shows something: the
//! owner accepts, declines or decides on the screen it opens, and the
//! wallet reads an offer only from a provider she already chose (see the
//! wallet's `offer_link.rs`). A link that arrives while the window is
//! locked waits until she unlocks it.

use serde::Serialize;
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

/// The link the window has yet to show, and the window's subscription.
#[derive(Default)]
pub struct Links {
    pending: Option<OpenedLink>,
    window: Option<Channel<OpenedLink>>,
}

impl Links {
    /// A link arrived: to the open window at once, else kept (the latest
    /// one wins) for the window to take when it next subscribes.
    pub fn opened(&mut self, link: OpenedLink) {
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
}

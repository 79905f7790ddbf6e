//! A reference identity service: the wallet's peer that stands for GOV.UK
//! One Login or a bank's identity check, a real party over HTTP.
//!
//! A person proves who they are by signing in with a one-time code sent to
//! their email address (in the reference, the "email" is a JSON line on the
//! service's standard error, and with `--show-codes` the page shows it
//! too). The service then issues an identity credential to the person's
//! wallet over OpenID4VCI 1.0 with the authorization code flow and PKCE:
//! an SD-JWT VC ([`sd_jwt_vc`]) with given name, family name, birth date,
//! address and National Insurance number, each selectively disclosable,
//! bound to the wallet's key (`cnf`).
//!
//! - [`login`]: `/authorize`, the sign-in pages, the redirect with a code.
//! - [`issuance`]: metadata, `/token`, `/nonce`, `/credential`.
//!
//! It also stands for a regulator (the FCA in life): to a person its
//! fixtures list as an authorised financial adviser it issues an adviser
//! credential, signed with the regulator's own key and naming the regulator
//! (`{url}/regulator`) as issuer, so that the governance registry can list
//! the regulator apart from the identity service.

pub mod issuance;
pub mod login;
pub mod person;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use sd_jwt_vc::{ADVISER_VCT, IDENTITY_VCT};
/// Its configuration id in the issuer metadata, and the scope that asks for it.
pub const IDENTITY_CONFIGURATION: &str = "IdentityCredential";
pub const IDENTITY_SCOPE: &str = "identity_credential";
pub const ADVISER_CONFIGURATION: &str = "AdviserCredential";
pub const ADVISER_SCOPE: &str = "adviser_credential";
/// The public clients this service knows: wallets, which receive the
/// authorization code on a loopback redirect (RFC 8252 §7.3).
pub const WALLET_CLIENT_ID: &str = "uma-wallet";

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Address {
    pub street_address: String,
    pub locality: String,
    pub postal_code: String,
    pub country: String,
}

/// A person whose identity this service has checked.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Person {
    pub email: String,
    pub given_name: String,
    pub family_name: String,
    /// ISO 8601 date.
    pub birthdate: String,
    pub address: Address,
    pub national_insurance_number: String,
    /// Set for an authorised financial adviser: what the regulator vouches for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adviser: Option<Adviser>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Adviser {
    /// The firm the adviser works for.
    pub firm: String,
    /// The regulator's reference for the adviser.
    pub reference: String,
    /// What the adviser is authorised as, in words.
    pub authorisation: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct People {
    pub service_name: String,
    #[serde(default = "default_regulator_name")]
    pub regulator_name: String,
    pub people: Vec<Person>,
}

fn default_regulator_name() -> String {
    "Reference Financial Conduct Regulator".into()
}

impl People {
    pub const BUILT_IN: &'static str = include_str!("../fixtures/people.json");

    /// The built-in people (`builtin`) or a JSON file of the same shape.
    pub fn load(source: &str) -> Result<People, String> {
        let text = if source == "builtin" {
            Self::BUILT_IN.to_string()
        } else {
            std::fs::read_to_string(source).map_err(|e| format!("cannot read {source}: {e}"))?
        };
        serde_json::from_str(&text).map_err(|e| format!("{source}: {e}"))
    }
}

/// Short-lived, single-use values keyed by a random string (login
/// sessions, codes, tokens, nonces), capped in number: anyone can start a
/// sign-in or ask for a nonce, and none of them may grow this without bound.
pub struct Expiring<T> {
    entries: HashMap<String, (Instant, T)>,
    /// Keys in the order they were stored, for dropping the oldest.
    order: std::collections::VecDeque<String>,
    ttl: Duration,
    max: usize,
    /// When full: drop the oldest (what anonymous callers fill: a flood
    /// then only shortens everyone's window) or refuse (what only a
    /// signed-in person creates).
    evict_oldest: bool,
}

impl<T> Expiring<T> {
    pub fn new(ttl: Duration, max: usize) -> Expiring<T> {
        Expiring { entries: HashMap::new(), order: Default::default(), ttl, max, evict_oldest: false }
    }

    /// The same, dropping the oldest entry when full instead of refusing.
    pub fn evicting(ttl: Duration, max: usize) -> Expiring<T> {
        Expiring { evict_oldest: true, ..Expiring::new(ttl, max) }
    }

    /// Stores `value` under `key`; `false` when full of live entries (and
    /// not evicting).
    pub fn insert(&mut self, key: String, value: T) -> bool {
        let now = Instant::now();
        while self.entries.len() >= self.max {
            // Keys already taken out leave stale names in `order`.
            let Some(oldest) = self.order.pop_front() else { break };
            match self.entries.get(&oldest) {
                Some((until, _)) if *until > now && !self.evict_oldest => {
                    self.order.push_front(oldest);
                    return false;
                }
                Some(_) => {
                    self.entries.remove(&oldest);
                }
                None => {}
            }
        }
        if self.order.len() > 2 * self.max {
            let entries = &self.entries;
            self.order.retain(|k| entries.contains_key(k));
        }
        self.entries.insert(key.clone(), (now + self.ttl, value));
        self.order.push_back(key);
        true
    }

    /// The live value under `key`, taken out: each is used once.
    pub fn take(&mut self, key: &str) -> Option<T> {
        let (until, value) = self.entries.remove(key)?;
        (until > Instant::now()).then_some(value)
    }

    /// The live value under `key`, left in place.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut T> {
        let now = Instant::now();
        self.entries.get_mut(key).filter(|(until, _)| *until > now).map(|(_, value)| value)
    }

    pub fn remove(&mut self, key: &str) {
        self.entries.remove(key);
    }
}

pub struct IdentityService {
    /// Its base URL: credential issuer identifier and authorization server issuer.
    pub url: String,
    pub people: People,
    pub key: sd_jwt_vc::IssuerKey,
    /// The regulator's key: it signs adviser credentials.
    pub regulator_key: sd_jwt_vc::IssuerKey,
    /// Show the one-time code on the sign-in page (reference only: it
    /// stands for reading one's email).
    pub show_codes: bool,
    pub logins: Mutex<Expiring<login::Login>>,
    /// Authorization code → who signed in, for which client and redirect.
    pub codes: Mutex<Expiring<login::Grant>>,
    /// Access token → who may collect a credential.
    pub tokens: Mutex<Expiring<usize>>,
    pub nonces: Mutex<Expiring<()>>,
    /// Wrong codes per person, across sign-ins ([`login::Failures`]).
    pub failures: Mutex<login::Failures>,
    /// The one-time codes sent, newest last (the reference's mailbox, also
    /// written to standard error); the last hundred are kept.
    outbox: Mutex<std::collections::VecDeque<(String, String)>>,
}

impl IdentityService {
    pub fn new(url: String, people: People, show_codes: bool) -> IdentityService {
        IdentityService {
            url,
            people,
            key: sd_jwt_vc::IssuerKey::generate(),
            regulator_key: sd_jwt_vc::IssuerKey::generate(),
            show_codes,
            logins: Mutex::new(Expiring::evicting(Duration::from_secs(600), 10_000)),
            codes: Mutex::new(Expiring::new(Duration::from_secs(60), 1000)),
            tokens: Mutex::new(Expiring::new(Duration::from_secs(300), 1000)),
            nonces: Mutex::new(Expiring::evicting(Duration::from_secs(300), 10_000)),
            failures: Mutex::default(),
            outbox: Mutex::default(),
        }
    }

    /// The regulator's issuer identifier: the `iss` of adviser credentials.
    pub fn regulator_url(&self) -> String {
        format!("{}/regulator", self.url)
    }

    /// Sends a one-time code to a person's email address: here, a JSON line
    /// on standard error and the outbox.
    pub fn send_code(&self, email: &str, code: &str) {
        eprintln!("{}", serde_json::json!({ "event": "one_time_code", "to": email, "code": code }));
        let mut outbox = self.outbox.lock();
        if outbox.len() >= 100 {
            outbox.pop_front();
        }
        outbox.push_back((email.to_string(), code.to_string()));
    }

    /// The latest code sent to `email`: what its owner reads in their mail.
    pub fn latest_code_for(&self, email: &str) -> Option<String> {
        self.outbox.lock().iter().rev().find(|(to, _)| to.eq_ignore_ascii_case(email)).map(|(_, code)| code.clone())
    }
}

pub fn router(service: Arc<IdentityService>) -> axum::Router {
    use axum::http::StatusCode;
    axum::Router::new()
        .merge(login::routes())
        .merge(issuance::routes())
        .fallback(|| async { (StatusCode::NOT_FOUND, axum::Json(serde_json::json!({ "error": "not_found" }))) })
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(service)
}

/// Starts a reference identity service with the built-in people on a
/// loopback port of this process (tests and benchmarks run it so).
pub async fn spawn_local() -> Arc<IdentityService> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    let service = Arc::new(IdentityService::new(url, People::load("builtin").expect("built-in people"), false));
    let app = router(service.clone());
    tokio::spawn(async move {
        let _ = http_guard::inbound::serve(listener, app, http_guard::inbound::Limits::default(), std::future::pending()).await;
    });
    service
}

/// A random URL-safe string of 32 bytes of entropy.
pub fn random_token() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).expect("OS random generator");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// An OAuth error body (RFC 6749 §5.2, OpenID4VCI §8.3.1.2).
pub fn oauth_error(status: axum::http::StatusCode, error: &str, description: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    let body: Value = serde_json::json!({ "error": error, "error_description": description });
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_anonymous_callers_fill_drops_its_oldest_and_the_rest_refuses_when_full() {
        let mut nonces = Expiring::evicting(Duration::from_secs(60), 3);
        for i in 0..5 {
            assert!(nonces.insert(format!("n{i}"), ()));
        }
        assert!(nonces.take("n0").is_none() && nonces.take("n1").is_none(), "the oldest went");
        assert!(nonces.take("n4").is_some());
        let mut tokens = Expiring::new(Duration::from_secs(60), 2);
        assert!(tokens.insert("a".into(), 1) && tokens.insert("b".into(), 2));
        assert!(!tokens.insert("c".into(), 3), "full of live tokens: refused, nothing dropped");
        assert_eq!(tokens.take("a"), Some(1));
        assert!(tokens.insert("c".into(), 3), "room again once one is used");
    }
}

//! Signing in: the authorization endpoint of the code flow (RFC 6749 §4.1,
//! PKCE S256 required, RFC 7636), a sign-in with a one-time code, and the
//! redirect back to the wallet on loopback (RFC 8252 §7.3) with the code,
//! the `state` and this service's `iss` (RFC 9207).
//!
//! Until the client and its redirect URI are known good, errors are shown
//! on this service's own page and never redirected (RFC 6749 §4.1.2.1).
//! The wallet's redirect URI is its registered one, `http://127.0.0.1/callback`
//! (or `[::1]`), on any port (RFC 8252 §7.3).
//!
//! Guessing a code is bounded twice: a sign-in allows five wrong codes and
//! three codes sent, and a person allows ten wrong codes an hour across
//! all sign-ins ([`Failures`]), after which no code signs them in until
//! the hour is over. Unknown email addresses get the same answer as known
//! ones.

use crate::{random_token, IdentityService, ADVISER_CONFIGURATION, ADVISER_SCOPE, IDENTITY_CONFIGURATION, IDENTITY_SCOPE, WALLET_CLIENT_ID};
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use std::sync::Arc;
use url::Url;

const MAX_CODE_TRIES: u8 = 5;
const MAX_CODES_SENT: u8 = 3;
const MAX_FAILURES_PER_HOUR: u32 = 10;
const FAILURE_WINDOW: std::time::Duration = std::time::Duration::from_secs(3600);
/// Longer redirect URIs and states are refused: nothing legitimate needs more.
const MAX_REDIRECT_URI: usize = 200;
const MAX_STATE: usize = 512;

/// Wrong codes per person in the current hour: bounded by the number of
/// people, since only codes sent to a registered person count.
#[derive(Default)]
pub struct Failures {
    by_person: std::collections::HashMap<usize, (std::time::Instant, u32)>,
}

impl Failures {
    fn locked(&self, person: usize) -> bool {
        self.by_person.get(&person).is_some_and(|(since, count)| since.elapsed() < FAILURE_WINDOW && *count >= MAX_FAILURES_PER_HOUR)
    }

    fn record(&mut self, person: usize) {
        let entry = self.by_person.entry(person).or_insert((std::time::Instant::now(), 0));
        if entry.0.elapsed() >= FAILURE_WINDOW {
            *entry = (std::time::Instant::now(), 0);
        }
        entry.1 += 1;
    }
}

/// A sign-in under way.
pub struct Login {
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    code_challenge: String,
    /// The person the email address named, if any.
    person: Option<usize>,
    one_time_code: Option<String>,
    tries: u8,
    codes_sent: u8,
}

/// What an authorization code stands for.
pub struct Grant {
    pub person: usize,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
}

pub fn routes() -> Router<Arc<IdentityService>> {
    Router::new()
        .route("/authorize", get(authorize))
        .route("/login", post(login))
        .route("/verify", post(verify))
        .route("/cancel", post(cancel))
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    scope: Option<String>,
    authorization_details: Option<String>,
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".into(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '"' => "&quot;".into(),
            '\'' => "&#39;".into(),
            c => c.to_string(),
        })
        .collect()
}

fn page(service: &IdentityService, status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – {service_name}</title>
<style>
body {{ font: 1.125rem/1.5 system-ui, sans-serif; max-width: 36rem; margin: 2rem auto; padding: 0 1rem; color: #0b0c0c; }}
label {{ display: block; font-weight: 600; margin-top: 1rem; }}
input {{ font: inherit; padding: .5rem; width: 100%; box-sizing: border-box; border: 2px solid #0b0c0c; }}
button {{ font: inherit; margin-top: 1rem; padding: .5rem 1.25rem; border: 0; background: #00703c; color: #fff; cursor: pointer; }}
button.secondary {{ background: #f3f2f1; color: #0b0c0c; border: 2px solid #0b0c0c; }}
:focus-visible {{ outline: 3px solid #fd0; outline-offset: 0; box-shadow: 0 0 0 6px #0b0c0c; }}
.error {{ color: #d4351c; font-weight: 600; }}
.code {{ font-size: 1.5rem; letter-spacing: .2em; background: #f3f2f1; padding: .5rem; }}
</style></head>
<body><main><p>{service_name}</p><h1>{title}</h1>{body}</main></body></html>"#,
        title = escape(title),
        service_name = escape(&service.people.service_name),
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"),
    );
    response
}

fn problem(service: &IdentityService, status: StatusCode, text: &str) -> Response {
    page(service, status, "Something went wrong", &format!("<p>{}</p><p>Go back to your wallet and start again.</p>", escape(text)))
}

/// A redirect URI this service will send a code to: the wallet's registered
/// one, plain http on a loopback IP literal at `/callback` (a native app's,
/// RFC 8252 §7.3), on any port.
fn loopback_redirect(text: &str) -> Option<Url> {
    if text.len() > MAX_REDIRECT_URI {
        return None;
    }
    let url = Url::parse(text).ok()?;
    if url.path() != "/callback" || url.query().is_some() {
        return None;
    }
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    };
    (url.scheme() == "http" && loopback && url.fragment().is_none() && url.username().is_empty() && url.password().is_none()).then_some(url)
}

fn redirect_with(service: &IdentityService, redirect_uri: &str, state: Option<&str>, pairs: &[(&str, &str)]) -> Response {
    let Some(mut url) = loopback_redirect(redirect_uri) else {
        return problem(service, StatusCode::BAD_REQUEST, "The address to return to is not allowed.");
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in pairs {
            query.append_pair(name, value);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", &service.url);
    }
    Redirect::to(url.as_str()).into_response()
}

/// Does the request ask for a credential issued here (identity or
/// adviser), by scope or by `authorization_details` (OpenID4VCI §5.1)?
fn asks_for_a_credential(query: &AuthorizeQuery) -> bool {
    let by_scope = query.scope.as_deref().is_some_and(|s| s.split(' ').any(|s| s == IDENTITY_SCOPE || s == ADVISER_SCOPE));
    let by_details = query.authorization_details.as_deref().and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok()).is_some_and(|d| {
        d.as_array().is_some_and(|list| {
            list.iter().any(|entry| {
                entry["type"] == "openid_credential"
                    && (entry["credential_configuration_id"] == IDENTITY_CONFIGURATION || entry["credential_configuration_id"] == ADVISER_CONFIGURATION)
            })
        })
    });
    by_scope || by_details
}

async fn authorize(State(service): State<Arc<IdentityService>>, Query(query): Query<AuthorizeQuery>) -> Response {
    if query.client_id.as_deref() != Some(WALLET_CLIENT_ID) {
        return problem(&service, StatusCode::BAD_REQUEST, "The app that sent you here is not one this service knows.");
    }
    let Some(redirect_uri) = query.redirect_uri.clone().filter(|r| loopback_redirect(r).is_some()) else {
        return problem(&service, StatusCode::BAD_REQUEST, "The address to return to is not allowed.");
    };
    let state = query.state.as_deref();
    if query.response_type.as_deref() != Some("code") {
        return redirect_with(&service, &redirect_uri, state, &[("error", "unsupported_response_type")]);
    }
    let challenge = query.code_challenge.clone().filter(|c| (43..=128).contains(&c.len()));
    let (Some(code_challenge), Some("S256")) = (challenge, query.code_challenge_method.as_deref()) else {
        return redirect_with(
            &service,
            &redirect_uri,
            state,
            &[("error", "invalid_request"), ("error_description", "PKCE with S256 is required")],
        );
    };
    if !asks_for_a_credential(&query) {
        return redirect_with(&service, &redirect_uri, state, &[("error", "invalid_scope")]);
    }
    let session = random_token();
    let login = Login {
        client_id: WALLET_CLIENT_ID.into(),
        redirect_uri,
        state: query.state.clone().filter(|s| s.len() <= MAX_STATE),
        code_challenge,
        person: None,
        one_time_code: None,
        tries: 0,
        codes_sent: 0,
    };
    if !service.logins.lock().insert(session.clone(), login) {
        return problem(&service, StatusCode::SERVICE_UNAVAILABLE, "Too many people are signing in right now. Try again in a few minutes.");
    }
    page(
        &service,
        StatusCode::OK,
        "Prove who you are",
        &format!(
            r#"<p>Your wallet asked for a record of your verified identity: your name, date of birth, address and National Insurance number. You choose later what your wallet shares, and with whom.</p>
<form method="post" action="/login"><input type="hidden" name="session" value="{session}">
<label for="email">Email address</label><input id="email" name="email" type="email" autocomplete="email" required>
<button type="submit">Send me a code</button></form>
<form method="post" action="/cancel"><input type="hidden" name="session" value="{session}"><button class="secondary" type="submit">Cancel and go back</button></form>"#
        ),
    )
}

#[derive(Deserialize)]
struct LoginForm {
    session: String,
    email: String,
}

fn six_digits() -> String {
    let mut bytes = [0u8; 4];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).expect("OS random generator");
    format!("{:06}", u32::from_le_bytes(bytes) % 1_000_000)
}

async fn login(State(service): State<Arc<IdentityService>>, Form(form): Form<LoginForm>) -> Response {
    let person = service.person(&form.email);
    let code = six_digits();
    {
        let mut logins = service.logins.lock();
        let Some(login) = logins.get_mut(&form.session) else {
            return problem(&service, StatusCode::BAD_REQUEST, "This sign-in has expired.");
        };
        // A new code does not give more tries: it replaces the old one, and
        // a sign-in sends only a few.
        if login.codes_sent >= MAX_CODES_SENT {
            logins.remove(&form.session);
            return problem(&service, StatusCode::FORBIDDEN, "We have sent as many codes as one sign-in allows.");
        }
        login.codes_sent += 1;
        login.person = person;
        login.one_time_code = Some(code.clone());
    }
    if let Some(index) = person {
        service.send_code(&service.people.people[index].email, &code);
    }
    let shown = match (service.show_codes, person) {
        (true, Some(_)) => format!(r#"<p>Reference service only, standing for your email: your code is</p><p class="code">{code}</p>"#),
        _ => String::new(),
    };
    page(&service, StatusCode::OK, "Enter the code we sent you", &code_form(&form.session, &form.email, &shown, None))
}

fn code_form(session: &str, email: &str, shown: &str, error: Option<&str>) -> String {
    let error = error.map(|e| format!(r#"<p class="error" id="code-error">{}</p>"#, escape(e))).unwrap_or_default();
    let described = if error.is_empty() { "" } else { r#" aria-describedby="code-error""# };
    format!(
        r#"<p>If {email} is registered with us, we have sent a six-digit code to it. It works for ten minutes.</p>{shown}{error}
<form method="post" action="/verify"><input type="hidden" name="session" value="{session}">
<label for="code">Code</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{{6}}" required{described}>
<button type="submit">Continue</button></form>"#,
        email = escape(email),
        session = escape(session),
    )
}

#[derive(Deserialize)]
struct VerifyForm {
    session: String,
    code: String,
}

enum Checked {
    /// The right code: the sign-in, taken out.
    SignedIn(Login),
    Wrong { left: u8 },
    /// Too many wrong codes, for this sign-in or for this person this hour.
    Ended,
    Expired,
}

/// Checks a code with the sign-in and the person's failures held together,
/// so concurrent guesses cannot get past either count.
fn check_code(service: &IdentityService, session: &str, code: &str) -> Checked {
    use subtle::ConstantTimeEq;
    let mut logins = service.logins.lock();
    let mut failures = service.failures.lock();
    let Some(login) = logins.get_mut(session) else { return Checked::Expired };
    if login.tries >= MAX_CODE_TRIES || login.person.is_some_and(|p| failures.locked(p)) {
        logins.remove(session);
        return Checked::Ended;
    }
    login.tries += 1;
    let expected = login.one_time_code.clone().unwrap_or_default();
    let right = !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(code.trim().as_bytes()));
    match (right, login.person) {
        (true, Some(_)) => logins.take(session).map(Checked::SignedIn).unwrap_or(Checked::Expired),
        (_, person) => {
            if let Some(person) = person {
                failures.record(person);
            }
            match MAX_CODE_TRIES.saturating_sub(login.tries) {
                0 => {
                    logins.remove(session);
                    Checked::Ended
                }
                left => Checked::Wrong { left },
            }
        }
    }
}

async fn verify(State(service): State<Arc<IdentityService>>, Form(form): Form<VerifyForm>) -> Response {
    match check_code(&service, &form.session, &form.code) {
        Checked::SignedIn(login) => {
            let Some(person) = login.person else {
                return problem(&service, StatusCode::BAD_REQUEST, "This sign-in has expired.");
            };
            let code = random_token();
            let grant = Grant { person, client_id: login.client_id, redirect_uri: login.redirect_uri.clone(), code_challenge: login.code_challenge };
            if !service.codes.lock().insert(code.clone(), grant) {
                return problem(&service, StatusCode::SERVICE_UNAVAILABLE, "Too many people are signing in right now. Try again in a few minutes.");
            }
            redirect_with(&service, &login.redirect_uri, login.state.as_deref(), &[("code", &code)])
        }
        Checked::Expired => problem(&service, StatusCode::BAD_REQUEST, "This sign-in has expired."),
        Checked::Ended => problem(
            &service,
            StatusCode::FORBIDDEN,
            "That code was wrong too many times, so this sign-in has ended. If this was you, wait an hour before trying again.",
        ),
        Checked::Wrong { left } => page(
            &service,
            StatusCode::OK,
            "Enter the code we sent you",
            &code_form(&form.session, "your address", "", Some(&format!("That code is not right. You can try {left} more times."))),
        ),
    }
}

#[derive(Deserialize)]
struct CancelForm {
    session: String,
}

async fn cancel(State(service): State<Arc<IdentityService>>, Form(form): Form<CancelForm>) -> Response {
    let Some(login) = service.logins.lock().take(&form.session) else {
        return problem(&service, StatusCode::BAD_REQUEST, "This sign-in has expired.");
    };
    redirect_with(&service, &login.redirect_uri, login.state.as_deref(), &[("error", "access_denied")])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_ip_literals_over_http_are_redirect_targets() {
        assert!(loopback_redirect("http://127.0.0.1:49152/callback").is_some());
        assert!(loopback_redirect("http://[::1]:8080/callback").is_some());
        let long = format!("http://127.0.0.1:1/callback?{}", "x".repeat(300));
        for refused in [
            "https://127.0.0.1/callback",
            "http://localhost:8080/callback",
            "http://attacker.example/callback",
            "http://10.0.0.1/callback",
            "http://127.0.0.1/callback#fragment",
            "http://user@127.0.0.1/callback",
            "http://127.0.0.1:8080/admin/delete",
            "http://127.0.0.1:8080/callback?then=elsewhere",
            &long,
            "not a url",
        ] {
            assert!(loopback_redirect(refused).is_none(), "{refused}");
        }
    }

    fn service() -> IdentityService {
        IdentityService::new("http://127.0.0.1:1".into(), crate::People::load("builtin").unwrap(), false)
    }

    fn session(service: &IdentityService, code: &str) -> String {
        let session = crate::random_token();
        let login = Login {
            client_id: "uma-wallet".into(),
            redirect_uri: "http://127.0.0.1:1/callback".into(),
            state: None,
            code_challenge: "c".repeat(43),
            person: Some(0),
            one_time_code: Some(code.into()),
            tries: 0,
            codes_sent: 1,
        };
        assert!(service.logins.lock().insert(session.clone(), login));
        session
    }

    #[test]
    fn a_sign_in_ends_after_five_wrong_codes_even_before_the_right_one() {
        let service = service();
        let s = session(&service, "123456");
        for _ in 0..4 {
            assert!(matches!(check_code(&service, &s, "000000"), Checked::Wrong { .. }));
        }
        assert!(matches!(check_code(&service, &s, "000000"), Checked::Ended));
        assert!(matches!(check_code(&service, &s, "123456"), Checked::Expired), "the right code after five wrong ones");
    }

    #[test]
    fn a_person_allows_ten_wrong_codes_an_hour_across_sign_ins() {
        // Before: every new sign-in (or every code sent again) gave five
        // fresh tries, without limit.
        let service = service();
        for _ in 0..2 {
            let s = session(&service, "123456");
            for _ in 0..5 {
                check_code(&service, &s, "000000");
            }
        }
        let s = session(&service, "123456");
        assert!(matches!(check_code(&service, &s, "123456"), Checked::Ended), "locked for the hour, even with the right code");
        // Another person is not affected.
        let other = crate::random_token();
        let mut login = service.logins.lock();
        login.insert(other.clone(), Login {
            client_id: "uma-wallet".into(), redirect_uri: "http://127.0.0.1:1/callback".into(), state: None,
            code_challenge: "c".repeat(43), person: Some(1), one_time_code: Some("654321".into()), tries: 0, codes_sent: 1,
        });
        drop(login);
        assert!(matches!(check_code(&service, &other, "654321"), Checked::SignedIn(_)));
    }

    #[test]
    fn page_text_is_escaped() {
        assert_eq!(escape(r#"<script>"x"&'y'"#), "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;");
    }
}

//! The interactive claims gathering pages (Grant §3.3.2–3.3.3).
//!
//! CSRF protection is a double-submit token: the same random value in an
//! `HttpOnly`, `SameSite=Strict` cookie and in the form, checked against the
//! digest kept with the visit.

use super::Form;
use crate::id::ClientId;
use crate::claims::{GatheringPage, ShowError, StatedClaims};
use crate::server::AuthorizationServer;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use std::collections::HashMap;

const CSRF_COOKIE: &str = "uma_claims_csrf";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}\
label{{display:block;margin-top:1rem}}input,textarea{{width:100%;padding:.4rem;font:inherit}}button{{margin-top:1.2rem;padding:.5rem 1.2rem;font:inherit}}\
.note{{color:#555;font-size:.9rem}}</style></head><body><h1>{title}</h1>{body}</body></html>",
        title = escape(title)
    )
}

fn shown_error(error: ShowError) -> Response {
    let body = format!("<p role=\"alert\">{}</p>", escape(&error.0));
    (StatusCode::BAD_REQUEST, Html(page("This request cannot continue", &body))).into_response()
}

/// Grant §3.3.3 redirects back with 302 Found.
fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::FOUND, [(header::LOCATION, v)]).into_response(),
        Err(_) => shown_error(ShowError("the redirect address is not usable".into())),
    }
}

fn no_cache(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert("content-security-policy", HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"));
    response.headers_mut().insert("x-frame-options", HeaderValue::from_static("DENY"));
    response
}

/// The claims-gathering page (Grant §3.3.2): the requesting party says who
/// they are, or presents a credential, then returns to the client.
#[utoipa::path(
    get,
    path = "/claims",
    params(
        ("client_id" = String, Query, description = "The client sending the party here"),
        ("ticket" = String, Query, description = "The permission ticket of the request"),
        ("claims_redirect_uri" = Option<String>, Query, description = "One of the client's registered claims redirect URIs"),
        ("state" = Option<String>, Query, description = "Returned to the client unchanged"),
    ),
    responses(
        (status = 200, description = "The page", content_type = "text/html", body = String),
        (status = 400, description = "Why the request cannot continue, as a page", content_type = "text/html", body = String),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn show(State(server): State<AuthorizationServer>, Query(q): Query<HashMap<String, String>>) -> Response {
    let (Some(client_id), Some(ticket)) = (q.get("client_id"), q.get("ticket")) else {
        return no_cache(shown_error(ShowError("client_id and ticket are required".into())));
    };
    let started = server.start_gathering(&ClientId::from(client_id.as_str()), ticket, q.get("claims_redirect_uri").map(String::as_str), q.get("state").map(String::as_str));
    let response = match started {
        Err(e) => shown_error(e),
        Ok(visit) => form_page(visit),
    };
    no_cache(response)
}

fn form_page(visit: GatheringPage) -> Response {
    let resources: String = visit.resources.iter().map(|r| format!("<li>{}</li>", escape(r))).collect();
    let body = format!(
        "<p><strong>{client}</strong> asks for access to:</p><ul>{resources}</ul>\
<p class=\"note\">Tell the owner who you are and why you ask. What you write here is shown to the owner as <em>stated by you, not verified</em>.</p>\
<form method=\"post\" action=\"claims\">\
<input type=\"hidden\" name=\"session\" value=\"{session}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<label>Your name<input name=\"name\" autocomplete=\"name\" maxlength=\"200\" required></label>\
<label>Your email<input name=\"email\" type=\"email\" autocomplete=\"email\" maxlength=\"200\" required></label>\
<label>Why you ask<textarea name=\"purpose\" rows=\"3\" maxlength=\"200\"></textarea></label>\
<details><summary>Prove who you are with a credential (optional)</summary>\
<p class=\"note\">If your credential app can prove something about you (for example that you are an authorised financial adviser), \
ask it for a presentation for this page, with the code <code>{session}</code>, and paste it here. The owner then sees what it proves as verified.</p>\
<label>Presentation<textarea name=\"presentation\" rows=\"4\" maxlength=\"16384\"></textarea></label></details>\
<button type=\"submit\">Send to the owner</button></form>",
        client = escape(&visit.client_name),
        session = escape(&visit.session),
        csrf = escape(visit.csrf.expose()),
    );
    let mut response = Html(page("Who is asking?", &body)).into_response();
    let cookie = format!("{CSRF_COOKIE}={}; Path=/claims; HttpOnly; SameSite=Strict; Max-Age=900", visit.csrf.expose());
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The page's form: on success, back to the client's claims redirect URI
/// with a new ticket.
#[utoipa::path(
    post,
    path = "/claims",
    request_body(content = super::openapi::ClaimsForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 302, description = "Back to the client (Grant §3.3.3), with `ticket` and `state`"),
        (status = 400, description = "Why the form cannot be taken, as a page", content_type = "text/html", body = String),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn submit(State(server): State<AuthorizationServer>, headers: HeaderMap, form: Result<Form, crate::error::ProtocolError>) -> Response {
    let Ok(mut form) = form else {
        return no_cache(shown_error(ShowError("the form could not be read".into())));
    };
    let (Some(session), Some(csrf)) = (form.take("session"), form.take("csrf")) else {
        return no_cache(shown_error(ShowError("the form is incomplete; reload the page".into())));
    };
    let stated = StatedClaims {
        name: form.take("name").unwrap_or_default(),
        email: form.take("email").unwrap_or_default(),
        purpose: form.take("purpose").unwrap_or_default(),
    };
    let presentation = form.take("presentation");
    let response = match server.finish_gathering(&session, &csrf, cookie(&headers, CSRF_COOKIE), stated, presentation.as_deref()).await {
        Ok(redirect) => found(&redirect),
        Err(e) => shown_error(e),
    };
    no_cache(response)
}

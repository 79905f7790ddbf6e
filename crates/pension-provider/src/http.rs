//! The provider's HTTP API: find, the owner's resources, the accepted
//! authorization servers.

use crate::find;
use crate::trust::TokenError;
use crate::protection::{AsError, Registration};
use crate::Provider;
use serde::Deserialize;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::Arc;

pub fn router(provider: Arc<Provider>) -> Router {
    Router::new()
        .route("/find", post(find_pensions))
        .route("/resources", get(resources))
        .route("/resources/{id}", post(assign))
        .route("/pensions/{id}", get(view))
        .route("/authorization_servers", get(authorization_servers))
        .merge(crate::issuance::routes())
        .fallback(|| async { (StatusCode::NOT_FOUND, Json(json!({ "error": "not_found" }))) })
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(provider)
}

/// Every refusal of a find token or identity presentation is logged: the
/// reference provider's audit trail (a real one keeps it for six years).
fn unauthorized(error: TokenError) -> Response {
    tracing::warn!(target: "pension_provider::audit", reason = %error, "find refused");
    let status = match error {
        TokenError::KeysUnavailable(_) | TokenError::Busy => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNAUTHORIZED,
    };
    let description = error.to_string();
    let mut response = (status, Json(json!({ "error": "invalid_token", "error_description": description }))).into_response();
    let challenge = format!(r#"Bearer error="invalid_token", error_description="{}""#, description.replace('"', "'"));
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

fn bearer(headers: &HeaderMap) -> Result<&str, TokenError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .ok_or(TokenError::Missing)
}

/// What a find token found, and the authorization server that sent it.
struct Matched {
    resources: Vec<Value>,
    /// The issuer of the find token: the server whose key the identity
    /// presentation, if any, is bound to.
    presenter: String,
    /// The key that signed the find token: the presenting wallet, whatever
    /// address it has today.
    presenter_key: Value,
}

/// Every pension of every member the find token matches, as resources:
/// stated find data can only make possible matches; a verified identity
/// presentation can make a `match-yes`.
async fn matched(provider: &Provider, headers: &HeaderMap) -> Result<Matched, Response> {
    if !provider.find_delay.is_zero() {
        tokio::time::sleep(provider.find_delay).await;
    }
    let token = bearer(headers).map_err(unauthorized)?;
    let verified = provider.registry.verify_find_token(token, &provider.url).await.map_err(unauthorized)?;
    let claims = verified.claims;
    let mut data = claims.find_data.stated();
    if let Some(presentation) = &claims.identity_presentation {
        let attested = provider
            .registry
            .verify_identity(presentation, &verified.signer_key, &provider.url, |nonce| provider.issuer.spend_nonce(nonce))
            .await
            .map_err(unauthorized)?;
        data.attest(&attested);
    }
    let catalogue = &provider.catalogue;
    let registered = provider.registered_at.lock();
    let mut out = Vec::new();
    for (member, status) in find::find(catalogue, &data) {
        for pension in &member.pensions {
            let mut resource = json!({
                "_id": pension.asset_guid,
                "name": catalogue.pei(pension),
                "description": pension.scheme_name,
                "type": "https://pensions.example/pension",
                "resource_scopes": ["owner", "value", "delegate"],
                "match_status": status,
            });
            if let Some(registration) = registered.get(&pension.asset_guid) {
                resource["authorization_server"] = registration.issuer.clone().into();
            }
            if find::proven_name_and_birth(&data, member) {
                resource["employment"] = pension.employment_years();
            }
            out.push(resource);
        }
    }
    Ok(Matched { resources: out, presenter: claims.iss.trim_end_matches('/').to_string(), presenter_key: verified.signer_key })
}

/// `POST /find` with a find token: the matches, and nothing kept.
async fn find_pensions(State(provider): State<Arc<Provider>>, headers: HeaderMap) -> Response {
    match matched(&provider, &headers).await {
        Ok(Matched { resources, .. }) => {
            let matches: Vec<Value> = resources
                .into_iter()
                .map(|r| {
                    let mut found = json!({ "pei": r["name"], "description": r["description"], "match_status": r["match_status"] });
                    if let Some(employment) = r.get("employment") {
                        found["employment"] = employment.clone();
                    }
                    found
                })
                .collect();
            Json(json!({ "provider": provider.catalogue.provider_name, "matches": matches })).into_response()
        }
        Err(response) => response,
    }
}

async fn resources(State(provider): State<Arc<Provider>>, headers: HeaderMap) -> Response {
    match matched(&provider, &headers).await {
        Ok(Matched { resources, .. }) => Json(resources).into_response(),
        Err(response) => response,
    }
}

async fn authorization_servers(State(provider): State<Arc<Provider>>) -> Json<Value> {
    Json(json!(provider.registry.trusted()))
}

fn error(status: StatusCode, code: &str, description: impl Into<String>) -> Response {
    (status, Json(json!({ "error": code, "error_description": description.into() }))).into_response()
}

fn as_failure(e: AsError) -> Response {
    match e {
        AsError::Refused { error: code, description, .. } => {
            error(StatusCode::BAD_REQUEST, "authorization_server_refused", format!("{code}: {description}"))
        }
        other => error(StatusCode::BAD_GATEWAY, "authorization_server_unavailable", other.to_string()),
    }
}

#[derive(Deserialize)]
struct Assign {
    at_as: String,
    assertion: String,
    /// The code this provider sent the member, to move a pension another
    /// authorization server protects.
    #[serde(default)]
    confirmation_code: Option<String>,
}

/// `POST /resources/{id}`: protect this pension with the named authorization
/// server. The owner proves who they are with a find token carrying their
/// identity presentation (only a `match-yes` on attested claims can be
/// assigned) and consents with an assertion minted for this provider by the
/// server named; the provider gets a PAT with it, registers the pension
/// there, and deregisters it at the previous authorization server.
///
/// Which server may be named:
/// - a pension protected nowhere goes only to the server that presented the
///   proof (the find token's issuer, whose key the presentation is bound to);
/// - a pension that server already protects may go to any trusted server:
///   the server that holds it consents by asking (a move);
/// - a pension another server protects goes to the asking server only with
///   the member's confirmation through this provider's own channel: the
///   first request answers `409 confirmation_required` and sends the member
///   a code; the request with `confirmation_code` moves it.
async fn assign(
    State(provider): State<Arc<Provider>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<Assign>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(body)) = body else {
        return error(StatusCode::BAD_REQUEST, "invalid_request", "the body must be JSON with at_as and assertion");
    };
    let Some(resource_server_id) = crate::protection::assertion_subject(&body.assertion) else {
        return error(StatusCode::BAD_REQUEST, "invalid_request", "the assertion names no subject");
    };
    let (owned, presenter, presenter_key) = match matched(&provider, &headers).await {
        Ok(Matched { resources, presenter, presenter_key }) => (resources.into_iter().find(|r| r["_id"] == id.as_str()), presenter, presenter_key),
        Err(response) => return response,
    };
    let Some(resource) = owned else {
        return error(StatusCode::NOT_FOUND, "not_found", "no such pension for this member");
    };
    if resource["match_status"] != "match-yes" {
        return error(
            StatusCode::FORBIDDEN,
            "match_required",
            "only a pension matched on the member's verified identity can be connected; present an identity credential",
        );
    }
    let issuer = body.at_as.trim_end_matches('/').to_string();
    if !provider.registry.trusts_authorization_server(&issuer) {
        return error(StatusCode::BAD_REQUEST, "invalid_request", format!("authorization server {issuer:?} is not accepted here"));
    }
    let previous = provider.registered_at.lock().get(&id).cloned();
    let holder = previous.as_ref().map(|r| r.issuer.clone());
    // The wallet holding it asks, at its address then or at a new one (its
    // key is the same): no one else's consent is needed.
    let same_wallet = previous.as_ref().is_some_and(|r| r.holder_keys.iter().any(|key| sd_jwt_vc::same_key(key, &presenter_key)));
    let held_by_presenter = holder.as_deref() == Some(presenter.as_str()) || same_wallet;
    if !held_by_presenter && issuer != presenter {
        return error(
            StatusCode::FORBIDDEN,
            "wrong_authorization_server",
            "a pension is connected only to the wallet that proved the member's identity",
        );
    }
    if holder.is_some() && !held_by_presenter {
        let pei = resource["name"].as_str().unwrap_or_default();
        match body.confirmation_code.as_deref() {
            None => {
                use crate::confirmation::Issued;
                let code = match provider.confirmations.issue(&id, &presenter) {
                    Issued::Send(code) => code,
                    Issued::OtherMoveWaiting => {
                        return error(StatusCode::CONFLICT, "confirmation_pending", "a move of this pension to another wallet is waiting for the member's confirmation; try again later");
                    }
                    Issued::Locked => {
                        return error(StatusCode::FORBIDDEN, "invalid_confirmation", "too many wrong confirmation codes; try again in fifteen minutes");
                    }
                    Issued::Full => {
                        return error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", "too many confirmations outstanding; try again later");
                    }
                };
                provider.confirmations.send(pei, &presenter, &code);
                return error(
                    StatusCode::CONFLICT,
                    "confirmation_required",
                    "another wallet protects this pension; we have sent you a code to confirm the move, by our usual way of writing to you",
                );
            }
            Some(code) => match provider.confirmations.check(&id, &presenter, code) {
                crate::confirmation::Checked::Confirmed => {}
                crate::confirmation::Checked::Wrong => {
                    return error(StatusCode::FORBIDDEN, "invalid_confirmation", "that confirmation code is not right");
                }
                crate::confirmation::Checked::NoneOutstanding => {
                    return error(StatusCode::FORBIDDEN, "invalid_confirmation", "no confirmation is waiting: ask again for a new code");
                }
            },
        }
    }
    let client = &provider.as_client;
    let endpoints = match client.discover(&issuer).await {
        Ok(e) => e,
        Err(e) => return as_failure(e),
    };
    let pat = match client.pat(&endpoints, &body.assertion).await {
        Ok(p) => p,
        Err(e) => return as_failure(e),
    };
    // The wallet naming itself (at its address then or a new one) still
    // holds the registration it made: it is kept, and with it the owner's
    // rules and grants for it. Asked again for the same address, too: a
    // retry must not register it anew and drop the old one.
    let names_itself = issuer == presenter;
    let kept = match previous.as_ref().filter(|_| same_wallet && names_itself) {
        Some(p) => match client.holds(&endpoints, &pat, &p.as_resource_id).await {
            Ok(true) => Some(p.as_resource_id.clone()),
            Ok(false) => None,
            Err(e) => return as_failure(e),
        },
        None => None,
    };
    let as_resource_id = match kept.clone() {
        Some(id) => id,
        None => {
            let description = json!({
                "name": resource["name"],
                "description": resource["description"],
                "type": resource["type"],
                "resource_scopes": resource["resource_scopes"],
            });
            match client.register(&endpoints, &pat, &description).await {
                Ok(id) => id,
                Err(e) => return as_failure(e),
            }
        }
    };
    // The holder is known by its key from now on: the key that asked, if
    // the wallet named itself; in a move, the keys the new wallet publishes
    // (the key that asked is the old holder's).
    let holder_keys = if names_itself {
        vec![presenter_key]
    } else {
        match provider.registry.wallet_keys(&issuer, false).await {
            Ok(set) => set["keys"].as_array().cloned().unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %e, issuer, "the new holder's keys could not be read: it will need the member's confirmation at a new address");
                Vec::new()
            }
        }
    };
    let registration = Registration { issuer: issuer.clone(), as_resource_id, resource_server_id, holder_keys, pat, endpoints };
    let previous = provider.registered_at.lock().insert(id.clone(), registration.clone());
    let moved_away = |p: &Registration| kept.is_none() && (p.issuer != issuer || p.as_resource_id != registration.as_resource_id);
    if let Some(previous) = previous.filter(moved_away) {
        if let Err(e) = client.deregister(&previous).await {
            tracing::warn!(error = %e, issuer = previous.issuer, "could not deregister at the previous authorization server");
        }
    }
    let subject = crate::issuance::Subject {
        pei: resource["name"].as_str().unwrap_or_default().into(),
        scheme: resource["description"].as_str().unwrap_or_default().into(),
        authorization_server: issuer.clone(),
    };
    Json(json!({
        "resource_id": id,
        "pei": resource["name"],
        "authorization_server": issuer,
        "as_resource_id": registration.as_resource_id,
        "credential_offer": provider.issuer.offer(&provider.url, subject),
    }))
    .into_response()
}

#[derive(Deserialize)]
struct ViewQuery {
    /// `value` asks for benefit illustrations as well as administrative data.
    #[serde(default)]
    include: Option<String>,
}

/// The UMA challenge: a fresh ticket for these scopes (Grant §3.2).
async fn challenge(provider: &Provider, registration: &Registration, scopes: &[&str]) -> Response {
    match provider.as_client.ticket(registration, scopes).await {
        Ok(ticket) => {
            let value = format!(r#"UMA realm="pension-provider", as_uri="{}", ticket="{}""#, registration.issuer, ticket);
            let mut response = error(StatusCode::UNAUTHORIZED, "uma_ticket", "present an RPT from the authorization server");
            if let Ok(v) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            response
        }
        Err(e) => {
            tracing::warn!(error = %e, "no permission ticket");
            let mut response = error(StatusCode::FORBIDDEN, "authorization_server_unreachable", e.to_string());
            response.headers_mut().insert(header::WARNING, HeaderValue::from_static(r#"199 - "UMA Authorization Server Unreachable""#));
            response
        }
    }
}

/// `GET /pensions/{id}`: PDP view data, protected by UMA. `owner` shows the
/// administrative data; `value` adds the benefit illustrations.
async fn view(State(provider): State<Arc<Provider>>, Path(id): Path<String>, Query(q): Query<ViewQuery>, headers: HeaderMap) -> Response {
    let catalogue = &provider.catalogue;
    let found = catalogue.members.iter().find_map(|m| m.pensions.iter().find(|p| p.asset_guid == id).map(|p| (m, p)));
    let registration = provider.registered_at.lock().get(&id).cloned();
    let (Some((member, pension)), Some(registration)) = (found, registration) else {
        return error(StatusCode::NOT_FOUND, "not_found", "no pension protected under this id");
    };
    let wanted: Vec<&str> = if q.include.as_deref() == Some("value") { vec!["owner", "value"] } else { vec!["owner"] };
    let Ok(rpt) = bearer(&headers) else {
        return challenge(&provider, &registration, &wanted).await;
    };
    let granted = match provider.granted_scopes(&registration, rpt).await {
        Ok(Some(scopes)) => scopes,
        Ok(None) => return challenge(&provider, &registration, &wanted).await,
        Err(e) => return as_failure(e),
    };
    if !wanted.iter().all(|w| granted.iter().any(|g| g == w)) {
        return challenge(&provider, &registration, &wanted).await;
    }
    let mut data = pension.administrative_data(catalogue, member);
    if granted.iter().any(|g| g == "value") && wanted.contains(&"value") {
        data["benefitIllustrations"] = pension.value_data();
    }
    Json(json!({ "provider": catalogue.provider_name, "scopes": granted, "pension": data })).into_response()
}

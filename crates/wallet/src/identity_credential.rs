//! The owner's identity credential: an SD-JWT VC from an identity service
//! (the reference one in `crates/identity-service`, in life GOV.UK One
//! Login or a bank), received over OpenID4VCI 1.0 with the authorization
//! code flow, and presented, a few claims at a time, to pension providers.
//!
//! Signing in happens in the owner's browser. The wallet is a native app
//! (RFC 8252): it listens once on a loopback port for the redirect, sends
//! PKCE S256, checks `state` and the `iss` of the answer (RFC 9207), and
//! binds the credential to its own signing key with a key proof whose
//! `jwk` header carries the public key. The credential is stored only if
//! its issuer's signature (keys from the issuer's `/.well-known/jwt-vc-issuer`,
//! on its origin), its times, its disclosures, and its holder key (this
//! wallet's) all check.
//!
//! Holder binding to the wallet's authorization-server key is deliberate:
//! a provider that sees a presentation inside a find token signed by the
//! same key knows the authorization server asking is the person's own.

use axum::extract::Query;
use axum::response::{Html, IntoResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http_guard::outbound::{on_origin, secure_url, send_json};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::sync::oneshot;
use uma_as::keys::TokenType;
use uma_as::store::Tree;
use crate::OwnerError;
use uma_as::{AuthorizationServer, Store};

/// The client id wallets have at identity services (a public client).
pub const CLIENT_ID: &str = "uma-wallet";
pub const CONFIGURATION: &str = "IdentityCredential";
pub const SCOPE: &str = "identity_credential";
const PROOF_TYPE: &str = "openid4vci-proof+jwt";
const KEY: &str = "current";
const MAX_ANSWER: usize = 256 * 1024;
/// How long the owner has to sign in before the wallet stops listening.
pub const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(600);

/// What a pension provider needs to find the owner's pensions (PDP find
/// data), and no more: not the street address, not the country.
pub const FIND_DISCLOSURES: [&str; 5] = ["/given_name", "/family_name", "/birthdate", "/address/postal_code", "/national_insurance_number"];

/// The identity credential the wallet holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HeldIdentity {
    pub issuer: String,
    /// The issuer's display name, from its metadata.
    #[serde(default)]
    pub issuer_name: Option<String>,
    /// The SD-JWT VC as issued (issuer JWT and every disclosure).
    pub credential: String,
    pub received_at: i64,
    pub expires_at: i64,
}

/// What the identity credential attests, for the owner to see.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct IdentitySummary {
    pub issuer: String,
    pub issuer_name: Option<String>,
    pub received_at: i64,
    pub expires_at: i64,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub birthdate: Option<String>,
    pub postal_code: Option<String>,
    pub national_insurance_number: Option<String>,
}

/// A sign-in under way: the page to open, and the loopback listener that
/// will receive the answer.
pub struct SignIn {
    /// Where the owner signs in (open it in the system browser).
    pub authorize_url: String,
    endpoints: Endpoints,
    redirect_uri: String,
    verifier: String,
    state: String,
    callback: oneshot::Receiver<Callback>,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for SignIn {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

#[derive(Clone, Debug)]
struct Endpoints {
    issuer: String,
    issuer_name: Option<String>,
    token: String,
    credential: String,
    nonce: String,
    /// The service says its answers carry `iss` (RFC 9207): then one
    /// without it is refused.
    sends_iss: bool,
}

#[derive(Debug, Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Where the owner's latest sign-in stands.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SignInStatus {
    #[default]
    None,
    /// Waiting for the owner to sign in at `authorize_url`.
    Waiting { issuer: String, authorize_url: String },
    Failed { issuer: String, error: String },
    Finished { issuer: String },
}

#[derive(Default)]
struct SignInTask {
    status: SignInStatus,
    task: Option<tokio::task::AbortHandle>,
    /// Which sign-in the status is about: a replaced one never writes it.
    generation: u64,
}

#[derive(Clone)]
pub struct IdentityCredential {
    server: AuthorizationServer,
    held: Tree<HeldIdentity>,
    http: reqwest::Client,
    /// The one sign-in that may be under way.
    sign_in: std::sync::Arc<parking_lot::Mutex<SignInTask>>,
}

fn internal(why: impl std::fmt::Display) -> OwnerError {
    OwnerError::internal(format!("identity credential: {why}"))
}

fn random() -> String {
    URL_SAFE_NO_PAD.encode(uma_as::secret::random_bytes::<32>())
}

impl IdentityCredential {
    pub fn open(store: &Store, server: AuthorizationServer, http: reqwest::Client) -> Result<IdentityCredential, uma_as::StoreError> {
        Ok(IdentityCredential { server, held: store.tree("identity_credential")?, http, sign_in: Default::default() })
    }

    /// Starts signing in at `issuer` and finishes in the background: the
    /// owner opens the returned page; [`IdentityCredential::sign_in_status`]
    /// tells how it went. A new sign-in replaces one under way.
    pub async fn start_sign_in(&self, issuer: &str) -> Result<String, OwnerError> {
        let sign_in = self.begin(issuer).await?;
        let authorize_url = sign_in.authorize_url.clone();
        let issuer = sign_in.endpoints.issuer.clone();
        let mut current = self.sign_in.lock();
        if let Some(previous) = current.task.take() {
            previous.abort();
        }
        current.generation += 1;
        current.status = SignInStatus::Waiting { issuer: issuer.clone(), authorize_url: authorize_url.clone() };
        let generation = current.generation;
        let this = self.clone();
        let task = tokio::spawn(async move {
            let status = match this.finish(sign_in, SIGN_IN_TIMEOUT).await {
                Ok(_) => SignInStatus::Finished { issuer },
                Err(e) => {
                    // A credential refused (forged, wrongly bound, another
                    // issuer's) is kept out and the refusal audited.
                    this.server.record("identity.credential.refused", json!({ "issuer": issuer, "reason": e.to_string() }));
                    SignInStatus::Failed { issuer, error: e.to_string() }
                }
            };
            let mut current = this.sign_in.lock();
            if current.generation == generation {
                current.status = status;
                current.task = None;
            }
        });
        current.task = Some(task.abort_handle());
        Ok(authorize_url)
    }

    pub fn sign_in_status(&self) -> SignInStatus {
        self.sign_in.lock().status.clone()
    }

    /// The credential held, if any and still valid.
    pub fn held(&self) -> Result<Option<HeldIdentity>, OwnerError> {
        let now = self.server.now();
        Ok(self.held.get(KEY)?.filter(|h| h.expires_at > now))
    }

    /// What the held credential attests, read from it.
    pub fn summary(&self) -> Result<Option<IdentitySummary>, OwnerError> {
        let Some(held) = self.held()? else { return Ok(None) };
        let claims = sd_jwt_vc::unverified_claims(&held.credential).unwrap_or_default();
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(String::from);
        Ok(Some(IdentitySummary {
            issuer: held.issuer,
            issuer_name: held.issuer_name,
            received_at: held.received_at,
            expires_at: held.expires_at,
            given_name: text(claims.get("given_name")),
            family_name: text(claims.get("family_name")),
            birthdate: text(claims.get("birthdate")),
            postal_code: text(claims.get("address").and_then(|a| a.get("postal_code"))),
            national_insurance_number: text(claims.get("national_insurance_number")),
        }))
    }

    pub async fn forget(&self) -> Result<bool, OwnerError> {
        let removed = self.held.remove(KEY)?;
        if removed {
            self.server.record("identity.credential.delete", json!({}));
            self.server.flush_owner_decision().await?;
        }
        Ok(removed)
    }

    async fn get_json(&self, issuer: &str, url: &str) -> Result<Value, OwnerError> {
        let (status, body) = send_json::<Value>(self.http.get(url), MAX_ANSWER).await.map_err(|e| OwnerError::identity_service(issuer, e))?;
        if !status.is_success() {
            return Err(OwnerError::identity_service(issuer, format!("{url}: HTTP {status}")));
        }
        Ok(body)
    }

    /// The issuer's endpoints from its metadata, every one on its origin.
    /// And the authorization endpoint, where the owner signs in.
    async fn discover(&self, issuer: &str) -> Result<(Endpoints, String), OwnerError> {
        let origin = secure_url(issuer).map_err(|e| OwnerError::invalid(format!("identity service: {e}")))?;
        let well_known = |name: &str| {
            http_guard::outbound::well_known(issuer, name).map(|u| u.to_string()).map_err(|e| OwnerError::invalid(format!("identity service: {e}")))
        };
        let metadata = self.get_json(issuer, &well_known("openid-credential-issuer")?).await?;
        if metadata["credential_issuer"].as_str().map(|i| i.trim_end_matches('/')) != Some(issuer) {
            return Err(OwnerError::identity_service(issuer, "its metadata names another issuer"));
        }
        let configuration = &metadata["credential_configurations_supported"][CONFIGURATION];
        if configuration["format"] != "dc+sd-jwt" || configuration["vct"] != sd_jwt_vc::IDENTITY_VCT {
            return Err(OwnerError::identity_service(issuer, "it issues no SD-JWT VC identity credential"));
        }
        let authorization_servers = metadata["authorization_servers"].as_array();
        if authorization_servers.is_some_and(|list| list.iter().any(|a| a.as_str().map(|a| a.trim_end_matches('/')) != Some(issuer))) {
            return Err(OwnerError::identity_service(issuer, "it sends sign-in to another authorization server, which this wallet does not follow"));
        }
        let oauth = self.get_json(issuer, &well_known("oauth-authorization-server")?).await?;
        if oauth["issuer"].as_str().map(|i| i.trim_end_matches('/')) != Some(issuer) {
            return Err(OwnerError::identity_service(issuer, "its authorization server metadata names another issuer"));
        }
        let pkce = oauth["code_challenge_methods_supported"].as_array().is_some_and(|m| m.iter().any(|m| m == "S256"));
        if !pkce {
            return Err(OwnerError::identity_service(issuer, "it does not support PKCE with S256"));
        }
        let endpoint = |value: &Value, name: &str| -> Result<String, OwnerError> {
            let text = value.as_str().ok_or_else(|| OwnerError::identity_service(issuer, format!("no {name}")))?;
            Ok(on_origin(text, &origin).map_err(|e| OwnerError::identity_service(issuer, format!("{name}: {e}")))?.to_string())
        };
        let endpoints = Endpoints {
            issuer: issuer.to_string(),
            issuer_name: metadata["display"][0]["name"].as_str().map(|n| n.chars().take(100).collect()),
            token: endpoint(&oauth["token_endpoint"], "token_endpoint")?,
            credential: endpoint(&metadata["credential_endpoint"], "credential_endpoint")?,
            nonce: endpoint(&metadata["nonce_endpoint"], "nonce_endpoint")?,
            sends_iss: oauth["authorization_response_iss_parameter_supported"] == true,
        };
        Ok((endpoints, endpoint(&oauth["authorization_endpoint"], "authorization_endpoint")?))
    }

    /// Starts signing in at `issuer`: discovers its endpoints, listens on a
    /// loopback port for the answer, and returns the page to open.
    pub async fn begin(&self, issuer: &str) -> Result<SignIn, OwnerError> {
        let issuer = secure_url(issuer.trim().trim_end_matches('/'))
            .map_err(|e| OwnerError::invalid(format!("identity service: {e}")))?
            .as_str()
            .trim_end_matches('/')
            .to_string();
        let (endpoints, authorize) = self.discover(&issuer).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| internal(format!("cannot listen for the sign-in: {e}")))?;
        let port = listener.local_addr().map_err(internal)?.port();
        let redirect_uri = format!("http://127.0.0.1:{port}/callback");
        let (sender, callback) = oneshot::channel();
        let state = random();
        let listener = tokio::spawn(receive_callback(listener, state.clone(), sender));

        let verifier = random();
        let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()));
        let mut url = url::Url::parse(&authorize).map_err(|e| OwnerError::identity_service(&issuer, e))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", CLIENT_ID)
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("scope", SCOPE)
            .append_pair("state", &state)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        Ok(SignIn { authorize_url: url.to_string(), endpoints, redirect_uri, verifier, state, callback, listener })
    }

    /// Waits for the owner to finish signing in (at most `timeout`), then
    /// collects the credential, checks it, and keeps it.
    pub async fn finish(&self, sign_in: SignIn, timeout: Duration) -> Result<IdentitySummary, OwnerError> {
        let mut sign_in = sign_in;
        let issuer = sign_in.endpoints.issuer.clone();
        let answer = match tokio::time::timeout(timeout, &mut sign_in.callback).await {
            Err(_) => return Err(OwnerError::invalid("signing in took too long; start again")),
            Ok(Err(_)) => return Err(internal("the sign-in listener stopped")),
            Ok(Ok(answer)) => answer,
        };
        if answer.state.as_deref() != Some(sign_in.state.as_str()) {
            return Err(OwnerError::identity_service(&issuer, "the answer is for another sign-in (state)"));
        }
        let iss_ok = match answer.iss.as_deref() {
            Some(iss) => iss.trim_end_matches('/') == issuer,
            None => !sign_in.endpoints.sends_iss,
        };
        if !iss_ok {
            return Err(OwnerError::identity_service(&issuer, "the answer does not come from this identity service (iss)"));
        }
        if let Some(error) = answer.error {
            let why = if error == "access_denied" { "you cancelled signing in".to_string() } else { format!("{error}: {}", answer.error_description.unwrap_or_default()) };
            return Err(OwnerError::identity_service(&issuer, why));
        }
        let code = answer.code.ok_or_else(|| OwnerError::identity_service(&issuer, "the answer has no code"))?;
        self.collect(&sign_in.endpoints, &code, &sign_in.redirect_uri, &sign_in.verifier).await
    }

    async fn post(&self, issuer: &str, request: reqwest::RequestBuilder) -> Result<Value, OwnerError> {
        let (status, body) = send_json::<Value>(request, MAX_ANSWER).await.map_err(|e| OwnerError::identity_service(issuer, e))?;
        if !status.is_success() {
            let code = body["error"].as_str().unwrap_or("error");
            return Err(OwnerError::identity_service(issuer, format!("{code}: {}", body["error_description"].as_str().unwrap_or(""))));
        }
        Ok(body)
    }

    async fn collect(&self, endpoints: &Endpoints, code: &str, redirect_uri: &str, verifier: &str) -> Result<IdentitySummary, OwnerError> {
        let issuer = endpoints.issuer.as_str();
        let token = self
            .post(
                issuer,
                self.http.post(&endpoints.token).form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", redirect_uri),
                    ("client_id", CLIENT_ID),
                    ("code_verifier", verifier),
                ]),
            )
            .await?;
        let access_token = token["access_token"].as_str().ok_or_else(|| OwnerError::identity_service(issuer, "no access token"))?;
        let nonce = self.post(issuer, self.http.post(&endpoints.nonce)).await?;
        let c_nonce = nonce["c_nonce"].as_str().ok_or_else(|| OwnerError::identity_service(issuer, "no c_nonce"))?;
        let key = self.server.signing_key();
        let proof = key.sign_with_header(
            &json!({ "typ": PROOF_TYPE, "jwk": key.public_jwk() }),
            &json!({ "iss": CLIENT_ID, "aud": issuer, "iat": self.server.now(), "nonce": c_nonce }),
        );
        let body = json!({ "credential_configuration_id": CONFIGURATION, "proofs": { "jwt": [proof] } });
        let answer = self.post(issuer, self.http.post(&endpoints.credential).bearer_auth(access_token).json(&body)).await?;
        let credential = answer["credentials"][0]["credential"].as_str().ok_or_else(|| OwnerError::identity_service(issuer, "no credential in the answer"))?;

        let keys_at = http_guard::outbound::well_known(issuer, "jwt-vc-issuer").map_err(|e| OwnerError::identity_service(issuer, e))?;
        let keys = self.get_json(issuer, keys_at.as_str()).await?;
        if keys["issuer"].as_str().map(|i| i.trim_end_matches('/')) != Some(issuer) {
            return Err(OwnerError::identity_service(issuer, "its key metadata names another issuer"));
        }
        let verified = sd_jwt_vc::verify_credential(credential, &keys["jwks"], self.server.now()).map_err(|e| OwnerError::identity_service(issuer, format!("the credential does not verify: {e}")))?;
        if verified.issuer.trim_end_matches('/') != issuer || verified.vct != sd_jwt_vc::IDENTITY_VCT {
            return Err(OwnerError::identity_service(issuer, "the credential names another issuer or is not an identity credential"));
        }
        if !sd_jwt_vc::same_key(&verified.holder_key, &key.public_jwk()) {
            return Err(OwnerError::identity_service(issuer, "the credential is bound to another key than this wallet's"));
        }
        let held = HeldIdentity {
            issuer: issuer.to_string(),
            issuer_name: endpoints.issuer_name.clone(),
            credential: credential.to_string(),
            received_at: self.server.now(),
            expires_at: verified.expires_at,
        };
        self.held.insert(KEY, &held)?;
        self.server.record("identity.credential.receive", json!({ "issuer": issuer, "expires_at": held.expires_at }));
        self.server.flush_owner_decision().await?;
        Ok(self.summary()?.expect("just stored"))
    }

    /// A presentation of the held credential for one provider: only
    /// [`FIND_DISCLOSURES`], with a key-binding JWT for `audience` and the
    /// provider's `nonce`.
    pub fn present(&self, held: &HeldIdentity, audience: &str, nonce: &str) -> Result<String, OwnerError> {
        let key = self.server.signing_key();
        sd_jwt_vc::present(&held.credential, &FIND_DISCLOSURES, audience, nonce, self.server.now(), |claims| key.sign_typed(TokenType::KeyBinding, claims))
            .map_err(|e| internal(format!("cannot present the identity credential: {e}")))
    }
}

/// Serves the redirect on the loopback listener and hands its query over:
/// only a request for this sign-in (its `state`, on a loopback host name)
/// counts. Anything else (a web page or a local program guessing the port)
/// gets a plain page and changes nothing.
async fn receive_callback(listener: tokio::net::TcpListener, state: String, sender: oneshot::Sender<Callback>) {
    use subtle::ConstantTimeEq;
    let sender = std::sync::Arc::new(parking_lot::Mutex::new(Some(sender)));
    let (done, stopped) = oneshot::channel::<()>();
    let done = std::sync::Arc::new(parking_lot::Mutex::new(Some(done)));
    let app = axum::Router::new()
        .route(
            "/callback",
            axum::routing::get(move |Query(answer): Query<Callback>| {
                let (sender, done, state) = (sender.clone(), done.clone(), state.clone());
                async move {
                    let ours = answer.state.as_deref().is_some_and(|s| bool::from(s.as_bytes().ct_eq(state.as_bytes())));
                    if !ours {
                        return (axum::http::StatusCode::BAD_REQUEST, page("This is not the sign-in your wallet is waiting for.")).into_response();
                    }
                    let failed = answer.error.is_some();
                    if let Some(sender) = sender.lock().take() {
                        let _ = sender.send(answer);
                    }
                    if let Some(done) = done.lock().take() {
                        let _ = done.send(());
                    }
                    page(if failed {
                        "Signing in did not finish. Go back to your wallet to see why."
                    } else {
                        "You are signed in. You can close this window and go back to your wallet."
                    })
                    .into_response()
                }
            }),
        )
        .layer(axum::middleware::from_fn_with_state(http_guard::inbound::Hosts::loopback_only(), http_guard::inbound::check_host));
    let stop = async {
        let _ = stopped.await;
        // Let the browser's page be written before the listener closes.
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = http_guard::inbound::serve(listener, app, http_guard::inbound::Limits::default(), stop).await;
}

fn page(text: &str) -> Html<String> {
    Html(format!("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Back to your wallet</title></head><body><main><h1>{text}</h1></main></body></html>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_loopback_listener_takes_only_its_own_sign_in_and_only_on_loopback_names() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (sender, mut received) = oneshot::channel();
        let server = tokio::spawn(receive_callback(listener, "the-state".into(), sender));
        let http = reqwest::Client::new();
        let get = |query: &str, host: Option<&str>| {
            let mut request = http.get(format!("http://127.0.0.1:{port}/callback?{query}"));
            if let Some(host) = host {
                request = request.header("host", host);
            }
            request.send()
        };
        // A web page that found the port, before the identity service answers.
        assert_eq!(get("code=evil&state=guess", None).await.unwrap().status(), 400);
        assert_eq!(get("error=access_denied", None).await.unwrap().status(), 400);
        assert_eq!(get("code=evil&state=the-state", Some("attacker.example")).await.unwrap().status(), 421);
        assert!(received.try_recv().is_err(), "nothing was taken as the answer");
        assert_eq!(get("code=real&state=the-state&iss=x", None).await.unwrap().status(), 200);
        let answer = received.await.unwrap();
        assert_eq!(answer.code.as_deref(), Some("real"));
        server.await.unwrap();
    }
}

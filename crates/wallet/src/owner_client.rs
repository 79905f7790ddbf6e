//! The typed owner client: one method per owner operation, over the owner
//! API, either in-process (the same router the HTTP listener serves,
//! called without a socket) or over HTTP to a running `serve`. The CLI and
//! the desktop app both use it, so every front end goes through exactly
//! the checks and types the owner API documents.

use uma_as::id::{ClientId, GrantId, PolicyId, RequestId};
use crate::api::{self, paths, *};
use crate::{owner_api, read_owner_token, serve::Ready, Wallet, WalletError, SERVER_FILE};
use axum::body::Body;
use axum::http::{header, Method, Request};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::Path;
use tower::ServiceExt;
use crate::OwnerToken;
use uma_as::secret::{constant_time_eq, SecretHash};

/// Answers larger than this are refused rather than buffered (the largest
/// real one, a full audit export, stays far below it).
const MAX_ANSWER: usize = 64 * 1024 * 1024;

/// An owner API error answer: its HTTP status and OAuth-style error body.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{code}: {description} (HTTP {status})")]
pub struct OwnerApiError {
    pub status: u16,
    pub code: String,
    pub description: String,
}

impl OwnerApiError {
    fn local(code: &str, description: impl Into<String>) -> Self {
        OwnerApiError { status: 400, code: code.into(), description: description.into() }
    }
}

type Answer<T> = Result<T, OwnerApiError>;

#[derive(Clone)]
enum Transport {
    InProcess(axum::Router),
    Http { base: String, http: reqwest::Client },
}

#[derive(Clone)]
pub struct OwnerClient {
    transport: Transport,
    token: OwnerToken,
}

/// A request body, or none.
const NO_BODY: Option<&()> = None;

impl OwnerClient {
    /// The owner API of a wallet opened in this process.
    pub fn in_process(wallet: &Wallet) -> Result<OwnerClient, WalletError> {
        let token = wallet.owner_token()?;
        Ok(OwnerClient { transport: Transport::InProcess(owner_api::router(wallet, &token)), token })
    }

    /// The owner API of the `serve` running over `data_dir`, if
    /// `server.json` points at one that proves it knows the owner token.
    pub async fn running(data_dir: &Path) -> Option<OwnerClient> {
        Some(Self::running_server(data_dir).await?.0)
    }

    /// [`OwnerClient::running`], with what that server announced.
    pub async fn running_server(data_dir: &Path) -> Option<(OwnerClient, Ready)> {
        let token = read_owner_token(data_dir).ok()?;
        let ready: Ready = serde_json::from_str(&std::fs::read_to_string(data_dir.join(SERVER_FILE)).ok()?).ok()?;
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().ok()?;
        if !is_this_wallet(&http, &ready.owner_api, &token).await {
            return None;
        }
        Some((OwnerClient { transport: Transport::Http { base: ready.owner_api.clone(), http }, token }, ready))
    }

    pub fn is_remote(&self) -> bool {
        matches!(self.transport, Transport::Http { .. })
    }

    async fn call<B: Serialize, T: DeserializeOwned>(&self, method: Method, path: &str, body: Option<&B>) -> Answer<T> {
        let body = body.map(|b| serde_json::to_vec(b).map_err(|e| OwnerApiError::local("invalid_request", e.to_string()))).transpose()?;
        let (status, bytes) = match &self.transport {
            Transport::InProcess(router) => {
                let response = self.send_in_process(router, method, path, body).await?;
                let status = response.status().as_u16();
                let bytes = axum::body::to_bytes(response.into_body(), MAX_ANSWER).await.map_err(|e| OwnerApiError {
                    status: 500,
                    code: "server_error".into(),
                    description: format!("reading the answer: {e}"),
                })?;
                (status, bytes.to_vec())
            }
            Transport::Http { base, http } => {
                let mut request = http.request(method, format!("{base}{path}")).bearer_auth(self.token.expose());
                if let Some(body) = body {
                    request = request.header(header::CONTENT_TYPE, "application/json").body(body);
                }
                let unreachable = |e: reqwest::Error| OwnerApiError { status: 503, code: "unreachable".into(), description: format!("cannot reach the running server: {e}") };
                let response = request.send().await.map_err(unreachable)?;
                let status = response.status().as_u16();
                (status, response.bytes().await.map_err(unreachable)?.to_vec())
            }
        };
        read_answer(status, &bytes)
    }

    /// One request to the owner API's router in this process, with the owner token.
    async fn send_in_process(&self, router: &axum::Router, method: Method, path: &str, body: Option<Vec<u8>>) -> Answer<axum::response::Response> {
        let mut request = Request::builder().method(method).uri(path).header(header::AUTHORIZATION, format!("Bearer {}", self.token.expose()));
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request.body(body.map(Body::from).unwrap_or_else(Body::empty)).map_err(|e| OwnerApiError::local("invalid_request", e.to_string()))?;
        match router.clone().oneshot(request).await {
            Ok(response) => Ok(response),
            Err(never) => match never {},
        }
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Answer<T> {
        self.call(Method::GET, path, NO_BODY).await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: Option<&B>) -> Answer<T> {
        self.call(Method::POST, path, body).await
    }

    async fn put<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Answer<T> {
        self.call(Method::PUT, path, Some(body)).await
    }

    async fn delete<T: DeserializeOwned>(&self, path: &str) -> Answer<T> {
        self.call(Method::DELETE, path, NO_BODY).await
    }

    pub async fn status(&self) -> Answer<Stats> {
        self.get(paths::STATUS).await
    }

    pub async fn clients(&self) -> Answer<Vec<ClientView>> {
        self.get(paths::CLIENTS).await
    }

    pub async fn approve_client(&self, id: &ClientId) -> Answer<ClientDecision> {
        self.post(&with_id(paths::CLIENT_APPROVE, id)?, NO_BODY).await
    }

    pub async fn refuse_client(&self, id: &ClientId) -> Answer<ClientDecision> {
        self.post(&with_id(paths::CLIENT_REFUSE, id)?, NO_BODY).await
    }

    pub async fn resources(&self) -> Answer<Vec<Resource>> {
        self.get(paths::RESOURCES).await
    }

    /// Requests waiting for the owner; `all`: decided and expired too.
    pub async fn requests(&self, all: bool) -> Answer<Vec<PendingView>> {
        self.get(&with_query(paths::PENDING, &PendingQuery { all })).await
    }

    pub async fn approve_request(&self, id: &RequestId, approval: &Approval) -> Answer<PendingRequest> {
        self.post(&with_id(paths::PENDING_APPROVE, id)?, Some(approval)).await
    }

    pub async fn deny_request(&self, id: &RequestId) -> Answer<PendingRequest> {
        self.post(&with_id(paths::PENDING_DENY, id)?, NO_BODY).await
    }

    pub async fn policies(&self) -> Answer<Vec<Policy>> {
        self.get(paths::POLICIES).await
    }

    pub async fn add_policy(&self, policy: &NewPolicy) -> Answer<Policy> {
        self.post(paths::POLICIES, Some(policy)).await
    }

    pub async fn remove_policy(&self, id: &PolicyId) -> Answer<Policy> {
        self.delete(&with_id(paths::POLICY, id)?).await
    }

    pub async fn grants(&self) -> Answer<Vec<GrantView>> {
        self.get(paths::GRANTS).await
    }

    pub async fn revoke_grant(&self, id: &GrantId) -> Answer<Grant> {
        self.post(&with_id(paths::GRANT_REVOKE, id)?, NO_BODY).await
    }

    pub async fn receipts(&self) -> Answer<Vec<Receipt>> {
        self.get(paths::RECEIPTS).await
    }

    pub async fn trusted_issuers(&self) -> Answer<Vec<TrustedIssuer>> {
        self.get(paths::TRUSTED_ISSUERS).await
    }

    pub async fn trust_issuer(&self, issuer: &TrustIssuer) -> Answer<TrustedIssuer> {
        self.post(paths::TRUSTED_ISSUERS, Some(issuer)).await
    }

    pub async fn distrust_issuer(&self, issuer: &str) -> Answer<()> {
        self.delete(&with_query(paths::TRUSTED_ISSUERS, &IssuerQuery { issuer: issuer.into() })).await
    }

    pub async fn audit(&self, query: &AuditQuery) -> Answer<Vec<ActivityEntry>> {
        self.get(&with_query(paths::AUDIT, query)).await
    }

    pub async fn audit_verify(&self) -> Answer<AuditVerification> {
        self.get(paths::AUDIT_VERIFY).await
    }

    pub async fn audit_export(&self) -> Answer<Vec<AuditEntry>> {
        self.get(paths::AUDIT_EXPORT).await
    }

    pub async fn mint_assertion(&self, request: &AssertionRequest) -> Answer<MintedAssertion> {
        self.post(paths::ASSERTIONS, Some(request)).await
    }

    /// The owner's identity details; `None` until she gives them.
    pub async fn identity(&self) -> Answer<Option<Identity>> {
        match self.get(paths::IDENTITY).await {
            Err(e) if e.status == 404 => Ok(None),
            other => other.map(Some),
        }
    }

    pub async fn set_identity(&self, identity: &Identity) -> Answer<Identity> {
        self.put(paths::IDENTITY, identity).await
    }

    pub async fn identity_credential(&self) -> Answer<IdentityCredentialStatus> {
        self.get(paths::IDENTITY_CREDENTIAL).await
    }

    pub async fn start_sign_in(&self, issuer: &str) -> Answer<SignInStarted> {
        self.post(paths::IDENTITY_CREDENTIAL, Some(&SignInRequest { issuer: issuer.into() })).await
    }

    pub async fn forget_identity_credential(&self) -> Answer<()> {
        self.delete(paths::IDENTITY_CREDENTIAL).await
    }

    pub async fn providers(&self) -> Answer<Vec<ProviderEntry>> {
        self.get(paths::PROVIDERS).await
    }

    pub async fn add_provider(&self, provider: &AddProvider) -> Answer<ProviderEntry> {
        self.post(paths::PROVIDERS, Some(provider)).await
    }

    pub async fn remove_provider(&self, url: &str) -> Answer<()> {
        self.delete(&with_query(paths::PROVIDERS, &UrlQuery { url: url.into() })).await
    }

    pub async fn find(&self) -> Answer<Vec<ProviderOutcome>> {
        self.post(paths::FIND, NO_BODY).await
    }

    pub async fn offers(&self) -> Answer<Offers> {
        self.get(paths::OFFERS).await
    }

    /// One provider's offers: the one an offer link names.
    pub async fn offers_at(&self, provider: &str) -> Answer<Offers> {
        self.get(&with_query(paths::OFFERS, &OffersQuery { provider: Some(provider.into()) })).await
    }

    pub async fn read_offer_link(&self, link: &str) -> Answer<OfferLink> {
        self.post(paths::OFFERS_LINK, Some(&ReadOfferLink { link: link.into() })).await
    }

    pub async fn accept(&self, offer: &AcceptOffer) -> Answer<Accepted> {
        self.post(paths::OFFERS_ACCEPT, Some(offer)).await
    }

    pub async fn move_pension(&self, request: &MovePension) -> Answer<Accepted> {
        self.post(paths::PENSIONS_MOVE, Some(request)).await
    }

    pub async fn address_status(&self) -> Answer<AddressStatus> {
        self.get(paths::PENSIONS_ADDRESS).await
    }

    pub async fn follow_address(&self) -> Answer<AddressReport> {
        self.post(paths::PENSIONS_ADDRESS, NO_BODY).await
    }

    pub async fn registry(&self) -> Answer<GovernanceSummary> {
        self.get(paths::REGISTRY).await
    }

    pub async fn import_registry(&self, signed: &str) -> Answer<RegistryImported> {
        self.post(paths::REGISTRY, Some(&ImportRegistry { registry: signed.trim().into() })).await
    }

    pub async fn fetch_registry(&self, fetch: &FetchRegistry) -> Answer<RegistryImported> {
        self.post(paths::REGISTRY_FETCH, Some(fetch)).await
    }

    pub async fn set_registry_key(&self, key: &str) -> Answer<GovernanceSummary> {
        self.put(paths::REGISTRY_KEY, &RegistryKey { key: key.into() }).await
    }

    pub async fn my_pensions(&self) -> Answer<MyPensions> {
        self.get(paths::PENSIONS).await
    }

    pub async fn did(&self) -> Answer<Did> {
        self.get(paths::DID).await
    }

    pub async fn credentials(&self) -> Answer<Vec<CredentialSummary>> {
        self.get(paths::CREDENTIALS).await
    }

    pub async fn export_credentials(&self) -> Answer<Vec<StoredCredential>> {
        self.get(paths::CREDENTIALS_EXPORT).await
    }

    pub async fn credential(&self, id: &str) -> Answer<CredentialDetail> {
        self.get(&with_id(paths::CREDENTIAL, id)?).await
    }

    pub async fn verify_credential(&self, id: &str) -> Answer<CredentialCheck> {
        self.post(&with_id(paths::CREDENTIAL_VERIFY, id)?, NO_BODY).await
    }

    pub async fn delete_credential(&self, id: &str) -> Answer<()> {
        self.delete(&with_id(paths::CREDENTIAL, id)?).await
    }

    pub async fn change_passphrase(&self, change: &ChangePassphrase) -> Answer<()> {
        self.post(paths::PASSPHRASE, Some(change)).await
    }

    pub async fn check_passphrase(&self, passphrase: &str) -> Answer<()> {
        self.unlock(passphrase, false).await
    }

    /// The passphrase to a server started locked, which opens the wallet
    /// with it: with `accept_older_copy`, even a copy older than its anchor.
    pub async fn unlock(&self, passphrase: &str, accept_older_copy: bool) -> Answer<()> {
        self.post(paths::PASSPHRASE_CHECK, Some(&CheckPassphrase { passphrase: passphrase.into(), accept_older_copy })).await
    }

    /// New access requests and resource servers waiting, as they happen
    /// (`GET /events`), until the wallet closes or the connection drops.
    pub async fn events(&self) -> Answer<impl futures_util::Stream<Item = OwnerEvent> + Send + 'static> {
        use eventsource_stream::Eventsource;
        use futures_util::StreamExt;
        let bytes = match &self.transport {
            Transport::InProcess(router) => {
                let response = self.send_in_process(router, Method::GET, paths::EVENTS, None).await?;
                if !response.status().is_success() {
                    return Err(OwnerApiError { status: response.status().as_u16(), code: "events_refused".into(), description: String::new() });
                }
                response.into_body().into_data_stream().map(|chunk| chunk.map_err(std::io::Error::other)).boxed()
            }
            Transport::Http { base, .. } => {
                // No overall time limit: the stream lasts as long as the wallet.
                let http = reqwest::Client::builder().connect_timeout(std::time::Duration::from_secs(10)).build().map_err(|e| OwnerApiError::local("unreachable", e.to_string()))?;
                let response = http.get(format!("{base}{}", paths::EVENTS)).bearer_auth(self.token.expose()).send().await.map_err(|e| OwnerApiError {
                    status: 503,
                    code: "unreachable".into(),
                    description: format!("cannot reach the running server: {e}"),
                })?;
                if !response.status().is_success() {
                    return Err(OwnerApiError { status: response.status().as_u16(), code: "events_refused".into(), description: String::new() });
                }
                response.bytes_stream().map(|chunk| chunk.map_err(std::io::Error::other)).boxed()
            }
        };
        // An event is a few hundred bytes: a stream that goes on longer
        // without ending one is cut, rather than buffered without bound.
        const MAX_EVENT: usize = 1024 * 1024;
        let mut unfinished = 0usize;
        let bytes = bytes.take_while(move |chunk| {
            let within = match chunk {
                Ok(chunk) => {
                    unfinished = match chunk.windows(2).rposition(|pair| pair == b"\n\n") {
                        Some(end) => chunk.len() - end - 2,
                        None => unfinished + chunk.len(),
                    };
                    unfinished <= MAX_EVENT
                }
                Err(_) => true,
            };
            std::future::ready(within)
        });
        Ok(bytes.eventsource().filter_map(|event| async move { serde_json::from_str(&event.ok()?.data).ok() }))
    }

    pub async fn request_preview(&self, id: &RequestId) -> Answer<Vec<PensionPreview>> {
        self.get(&with_id(paths::PENDING_PREVIEW, id)?).await
    }

    pub async fn back_up(&self) -> Answer<BackupFile> {
        self.post(paths::BACKUPS, NO_BODY).await
    }

    pub async fn backups(&self) -> Answer<Vec<BackupFile>> {
        self.get(paths::BACKUPS).await
    }
}

/// A route with its id; an id a path could be bent with is refused here.
fn with_id(route: &str, id: impl AsRef<str>) -> Answer<String> {
    let id = id.as_ref();
    api::path_with(route, id).ok_or_else(|| OwnerApiError::local("invalid_request", format!("{id:?} is not an id")))
}

fn with_query<Q: Serialize>(route: &str, query: &Q) -> String {
    // Query structs hold strings, numbers and booleans: they always encode.
    format!("{route}?{}", serde_urlencoded::to_string(query).unwrap_or_default())
}

/// Whether the server at `base` knows the owner token, proven without
/// sending it: `server.json` may be stale, and whoever listens on its port
/// now must not be handed the token.
async fn is_this_wallet(http: &reqwest::Client, base: &str, token: &OwnerToken) -> bool {
    // `server.json` may be stale, and whoever listens on its port now is
    // anyone: a short wait, and a small answer read at most.
    const MAX_PROOF: usize = 4096;
    let nonce = uma_as::secret::hex(&uma_as::secret::random_bytes::<32>());
    let request = IdentifyRequest { nonce: nonce.clone() };
    let sent = http.post(format!("{base}{}", paths::IDENTIFY)).timeout(std::time::Duration::from_secs(5)).json(&request).send();
    let Ok(mut answer) = sent.await else { return false };
    let mut bytes = Vec::new();
    loop {
        match answer.chunk().await {
            Ok(Some(chunk)) if bytes.len() + chunk.len() <= MAX_PROOF => bytes.extend_from_slice(&chunk),
            Ok(None) => break,
            _ => return false,
        }
    }
    let Ok(body) = serde_json::from_slice::<IdentifyProof>(&bytes) else { return false };
    let expected = owner_api::owner_proof(&SecretHash::of(token.expose()), &nonce);
    constant_time_eq(&body.proof, &expected)
}

/// An owner API answer, however it arrived: the JSON body (`null` when
/// empty) as `T`, or the error its status and body describe.
fn read_answer<T: DeserializeOwned>(status: u16, body: &[u8]) -> Answer<T> {
    if status >= 400 {
        let error: Option<ErrorBody> = serde_json::from_slice(body).ok();
        return Err(OwnerApiError {
            status,
            code: error.as_ref().map_or("error", |e| e.error.as_str()).to_string(),
            description: error.and_then(|e| e.error_description).unwrap_or_default(),
        });
    }
    let body = if body.is_empty() { b"null".as_slice() } else { body };
    serde_json::from_slice(body).map_err(|e| OwnerApiError { status, code: "unreadable_answer".into(), description: format!("the owner API's answer does not read: {e}") })
}

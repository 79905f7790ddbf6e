//! The wallet as an OpenID4VCI holder and its credential store.
//!
//! The wallet's DID is the did:key of its signing key. Receiving a
//! credential runs the pre-authorized code flow: issuer metadata, token,
//! nonce, a key proof signed by the wallet's DID key, the credential.
//!
//! A provider chooses every URL in an offer and every answer, so nothing is
//! taken on its word alone:
//! - the credential issuer is the provider the owner chose, and every
//!   endpoint is on its origin (`https` unless on loopback); no redirects;
//!   every answer is read with a size cap;
//! - the credential must be signed by the provider's DID: the one a
//!   governance registry names for it, else the one its signed issuer
//!   metadata names (OpenID4VCI 1.0 §12.2.2: a JWT of `typ`
//!   `openidvci-issuer-metadata+jwt` whose `sub` is the issuer);
//! - it must be about the pension that was assigned (`pei`), protected by
//!   the authorization server it was assigned to, at this provider, and
//!   bound to this wallet's DID.
//!
//! Nothing is stored unless all of that holds. A newer credential for the
//! same pension from the same provider supersedes the older one.

use crate::vc;
use http_guard::outbound::{on_origin, secure_url, send_json};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uma_as::secret::random_id;
use uma_as::store::Tree;
use crate::OwnerError;
use uma_as::{AuthorizationServer, Store};

pub const CREDENTIAL_TYPE: &str = "PensionResourceCredential";
const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
const SIGNED_METADATA_TYPE: &str = "openidvci-issuer-metadata+jwt";
/// The largest answer read from an issuer.
const MAX_ANSWER: usize = 256 * 1024;

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct StoredCredential {
    pub id: String,
    /// The compact JWT as issued.
    pub jwt: String,
    pub issuer: String,
    pub credential_issuer: String,
    pub pei: String,
    pub scheme: String,
    pub authorization_server: String,
    pub received_at: i64,
    /// `active`, or `superseded` once a newer one for the same pension arrived.
    pub status: String,
}

/// A credential, without its JWT: what the owner's list shows.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct CredentialSummary {
    pub id: String,
    pub pei: String,
    pub scheme: String,
    pub issuer: String,
    pub authorization_server: String,
    /// `active`, or `superseded` once a newer one for the same pension arrived.
    pub status: String,
    pub received_at: i64,
}

impl From<StoredCredential> for CredentialSummary {
    fn from(c: StoredCredential) -> Self {
        CredentialSummary { id: c.id, pei: c.pei, scheme: c.scheme, issuer: c.issuer, authorization_server: c.authorization_server, status: c.status, received_at: c.received_at }
    }
}

/// A credential with what it says, decoded.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct CredentialDetail {
    #[serde(flatten)]
    pub credential: StoredCredential,
    /// The JWT's claims (`null` if they do not decode).
    pub claims: Value,
}

/// Whether a credential still verifies, and why not.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct CredentialCheck {
    pub id: String,
    pub verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What a credential received after an assignment must say.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    /// The provider the owner chose: the only acceptable credential issuer.
    pub provider_url: &'a str,
    /// The pension the provider said it assigned.
    pub pei: &'a str,
    /// The authorization server it was assigned to.
    pub authorization_server: &'a str,
    /// The provider's DID from a governance registry, if any.
    pub pinned_did: Option<&'a str>,
}

/// A credential offer (OpenID4VCI 1.0 §4.1.1); unknown members are ignored.
#[derive(Debug, Deserialize)]
pub struct CredentialOffer {
    pub credential_issuer: String,
    pub credential_configuration_ids: Vec<String>,
    #[serde(default)]
    pub grants: Grants,
}

#[derive(Debug, Default, Deserialize)]
pub struct Grants {
    #[serde(rename = "urn:ietf:params:oauth:grant-type:pre-authorized_code")]
    pub pre_authorized_code: Option<PreAuthorized>,
}

#[derive(Debug, Deserialize)]
pub struct PreAuthorized {
    #[serde(rename = "pre-authorized_code")]
    pub code: String,
    /// Present when the issuer wants a transaction code, which this wallet
    /// cannot supply.
    #[serde(default)]
    pub tx_code: Option<Value>,
}

/// Credential issuer metadata (OpenID4VCI 1.0 §12.2.4), the members used here.
#[derive(Debug, Deserialize)]
pub struct IssuerMetadata {
    pub credential_issuer: String,
    pub credential_endpoint: String,
    #[serde(default)]
    pub nonce_endpoint: Option<String>,
    #[serde(default)]
    pub authorization_servers: Option<Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    #[error("{0}: {1}")]
    Issuer(String, String),
    #[error("the credential does not verify: {0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] uma_as::StoreError),
}

#[derive(Clone)]
pub struct Credentials {
    server: AuthorizationServer,
    store: Tree<StoredCredential>,
    http: reqwest::Client,
}

impl Credentials {
    pub fn open(store: &Store, server: AuthorizationServer, http: reqwest::Client) -> Result<Credentials, uma_as::StoreError> {
        Ok(Credentials { server, store: store.tree("credentials")?, http })
    }

    /// This wallet's DID.
    pub fn did(&self) -> String {
        self.server.signing_key().did_key()
    }

    async fn call(&self, issuer: &str, request: reqwest::RequestBuilder) -> Result<Value, ReceiveError> {
        let failed = |why: String| ReceiveError::Issuer(issuer.to_string(), why);
        let (status, body) = send_json::<Value>(request, MAX_ANSWER).await.map_err(|e| failed(e.to_string()))?;
        if !status.is_success() {
            let code = body["error"].as_str().unwrap_or("error");
            return Err(failed(format!("{code}: {}", body["error_description"].as_str().unwrap_or(""))));
        }
        Ok(body)
    }

    /// The issuer's metadata and the DID its credentials must be signed
    /// with: the registry's, else the one its signed metadata names.
    async fn metadata(&self, issuer: &str, pinned_did: Option<&str>) -> Result<(IssuerMetadata, String), ReceiveError> {
        let failed = |why: String| ReceiveError::Issuer(issuer.to_string(), why);
        let request = self.http.get(format!("{issuer}/.well-known/openid-credential-issuer")).header("accept", "application/jwt, application/json;q=0.5");
        let response = request.send().await.map_err(|e| failed(format!("unreachable: {e}")))?;
        if !response.status().is_success() {
            return Err(failed(format!("metadata: HTTP {}", response.status())));
        }
        let signed = response.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("application/jwt"));
        let body = http_guard::outbound::read_capped(response, MAX_ANSWER).await.map_err(|e| failed(e.to_string()))?;
        let (claims, did) = if signed {
            let text = String::from_utf8(body).map_err(|_| failed("signed metadata is not text".into()))?;
            let verified = vc::verify_did_jws(text.trim()).await.map_err(|e| failed(format!("signed metadata: {e}")))?;
            if verified.typ.as_deref() != Some(SIGNED_METADATA_TYPE) {
                return Err(failed(format!("signed metadata is not an {SIGNED_METADATA_TYPE}")));
            }
            if verified.claims["sub"] != issuer || verified.claims["iss"].as_str().is_some_and(|iss| iss != verified.signer) {
                return Err(failed("signed metadata is about another issuer or by another signer".into()));
            }
            (verified.claims, Some(verified.signer))
        } else {
            (serde_json::from_slice(&body).map_err(|e| failed(format!("unreadable metadata: {e}")))?, None)
        };
        let metadata: IssuerMetadata = serde_json::from_value(claims).map_err(|e| failed(format!("unreadable metadata: {e}")))?;
        if metadata.credential_issuer != issuer {
            return Err(failed("its metadata names another issuer".into()));
        }
        let did = match (pinned_did, did) {
            (Some(pinned), Some(signed)) if pinned != signed => return Err(failed("its signed metadata names another DID than the registry".into())),
            (Some(pinned), _) => pinned.to_string(),
            (None, Some(signed)) => signed,
            (None, None) => return Err(failed("it publishes no signed metadata and no registry names its DID".into())),
        };
        Ok((metadata, did))
    }

    /// Runs the pre-authorized code flow for an offer and stores the
    /// credential if it says what `expected` says.
    pub async fn receive(&self, offer: &Value, expected: &Expected<'_>) -> Result<StoredCredential, ReceiveError> {
        let offer: CredentialOffer = serde_json::from_value(offer.clone())
            .map_err(|e| ReceiveError::Issuer(expected.provider_url.into(), format!("unreadable credential offer: {e}")))?;
        let issuer = offer.credential_issuer.trim_end_matches('/').to_string();
        let failed = |why: &str| ReceiveError::Issuer(issuer.clone(), why.to_string());
        if issuer != expected.provider_url {
            return Err(failed("the offer names another credential issuer than the provider"));
        }
        let origin = secure_url(&issuer).map_err(|e| failed(&e.to_string()))?;
        if !offer.credential_configuration_ids.iter().any(|i| i == CREDENTIAL_TYPE) {
            return Err(failed("the offer is not for a PensionResourceCredential"));
        }
        let grant = offer.grants.pre_authorized_code.ok_or_else(|| failed("no pre-authorized code"))?;
        if grant.tx_code.is_some() {
            return Err(failed("the offer asks for a transaction code"));
        }
        let (metadata, did) = self.metadata(&issuer, expected.pinned_did).await?;
        let endpoint = |url: &str| on_origin(url, &origin).map_err(|e| failed(&e.to_string()));
        let credential_endpoint = endpoint(&metadata.credential_endpoint)?;
        let nonce_endpoint = metadata.nonce_endpoint.as_deref().map(endpoint).transpose()?;
        if metadata.authorization_servers.as_ref().is_some_and(|list| list.iter().any(|a| a.trim_end_matches('/') != issuer)) {
            return Err(failed("its authorization server is elsewhere"));
        }
        let as_metadata = self.call(&issuer, self.http.get(format!("{issuer}/.well-known/oauth-authorization-server"))).await?;
        let token_endpoint = endpoint(as_metadata["token_endpoint"].as_str().ok_or_else(|| failed("its metadata lacks a token endpoint"))?)?;
        let token = self.call(&issuer, self.http.post(token_endpoint).form(&[("grant_type", PRE_AUTHORIZED_GRANT), ("pre-authorized_code", &grant.code)])).await?;
        let access_token = token["access_token"].as_str().ok_or_else(|| failed("no access token"))?;
        let mut proof_claims = json!({ "aud": issuer, "iat": self.server.now() });
        if let Some(nonce_endpoint) = nonce_endpoint {
            let nonce = self.call(&issuer, self.http.post(nonce_endpoint)).await?;
            proof_claims["nonce"] = nonce["c_nonce"].as_str().ok_or_else(|| failed("no c_nonce"))?.into();
        }
        let key = self.server.signing_key();
        let proof = key.sign_with_header(&json!({ "typ": uma_as::keys::TokenType::KeyProof.typ(), "kid": key.did_key_url() }), &proof_claims);
        let request = json!({ "credential_configuration_id": CREDENTIAL_TYPE, "proofs": { "jwt": [proof] } });
        let answer = self.call(&issuer, self.http.post(credential_endpoint).bearer_auth(access_token).json(&request)).await?;
        let jwt = answer["credentials"][0]["credential"].as_str().ok_or_else(|| failed("no credential in the answer"))?;
        let stored = self.check(jwt, &issuer, &did, expected).await?;
        self.store_superseding(&stored)?;
        self.server.flush_owner_decision().await?;
        Ok(stored)
    }

    /// Verifies a received credential against what it must say, and reads
    /// what the store keeps of it.
    async fn check(&self, jwt: &str, credential_issuer: &str, did: &str, expected: &Expected<'_>) -> Result<StoredCredential, ReceiveError> {
        let claims = vc::verify_jwt_vc(jwt).await.map_err(ReceiveError::Invalid)?;
        if claims["iss"] != did {
            return Err(ReceiveError::Invalid("it is signed by another DID than the provider's".into()));
        }
        if claims["sub"] != self.did() {
            return Err(ReceiveError::Invalid("it is bound to another holder".into()));
        }
        if !claims["vc"]["type"].as_array().is_some_and(|t| t.iter().any(|t| t == CREDENTIAL_TYPE)) {
            return Err(ReceiveError::Invalid(format!("it is not a {CREDENTIAL_TYPE}")));
        }
        let subject = &claims["vc"]["credentialSubject"];
        if subject["pei"] != expected.pei || expected.pei.is_empty() {
            return Err(ReceiveError::Invalid("it is about another pension than the one assigned".into()));
        }
        if subject["authorizationServer"].as_str().map(|a| a.trim_end_matches('/')) != Some(expected.authorization_server.trim_end_matches('/')) {
            return Err(ReceiveError::Invalid("it names another authorization server than the one assigned".into()));
        }
        if subject["provider"]["url"].as_str().map(|u| u.trim_end_matches('/')) != Some(expected.provider_url) {
            return Err(ReceiveError::Invalid("it names another provider".into()));
        }
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        Ok(StoredCredential {
            id: random_id(),
            jwt: jwt.into(),
            issuer: text(&claims["iss"]),
            credential_issuer: credential_issuer.into(),
            pei: text(&subject["pei"]),
            scheme: text(&subject["scheme"]),
            authorization_server: text(&subject["authorizationServer"]),
            received_at: self.server.now(),
            status: "active".into(),
        })
    }

    /// Stores a credential; the active one for the same pension from the
    /// same provider is superseded. Another provider's never is.
    fn store_superseding(&self, stored: &StoredCredential) -> Result<(), uma_as::StoreError> {
        for mut older in self.store.values()? {
            if older.pei == stored.pei && older.credential_issuer == stored.credential_issuer && older.status == "active" {
                older.status = "superseded".into();
                self.store.insert(&older.id, &older)?;
            }
        }
        self.store.insert(&stored.id, stored)
    }

    pub fn list(&self) -> Result<Vec<StoredCredential>, OwnerError> {
        let mut all = self.store.values()?;
        all.sort_by(|a, b| b.received_at.cmp(&a.received_at).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    pub fn get(&self, id: &str) -> Result<StoredCredential, OwnerError> {
        self.store.get(id)?.ok_or_else(|| OwnerError::not_found("no such credential"))
    }

    /// The credential with its decoded claims.
    pub fn show(&self, id: &str) -> Result<CredentialDetail, OwnerError> {
        let credential = self.get(id)?;
        let claims = vc::decode_claims(&credential.jwt).unwrap_or(Value::Null);
        Ok(CredentialDetail { credential, claims })
    }

    /// Verifies a stored credential again, against what it was accepted for.
    pub async fn verify(&self, id: &str) -> Result<CredentialCheck, OwnerError> {
        let stored = self.get(id)?;
        let expected = Expected {
            provider_url: &stored.credential_issuer,
            pei: &stored.pei,
            authorization_server: &stored.authorization_server,
            pinned_did: Some(&stored.issuer),
        };
        Ok(match self.check(&stored.jwt, &stored.credential_issuer, &stored.issuer, &expected).await {
            Ok(_) => CredentialCheck { id: id.to_string(), verified: true, reason: None },
            Err(e) => CredentialCheck { id: id.to_string(), verified: false, reason: Some(e.to_string()) },
        })
    }

    pub async fn delete(&self, id: &str) -> Result<(), OwnerError> {
        let Some(gone) = self.store.get(id)? else { return Err(OwnerError::not_found("no such credential")) };
        self.store.remove(id)?;
        self.server.record("credential.delete", json!({ "id": id, "pei": gone.pei, "issuer": gone.credential_issuer }));
        self.server.flush_owner_decision().await?;
        Ok(())
    }
}

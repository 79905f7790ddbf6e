//! The wallet as an OpenID4VCI holder and its credential store.
//!
//! The wallet's DID is the did:key of its signing key. Receiving a
//! credential runs the pre-authorized code flow: issuer metadata, token,
//! nonce, a key proof signed by the wallet's DID key, the credential. The
//! credential is verified (signature against the issuer's did:key, subject =
//! this wallet, the expected type) before it is stored, encrypted. A newer
//! credential for the same pension supersedes the older one.

use crate::vc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uma_as::secret::random_id;
use uma_as::store::Tree;
use uma_as::{AuthorizationServer, ProtocolError, Store};

pub const CREDENTIAL_TYPE: &str = "PensionResourceCredential";
const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

#[derive(Clone, Debug, Serialize, Deserialize)]
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

    async fn post_json(&self, issuer: &str, request: reqwest::RequestBuilder) -> Result<Value, ReceiveError> {
        let failed = |why: String| ReceiveError::Issuer(issuer.to_string(), why);
        let response = request.send().await.map_err(|e| failed(format!("unreachable: {e}")))?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| failed(format!("unreadable answer: {e}")))?;
        if !status.is_success() {
            let code = body["error"].as_str().unwrap_or("error");
            return Err(failed(format!("{code}: {}", body["error_description"].as_str().unwrap_or(""))));
        }
        Ok(body)
    }

    /// Runs the pre-authorized code flow for an offer and stores the credential.
    pub async fn receive(&self, offer: &Value) -> Result<StoredCredential, ReceiveError> {
        let issuer = offer["credential_issuer"].as_str().ok_or_else(|| ReceiveError::Issuer("offer".into(), "no credential_issuer".into()))?;
        let failed = |why: &str| ReceiveError::Issuer(issuer.to_string(), why.to_string());
        if !offer["credential_configuration_ids"].as_array().is_some_and(|ids| ids.iter().any(|i| i == CREDENTIAL_TYPE)) {
            return Err(failed("the offer is not for a PensionResourceCredential"));
        }
        let code = offer["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"].as_str().ok_or_else(|| failed("no pre-authorized code"))?;
        let metadata = self.post_json(issuer, self.http.get(format!("{issuer}/.well-known/openid-credential-issuer"))).await?;
        if metadata["credential_issuer"] != issuer {
            return Err(failed("its metadata names another issuer"));
        }
        let as_metadata = self.post_json(issuer, self.http.get(format!("{issuer}/.well-known/oauth-authorization-server"))).await?;
        let (Some(credential_endpoint), Some(nonce_endpoint), Some(token_endpoint)) =
            (metadata["credential_endpoint"].as_str(), metadata["nonce_endpoint"].as_str(), as_metadata["token_endpoint"].as_str())
        else {
            return Err(failed("its metadata lacks an endpoint"));
        };
        let token = self.post_json(issuer, self.http.post(token_endpoint).form(&[("grant_type", PRE_AUTHORIZED_GRANT), ("pre-authorized_code", code)])).await?;
        let access_token = token["access_token"].as_str().ok_or_else(|| failed("no access token"))?;
        let nonce = self.post_json(issuer, self.http.post(nonce_endpoint)).await?;
        let c_nonce = nonce["c_nonce"].as_str().ok_or_else(|| failed("no c_nonce"))?;
        let key = self.server.signing_key();
        let proof = key.sign_with_header(
            &json!({ "typ": "openid4vci-proof+jwt", "kid": key.did_key_url() }),
            &json!({ "aud": issuer, "iat": self.server.now(), "nonce": c_nonce }),
        );
        let request = json!({ "credential_configuration_id": CREDENTIAL_TYPE, "proofs": { "jwt": [proof] } });
        let answer = self.post_json(issuer, self.http.post(credential_endpoint).bearer_auth(access_token).json(&request)).await?;
        let jwt = answer["credentials"][0]["credential"].as_str().ok_or_else(|| failed("no credential in the answer"))?;
        let stored = self.check(jwt, issuer).await?;
        self.store_superseding(&stored)?;
        self.server.flush().await?;
        Ok(stored)
    }

    /// Verifies a received credential and reads what the store keeps of it.
    async fn check(&self, jwt: &str, credential_issuer: &str) -> Result<StoredCredential, ReceiveError> {
        let claims = vc::verify_jwt_vc(jwt).await.map_err(ReceiveError::Invalid)?;
        if claims["sub"] != self.did() {
            return Err(ReceiveError::Invalid("it is bound to another holder".into()));
        }
        if !claims["vc"]["type"].as_array().is_some_and(|t| t.iter().any(|t| t == CREDENTIAL_TYPE)) {
            return Err(ReceiveError::Invalid(format!("it is not a {CREDENTIAL_TYPE}")));
        }
        let subject = &claims["vc"]["credentialSubject"];
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

    fn store_superseding(&self, stored: &StoredCredential) -> Result<(), uma_as::StoreError> {
        for mut older in self.store.values()? {
            if older.pei == stored.pei && older.status == "active" {
                older.status = "superseded".into();
                self.store.insert(&older.id, &older)?;
            }
        }
        self.store.insert(&stored.id, stored)
    }

    pub fn list(&self) -> Result<Vec<StoredCredential>, ProtocolError> {
        let mut all = self.store.values()?;
        all.sort_by(|a, b| b.received_at.cmp(&a.received_at).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    pub fn get(&self, id: &str) -> Result<StoredCredential, ProtocolError> {
        self.store.get(id)?.ok_or_else(|| ProtocolError::not_found("no such credential"))
    }

    /// The credential with its decoded claims.
    pub fn show(&self, id: &str) -> Result<Value, ProtocolError> {
        let stored = self.get(id)?;
        let claims = vc::decode_claims(&stored.jwt).unwrap_or(Value::Null);
        let mut view = json!(stored);
        view["claims"] = claims;
        Ok(view)
    }

    /// Verifies a stored credential again.
    pub async fn verify(&self, id: &str) -> Result<Value, ProtocolError> {
        let stored = self.get(id)?;
        Ok(match self.check(&stored.jwt, &stored.credential_issuer).await {
            Ok(_) => json!({ "id": id, "verified": true }),
            Err(e) => json!({ "id": id, "verified": false, "reason": e.to_string() }),
        })
    }

    pub async fn delete(&self, id: &str) -> Result<(), ProtocolError> {
        if !self.store.remove(id)? {
            return Err(ProtocolError::not_found("no such credential"));
        }
        self.server.flush().await?;
        Ok(())
    }
}

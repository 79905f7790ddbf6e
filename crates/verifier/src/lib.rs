//! A verifier that knows nothing of the wallet but its DID: it checks an
//! access grant credential the way any third party would, with SpruceID's
//! ssi (VC-JOSE-COSE signature by the issuer's did:key, resolved offline;
//! `validFrom`/`validUntil`) and ssi-status (the Bitstring Status List the
//! credential points to, fetched over HTTP and verified as a credential of
//! the same issuer).
//!
//! It shares no code with the wallet that issues the credentials: a
//! mistake on one side shows up as a refusal on the other.

use did_method_key::DIDKey;
use serde_json::Value;
use ssi_claims::jws::JwsStr;
use ssi_claims::vc_jose_cose::JoseVc;
use ssi_claims::VerificationParameters;
use ssi_dids_core::DIDResolver;
use ssi_status::bitstring_status_list::{BitString, EncodedList, StatusSize};
use ssi_verification_methods::AnyJwkMethod;

/// No credential or status list is larger.
const MAX_DOCUMENT: usize = 1024 * 1024;
/// A status list inflates to at most this many bytes (the specification's
/// minimum list is 16 KiB).
const MAX_LIST: u64 = 2 * 1024 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refused {
    #[error("not a credential: {0}")]
    Malformed(String),
    #[error("the signature does not verify: {0}")]
    BadSignature(String),
    #[error("the credential is not valid now: {0}")]
    NotValid(String),
    #[error("the issuer is not the DID whose key signed it")]
    WrongSigner,
    #[error("the status list cannot be checked: {0}")]
    StatusUnavailable(String),
    #[error("the credential has been revoked")]
    Revoked,
}

/// A credential that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub issuer: String,
    pub credential: Value,
}

/// Verifies a VC-JOSE credential signed by the did:key its `kid` names,
/// with its validity period, and returns its JSON with the signer.
pub async fn verify_signed(jwt: &str) -> Result<(String, Value), Refused> {
    let jws = JwsStr::new(jwt.trim()).map_err(|e| Refused::Malformed(e.to_string()))?;
    let decoded = JoseVc::decode_any(jws).map_err(|e| Refused::Malformed(e.to_string()))?;
    // A did:key names no algorithm; the credential must say EdDSA. ssi
    // leaves `typ` alone, so a JWT of another kind is refused here.
    if decoded.header().algorithm != ssi_jwk::Algorithm::EdDSA {
        return Err(Refused::BadSignature("not EdDSA".into()));
    }
    if decoded.header().type_.as_deref() != Some("vc+jwt") {
        return Err(Refused::Malformed("not a vc+jwt".into()));
    }
    let params = VerificationParameters::from_resolver(DIDKey.into_vm_resolver::<AnyJwkMethod>());
    decoded
        .verify(&params)
        .await
        .map_err(|e| Refused::BadSignature(e.to_string()))?
        .map_err(|e| Refused::NotValid(e.to_string()))?;
    let signer = decoded.header().key_id.as_deref().unwrap_or_default().split('#').next().unwrap_or_default().to_string();
    let credential = serde_json::to_value(&decoded.signing_bytes.payload.0).map_err(|e| Refused::Malformed(e.to_string()))?;
    let issuer = credential["issuer"].as_str().or(credential["issuer"]["id"].as_str()).unwrap_or_default().to_string();
    if signer.is_empty() || issuer != signer {
        return Err(Refused::WrongSigner);
    }
    Ok((issuer, credential))
}

fn has_type(credential: &Value, wanted: &str) -> bool {
    credential["type"].as_array().is_some_and(|types| types.iter().any(|t| t == wanted))
}

/// Verifies an access grant credential: signed, valid now, of type
/// `AccessGrantCredential`, with a `BitstringStatusListEntry` whose bit is
/// not set in the issuer's status list.
pub async fn verify(jwt: &str, http: &reqwest::Client) -> Result<Accepted, Refused> {
    let (issuer, credential) = verify_signed(jwt).await?;
    if !has_type(&credential, "AccessGrantCredential") {
        return Err(Refused::Malformed("not an AccessGrantCredential".into()));
    }
    let status = credential.get("credentialStatus").ok_or_else(|| Refused::StatusUnavailable("no credentialStatus".into()))?;
    check_status(status, &issuer, http).await?;
    Ok(Accepted { issuer, credential })
}

async fn check_status(status: &Value, issuer: &str, http: &reqwest::Client) -> Result<(), Refused> {
    let unavailable = |why: String| Refused::StatusUnavailable(why);
    if status["type"] != "BitstringStatusListEntry" || status["statusPurpose"] != "revocation" {
        return Err(unavailable("not a revocation BitstringStatusListEntry".into()));
    }
    let index: usize = status["statusListIndex"].as_str().and_then(|i| i.parse().ok()).ok_or_else(|| unavailable("no statusListIndex".into()))?;
    let list_id = status["statusListCredential"].as_str().ok_or_else(|| unavailable("no statusListCredential".into()))?;
    let url = http_guard::outbound::secure_url(list_id).map_err(|e| unavailable(e.to_string()))?;
    let response = http.get(url).send().await.map_err(|e| unavailable(e.to_string()))?;
    if !response.status().is_success() {
        return Err(unavailable(format!("HTTP {}", response.status())));
    }
    let body = http_guard::outbound::read_capped(response, MAX_DOCUMENT).await.map_err(|e| unavailable(e.to_string()))?;
    let list = String::from_utf8(body).map_err(|_| unavailable("the status list is not text".into()))?;
    let (list_issuer, list) = verify_signed(&list).await.map_err(|e| unavailable(format!("the status list: {e}")))?;
    if list_issuer != issuer {
        return Err(unavailable("the status list is not the credential issuer's".into()));
    }
    if !has_type(&list, "BitstringStatusListCredential") || list["id"].as_str() != Some(list_id) {
        return Err(unavailable("not the status list the credential names".into()));
    }
    let subject = &list["credentialSubject"];
    if subject["type"] != "BitstringStatusList" || subject["statusPurpose"] != "revocation" {
        return Err(unavailable("not a revocation BitstringStatusList".into()));
    }
    let encoded = subject["encodedList"].as_str().ok_or_else(|| unavailable("no encodedList".into()))?;
    let bytes = EncodedList::new(encoded.to_string()).decode(Some(MAX_LIST)).map_err(|e| unavailable(e.to_string()))?;
    if bytes.len() < EncodedList::MINIMUM_SIZE {
        return Err(unavailable("the status list is shorter than the specification's minimum".into()));
    }
    match BitString::from_bytes(bytes).get(StatusSize::default(), index) {
        Some(0) => Ok(()),
        Some(_) => Err(Refused::Revoked),
        None => Err(unavailable(format!("index {index} is outside the list"))),
    }
}

//! Verifying received credentials with SpruceID's ssi crates: VCDM 1.1 JWT-VCs
//! (`jwt_vc_json`), EdDSA, issuer key resolved from the did:key in `kid`
//! (offline, ssi's DIDKey resolver).

use serde_json::Value;
use did_method_key::DIDKey;
use ssi_claims::jws::JwsStr;
use ssi_claims::jwt::ToDecodedJwt;
use ssi_claims::VerificationParameters;
use ssi_dids_core::DIDResolver;
use ssi_verification_methods::AnyJwkMethod;

/// Verifies the signature and the time claims (`nbf`, `iat`, `exp`), and
/// that `iss` is the DID whose key signed it; returns the claims.
pub async fn verify_jwt_vc(jwt: &str) -> Result<Value, String> {
    let signed = verify_did_jws(jwt).await?;
    if signed.claims["iss"].as_str() != Some(signed.signer.as_str()) {
        return Err("iss is not the DID whose key signed it".into());
    }
    Ok(signed.claims)
}

/// A JWT whose signature a did:key verified.
pub struct DidSigned {
    /// The DID whose key signed it (the `kid` without its fragment).
    pub signer: String,
    /// The JOSE header's `typ`.
    pub typ: Option<String>,
    pub claims: Value,
}

/// Verifies an EdDSA JWT signed by the did:key its `kid` names, with its
/// time claims.
pub async fn verify_did_jws(jwt: &str) -> Result<DidSigned, String> {
    let jws = JwsStr::new(jwt).map_err(|e| format!("not a compact JWS: {e}"))?;
    let decoded = jws.to_decoded_jwt().map_err(|e| format!("undecodable JWT: {e}"))?;
    // ssi accepts an Ed25519 signature whatever `alg` says, since did:key
    // keys carry no `alg`: pin the algorithm here.
    if decoded.header().algorithm != ssi_jwk::Algorithm::EdDSA {
        return Err("it is not signed with EdDSA".into());
    }
    let params = VerificationParameters::from_resolver(DIDKey.into_vm_resolver::<AnyJwkMethod>());
    decoded
        .verify(&params)
        .await
        .map_err(|e| format!("cannot check the signature: {e}"))?
        .map_err(|e| format!("invalid: {e}"))?;
    // ssi does not tie the signer to anything the caller expects: say who it was.
    let kid = decoded.header().key_id.as_deref().unwrap_or_default();
    let signer = kid.split('#').next().unwrap_or_default().to_string();
    if signer.is_empty() {
        return Err("the signature names no key".into());
    }
    let claims = serde_json::to_value(&decoded.signing_bytes.payload).map_err(|e| e.to_string())?;
    Ok(DidSigned { signer, typ: decoded.header().type_.clone(), claims })
}

/// The claims of a JWT, unverified, for display.
pub fn decode_claims(jwt: &str) -> Option<Value> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

//! SD-JWT VC (IETF draft-ietf-oauth-sd-jwt-vc, on RFC 9901 SD-JWT) as the
//! wallet and its peers use it: an identity service issues one, the wallet
//! presents a part of it with a key-binding JWT for one verifier, and the
//! verifier (a pension provider) checks all of it.
//!
//! The SD-JWT mechanics (concealing claims, disclosures, digests, revealing)
//! are ssi's `ssi-sd-jwt`. What this crate adds is the profile: the JOSE
//! `typ` values, EdDSA only, the issuer's key by `kid`, `cnf.jwk` holder
//! binding, the key-binding JWT's audience, nonce, age and `sd_hash`, and
//! errors a caller can act on. Every check is made before a claim is
//! returned; a credential that fails one returns nothing.

use serde_json::{json, Map, Value};
use ssi_claims::jws::{self, Header};
use ssi_claims::sd_jwt::{SdAlg, SdHash, SdJwt, SdJwtBuf, SdJwtPayload};
use ssi_jwk::{Algorithm, JWK};

/// The credential type (`vct`) of an identity credential: what a
/// provider matches a member on.
pub const IDENTITY_VCT: &str = "urn:pensions-wallet:vct:identity:1";
/// The credential type of an adviser credential: a regulator vouches that
/// its holder is an authorised financial adviser.
pub const ADVISER_VCT: &str = "urn:pensions-wallet:vct:adviser:1";
/// The JOSE `typ` of an issued SD-JWT VC.
pub const CREDENTIAL_TYPE: &str = "dc+sd-jwt";
/// The JOSE `typ` of a key-binding JWT.
pub const KEY_BINDING_TYPE: &str = "kb+jwt";
/// A key-binding JWT older than this is refused: with the verifier's
/// single-use nonce it makes a presentation good for one request only.
pub const MAX_KEY_BINDING_AGE: i64 = 300;
/// Clock skew allowed between the parties' clocks.
const LEEWAY: i64 = 60;
/// No credential or presentation is larger: it is a few claims.
pub const MAX_LENGTH: usize = 16 * 1024;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SdJwtError {
    #[error("not a well-formed SD-JWT: {0}")]
    Malformed(String),
    #[error("not an SD-JWT VC (typ must be {CREDENTIAL_TYPE}, alg EdDSA)")]
    WrongType,
    #[error("the issuer has no key {0:?}")]
    UnknownKey(String),
    #[error("the issuer's signature does not verify")]
    BadSignature,
    #[error("the credential has expired or is not valid yet")]
    Expired,
    #[error("a disclosure does not match the credential: {0}")]
    BadDisclosure(String),
    #[error("the credential is not bound to a holder key")]
    NoHolderKey,
    #[error("the presentation has no key-binding JWT")]
    NoKeyBinding,
    #[error("the key-binding JWT is not signed by the credential's holder")]
    BadKeyBinding,
    #[error("the presentation is for another verifier")]
    WrongAudience,
    #[error("the presentation is too old or from the future")]
    Stale,
    #[error("the key-binding JWT is for another presentation (sd_hash)")]
    WrongPresentation,
    #[error("cannot sign: {0}")]
    Signing(String),
}

fn malformed(e: impl std::fmt::Display) -> SdJwtError {
    SdJwtError::Malformed(e.to_string())
}

/// An issuer's signing key (Ed25519), with its `kid`.
pub struct IssuerKey {
    jwk: JWK,
}

impl IssuerKey {
    pub fn generate() -> IssuerKey {
        let mut jwk = JWK::generate_ed25519().expect("OS random generator");
        let thumbprint = jwk.thumbprint().expect("an Ed25519 key has a thumbprint");
        jwk.key_id = Some(thumbprint);
        jwk.algorithm = Some(Algorithm::EdDSA);
        IssuerKey { jwk }
    }

    pub fn kid(&self) -> &str {
        self.jwk.key_id.as_deref().unwrap_or_default()
    }

    /// The public key set (`{"keys": [...]}`) verifiers fetch.
    pub fn public_jwks(&self) -> Value {
        json!({ "keys": [serde_json::to_value(self.jwk.to_public()).expect("a JWK serializes")] })
    }

    /// Issues an SD-JWT VC: `claims` (with `iss`, `vct`, `iat`, `exp` and
    /// `cnf` among them), each claim at `disclosable` (JSON pointers, e.g.
    /// `/given_name`, `/address/postal_code`) concealed behind a digest.
    pub fn issue(&self, claims: &Value, disclosable: &[&str]) -> Result<String, SdJwtError> {
        let pointers = disclosable
            .iter()
            .map(|p| ssi_claims::sd_jwt::JsonPointerBuf::new(p.to_string()).map_err(|_| malformed(format!("bad pointer {p}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let (payload, disclosures) = SdJwtPayload::conceal(claims, SdAlg::Sha256, &pointers).map_err(malformed)?;
        let header = Header {
            algorithm: Algorithm::EdDSA,
            key_id: self.jwk.key_id.clone(),
            type_: Some(CREDENTIAL_TYPE.into()),
            ..Default::default()
        };
        let payload = serde_json::to_string(&payload).map_err(malformed)?;
        let mut compact = jws::encode_sign_custom_header(&payload, &self.jwk, &header).map_err(|e| SdJwtError::Signing(e.to_string()))?;
        compact.push('~');
        for disclosure in disclosures {
            compact.push_str(disclosure.encoded.as_str());
            compact.push('~');
        }
        Ok(compact)
    }
}

/// A credential whose every check passed.
#[derive(Clone, Debug, PartialEq)]
pub struct Verified {
    pub issuer: String,
    pub vct: String,
    /// Every claim revealed (the disclosed ones and the always-visible
    /// ones), without the SD-JWT machinery (`_sd`, `_sd_alg`).
    pub claims: Map<String, Value>,
    /// The holder's public key (`cnf.jwk`).
    pub holder_key: Value,
    pub issued_at: i64,
    pub expires_at: i64,
}

/// A presentation whose every check passed, and the nonce it carried, for
/// the verifier to spend.
#[derive(Clone, Debug, PartialEq)]
pub struct Presented {
    pub credential: Verified,
    pub nonce: String,
}

fn parse(compact: &str) -> Result<&SdJwt, SdJwtError> {
    if compact.len() > MAX_LENGTH {
        return Err(malformed("too long"));
    }
    SdJwt::new(compact).map_err(|_| malformed("not an SD-JWT"))
}

/// The issuer a credential or presentation names, read before anything is
/// verified, so the caller can decide whether it trusts it and fetch its
/// keys. Nothing read here may be used for anything else.
pub fn unverified_issuer(compact: &str) -> Option<String> {
    let sd_jwt = parse(compact).ok()?;
    let (_, payload) = jws::decode_unverified(sd_jwt.jwt().as_str()).ok()?;
    let claims: Value = serde_json::from_slice(&payload).ok()?;
    claims["iss"].as_str().map(String::from)
}

/// Every claim of a credential, revealed but not verified: for showing the
/// holder what a credential it verified on receipt says.
pub fn unverified_claims(compact: &str) -> Option<Map<String, Value>> {
    let sd_jwt = parse(compact).ok()?;
    let revealed = sd_jwt.trim_kb().decode_reveal_any().ok()?;
    match serde_json::to_value(revealed.claims()).ok()? {
        Value::Object(mut claims) => {
            claims.remove("_sd_alg");
            Some(claims)
        }
        _ => None,
    }
}

fn public_key(jwk: &Value) -> Result<JWK, SdJwtError> {
    if jwk.get("d").is_some() {
        return Err(SdJwtError::NoHolderKey);
    }
    let key: JWK = serde_json::from_value(jwk.clone()).map_err(|_| SdJwtError::NoHolderKey)?;
    match &key.params {
        ssi_jwk::Params::OKP(okp) if okp.curve == "Ed25519" => Ok(key),
        _ => Err(SdJwtError::NoHolderKey),
    }
}

/// Checks the issuer-signed part and reveals the disclosures present.
fn verify_issued(sd_jwt: &SdJwt, issuer_jwks: &Value, now: i64) -> Result<Verified, SdJwtError> {
    let issuer_jwt = sd_jwt.jwt().as_str();
    let (header, _) = jws::decode_unverified(issuer_jwt).map_err(malformed)?;
    if header.type_.as_deref() != Some(CREDENTIAL_TYPE) || header.algorithm != Algorithm::EdDSA {
        return Err(SdJwtError::WrongType);
    }
    let kid = header.key_id.clone().unwrap_or_default();
    let key = issuer_jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|k| k["kid"].as_str() == Some(kid.as_str()))
        .ok_or_else(|| SdJwtError::UnknownKey(kid.clone()))?;
    let key: JWK = serde_json::from_value(key.clone()).map_err(|_| SdJwtError::UnknownKey(kid.clone()))?;
    jws::decode_verify(issuer_jwt, &key).map_err(|_| SdJwtError::BadSignature)?;

    let revealed = sd_jwt.trim_kb().decode_reveal_any().map_err(|e| SdJwtError::BadDisclosure(e.to_string()))?;
    let Value::Object(mut claims) = serde_json::to_value(revealed.claims()).map_err(malformed)? else {
        return Err(malformed("the claims are not an object"));
    };
    claims.remove("_sd_alg");
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(String::from);
    let number = |name: &str| claims.get(name).and_then(Value::as_i64);
    let issuer = text("iss").ok_or_else(|| malformed("no iss"))?;
    let vct = text("vct").ok_or_else(|| malformed("no vct"))?;
    let issued_at = number("iat").ok_or_else(|| malformed("no iat"))?;
    let expires_at = number("exp").ok_or_else(|| malformed("no exp"))?;
    let not_before = number("nbf").unwrap_or(issued_at);
    if expires_at <= now || issued_at > now + LEEWAY || not_before > now + LEEWAY {
        return Err(SdJwtError::Expired);
    }
    let holder_key = claims.get("cnf").and_then(|c| c.get("jwk")).cloned().ok_or(SdJwtError::NoHolderKey)?;
    public_key(&holder_key)?;
    Ok(Verified { issuer, vct, claims, holder_key, issued_at, expires_at })
}

/// Verifies an issued credential as its holder receives it (no key
/// binding): the issuer's signature under `issuer_jwks`, its type, its
/// times, its holder key, and every disclosure against its digest.
pub fn verify_credential(compact: &str, issuer_jwks: &Value, now: i64) -> Result<Verified, SdJwtError> {
    let sd_jwt = parse(compact)?;
    if sd_jwt.has_kb() {
        return Err(malformed("an issued credential has no key-binding JWT"));
    }
    verify_issued(sd_jwt, issuer_jwks, now)
}

/// A presentation of `compact` for one verifier: only the disclosures at
/// `disclose` (JSON pointers) are kept, and a key-binding JWT for
/// `audience` and `nonce` is signed by `sign_key_binding`, which receives
/// the KB-JWT claims and returns the compact JWS (`typ` `kb+jwt`) signed
/// with the key in the credential's `cnf`.
pub fn present(
    compact: &str,
    disclose: &[&str],
    audience: &str,
    nonce: &str,
    now: i64,
    sign_key_binding: impl FnOnce(&Value) -> String,
) -> Result<String, SdJwtError> {
    let sd_jwt = parse(compact)?;
    let revealed = sd_jwt.trim_kb().decode_reveal_any().map_err(|e| SdJwtError::BadDisclosure(e.to_string()))?;
    let keep = disclose
        .iter()
        .map(|p| ssi_claims::sd_jwt::JsonPointerBuf::new(p.to_string()).map_err(|_| malformed(format!("bad pointer {p}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let kept: SdJwtBuf = revealed.retaining(&keep).into_encoded();
    let sd_hash = SdHash::new(SdAlg::Sha256, &kept);
    let key_binding = sign_key_binding(&json!({ "iat": now, "aud": audience, "nonce": nonce, "sd_hash": sd_hash.0 }));
    let mut presentation = kept.into_string();
    presentation.push_str(&key_binding);
    Ok(presentation)
}

/// Verifies a presentation made for `audience`: everything
/// [`verify_credential`] checks, then the key-binding JWT: signed by the
/// credential's holder key, `typ` `kb+jwt`, for this audience, at most
/// [`MAX_KEY_BINDING_AGE`] old, and over exactly this presentation
/// (`sd_hash`). The nonce is returned for the caller to spend: it alone
/// knows which nonces it issued.
pub fn verify_presentation(presentation: &str, issuer_jwks: &Value, audience: &str, now: i64) -> Result<Presented, SdJwtError> {
    let sd_jwt = parse(presentation)?;
    let key_binding = sd_jwt.kb().ok_or(SdJwtError::NoKeyBinding)?;
    let credential = verify_issued(sd_jwt, issuer_jwks, now)?;
    let holder = public_key(&credential.holder_key)?;
    let (header, payload) = jws::decode_verify(key_binding.as_str(), &holder).map_err(|_| SdJwtError::BadKeyBinding)?;
    if header.type_.as_deref() != Some(KEY_BINDING_TYPE) || header.algorithm != Algorithm::EdDSA {
        return Err(SdJwtError::BadKeyBinding);
    }
    let claims: Value = serde_json::from_slice(&payload).map_err(|_| SdJwtError::BadKeyBinding)?;
    if claims["aud"].as_str().map(|a| a.trim_end_matches('/')) != Some(audience.trim_end_matches('/')) {
        return Err(SdJwtError::WrongAudience);
    }
    let issued_at = claims["iat"].as_i64().ok_or(SdJwtError::BadKeyBinding)?;
    if issued_at > now + LEEWAY || now - issued_at > MAX_KEY_BINDING_AGE {
        return Err(SdJwtError::Stale);
    }
    let sd_hash = claims["sd_hash"].as_str().ok_or(SdJwtError::WrongPresentation)?;
    if !SdHash(sd_hash.into()).verify(SdAlg::Sha256, sd_jwt) {
        return Err(SdJwtError::WrongPresentation);
    }
    let nonce = claims["nonce"].as_str().filter(|n| !n.is_empty()).ok_or(SdJwtError::BadKeyBinding)?.to_string();
    Ok(Presented { credential, nonce })
}

/// The same Ed25519 public key, whatever else the two JWKs say (`kid`,
/// `alg`, `use`).
pub fn same_key(a: &Value, b: &Value) -> bool {
    fn x(k: &Value) -> Option<&str> {
        (k["kty"].as_str() == Some("OKP") && k["crv"].as_str() == Some("Ed25519")).then(|| k["x"].as_str()).flatten()
    }
    x(a).is_some() && x(a) == x(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;
    const VERIFIER: &str = "https://provider.example";

    struct Holder {
        jwk: JWK,
    }

    impl Holder {
        fn new() -> Holder {
            Holder { jwk: JWK::generate_ed25519().unwrap() }
        }

        fn public(&self) -> Value {
            serde_json::to_value(self.jwk.to_public()).unwrap()
        }

        fn sign(&self, typ: &str, claims: &Value) -> String {
            let header = Header { algorithm: Algorithm::EdDSA, type_: Some(typ.into()), ..Default::default() };
            jws::encode_sign_custom_header(&claims.to_string(), &self.jwk, &header).unwrap()
        }
    }

    fn alice(issuer: &IssuerKey, holder: &Holder, expires_at: i64) -> String {
        let claims = json!({
            "iss": "https://identity.example",
            "vct": "urn:example:identity:1",
            "iat": NOW - 10,
            "exp": expires_at,
            "cnf": { "jwk": holder.public() },
            "given_name": "Alice",
            "family_name": "Archer",
            "birthdate": "1975-04-12",
            "address": { "street_address": "1 High Street", "postal_code": "SW1A 1AA" },
        });
        issuer.issue(&claims, &["/given_name", "/family_name", "/birthdate", "/address/street_address", "/address/postal_code"]).unwrap()
    }

    fn present_to(credential: &str, holder: &Holder, disclose: &[&str], audience: &str, at: i64) -> String {
        present(credential, disclose, audience, "n-1", at, |claims| holder.sign(KEY_BINDING_TYPE, claims)).unwrap()
    }

    #[test]
    fn an_issued_credential_verifies_with_every_claim_and_its_holder_key() {
        let (issuer, holder) = (IssuerKey::generate(), Holder::new());
        let verified = verify_credential(&alice(&issuer, &holder, NOW + 3600), &issuer.public_jwks(), NOW).unwrap();
        assert_eq!(verified.issuer, "https://identity.example");
        assert_eq!(verified.claims["given_name"], "Alice");
        assert_eq!(verified.claims["address"]["postal_code"], "SW1A 1AA");
        assert!(same_key(&verified.holder_key, &holder.public()));
    }

    #[test]
    fn a_presentation_reveals_only_what_the_holder_chose() {
        let (issuer, holder) = (IssuerKey::generate(), Holder::new());
        let credential = alice(&issuer, &holder, NOW + 3600);
        let presentation = present_to(&credential, &holder, &["/given_name", "/birthdate", "/address/postal_code"], VERIFIER, NOW);
        let presented = verify_presentation(&presentation, &issuer.public_jwks(), VERIFIER, NOW).unwrap();
        let claims = &presented.credential.claims;
        assert_eq!(claims["given_name"], "Alice");
        assert_eq!(claims["address"]["postal_code"], "SW1A 1AA");
        assert!(claims.get("family_name").is_none());
        assert!(claims["address"].get("street_address").is_none());
        assert_eq!(presented.nonce, "n-1");
    }

    #[test]
    fn forged_expired_or_unknown_issuers_are_refused() {
        let (issuer, holder) = (IssuerKey::generate(), Holder::new());
        let credential = alice(&issuer, &holder, NOW + 3600);
        // Another issuer's keys.
        assert!(matches!(verify_credential(&credential, &IssuerKey::generate().public_jwks(), NOW), Err(SdJwtError::UnknownKey(_))));
        // A changed payload.
        let mut parts: Vec<String> = credential.splitn(2, '~').map(String::from).collect();
        let jwt: Vec<&str> = parts[0].split('.').collect();
        let forged_payload = {
            use base64::Engine;
            let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let mut claims: Value = serde_json::from_slice(&engine.decode(jwt[1]).unwrap()).unwrap();
            claims["exp"] = (NOW + 999_999).into();
            engine.encode(claims.to_string())
        };
        parts[0] = format!("{}.{}.{}", jwt[0], forged_payload, jwt[2]);
        assert_eq!(verify_credential(&parts.join("~"), &issuer.public_jwks(), NOW), Err(SdJwtError::BadSignature));
        // Expired.
        let old = alice(&issuer, &holder, NOW - 1);
        assert_eq!(verify_credential(&old, &issuer.public_jwks(), NOW), Err(SdJwtError::Expired));
    }

    #[test]
    fn a_disclosure_that_matches_no_digest_is_refused() {
        let (issuer, holder) = (IssuerKey::generate(), Holder::new());
        let credential = alice(&issuer, &holder, NOW + 3600);
        // A disclosure of the holder's own making: ["salt", "nino", "QQ123456C"].
        let made_up = {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"["c2FsdHNhbHRzYWx0","nino","QQ123456C"]"#)
        };
        let tampered = format!("{credential}{made_up}~");
        assert!(matches!(verify_credential(&tampered, &issuer.public_jwks(), NOW), Err(SdJwtError::BadDisclosure(_))));
    }

    #[test]
    fn the_key_binding_must_be_the_holders_for_this_verifier_now_and_this_presentation() {
        let (issuer, holder) = (IssuerKey::generate(), Holder::new());
        let jwks = issuer.public_jwks();
        let credential = alice(&issuer, &holder, NOW + 3600);
        let disclose = ["/given_name", "/birthdate"];

        // No key binding at all.
        assert_eq!(verify_presentation(&credential, &jwks, VERIFIER, NOW), Err(SdJwtError::NoKeyBinding));
        // Signed by someone who holds the credential but not its key.
        let thief = Holder::new();
        let stolen = present_to(&credential, &thief, &disclose, VERIFIER, NOW);
        assert_eq!(verify_presentation(&stolen, &jwks, VERIFIER, NOW), Err(SdJwtError::BadKeyBinding));
        // For another verifier.
        let elsewhere = present_to(&credential, &holder, &disclose, "https://other.example", NOW);
        assert_eq!(verify_presentation(&elsewhere, &jwks, VERIFIER, NOW), Err(SdJwtError::WrongAudience));
        // Too old.
        let old = present_to(&credential, &holder, &disclose, VERIFIER, NOW - MAX_KEY_BINDING_AGE - 1);
        assert_eq!(verify_presentation(&old, &jwks, VERIFIER, NOW), Err(SdJwtError::Stale));
        // A disclosure added after the holder signed.
        let presented = present_to(&credential, &holder, &disclose, VERIFIER, NOW);
        let family = credential.split('~').skip(1).find(|d| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(d).is_ok_and(|b| String::from_utf8_lossy(&b).contains("family_name"))
        });
        let (kept, key_binding) = presented.rsplit_once('~').unwrap();
        let widened = format!("{kept}~{}~{key_binding}", family.unwrap());
        assert_eq!(verify_presentation(&widened, &jwks, VERIFIER, NOW), Err(SdJwtError::WrongPresentation));
        // A key-binding JWT of another type.
        let untyped = present(&credential, &disclose, VERIFIER, "n-1", NOW, |c| holder.sign("JWT", c)).unwrap();
        assert_eq!(verify_presentation(&untyped, &jwks, VERIFIER, NOW), Err(SdJwtError::BadKeyBinding));
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        let jwks = IssuerKey::generate().public_jwks();
        for input in ["", "~", "a.b.c~", "a.b.c~~x", &"A".repeat(MAX_LENGTH + 1), "eyJ.eyJ.sig~WyJ9~"] {
            assert!(verify_presentation(input, &jwks, VERIFIER, NOW).is_err(), "{input:.20}");
            assert!(verify_credential(input, &jwks, NOW).is_err(), "{input:.20}");
            assert!(unverified_issuer(input).is_none());
        }
    }
}

//! The wallet's signing key: signs RPTs and jwt-bearer assertions (EdDSA),
//! published in the JWKS.
//!
//! One key signs several kinds of token, so each kind carries its own `typ`
//! ([`TokenType`]) and every verifier checks it: a token minted as one kind
//! is never accepted as another, whatever its claims look like.
//!
//! Minting uses ring directly on a parsed key pair, because re-parsing the
//! PKCS#8 document per signature (as a generic JWT encoder does) doubles the
//! cost of the grant path. Verification of other parties' tokens goes through
//! `jsonwebtoken`.

use crate::secret::random_bytes;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use ring::digest::{digest, SHA256};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;
use std::fmt;

/// The kinds of token this key signs, each with its own JOSE `typ`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenType {
    /// An RPT: a JWT access token (RFC 9068 §2.1).
    Rpt,
    /// A jwt-bearer assertion that lets one resource server connect (RFC 7523).
    Assertion,
    /// A find token: the owner's find data for one provider.
    FindToken,
    /// An OpenID4VCI key proof (OpenID4VCI 1.0 §8.2.1.1).
    KeyProof,
    /// An SD-JWT key-binding JWT: the wallet presenting its identity
    /// credential to one verifier (RFC 9901 §4.3).
    KeyBinding,
}

impl TokenType {
    pub const ALL: [TokenType; 5] = [TokenType::Rpt, TokenType::Assertion, TokenType::FindToken, TokenType::KeyProof, TokenType::KeyBinding];

    pub fn typ(self) -> &'static str {
        match self {
            TokenType::Rpt => "at+jwt",
            TokenType::Assertion => "uma-assertion+jwt",
            TokenType::FindToken => "find+jwt",
            TokenType::KeyProof => "openid4vci-proof+jwt",
            TokenType::KeyBinding => "kb+jwt",
        }
    }
}

pub struct SigningKey {
    pair: Ed25519KeyPair,
    pkcs8: zeroize::Zeroizing<Vec<u8>>,
    kid: String,
    /// `{"alg":"EdDSA","typ":"JWT","kid":…}` already base64url-encoded.
    encoded_header: String,
    /// The same with each [`TokenType`]'s `typ`, in [`TokenType::ALL`] order.
    typed_headers: [String; 5],
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl SigningKey {
    pub fn generate() -> Self {
        let rng = ring::rand::SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng).expect("OS random generator");
        Self::from_pkcs8(doc.as_ref()).expect("freshly generated key parses")
    }

    pub fn from_pkcs8(pkcs8: &[u8]) -> Option<Self> {
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8).ok()?;
        let kid = URL_SAFE_NO_PAD.encode(&digest(&SHA256, pair.public_key().as_ref()).as_ref()[..12]);
        let encode = |typ: &str| URL_SAFE_NO_PAD.encode(json!({"alg": "EdDSA", "typ": typ, "kid": kid}).to_string());
        let encoded_header = encode("JWT");
        let typed_headers = TokenType::ALL.map(|t| encode(t.typ()));
        Some(SigningKey { pair, pkcs8: zeroize::Zeroizing::new(pkcs8.to_vec()), kid, encoded_header, typed_headers })
    }

    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public key as a JWK (RFC 8037 OKP).
    pub fn public_jwk(&self) -> serde_json::Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(self.pair.public_key().as_ref()),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        })
    }

    /// The wallet's DID: did:key of this Ed25519 key
    /// (`did:key:z` + base58btc(0xed 0x01 ‖ public key)).
    pub fn did_key(&self) -> String {
        let mut bytes = vec![0xed, 0x01];
        bytes.extend_from_slice(self.pair.public_key().as_ref());
        format!("did:key:z{}", bs58::encode(bytes).into_string())
    }

    /// The DID's verification method URL, the `kid` of what the DID signs.
    pub fn did_key_url(&self) -> String {
        let did = self.did_key();
        format!("{did}#{}", did.trim_start_matches("did:key:"))
    }

    pub fn jwks(&self) -> serde_json::Value {
        json!({ "keys": [self.public_jwk()] })
    }

    /// A compact JWS over `claims` with the generic `typ` `JWT`.
    pub fn sign<C: Serialize>(&self, claims: &C) -> String {
        self.sign_encoded(&self.encoded_header, claims)
    }

    /// A compact JWS of one of this key's own kinds, with its `typ`.
    pub fn sign_typed<C: Serialize>(&self, kind: TokenType, claims: &C) -> String {
        let index = TokenType::ALL.iter().position(|t| *t == kind).expect("every kind is listed");
        self.sign_encoded(&self.typed_headers[index], claims)
    }

    /// A compact JWS with a header of the caller's (`alg` is set to EdDSA).
    pub fn sign_with_header<C: Serialize>(&self, header: &serde_json::Value, claims: &C) -> String {
        let mut header = header.clone();
        header["alg"] = "EdDSA".into();
        self.sign_encoded(&URL_SAFE_NO_PAD.encode(header.to_string()), claims)
    }

    fn sign_encoded<C: Serialize>(&self, encoded_header: &str, claims: &C) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialize"));
        let mut jws = String::with_capacity(encoded_header.len() + payload.len() + 90);
        jws.push_str(encoded_header);
        jws.push('.');
        jws.push_str(&payload);
        let signature = self.pair.sign(jws.as_bytes());
        jws.push('.');
        jws.push_str(&URL_SAFE_NO_PAD.encode(signature.as_ref()));
        jws
    }

    /// Verifies a JWS this key signed and returns its claims. Time-based claims
    /// are left to the caller, who holds the (possibly injected) clock.
    pub fn verify<C: DeserializeOwned>(&self, token: &str) -> Option<C> {
        let key = DecodingKey::from_ed_der(self.pair.public_key().as_ref());
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<C>(token, &key, &validation).ok().map(|d| d.claims)
    }

    /// [`SigningKey::verify`] for one kind: a token of another `typ` is refused.
    pub fn verify_typed<C: DeserializeOwned>(&self, kind: TokenType, token: &str) -> Option<C> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.typ.as_deref() != Some(kind.typ()) {
            return None;
        }
        self.verify(token)
    }
}

/// A fresh random JWT id.
pub fn new_jti() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<18>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_and_rejects_tampering() {
        let key = SigningKey::generate();
        let token = key.sign(&json!({"sub": "x", "n": 1}));
        let claims: serde_json::Value = key.verify(&token).unwrap();
        assert_eq!(claims["sub"], "x");
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"sub":"y","n":1}"#);
        parts[1] = &forged;
        assert!(key.verify::<serde_json::Value>(&parts.join(".")).is_none());
        assert!(SigningKey::generate().verify::<serde_json::Value>(&token).is_none());
    }

    #[test]
    fn a_token_of_one_kind_is_never_accepted_as_another() {
        let key = SigningKey::generate();
        let claims = json!({"iss": "i", "sub": "s", "aud": "a", "exp": 2, "iat": 1, "jti": "j"});
        for kind in TokenType::ALL {
            let token = key.sign_typed(kind, &claims);
            for other in TokenType::ALL {
                assert_eq!(key.verify_typed::<serde_json::Value>(other, &token).is_some(), kind == other, "{kind:?} as {other:?}");
            }
            assert!(key.verify_typed::<serde_json::Value>(kind, &key.sign(&claims)).is_none(), "plain JWT as {kind:?}");
        }
    }
}

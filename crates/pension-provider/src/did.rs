//! did:key for Ed25519 keys (https://w3c-ccg.github.io/did-method-key/):
//! `did:key:z` + base58btc(0xed 0x01 ‖ public key). Compact JWS signing and
//! verification with such keys, for the credentials this provider issues
//! and the key proofs it checks.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use serde_json::Value;

const ED25519_MULTICODEC: [u8; 2] = [0xed, 0x01];

/// The did:key of an Ed25519 public key.
pub fn did_key(public_key: &[u8]) -> String {
    let mut bytes = ED25519_MULTICODEC.to_vec();
    bytes.extend_from_slice(public_key);
    format!("did:key:z{}", bs58::encode(bytes).into_string())
}

/// The verification method URL of a did:key: `did:key:z…#z…`.
pub fn verification_method(did: &str) -> String {
    format!("{did}#{}", did.trim_start_matches("did:key:"))
}

/// The Ed25519 public key named by a did:key or its verification method URL.
pub fn public_key(did_or_url: &str) -> Option<[u8; 32]> {
    let (did, fragment) = did_or_url.split_once('#').unwrap_or((did_or_url, ""));
    let encoded = did.strip_prefix("did:key:z")?;
    if !fragment.is_empty() && fragment.trim_start_matches('z') != encoded {
        return None;
    }
    let bytes = bs58::decode(encoded).into_vec().ok()?;
    if bytes.len() != 34 || bytes[..2] != ED25519_MULTICODEC {
        return None;
    }
    bytes[2..].try_into().ok()
}

/// A compact JWS with this header and payload.
pub fn sign(key: &Ed25519KeyPair, header: &Value, payload: &Value) -> String {
    let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(payload.to_string()));
    let signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
}

/// Splits a compact JWS into its decoded header and payload, without
/// checking the signature.
pub fn peek(jws: &str) -> Option<(Value, Value)> {
    let mut parts = jws.split('.');
    let (header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let decode = |part: &str| serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(part).ok()?).ok();
    Some((decode(header)?, decode(payload)?))
}

/// Checks an EdDSA compact JWS against an Ed25519 public key.
pub fn verify(jws: &str, public_key: &[u8; 32]) -> bool {
    let Some((signing_input, signature)) = jws.rsplit_once('.') else { return false };
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else { return false };
    UnparsedPublicKey::new(&ED25519, public_key).verify(signing_input.as_bytes(), &signature).is_ok()
}

/// A fresh Ed25519 key pair.
pub fn generate() -> Ed25519KeyPair {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("OS random generator");
    Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("fresh key parses")
}

/// The did:key of a key pair.
pub fn did_of(key: &Ed25519KeyPair) -> String {
    did_key(key.public_key().as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_key_round_trips_and_matches_the_spec_prefix() {
        let key = generate();
        let did = did_of(&key);
        assert!(did.starts_with("did:key:z6Mk"), "{did}");
        assert_eq!(public_key(&did).unwrap(), key.public_key().as_ref());
        assert_eq!(public_key(&verification_method(&did)).unwrap(), key.public_key().as_ref());
        assert!(public_key("did:key:zQ3sh").is_none());
        assert!(public_key(&format!("{did}#zOther")).is_none());
    }

    #[test]
    fn signatures_verify_only_with_the_right_key() {
        let key = generate();
        let jws = sign(&key, &serde_json::json!({"alg": "EdDSA"}), &serde_json::json!({"a": 1}));
        let public: [u8; 32] = key.public_key().as_ref().try_into().unwrap();
        assert!(verify(&jws, &public));
        let other: [u8; 32] = generate().public_key().as_ref().try_into().unwrap();
        assert!(!verify(&jws, &other));
        assert_eq!(peek(&jws).unwrap().1["a"], 1);
    }
}

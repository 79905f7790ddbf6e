//! The governance registry: one document, signed by the registry's key,
//! that every party is configured to trust, listing who is who in the
//! ecosystem (PDP's "common trust source"): identity services, pension
//! providers, authorization servers (wallets), clients (dashboards,
//! advisers' platforms) and regulators, each with its role, name, status,
//! and its keys or DID.
//!
//! The document travels as a compact JWS (`typ` [`REGISTRY_TYPE`], EdDSA)
//! whose claims are `iss` (the registry key's did:key), `iat`, `exp` and
//! `registry` ([`Registry`]). A party verifies it with the did:key it was
//! configured with; a registry whose signature, type, key, times or any
//! entry fails is refused whole ([`verify`]).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The JOSE `typ` of a signed registry.
pub const REGISTRY_TYPE: &str = "governance-registry+jwt";
/// No registry is larger: a country's participants fit well within it.
pub const MAX_SIZE: usize = 4 * 1024 * 1024;
pub const MAX_ENTRIES: usize = 20_000;
const MAX_NAME: usize = 200;
/// Clock skew allowed on `iat`.
const LEEWAY: i64 = 300;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Checks people's identity and issues identity credentials; `jwks`
    /// holds its credential signing keys.
    IdentityIssuer,
    /// A pension provider (resource server and credential issuer); `did`
    /// signs its credentials.
    PensionProvider,
    /// An authorization server: a person's wallet, or a hosted one.
    AuthorizationServer,
    /// A dashboard or an adviser's platform asking for access; `id` is its
    /// software id and `jwks` the keys it authenticates with.
    Client,
    /// Issues credentials about professionals (e.g. financial advisers):
    /// `id` its issuer URL, `jwks` the keys that sign them.
    Regulator,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::IdentityIssuer => "identity service",
            Role::PensionProvider => "pension provider",
            Role::AuthorizationServer => "authorization server",
            Role::Client => "client",
            Role::Regulator => "regulator",
        }
    }
}

/// One participant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub role: Role,
    /// Its URL (identity services, providers, authorization servers,
    /// regulators), or its software id (clients).
    pub id: String,
    /// The name people know it by.
    pub name: String,
    /// What the registry vouches for, in words for people: "FCA-authorised
    /// financial adviser platform", "Pensions dashboard, MaPS-connected".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub did: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
}

/// The registry document.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    pub name: String,
    /// Grows with every edition: a party never goes back to an older one.
    pub version: u64,
    pub entries: Vec<Entry>,
}

/// A registry whose signature and every entry checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Signed {
    pub registry: Registry,
    /// The did:key that signed it.
    pub signer: String,
    pub issued_at: i64,
    pub expires_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("not a signed registry: {0}")]
    Malformed(String),
    #[error("the registry is signed by {found}, not by the registry key this party trusts ({trusted})")]
    UnknownKey { found: String, trusted: String },
    #[error("the registry's signature does not verify")]
    BadSignature,
    #[error("the registry has expired or is not valid yet")]
    Expired,
    #[error("entry {index} ({id:?}): {why}")]
    BadEntry { index: usize, id: String, why: String },
    #[error("not a usable registry key: {0}")]
    BadKey(String),
}

fn malformed(why: impl std::fmt::Display) -> RegistryError {
    RegistryError::Malformed(why.to_string())
}

/// The Ed25519 public key inside an Ed25519 did:key.
pub fn did_key_public(did: &str) -> Result<[u8; 32], RegistryError> {
    let encoded = did.strip_prefix("did:key:z").ok_or_else(|| RegistryError::BadKey(format!("{did:?} is not a did:key")))?;
    let bytes = bs58::decode(encoded).into_vec().map_err(|_| RegistryError::BadKey(format!("{did:?} is not base58")))?;
    match bytes.as_slice() {
        [0xed, 0x01, key @ ..] if key.len() == 32 => Ok(key.try_into().expect("32 bytes")),
        _ => Err(RegistryError::BadKey(format!("{did:?} is not an Ed25519 did:key"))),
    }
}

fn did_key_of(public: &[u8]) -> String {
    let mut bytes = vec![0xed, 0x01];
    bytes.extend_from_slice(public);
    format!("did:key:z{}", bs58::encode(bytes).into_string())
}

/// The registry's signing key (Ed25519), kept as PKCS#8.
pub struct RegistryKey {
    pair: Ed25519KeyPair,
    pkcs8: zeroize::Zeroizing<Vec<u8>>,
}

impl RegistryKey {
    pub fn generate() -> RegistryKey {
        let document = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).expect("OS random generator");
        RegistryKey::from_pkcs8(document.as_ref()).expect("a fresh key parses")
    }

    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<RegistryKey, RegistryError> {
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|_| RegistryError::BadKey("not an Ed25519 PKCS#8 key".into()))?;
        Ok(RegistryKey { pair, pkcs8: zeroize::Zeroizing::new(pkcs8.to_vec()) })
    }

    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The did:key parties are configured with.
    pub fn did(&self) -> String {
        did_key_of(self.pair.public_key().as_ref())
    }

    /// Signs `registry`, valid from `now` for `lifetime` seconds, after
    /// checking it as a verifier would.
    pub fn sign(&self, registry: &Registry, now: i64, lifetime: i64) -> Result<String, RegistryError> {
        check_entries(registry)?;
        let did = self.did();
        let header = json!({ "alg": "EdDSA", "typ": REGISTRY_TYPE, "kid": format!("{did}#{}", did.trim_start_matches("did:key:")) });
        let claims = json!({ "iss": did, "iat": now, "exp": now + lifetime, "registry": registry });
        let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let signature = self.pair.sign(signing_input.as_bytes());
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref())))
    }
}

/// Verifies a signed registry against the did:key this party trusts.
pub fn verify(jws: &str, trusted_key: &str, now: i64) -> Result<Signed, RegistryError> {
    let jws = jws.trim();
    if jws.len() > MAX_SIZE {
        return Err(malformed("larger than a registry may be"));
    }
    let public = did_key_public(trusted_key)?;
    let mut parts = jws.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(malformed("not a compact JWS"));
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| malformed("not base64url"));
    let header: Value = serde_json::from_slice(&decode(header)?).map_err(|_| malformed("the header is not JSON"))?;
    if header["alg"] != "EdDSA" || header["typ"] != REGISTRY_TYPE || header.get("crit").is_some() {
        return Err(malformed(format!("the header must say alg EdDSA and typ {REGISTRY_TYPE}")));
    }
    let signature = decode(signature)?;
    let signing_input = &jws[..jws.rfind('.').expect("three parts")];
    let claims: Value = serde_json::from_slice(&decode(payload)?).map_err(|_| malformed("the claims are not JSON"))?;
    let signer = claims["iss"].as_str().unwrap_or_default().to_string();
    if signer != trusted_key {
        return Err(RegistryError::UnknownKey { found: signer, trusted: trusted_key.to_string() });
    }
    UnparsedPublicKey::new(&ED25519, public).verify(signing_input.as_bytes(), &signature).map_err(|_| RegistryError::BadSignature)?;
    let (Some(issued_at), Some(expires_at)) = (claims["iat"].as_i64(), claims["exp"].as_i64()) else {
        return Err(malformed("iat and exp are required"));
    };
    if expires_at <= now || issued_at > now + LEEWAY {
        return Err(RegistryError::Expired);
    }
    let registry: Registry = serde_json::from_value(claims["registry"].clone()).map_err(|e| malformed(format!("the registry: {e}")))?;
    check_entries(&registry)?;
    Ok(Signed { registry, signer, issued_at, expires_at })
}

fn check_entries(registry: &Registry) -> Result<(), RegistryError> {
    if registry.entries.len() > MAX_ENTRIES {
        return Err(malformed(format!("more than {MAX_ENTRIES} entries")));
    }
    let mut seen = std::collections::HashSet::new();
    for (index, entry) in registry.entries.iter().enumerate() {
        let bad = |why: &str| RegistryError::BadEntry { index, id: entry.id.chars().take(100).collect(), why: why.into() };
        if entry.name.trim().is_empty() || entry.name.chars().count() > MAX_NAME || entry.status.as_ref().is_some_and(|s| s.chars().count() > MAX_NAME) {
            return Err(bad("a name (and status) of 1 to 200 characters is required"));
        }
        match entry.role {
            Role::IdentityIssuer | Role::PensionProvider | Role::AuthorizationServer | Role::Regulator => {
                let url = http_guard::outbound::secure_url(&entry.id).map_err(|e| bad(&e.to_string()))?;
                if url.as_str().trim_end_matches('/') != entry.id || url.query().is_some() || url.fragment().is_some() {
                    return Err(bad("the URL must be written as parsed: lower-case host, no trailing slash, query or fragment"));
                }
            }
            Role::Client => {
                let ok = (1..=200).contains(&entry.id.len()) && entry.id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
                if !ok {
                    return Err(bad("a client's id is its software id: 1 to 200 letters, digits, '-', '_', '.' or ':'"));
                }
            }
        }
        if let Some(did) = &entry.did {
            did_key_public(did).map_err(|e| bad(&e.to_string()))?;
        }
        if let Some(jwks) = &entry.jwks {
            let keys = jwks["keys"].as_array().filter(|k| !k.is_empty() && k.len() <= 20).ok_or_else(|| bad("jwks must hold 1 to 20 keys"))?;
            let public_signing_key = |k: &Value| {
                let curve = matches!((k["kty"].as_str(), k["crv"].as_str()), (Some("OKP"), Some("Ed25519")) | (Some("EC"), Some("P-256")));
                curve && k["x"].is_string() && k.get("d").is_none() && k.get("k").is_none()
            };
            if !keys.iter().all(public_signing_key) {
                return Err(bad("jwks must hold public Ed25519 or P-256 keys only"));
            }
        }
        if matches!(entry.role, Role::IdentityIssuer | Role::Client | Role::Regulator) && entry.jwks.is_none() {
            return Err(bad("identity services, regulators and clients are listed with their keys (jwks)"));
        }
        if !seen.insert((entry.role, entry.id.clone())) {
            return Err(bad("listed twice in the same role"));
        }
    }
    Ok(())
}

impl Registry {
    /// The entries in one role.
    pub fn with_role(&self, role: Role) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.role == role)
    }

    pub fn find(&self, role: Role, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.role == role && e.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn sample() -> Registry {
        Registry {
            name: "Reference registry".into(),
            version: 1,
            entries: vec![
                Entry { role: Role::PensionProvider, id: "https://acme.example".into(), name: "Acme Pensions".into(), status: None, did: None, jwks: None },
                Entry {
                    role: Role::IdentityIssuer,
                    id: "http://127.0.0.1:4000".into(),
                    name: "Reference Identity Service".into(),
                    status: None,
                    did: None,
                    jwks: Some(json!({ "keys": [{ "kty": "OKP", "crv": "Ed25519", "x": "abc" }] })),
                },
            ],
        }
    }

    #[test]
    fn a_registry_signed_by_the_trusted_key_verifies_whole() {
        let key = RegistryKey::generate();
        let jws = key.sign(&sample(), NOW, 3600).unwrap();
        let signed = verify(&jws, &key.did(), NOW).unwrap();
        assert_eq!(signed.registry, sample());
        assert_eq!(signed.signer, key.did());
        assert_eq!(signed.registry.with_role(Role::PensionProvider).count(), 1);
    }

    #[test]
    fn another_key_a_changed_byte_or_an_old_registry_is_refused() {
        let key = RegistryKey::generate();
        let jws = key.sign(&sample(), NOW, 3600).unwrap();
        let other = RegistryKey::generate();
        assert!(matches!(verify(&jws, &other.did(), NOW), Err(RegistryError::UnknownKey { .. })));
        // Signed by another key that claims to be the trusted one.
        let forged = other.sign(&sample(), NOW, 3600).unwrap();
        let mut parts: Vec<String> = forged.split('.').map(String::from).collect();
        let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        claims["iss"] = key.did().into();
        parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
        assert_eq!(verify(&parts.join("."), &key.did(), NOW), Err(RegistryError::BadSignature));
        // One provider's address changed after signing.
        let mut parts: Vec<String> = jws.split('.').map(String::from).collect();
        let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        claims["registry"]["entries"][0]["id"] = "https://attacker.example".into();
        parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
        assert_eq!(verify(&parts.join("."), &key.did(), NOW), Err(RegistryError::BadSignature));
        assert_eq!(verify(&jws, &key.did(), NOW + 3600), Err(RegistryError::Expired));
    }

    #[test]
    fn one_bad_entry_refuses_the_whole_registry() {
        let key = RegistryKey::generate();
        for (field, bad) in [
            ("id", json!("http://provider.example")),
            ("id", json!("https://Acme.Example/")),
            ("name", json!("")),
            ("did", json!("did:web:acme.example")),
            ("jwks", json!({ "keys": [{ "kty": "OKP", "crv": "Ed25519", "x": "abc", "d": "secret" }] })),
        ] {
            let mut registry = serde_json::to_value(sample()).unwrap();
            registry["entries"][0][field] = bad.clone();
            let registry: Registry = serde_json::from_value(registry).unwrap();
            assert!(matches!(key.sign(&registry, NOW, 3600), Err(RegistryError::BadEntry { index: 0, .. })), "{field} = {bad}");
        }
        let mut twice = sample();
        twice.entries.push(twice.entries[0].clone());
        assert!(matches!(key.sign(&twice, NOW, 3600), Err(RegistryError::BadEntry { index: 2, .. })));
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        let key = RegistryKey::generate().did();
        for input in ["", "a.b", "a.b.c", "a.b.c.d", "e30.e30.", &"x".repeat(MAX_SIZE + 1)] {
            assert!(verify(input, &key, NOW).is_err(), "{input:.20}");
        }
        assert!(verify("a.b.c", "did:key:zNotAKey", NOW).is_err());
    }
}

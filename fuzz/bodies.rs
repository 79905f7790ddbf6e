//! What each fuzz target does with its input, in one place, so that the
//! libFuzzer targets (`fuzz_targets/`) and the stable corpus replay that
//! CI runs (`tests/fuzz_corpus.rs`) exercise exactly the same code.
//! Each function must never panic on any input; the asserts state what
//! must hold for every input.
use axum::http::{header, HeaderMap, HeaderValue};
use std::sync::OnceLock;

/// A backup file, which can come from anywhere.
pub fn backup(data: &[u8]) {
    let _ = uma_as::Store::read_backup(data);
}

/// What a provider answers during issuance: credential offers, issuer
/// metadata, and the URLs in them, held to the provider's origin.
pub fn credential_offer(data: &[u8]) {
    use wallet::credentials::{CredentialOffer, IssuerMetadata};
    let _ = serde_json::from_slice::<CredentialOffer>(data);
    if let Ok(metadata) = serde_json::from_slice::<IssuerMetadata>(data) {
        let origin = http_guard::outbound::secure_url("https://provider.example").unwrap();
        if let Ok(url) = http_guard::outbound::on_origin(&metadata.credential_endpoint, &origin) {
            assert_eq!(url.origin(), origin.origin());
        }
    }
}

/// PDP find data in a find token, read and matched by a provider.
pub fn find_data(data: &[u8]) {
    use pension_provider::find::{find, FindData};
    use pension_provider::fixtures::Catalogue;
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    let catalogue = CATALOGUE.get_or_init(|| Catalogue::load("acme").unwrap());
    let Ok(find_data) = serde_json::from_slice::<FindData>(data) else { return };
    let _ = find(catalogue, &find_data);
}

/// JWTs of every kind the wallet and the provider read: RPTs, assertions,
/// find tokens and key proofs under the wallet's key (each `typ`), ID
/// tokens (issuer read before verification), credentials and signed
/// metadata (did:key signatures, through ssi), and the provider's own
/// reading of key proofs.
pub fn jwt(data: &[u8]) {
    use uma_as::keys::{SigningKey, TokenType};
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    let key = KEY.get_or_init(SigningKey::generate);
    let runtime = RUNTIME.get_or_init(|| tokio::runtime::Builder::new_current_thread().build().unwrap());

    let Ok(token) = std::str::from_utf8(data) else { return };
    for kind in TokenType::ALL {
        // A forged token never verifies under a key it was not signed with.
        assert!(key.verify_typed::<serde_json::Value>(kind, token).is_none());
        let _ = key.verify_typed::<uma_as::pat::AssertionClaims>(kind, token);
        let _ = key.verify_typed::<uma_as::token::RptClaims>(kind, token);
    }
    let _ = uma_as::claims::unverified_issuer(token);
    let _ = pension_provider::did::peek(token);
    let _ = wallet::vc::decode_claims(token);
    let _ = runtime.block_on(wallet::vc::verify_did_jws(token));
}

/// A governance registry the owner imports: as a signed file (which
/// cannot carry a valid signature here, so this reaches every check made
/// before it), and as a document a registry operator signs (every entry
/// check, then a round trip through signature and verification).
pub fn registry(data: &[u8]) {
    static KEY: OnceLock<registry::RegistryKey> = OnceLock::new();
    let key = KEY.get_or_init(registry::RegistryKey::generate);
    const NOW: i64 = 1_800_000_000;
    if let Ok(text) = std::str::from_utf8(data) {
        assert!(registry::verify(text, &key.did(), NOW).is_err(), "nothing verifies without the key's signature");
    }
    let Ok(document) = serde_json::from_slice::<registry::Registry>(data) else { return };
    if let Ok(signed) = key.sign(&document, NOW, 3600) {
        let verified = registry::verify(&signed, &key.did(), NOW).expect("what the key signed verifies");
        assert_eq!(verified.registry, document);
        for entry in verified.registry.with_role(registry::Role::PensionProvider) {
            // Every provider it lets in is https, or plain http on loopback.
            let parsed = http_guard::outbound::secure_url(&entry.id).expect("registry entries are checked URLs");
            assert!(parsed.scheme() == "https" || http_guard::outbound::is_loopback(&parsed));
        }
    }
}

/// The token endpoint's input: an `Authorization` header (first line) and
/// a form body (the rest), as a stranger may send them.
pub fn token_form(data: &[u8]) {
    use uma_as::http::{client_credentials, Form};
    let (authorization, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&[][..], data),
    };
    let Ok(mut form) = Form::parse(body) else { return };
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(authorization) {
        headers.insert(header::AUTHORIZATION, value);
    }
    let _ = client_credentials(&headers, &mut form);
    let _ = form.require("grant_type");
    let _ = format!("{form:?}");
}

/// A resource server's `WWW-Authenticate` challenge, which a hostile
/// provider writes.
pub fn www_authenticate(data: &[u8]) {
    use wallet::challenge::{parse, UmaChallenge};
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = parse(text);
    if let Some(found) = UmaChallenge::find(text) {
        assert!(!found.as_uri.is_empty() || found.ticket.len() <= text.len());
    }
}

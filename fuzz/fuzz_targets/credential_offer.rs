//! What a provider answers during issuance: credential offers, issuer
//! metadata, and the URLs in them, held to the provider's origin.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wallet::credentials::{CredentialOffer, IssuerMetadata};

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<CredentialOffer>(data);
    if let Ok(metadata) = serde_json::from_slice::<IssuerMetadata>(data) {
        let origin = http_guard::outbound::secure_url("https://provider.example").unwrap();
        if let Ok(url) = http_guard::outbound::on_origin(&metadata.credential_endpoint, &origin) {
            assert_eq!(url.origin(), origin.origin());
        }
    }
});

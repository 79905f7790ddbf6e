//! A governance registry file the owner imports.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(document) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    if let Ok(entries) = wallet::pensions::registry_entries(&document) {
        for (url, _, _) in entries {
            // Every provider it lets in is https, or plain http on loopback.
            assert!(url.starts_with("https://") || url.starts_with("http://"));
            let parsed = http_guard::outbound::secure_url(&url).expect("registry entries are checked URLs");
            assert!(parsed.scheme() == "https" || http_guard::outbound::is_loopback(&parsed));
        }
    }
});

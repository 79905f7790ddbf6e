//! A resource server's `WWW-Authenticate` challenge, which a hostile
//! provider writes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wallet::challenge::{parse, UmaChallenge};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = parse(text);
    if let Some(found) = UmaChallenge::find(text) {
        assert!(!found.as_uri.is_empty() || found.ticket.len() <= text.len());
    }
});

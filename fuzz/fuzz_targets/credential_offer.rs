//! See `bodies::credential_offer`.
#![no_main]
#[path = "../bodies.rs"]
#[allow(dead_code)]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::credential_offer(data));

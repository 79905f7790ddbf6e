//! A backup file, which can come from anywhere.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = uma_as::Store::read_backup(data);
});

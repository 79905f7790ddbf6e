//! PDP find data in a find token, read and matched by a provider.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pension_provider::find::{find, FindData};
use pension_provider::fixtures::Catalogue;
use std::sync::OnceLock;

fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| Catalogue::load("acme").unwrap())
}

fuzz_target!(|data: &[u8]| {
    let Ok(find_data) = serde_json::from_slice::<FindData>(data) else { return };
    let _ = find(catalogue(), &find_data);
});

//! Every input in the fuzz corpus (`fuzz/corpus/<target>`), replayed
//! through the same code the fuzz targets run (`fuzz/bodies.rs`), on the
//! stable toolchain. The corpus holds what the long fuzz runs found
//! interesting, including every input that once crashed; this keeps each
//! of them passing without building the nightly, instrumented targets.
#[path = "../fuzz/bodies.rs"]
mod bodies;

use std::path::Path;

fn replay(target: &str, body: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut inputs = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        // A panic names the input, to be run again with `cargo fuzz run`.
        let outcome = std::panic::catch_unwind(|| body(&data));
        assert!(outcome.is_ok(), "{target} panicked on {}", path.display());
        inputs += 1;
    }
    assert!(inputs > 0, "the {target} corpus is empty");
}

#[test]
fn backup() {
    replay("backup", bodies::backup);
}

#[test]
fn credential_offer() {
    replay("credential_offer", bodies::credential_offer);
}

#[test]
fn find_data() {
    replay("find_data", bodies::find_data);
}

#[test]
fn jwt() {
    replay("jwt", bodies::jwt);
}

#[test]
fn registry() {
    replay("registry", bodies::registry);
}

#[test]
fn token_form() {
    replay("token_form", bodies::token_form);
}

#[test]
fn www_authenticate() {
    replay("www_authenticate", bodies::www_authenticate);
}

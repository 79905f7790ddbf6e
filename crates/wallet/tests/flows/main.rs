//! End-to-end flows against a real wallet server over loopback HTTP: what
//! the wallet adds to its authorization server (the owner API, standing
//! rules, persistence). The protocol's own flows are uma-as's
//! (`crates/uma-as/tests/protocol`). One test binary; one module per area.

mod common;
mod owner_api;
mod persistence;
mod remembering;

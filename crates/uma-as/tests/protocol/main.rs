//! The authorization server's protocol over real HTTP on loopback: its own
//! router, the parties as separate HTTP clients, an injected clock. One
//! test binary; one module per area.

mod bad_input;
mod claims;
mod common;
mod expiry;
mod grant_flow;
mod parties;
mod protection;

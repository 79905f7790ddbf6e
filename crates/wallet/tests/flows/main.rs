//! End-to-end flows against a real wallet server over loopback HTTP.
//! One test binary (faster to link); one module per area.

mod bad_input;
mod claims;
mod common;
mod expiry;
mod grant_flow;
mod owner_api;
mod persistence;
mod protection;

//! What anyone with a client registration can make the hot store hold.

mod common;

use common::{connected, request};
use uma_as::error::ProtocolError;
use uma_as::model::Permission;
use uma_as::token::GrantOutcome;
use uma_as::{AuthorizationServer, Clock, Config, KdfParams, Store};

#[tokio::test]
async fn once_the_spent_tickets_are_at_their_cap_a_token_request_waits_and_its_ticket_is_not_used_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = Store::create(&path, "p", KdfParams { memory_kib: 1024, iterations: 1, parallelism: 1 }).unwrap();
    let mut config = Config::new("http://as.test");
    config.max_spent_tickets = 2;
    let server = AuthorizationServer::open(store, config, Clock::System).unwrap();
    let (rs, _, resource_id, client) = connected(&server).await;
    let ticket = || server.request_permission(&rs, vec![Permission { resource_id: resource_id.clone(), resource_scopes: vec!["value".into()] }]).unwrap();
    for _ in 0..2 {
        assert!(matches!(server.uma_grant(&client, request(ticket().expose())).await, Ok(GrantOutcome::Issued(_))));
    }
    let third = ticket();
    let refused = server.uma_grant(&client, request(third.expose())).await;
    assert!(matches!(refused, Err(ProtocolError::TemporarilyUnavailable { .. })), "{refused:?}");

    // The same ticket, once there is room (here: a server allowed more),
    // is still good: the refusal did not use it up.
    server.close();
    drop(server);
    let server = AuthorizationServer::open(Store::open(&path, "p").unwrap(), Config::new("http://as.test"), Clock::System).unwrap();
    let client = server.client(&client.client_id).unwrap();
    assert!(matches!(server.uma_grant(&client, request(third.expose())).await, Ok(GrantOutcome::Issued(_))));
}

//! A crash between a ticket's spend and its commit.
//!
//! The test runs itself again as a child process. The child opens a real
//! store with an hour-long commit window, makes everything so far durable,
//! then redeems a permission ticket for an RPT (the ticket is spent in
//! memory; nothing about it reaches the disk inside the window) and
//! aborts: no destructors, no closing of the journal. The parent opens the
//! same store again, as the wallet would on its next start.

mod common;

use common::{connected, request};
use serde::{Deserialize, Serialize};
use std::process::Command;
use std::time::Duration;
use uma_as::error::ProtocolError;
use uma_as::model::Permission;
use uma_as::token::GrantOutcome;
use uma_as::{AuthorizationServer, Clock, Config, KdfParams, Store};

const CHILD: &str = "UMA_AS_CRASH_CHILD_DIR";
const PASSPHRASE: &str = "crash test passphrase";

/// What the child hands the parent before it aborts.
#[derive(Serialize, Deserialize)]
struct Handed {
    client_id: uma_as::id::ClientId,
    resource_id: uma_as::id::ResourceId,
    /// Redeemed for `rpt` just before the crash.
    spent_ticket: String,
    rpt: String,
    /// Issued before the crash and never shown.
    unused_ticket: String,
}

async fn child(dir: &str) {
    let store = Store::create(&std::path::Path::new(dir).join("db"), PASSPHRASE, KdfParams { memory_kib: 1024, iterations: 1, parallelism: 1 }).unwrap();
    let mut config = Config::new("http://as.test");
    config.hot_commit_window = Duration::from_secs(3600);
    let server = AuthorizationServer::open(store, config, Clock::System).unwrap();
    let (rs, _, resource_id, client) = connected(&server).await;
    let permission = || vec![Permission { resource_id: resource_id.clone(), resource_scopes: vec!["value".into()] }];
    let spent_ticket = server.request_permission(&rs, permission()).unwrap();
    let unused_ticket = server.request_permission(&rs, permission()).unwrap();
    // Everything so far is on disk; what follows is inside the window.
    server.flush().await.unwrap();
    let GrantOutcome::Issued(rpt) = server.uma_grant(&client, request(spent_ticket.expose())).await.unwrap() else { panic!("the policy permits") };
    assert!(server.introspect(&rs, &rpt.access_token).unwrap().active);
    let handed = Handed {
        client_id: client.client_id,
        resource_id,
        spent_ticket: spent_ticket.expose().into(),
        rpt: rpt.access_token,
        unused_ticket: unused_ticket.expose().into(),
    };
    println!("HANDED {}", serde_json::to_string(&handed).unwrap());
    use std::io::Write;
    std::io::stdout().flush().unwrap();
    std::process::abort();
}

#[tokio::test]
async fn a_ticket_spent_just_before_a_crash_is_never_usable_again_and_its_rpt_is_inactive() {
    if let Ok(dir) = std::env::var(CHILD) {
        return child(&dir).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "a_ticket_spent_just_before_a_crash_is_never_usable_again_and_its_rpt_is_inactive", "--nocapture", "--test-threads=1"])
        .env(CHILD, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "the child must crash, not exit: {stdout}");
    let line = stdout.lines().find_map(|l| l.split_once("HANDED ").map(|(_, json)| json)).unwrap_or_else(|| {
        panic!("the child did not get as far as the crash:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr))
    });
    let handed: Handed = serde_json::from_str(line).unwrap();

    // The wallet starts again on the same files.
    let store = Store::open(&dir.path().join("db"), PASSPHRASE).unwrap();
    let server = AuthorizationServer::open(store, Config::new("http://as.test"), Clock::System).unwrap();
    let client = server.client(&handed.client_id).expect("the client's registration was committed");
    let again = server.uma_grant(&client, request(&handed.spent_ticket)).await;
    assert!(matches!(again, Err(ProtocolError::InvalidGrant(_))), "the spent ticket was usable again: {again:?}");

    let pat = server.pat_by_assertion(&server.mint_assertion(&"rs".into(), 60).unwrap()).unwrap().access_token;
    let rs = server.authenticate_pat(&pat).unwrap();
    assert!(!server.introspect(&rs, &handed.rpt).unwrap().active, "an RPT whose record was never committed must fail closed");

    // The cost, on purpose: a ticket never shown is void too, since the
    // server cannot tell which tickets were shown in the lost moments.
    let unused = server.uma_grant(&client, request(&handed.unused_ticket)).await;
    assert!(matches!(unused, Err(ProtocolError::InvalidGrant(_))), "{unused:?}");

    // The client starts again from the resource server and gets through:
    // the owner's policy was committed.
    let permission = vec![Permission { resource_id: handed.resource_id, resource_scopes: vec!["value".into()] }];
    let fresh = server.request_permission(&rs, permission).unwrap();
    let GrantOutcome::Issued(rpt) = server.uma_grant(&client, request(fresh.expose())).await.unwrap() else { panic!("the policy permits") };
    assert!(server.introspect(&rs, &rpt.access_token).unwrap().active);
}

#[tokio::test]
async fn after_a_clean_stop_a_ticket_issued_before_is_still_good_and_a_spent_one_still_spent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = Store::create(&path, PASSPHRASE, KdfParams { memory_kib: 1024, iterations: 1, parallelism: 1 }).unwrap();
    let server = AuthorizationServer::open(store, Config::new("http://as.test"), Clock::System).unwrap();
    let (rs, pat, resource_id, client) = connected(&server).await;
    let permission = || vec![Permission { resource_id: resource_id.clone(), resource_scopes: vec!["value".into()] }];
    let spent = server.request_permission(&rs, permission()).unwrap();
    let kept = server.request_permission(&rs, permission()).unwrap();
    let GrantOutcome::Issued(rpt) = server.uma_grant(&client, request(spent.expose())).await.unwrap() else { panic!("the policy permits") };
    server.close();
    drop(server);

    let server = AuthorizationServer::open(Store::open(&path, PASSPHRASE).unwrap(), Config::new("http://as.test"), Clock::System).unwrap();
    let rs = server.authenticate_pat(&pat).unwrap();
    assert!(server.introspect(&rs, &rpt.access_token).unwrap().active);
    let replayed = server.uma_grant(&client, request(spent.expose())).await;
    assert!(matches!(replayed, Err(ProtocolError::InvalidGrant(_))), "{replayed:?}");
    // Shown again by the client that used it: a replay, and its RPT is revoked.
    assert!(!server.introspect(&rs, &rpt.access_token).unwrap().active);
    assert!(matches!(server.uma_grant(&client, request(kept.expose())).await, Ok(GrantOutcome::Issued(_))));
}

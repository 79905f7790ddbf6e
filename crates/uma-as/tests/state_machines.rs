//! Property tests of the ticket and grant state machines: random sequences
//! of permission requests, token requests (fresh tickets, old tickets,
//! another client's tickets, PCTs), owner decisions, revocations and the
//! passing of time, against a real server over a real store.
//!
//! Whatever the sequence:
//! - no ticket yields two RPTs;
//! - no RPT is active once a grant it came from is revoked or it is
//!   revoked itself;
//! - a ticket shown by a client it was not bound to changes nothing for
//!   the client it was bound to.

mod common;

use proptest::prelude::*;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use uma_as::id::{GrantId, ResourceId};
use uma_as::model::{Client, Permission};
use uma_as::owner::Approval;
use uma_as::pat::ProtectionCaller;
use uma_as::secret::Secret;
use uma_as::token::{GrantOutcome, NeedInfo, Submitted, UmaGrantRequest};
use uma_as::{AuthorizationServer, Clock, Config, KdfParams, Store};

#[derive(Clone, Debug)]
enum Step {
    /// The resource server asks for a ticket on resource 0 (a policy
    /// permits client 0) or 1 (the owner is asked).
    NewTicket { resource: usize },
    /// A client shows some ticket seen so far, maybe with its PCT.
    Show { client: usize, ticket: usize, with_pct: bool },
    Approve { request: usize },
    Deny { request: usize },
    RevokeGrant { grant: usize },
    RevokeRpt { client: usize, rpt: usize },
    Wait { seconds: i64 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..2usize).prop_map(|resource| Step::NewTicket { resource }),
        6 => (0..2usize, 0..16usize, any::<bool>()).prop_map(|(client, ticket, with_pct)| Step::Show { client, ticket, with_pct }),
        2 => (0..4usize).prop_map(|request| Step::Approve { request }),
        1 => (0..4usize).prop_map(|request| Step::Deny { request }),
        2 => (0..8usize).prop_map(|grant| Step::RevokeGrant { grant }),
        1 => (0..2usize, 0..8usize).prop_map(|(client, rpt)| Step::RevokeRpt { client, rpt }),
        1 => prop_oneof![Just(1i64), Just(299), Just(301), Just(601)].prop_map(|seconds| Step::Wait { seconds }),
    ]
}

struct World {
    _dir: tempfile::TempDir,
    server: AuthorizationServer,
    clock: Clock,
    rs: ProtectionCaller,
    resources: [ResourceId; 2],
    clients: [Client; 2],
    /// Every ticket seen, with the resource it is for.
    tickets: Vec<(String, usize)>,
    /// Which client each ticket was handed to, once a token request bound it.
    bound_to: HashMap<String, usize>,
    pcts: [Option<String>; 2],
    /// Every RPT issued, with the grants for its client and resource that
    /// were active right after it was: the one it came from is among them.
    rpts: Vec<(String, HashSet<GrantId>, usize)>,
    /// RPTs their own client revoked.
    revoked_rpts: HashSet<String>,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path(), "p", KdfParams { memory_kib: 1024, iterations: 1, parallelism: 1 }).unwrap();
    let clock = Clock::manual(1_800_000_000);
    let server = AuthorizationServer::open(store, Config::new("http://as.test"), clock.clone()).unwrap();
    let pat = server.pat_by_assertion(&server.mint_assertion(&"rs".into(), 60).unwrap()).unwrap().access_token;
    let rs = server.authenticate_pat(&pat).unwrap();
    let resource = |name: &str| {
        let description = serde_json::from_value(serde_json::json!({ "name": name, "resource_scopes": ["owner"] })).unwrap();
        server.create_resource(&rs, description).unwrap().id
    };
    let resources = [resource("permitted"), resource("asked")];
    let client = |name: &str| {
        let metadata = serde_json::from_value(serde_json::json!({ "client_name": name })).unwrap();
        let id = server.register_client(metadata).unwrap().client_id;
        server.client(&id).unwrap()
    };
    let clients = [client("zero"), client("one")];
    World { _dir: dir, server, clock, rs, resources, clients, tickets: vec![], bound_to: HashMap::new(), pcts: [None, None], rpts: vec![], revoked_rpts: HashSet::new() }
}

fn request(ticket: &str, pct: Option<&String>) -> UmaGrantRequest {
    UmaGrantRequest { ticket: Secret::new(ticket), claim_token: None, claim_token_format: None, pct: pct.map(Secret::new), rpt: None, scope: vec![] }
}

async fn run(steps: Vec<Step>) -> Result<(), TestCaseError> {
    let mut w = world();
    common::permit(&w.server, &w.resources[0], &w.clients[0].client_id).await;
    let mut spent: HashSet<String> = HashSet::new();
    for step in steps {
        match step {
            Step::NewTicket { resource } => {
                let permission = Permission { resource_id: w.resources[resource].clone(), resource_scopes: vec!["owner".into()] };
                if let Ok(ticket) = w.server.request_permission(&w.rs, vec![permission]) {
                    w.tickets.push((ticket.expose().to_string(), resource));
                }
            }
            Step::Show { client, ticket, with_pct } => {
                let Some((ticket, resource)) = w.tickets.get(ticket % w.tickets.len().max(1)).cloned() else { continue };
                let pct = if with_pct { w.pcts[client].as_ref() } else { None };
                let bound = w.bound_to.get(&ticket).copied();
                let answer = w.server.uma_grant(&w.clients[client], request(&ticket, pct)).await;
                if bound.is_some_and(|owner| owner != client) {
                    prop_assert!(answer.is_err(), "another client's ticket was honoured");
                }
                match answer {
                    Ok(GrantOutcome::Issued(rpt)) => {
                        prop_assert!(spent.insert(ticket.clone()), "a ticket yielded a second RPT");
                        if let Some(pct) = rpt.pct.clone() {
                            w.pcts[client] = Some(pct);
                        }
                        let now = w.server.now();
                        let (client_id, resource_id) = (&w.clients[client].client_id, &w.resources[resource]);
                        let sources = w
                            .server
                            .grants()
                            .into_iter()
                            .filter(|g| g.is_active(now) && &g.client_id == client_id && &g.resource_id == resource_id)
                            .map(|g| g.id)
                            .collect();
                        w.rpts.push((rpt.access_token, sources, client));
                    }
                    Ok(GrantOutcome::NeedInfo(NeedInfo { ticket: next, .. }) | GrantOutcome::Submitted(Submitted { ticket: next, .. })) => {
                        w.bound_to.insert(next.expose().to_string(), client);
                        w.tickets.push((next.expose().to_string(), resource));
                    }
                    Err(_) => {}
                }
            }
            Step::Approve { request } => {
                let waiting = w.server.pending_requests(true).unwrap();
                if let Some(r) = waiting.get(request % waiting.len().max(1)) {
                    let _ = w.server.approve_request(&r.id, Approval::default()).await;
                }
            }
            Step::Deny { request } => {
                let waiting = w.server.pending_requests(true).unwrap();
                if let Some(r) = waiting.get(request % waiting.len().max(1)) {
                    let _ = w.server.deny_request(&r.id).await;
                }
            }
            Step::RevokeGrant { grant } => {
                let grants = w.server.grants();
                if let Some(g) = grants.get(grant % grants.len().max(1)) {
                    w.server.revoke_grant(&g.id).await.unwrap();
                }
            }
            Step::RevokeRpt { client, rpt } => {
                if let Some((token, _, holder)) = w.rpts.get(rpt % w.rpts.len().max(1)).cloned() {
                    let revoked = w.server.revoke_token(&w.clients[client], &token, None).await;
                    prop_assert_eq!(revoked.is_ok(), holder == client, "only the client an RPT was issued to may revoke it");
                    if holder == client {
                        w.revoked_rpts.insert(token);
                    }
                }
            }
            Step::Wait { seconds } => w.clock.advance(seconds),
        }
        // Whatever happened, no RPT outlives the grants it may have come from.
        let now = w.server.now();
        let revoked: HashSet<GrantId> = w.server.grants().into_iter().filter(|g| g.revoked_at.is_some()).map(|g| g.id).collect();
        for (token, sources, _) in &w.rpts {
            if w.server.introspect(&w.rs, token).unwrap().active {
                prop_assert!(!w.revoked_rpts.contains(token), "a revoked RPT is active");
                prop_assert!(!sources.is_empty() && !sources.is_subset(&revoked), "an RPT is active after every grant it may come from was revoked");
                let payload = token.split('.').nth(1).unwrap();
                let claims: Value = serde_json::from_slice(&base64_decode(payload)).unwrap();
                prop_assert!(claims["exp"].as_i64().unwrap() > now, "an expired RPT is active");
            }
        }
    }
    Ok(())
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn no_sequence_reuses_a_ticket_or_outlives_a_revocation(steps in proptest::collection::vec(step(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(run(steps))?;
    }
}

//! What the uma-as integration tests share: a connected resource server and
//! a client the owner's policy lets in.

// Each test binary uses its own part of this.
#![allow(dead_code)]

use uma_as::id::{ClientId, ResourceId};
use uma_as::model::Client;
use uma_as::owner::NewPolicy;
use uma_as::pat::ProtectionCaller;
use uma_as::policy::{Outcome, PartyCondition, Target};
use uma_as::secret::Secret;
use uma_as::token::UmaGrantRequest;
use uma_as::AuthorizationServer;

pub fn request(ticket: &str) -> UmaGrantRequest {
    UmaGrantRequest { ticket: Secret::new(ticket), claim_token: None, claim_token_format: None, pct: None, rpt: None, scope: vec![] }
}

/// A resource server with one resource, and a client the owner's policy
/// lets see it.
pub async fn connected(server: &AuthorizationServer) -> (ProtectionCaller, String, ResourceId, Client) {
    let pat = server.pat_by_assertion(&server.mint_assertion(&"rs".into(), 60).unwrap()).unwrap().access_token;
    let rs = server.authenticate_pat(&pat).unwrap();
    let description = serde_json::from_value(serde_json::json!({ "name": "pension", "resource_scopes": ["value"] })).unwrap();
    let resource_id = server.create_resource(&rs, description).unwrap().id;
    let metadata = serde_json::from_value(serde_json::json!({ "client_name": "dashboard" })).unwrap();
    let client = server.client(&server.register_client(metadata).unwrap().client_id).unwrap();
    permit(server, &resource_id, &client.client_id).await;
    (rs, pat, resource_id, client)
}

/// The owner's rule that lets `client_id` see `resource_id`, every scope.
pub async fn permit(server: &AuthorizationServer, resource_id: &ResourceId, client_id: &ClientId) {
    let policy = NewPolicy {
        target: Target::Resource(resource_id.clone()),
        scopes: vec![],
        party: PartyCondition { client_id: Some(client_id.clone()), ..Default::default() },
        valid_from: None,
        valid_until: None,
        outcome: Outcome::Permit,
        description: None,
        grant_lifetime: None,
        from_request: None,
    };
    server.add_policy(policy).await.unwrap();
}


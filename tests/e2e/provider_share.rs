//! A pension assigned to a wallet's authorization server, then shared over
//! UMA: provider, wallet and client speak real HTTP on loopback.

use crate::common::*;
use serde_json::{json, Value};

const DB_PENSION: &str = "a1c0ffee-0001-4000-8000-000000000001";
const ALICE: &str = "alice@example.com";

/// Asks `provider` to protect Alice's DB pension at `wallet`'s server.
async fn assign(provider: &str, wallet: &TestWallet, find_token: &str, assertion: &str) -> (u16, Value) {
    assign_at(provider, wallet.issuer(), find_token, assertion).await
}

async fn assign_at(provider: &str, at_as: &str, find_token: &str, assertion: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{provider}/resources/{DB_PENSION}"))
        .bearer_auth(find_token)
        .json(&json!({ "at_as": at_as, "assertion": assertion }))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

fn uma_challenge(response: &reqwest::Response) -> (String, String) {
    let header = response.headers()["www-authenticate"].to_str().unwrap().to_string();
    assert!(header.starts_with("UMA realm="), "{header}");
    let part = |name: &str| header.split(&format!("{name}=\"")).nth(1).unwrap().split('"').next().unwrap().to_string();
    (part("as_uri"), part("ticket"))
}

#[tokio::test]
async fn assigned_pension_is_registered_at_the_wallet_and_shared_with_only_the_approved_scope() {
    let wallet = TestWallet::start().await;
    let identity = start_identity_service().await;
    let acme = start_provider("acme", vec![wallet.issuer().into()], &identity).await;
    let find_token = wallet.find_token_with_proof(&acme, &identity, ALICE).await;

    let (status, body) = assign(&acme, &wallet, &find_token, &wallet.assertion_for(&acme).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["authorization_server"], wallet.issuer());
    let registered = wallet.owner(reqwest::Method::GET, "/resources", None).await;
    assert_eq!(registered[0]["name"], body["pei"], "the PeI is now a resource at the wallet");
    assert_eq!(registered[0]["resource_scopes"], json!(["owner", "value", "delegate"]));
    let find_token = wallet.find_token_with_proof(&acme, &identity, ALICE).await;
    let (_, listed) = (200, reqwest::Client::new().get(format!("{acme}/resources")).bearer_auth(&find_token).send().await.unwrap().json::<Value>().await.unwrap());
    assert_eq!(listed.as_array().unwrap().iter().find(|r| r["_id"] == DB_PENSION).unwrap()["authorization_server"], wallet.issuer());

    // A dashboard asks for the pension with values, without a token.
    let http = reqwest::Client::new();
    let view = format!("{acme}/pensions/{DB_PENSION}?include=value");
    let response = http.get(&view).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let (as_uri, ticket) = uma_challenge(&response);
    assert_eq!(as_uri, wallet.issuer());
    let client: Value = http.post(format!("{as_uri}/register")).json(&json!({ "client_name": "Family dashboard" })).send().await.unwrap().json().await.unwrap();
    let (id, secret) = (client["client_id"].as_str().unwrap(), client["client_secret"].as_str().unwrap());
    let grant = |ticket: String| {
        let http = http.clone();
        let url = format!("{as_uri}/token");
        async move {
            http.post(url)
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "urn:ietf:params:oauth:grant-type:uma-ticket"), ("ticket", ticket.as_str())])
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let answer = grant(ticket).await;
    assert_eq!(answer["error"], "request_submitted");

    // The owner allows the administrative data only.
    let pending = wallet.owner(reqwest::Method::GET, "/pending", None).await;
    let request = &pending[0];
    assert_eq!(request["permissions"][0]["resource_scopes"], json!(["owner", "value"]));
    let resource_id = request["permissions"][0]["resource_id"].as_str().unwrap();
    let approval = json!({ "permissions": [{ "resource_id": resource_id, "resource_scopes": ["owner"] }] });
    wallet.owner(reqwest::Method::POST, &format!("/pending/{}/approve", request["id"].as_str().unwrap()), Some(approval)).await;
    let answer = grant(answer["ticket"].as_str().unwrap().to_string()).await;
    let rpt = answer["access_token"].as_str().expect("an RPT after approval").to_string();

    // Values were not approved: the provider challenges again.
    let response = http.get(&view).bearer_auth(&rpt).send().await.unwrap();
    assert_eq!(response.status(), 401);
    // Administrative data was.
    let response = http.get(format!("{acme}/pensions/{DB_PENSION}")).bearer_auth(&rpt).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let data: Value = response.json().await.unwrap();
    assert_eq!(data["pension"]["schemeName"], "Acme Staff Defined Benefit Scheme");
    assert_eq!(data["pension"]["employmentMembershipPeriods"][0]["employerName"], "Acme Manufacturing Ltd");
    assert!(data["pension"].get("benefitIllustrations").is_none(), "no value data without the value scope");

    // Revoking the grant closes the door at once.
    let grants = wallet.owner(reqwest::Method::GET, "/grants", None).await;
    wallet.owner(reqwest::Method::POST, &format!("/grants/{}/revoke", grants[0]["id"].as_str().unwrap()), None).await;
    let response = http.get(format!("{acme}/pensions/{DB_PENSION}")).bearer_auth(&rpt).send().await.unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn the_wallet_holding_a_pension_can_move_it_and_it_is_deregistered_there() {
    let first = TestWallet::start().await;
    let second = TestWallet::start().await;
    let identity = start_identity_service().await;
    let acme = start_provider("acme", vec![first.issuer().into(), second.issuer().into()], &identity).await;
    let (status, _) = assign(&acme, &first, &first.find_token_with_proof(&acme, &identity, ALICE).await, &first.assertion_for(&acme).await).await;
    assert_eq!(status, 200);
    assert_eq!(first.owner(reqwest::Method::GET, "/resources", None).await.as_array().unwrap().len(), 1);

    // The wallet that holds it asks, naming the second wallet, which consents
    // with an assertion of its own.
    let token = first.find_token_with_proof(&acme, &identity, ALICE).await;
    let (status, body) = assign_at(&acme, second.issuer(), &token, &second.assertion_for(&acme).await).await;
    assert_eq!(status, 200, "{body}");
    assert!(first.owner(reqwest::Method::GET, "/resources", None).await.as_array().unwrap().is_empty(), "gone from the first wallet");
    assert_eq!(second.owner(reqwest::Method::GET, "/resources", None).await.as_array().unwrap().len(), 1);
    let response = reqwest::Client::new().get(format!("{acme}/pensions/{DB_PENSION}")).send().await.unwrap();
    assert_eq!(uma_challenge(&response).0, second.issuer(), "the view API now sends clients to the second wallet");

    // The wallet it moved from is a stranger to it now: asking for itself
    // again needs the member's confirmation.
    let token = first.find_token_with_proof(&acme, &identity, ALICE).await;
    let (status, body) = assign(&acme, &first, &token, &first.assertion_for(&acme).await).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("confirmation_required")), "{body}");
    assert_eq!(second.owner(reqwest::Method::GET, "/resources", None).await.as_array().unwrap().len(), 1, "still at the second wallet");
}

#[tokio::test]
async fn the_holder_asking_again_keeps_its_registration_and_the_owners_rules() {
    let wallet = TestWallet::start().await;
    let identity = start_identity_service().await;
    let acme = start_provider("acme", vec![wallet.issuer().into()], &identity).await;
    let (status, _) = assign(&acme, &wallet, &wallet.find_token_with_proof(&acme, &identity, ALICE).await, &wallet.assertion_for(&acme).await).await;
    assert_eq!(status, 200);
    let before = wallet.owner(reqwest::Method::GET, "/resources", None).await;
    let rule = json!({ "target": { "kind": "resource", "id": before[0]["id"] }, "outcome": "deny", "party": { "email": "mallory@example.com" } });
    wallet.owner(reqwest::Method::POST, "/policies", Some(rule)).await;

    // A retry (an address update tried twice, say) changes nothing here.
    let (status, body) = assign(&acme, &wallet, &wallet.find_token_with_proof(&acme, &identity, ALICE).await, &wallet.assertion_for(&acme).await).await;
    assert_eq!(status, 200, "{body}");
    let after = wallet.owner(reqwest::Method::GET, "/resources", None).await;
    assert_eq!(after.as_array().unwrap().len(), 1);
    assert_eq!(after[0]["id"], before[0]["id"], "the same registration, not a new one");
    assert_eq!(wallet.owner(reqwest::Method::GET, "/policies", None).await.as_array().unwrap().len(), 1, "the owner's rule stands");
}

#[tokio::test]
async fn another_wallet_cannot_take_a_protected_pension_without_the_members_confirmation() {
    let first = TestWallet::start().await;
    let second = TestWallet::start().await;
    let identity = start_identity_service().await;
    let acme = start_provider("acme", vec![first.issuer().into(), second.issuer().into()], &identity).await;
    assert_eq!(assign(&acme, &first, &first.find_token_with_proof(&acme, &identity, ALICE).await, &first.assertion_for(&acme).await).await.0, 200);

    // Even with Alice's own verified identity, a second wallet gets only a
    // request for the member's confirmation, and nothing moves.
    let token = second.find_token_with_proof(&acme, &identity, ALICE).await;
    let (status, body) = assign(&acme, &second, &token, &second.assertion_for(&acme).await).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("confirmation_required")), "{body}");
    assert_eq!(first.owner(reqwest::Method::GET, "/resources", None).await.as_array().unwrap().len(), 1, "still at the first wallet");
    assert!(second.owner(reqwest::Method::GET, "/resources", None).await.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn only_a_verified_match_is_assigned_and_only_to_the_wallet_that_proved_it() {
    let wallet = TestWallet::start().await;
    let other = TestWallet::start().await;
    let identity = start_identity_service().await;
    let acme = start_provider("acme", vec![wallet.issuer().into(), other.issuer().into()], &identity).await;
    // Alice's details, stated and marked verified by the wallet itself.
    let (status, body) = assign(&acme, &wallet, &wallet.find_token(&acme, alice(), now()), &wallet.assertion_for(&acme).await).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("match_required")), "{body}");
    // A verified match, but naming another server than the one that proved it.
    let token = wallet.find_token_with_proof(&acme, &identity, ALICE).await;
    let (status, body) = assign_at(&acme, other.issuer(), &token, &other.assertion_for(&acme).await).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("wrong_authorization_server")), "{body}");
    assert!(wallet.owner(reqwest::Method::GET, "/resources", None).await.as_array().unwrap().is_empty());
    assert!(other.owner(reqwest::Method::GET, "/resources", None).await.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn assignment_refuses_replayed_assertions_unknown_servers_and_strangers() {
    let wallet = TestWallet::start().await;
    let stranger = TestWallet::start().await;
    let identity = start_identity_service().await;
    let acme = start_provider("acme", vec![wallet.issuer().into()], &identity).await;
    let assertion = wallet.assertion_for(&acme).await;
    assert_eq!(assign(&acme, &wallet, &wallet.find_token_with_proof(&acme, &identity, ALICE).await, &assertion).await.0, 200);
    let (status, body) = assign(&acme, &wallet, &wallet.find_token_with_proof(&acme, &identity, ALICE).await, &assertion).await;
    assert_eq!(status, 400, "a replayed assertion: {body}");
    assert!(body["error_description"].as_str().unwrap().contains("invalid_grant"));

    let token = wallet.find_token_with_proof(&acme, &identity, ALICE).await;
    let (status, _) = assign(&acme, &stranger, &token, &stranger.assertion_for(&acme).await).await;
    assert_eq!(status, 400, "an authorization server this provider does not accept");
    let (status, _) = assign(&acme, &wallet, "not-a-token", &wallet.assertion_for(&acme).await).await;
    assert_eq!(status, 401, "no owner, no assignment");
    // The first registration is still in place.
    assert_eq!(wallet.owner(reqwest::Method::GET, "/resources", None).await.as_array().unwrap().len(), 1);
}

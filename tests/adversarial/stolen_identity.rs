//! A stranger's wallet after someone else's pension: the takeover the
//! security review of 57ac7cb found (a second wallet that states Alice's
//! name and date of birth, with or without ticking "verified", found her
//! pension, accepted it, took it off her wallet, read its values and held
//! its credential), tried against the real binaries.

use crate::harness::*;
use serde_json::json;

const ALICE: &str = "alice@example.com";
const EVE: &str = "eve@example.com";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strangers_wallet_cannot_take_over_a_pension_by_stating_its_owners_details() {
    let identity = IdentityProcess::start();
    let alice = WalletProcess::start().await;
    let eve = WalletProcess::start().await;
    let acme = ProviderProcess::start("acme", &[&alice.issuer, &eve.issuer], &[&identity.url]);
    let offers = alice_with_acme(&alice, &acme, &identity).await;
    let asset = offers[0]["resource_id"].as_str().unwrap().to_string();

    // Eve states Alice's details and ticks every "verified" box.
    eve.owner_ok(reqwest::Method::PUT, "/identity", Some(crate::harness::alice())).await;
    eve.owner_ok(reqwest::Method::POST, "/providers", Some(json!({ "url": acme.url }))).await;
    let found = eve.owner_ok(reqwest::Method::POST, "/find", None).await;
    assert_eq!(found[0]["outcome"], "possible", "stated details are never a sure match: {found}");
    let (status, body) = eve.owner(reqwest::Method::POST, "/offers/accept", Some(json!({ "provider": acme.url, "resource_id": asset }))).await;
    assert_ne!(status, 200, "Eve's wallet accepted Alice's pension: {body}");
    assert!(body["error_description"].as_str().unwrap().contains("verified identity"), "{body}");

    // Eve proves who she is: she is not Alice, and Acme finds nothing of hers.
    eve.prove_identity(&identity, EVE).await;
    let found = eve.owner_ok(reqwest::Method::POST, "/find", None).await;
    // Her attested date of birth replaces the one she typed: not even a
    // possible match is left.
    assert_eq!(found[0]["outcome"], "none", "{found}");
    let (status, _) = eve.owner(reqwest::Method::POST, "/offers/accept", Some(json!({ "provider": acme.url, "resource_id": asset }))).await;
    assert_ne!(status, 200);

    // Eve starts a sign-in as Alice: the code goes to Alice's email, and a
    // guess does not sign her in (five wrong ones end the sign-in).
    let started = eve.owner_ok(reqwest::Method::POST, "/identity/credential", Some(json!({ "issuer": identity.url }))).await;
    let page = identity_service::person::start(started["authorize_url"].as_str().unwrap(), ALICE).await.unwrap();
    let guessed = page.enter("123456").await;
    assert!(guessed.is_err(), "a guessed code signed Eve in as Alice");

    // Alice's pension is where it was, readable by her and by no one else.
    let mine = alice.owner_ok(reqwest::Method::GET, "/pensions", None).await;
    assert!(mine["pensions"].as_array().unwrap().iter().all(|p| p["error"].is_null()), "{mine}");
    assert_eq!(mine["pensions"].as_array().unwrap().len(), offers.len());
    let view = reqwest::get(format!("{}/pensions/{asset}", acme.url)).await.unwrap();
    assert!(view.headers()["www-authenticate"].to_str().unwrap().contains(&alice.issuer), "still protected by Alice's wallet");
    assert_eq!(eve.owner_ok(reqwest::Method::GET, "/resources", None).await, json!([]));
    assert_eq!(eve.owner_ok(reqwest::Method::GET, "/credentials", None).await, json!([]));
    let eves = eve.owner_ok(reqwest::Method::GET, "/pensions", None).await;
    assert_eq!(eves["pensions"], json!([]), "{eves}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alices_new_wallet_moves_her_pension_only_with_the_code_her_provider_posts_her() {
    let identity = IdentityProcess::start();
    let old = WalletProcess::start().await;
    let new = WalletProcess::start().await;
    let acme = ProviderProcess::start("acme", &[&old.issuer, &new.issuer], &[&identity.url]);
    let offers = alice_with_acme(&old, &acme, &identity).await;
    let (asset, pei) = (offers[0]["resource_id"].as_str().unwrap().to_string(), offers[0]["pei"].as_str().unwrap().to_string());

    // Her new wallet proves she is Alice; the provider still asks her.
    new.prove_identity(&identity, ALICE).await;
    new.owner_ok(reqwest::Method::POST, "/providers", Some(json!({ "url": acme.url }))).await;
    let accept = json!({ "provider": acme.url, "resource_id": asset });
    let (status, body) = new.owner(reqwest::Method::POST, "/offers/accept", Some(accept.clone())).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("confirmation_required")), "{body}");
    let letter = acme.post.latest("member_confirmation_code", "pension", &pei).await.expect("Acme wrote to Alice");
    let code = letter["code"].as_str().unwrap();
    let mut wrong = accept.clone();
    wrong["confirmation_code"] = "999999x".into();
    assert_ne!(new.owner(reqwest::Method::POST, "/offers/accept", Some(wrong)).await.0, 200);
    assert_eq!(old.owner_ok(reqwest::Method::GET, "/resources", None).await.as_array().unwrap().len(), offers.len(), "nothing moved yet");

    let mut right = accept;
    right["confirmation_code"] = code.into();
    let moved = new.owner_ok(reqwest::Method::POST, "/offers/accept", Some(right)).await;
    assert_eq!(moved["authorization_server"], new.issuer.as_str(), "{moved}");
    assert_eq!(old.owner_ok(reqwest::Method::GET, "/resources", None).await.as_array().unwrap().len(), offers.len() - 1, "deregistered at the old wallet");
}

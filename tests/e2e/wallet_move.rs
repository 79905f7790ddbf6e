//! Moving a pension from this wallet to another authorization server and
//! back: the registration follows, the credential is reissued, the old one
//! is superseded, and the view API sends clients to the new server. Coming
//! back takes the member's confirmation through the provider's own post.

use crate::common::*;
use serde_json::json;

#[tokio::test]
async fn a_pension_moves_to_another_authorization_server_and_back() {
    let mine = TestWallet::start().await;
    let other = TestWallet::start().await;
    let identity = start_identity_service().await;
    let (acme, provider) = start_provider_handle("acme", vec![mine.issuer().into(), other.issuer().into()], &identity).await;
    mine.prove_identity(&identity, "alice@example.com").await;
    // Acme comes from the signed governance registry the wallet trusts.
    let key = registry::RegistryKey::generate();
    let listed = registry::Registry {
        name: "Reference registry".into(),
        version: 1,
        entries: vec![registry::Entry { role: registry::Role::PensionProvider, id: acme.clone(), name: "Acme Pensions".into(), status: None, did: None, jwks: None }],
    };
    mine.owner(reqwest::Method::PUT, "/registry/key", Some(json!({ "key": key.did() }))).await;
    let imported = mine.owner(reqwest::Method::POST, "/registry", Some(json!({ "registry": key.sign(&listed, now(), 3600).unwrap() }))).await;
    assert_eq!(imported["providers"][0]["url"], acme.as_str());
    let offers = mine.owner(reqwest::Method::GET, "/offers", None).await;
    let resource_id = offers["offers"][0]["resource_id"].as_str().unwrap().to_string();
    mine.owner(reqwest::Method::POST, "/offers/accept", Some(json!({ "provider": acme, "resource_id": resource_id }))).await;

    // Out: the other server mints the provider's consent; this wallet asks the provider to move.
    let assertion = other.assertion_for(&acme).await;
    let moved = mine
        .owner(reqwest::Method::POST, "/pensions/move", Some(json!({ "provider": acme, "resource_id": resource_id, "to": other.issuer(), "assertion": assertion })))
        .await;
    assert_eq!(moved["authorization_server"], other.issuer());
    assert_eq!(moved["credential"]["status"], "active", "{moved}");
    assert!(mine.owner(reqwest::Method::GET, "/resources", None).await.as_array().unwrap().is_empty(), "deregistered here");
    assert_eq!(other.owner(reqwest::Method::GET, "/resources", None).await.as_array().unwrap().len(), 1);
    let credentials = mine.owner(reqwest::Method::GET, "/credentials", None).await;
    let active: Vec<_> = credentials.as_array().unwrap().iter().filter(|c| c["status"] == "active").collect();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["authorization_server"], other.issuer(), "the new credential names the new server");
    assert!(credentials.as_array().unwrap().iter().any(|c| c["status"] == "superseded"));
    let view = reqwest::get(format!("{acme}/pensions/{resource_id}")).await.unwrap();
    assert!(view.headers()["www-authenticate"].to_str().unwrap().contains(other.issuer()));
    // Now an offer again, from this wallet's point of view.
    let offers = mine.owner(reqwest::Method::GET, "/offers", None).await;
    assert_eq!(offers["offers"].as_array().unwrap().iter().find(|o| o["resource_id"] == resource_id.as_str()).unwrap()["authorization_server"], other.issuer());

    // Back: the other wallet holds it now, so the provider writes to Alice
    // first; accepting with the code she received moves it home.
    let accept = json!({ "provider": acme, "resource_id": resource_id });
    let (status, body) = mine.call(reqwest::Method::POST, "/offers/accept", Some(accept)).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("confirmation_required")), "{body}");
    let pei = offers["offers"].as_array().unwrap().iter().find(|o| o["resource_id"] == resource_id.as_str()).unwrap()["pei"].as_str().unwrap().to_string();
    let code = provider.confirmations.latest_sent_for(&pei).expect("the provider wrote to Alice");
    let (status, _) = mine.call(reqwest::Method::POST, "/offers/accept", Some(json!({ "provider": acme, "resource_id": resource_id, "confirmation_code": "000000x" }))).await;
    assert_eq!(status, 424, "a wrong code moves nothing");
    let back = mine
        .owner(reqwest::Method::POST, "/offers/accept", Some(json!({ "provider": acme, "resource_id": resource_id, "confirmation_code": code })))
        .await;
    assert_eq!(back["authorization_server"], mine.issuer());
    assert!(other.owner(reqwest::Method::GET, "/resources", None).await.as_array().unwrap().is_empty());
    let view = reqwest::get(format!("{acme}/pensions/{resource_id}")).await.unwrap();
    assert!(view.headers()["www-authenticate"].to_str().unwrap().contains(mine.issuer()));

    // A move with a bad assertion changes nothing.
    let (status, _) = mine
        .call(reqwest::Method::POST, "/pensions/move", Some(json!({ "provider": acme, "resource_id": resource_id, "to": other.issuer(), "assertion": "forged" })))
        .await;
    assert_eq!(status, 424);
    assert_eq!(mine.owner(reqwest::Method::GET, "/resources", None).await.as_array().unwrap().len(), 1);
}

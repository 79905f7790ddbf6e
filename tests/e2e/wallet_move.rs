//! Moving a pension from this wallet to another authorization server and
//! back: the registration follows, the credential is reissued, the old one
//! is superseded, and the view API sends clients to the new server.

use crate::common::*;
use serde_json::json;

#[tokio::test]
async fn a_pension_moves_to_another_authorization_server_and_back() {
    let mine = TestWallet::start().await;
    let other = TestWallet::start().await;
    let acme = start_provider("acme", vec![mine.issuer().into(), other.issuer().into()]).await;
    let identity = json!({ "given_name": "Alice", "family_name": "Archer", "date_of_birth": "1975-04-12", "postcode": "SW1A 1AA", "verified": ["name", "date_of_birth", "address"] });
    mine.owner(reqwest::Method::PUT, "/identity", Some(identity)).await;
    let registry = json!({ "providers": [{ "url": acme, "name": "Acme Pensions" }] });
    mine.owner(reqwest::Method::POST, "/providers/import", Some(registry)).await;
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

    // Back: accepting the offer moves it home.
    let back = mine.owner(reqwest::Method::POST, "/offers/accept", Some(json!({ "provider": acme, "resource_id": resource_id }))).await;
    assert_eq!(back["authorization_server"], mine.issuer());
    assert!(other.owner(reqwest::Method::GET, "/resources", None).await.as_array().unwrap().is_empty());
    let view = reqwest::get(format!("{acme}/pensions/{resource_id}")).await.unwrap();
    assert!(view.headers()["www-authenticate"].to_str().unwrap().contains(mine.issuer()));

    // A move with a bad assertion changes nothing.
    let (status, _) = mine
        .call(reqwest::Method::POST, "/pensions/move", Some(json!({ "provider": acme, "resource_id": resource_id, "to": other.issuer(), "assertion": "forged" })))
        .await;
    assert_eq!(status, 502);
    assert_eq!(mine.owner(reqwest::Method::GET, "/resources", None).await.as_array().unwrap().len(), 1);
}

//! Find and discover across real pension providers, from the owner API:
//! two providers that know the owner, one that is down, one that answers
//! garbage, and one too slow to wait for.

use crate::common::*;
use serde_json::json;

/// A peer that misbehaves on every path: `garbage` answers HTML, `slow`
/// answers after twenty seconds.
async fn misbehaving(kind: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(move || async move {
        if kind == "slow" {
            tokio::time::sleep(std::time::Duration::from_secs(20)).await;
        }
        "<html>not what you asked for</html>"
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn down() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

#[tokio::test]
async fn find_and_offers_report_every_provider_and_keep_what_worked() {
    let owner = TestWallet::start().await;
    let issuer = owner.issuer().to_string();
    let identity_service = start_identity_service().await;
    let acme = start_provider("acme", vec![issuer.clone()], &identity_service).await;
    let northwind = start_provider("northwind", vec![issuer.clone()], &identity_service).await;
    let (dead, garbage, slow) = (down().await, misbehaving("garbage").await, misbehaving("slow").await);

    let (status, body) = owner.call(reqwest::Method::POST, "/find", None).await;
    assert_eq!(status, 400, "find needs identity details first: {body}");

    let identity = json!({
        "given_name": "Alice", "family_name": "Archer", "date_of_birth": "1975-04-12",
        "postcode": "SW1A 1AA", "email": "alice@example.org"
    });
    assert_eq!(owner.call(reqwest::Method::PUT, "/identity", Some(identity)).await.0, 200);
    let attested = owner.prove_identity(&identity_service, "alice@example.com").await;
    assert_eq!((attested["given_name"].as_str(), attested["birthdate"].as_str()), (Some("Alice"), Some("1975-04-12")), "{attested}");
    for url in [&acme, &northwind, &dead, &garbage, &slow] {
        assert_eq!(owner.call(reqwest::Method::POST, "/providers", Some(json!({ "url": url }))).await.0, 201);
    }

    let (status, results) = owner.call(reqwest::Method::POST, "/find", None).await;
    assert_eq!(status, 200, "{results}");
    let outcome = |url: &str| results.as_array().unwrap().iter().find(|r| r["url"] == url).unwrap().clone();
    assert_eq!(outcome(&acme)["outcome"], "matched");
    assert_eq!(outcome(&acme)["items"].as_array().unwrap().len(), 2);
    assert_eq!(outcome(&acme)["name"], "Acme Pensions");
    assert_eq!(outcome(&northwind)["outcome"], "matched");
    assert_eq!(outcome(&dead)["outcome"], "unreachable");
    assert_eq!(outcome(&garbage)["outcome"], "error");
    assert_eq!(outcome(&slow)["outcome"], "unreachable", "a slow provider is given up on, not waited for");

    let (_, discovered) = owner.call(reqwest::Method::GET, "/offers", None).await;
    let offers = discovered["offers"].as_array().unwrap();
    assert_eq!(offers.len(), 3, "two pensions at Acme, one at Northwind: {discovered}");
    assert!(offers.iter().all(|o| o["pei"].as_str().unwrap().starts_with("urn:pei:") && o["authorization_server"].is_null()));

    // Accept one Acme offer: it is registered here and no longer an offer.
    let offer = offers.iter().find(|o| o["provider"] == acme.as_str()).unwrap();
    let accept = json!({ "provider": acme, "resource_id": offer["resource_id"] });
    let (status, accepted) = owner.call(reqwest::Method::POST, "/offers/accept", Some(accept)).await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["authorization_server"], issuer.as_str());
    let (_, registered) = owner.call(reqwest::Method::GET, "/resources", None).await;
    assert_eq!(registered[0]["name"], offer["pei"]);
    // Assign = issue: the wallet now holds a verified credential for it.
    assert_eq!(accepted["credential"]["status"], "active", "{accepted}");
    let (_, did) = owner.call(reqwest::Method::GET, "/did", None).await;
    let (_, held) = owner.call(reqwest::Method::GET, "/credentials", None).await;
    assert_eq!(held.as_array().unwrap().len(), 1);
    assert_eq!(held[0]["pei"], offer["pei"]);
    assert_eq!(held[0]["authorization_server"], issuer.as_str());
    let id = held[0]["id"].as_str().unwrap().to_string();
    let (_, shown) = owner.call(reqwest::Method::GET, &format!("/credentials/{id}"), None).await;
    assert_eq!(shown["claims"]["sub"], did["did"], "bound to this wallet's DID");
    let (_, checked) = owner.call(reqwest::Method::POST, &format!("/credentials/{id}/verify"), None).await;
    assert_eq!(checked["verified"], true);
    // Accepting it again reissues; the first credential is superseded.
    let (_, again) = owner.call(reqwest::Method::POST, "/offers/accept", Some(json!({ "provider": acme, "resource_id": offer["resource_id"] }))).await;
    assert_eq!(again["credential"]["status"], "active");
    let (_, shown) = owner.call(reqwest::Method::GET, &format!("/credentials/{id}"), None).await;
    assert_eq!(shown["status"], "superseded");
    // A provider that is down fails the accept clearly, and nothing changes.
    let (status, failed) = owner.call(reqwest::Method::POST, "/offers/accept", Some(json!({ "provider": dead, "resource_id": "x" }))).await;
    assert_eq!((status, failed["error"].as_str()), (424, Some("provider_error")), "{failed}");
    let (status, _) = owner.call(reqwest::Method::POST, "/offers/accept", Some(json!({ "provider": "http://127.0.0.1:9", "resource_id": "x" }))).await;
    assert_eq!(status, 400, "not one of the owner's providers");
    let (_, discovered) = owner.call(reqwest::Method::GET, "/offers", None).await;
    assert_eq!(discovered["offers"].as_array().unwrap().len(), 2);
    assert!(discovered["offers"].as_array().unwrap().iter().all(|o| o["resource_id"] != offer["resource_id"]));

    // Accept the rest, then read every pension as the owner, through UMA.
    for o in discovered["offers"].as_array().unwrap() {
        let accept = json!({ "provider": o["provider"], "resource_id": o["resource_id"] });
        assert_eq!(owner.call(reqwest::Method::POST, "/offers/accept", Some(accept)).await.0, 200);
    }
    let (status, mine) = owner.call(reqwest::Method::GET, "/pensions", None).await;
    assert_eq!(status, 200, "{mine}");
    let pensions = mine["pensions"].as_array().unwrap();
    assert_eq!(pensions.len(), 3, "{mine}");
    assert!(pensions.iter().all(|p| p.get("error").is_none()), "{mine}");
    // Acme DB 9,450 + Acme DC 6,120 + Northwind DC 1,180 a year; pots 148,300 + 27,900.
    assert_eq!(mine["totals"], json!({ "estimated_annual_income": 16750, "dc_pots": 176200 }));
    let db = pensions.iter().find(|p| p["pension_type"] == "DB").unwrap();
    assert_eq!(db["employment"][0]["employerName"], "Acme Manufacturing Ltd");
    assert!(pensions.iter().all(|p| p["match_status"] == "match-yes"), "each pension says how it matched: {mine}");
    let (_, pending) = owner.call(reqwest::Method::GET, "/pending", None).await;
    assert_eq!(pending, json!([]), "the owner's own requests are never put to the owner");

    // What went to whom is in the owner's activity log.
    let (_, log) = owner.call(reqwest::Method::GET, "/audit?limit=1000", None).await;
    let actions: Vec<&str> = log.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for action in ["identity.update", "provider.add", "identity.disclosed"] {
        assert!(actions.contains(&action), "{action} is audited: {actions:?}");
    }
    let disclosed = log.as_array().unwrap().iter().find(|e| e["action"] == "identity.disclosed").unwrap();
    assert!(disclosed["detail"]["items"].as_array().unwrap().iter().any(|i| i == "date_of_birth"), "{disclosed}");
    // From the identity credential, only what finding needs: never the street.
    let attested = disclosed["detail"]["attested"]["claims"].as_array().unwrap();
    assert!(attested.iter().any(|c| c == "birthdate") && !attested.iter().any(|c| c == "street_address"), "{disclosed}");
    assert!(actions.contains(&"identity.credential.receive"), "{actions:?}");

    // Identity details are checked before they are kept.
    let (status, _) = owner.call(reqwest::Method::PUT, "/identity", Some(json!({ "given_name": "A", "family_name": "B", "date_of_birth": "12/04/1975" }))).await;
    assert_eq!(status, 400);
    let (_, kept) = owner.call(reqwest::Method::GET, "/identity", None).await;
    assert_eq!(kept["date_of_birth"], "1975-04-12", "the bad update changed nothing");
}

#[tokio::test]
async fn a_sign_in_that_does_not_end_in_a_credential_keeps_nothing_and_is_audited() {
    let owner = TestWallet::start().await;
    let identity = start_identity_service().await;
    let started = owner.owner(reqwest::Method::POST, "/identity/credential", Some(json!({ "issuer": identity.url }))).await;
    // The person cancels at the identity service's page.
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = browser.get(started["authorize_url"].as_str().unwrap()).send().await.unwrap().text().await.unwrap();
    let marker = "name=\"session\" value=\"";
    let session = page[page.find(marker).unwrap() + marker.len()..].split('"').next().unwrap().to_string();
    let cancelled = browser.post(format!("{}/cancel", identity.url)).form(&[("session", session.as_str())]).send().await.unwrap();
    let back = cancelled.headers()["location"].to_str().unwrap().to_string();
    assert!(browser.get(&back).send().await.unwrap().status().is_success());
    let mut status = json!(null);
    for _ in 0..100 {
        status = owner.owner(reqwest::Method::GET, "/identity/credential", None).await;
        if status["sign_in"]["state"] == "failed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status["sign_in"]["state"], "failed", "{status}");
    assert!(status["sign_in"]["error"].as_str().unwrap().contains("cancelled"), "{status}");
    assert!(status["credential"].is_null(), "nothing kept");
    let log = owner.owner(reqwest::Method::GET, "/audit?limit=100", None).await;
    assert!(log.as_array().unwrap().iter().any(|e| e["action"] == "identity.credential.refused"), "{log}");
}

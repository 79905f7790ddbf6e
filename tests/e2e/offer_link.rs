//! `openid-credential-offer://` links (OpenID4VCI 1.0 §4.1) from the owner
//! API, against a real provider: a link names one of the owner's providers
//! and leads to its offers only; a link from anywhere else makes the wallet
//! call no one.

use crate::common::*;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn link_to(uri: &str) -> String {
    format!("openid-credential-offer://?credential_offer_uri={}", url::form_urlencoded::byte_serialize(uri.as_bytes()).collect::<String>())
}

fn link_with(offer: &serde_json::Value) -> String {
    format!("openid-credential-offer://?credential_offer={}", url::form_urlencoded::byte_serialize(offer.to_string().as_bytes()).collect::<String>())
}

/// A peer that counts every request it gets, and serves an offer naming `names`.
async fn counting_peer(hits: Arc<AtomicUsize>, names: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(move || {
        hits.fetch_add(1, Ordering::SeqCst);
        let offer = json!({ "credential_issuer": names, "credential_configuration_ids": ["PensionResourceCredential"] });
        async move { axum::Json(offer) }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test]
async fn an_offer_link_leads_to_its_providers_offers_and_a_stranger_s_link_calls_no_one() {
    let owner = TestWallet::start().await;
    let issuer = owner.issuer().to_string();
    let identity_service = start_identity_service().await;
    let acme = start_provider("acme", vec![issuer.clone()], &identity_service).await;
    let northwind = start_provider("northwind", vec![issuer.clone()], &identity_service).await;
    let identity = json!({ "given_name": "Alice", "family_name": "Archer", "date_of_birth": "1975-04-12", "postcode": "SW1A 1AA", "email": "alice@example.org" });
    owner.owner(reqwest::Method::PUT, "/identity", Some(identity)).await;
    owner.prove_identity(&identity_service, "alice@example.com").await;
    for url in [&acme, &northwind] {
        assert_eq!(owner.call(reqwest::Method::POST, "/providers", Some(json!({ "url": url }))).await.0, 201);
    }

    // The provider publishes its standing offer (no grant: the wallet's own
    // assignment issues the credential) ...
    let standing: serde_json::Value = reqwest::get(format!("{acme}/credential-offer")).await.unwrap().json().await.unwrap();
    assert_eq!((standing["credential_issuer"].as_str(), standing["credential_configuration_ids"][0].as_str()), (Some(acme.as_str()), Some("PensionResourceCredential")));
    // ... and its page links to it: the link names Acme, by where it points.
    let (status, offering) = owner.call(reqwest::Method::POST, "/offers/link", Some(json!({ "link": link_to(&format!("{acme}/credential-offer")) }))).await;
    assert_eq!(status, 200, "{offering}");
    assert_eq!(offering["provider"].as_str(), Some(acme.as_str()), "{offering}");
    // By value, as a letter's QR code carries it.
    let by_value = link_with(&json!({ "credential_issuer": northwind, "credential_configuration_ids": ["PensionResourceCredential"], "grants": {} }));
    let (status, offering) = owner.call(reqwest::Method::POST, "/offers/link", Some(json!({ "link": by_value }))).await;
    assert_eq!((status, offering["provider"].as_str()), (200, Some(northwind.as_str())), "{offering}");

    // The offers it leads to are that provider's alone, and accepting one
    // is the usual issuance.
    let (status, offers) = owner.call(reqwest::Method::GET, &format!("/offers?provider={}", url::form_urlencoded::byte_serialize(acme.as_bytes()).collect::<String>()), None).await;
    assert_eq!(status, 200, "{offers}");
    let list = offers["offers"].as_array().unwrap();
    assert!(!list.is_empty() && list.iter().all(|o| o["provider"] == acme.as_str()), "{offers}");
    assert_eq!(offers["providers"].as_array().unwrap().len(), 1, "only Acme was asked: {offers}");
    let offer = list.iter().find(|o| o["resource_id"] == ACME_DB_PENSION).expect("Alice's DB pension is offered");
    let (status, accepted) = owner.call(reqwest::Method::POST, "/offers/accept", Some(json!({ "provider": acme, "resource_id": offer["resource_id"] }))).await;
    assert_eq!(status, 200, "{accepted}");
    assert!(accepted["credential"].is_object(), "a credential was issued: {accepted}");

    // A stranger's link: the wallet neither fetches it nor keeps anything;
    // nor does it fetch an offer on a provider's own address.
    let hits = Arc::new(AtomicUsize::new(0));
    let stranger = counting_peer(hits.clone(), acme.clone()).await;
    let providers_before = owner.owner(reqwest::Method::GET, "/providers", None).await;
    let (status, refused) = owner.call(reqwest::Method::POST, "/offers/link", Some(json!({ "link": link_to(&format!("{stranger}/offer")) }))).await;
    assert_eq!(status, 404, "{refused}");
    assert!(refused["error_description"].as_str().unwrap_or_default().contains("does not know"), "{refused}");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the stranger was never asked");
    let counted = counting_peer(hits.clone(), acme.clone()).await;
    assert_eq!(owner.call(reqwest::Method::POST, "/providers", Some(json!({ "url": counted }))).await.0, 201);
    let (status, offering) = owner.call(reqwest::Method::POST, "/offers/link", Some(json!({ "link": link_to(&format!("{counted}/credential-offer")) }))).await;
    assert_eq!((status, offering["provider"].as_str()), (200, Some(counted.as_str())), "{offering}");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "reading a link sends nothing, even to a known provider");
    owner.owner(reqwest::Method::DELETE, &format!("/providers?url={}", url::form_urlencoded::byte_serialize(counted.as_bytes()).collect::<String>()), None).await;
    // Naming a stranger by value is no better.
    let (status, refused) = owner.call(reqwest::Method::POST, "/offers/link", Some(json!({ "link": link_with(&json!({ "credential_issuer": stranger, "credential_configuration_ids": ["PensionResourceCredential"] })) }))).await;
    assert_eq!(status, 404, "{refused}");
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    // An offer of something else, or a link that is not an offer.
    let other = link_with(&json!({ "credential_issuer": acme, "credential_configuration_ids": ["UniversityDegree"] }));
    for (link, why) in [(other, "another credential"), ("openid-credential-offer://".to_string(), "no offer"), ("https://example.org/".to_string(), "not an offer link")] {
        let (status, refused) = owner.call(reqwest::Method::POST, "/offers/link", Some(json!({ "link": link }))).await;
        assert_eq!(status, 400, "{why}: {refused}");
    }
    assert_eq!(owner.owner(reqwest::Method::GET, "/providers", None).await, providers_before, "a link stores nothing");
    // Only a provider the owner has can be asked for its offers.
    let (status, _) = owner.call(reqwest::Method::GET, &format!("/offers?provider={}", url::form_urlencoded::byte_serialize(stranger.as_bytes()).collect::<String>()), None).await;
    assert_eq!(status, 400);
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

//! The provider's find and resources APIs against a real wallet
//! authorization server over loopback HTTP.

use crate::common::*;
use serde_json::{json, Value};
use uma_as::keys::{SigningKey, TokenType};

/// Signs with any key, to forge as well as to find.
fn find_token(key: &SigningKey, issuer: &str, audience: &str, find_data: Value, iat: i64) -> String {
    key.sign_typed(TokenType::FindToken, &json!({ "iss": issuer, "aud": audience, "iat": iat, "exp": iat + 300, "jti": format!("{iat}"), "find_data": find_data }))
}

async fn call(url: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_find_token_from_a_trusted_wallet_lists_the_owners_pensions_as_resources() {
    let owner = TestWallet::start().await;
    let wallet = &owner.server;
    let issuer = wallet.config().issuer.clone();
    let acme = start_provider("acme", vec![issuer.clone()]).await;
    let northwind = start_provider("northwind", vec![issuer.clone()]).await;

    let token = find_token(wallet.signing_key(), &issuer, &acme, alice(), now());
    let (status, resources) = call(&format!("{acme}/resources"), Some(&token)).await;
    assert_eq!(status, 200, "{resources}");
    let resources = resources.as_array().unwrap();
    assert_eq!(resources.len(), 2, "Alice has a DB and a DC pension at Acme");
    for r in resources {
        assert!(r["name"].as_str().unwrap().starts_with("urn:pei:3f2a6c1e-"));
        assert_eq!(r["match_status"], "match-yes");
        assert_eq!(r["resource_scopes"], json!(["owner", "value", "delegate"]));
        assert!(r.get("authorization_server").is_none());
    }

    let response = reqwest::Client::new().post(format!("{acme}/find")).bearer_auth(&token).send().await.unwrap();
    let found: Value = response.json().await.unwrap();
    assert_eq!(found["provider"], "Acme Pensions");
    assert_eq!(found["matches"].as_array().unwrap().len(), 2);

    // Northwind holds no NINO and Alice's token brings none, but the postcode
    // agrees: still a match. The token is for Acme, so Northwind refuses it.
    let (status, _) = call(&format!("{northwind}/resources"), Some(&token)).await;
    assert_eq!(status, 401);
    let token = find_token(wallet.signing_key(), &issuer, &northwind, alice(), now());
    let (_, resources) = call(&format!("{northwind}/resources"), Some(&token)).await;
    assert_eq!(resources[0]["match_status"], "match-yes");

    let (_, servers) = call(&format!("{acme}/authorization_servers"), None).await;
    assert_eq!(servers, json!([issuer]));
}

#[tokio::test]
async fn weak_or_no_agreement_gives_possible_or_nothing() {
    let owner = TestWallet::start().await;
    let wallet = &owner.server;
    let issuer = wallet.config().issuer.clone();
    let acme = start_provider("acme", vec![issuer.clone()]).await;
    let mut unverified = alice();
    unverified["names"][0]["verified"] = false.into();
    let (_, resources) = call(&format!("{acme}/resources"), Some(&find_token(wallet.signing_key(), &issuer, &acme, unverified, now()))).await;
    assert!(resources.as_array().unwrap().iter().all(|r| r["match_status"] == "match-possible"));
    let mut stranger = alice();
    stranger["date_of_birth"]["value"] = "1990-01-01".into();
    let (status, resources) = call(&format!("{acme}/resources"), Some(&find_token(wallet.signing_key(), &issuer, &acme, stranger, now()))).await;
    assert_eq!((status, resources), (200, json!([])));
}

#[tokio::test]
async fn unsigned_forged_expired_or_untrusted_find_tokens_are_refused() {
    let owner = TestWallet::start().await;
    let wallet = &owner.server;
    let other = TestWallet::start().await;
    let stranger = &other.server;
    let issuer = wallet.config().issuer.clone();
    let acme = start_provider("acme", vec![issuer.clone()]).await;
    let resources = format!("{acme}/resources");
    let cases = [
        ("missing", None),
        ("garbage", Some("not-a-jwt".to_string())),
        ("forged key", Some(find_token(&SigningKey::generate(), &issuer, &acme, alice(), now()))),
        ("expired", Some(find_token(wallet.signing_key(), &issuer, &acme, alice(), now() - 3600))),
        ("untrusted wallet", Some(find_token(stranger.signing_key(), &stranger.config().issuer, &acme, alice(), now()))),
        ("other audience", Some(find_token(wallet.signing_key(), &issuer, "http://elsewhere.example", alice(), now()))),
    ];
    for (case, token) in cases {
        let (status, body) = call(&resources, token.as_deref()).await;
        assert_eq!(status, 401, "{case}: {body}");
        assert_eq!(body["error"], "invalid_token", "{case}");
    }
}

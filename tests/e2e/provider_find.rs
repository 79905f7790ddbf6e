//! The provider's find and resources APIs against a real wallet
//! authorization server and the reference identity service over loopback
//! HTTP.

use crate::common::*;
use serde_json::{json, Value};
use uma_as::keys::{SigningKey, TokenType};

/// Signs with any key, to forge as well as to find.
fn find_token(key: &SigningKey, issuer: &str, audience: &str, find_data: Value, iat: i64) -> String {
    key.sign_typed(TokenType::FindToken, &json!({ "iss": issuer, "aud": audience, "iat": iat, "exp": iat + 300, "jti": uma_as::keys::new_jti(), "find_data": find_data }))
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
async fn a_verified_identity_lists_the_owners_pensions_as_resources() {
    let owner = TestWallet::start().await;
    let identity = start_identity_service().await;
    let issuer = owner.issuer().to_string();
    let acme = start_provider("acme", vec![issuer.clone()], &identity).await;
    let northwind = start_provider("northwind", vec![issuer.clone()], &identity).await;

    let token = owner.find_token_with_proof(&acme, &identity, "alice@example.com").await;
    let (status, resources) = call(&format!("{acme}/resources"), Some(&token)).await;
    assert_eq!(status, 200, "{resources}");
    let resources = resources.as_array().unwrap();
    assert_eq!(resources.len(), 2, "Alice has a DB and a DC pension at Acme");
    let db = resources.iter().find(|r| r["description"] == "Acme Staff Defined Benefit Scheme").unwrap();
    assert_eq!(db["employment"], json!([{ "employer": "Acme Manufacturing Ltd", "from": 1998, "to": 2012 }]));
    for r in resources {
        assert!(r["name"].as_str().unwrap().starts_with("urn:pei:3f2a6c1e-"));
        assert_eq!(r["match_status"], "match-yes");
        assert_eq!(r["resource_scopes"], json!(["owner", "value", "delegate"]));
        assert!(r.get("authorization_server").is_none());
    }

    let token = owner.find_token_with_proof(&acme, &identity, "alice@example.com").await;
    let response = reqwest::Client::new().post(format!("{acme}/find")).bearer_auth(&token).send().await.unwrap();
    let found: Value = response.json().await.unwrap();
    assert_eq!(found["provider"], "Acme Pensions");
    assert_eq!(found["matches"].as_array().unwrap().len(), 2);

    // A token and its presentation are for Acme: Northwind refuses them.
    let (status, _) = call(&format!("{northwind}/resources"), Some(&owner.find_token_with_proof(&acme, &identity, "alice@example.com").await)).await;
    assert_eq!(status, 401);
    // Northwind holds no NINO, but the attested postcode agrees: a match.
    let token = owner.find_token_with_proof(&northwind, &identity, "alice@example.com").await;
    let (_, resources) = call(&format!("{northwind}/resources"), Some(&token)).await;
    assert_eq!(resources[0]["match_status"], "match-yes");

    let (_, servers) = call(&format!("{acme}/authorization_servers"), None).await;
    assert_eq!(servers, json!([issuer]));
}

#[tokio::test]
async fn what_the_owner_states_finds_possible_matches_at_most() {
    let owner = TestWallet::start().await;
    let identity = start_identity_service().await;
    let acme = start_provider("acme", vec![owner.issuer().into()], &identity).await;
    // Alice's details, each marked verified by the wallet itself: before
    // identity credentials, a provider believed it and matched for sure.
    let (_, resources) = call(&format!("{acme}/resources"), Some(&owner.find_token(&acme, alice(), now()))).await;
    let resources = resources.as_array().unwrap();
    assert_eq!(resources.len(), 2);
    assert!(resources.iter().all(|r| r["match_status"] == "match-possible"), "{resources:?}");
    assert!(resources.iter().all(|r| r.get("employment").is_none()), "typed details never tell whom she worked for: {resources:?}");
    let mut stranger = alice();
    stranger["date_of_birth"]["value"] = "1990-01-01".into();
    let (status, resources) = call(&format!("{acme}/resources"), Some(&owner.find_token(&acme, stranger, now()))).await;
    assert_eq!((status, resources), (200, json!([])));
}

#[tokio::test]
async fn unsigned_forged_expired_replayed_or_untrusted_find_tokens_are_refused() {
    let owner = TestWallet::start().await;
    let wallet = &owner.server;
    let other = TestWallet::start().await;
    let stranger = &other.server;
    let identity = start_identity_service().await;
    let issuer = wallet.config().issuer.clone();
    let acme = start_provider("acme", vec![issuer.clone()], &identity).await;
    let resources = format!("{acme}/resources");
    let used = find_token(wallet.signing_key(), &issuer, &acme, alice(), now());
    assert_eq!(call(&resources, Some(&used)).await.0, 200);
    let cases = [
        ("missing", None),
        ("garbage", Some("not-a-jwt".to_string())),
        ("forged key", Some(find_token(&SigningKey::generate(), &issuer, &acme, alice(), now()))),
        ("expired", Some(find_token(wallet.signing_key(), &issuer, &acme, alice(), now() - 3600))),
        ("untrusted wallet", Some(find_token(stranger.signing_key(), &stranger.config().issuer, &acme, alice(), now()))),
        ("other audience", Some(find_token(wallet.signing_key(), &issuer, "http://elsewhere.example", alice(), now()))),
        ("used before", Some(used)),
    ];
    for (case, token) in cases {
        let (status, body) = call(&resources, token.as_deref()).await;
        assert_eq!(status, 401, "{case}: {body}");
        assert_eq!(body["error"], "invalid_token", "{case}");
    }
}

/// Swaps a find token's presentation into a token signed by `signer`.
fn with_presentation(signer: &SigningKey, issuer: &str, audience: &str, presentation: &str) -> String {
    signer.sign_typed(TokenType::FindToken, &json!({
        "iss": issuer, "aud": audience, "iat": now(), "exp": now() + 300,
        "jti": uma_as::keys::new_jti(), "find_data": {}, "identity_presentation": presentation,
    }))
}

fn presentation_of(find_token: &str) -> String {
    use base64::Engine;
    let payload = find_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["identity_presentation"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_stolen_replayed_misdirected_or_unvouched_identity_presentation_is_refused() {
    let alice = TestWallet::start().await;
    let eve = TestWallet::start().await;
    let identity = start_identity_service().await;
    let rogue_identity = start_identity_service().await;
    let acme = start_provider("acme", vec![alice.issuer().into(), eve.issuer().into()], &identity).await;
    let northwind = start_provider("northwind", vec![alice.issuer().into()], &identity).await;
    let resources = format!("{acme}/resources");

    // Eve copies Alice's presentation into a find token of her own wallet.
    let alices = presentation_of(&alice.find_token_with_proof(&acme, &identity, "alice@example.com").await);
    let stolen = with_presentation(eve.server.signing_key(), eve.issuer(), &acme, &alices);
    let (status, body) = call(&resources, Some(&stolen)).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("bound to another wallet"), "{body}");

    // Alice's own presentation, sent again inside a fresh find token.
    let (status, _) = call(&resources, Some(&with_presentation(alice.server.signing_key(), alice.issuer(), &acme, &alices))).await;
    assert_eq!(status, 200);
    let (status, body) = call(&resources, Some(&with_presentation(alice.server.signing_key(), alice.issuer(), &acme, &alices))).await;
    assert_eq!(status, 401, "replayed: {body}");
    assert!(body["error_description"].as_str().unwrap().contains("nonce"), "{body}");

    // A presentation made for Northwind, shown to Acme.
    let for_northwind = presentation_of(&alice.find_token_with_proof(&northwind, &identity, "alice@example.com").await);
    let (status, body) = call(&resources, Some(&with_presentation(alice.server.signing_key(), alice.issuer(), &acme, &for_northwind))).await;
    assert_eq!(status, 401, "{body}");

    // A credential from an identity service Acme does not trust.
    let unvouched = alice.find_token_with_proof(&acme, &rogue_identity, "alice@example.com").await;
    let (status, body) = call(&resources, Some(&unvouched)).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("not in this provider's registry"), "{body}");
}

#[tokio::test]
async fn a_possible_match_names_its_employers_and_years_only_to_someone_who_proved_who_they_are() {
    // A pension from an old job: the provider knows Alice at an address she
    // has left, and has no NINO for her. Her proven name and date of birth
    // agree, her postcode does not: a possible match.
    let mut catalogue: Value = serde_json::from_str(include_str!(
        "../../crates/pension-provider/fixtures/northwind.json"
    ))
    .unwrap();
    catalogue["members"][0]["postcode"] = "LS1 4AP".into();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), catalogue.to_string()).unwrap();
    let owner = TestWallet::start().await;
    let identity = start_identity_service().await;
    let old_job = start_provider(
        file.path().to_str().unwrap(),
        vec![owner.issuer().into()],
        &identity,
    )
    .await;

    let token = owner
        .find_token_with_proof(&old_job, &identity, "alice@example.com")
        .await;
    let (_, found) = call(&format!("{old_job}/resources"), Some(&token)).await;
    assert_eq!(found[0]["match_status"], "match-possible", "{found}");
    let employment = found[0]["employment"].clone();
    assert!(
        employment[0]["employer"].is_string() && employment[0]["from"].is_u64(),
        "{found}"
    );

    // Through her wallet, once she has proved who she is, she sees them too.
    owner.prove_identity(&identity, "alice@example.com").await;
    assert_eq!(
        owner
            .call(
                reqwest::Method::POST,
                "/providers",
                Some(json!({ "url": old_job }))
            )
            .await
            .0,
        201
    );
    let offers = owner.owner(reqwest::Method::GET, "/offers", None).await;
    assert_eq!(
        offers["offers"][0]["match_status"], "match-possible",
        "{offers}"
    );
    assert_eq!(offers["offers"][0]["employment"], employment);

    // Typing Alice's name and birthday proves nothing: no employers.
    let (_, typed) = call(
        &format!("{old_job}/resources"),
        Some(&owner.find_token(&old_job, alice(), now())),
    )
    .await;
    assert_eq!(typed[0]["match_status"], "match-possible");
    assert!(typed[0].get("employment").is_none(), "{typed}");
}

//! Assigning a pension ends with an OpenID4VCI credential offer; a holder
//! collects a PensionResourceCredential with a key proof bound to its did:key.

use crate::common::*;
use pension_provider::did;
use serde_json::{json, Value};

const DB_PENSION: &str = "a1c0ffee-0001-4000-8000-000000000001";

/// Assigns the DB pension to the wallet; the provider's credential offer.
async fn offer(acme: &str, wallet: &TestWallet, identity: &identity_service::IdentityService) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{acme}/resources/{DB_PENSION}"))
        .bearer_auth(wallet.find_token_with_proof(acme, identity, "alice@example.com").await)
        .json(&json!({ "at_as": wallet.issuer(), "assertion": wallet.assertion_for(acme).await }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["credential_offer"].clone()
}

async fn form(url: &str, params: &[(&str, &str)]) -> (u16, Value) {
    let response = reqwest::Client::new().post(url).form(params).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

async fn access_token(offer: &Value) -> String {
    let issuer = offer["credential_issuer"].as_str().unwrap();
    let code = offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"].as_str().unwrap();
    let (status, body) = form(&format!("{issuer}/token"), &[("grant_type", "urn:ietf:params:oauth:grant-type:pre-authorized_code"), ("pre-authorized_code", code)]).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

async fn c_nonce(issuer: &str) -> String {
    let (_, body) = form(&format!("{issuer}/nonce"), &[]).await;
    body["c_nonce"].as_str().unwrap().to_string()
}

fn proof(signer: &ring::signature::Ed25519KeyPair, kid_of: &str, audience: &str, nonce: &str) -> String {
    let header = json!({ "alg": "EdDSA", "typ": "openid4vci-proof+jwt", "kid": did::verification_method(kid_of) });
    did::sign(signer, &header, &json!({ "aud": audience, "iat": now(), "nonce": nonce }))
}

async fn ask_credential(issuer: &str, token: Option<&str>, proof: &str) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{issuer}/credential"))
        .json(&json!({ "credential_configuration_id": "PensionResourceCredential", "proofs": { "jwt": [proof] } }));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_holder_collects_a_credential_naming_the_pension_and_its_authorization_server() {
    let wallet = TestWallet::start().await;
    let identity = start_identity_service().await;
    let acme = start_provider("acme", vec![wallet.issuer().into()], &identity).await;
    let offer = offer(&acme, &wallet, &identity).await;
    assert_eq!(offer["credential_issuer"], acme.as_str());
    assert_eq!(offer["credential_configuration_ids"], json!(["PensionResourceCredential"]));
    let metadata: Value = reqwest::get(format!("{acme}/.well-known/openid-credential-issuer")).await.unwrap().json().await.unwrap();
    assert_eq!(metadata["credential_issuer"], acme.as_str());
    assert_eq!(metadata["credential_configurations_supported"]["PensionResourceCredential"]["format"], "jwt_vc_json");

    let holder = did::generate();
    let holder_did = did::did_of(&holder);
    let token = access_token(&offer).await;
    let (status, body) = ask_credential(&acme, Some(&token), &proof(&holder, &holder_did, &acme, &c_nonce(&acme).await)).await;
    assert_eq!(status, 200, "{body}");
    let credential = body["credentials"][0]["credential"].as_str().unwrap();

    let (header, claims) = did::peek(credential).unwrap();
    let issuer_key = did::public_key(header["kid"].as_str().unwrap()).unwrap();
    assert!(did::verify(credential, &issuer_key), "signed by the key its kid names");
    assert_eq!(claims["iss"].as_str().unwrap(), header["kid"].as_str().unwrap().split('#').next().unwrap());
    assert_eq!(claims["sub"], holder_did.as_str(), "bound to the holder's did:key");
    let subject = &claims["vc"]["credentialSubject"];
    assert!(subject["pei"].as_str().unwrap().ends_with(DB_PENSION));
    assert_eq!(subject["scheme"], "Acme Staff Defined Benefit Scheme");
    assert_eq!(subject["authorizationServer"], wallet.issuer());
    assert!(claims["vc"]["type"].as_array().unwrap().contains(&json!("PensionResourceCredential")));

    // The code and the access token were single-use.
    let code = offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"].as_str().unwrap();
    let (status, body) = form(&format!("{acme}/token"), &[("grant_type", "urn:ietf:params:oauth:grant-type:pre-authorized_code"), ("pre-authorized_code", code)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    let (status, body) = ask_credential(&acme, Some(&token), &proof(&holder, &holder_did, &acme, &c_nonce(&acme).await)).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_token")));
}

#[tokio::test]
async fn bad_key_proofs_get_invalid_proof_or_invalid_nonce() {
    let wallet = TestWallet::start().await;
    let identity = start_identity_service().await;
    let acme = start_provider("acme", vec![wallet.issuer().into()], &identity).await;
    let holder = did::generate();
    let holder_did = did::did_of(&holder);
    let impostor = did::generate();

    let used = c_nonce(&acme).await;
    let token = access_token(&offer(&acme, &wallet, &identity).await).await;
    assert_eq!(ask_credential(&acme, Some(&token), &proof(&holder, &holder_did, &acme, &used)).await.0, 200);

    let token = access_token(&offer(&acme, &wallet, &identity).await).await;
    let cases = [
        ("replayed nonce", proof(&holder, &holder_did, &acme, &used), "invalid_nonce"),
        ("made-up nonce", proof(&holder, &holder_did, &acme, "not-from-this-issuer"), "invalid_nonce"),
        ("another audience", proof(&holder, &holder_did, "https://elsewhere.example", &c_nonce(&acme).await), "invalid_proof"),
        ("signed by a key its kid does not name", proof(&impostor, &holder_did, &acme, &c_nonce(&acme).await), "invalid_proof"),
        ("not a JWS", "garbage".to_string(), "invalid_proof"),
    ];
    for (case, proof, code) in cases {
        let (status, body) = ask_credential(&acme, Some(&token), &proof).await;
        assert_eq!((status, body["error"].as_str()), (400, Some(code)), "{case}: {body}");
    }
    let (status, _) = ask_credential(&acme, None, &proof(&holder, &holder_did, &acme, &c_nonce(&acme).await)).await;
    assert_eq!(status, 401, "no access token");
    // The token survived the refused attempts and still gets its one credential.
    let (status, _) = ask_credential(&acme, Some(&token), &proof(&holder, &holder_did, &acme, &c_nonce(&acme).await)).await;
    assert_eq!(status, 200);
}

//! The wallet as a credential issuer: when the owner approves a request,
//! the client can fetch an access grant credential that anyone verifies
//! with nothing but the wallet's DID (here the independent `verifier`
//! crate, built on ssi and ssi-status only), and that fails once the owner
//! revokes the grant. The owner keeps a receipt of each approval.

use crate::common::*;
use serde_json::{json, Value};

const DB_PENSION: &str = ACME_DB_PENSION;

#[tokio::test]
async fn an_approved_client_holds_a_credential_a_stranger_verifies_until_the_owner_revokes_it() {
    let wallet = TestWallet::start().await;
    let identity = start_identity_service().await;
    let acme = start_provider("acme", vec![wallet.issuer().into()], &identity).await;
    let http = reqwest::Client::new();
    let pei = wallet.protect_alices_db_pension(&acme, &identity).await["pei"].as_str().unwrap().to_string();

    // An adviser's platform asks; Alice approves the administrative data for a day.
    let view = format!("{acme}/pensions/{DB_PENSION}");
    let challenge = http.get(&view).send().await.unwrap();
    let header = challenge.headers()["www-authenticate"].to_str().unwrap().to_string();
    let ticket = header.split("ticket=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let client: Value = http.post(format!("{}/register", wallet.issuer())).json(&json!({ "client_name": "Adviser platform" })).send().await.unwrap().json().await.unwrap();
    let (id, secret) = (client["client_id"].as_str().unwrap().to_string(), client["client_secret"].as_str().unwrap().to_string());
    let grant = |ticket: String| {
        let (http, id, secret, url) = (http.clone(), id.clone(), secret.clone(), format!("{}/token", wallet.issuer()));
        async move {
            http.post(url).basic_auth(id, Some(secret)).form(&[("grant_type", "urn:ietf:params:oauth:grant-type:uma-ticket"), ("ticket", ticket.as_str())]).send().await.unwrap().json::<Value>().await.unwrap()
        }
    };
    let answer = grant(ticket).await;
    assert_eq!(answer["error"], "request_submitted");
    let pending = wallet.owner(reqwest::Method::GET, "/pending", None).await;
    let resource_id = pending[0]["permissions"][0]["resource_id"].as_str().unwrap().to_string();
    let approval = json!({ "permissions": [{ "resource_id": resource_id, "resource_scopes": ["owner"] }], "expires_at": now() + 86400 });
    wallet.owner(reqwest::Method::POST, &format!("/pending/{}/approve", pending[0]["id"].as_str().unwrap()), Some(approval)).await;
    let rpt = grant(answer["ticket"].as_str().unwrap().to_string()).await["access_token"].as_str().expect("an RPT").to_string();

    // The client fetches its credential: authenticated, with its RPT. The
    // provider, which saw the RPT, and another client cannot.
    let fetch = |id: String, secret: String, rpt: String| {
        let (http, url) = (http.clone(), format!("{}/access-grants", wallet.issuer()));
        async move {
            let response = http.post(url).basic_auth(id, Some(secret)).form(&[("rpt", rpt.as_str())]).send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, fetched) = fetch(id.clone(), secret.clone(), rpt.clone()).await;
    assert_eq!(status, 200, "{fetched}");
    let credential = fetched["credentials"][0]["credential"].as_str().expect("a credential").to_string();
    let anonymous = http.post(format!("{}/access-grants", wallet.issuer())).form(&[("rpt", rpt.as_str())]).send().await.unwrap();
    assert_eq!(anonymous.status(), 401, "no client authentication");
    let other: Value = http.post(format!("{}/register", wallet.issuer())).json(&json!({ "client_name": "Someone else" })).send().await.unwrap().json().await.unwrap();
    let (status, _) = fetch(other["client_id"].as_str().unwrap().into(), other["client_secret"].as_str().unwrap().into(), rpt.clone()).await;
    assert_eq!(status, 400, "another client's RPT");

    // Anyone verifies it with the wallet's DID alone.
    let accepted = verifier::verify(&credential, &http).await.expect("an independent verifier accepts it");
    let did = wallet.owner(reqwest::Method::GET, "/did", None).await;
    assert_eq!(accepted.issuer, did["did"].as_str().unwrap());
    let subject = &accepted.credential["credentialSubject"];
    assert_eq!(subject["resource"]["name"], pei.as_str());
    assert_eq!(subject["scopes"], json!(["owner"]));
    assert_eq!(subject["client"]["name"], "Adviser platform");
    assert_eq!(subject["authorizationServer"], wallet.issuer());
    assert!(accepted.credential["validUntil"].is_string(), "until when: {}", accepted.credential);
    assert!(subject.get("requestingParty").is_none(), "what the party said of itself stays out of it");

    // A changed scope breaks the signature.
    let mut parts: Vec<String> = credential.split('.').map(String::from).collect();
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: Value = serde_json::from_slice(&engine.decode(&parts[1]).unwrap()).unwrap();
    claims["credentialSubject"]["scopes"] = json!(["owner", "value"]);
    parts[1] = engine.encode(claims.to_string());
    assert!(matches!(verifier::verify(&parts.join("."), &http).await, Err(verifier::Refused::BadSignature(_))));

    // The status list is public and signed by the same DID, but it is not
    // an access grant: the verifier says so.
    let list = http.get(format!("{}/status/access-grants", wallet.issuer())).send().await.unwrap().text().await.unwrap();
    assert!(matches!(verifier::verify(&list, &http).await, Err(verifier::Refused::Malformed(_))));

    // Alice keeps a receipt of it.
    let receipts = wallet.owner(reqwest::Method::GET, "/receipts", None).await;
    assert_eq!(receipts.as_array().unwrap().len(), 1, "{receipts}");
    assert_eq!(receipts[0]["client_name"], "Adviser platform");
    assert_eq!(receipts[0]["active"], true);
    assert!(verifier::verify(receipts[0]["credential"].as_str().unwrap(), &http).await.is_ok());

    // Alice revokes: the same credential now fails for every verifier.
    let grants = wallet.owner(reqwest::Method::GET, "/grants", None).await;
    wallet.owner(reqwest::Method::POST, &format!("/grants/{}/revoke", grants[0]["id"].as_str().unwrap()), None).await;
    assert_eq!(verifier::verify(&credential, &http).await, Err(verifier::Refused::Revoked));
    let receipts = wallet.owner(reqwest::Method::GET, "/receipts", None).await;
    assert_eq!(receipts[0]["active"], false);
    assert!(receipts[0]["credential"].is_null(), "no new credential for a withdrawn grant");
    let (status, _) = fetch(id.clone(), secret.clone(), rpt.clone()).await;
    assert_eq!(status, 400, "the revoked grant's RPT gets no credential either");
}

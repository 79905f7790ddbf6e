//! The regulator's side of the reference identity service: an authorised
//! adviser signs in and collects an adviser credential over OpenID4VCI,
//! signed by the regulator's own key and naming the regulator as issuer;
//! a person the regulator does not list gets none.

use crate::common::*;
use serde_json::{json, Value};
use uma_as::keys::SigningKey;

/// The adviser's platform collecting the credential; the adviser reads the
/// code in the identity service's outbox.
async fn collect(identity: &identity_service::IdentityService, email: &str, holder: &SigningKey) -> (u16, Value) {
    crate::adviser_holder::collect(&identity.url, email, holder, || identity.latest_code_for(email)).await.unwrap()
}

#[tokio::test]
async fn an_authorised_adviser_collects_a_regulator_signed_credential_and_no_one_else_does() {
    let identity = start_identity_service().await;
    let holder = SigningKey::generate();
    let (status, answer) = collect(&identity, "bob@adviser.example", &holder).await;
    assert_eq!(status, 200, "{answer}");
    let credential = answer["credentials"][0]["credential"].as_str().unwrap();

    // The regulator's keys, where RFC 8615 puts them for `{url}/regulator`.
    let regulator = identity.regulator_url();
    let at = http_guard::outbound::well_known(&regulator, "jwt-vc-issuer").unwrap();
    let metadata: Value = reqwest::get(at).await.unwrap().json().await.unwrap();
    assert_eq!(metadata["issuer"], regulator.as_str());
    let verified = sd_jwt_vc::verify_credential(credential, &metadata["jwks"], now()).expect("signed by the regulator");
    assert_eq!(verified.issuer, regulator);
    assert_eq!(verified.vct, sd_jwt_vc::ADVISER_VCT);
    assert_eq!(verified.claims["firm"], "Sound Advice LLP");
    assert!(sd_jwt_vc::same_key(&verified.holder_key, &holder.public_jwk()));
    // Not under the identity service's own keys.
    assert!(sd_jwt_vc::verify_credential(credential, &identity.key.public_jwks(), now()).is_err());

    // Alice is a person, not an adviser: the regulator vouches for nothing.
    let (status, answer) = collect(&identity, "alice@example.com", &holder).await;
    assert_eq!((status, answer["error"].as_str()), (400, Some("credential_request_denied")), "{answer}");
}

const DB_PENSION: &str = ACME_DB_PENSION;

/// The uma-ticket grant with a pushed presentation; the ticket from a fresh challenge.
async fn push(wallet: &TestWallet, view: &str, client: &(String, String), presentation: impl FnOnce(&str) -> String) -> (String, Value) {
    let http = reqwest::Client::new();
    let challenge = http.get(view).send().await.unwrap();
    let header = challenge.headers()["www-authenticate"].to_str().unwrap().to_string();
    let ticket = header.split("ticket=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let token = presentation(&ticket);
    let answer = http
        .post(format!("{}/token", wallet.issuer()))
        .basic_auth(&client.0, Some(&client.1))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:uma-ticket"),
            ("ticket", ticket.as_str()),
            ("claim_token", token.as_str()),
            ("claim_token_format", uma_as::claims::PRESENTATION_FORMAT),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (token, answer)
}

#[tokio::test]
async fn an_adviser_proving_their_status_is_let_in_by_the_owners_rule_for_thirty_days() {
    let wallet = TestWallet::start().await;
    let identity = start_identity_service().await;
    let acme = start_provider("acme", vec![wallet.issuer().into()], &identity).await;
    let http = reqwest::Client::new();
    wallet.protect_alices_db_pension(&acme, &identity).await;
    let view = format!("{acme}/pensions/{DB_PENSION}?include=value");

    // The official list names the regulator, with its keys.
    let registry_key = registry::RegistryKey::generate();
    let listed = registry_with_regulator(&identity);
    wallet.import_registry(&registry_key, &listed).await;

    // Alice's rule: any authorised adviser may see this pension, with values, for 30 days.
    let resources = wallet.owner(reqwest::Method::GET, "/resources", None).await;
    let resource_id = resources[0]["_id"].as_str().or(resources[0]["id"].as_str()).unwrap().to_string();
    let rule = json!({
        "target": { "kind": "resource", "id": resource_id }, "scopes": ["owner", "value"],
        "party": { "credential_type": "AdviserCredential" }, "outcome": "permit", "grant_lifetime": 30 * 86_400,
    });
    wallet.owner(reqwest::Method::POST, "/policies", Some(rule)).await;

    // Bob's platform holds his adviser credential, bound to its key.
    let platform = SigningKey::generate();
    let bob = identity.person("bob@adviser.example").unwrap();
    let credential = identity.issue_adviser_to(bob, &platform.public_jwk()).unwrap();
    let client: Value = http.post(format!("{}/register", wallet.issuer())).json(&json!({ "client_name": "Sound Advice" })).send().await.unwrap().json().await.unwrap();
    let client = (client["client_id"].as_str().unwrap().to_string(), client["client_secret"].as_str().unwrap().to_string());
    let present = |ticket: &str| {
        sd_jwt_vc::present(&credential, &["/given_name", "/family_name", "/firm"], wallet.issuer(), ticket, now(), |c| {
            platform.sign_typed(uma_as::keys::TokenType::KeyBinding, c)
        })
        .unwrap()
    };

    let (presented, answer) = push(&wallet, &view, &client, present).await;
    let rpt = answer["access_token"].as_str().unwrap_or_else(|| panic!("let in by the rule: {answer}")).to_string();
    let pension = http.get(&view).bearer_auth(&rpt).send().await.unwrap();
    assert_eq!(pension.status(), 200, "values included");
    let grants = wallet.owner(reqwest::Method::GET, "/grants", None).await;
    let adviser_grant = grants.as_array().unwrap().iter().find(|g| g["client_id"] == client.0.as_str()).unwrap();
    let until = adviser_grant["expires_at"].as_i64().expect("the rule's grant ends");
    assert!((until - now() - 30 * 86_400).abs() < 60, "thirty days: {adviser_grant}");
    assert_eq!(adviser_grant["party"]["verified"]["organisation"], "Sound Advice LLP");

    // The same presentation, for another request: refused.
    let (_, replayed) = push(&wallet, &view, &client, |_| presented.clone()).await;
    assert_eq!(replayed["error"], "need_info", "{replayed}");

    // A presentation for another authorization server: refused.
    let (_, elsewhere) = push(&wallet, &view, &client, |ticket| {
        sd_jwt_vc::present(&credential, &["/given_name"], "https://other-wallet.example", ticket, now(), |c| platform.sign_typed(uma_as::keys::TokenType::KeyBinding, c)).unwrap()
    })
    .await;
    assert_eq!(elsewhere["error"], "need_info", "{elsewhere}");

    // Someone holding Bob's credential but not his platform's key: refused.
    let thief = SigningKey::generate();
    let (_, stolen) = push(&wallet, &view, &client, |ticket| {
        sd_jwt_vc::present(&credential, &["/given_name"], wallet.issuer(), ticket, now(), |c| thief.sign_typed(uma_as::keys::TokenType::KeyBinding, c)).unwrap()
    })
    .await;
    assert_eq!(stolen["error"], "need_info", "{stolen}");

    // An identity credential is not an adviser credential, and its issuer
    // is not one Alice trusts for this: no rule lets it in.
    let alice_key = SigningKey::generate();
    let alice_credential = identity.issue_to(identity.person("alice@example.com").unwrap(), &alice_key.public_jwk()).unwrap();
    let (_, other) = push(&wallet, &view, &client, |ticket| {
        sd_jwt_vc::present(&alice_credential, &["/given_name"], wallet.issuer(), ticket, now(), |c| alice_key.sign_typed(uma_as::keys::TokenType::KeyBinding, c)).unwrap()
    })
    .await;
    assert_eq!(other["error"], "need_info", "{other}");

    // The next edition of the official list no longer names the regulator:
    // Bob's proof counts for nothing now.
    let unlisted = registry::Registry { version: 2, entries: vec![], ..listed };
    wallet.owner(reqwest::Method::POST, "/registry", Some(json!({ "registry": registry_key.sign(&unlisted, now(), 3600).unwrap() }))).await;
    let (_, struck_off) = push(&wallet, &view, &client, present).await;
    assert_eq!(struck_off["error"], "need_info", "{struck_off}");

    // Discovery says the format is accepted.
    let metadata: Value = http.get(format!("{}/.well-known/uma2-configuration", wallet.issuer())).send().await.unwrap().json().await.unwrap();
    assert!(metadata["claim_token_profiles_supported"].as_array().unwrap().iter().any(|f| f == uma_as::claims::PRESENTATION_FORMAT));
}

#[tokio::test]
async fn an_adviser_can_prove_their_status_on_the_claims_page_too() {
    let wallet = TestWallet::start().await;
    let identity = start_identity_service().await;
    let acme = start_provider("acme", vec![wallet.issuer().into()], &identity).await;
    let http = reqwest::Client::new();
    wallet.protect_alices_db_pension(&acme, &identity).await;
    let registry_key = registry::RegistryKey::generate();
    let listed = registry_with_regulator(&identity);
    wallet.import_registry(&registry_key, &listed).await;
    let resources = wallet.owner(reqwest::Method::GET, "/resources", None).await;
    let resource_id = resources[0]["_id"].as_str().or(resources[0]["id"].as_str()).unwrap().to_string();
    let rule = json!({ "target": { "kind": "resource", "id": resource_id }, "party": { "credential_type": "AdviserCredential" }, "outcome": "permit" });
    wallet.owner(reqwest::Method::POST, "/policies", Some(rule)).await;

    // The adviser's app asks with no claims: the wallet says what would do.
    let client: Value = http
        .post(format!("{}/register", wallet.issuer()))
        .json(&json!({ "client_name": "Sound Advice", "claims_redirect_uris": ["https://advice.example/back"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, secret) = (client["client_id"].as_str().unwrap().to_string(), client["client_secret"].as_str().unwrap().to_string());
    let challenge = http.get(format!("{acme}/pensions/{DB_PENSION}")).send().await.unwrap();
    let header = challenge.headers()["www-authenticate"].to_str().unwrap().to_string();
    let ticket = header.split("ticket=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let grant = |ticket: String| {
        let (http, url, id, secret) = (http.clone(), format!("{}/token", wallet.issuer()), id.clone(), secret.clone());
        async move {
            http.post(url).basic_auth(id, Some(secret)).form(&[("grant_type", "urn:ietf:params:oauth:grant-type:uma-ticket"), ("ticket", ticket.as_str())]).send().await.unwrap().json::<Value>().await.unwrap()
        }
    };
    let answer = grant(ticket).await;
    assert_eq!(answer["error"], "need_info", "{answer}");
    assert!(answer["required_claims"].as_array().unwrap().iter().any(|c| c["name"] == "credential_type" && c["value"] == "AdviserCredential"), "{answer}");

    // Bob opens the claims page and pastes a presentation made for its code.
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = browser
        .get(answer["redirect_user"].as_str().unwrap())
        .query(&[("client_id", id.as_str()), ("ticket", answer["ticket"].as_str().unwrap()), ("claims_redirect_uri", "https://advice.example/back")])
        .send()
        .await
        .unwrap();
    let cookie = page.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let html = page.text().await.unwrap();
    let hidden = |name: &str| {
        let marker = format!("name=\"{name}\" value=\"");
        html[html.find(&marker).unwrap() + marker.len()..].split('"').next().unwrap().to_string()
    };
    let (session, csrf) = (hidden("session"), hidden("csrf"));
    assert!(html.contains(&format!("<code>{session}</code>")), "the page shows the code to present for");
    let bob_key = SigningKey::generate();
    let credential = identity.issue_adviser_to(identity.person("bob@adviser.example").unwrap(), &bob_key.public_jwk()).unwrap();
    let present = |nonce: &str| {
        sd_jwt_vc::present(&credential, &["/given_name", "/family_name", "/firm"], wallet.issuer(), nonce, now(), |c| bob_key.sign_typed(uma_as::keys::TokenType::KeyBinding, c)).unwrap()
    };
    let post = |presentation: String| {
        let (browser, url, cookie, session, csrf) = (browser.clone(), format!("{}/claims", wallet.issuer()), cookie.clone(), session.clone(), csrf.clone());
        async move {
            browser
                .post(url)
                .header("cookie", cookie)
                .form(&[("session", session.as_str()), ("csrf", csrf.as_str()), ("name", "Bob Baker"), ("email", "bob@adviser.example"), ("presentation", presentation.as_str())])
                .send()
                .await
                .unwrap()
        }
    };
    // Made for another code: refused, and the page stays usable.
    let wrong = post(present("some-other-code")).await;
    assert_eq!(wrong.status(), 400);
    let right = post(present(&session)).await;
    assert_eq!(right.status(), 302);
    let back = right.headers()["location"].to_str().unwrap().to_string();
    let new_ticket = url::Url::parse(&back).unwrap().query_pairs().find(|(k, _)| k == "ticket").unwrap().1.to_string();
    let answer = grant(new_ticket).await;
    assert!(answer["access_token"].is_string(), "the rule lets the proven adviser in: {answer}");
}

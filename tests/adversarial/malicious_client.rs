//! Hostile clients: they register freely, state any name or email, replay
//! and steal tickets and tokens, and ask without end.

use crate::harness::*;
use serde_json::{json, Value};

/// A connected resource server with one resource, as a client sees it.
struct Scene {
    wallet: WalletProcess,
    pat: String,
    resource: String,
}

async fn scene() -> Scene {
    let wallet = WalletProcess::start().await;
    let pat = connect_resource_server(&wallet, "https://rs.example").await;
    let resource = register_resource(&wallet, &pat, "pension").await;
    Scene { wallet, pat, resource }
}

/// Claims gathering as a browser does it: the page, then the form.
async fn state_claims(w: &WalletProcess, client: &Client, ticket: &str, email: &str) -> String {
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = browser.get(w.url("/claims")).query(&[("client_id", client.id.as_str()), ("ticket", ticket)]).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let cookie = page.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let html = page.text().await.unwrap();
    let hidden = |name: &str| html.split(&format!("name=\"{name}\" value=\"")).nth(1).unwrap().split('"').next().unwrap().to_string();
    let form = [("session", hidden("session")), ("csrf", hidden("csrf")), ("name", "Someone".into()), ("email", email.into())];
    let back = browser.post(w.url("/claims")).header("cookie", cookie).form(&form).send().await.unwrap();
    assert_eq!(back.status(), 302);
    let location = back.headers()["location"].to_str().unwrap().to_string();
    url::Url::parse(&location).unwrap().query_pairs().find(|(k, _)| k == "ticket").unwrap().1.into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_for_a_stated_email_does_not_pass_to_another_user_of_the_client() {
    let s = scene().await;
    let w = &s.wallet;
    // A permit for someone else: parties with no claims are asked for them.
    let platform = register_client(w, "Adviser platform").await;
    let carol = json!({ "target": { "kind": "resource", "id": s.resource }, "party": { "email": "carol@adviser.example" }, "outcome": "permit" });
    w.owner_ok(reqwest::Method::POST, "/policies", Some(carol)).await;

    // Bob states his email, the owner approves, Bob's poll gets the RPT.
    let t = ticket(w, &s.pat, &s.resource, &["owner"]).await;
    let (status, first) = uma_grant(w, &platform, &t, &[]).await;
    assert_eq!((status, first["error"].as_str()), (403, Some("need_info")), "{first}");
    let stated = state_claims(w, &platform, first["ticket"].as_str().unwrap(), "bob@adviser.example").await;
    let (status, body) = uma_grant(w, &platform, &stated, &[]).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("request_submitted")), "{body}");
    let request = w.owner_ok(reqwest::Method::GET, "/pending", None).await[0]["id"].as_str().unwrap().to_string();
    w.owner_ok(reqwest::Method::POST, &format!("/pending/{request}/approve"), None).await;
    let (status, bob) = uma_grant(w, &platform, body["ticket"].as_str().unwrap(), &[]).await;
    assert_eq!(status, 200, "{bob}");

    // Mallory, another user of the same platform, states Bob's email.
    let t = ticket(w, &s.pat, &s.resource, &["owner"]).await;
    let (_, first) = uma_grant(w, &platform, &t, &[]).await;
    let stated = state_claims(w, &platform, first["ticket"].as_str().unwrap(), "bob@adviser.example").await;
    let (status, body) = uma_grant(w, &platform, &stated, &[]).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("request_submitted")), "Mallory is asked about, not let in: {body}");

    // Bob, with the PCT his approved chain gave him, is let in again.
    let t = ticket(w, &s.pat, &s.resource, &["owner"]).await;
    let (status, again) = uma_grant(w, &platform, &t, &[("pct", bob["pct"].as_str().unwrap())]).await;
    assert_eq!(status, 200, "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_client_cannot_burn_a_ticket_or_revoke_what_it_gave() {
    let s = scene().await;
    let w = &s.wallet;
    let dashboard = register_client(w, "Dashboard").await;
    let thief = register_client(w, "Thief").await;

    // The dashboard's polling ticket, shown by the thief: refused, and the
    // dashboard's flow goes on.
    let (_, submitted) = uma_grant(w, &dashboard, &ticket(w, &s.pat, &s.resource, &["owner"]).await, &[]).await;
    let polling = submitted["ticket"].as_str().unwrap().to_string();
    let (status, body) = uma_grant(w, &thief, &polling, &[]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    let page = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    page.get(w.url("/claims")).query(&[("client_id", dashboard.id.as_str()), ("ticket", polling.as_str())]).send().await.unwrap();
    let request = w.owner_ok(reqwest::Method::GET, "/pending", None).await[0]["id"].as_str().unwrap().to_string();
    w.owner_ok(reqwest::Method::POST, &format!("/pending/{request}/approve"), None).await;
    let (status, granted) = uma_grant(w, &dashboard, &polling, &[]).await;
    assert_eq!(status, 200, "neither the thief nor a page view used the ticket up: {granted}");
    let rpt = granted["access_token"].as_str().unwrap();

    // The thief shows the used ticket: the dashboard's RPT stays active.
    uma_grant(w, &thief, &polling, &[]).await;
    assert_eq!(introspect(w, &s.pat, rpt).await["active"], true);
    // The dashboard itself replaying it is a replay: its RPT is revoked.
    uma_grant(w, &dashboard, &polling, &[]).await;
    assert_eq!(introspect(w, &s.pat, rpt).await["active"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rpt_upgrade_never_spans_two_resource_servers() {
    let s = scene().await;
    let w = &s.wallet;
    let other_pat = connect_resource_server(w, "https://other-rs.example").await;
    let other = register_resource(w, &other_pat, "other pension").await;
    let client = register_client(w, "Dashboard").await;
    for (resource, _) in [(&s.resource, &s.pat), (&other, &other_pat)] {
        w.owner_ok(reqwest::Method::POST, "/policies", Some(json!({ "target": { "kind": "resource", "id": resource }, "party": { "client_id": client.id }, "outcome": "permit" }))).await;
    }
    let (_, first) = uma_grant(w, &client, &ticket(w, &s.pat, &s.resource, &["owner"]).await, &[]).await;
    let first_rpt = first["access_token"].as_str().unwrap();
    let (status, second) = uma_grant(w, &client, &ticket(w, &other_pat, &other, &["owner"]).await, &[("rpt", first_rpt)]).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["upgraded"], false, "not merged across resource servers");
    let second_rpt = second["access_token"].as_str().unwrap();
    assert_eq!(introspect(w, &s.pat, second_rpt).await["active"], false, "the new RPT is nothing at the first server");
    assert_eq!(introspect(w, &s.pat, first_rpt).await["active"], true, "and the old one was not retired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_cannot_flood_the_owner_with_requests() {
    let s = scene().await;
    let w = &s.wallet;
    let client = register_client(w, "Pest").await;
    let mut refused = 0;
    for _ in 0..25 {
        // Each fresh ticket is a new anonymous party: no two are the same request.
        let (status, body) = uma_grant(w, &client, &ticket(w, &s.pat, &s.resource, &["owner"]).await, &[]).await;
        match (status, body["error"].as_str()) {
            (403, Some("request_submitted")) => {}
            (429, Some("temporarily_unavailable")) => refused += 1,
            other => panic!("{other:?} {body}"),
        }
    }
    let waiting = w.owner_ok(reqwest::Method::GET, "/pending", None).await.as_array().unwrap().len();
    assert_eq!((waiting, refused), (20, 5), "at most 20 requests from one client wait for the owner");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_registration_is_rate_limited() {
    let w = WalletProcess::start().await;
    let mut statuses = Vec::new();
    for i in 0..40 {
        let response = w.http.post(w.url("/register")).json(&json!({ "client_name": format!("c{i}") })).send().await.unwrap();
        statuses.push(response.status().as_u16());
    }
    assert!(statuses.iter().take(30).all(|s| *s == 201), "{statuses:?}");
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert!(refused >= 5, "a burst of registrations is cut off: {statuses:?}");
    let body: Value = w.http.post(w.url("/register")).json(&json!({})).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
}

/// An OpenID Provider the owner trusts, on loopback.
struct OpenIdProvider {
    issuer: String,
    key: std::sync::Arc<uma_as::keys::SigningKey>,
}

impl OpenIdProvider {
    async fn start() -> OpenIdProvider {
        use axum::routing::get;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let key = std::sync::Arc::new(uma_as::keys::SigningKey::generate());
        let (jwks, discovery) = (key.jwks(), json!({ "issuer": issuer, "jwks_uri": format!("{issuer}/jwks") }));
        let app = axum::Router::new()
            .route("/.well-known/openid-configuration", get(move || async move { axum::Json(discovery) }))
            .route("/jwks", get(move || async move { axum::Json(jwks) }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        OpenIdProvider { issuer, key }
    }

    fn id_token(&self, claims: Value) -> String {
        let now = crate::harness::now();
        let mut all = json!({ "iss": self.issuer, "sub": "bob", "iat": now, "exp": now + 300 });
        all.as_object_mut().unwrap().extend(claims.as_object().unwrap().clone());
        self.key.sign(&all)
    }
}

const ID_TOKEN: &str = "http://openid.net/specs/openid-connect-core-1_0.html#IDToken";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_counts_only_as_verified_as_it_says_and_only_once() {
    let s = scene().await;
    let w = &s.wallet;
    let op = OpenIdProvider::start().await;
    let client = register_client(w, "Adviser platform").await;
    w.owner_ok(reqwest::Method::POST, "/trusted-issuers", Some(json!({ "issuer": op.issuer }))).await;
    let policy = json!({ "target": { "kind": "resource", "id": s.resource }, "party": { "email": "bob@adviser.example", "verified_only": true }, "outcome": "permit" });
    w.owner_ok(reqwest::Method::POST, "/policies", Some(policy)).await;
    let (pat, resource, asking) = (&s.pat, &s.resource, &client);
    let push = move |token: String| async move {
        let t = ticket(w, pat, resource, &["owner"]).await;
        uma_grant(w, asking, &t, &[("claim_token", &token), ("claim_token_format", ID_TOKEN)]).await
    };

    // The OP did not say the email is verified: it is not.
    let (status, body) = push(op.id_token(json!({ "aud": client.id, "email": "bob@adviser.example" }))).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("request_submitted")), "{body}");

    // Verified: permitted, once.
    let verified = op.id_token(json!({ "aud": client.id, "email": "bob@adviser.example", "email_verified": true }));
    let (status, body) = push(verified.clone()).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = push(verified).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("need_info")), "a replayed ID token is not a person asking now: {body}");
    assert!(body["error_description"].as_str().unwrap().contains("already used"), "{body}");

    // Addressed to the client's id at the OP, which the owner named: accepted.
    w.owner_ok(reqwest::Method::POST, "/trusted-issuers", Some(json!({ "issuer": op.issuer, "client_ids": ["platform-at-op"] }))).await;
    let (status, body) = push(op.id_token(json!({ "aud": "platform-at-op", "email": "bob@adviser.example", "email_verified": true }))).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = push(op.id_token(json!({ "aud": "someone-else-at-op", "email": "bob@adviser.example", "email_verified": true }))).await;
    assert_eq!(status, 403, "another client's token is not this client's");
}

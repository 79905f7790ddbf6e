//! The wallet's authorization server behind a real TLS reverse proxy:
//! Caddy (the Debian package) terminates HTTPS on loopback with a
//! certificate from its internal CA, and `serve --issuer https://…` names
//! that public URL. The whole story (find, accept, share) runs through it,
//! with every party that reaches the wallet trusting Caddy's CA.
//!
//! The public name is `localhost`: a test machine resolves no other name to
//! loopback without editing `/etc/hosts`. The Host check of a server for a
//! public name is `http_guard::inbound`'s unit test.

use crate::harness::*;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_story_runs_through_caddy_over_https() {
    let port = free_port();
    let public = format!("https://localhost:{port}");
    let mut wallet = WalletProcess::start_with(&["--issuer", &public, "--trusted-proxy", "127.0.0.1"]).await;
    assert_eq!(wallet.issuer, public);
    let caddy = CaddyProcess::start(port, &wallet.listen).await;
    wallet.http = caddy.client();

    // Discovery, through the proxy, names the public URL everywhere, and a
    // client's forwarded headers change none of it.
    for document in ["uma2-configuration", "oauth-authorization-server"] {
        let metadata: Value = wallet
            .http
            .get(format!("{public}/.well-known/{document}"))
            .header("x-forwarded-host", "attacker.example")
            .header("x-forwarded-proto", "http")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(metadata["issuer"], public.as_str());
        for (name, value) in metadata.as_object().unwrap() {
            if let Some(url) = value.as_str().filter(|_| name.ends_with("_endpoint") || name.ends_with("_uri")) {
                assert!(url.starts_with(&format!("{public}/")), "{document} {name}: {url}");
            }
        }
    }
    let plain = reqwest::Client::new().get(format!("{public}/.well-known/uma2-configuration")).send().await;
    assert!(plain.is_err(), "a client that does not trust Caddy's CA gets no answer");

    // Find and accept: the provider verifies the wallet's find token with
    // keys fetched over HTTPS, gets a PAT and registers the pension there.
    let identity = IdentityProcess::start();
    let args = ["--trust-as", &public, "--trust-identity-issuer", &identity.url].map(String::from);
    let acme = ProviderProcess::start_with_env("acme", &args, &[("SSL_CERT_FILE", &caddy.root_ca)]);
    let offers = alice_with_acme(&wallet, &acme, &identity).await;
    let credentials = wallet.owner_ok(reqwest::Method::GET, "/credentials", None).await;
    assert_eq!(credentials.as_array().unwrap().len(), offers.len());
    for credential in credentials.as_array().unwrap() {
        assert_eq!(credential["authorization_server"], public.as_str(), "the pension's credential names the public URL: {credential}");
    }

    // Share: the provider's challenge sends the dashboard to the public
    // URL; it asks there over HTTPS, the owner approves, and the provider
    // introspects the RPT over HTTPS.
    let view = format!("{}/pensions/{}", acme.url, offers[0]["resource_id"].as_str().unwrap());
    assert_eq!(uma_challenge(&view).await.0, public);
    let dashboard = register_client(&wallet, "Family dashboard").await;
    let rpt = approved_rpt(&wallet, &dashboard, &view).await;
    assert_eq!(read_status(&view, Some(&rpt)).await, 200);

    // Revoked in the app: the provider learns it only by asking the wallet,
    // through Caddy.
    revoke_everything(&wallet).await;
    assert_eq!(read_status(&view, Some(&rpt)).await, 401);
}

//! A stranger on the network, or a web page in the owner's browser: no
//! credentials at all, unbounded requests, stalled sockets, oversized
//! bodies, forged Host headers, cross-origin POSTs, stale files.

use crate::harness::*;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_with_huge_client_ids_do_not_grow_the_wallet() {
    let mut w = WalletProcess::start().await;
    w.restart();
    let before = w.disk_usage();
    let huge = "A".repeat(60_000);
    for _ in 0..200 {
        let response = w
            .http
            .post(w.url("/token"))
            .form(&[("grant_type", "client_credentials"), ("client_id", huge.as_str()), ("client_secret", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
    w.restart();
    let grown = w.disk_usage().saturating_sub(before);
    assert!(grown < 1024 * 1024, "200 failed logins grew the data directory by {grown} bytes");
    let entries = w.owner_ok(reqwest::Method::GET, "/audit?limit=10000", None).await;
    let failures: Vec<&Value> = entries.as_array().unwrap().iter().filter(|e| e["action"] == "client.authentication_failed").collect();
    assert_eq!(failures.len(), 2, "counted, not stored one by one: {failures:?}");
    let counted: u64 = failures.iter().map(|e| e["detail"]["repeats"].as_u64().unwrap_or_else(|| 1 + e["detail"]["suppressed_before"].as_u64().unwrap_or(0))).sum();
    assert_eq!(counted, 200, "every failure is counted: {failures:?}");
}

/// Opens a socket from the stranger's address (127.0.0.2; the tests' own
/// requests come from 127.0.0.1) that sends half a request line and then
/// nothing. One over the address's share may be closed before it writes.
async fn stall(address: &str) -> std::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let mut socket = socket.connect(address.parse().unwrap()).await.unwrap().into_std().unwrap();
    socket.set_nonblocking(false).unwrap();
    let _ = socket.write_all(b"GET /.well-known/uma2-configuration HT");
    socket
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_sockets_are_closed_and_do_not_keep_others_out() {
    let w = WalletProcess::start().await;
    let address = w.issuer.trim_start_matches("http://").to_string();
    let mut stalled = Vec::new();
    for _ in 0..300 {
        stalled.push(stall(&address).await);
    }
    let meanwhile = w.http.get(w.url("/.well-known/uma2-configuration")).send().await.unwrap();
    assert_eq!(meanwhile.status(), 200, "served while one address stalls 300 sockets");

    // Each is closed by the server once its head is late; read sees the end.
    let started = Instant::now();
    for socket in &mut stalled {
        socket.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut rest = Vec::new();
        let closed = socket.read_to_end(&mut rest).is_ok();
        assert!(closed, "a stalled socket was left open for 30 s");
    }
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_for_another_host_is_refused_everywhere() {
    let w = WalletProcess::start().await;
    let acme = ProviderProcess::start("acme", &[&w.issuer], &[]);
    for url in [w.url("/.well-known/uma2-configuration"), format!("{}/openapi.json", w.owner_api), format!("{}/authorization_servers", acme.url)] {
        let rebound = w.http.get(&url).header("host", "attacker.example").send().await.unwrap();
        assert_eq!(rebound.status(), 421, "{url} answered for attacker.example");
        let local = w.http.get(&url).header("host", "localhost").send().await.unwrap();
        assert_eq!(local.status(), 200, "{url} on a loopback name");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_page_cannot_post_to_the_protocol_endpoints() {
    let w = WalletProcess::start().await;
    let audited = w.audit_actions().await.len();
    for path in ["/token", "/register", "/revoke", "/permission", "/introspect"] {
        let response = w
            .http
            .post(w.url(path))
            .header("origin", "https://evil.example")
            .form(&[("grant_type", "client_credentials"), ("client_id", "x"), ("client_secret", "y")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{path}");
    }
    let owner = w.http.post(format!("{}/find", w.owner_api)).header("origin", "https://evil.example").bearer_auth(w.token()).send().await.unwrap();
    assert_eq!(owner.status(), 403, "nor the owner API");
    assert_eq!(w.audit_actions().await.len(), audited, "nothing reached the server's state");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_claims_page_does_not_redirect_for_a_ticket_it_does_not_know() {
    let w = WalletProcess::start().await;
    let registered = answer(w.http.post(w.url("/register")).json(&json!({ "client_name": "Redirector", "claims_redirect_uris": ["https://evil.example/landing"] }))).await;
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = browser.get(w.url("/claims")).query(&[("client_id", registered["client_id"].as_str().unwrap()), ("ticket", "made-up")]).send().await.unwrap();
    assert_eq!(page.status(), 400);
    assert!(page.headers().get("location").is_none(), "no redirect to the client's address");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_registration_answers_at_the_collection_path_with_its_slash() {
    let w = WalletProcess::start().await;
    let pat = connect_resource_server(&w, "https://rs.example").await;
    let created = w.http.post(w.url("/resource_set/")).bearer_auth(&pat).json(&json!({ "name": "p", "resource_scopes": ["owner"] })).send().await.unwrap();
    assert_eq!(created.status(), 201);
    let listed: Value = w.http.get(w.url("/resource_set/")).bearer_auth(&pat).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_issuer_over_plain_http_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert!(uma_wallet(dir.path()).arg("init").output().unwrap().status.success());
    let mut serving = uma_wallet(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--issuer", "http://wallet.example"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let exited = loop {
        match serving.try_wait().unwrap() {
            Some(status) => break Some(status),
            None if Instant::now() > deadline => break None,
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    let Some(status) = exited else {
        let _ = serving.kill();
        panic!("the wallet served with a cleartext public issuer");
    };
    assert!(!status.success());
    let mut stderr = String::new();
    serving.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(stderr.contains("https"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_token_changes_every_serve_and_never_goes_to_a_stale_address() {
    let mut w = WalletProcess::start().await;
    let first = w.token();
    w.restart();
    assert_ne!(w.token(), first, "a new token each run");

    // The wallet dies without cleaning up; someone else takes its port.
    w.kill9();
    let squatter = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = squatter.local_addr().unwrap();
    let server_file = w.dir.path().join("server.json");
    let mut ready: Value = serde_json::from_str(&std::fs::read_to_string(&server_file).unwrap()).unwrap();
    ready["owner_api"] = format!("http://{address}").into();
    std::fs::write(&server_file, ready.to_string()).unwrap();
    let seen = std::sync::Arc::new(parking_lot::Mutex::new(Vec::<u8>::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in squatter.incoming().flatten().take(4) {
            let mut stream = stream;
            let mut buffer = [0u8; 8192];
            let n = stream.read(&mut buffer).unwrap_or(0);
            record.lock().extend_from_slice(&buffer[..n]);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}");
        }
    });
    let status = uma_wallet(w.dir.path()).arg("status").output().unwrap();
    assert!(status.status.success(), "the command opened the wallet itself: {}", String::from_utf8_lossy(&status.stderr));
    let token = w.token();
    let heard = String::from_utf8_lossy(&seen.lock()).to_string();
    assert!(!heard.contains(&token), "the owner token went to whatever listened at the stale address");
}

#[test]
fn acknowledged_writes_survive_hard_kills() {
    // The soak's crash part, short: a mixed write load, SIGKILL at random
    // moments, and everything acknowledged found again after each restart.
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_uma-soak"))
        .args(["crash", "--kills", "3"])
        .env("UMA_WALLET_BIN", binary("uma-wallet"))
        .env("PENSION_PROVIDER_BIN", binary("pension-provider"))
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stdout));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_details_go_only_to_secure_provider_addresses_and_not_to_too_many() {
    let w = WalletProcess::start().await;
    for insecure in ["http://192.168.1.10:8101", "http://pensions.example", "ftp://pensions.example"] {
        let (status, body) = w.owner(reqwest::Method::POST, "/providers", Some(json!({ "url": insecure }))).await;
        assert_eq!(status, 400, "{insecure}: {body}");
    }
    assert_eq!(w.owner_ok(reqwest::Method::GET, "/providers", None).await, json!([]));
}

fn provider(url: &str) -> registry::Entry {
    registry::Entry { role: registry::Role::PensionProvider, id: url.into(), name: format!("Provider at {url}"), status: None, did: None, jwks: None }
}

/// A registry signed with `key` without the checks `RegistryKey::sign`
/// makes: what a registry operator's mistake, or a forger holding an old
/// key, could produce.
fn sign_unchecked(key: &registry::RegistryKey, registry: &Value, issued_at: i64, lifetime: i64) -> String {
    use base64::Engine;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let header = json!({ "alg": "EdDSA", "typ": registry::REGISTRY_TYPE });
    let claims = json!({ "iss": key.did(), "iat": issued_at, "exp": issued_at + lifetime, "registry": registry });
    let input = format!("{}.{}", b64(&header), b64(&claims));
    let pair = ring::signature::Ed25519KeyPair::from_pkcs8(key.pkcs8()).unwrap();
    format!("{input}.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(pair.sign(input.as_bytes()).as_ref()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_that_fails_any_check_is_refused_whole_and_adds_nothing() {
    let w = WalletProcess::start().await;
    let key = registry::RegistryKey::generate();
    let good = registry::Registry { name: "Reference registry".into(), version: 2, entries: vec![provider("https://good.example")] };
    let w = &w;
    let import = |jws: String| async move { w.owner(reqwest::Method::POST, "/registry", Some(json!({ "registry": jws }))).await };

    let (status, body) = import(key.sign(&good, now(), 3600).unwrap()).await;
    assert_eq!(status, 400, "no registry key is trusted yet: {body}");
    w.owner_ok(reqwest::Method::PUT, "/registry/key", Some(json!({ "key": key.did() }))).await;

    let cases = [
        ("signed by another key", registry::RegistryKey::generate().sign(&good, now(), 3600).unwrap()),
        ("expired", key.sign(&good, now() - 7200, 3600).unwrap()),
        (
            "101 providers",
            key.sign(&registry::Registry { entries: (0..101).map(|i| provider(&format!("https://p{i}.example"))).collect(), ..good.clone() }, now(), 3600).unwrap(),
        ),
        (
            "a provider over plain http off loopback",
            sign_unchecked(&key, &json!({ "name": "x", "version": 3, "entries": [
                { "role": "pension_provider", "id": "https://good.example", "name": "Good" },
                { "role": "pension_provider", "id": "http://10.0.0.1", "name": "Bad" },
            ] }), now(), 3600),
        ),
        ("tampered", {
            let jws = key.sign(&good, now(), 3600).unwrap();
            let mut parts: Vec<String> = jws.split('.').map(String::from).collect();
            parts[1] = parts[1].replacen('e', "f", 1);
            parts.join(".")
        }),
        ("not a registry", "{\"providers\": []}".to_string()),
    ];
    for (case, jws) in cases {
        let (status, body) = import(jws).await;
        assert_eq!(status, 400, "{case}: {body}");
    }
    assert_eq!(w.owner_ok(reqwest::Method::GET, "/providers", None).await, json!([]), "a bad registry adds nothing");

    // A good one, then an older edition of it: the older one is refused.
    let (status, body) = import(key.sign(&good, now(), 3600).unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let older = registry::Registry { version: 1, entries: vec![provider("https://good.example"), provider("https://removed.example")], ..good.clone() };
    let (status, body) = import(key.sign(&older, now(), 3600).unwrap()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("older"), "{body}");
    let providers = w.owner_ok(reqwest::Method::GET, "/providers", None).await;
    assert_eq!(providers.as_array().unwrap().len(), 1, "{providers}");
    // The same edition signed again (an earlier expiry) does not replace it.
    let (status, _) = import(key.sign(&good, now(), 60).unwrap()).await;
    assert_eq!(status, 400);

    // The next edition strikes the provider off: the wallet forgets it, but
    // keeps the one the owner added herself.
    w.owner_ok(reqwest::Method::POST, "/providers", Some(json!({ "url": "https://mine.example" }))).await;
    let struck_off = registry::Registry { version: 3, entries: vec![provider("https://other.example")], ..good };
    let (status, body) = import(key.sign(&struck_off, now(), 3600).unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let urls: Vec<String> = w.owner_ok(reqwest::Method::GET, "/providers", None).await.as_array().unwrap().iter().map(|p| p["url"].as_str().unwrap().to_string()).collect();
    assert!(urls.contains(&"https://mine.example".to_string()) && urls.contains(&"https://other.example".to_string()), "{urls:?}");
    assert!(!urls.contains(&"https://good.example".to_string()), "struck off: {urls:?}");
}

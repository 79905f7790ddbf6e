//! `uma-soak`: the wallet's release binary under hard kills and under load,
//! over loopback. Prints what it measured as JSON; `scripts/soak.sh` runs
//! every part and RELIABILITY.md records the figures.
//!
//! - `crash --kills N`: a mixed write load (owner decisions, resource
//!   registrations, grants, revocations); the server is killed with SIGKILL
//!   at N random moments and restarted. After each restart every
//!   acknowledged decision and registration must be there, no revoked grant
//!   active, and the audit chain intact.
//! - `load`: a legitimate client's grant latency on a quiet server, then
//!   again with 1,000 polling clients, 1,000 stalled sockets and a flood of
//!   bad requests; and how long the server takes to close stalled sockets.
//! - `logins --count N`: N failed client logins with 60 KB client ids, and
//!   how much they grew the data directory.
//! - `steady --minutes M --rate R`: R ticket-and-grant rounds a second for
//!   M minutes; each minute's p99 and the server's resident memory, to see
//!   whether either drifts.

#[allow(dead_code)]
#[path = "adversarial/harness.rs"]
mod harness;

use harness::*;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn random_below(n: u64) -> u64 {
    let mut bytes = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).expect("random");
    u64::from_le_bytes(bytes) % n.max(1)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |flag: &str, default: usize| {
        args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
    };
    let report = match args.first().map(String::as_str) {
        Some("crash") => crash(number("--kills", 50)).await,
        Some("load") => load(number("--pollers", 1000), number("--stalled", 1000), number("--bad-per-second", 200), number("--seconds", 60)).await,
        Some("logins") => logins(number("--count", 10_000)).await,
        Some("steady") => steady(number("--minutes", 30), number("--rate", 60)).await,
        _ => {
            eprintln!("usage: uma-soak crash [--kills N] | load [--pollers N --stalled N --bad-per-second N --seconds N] | logins [--count N] | steady [--minutes N --rate N]");
            std::process::exit(2);
        }
    };
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    if report["ok"] == false {
        std::process::exit(1);
    }
}

/// What the server acknowledged, to be found again after every crash.
#[derive(Default)]
struct Ledger {
    policies: HashSet<String>,
    resources: HashSet<String>,
    revoked: HashSet<String>,
    decided: HashMap<String, &'static str>,
}

async fn crash(kills: usize) -> Value {
    let mut w = WalletProcess::start().await;
    let ledger = Arc::new(parking_lot::Mutex::new(Ledger::default()));
    let mut failures: Vec<String> = Vec::new();
    let mut acknowledged = 0;
    for round in 0..kills {
        // A PAT or client issued just before a crash may be lost (they are
        // not owner decisions): connect afresh each round.
        let pat = connect_resource_server(&w, &format!("https://rs{round}.example")).await;
        let base = register_resource(&w, &pat, "base").await;
        ledger.lock().resources.insert(base.clone());
        let client = Arc::new(register_client(&w, "dashboard").await);
        let stop = Arc::new(AtomicBool::new(false));
        let w_ref = Arc::new((w.issuer.clone(), w.owner_api.clone(), w.token()));
        let mut workers = Vec::new();
        for kind in 0..4 {
            let (stop, ledger, pat, base, client, target) = (stop.clone(), ledger.clone(), pat.clone(), base.clone(), client.clone(), w_ref.clone());
            workers.push(tokio::spawn(async move { write_load(kind, &target, &pat, &base, &client, &ledger, &stop).await }));
        }
        tokio::time::sleep(Duration::from_millis(200 + random_below(1300))).await;
        w.kill9();
        stop.store(true, Ordering::SeqCst);
        for worker in workers {
            let _ = worker.await;
        }
        w.restart_after_kill();
        let l = ledger.lock();
        acknowledged = l.policies.len() + l.resources.len() + l.revoked.len() + l.decided.len();
        drop(l);
        failures.extend(check(&w, &ledger).await.into_iter().map(|f| format!("after kill {}: {f}", round + 1)));
    }
    json!({ "part": "crash", "kills": kills, "acknowledged_writes": acknowledged, "failures": failures, "ok": failures.is_empty() })
}

/// One kind of write, over and over until the server dies.
async fn write_load(kind: usize, target: &(String, String, String), pat: &str, base: &str, client: &Client, ledger: &parking_lot::Mutex<Ledger>, stop: &AtomicBool) {
    let (issuer, owner_api, token) = target;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let owner = |method: reqwest::Method, path: &str| http.request(method, format!("{owner_api}{path}")).bearer_auth(token);
    let json_of = |r: reqwest::Response| async move { (r.status().as_u16(), r.json::<Value>().await.unwrap_or(Value::Null)) };
    let grant = |ticket: String| {
        let http = http.clone();
        async move {
            let form = [("grant_type", "urn:ietf:params:oauth:grant-type:uma-ticket"), ("ticket", ticket.as_str())];
            http.post(format!("{issuer}/token")).basic_auth(&client.id, Some(&client.secret)).form(&form).send().await
        }
    };
    let new_ticket = |resource: String| {
        let http = http.clone();
        async move {
            let body = json!({ "resource_id": resource, "resource_scopes": ["owner"] });
            let answer: Value = http.post(format!("{issuer}/permission")).bearer_auth(pat).json(&body).send().await.ok()?.json().await.ok()?;
            answer["ticket"].as_str().map(String::from)
        }
    };
    while !stop.load(Ordering::SeqCst) {
        let step: Option<()> = async {
            match kind {
                0 => {
                    let policy = json!({ "target": { "kind": "resource", "id": base }, "party": { "client_id": client.id }, "outcome": "permit" });
                    let (status, body) = json_of(owner(reqwest::Method::POST, "/policies").json(&policy).send().await.ok()?).await;
                    if status == 201 {
                        ledger.lock().policies.insert(body["id"].as_str()?.to_string());
                    }
                }
                1 => {
                    let body = json!({ "name": "registered", "resource_scopes": ["owner", "value"] });
                    let (status, body) = json_of(http.post(format!("{issuer}/resource_set")).bearer_auth(pat).json(&body).send().await.ok()?).await;
                    if status == 201 {
                        ledger.lock().resources.insert(body["_id"].as_str()?.to_string());
                    }
                }
                2 => {
                    let _ = grant(new_ticket(base.to_string()).await?).await.ok()?;
                    let (_, grants) = json_of(owner(reqwest::Method::GET, "/grants").send().await.ok()?).await;
                    let active = grants.as_array()?.iter().find(|g| g["active"] == true)?["id"].as_str()?.to_string();
                    let (status, _) = json_of(owner(reqwest::Method::POST, &format!("/grants/{active}/revoke")).send().await.ok()?).await;
                    if status == 200 {
                        ledger.lock().revoked.insert(active);
                    }
                }
                _ => {
                    // A resource nobody has a policy for: the owner is asked.
                    let body = json!({ "name": "asked", "resource_scopes": ["owner"] });
                    let (_, created) = json_of(http.post(format!("{issuer}/resource_set")).bearer_auth(pat).json(&body).send().await.ok()?).await;
                    let _ = grant(new_ticket(created["_id"].as_str()?.to_string()).await?).await.ok()?;
                    let (_, pending) = json_of(owner(reqwest::Method::GET, "/pending").send().await.ok()?).await;
                    let id = pending.as_array()?.first()?["id"].as_str()?.to_string();
                    let (verb, decision) = if random_below(2) == 0 { ("approve", "approved") } else { ("deny", "denied") };
                    let (status, _) = json_of(owner(reqwest::Method::POST, &format!("/pending/{id}/{verb}")).send().await.ok()?).await;
                    if status == 200 {
                        ledger.lock().decided.insert(id, decision);
                    }
                }
            }
            Some(())
        }
        .await;
        if step.is_none() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Everything in the ledger, found again.
async fn check(w: &WalletProcess, ledger: &parking_lot::Mutex<Ledger>) -> Vec<String> {
    let mut failures = Vec::new();
    let ids = |list: &Value, key: &str| -> HashSet<String> { list.as_array().into_iter().flatten().filter_map(|v| v[key].as_str().map(String::from)).collect() };
    let policies = ids(&w.owner_ok(reqwest::Method::GET, "/policies", None).await, "id");
    let resources = ids(&w.owner_ok(reqwest::Method::GET, "/resources", None).await, "id");
    let grants = w.owner_ok(reqwest::Method::GET, "/grants", None).await;
    let requests = w.owner_ok(reqwest::Method::GET, "/pending?all=true", None).await;
    let verified = w.owner_ok(reqwest::Method::GET, "/audit/verify", None).await;
    let l = ledger.lock();
    failures.extend(l.policies.difference(&policies).map(|p| format!("policy {p} lost")));
    failures.extend(l.resources.difference(&resources).map(|r| format!("resource {r} lost")));
    for g in grants.as_array().into_iter().flatten() {
        if g["active"] == true && l.revoked.contains(g["id"].as_str().unwrap_or_default()) {
            failures.push(format!("revoked grant {} is active", g["id"]));
        }
    }
    let known: HashSet<String> = ids(&grants, "id");
    failures.extend(l.revoked.difference(&known).map(|g| format!("revoked grant {g} lost")));
    for (id, decision) in &l.decided {
        let found = requests.as_array().into_iter().flatten().find(|r| r["id"] == id.as_str());
        match found.and_then(|r| r["status"].as_str()) {
            Some(status) if status == *decision => {}
            other => failures.push(format!("request {id} decided {decision}, found {other:?}")),
        }
    }
    if verified["intact"] != true {
        failures.push(format!("audit chain broken: {verified}"));
    }
    failures
}

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    samples.get(((samples.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN)
}

/// One legitimate client getting RPTs back to back for `seconds`: the
/// latency of each ticket-and-grant round, in milliseconds.
async fn legitimate(w: &WalletProcess, pat: &str, resource: &str, client: &Client, seconds: u64) -> Vec<f64> {
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut samples = Vec::new();
    while Instant::now() < until {
        let started = Instant::now();
        let t = ticket(w, pat, resource, &["owner"]).await;
        let (status, body) = uma_grant(w, client, &t, &[]).await;
        assert_eq!(status, 200, "the legitimate client was refused: {body}");
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
        // A steady 20 rounds a second: within the resource server's ticket budget.
        tokio::time::sleep(Duration::from_millis(50).saturating_sub(started.elapsed())).await;
    }
    samples
}

/// How long the server's live set of short-lived records takes to fill.
const WARM_UP_MINUTES: usize = 15;

/// The server's resident memory in MiB.
fn resident_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(f64::NAN);
    kib / 1024.0
}

/// A steady grant load: `rate` ticket-and-grant rounds a second (clients of
/// 20 rounds a second each, spread over resource servers so that none
/// exceeds its ticket budget), for `minutes`. Each minute: rounds, p50,
/// p99, and the server's resident memory at its end.
async fn steady(minutes: usize, rate: usize) -> Value {
    let w = WalletProcess::start().await;
    let pid = w.pid().expect("the server runs");
    let workers = rate.div_ceil(20).max(1);
    let mut setups = Vec::new();
    for i in 0..workers {
        // At most 80 rounds a second per resource server: its budget is 100.
        if i % 4 == 0 {
            let pat = connect_resource_server(&w, &format!("https://rs-{i}.example")).await;
            let resource = register_resource(&w, &pat, "pension").await;
            setups.push((pat, resource, Vec::new()));
        }
        let client = register_client(&w, &format!("dashboard {i}")).await;
        let (_, resource, clients) = setups.last_mut().unwrap();
        w.owner_ok(reqwest::Method::POST, "/policies", Some(json!({ "target": { "kind": "resource", "id": resource }, "party": { "client_id": client.id }, "outcome": "permit" }))).await;
        clients.push(client);
    }
    let w = Arc::new(w);
    let samples = Arc::new(parking_lot::Mutex::new(Vec::<f64>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (pat, resource, clients) in setups {
        for client in clients {
            let (w, samples, stop, pat, resource) = (w.clone(), samples.clone(), stop.clone(), pat.clone(), resource.clone());
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let round = legitimate(&w, &pat, &resource, &client, 1).await;
                    samples.lock().extend(round);
                }
            }));
        }
    }
    let mut per_minute = Vec::new();
    for minute in 1..=minutes {
        tokio::time::sleep(Duration::from_secs(60)).await;
        let mut taken = std::mem::take(&mut *samples.lock());
        let rounds = taken.len();
        per_minute.push(json!({
            "minute": minute,
            "rounds": rounds,
            "p50_ms": percentile(&mut taken, 0.50),
            "p99_ms": percentile(&mut taken, 0.99),
            "rss_mib": resident_mib(pid),
        }));
        eprintln!("{}", per_minute.last().unwrap());
    }
    stop.store(true, Ordering::SeqCst);
    for task in tasks {
        let _ = task.await;
    }
    let p99 = |m: &Value| m["p99_ms"].as_f64().unwrap_or(f64::NAN);
    let (first, last) = (&per_minute[0], &per_minute[per_minute.len() - 1]);
    let drift = p99(last) / p99(first);
    let rss = |m: &Value| m["rss_mib"].as_f64().unwrap_or(f64::NAN);
    // Memory fills while the live set of short-lived records grows: a
    // spent ticket is kept until no RPT from it can be live, 15 minutes
    // (its 5 and the RPT's 10). From then on it must stay level: compared
    // from the end of minute 15, or from half-way in a shorter run.
    let warm = &per_minute[WARM_UP_MINUTES.min(per_minute.len() / 2)];
    json!({
        "part": "steady",
        "rate": rate,
        "minutes": per_minute,
        "p99_last_over_first": drift,
        "rss_warm_mib": rss(warm),
        "rss_last_mib": rss(last),
        "rss_last_over_warm": rss(last) / rss(warm),
        "ok": drift <= 1.10 && rss(last) <= rss(warm) * 1.10,
    })
}

async fn load(pollers: usize, stalled: usize, bad_per_second: usize, seconds: usize) -> Value {
    let w = WalletProcess::start().await;
    let legit_pat = connect_resource_server(&w, "https://legit-rs.example").await;
    let legit_resource = register_resource(&w, &legit_pat, "legit").await;
    let legit = register_client(&w, "legitimate dashboard").await;
    w.owner_ok(reqwest::Method::POST, "/policies", Some(json!({ "target": { "kind": "resource", "id": legit_resource }, "party": { "client_id": legit.id }, "outcome": "permit" }))).await;

    let quiet = legitimate(&w, &legit_pat, &legit_resource, &legit, seconds as u64).await;

    // The crowd: polling clients (20 chains each, the per-client cap),
    // registered within the registration budget.
    let crowd_pat = connect_resource_server(&w, "https://public-rs.example").await;
    let crowd_resource = register_resource(&w, &crowd_pat, "public").await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    let chains_per_client = 20;
    let mut polling = 0;
    while polling < pollers {
        let response = w.http.post(w.url("/register")).json(&json!({ "client_name": "poller" })).send().await.unwrap();
        if response.status() == 429 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        let body: Value = response.json().await.unwrap();
        let client = Arc::new(Client { id: body["client_id"].as_str().unwrap().into(), secret: body["client_secret"].as_str().unwrap().into() });
        for _ in 0..chains_per_client.min(pollers - polling) {
            let t = ticket(&w, &crowd_pat, &crowd_resource, &["owner"]).await;
            let (client, stop, issuer) = (client.clone(), stop.clone(), w.issuer.clone());
            tasks.push(tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut ticket = t;
                while !stop.load(Ordering::SeqCst) {
                    let form = [("grant_type", "urn:ietf:params:oauth:grant-type:uma-ticket"), ("ticket", ticket.as_str())];
                    let answer = http.post(format!("{issuer}/token")).basic_auth(&client.id, Some(&client.secret)).form(&form).send().await;
                    if let Ok(body) = answer {
                        if let Some(next) = body.json::<Value>().await.ok().and_then(|b| b["ticket"].as_str().map(String::from)) {
                            ticket = next;
                        }
                    }
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }));
            polling += 1;
        }
    }

    // Stalled sockets, reopened as the server closes them; each close timed.
    let address: std::net::SocketAddr = w.issuer.trim_start_matches("http://").parse().unwrap();
    let close_times = Arc::new(parking_lot::Mutex::new(Vec::<f64>::new()));
    for _ in 0..stalled {
        let (stop, times) = (stop.clone(), close_times.clone());
        tasks.push(tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while !stop.load(Ordering::SeqCst) {
                let Ok(mut socket) = tokio::net::TcpStream::connect(address).await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                let opened = Instant::now();
                let _ = socket.write_all(b"POST /token HT").await;
                let mut rest = Vec::new();
                let closed = tokio::time::timeout(Duration::from_secs(60), socket.read_to_end(&mut rest)).await;
                times.lock().push(if closed.is_ok() { opened.elapsed().as_secs_f64() } else { f64::INFINITY });
            }
        }));
    }

    // Bad input at a steady rate: oversized ids, garbage, unknown tickets.
    {
        let (stop, issuer) = (stop.clone(), w.issuer.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let huge = "A".repeat(60_000);
            let mut n = 0u64;
            let gap = Duration::from_secs_f64(1.0 / bad_per_second.max(1) as f64);
            while !stop.load(Ordering::SeqCst) {
                let request = match n % 4 {
                    0 => http.post(format!("{issuer}/token")).form(&[("grant_type", "client_credentials"), ("client_id", huge.as_str()), ("client_secret", "x")]),
                    1 => http.post(format!("{issuer}/token")).header("content-type", "application/x-www-form-urlencoded").body("%%%&&&=="),
                    2 => http.post(format!("{issuer}/register")).header("content-type", "application/json").body("{\"client_name\": [1,2,"),
                    _ => http.post(format!("{issuer}/introspect")).bearer_auth("not-a-pat").form(&[("token", "x")]),
                };
                let bad = request.send();
                tokio::spawn(async move {
                    let _ = bad.await;
                });
                n += 1;
                tokio::time::sleep(gap).await;
            }
        }));
    }
    // Let the crowd settle into its polling rhythm and the stalled sockets fill.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let loaded = legitimate(&w, &legit_pat, &legit_resource, &legit, seconds as u64).await;
    stop.store(true, Ordering::SeqCst);
    for task in tasks {
        task.abort();
    }
    let mut close = close_times.lock().clone();
    let (mut quiet, mut loaded) = (quiet, loaded);
    let (quiet_p99, loaded_p99) = (percentile(&mut quiet, 0.99), percentile(&mut loaded, 0.99));
    let slowest_close = close.iter().cloned().fold(0.0, f64::max);
    json!({
        "part": "load",
        "pollers": pollers, "stalled_sockets": stalled, "bad_requests_per_second": bad_per_second,
        "quiet": { "rounds": quiet.len(), "p50_ms": percentile(&mut quiet, 0.5), "p99_ms": quiet_p99 },
        "under_attack": { "rounds": loaded.len(), "p50_ms": percentile(&mut loaded, 0.5), "p99_ms": loaded_p99 },
        "p99_ratio": loaded_p99 / quiet_p99,
        "stalled_closed": close.len(), "stalled_close_p50_s": percentile(&mut close, 0.5), "stalled_close_max_s": slowest_close,
        "ok": loaded_p99 <= 2.0 * quiet_p99 && slowest_close <= 30.0,
    })
}

async fn logins(count: usize) -> Value {
    let mut w = WalletProcess::start().await;
    w.restart();
    let before = w.disk_usage();
    let huge = "A".repeat(60_000);
    let started = Instant::now();
    for _ in 0..count {
        let response = w.http.post(w.url("/token")).form(&[("grant_type", "client_credentials"), ("client_id", huge.as_str()), ("client_secret", "x")]).send().await.unwrap();
        assert_eq!(response.status(), 401);
    }
    let elapsed = started.elapsed().as_secs_f64();
    w.restart();
    let grown = w.disk_usage() as i64 - before as i64;
    let log = w.owner_ok(reqwest::Method::GET, "/audit?limit=10000", None).await;
    let entries: Vec<&Value> = log.as_array().unwrap().iter().filter(|e| e["action"] == "client.authentication_failed").collect();
    let counted: u64 = entries.iter().map(|e| e["detail"]["repeats"].as_u64().unwrap_or_else(|| 1 + e["detail"]["suppressed_before"].as_u64().unwrap_or(0))).sum();
    json!({
        "part": "logins", "failed_logins": count, "seconds": elapsed, "data_dir_growth_bytes": grown,
        "audit_entries": entries.len(), "failures_counted_in_them": counted,
        "ok": grown < 1024 * 1024 && counted == count as u64,
    })
}

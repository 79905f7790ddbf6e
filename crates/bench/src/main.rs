//! `uma-bench`: sets up a running `uma-wallet serve` for a load benchmark.
//!
//! `uma-bench prepare` talks to the server only over HTTP, through the same
//! endpoints a resource server, a client and the owner use, so what it builds
//! is what production traffic would build (encrypted records, audit entries,
//! in-memory indexes). It leaves behind what the load generator (wrk, see
//! bench/run.sh) needs: one single-use permission ticket per line in
//! `tickets.txt` and the credentials in `setup.json`.

use clap::{Args, Parser, Subcommand};
use futures_util::{stream, StreamExt};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const GRANT_JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const GRANT_UMA_TICKET: &str = "urn:ietf:params:oauth:grant-type:uma-ticket";
/// The server's `ticket_ttl` (uma-as `Config::new`). Not advertised anywhere,
/// so it is only used to warn when the tickets may expire before wrk runs.
const SERVER_TICKET_TTL: Duration = Duration::from_secs(300);
/// The resource server whose PAT registers resources and asks for tickets.
const RESOURCE_SERVER: &str = "bench-rs";

#[derive(Parser)]
#[command(name = "uma-bench", version, about = "Prepare a running uma-wallet server for a load benchmark")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Register resources, a client and policies, then mint permission tickets.
    Prepare(PrepareArgs),
}

#[derive(Args)]
struct PrepareArgs {
    /// The wallet's data directory (for its owner-token file).
    #[arg(long)]
    data_dir: PathBuf,
    /// The authorization server's issuer URL (from serve's ready line).
    #[arg(long)]
    issuer: String,
    /// The owner API's base URL (from serve's ready line).
    #[arg(long)]
    owner_api: String,
    /// Permission tickets to write to tickets.txt (one is spent in addition
    /// to check the grant end to end).
    #[arg(long)]
    tickets: usize,
    /// Resources to register.
    #[arg(long, default_value_t = 100)]
    resources: usize,
    /// Policies in total: one auto-permit for the bench client plus fillers.
    #[arg(long, default_value_t = 100)]
    policies: usize,
    /// Where setup.json and tickets.txt go.
    #[arg(long)]
    out: PathBuf,
    /// Requests in flight at once (resources, tickets).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Owner API policy requests in flight at once (each ends in a store flush).
    #[arg(long, default_value_t = 64)]
    policy_concurrency: usize,
    /// Seed for picking each ticket's resource, so runs are repeatable.
    #[arg(long, default_value_t = 0x5eed)]
    seed: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let result = match cli.command {
        Command::Prepare(args) => runtime.block_on(prepare(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("uma-bench: error: {message}");
            ExitCode::FAILURE
        }
    }
}

type Result<T> = std::result::Result<T, String>;

/// Sends a request and returns its JSON body, or an error naming the step,
/// the status and the body when the status is not `expected`.
async fn call(what: &str, request: RequestBuilder, expected: StatusCode) -> Result<Value> {
    let response = request.send().await.map_err(|e| format!("{what}: request failed: {e}"))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| format!("{what}: reading the response failed: {e}"))?;
    if status != expected {
        return Err(format!("{what}: expected HTTP {expected}, got {status}: {body}"));
    }
    if body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&body).map_err(|e| format!("{what}: response is not JSON ({e}): {body}"))
}

/// A string field of a JSON answer, or an error.
fn text(what: &str, body: &Value, field: &str) -> Result<String> {
    body[field].as_str().map(String::from).ok_or_else(|| format!("{what}: no {field:?} in {body}"))
}

/// Runs `count` requests built by `make`, at most `concurrency` at once,
/// handing each result to `sink` as it arrives. Stops at the first error
/// (dropping the stream cancels the requests still in flight).
async fn bounded<F, Fut, T>(
    label: &str,
    count: usize,
    concurrency: usize,
    make: F,
    mut sink: impl FnMut(T) -> Result<()>,
) -> Result<Duration>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let started = Instant::now();
    let mut results = stream::iter(0..count).map(make).buffer_unordered(concurrency.max(1));
    let mut done = 0usize;
    let mut last_report = Instant::now();
    while let Some(result) = results.next().await {
        sink(result?)?;
        done += 1;
        // Long phases report every few seconds so a stall is visible.
        if last_report.elapsed() >= Duration::from_secs(5) {
            last_report = Instant::now();
            let rate = done as f64 / started.elapsed().as_secs_f64();
            eprintln!("   {label}: {done}/{count} ({rate:.0}/s)");
        }
    }
    let elapsed = started.elapsed();
    let rate = count as f64 / elapsed.as_secs_f64().max(1e-9);
    eprintln!("   {label}: {count} in {:.1} s ({rate:.0}/s)", elapsed.as_secs_f64());
    Ok(elapsed)
}

/// A small deterministic generator (xorshift64*): the ticket-to-resource
/// spread only needs to be uniform and repeatable, not unpredictable.
struct Spread(u64);

impl Spread {
    fn new(seed: u64) -> Self {
        Spread(seed.max(1))
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n as u64) as usize
    }
}

/// RFC 6749 §2.3.1: client id and secret are form-urlencoded before they go
/// into HTTP Basic (reqwest's `basic_auth` then base64s "id:secret").
fn client_basic(request: RequestBuilder, id: &str, secret: &str) -> RequestBuilder {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    request.basic_auth(enc(id), Some(enc(secret)))
}

async fn prepare(args: PrepareArgs) -> Result<()> {
    let started = Instant::now();
    if args.resources == 0 {
        return Err("--resources must be at least 1".into());
    }
    if args.policies == 0 {
        return Err("--policies must be at least 1 (the auto-permit policy)".into());
    }
    let issuer = args.issuer.trim_end_matches('/').to_string();
    let owner_api = args.owner_api.trim_end_matches('/').to_string();
    let token_endpoint = format!("{issuer}/token");
    let introspection_endpoint = format!("{issuer}/introspect");
    let token_path = args.data_dir.join("owner-token");
    let owner_token = std::fs::read_to_string(&token_path)
        .map_err(|e| format!("cannot read the owner API token {}: {e}", token_path.display()))?
        .trim()
        .to_string();
    std::fs::create_dir_all(&args.out).map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;

    // One keep-alive connection per concurrent request; the server is local,
    // so a generous timeout only guards against a hung server.
    let http = Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let http = &http;
    let owner = |path: &str| http.post(format!("{owner_api}{path}")).bearer_auth(&owner_token);

    // 1. The PAT. Minting an assertion is the owner's consent to this
    //    resource server; exchanging it (RFC 7523) creates and approves it.
    eprintln!("== uma-bench prepare: {issuer}");
    let what = "owner API POST /assertions";
    let minted = call(what, owner("/assertions").json(&json!({ "resource_server": RESOURCE_SERVER })), StatusCode::OK).await?;
    let assertion = text(what, &minted, "assertion")?;
    let what = "token endpoint (jwt-bearer grant for the PAT)";
    let form = [("grant_type", GRANT_JWT_BEARER), ("assertion", assertion.as_str())];
    let pat = text(what, &call(what, http.post(&token_endpoint).form(&form), StatusCode::OK).await?, "access_token")?;
    let pat = pat.as_str();
    eprintln!("   PAT issued to resource server {RESOURCE_SERVER:?}");

    // 2. Resources, registered by the resource server.
    let resource_set = format!("{issuer}/resource_set");
    let mut resources: Vec<String> = Vec::with_capacity(args.resources);
    let resources_time = bounded(
        "resources",
        args.resources,
        args.concurrency,
        |i| {
            let request = http
                .post(&resource_set)
                .bearer_auth(pat)
                .json(&json!({ "name": format!("bench resource {i}"), "resource_scopes": ["read", "write"] }));
            async move {
                let what = "POST /resource_set";
                text(what, &call(what, request, StatusCode::CREATED).await?, "_id")
            }
        },
        |id| {
            resources.push(id);
            Ok(())
        },
    )
    .await?;
    // Completion order varies; sorted, the seeded spread below gives every run
    // the same number of tickets per resource position.
    resources.sort();
    let resources = &resources;

    // 3. The requesting client (dynamic registration; uma-ticket is among its
    //    default grant types).
    let what = "POST /register";
    let registered = call(what, http.post(format!("{issuer}/register")).json(&json!({ "client_name": "bench-client" })), StatusCode::CREATED).await?;
    let client_id = text(what, &registered, "client_id")?;
    let client_secret = text(what, &registered, "client_secret")?;
    eprintln!("   client {client_id} registered");

    // 4. Policies. The one that matters permits the bench client on every
    //    resource of bench-rs, so each grant is decided by policy without
    //    claims. The fillers each sit on one resource and name a party that
    //    never asks, so a grant still evaluates the policies of its resource
    //    (the index keeps that to the resource's own and its server's).
    let what = "owner API POST /policies (auto-permit)";
    let permit = json!({
        "target": { "kind": "resource_server", "id": RESOURCE_SERVER },
        "party": { "client_id": client_id },
        "outcome": "permit",
        "description": "uma-bench: permit the bench client",
    });
    call(what, owner("/policies").json(&permit), StatusCode::CREATED).await?;
    // Each owner API policy call flushes the database before it answers (an
    // acknowledged owner decision must survive a crash); the server takes
    // those flushes in turn, so many calls in flight share the wait.
    let fillers = args.policies - 1;
    let policies_time = bounded(
        "filler policies",
        fillers,
        args.policy_concurrency,
        |n| {
            let filler = json!({
                "target": { "kind": "resource", "id": resources[n % resources.len()] },
                "party": { "email": format!("filler-{n}@example.org") },
                "outcome": "permit",
            });
            let request = owner("/policies").json(&filler);
            async move { call("owner API POST /policies (filler)", request, StatusCode::CREATED).await.map(drop) }
        },
        |()| Ok(()),
    )
    .await?;

    // 5. End-to-end check before the bulk work: one ticket, one RPT, and the
    //    resource server's introspection says it is active. A setup that
    //    cannot grant fails here, not after minting all the tickets.
    let mut spread = Spread::new(args.seed);
    let permission = format!("{issuer}/permission");
    let ask_ticket = |resource: &str| {
        let request = http
            .post(&permission)
            .bearer_auth(pat)
            .json(&json!({ "resource_id": resource, "resource_scopes": ["read"] }));
        async move {
            let what = "POST /permission";
            text(what, &call(what, request, StatusCode::CREATED).await?, "ticket")
        }
    };
    let ticket = ask_ticket(&resources[spread.below(resources.len())]).await?;
    let what = "token endpoint (uma-ticket grant)";
    let form = [("grant_type", GRANT_UMA_TICKET), ("ticket", ticket.as_str())];
    let granted = call(what, client_basic(http.post(&token_endpoint), &client_id, &client_secret).form(&form), StatusCode::OK).await?;
    let rpt = text(what, &granted, "access_token")?;
    let what = "POST /introspect";
    let introspection = call(what, http.post(&introspection_endpoint).bearer_auth(pat).form(&[("token", rpt.as_str())]), StatusCode::OK).await?;
    if introspection["active"] != true {
        return Err(format!("{what}: the fresh RPT is not active: {introspection}"));
    }
    eprintln!("   uma-ticket grant and introspection check out");

    // 6. The tickets, one per line, written as they arrive. Each picks a
    //    resource up front (seeded), so the spread is the same from run to run.
    let targets: Vec<usize> = (0..args.tickets).map(|_| spread.below(resources.len())).collect();
    let path = args.out.join("tickets.txt");
    let file = std::fs::File::create(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    let tickets_time = bounded(
        "tickets",
        args.tickets,
        args.concurrency,
        |i| ask_ticket(&resources[targets[i]]),
        |ticket| writeln!(writer, "{ticket}").map_err(|e| format!("writing {}: {e}", path.display())),
    )
    .await?;
    writer.flush().map_err(|e| format!("writing {}: {e}", path.display()))?;
    if tickets_time > SERVER_TICKET_TTL / 2 {
        eprintln!(
            "   WARNING: minting the tickets took {:.0} s; the first ones expire {} s after issue, \
             so a long benchmark run may meet expired tickets",
            tickets_time.as_secs_f64(),
            SERVER_TICKET_TTL.as_secs()
        );
    }

    let total = started.elapsed();
    let setup = json!({
        "client_id": client_id,
        "client_secret": client_secret,
        "pat": pat,
        "rpt": rpt,
        "token_endpoint": token_endpoint,
        "introspection_endpoint": introspection_endpoint,
        "resources": args.resources,
        "policies": args.policies,
        "tickets": args.tickets,
        "prepare_seconds": {
            "resources": round(resources_time),
            "policies": round(policies_time),
            "tickets": round(tickets_time),
            "total": round(total),
        },
    });
    let path = args.out.join("setup.json");
    std::fs::write(&path, serde_json::to_string_pretty(&setup).expect("JSON prints") + "\n")
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    eprintln!("== uma-bench prepare: done in {:.1} s, wrote {}", total.as_secs_f64(), args.out.display());
    Ok(())
}

fn round(d: Duration) -> f64 {
    (d.as_secs_f64() * 100.0).round() / 100.0
}

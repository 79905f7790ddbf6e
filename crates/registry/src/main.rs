//! `registry`: create, sign and check governance registry files.
//!
//! ```text
//! registry keygen --out registry.key          # prints the did:key parties trust
//! registry new --name "Reference registry" --out registry.json
//! registry add registry.json --role pension-provider --id https://acme.example --name "Acme Pensions" [--did ...]
//! registry add registry.json --role identity-issuer --id https://id.example --name "..." --jwks-url https://id.example/.well-known/jwt-vc-issuer
//! registry sign registry.json --key registry.key --out registry.jws [--days 30]
//! registry verify registry.jws --trust did:key:z6Mk...
//! ```

use axum::response::IntoResponse;
use clap::{Parser, Subcommand, ValueEnum};
use registry::{Entry, Registry, RegistryKey, Role};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "registry", version, about = "Create, sign and verify governance registry files")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    IdentityIssuer,
    PensionProvider,
    AuthorizationServer,
    Client,
    Regulator,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::IdentityIssuer => Role::IdentityIssuer,
            RoleArg::PensionProvider => Role::PensionProvider,
            RoleArg::AuthorizationServer => Role::AuthorizationServer,
            RoleArg::Client => Role::Client,
            RoleArg::Regulator => Role::Regulator,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// A new registry signing key (PKCS#8, written 0600); prints its did:key.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// An empty registry document.
    New {
        #[arg(long)]
        name: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Adds a participant to a registry document (its version goes up).
    Add {
        file: PathBuf,
        #[arg(long, value_enum)]
        role: RoleArg,
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        did: Option<String>,
        /// A JSON file with its public keys ({"keys": [...]}).
        #[arg(long)]
        jwks: Option<PathBuf>,
        /// Fetch its public keys from this URL now ({"keys": [...]}, or an
        /// SD-JWT VC issuer metadata document with "jwks").
        #[arg(long)]
        jwks_url: Option<String>,
    },
    /// Signs a registry document.
    Sign {
        file: PathBuf,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// How long the signed registry is valid.
        #[arg(long, default_value_t = 30)]
        days: i64,
    },
    /// Publishes a signed registry over HTTP at `/registry.jws`, as a
    /// governance body does for wallets to fetch; the file is read again
    /// for each request, so signing a new edition over it publishes that.
    /// Prints the address on one line, then serves until Ctrl-C.
    Publish {
        file: PathBuf,
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
    },
    /// Checks a signed registry against the registry key you trust, and prints it.
    Verify {
        file: PathBuf,
        /// The registry key's did:key.
        #[arg(long)]
        trust: String,
    },
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn write(path: &Path, text: &str, private: bool) -> Result<(), String> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let _ = private;
    let mut file = options.open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))
}

fn fetch_jwks(url: &str) -> Result<Value, String> {
    let runtime = tokio_runtime()?;
    runtime.block_on(async {
        let http = http_guard::outbound::client(std::time::Duration::from_secs(10));
        let response = http.get(url).send().await.map_err(|e| format!("{url}: {e}"))?;
        let document: Value = http_guard::outbound::json_capped(response, 1024 * 1024).await.map_err(|e| format!("{url}: {e}"))?;
        Ok(if document.get("jwks").is_some() { document["jwks"].clone() } else { document })
    })
}

/// Three dot-separated base64url parts: the shape of a signed registry.
fn looks_like_jws(text: &str) -> bool {
    let parts: Vec<&str> = text.trim().split('.').collect();
    parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

fn tokio_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())
}

fn run(command: Command) -> Result<String, String> {
    match command {
        Command::Keygen { out } => {
            let key = RegistryKey::generate();
            use base64::Engine;
            write(&out, &base64::engine::general_purpose::STANDARD.encode(key.pkcs8()), true)?;
            Ok(key.did())
        }
        Command::New { name, out } => {
            let registry = Registry { name, version: 0, entries: vec![] };
            write(&out, &serde_json::to_string_pretty(&registry).expect("serializes"), false)?;
            Ok(format!("created {}", out.display()))
        }
        Command::Add { file, role, id, name, status, did, jwks, jwks_url } => {
            let mut registry: Registry = serde_json::from_str(&read(&file)?).map_err(|e| format!("{}: {e}", file.display()))?;
            let jwks = match (jwks, jwks_url) {
                (Some(path), _) => Some(serde_json::from_str(&read(&path)?).map_err(|e| format!("{}: {e}", path.display()))?),
                (None, Some(url)) => Some(fetch_jwks(&url)?),
                (None, None) => None,
            };
            registry.entries.push(Entry { role: role.into(), id, name, status, did, jwks });
            registry.version += 1;
            write(&file, &serde_json::to_string_pretty(&registry).expect("serializes"), false)?;
            Ok(format!("{} entries, version {}", registry.entries.len(), registry.version))
        }
        Command::Sign { file, key, out, days } => {
            let registry: Registry = serde_json::from_str(&read(&file)?).map_err(|e| format!("{}: {e}", file.display()))?;
            use base64::Engine;
            let pkcs8 = base64::engine::general_purpose::STANDARD.decode(read(&key)?.trim()).map_err(|e| format!("{}: {e}", key.display()))?;
            let key = RegistryKey::from_pkcs8(&pkcs8).map_err(|e| e.to_string())?;
            let signed = key.sign(&registry, now(), days * 24 * 3600).map_err(|e| e.to_string())?;
            write(&out, &signed, false)?;
            Ok(format!("signed {} (version {}, {} entries) by {}", out.display(), registry.version, registry.entries.len(), key.did()))
        }
        Command::Publish { file, listen } => tokio_runtime()?.block_on(async move {
            read(&file)?;
            let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("{listen}: {e}"))?;
            let url = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
            println!("{url}/registry.jws");
            let app = axum::Router::new().route(
                "/registry.jws",
                axum::routing::get(move || {
                    let file = file.clone();
                    async move {
                        // Only ever a compact JWS: a key file named by mistake is not served.
                        match std::fs::read_to_string(&file) {
                            Ok(signed) if looks_like_jws(&signed) => ([(axum::http::header::CONTENT_TYPE, "application/jose")], signed).into_response(),
                            _ => axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response(),
                        }
                    }
                }),
            );
            http_guard::inbound::serve_as(listener, app, &url).await.map_err(|e| e.to_string())?;
            Ok("stopped".into())
        }),
        Command::Verify { file, trust } => {
            let signed = registry::verify(&read(&file)?, &trust, now()).map_err(|e| e.to_string())?;
            let entries: Vec<String> = signed.registry.entries.iter().map(|e| format!("  {} {} ({})", e.role.label(), e.id, e.name)).collect();
            Ok(format!("valid: {} version {}, until {}\n{}", signed.registry.name, signed.registry.version, signed.expires_at, entries.join("\n")))
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

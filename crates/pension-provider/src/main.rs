//! `pension-provider serve`: run a reference pension provider.

use clap::{Parser, Subcommand};
use pension_provider::{fixtures::Catalogue, http, Provider};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "pension-provider", version, about = "A reference pension provider (UMA resource server, PDP find API)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve until Ctrl-C or SIGTERM; prints one JSON line when ready.
    Serve {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// A built-in fixture (acme, northwind) or a JSON file.
        #[arg(long, default_value = "acme")]
        fixtures: String,
        /// An authorization server this provider trusts (repeatable): its issuer URL.
        #[arg(long = "trust-as")]
        trust_as: Vec<String>,
        /// An identity service whose identity credentials this provider
        /// matches members on (repeatable): its issuer URL.
        #[arg(long = "trust-identity-issuer")]
        trust_identity_issuer: Vec<String>,
        /// A signed governance registry file: its authorization servers and
        /// identity services are trusted (with the keys it lists).
        #[arg(long, requires = "registry_key")]
        registry: Option<std::path::PathBuf>,
        /// The did:key the registry must be signed with.
        #[arg(long, requires = "registry")]
        registry_key: Option<String>,
        /// Wait this long before answering a find or discovery (simulates a slow provider).
        #[arg(long, default_value_t = 0)]
        find_delay_ms: u64,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt().with_writer(std::io::stderr).init();
    let Command::Serve { listen, fixtures, trust_as, trust_identity_issuer, registry, registry_key, find_delay_ms } = Cli::parse().command;
    let catalogue = match Catalogue::load(&fixtures) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    let provider_name = catalogue.provider_name.clone();
    let mut provider = Provider::new(url.clone(), catalogue, trust_as, trust_identity_issuer);
    if let (Some(path), Some(key)) = (registry, registry_key) {
        let signed = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: {e}", path.display()))
            .and_then(|text| registry::verify(&text, &key, pension_provider::trust::now()).map_err(|e| format!("{}: {e}", path.display())));
        match signed {
            Ok(signed) => provider.registry.add_governance(&signed),
            Err(e) => {
                eprintln!("error: registry refused: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    provider.find_delay = std::time::Duration::from_millis(find_delay_ms);
    let provider = Arc::new(provider);
    println!("{}", serde_json::json!({ "url": url, "provider_name": provider_name, "pid": std::process::id() }));
    match http_guard::inbound::serve_as(listener, http::router(provider), &url).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

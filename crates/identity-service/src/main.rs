//! `identity-service serve`: run the reference identity service.

use clap::{Parser, Subcommand};
use identity_service::{router, IdentityService, People};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "identity-service", version, about = "A reference identity service (sign-in with a one-time code, SD-JWT VC identity credentials over OpenID4VCI)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve until Ctrl-C or SIGTERM; prints one JSON line when ready.
    /// One-time codes go to standard error as JSON lines (the reference's email).
    Serve {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// `builtin` or a JSON file of people.
        #[arg(long, default_value = "builtin")]
        fixtures: String,
        /// Also show each one-time code on the sign-in page (reference only).
        #[arg(long)]
        show_codes: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt().with_writer(std::io::stderr).init();
    let Command::Serve { listen, fixtures, show_codes } = Cli::parse().command;
    let people = match People::load(&fixtures) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if show_codes && !listen.ip().is_loopback() {
        eprintln!("error: --show-codes lets anyone sign in as anyone: it is for loopback demos only");
        return ExitCode::FAILURE;
    }
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    let service = Arc::new(IdentityService::new(url.clone(), people, show_codes));
    println!("{}", serde_json::json!({ "url": url, "kid": service.key.kid(), "pid": std::process::id() }));
    match http_guard::inbound::serve_as(listener, router(service), &url).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

//! `vc-verify [FILE]`: checks an access grant credential (a `vc+jwt`, read
//! from FILE or standard input) as an independent verifier: signature by
//! the issuer's did:key, validity, and revocation through its status list.
//! Prints what it found as JSON; exits 0 only when the credential holds.

use clap::Parser;
use serde_json::json;
use std::io::Read;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "vc-verify", version, about = "Verify an access grant credential: signature, validity and revocation")]
struct Cli {
    /// The credential (compact JWS); standard input when absent.
    file: Option<std::path::PathBuf>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let text = match &cli.file {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display())),
        None => {
            let mut text = String::new();
            std::io::stdin().take(1024 * 1024).read_to_string(&mut text).map(|_| text).map_err(|e| e.to_string())
        }
    };
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let http = http_guard::outbound::client(std::time::Duration::from_secs(10));
    match verifier::verify(&text, &http).await {
        Ok(accepted) => {
            println!("{}", json!({ "valid": true, "issuer": accepted.issuer, "credential": accepted.credential }));
            ExitCode::SUCCESS
        }
        Err(refused) => {
            println!("{}", json!({ "valid": false, "reason": refused.to_string() }));
            ExitCode::FAILURE
        }
    }
}

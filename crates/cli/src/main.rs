//! `uma-wallet`: run a personal UMA 2.0 authorization server and manage it.
//!
//! Owner commands talk to a running `serve` through its owner API (found via
//! `server.json` in the data directory); when none runs, they open the wallet
//! themselves and drive the same owner API in-process. Either way they go
//! through the one owner service.

mod owner;
#[cfg(target_os = "linux")]
mod tray;

use clap::{Args, Parser, Subcommand, ValueEnum};
use owner::{Owner, OwnerError};
use serde_json::Value;
use wallet::api::{AcceptOffer, AuditQuery, FetchRegistry, ChangePassphrase, AddProvider, Approval, AssertionRequest, Identity, MovePension, NewPolicy, Outcome, PartyCondition, Permission, SignInStatus, Target, TrustIssuer};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use wallet::serve::{self, ServeOptions};
use wallet::{Clock, Config, KdfParams, Wallet};

#[derive(Parser)]
#[command(name = "uma-wallet", version, about = "A personal UMA 2.0 authorization server for your pension data")]
struct Cli {
    /// The wallet's data directory [default: the platform's data directory]/uma-wallet.
    #[arg(long, global = true, env = "UMA_WALLET_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Where backups go [default: "Pension wallet backups" in your documents].
    #[arg(long, global = true, env = "UMA_WALLET_BACKUP_DIR")]
    backup_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new wallet (passphrase from a prompt or UMA_WALLET_PASSPHRASE).
    Init,
    /// Run the authorization server and the owner API until SIGTERM or Ctrl-C.
    Serve(ServeArgs),
    /// Recreate the wallet from a backup file (`uma-wallet backup make`, or the app's Settings).
    Restore {
        /// The backup file.
        backup: PathBuf,
    },
    /// Give the passphrase to a `serve --locked` waiting for it.
    Unlock,
    /// Use this wallet although its data is older than when it was last
    /// used: you put back an older copy of its folder yourself. What it
    /// brings back (access you had since withdrawn, say) comes back with
    /// it. Recorded in the audit log.
    AcceptOlderCopy,
    /// Sealed backups of the whole wallet, in the backup folder.
    #[command(subcommand)]
    Backup(BackupCommand),
    /// Show what the wallet holds.
    Status,
    /// Change the wallet's passphrase (the new one from a prompt or
    /// UMA_WALLET_NEW_PASSPHRASE). Backups made before keep the old one.
    Passphrase {
        /// Also replace the key that seals every record, so that someone who
        /// learnt the old passphrase and kept a copy of the wallet cannot
        /// open what it holds from now on. The wallet must not be serving;
        /// tokens already handed out stop working.
        #[arg(long)]
        new_key: bool,
    },
    /// Clients and resource servers that asked to connect.
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Resources registered by resource servers.
    Resources,
    /// Access requests waiting for your decision.
    #[command(subcommand)]
    Pending(PendingCommand),
    /// Your rules for who may access what.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Access you have granted.
    #[command(subcommand)]
    Grants(GrantsCommand),
    /// Your consent receipts: each approval you gave, with the access grant
    /// credential the wallet issued for it.
    Receipts,
    /// OpenID Providers whose ID tokens you accept as proof of identity.
    #[command(subcommand)]
    Trust(TrustCommand),
    /// The tamper-evident log of every decision.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Who you are: your identity credential from an identity service, and
    /// details you state yourself. Providers find your pensions with them.
    #[command(subcommand)]
    Identity(IdentityCommand),
    /// The pension providers the wallet asks.
    #[command(subcommand)]
    Providers(ProvidersCommand),
    /// The governance registry: who is who among providers, identity
    /// services, wallets and the apps that ask for access.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Ask every provider, in parallel, whether it holds pensions of yours.
    Find,
    /// Pensions the providers hold for you that this wallet does not protect yet.
    Offers {
        /// An `openid-credential-offer://` link: only the offering provider's pensions.
        #[arg(long)]
        link: Option<String>,
    },
    /// Your pensions, read through UMA as their owner: values, income, totals.
    Pensions,
    /// Move a pension this wallet protects to another authorization server.
    Move {
        #[arg(long)]
        provider: String,
        resource_id: String,
        /// The issuer URL of the authorization server to move to.
        #[arg(long)]
        to: String,
        /// An assertion that server minted for the provider (its `uma-wallet assertion`).
        #[arg(long)]
        assertion: String,
    },
    /// This wallet's address, and the pensions whose provider still names
    /// an earlier one; with --follow, tell those providers the address now.
    Address {
        #[arg(long)]
        follow: bool,
    },
    /// Credentials this wallet holds.
    #[command(subcommand)]
    Credentials(CredentialsCommand),
    /// This wallet's DID.
    Did,
    /// Protect an offered pension with this wallet.
    Accept {
        /// The provider's URL, as in `offers`.
        #[arg(long)]
        provider: String,
        /// The offer's resource_id.
        resource_id: String,
        /// The code the provider sent you, when another wallet protects
        /// this pension and the provider asked you to confirm the move.
        #[arg(long)]
        confirmation_code: Option<String>,
    },
    /// Mint a jwt-bearer assertion that lets one resource server connect (get a PAT).
    Assertion {
        /// The resource server's identifier (becomes its client id here).
        #[arg(long)]
        resource_server: String,
        /// Seconds the assertion stays valid.
        #[arg(long, default_value_t = 600)]
        lifetime: i64,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Address of the authorization server. Loopback by default; anything
    /// else exposes it to the network.
    #[arg(long, default_value = "127.0.0.1:7420")]
    listen: SocketAddr,
    /// Address of the owner API; must be loopback. Port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    owner_listen: SocketAddr,
    /// Public issuer URL, when the server sits behind a reverse proxy or tunnel.
    #[arg(long)]
    issuer: Option<String>,
    /// Permission tickets one resource server may ask for a minute
    /// [default: 6000]; raise it for load tests.
    #[arg(long)]
    tickets_per_minute: Option<u32>,
    /// Seconds an access token (RPT) lasts, 10 to 3600 [default: 600].
    /// While this wallet cannot be reached, a provider that checks tokens
    /// itself honours a revocation only once the token ends.
    #[arg(long, value_parser = clap::value_parser!(i64).range(10..=3600))]
    rpt_lifetime: Option<i64>,
    /// The address of a reverse proxy in front of the server (repeatable):
    /// its connections carry everyone's requests, so the per-address
    /// connection limit does not apply to it. Nothing is read from
    /// `X-Forwarded-*` headers, from it or anyone.
    #[arg(long = "trusted-proxy", value_name = "IP")]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// Start without the passphrase (at login, say): the owner API takes it
    /// later, from the desktop app or `uma-wallet unlock`; until then the
    /// authorization server answers 503.
    #[arg(long)]
    locked: bool,
    /// With --locked: open the wallet at once with the passphrase kept in
    /// the system's keyring, if the owner chose that in the app.
    #[arg(long, requires = "locked")]
    unlock_from_keyring: bool,
    /// Show the wallet in the desktop's tray (Linux): "Open wallet" starts
    /// the desktop app over this server, "Quit" stops it; new requests show
    /// as notifications. What the app's login entry runs.
    #[arg(long)]
    tray: bool,
    /// Make a backup each day the server runs, keeping this many (1 to 365).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=365))]
    daily_backups: Option<u32>,
}

#[derive(Subcommand)]
enum IdentityCommand {
    /// The details you stated yourself.
    Show,
    /// State your details yourself. Providers never take them as verified:
    /// they can find possible matches only.
    Set(IdentityArgs),
    /// Prove who you are at an identity service and keep the identity
    /// credential it issues: prints the page to open in your browser, then
    /// waits for you to sign in there.
    Get {
        /// The identity service's address.
        #[arg(long)]
        issuer: String,
        /// How long to wait for you to sign in.
        #[arg(long, default_value_t = 600)]
        wait_seconds: u64,
    },
    /// What your identity credential attests, and the latest sign-in.
    Credential,
    /// Delete your identity credential.
    ForgetCredential,
}

#[derive(Args)]
struct IdentityArgs {
    #[arg(long)]
    given_name: String,
    #[arg(long)]
    family_name: String,
    /// YYYY-MM-DD.
    #[arg(long)]
    date_of_birth: String,
    #[arg(long)]
    nino: Option<String>,
    #[arg(long)]
    postcode: Option<String>,
    #[arg(long = "address-line")]
    address_lines: Vec<String>,
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    mobile: Option<String>,
}

#[derive(Subcommand)]
enum ProvidersCommand {
    List,
    Add {
        url: String,
        #[arg(long)]
        name: Option<String>,
    },
    Remove {
        url: String,
    },
}

#[derive(Subcommand)]
enum RegistryCommand {
    /// Trust registries signed by this key (the registry's did:key).
    Trust { key: String },
    /// Import a signed registry file (checked whole against the trusted
    /// key) and add the pension providers it lists.
    Import { file: PathBuf },
    /// Fetch the signed registry from where it is published and add the
    /// pension providers it lists; with no URL, from where it was fetched
    /// last.
    Fetch {
        url: Option<String>,
        /// The registry's did:key, trusted if no key is set yet.
        #[arg(long)]
        key: Option<String>,
    },
    /// The trusted key and the registry held.
    Show,
}

#[derive(Subcommand)]
enum CredentialsCommand {
    List,
    /// One credential with its decoded claims.
    Show { id: String },
    /// Check its signature, holder and type again.
    Verify { id: String },
    Delete { id: String },
    /// Every credential with its JWT, as JSON.
    Export {
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ClientsCommand {
    List,
    /// Let a waiting resource server get a PAT.
    Approve { client_id: String },
    /// Refuse a resource server; its PATs stop working.
    Refuse { client_id: String },
}

#[derive(Subcommand)]
enum PendingCommand {
    List {
        /// Include decided requests.
        #[arg(long)]
        all: bool,
    },
    /// Approve a request (all it asked for, unless --scope narrows it).
    Approve {
        request_id: String,
        /// Grant only these, as RESOURCE_ID:SCOPE (repeatable).
        #[arg(long = "scope", value_name = "RESOURCE_ID:SCOPE")]
        scopes: Vec<String>,
        /// The grant ends after this many seconds.
        #[arg(long)]
        expires_in: Option<i64>,
        /// Next time, let the same app and checked person have the same
        /// access without asking (adds a rule per pension).
        #[arg(long)]
        remember: bool,
    },
    Deny { request_id: String },
    /// What the request would release, pension by pension, with your own
    /// values, read now from each provider.
    Preview { request_id: String },
}

#[derive(Clone, Copy, ValueEnum)]
enum OutcomeArg {
    Permit,
    Ask,
    Deny,
}

#[derive(Subcommand)]
enum PolicyCommand {
    List,
    Add(PolicyArgs),
    Remove { policy_id: String },
}

#[derive(Args)]
struct PolicyArgs {
    /// The resource the policy covers.
    #[arg(long, conflicts_with = "resource_server", required_unless_present = "resource_server")]
    resource: Option<String>,
    /// Or every resource of this resource server (client id).
    #[arg(long)]
    resource_server: Option<String>,
    /// Scopes covered (repeatable); none means all.
    #[arg(long = "scope")]
    scopes: Vec<String>,
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    issuer: Option<String>,
    #[arg(long)]
    subject: Option<String>,
    /// Only this client.
    #[arg(long)]
    client: Option<String>,
    /// Anyone presenting this kind of credential from an issuer you trust
    /// (e.g. AdviserCredential: an adviser a registry-listed regulator vouches for).
    #[arg(long)]
    credential_type: Option<String>,
    /// The access a permit gives lasts this many days from when it is given.
    #[arg(long)]
    days: Option<i64>,
    /// Only claims verified by a trusted issuer count.
    #[arg(long)]
    verified_only: bool,
    /// Every app your governance register does not list (with --outcome
    /// deny: turn them away without asking you).
    #[arg(long)]
    unlisted_apps: bool,
    /// Unix time from which the policy applies.
    #[arg(long)]
    valid_from: Option<i64>,
    /// Unix time until which the policy applies.
    #[arg(long)]
    valid_until: Option<i64>,
    #[arg(long, value_enum)]
    outcome: OutcomeArg,
    #[arg(long)]
    description: Option<String>,
}

#[derive(Subcommand)]
enum GrantsCommand {
    List,
    /// Revoke a grant; RPTs issued from it stop working at once, and its
    /// access grant credential shows as revoked in the status list.
    Revoke { grant_id: String },
}

#[derive(Subcommand)]
enum TrustCommand {
    List,
    Add {
        issuer: String,
        /// Where its keys are; found through OpenID discovery when omitted.
        #[arg(long)]
        jwks_uri: Option<String>,
        /// A client's id at that issuer whose ID tokens count here (repeatable).
        #[arg(long = "client-id")]
        client_ids: Vec<String>,
    },
    Remove { issuer: String },
}

#[derive(Subcommand)]
enum BackupCommand {
    /// Make one now. It opens with the passphrase the wallet has now.
    Make,
    /// The backups there are, newest first.
    List,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// The newest entries, newest first; the filters search the whole log.
    List {
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Only entries about this pension (its id here or its PEI), or
        /// `gone` for pensions no longer protected here.
        #[arg(long)]
        pension: Option<String>,
        /// Only entries by `owner`, `apps`, `providers`, `others`, or one
        /// actor (`client:<id>`).
        #[arg(long)]
        who: Option<String>,
        /// Only this action (`pending.approve`), or every action under a
        /// prefix ending in a dot (`token.`).
        #[arg(long)]
        action: Option<String>,
    },
    /// Check the hash chain; exits non-zero if an entry was changed or removed.
    Verify,
    /// Every entry, oldest first, as JSON.
    Export {
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

/// The new passphrase from UMA_WALLET_NEW_PASSPHRASE, or asked twice on the terminal.
fn new_passphrase() -> Result<String, String> {
    if let Ok(new) = std::env::var("UMA_WALLET_NEW_PASSPHRASE") {
        return Ok(new);
    }
    let first = rpassword::prompt_password("New passphrase: ").map_err(|e| format!("cannot read the passphrase: {e}"))?;
    let again = rpassword::prompt_password("Repeat new passphrase: ").map_err(|e| format!("cannot read the passphrase: {e}"))?;
    if again != first {
        return Err("the passphrases differ".into());
    }
    Ok(first)
}

fn default_data_dir() -> PathBuf {
    dirs::data_dir().unwrap_or_else(|| PathBuf::from(".")).join("uma-wallet")
}

/// The passphrase from UMA_WALLET_PASSPHRASE, or asked for on the terminal.
fn passphrase(confirm: bool) -> Result<String, String> {
    if let Ok(p) = std::env::var("UMA_WALLET_PASSPHRASE") {
        return Ok(p);
    }
    let first = rpassword::prompt_password("Wallet passphrase: ").map_err(|e| format!("cannot read the passphrase: {e} (set UMA_WALLET_PASSPHRASE)"))?;
    if confirm {
        let again = rpassword::prompt_password("Repeat passphrase: ").map_err(|e| format!("cannot read the passphrase: {e}"))?;
        if again != first {
            return Err("the passphrases differ".into());
        }
    }
    Ok(first)
}

fn create_wallet(data_dir: &std::path::Path) -> Result<String, String> {
    let passphrase = passphrase(true)?;
    if let Some(problem) = wallet::passphrase_problem(&passphrase) {
        return Err(problem);
    }
    Wallet::init(data_dir, &passphrase, KdfParams::default()).map_err(|e| e.to_string())?;
    Ok(passphrase)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("UMA_WALLET_LOG").unwrap_or_else(|_| "warn".into()))
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let done = runtime.block_on(run(cli));
    // A keyring or D-Bus call that hangs (a keyring waiting for its own
    // password, say) keeps a blocking thread: the work is done, so the
    // process ends without waiting for it.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Where `serve --tray` shows itself: the wallet its "Open wallet" opens
/// the app on.
struct TrayOptions {
    data_dir: PathBuf,
    backup_dir: Option<PathBuf>,
}

/// What stops `serve`: SIGTERM or Ctrl-C, or "Quit" in its tray.
async fn stop_signal(tray: Option<TrayOptions>, opened: tokio::sync::watch::Receiver<bool>) {
    let Some(tray) = tray else { return serve::shutdown_signal().await };
    #[cfg(target_os = "linux")]
    tokio::select! {
        () = serve::shutdown_signal() => {}
        () = tray::run(tray, opened) => {}
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (tray, opened);
        eprintln!("warning: no tray icon on this system (--tray is for Linux desktops)");
        serve::shutdown_signal().await
    }
}

/// `serve --locked --unlock-from-keyring`: the server opens itself, in this
/// process, with the passphrase the owner kept in the system's keyring (the
/// app's "Open the wallet when I log in"). None kept: the wallet waits for
/// her. A kept one that no longer opens the wallet is forgotten.
fn unlock_from_keyring(locked: serve::Locked, data_dir: &std::path::Path) -> serve::Locked {
    use wallet::login_keyring::{bounded, forget, recall};
    let (reading, forgetting) = (data_dir.to_path_buf(), data_dir.to_path_buf());
    let passphrase = async move {
        match bounded(move || recall(&reading)).await {
            Ok(kept) => kept.map(|p| p.to_string()),
            Err(e) => {
                tracing::warn!(error = e, "the keyring could not be read: the wallet waits for its passphrase");
                None
            }
        }
    };
    locked.unlocking_at_start(passphrase, move |answer| match answer {
        Ok(()) => tracing::info!("wallet opened with the passphrase kept in the keyring"),
        Err(wallet::OwnerError::WrongPassphrase) => {
            tracing::warn!("the passphrase in the keyring no longer opens the wallet: forgotten");
            tokio::spawn(async move { bounded(move || forget(&forgetting)).await });
        }
        Err(e) => tracing::warn!(error = %e, "could not open the wallet with the passphrase in the keyring"),
    })
}

fn print(value: &Value) {
    println!("{}", serde_json::to_string_pretty(value).expect("JSON prints"));
}

async fn run(cli: Cli) -> Result<(), String> {
    let data_dir = cli.data_dir.unwrap_or_else(default_data_dir);
    let chosen_backup_dir = cli.backup_dir.clone();
    let backup_dir = cli.backup_dir.unwrap_or_else(|| wallet::backups::default_backup_dir(&data_dir));
    match cli.command {
        Command::Init => {
            if Wallet::exists(&data_dir) {
                return Err(format!("a wallet already exists at {}", data_dir.display()));
            }
            create_wallet(&data_dir)?;
            print(&serde_json::json!({ "created": data_dir }));
            Ok(())
        }
        Command::Restore { backup } => {
            let passphrase = passphrase(false)?;
            Wallet::restore(&backup, &data_dir, &passphrase, Wallet::default_anchoring().as_ref()).map_err(|e| e.to_string())?;
            print(&serde_json::json!({ "restored": data_dir, "from": backup }));
            Ok(())
        }
        Command::Passphrase { new_key: true } => {
            if !Wallet::exists(&data_dir) {
                return Err(format!("no wallet at {}; run `uma-wallet init` first", data_dir.display()));
            }
            if wallet::owner_client::OwnerClient::running(&data_dir).await.is_some() {
                return Err("the wallet is serving: stop it first (its key can only be replaced while it is closed)".into());
            }
            let current = passphrase(false)?;
            let new = new_passphrase()?;
            let sealed = Wallet::replace_key(&data_dir, &current, &new, Wallet::default_anchoring().as_ref()).map_err(|e| e.to_string())?;
            eprintln!("Passphrase and key replaced. Backups made before still open with the old passphrase: if someone else may know it, delete them.");
            print(&serde_json::json!({ "changed": true, "new_key": true, "records": sealed }));
            Ok(())
        }
        Command::AcceptOlderCopy => {
            let passphrase = passphrase(false)?;
            let open = |accept_older_copy| {
                let mut config = Config::new("http://127.0.0.1:7420");
                config.anchoring = Wallet::default_anchoring().map(|a| wallet::Anchoring { accept_older_copy, ..a });
                Wallet::open(&data_dir, &passphrase, config, Clock::System)
            };
            match open(false) {
                Ok(_) => print(&serde_json::json!({ "accepted": false, "why": "this wallet is not older than when it was last used" })),
                Err(wallet::WalletError::Store(wallet::StoreError::OlderCopy(why))) => {
                    open(true).map_err(|e| e.to_string())?;
                    print(&serde_json::json!({ "accepted": true, "why": why }));
                }
                Err(e) => return Err(e.to_string()),
            }
            Ok(())
        }
        Command::Unlock => {
            let Some(client) = wallet::owner_client::OwnerClient::running(&data_dir).await else {
                return Err("no `uma-wallet serve` runs this wallet".into());
            };
            client.check_passphrase(&passphrase(false)?).await.map_err(|e| e.to_string())?;
            print(&serde_json::json!({ "unlocked": true }));
            Ok(())
        }
        Command::Serve(args) => {
            // First run: serving a wallet that does not exist yet creates it.
            // Locked, the passphrase comes later, through the owner API.
            let passphrase = if args.locked {
                String::new()
            } else if Wallet::exists(&data_dir) {
                passphrase(false)?
            } else {
                eprintln!("no wallet at {}; creating one", data_dir.display());
                create_wallet(&data_dir)?
            };
            if let Some(issuer) = &args.issuer {
                wallet::check_public_issuer(issuer)?;
            }
            if !args.listen.ip().is_loopback() {
                eprintln!("warning: the authorization server listens on {}, reachable from the network", args.listen);
            }
            let tray = args.tray.then(|| TrayOptions { data_dir: std::path::absolute(&data_dir).unwrap_or_else(|_| data_dir.clone()), backup_dir: chosen_backup_dir });
            let options = ServeOptions {
                data_dir: data_dir.clone(),
                passphrase,
                listen: args.listen,
                owner_listen: args.owner_listen,
                public_issuer: args.issuer,
                clock: Clock::System,
                tickets_per_minute: args.tickets_per_minute,
                rpt_lifetime: args.rpt_lifetime,
                trusted_proxies: args.trusted_proxies,
                anchoring: Wallet::default_anchoring(),
                notifies_owner: cfg!(target_os = "linux") && args.tray,
            };
            if args.locked {
                let locked = serve::bind_locked(options).await.map_err(|e| e.to_string())?.backing_up(backup_dir, args.daily_backups);
                println!("{}", serde_json::to_string(&locked.ready).expect("ready line serializes"));
                let locked = if args.unlock_from_keyring { unlock_from_keyring(locked, &data_dir) } else { locked };
                let opened = locked.opened();
                return locked.run(stop_signal(tray, opened)).await.map_err(|e| e.to_string());
            }
            let bound = serve::bind(options).await.map_err(|e| e.to_string())?.backing_up(backup_dir, args.daily_backups);
            println!("{}", serde_json::to_string(&bound.ready).expect("ready line serializes"));
            bound.run(stop_signal(tray, tokio::sync::watch::channel(true).1)).await.map_err(|e| e.to_string())
        }
        command => {
            let owner = Owner::connect(&data_dir, &backup_dir, || passphrase(false)).await.map_err(|e| e.to_string())?;
            owner_command(&owner, command).await.map_err(|e| e.to_string())
        }
    }
}

async fn owner_command(owner: &Owner, command: Command) -> Result<(), OwnerError> {
    let client = &owner.client;
    let value: Value = match command {
        Command::Status => {
            let mut status = json(client.status().await?);
            status["serving"] = client.is_remote().into();
            status
        }
        Command::Clients(ClientsCommand::List) => json(client.clients().await?),
        Command::Clients(ClientsCommand::Approve { client_id }) => json(client.approve_client(&client_id.into()).await?),
        Command::Clients(ClientsCommand::Refuse { client_id }) => json(client.refuse_client(&client_id.into()).await?),
        Command::Resources => json(client.resources().await?),
        Command::Pending(PendingCommand::List { all }) => json(client.requests(all).await?),
        Command::Pending(PendingCommand::Approve { request_id, scopes, expires_in, remember }) => {
            let mut approval = Approval { remember, ..Approval::default() };
            if !scopes.is_empty() {
                let mut permissions: Vec<Permission> = Vec::new();
                for s in &scopes {
                    let (resource, scope) = s.split_once(':').ok_or_else(|| OwnerError::Usage(format!("--scope {s:?} must be RESOURCE_ID:SCOPE")))?;
                    match permissions.iter_mut().find(|p| p.resource_id == resource) {
                        Some(p) => p.resource_scopes.push(scope.into()),
                        None => permissions.push(Permission { resource_id: resource.into(), resource_scopes: vec![scope.into()] }),
                    }
                }
                approval.permissions = Some(permissions);
            }
            if let Some(secs) = expires_in {
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
                approval.expires_at = Some(now + secs);
            }
            json(client.approve_request(&request_id.into(), &approval).await?)
        }
        Command::Pending(PendingCommand::Deny { request_id }) => json(client.deny_request(&request_id.into()).await?),
        Command::Pending(PendingCommand::Preview { request_id }) => json(client.request_preview(&request_id.into()).await?),
        Command::Policy(PolicyCommand::List) => json(client.policies().await?),
        Command::Policy(PolicyCommand::Add(args)) => json(client.add_policy(&new_policy(args)).await?),
        Command::Policy(PolicyCommand::Remove { policy_id }) => json(client.remove_policy(&policy_id.into()).await?),
        Command::Grants(GrantsCommand::List) => json(client.grants().await?),
        Command::Receipts => json(client.receipts().await?),
        Command::Grants(GrantsCommand::Revoke { grant_id }) => json(client.revoke_grant(&grant_id.into()).await?),
        Command::Trust(TrustCommand::List) => json(client.trusted_issuers().await?),
        Command::Trust(TrustCommand::Add { issuer, jwks_uri, client_ids }) => json(client.trust_issuer(&TrustIssuer { issuer, jwks_uri, client_ids }).await?),
        Command::Trust(TrustCommand::Remove { issuer }) => json(client.distrust_issuer(&issuer).await?),
        Command::Audit(AuditCommand::List { limit, pension, who, action }) => json(client.audit(&AuditQuery { limit, pension, who, action }).await?),
        Command::Backup(BackupCommand::Make) => json(client.back_up().await?),
        Command::Backup(BackupCommand::List) => json(client.backups().await?),
        Command::Audit(AuditCommand::Verify) => {
            let result = client.audit_verify().await?;
            if result.intact {
                println!("audit log intact: {} entries", result.entries.unwrap_or(0));
                return Ok(());
            }
            return Err(OwnerError::Usage(format!(
                "audit log BROKEN at entry {}: {}",
                result.broken_at.unwrap_or(0),
                result.reason.unwrap_or_default()
            )));
        }
        Command::Audit(AuditCommand::Export { output }) => {
            let entries = client.audit_export().await?;
            match output {
                Some(path) => return export(&entries, &path, "entries"),
                None => json(entries),
            }
        }
        Command::Identity(IdentityCommand::Show) => match client.identity().await? {
            Some(identity) => json(identity),
            None => return Err(OwnerError::Usage("no identity details yet (uma-wallet identity set)".into())),
        },
        Command::Identity(IdentityCommand::Set(a)) => {
            let identity = Identity {
                given_name: a.given_name,
                family_name: a.family_name,
                date_of_birth: a.date_of_birth,
                nino: a.nino,
                postcode: a.postcode,
                address_lines: a.address_lines,
                email: a.email,
                mobile: a.mobile,
                verified: vec![],
            };
            json(client.set_identity(&identity).await?)
        }
        Command::Identity(IdentityCommand::Get { issuer, wait_seconds }) => {
            let started = client.start_sign_in(&issuer).await?;
            eprintln!("Open this page in your browser to prove who you are:\n  {}", started.authorize_url);
            // The page on standard output too, one line, for scripts.
            println!("{}", serde_json::json!({ "authorize_url": started.authorize_url }));
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(wait_seconds);
            loop {
                let status = client.identity_credential().await?;
                match status.sign_in {
                    SignInStatus::Finished { .. } => break json(status.credential),
                    SignInStatus::Failed { error, .. } => return Err(OwnerError::Usage(format!("signing in failed: {error}"))),
                    _ if std::time::Instant::now() > deadline => return Err(OwnerError::Usage("you did not finish signing in in time".into())),
                    _ => tokio::time::sleep(std::time::Duration::from_millis(300)).await,
                }
            }
        }
        Command::Identity(IdentityCommand::Credential) => json(client.identity_credential().await?),
        Command::Identity(IdentityCommand::ForgetCredential) => json(client.forget_identity_credential().await?),
        Command::Providers(ProvidersCommand::List) => json(client.providers().await?),
        Command::Providers(ProvidersCommand::Add { url, name }) => json(client.add_provider(&AddProvider { url, name }).await?),
        Command::Providers(ProvidersCommand::Remove { url }) => json(client.remove_provider(&url).await?),
        Command::Registry(RegistryCommand::Trust { key }) => json(client.set_registry_key(&key).await?),
        Command::Registry(RegistryCommand::Import { file }) => {
            let text = std::fs::read_to_string(&file).map_err(|e| OwnerError::Usage(format!("{}: {e}", file.display())))?;
            json(client.import_registry(&text).await?)
        }
        Command::Registry(RegistryCommand::Show) => json(client.registry().await?),
        Command::Registry(RegistryCommand::Fetch { url, key }) => json(client.fetch_registry(&FetchRegistry { url, key }).await?),
        Command::Move { provider, resource_id, to, assertion } => json(client.move_pension(&MovePension { provider, resource_id, to, assertion }).await?),
        Command::Address { follow: false } => json(client.address_status().await?),
        Command::Address { follow: true } => json(client.follow_address().await?),
        Command::Find => json(client.find().await?),
        Command::Offers { link: None } => json(client.offers().await?),
        Command::Offers { link: Some(link) } => {
            let offering = client.read_offer_link(&link).await?;
            json(client.offers_at(&offering.provider).await?)
        }
        Command::Pensions => json(client.my_pensions().await?),
        Command::Did => json(client.did().await?),
        Command::Passphrase { .. } => {
            let current = passphrase(false).map_err(OwnerError::Usage)?;
            let new = new_passphrase().map_err(OwnerError::Usage)?;
            client.change_passphrase(&ChangePassphrase { current, new }).await?;
            eprintln!("Passphrase changed. Backups made before still open with the old one: if someone else may know it, delete them.");
            serde_json::json!({ "changed": true })
        }
        Command::Credentials(CredentialsCommand::List) => json(client.credentials().await?),
        Command::Credentials(CredentialsCommand::Show { id }) => json(client.credential(&id).await?),
        Command::Credentials(CredentialsCommand::Verify { id }) => json(client.verify_credential(&id).await?),
        Command::Credentials(CredentialsCommand::Delete { id }) => json(client.delete_credential(&id).await?),
        Command::Credentials(CredentialsCommand::Export { output }) => {
            let credentials = client.export_credentials().await?;
            match output {
                Some(path) => return export(&credentials, &path, "credentials"),
                None => json(credentials),
            }
        }
        Command::Accept { provider, resource_id, confirmation_code } => json(client.accept(&AcceptOffer { provider, resource_id, confirmation_code }).await?),
        Command::Assertion { resource_server, lifetime } => json(client.mint_assertion(&AssertionRequest { resource_server: resource_server.into(), lifetime }).await?),
        Command::Init | Command::Serve(_) | Command::Restore { .. } | Command::AcceptOlderCopy | Command::Unlock => unreachable!("handled before connecting"),
    };
    print(&value);
    Ok(())
}

/// An answer as JSON, to print.
fn json<T: serde::Serialize>(answer: T) -> Value {
    serde_json::to_value(answer).expect("owner API answers are JSON")
}

/// Writes a JSON list to a file and says how many items went.
fn export<T: serde::Serialize>(list: &[T], path: &std::path::Path, what: &str) -> Result<(), OwnerError> {
    let text = serde_json::to_string_pretty(list).expect("JSON prints");
    std::fs::write(path, text).map_err(|e| OwnerError::Usage(format!("{}: {e}", path.display())))?;
    println!("exported {} {what} to {}", list.len(), path.display());
    Ok(())
}

fn new_policy(args: PolicyArgs) -> NewPolicy {
    let target = match (args.resource, args.resource_server) {
        (Some(id), _) => Target::Resource(id.into()),
        (None, Some(id)) => Target::ResourceServer(id.into()),
        (None, None) => unreachable!("clap requires one"),
    };
    let outcome = match args.outcome {
        OutcomeArg::Permit => Outcome::Permit,
        OutcomeArg::Ask => Outcome::Ask,
        OutcomeArg::Deny => Outcome::Deny,
    };
    NewPolicy {
        target,
        scopes: args.scopes,
        party: PartyCondition {
            email: args.email,
            issuer: args.issuer,
            subject: args.subject,
            client_id: args.client.map(Into::into),
            credential_type: args.credential_type,
            verified_only: args.verified_only,
            unlisted_apps: args.unlisted_apps,
        },
        valid_from: args.valid_from,
        valid_until: args.valid_until,
        outcome,
        description: args.description,
        grant_lifetime: args.days.map(|days| days * 86_400),
        from_request: None,
    }
}

//! The owner contract: every owner operation's path, request and answer,
//! defined once. The owner API serves it ([`crate::owner_api`]), its OpenAPI
//! document is generated from it, the typed client calls it
//! ([`crate::owner_client`]), and the app's TypeScript types are generated
//! from the same types ([`typescript`]).

use serde::{Deserialize, Serialize};

pub use crate::credentials::{CredentialCheck, CredentialDetail, CredentialSummary, StoredCredential};
pub use crate::activity::ActivityEntry;
pub use crate::governance::{GovernanceSummary, RegistryHeld, RegistryStanding};
pub use crate::identity_credential::{IdentitySummary, SignInStatus};
pub use crate::pensions::{
    Accepted, AddressReport, AddressStatus, BenefitIllustration, CredentialReceived, DiscoveryOutcome, EmploymentPeriod, FindOutcome, FoundPension, Identity, IdentityItem,
    IllustrationComponent, MyPensions, Offer, OfferLink, Offers, PayableDetails, PensionPreview, PensionTotals, PensionView, ProviderEntry, ProviderOutcome,
    ProviderReport, ReadOfferLink, ScopePreview, SharedItem, OFFER_SCHEME,
};
pub use crate::sharing::{Approval, ClientView, GrantView, PendingView, PersonStanding, Receipt, Requester};
pub use registry::{Entry as RegistryEntry, Role as RegistryRole};
pub use uma_as::audit::AuditEntry;
pub use uma_as::id::{ClientId, GrantId, PolicyId, RequestId, ResourceId};
pub use uma_as::model::{ClaimSet, Grant, GrantSource, PendingRequest, Permission, Protection, RequestStatus, RequestingParty, Resource, TrustedIssuer};
pub use uma_as::owner::NewPolicy;
pub use uma_as::policy::{Outcome, PartyCondition, Policy, Target};
pub use crate::backups::{BackupFile, BackupSchedule};
pub use uma_as::server::{OwnerEvent, Stats};

/// Every owner route. Ids in `{braces}` are filled by [`path_with`].
pub mod paths {
    pub const OPENAPI: &str = "/openapi.json";
    pub const IDENTIFY: &str = "/identify";
    pub const STATUS: &str = "/status";
    pub const CLIENTS: &str = "/clients";
    pub const CLIENT_APPROVE: &str = "/clients/{id}/approve";
    pub const CLIENT_REFUSE: &str = "/clients/{id}/refuse";
    pub const RESOURCES: &str = "/resources";
    pub const PENDING: &str = "/pending";
    pub const PENDING_APPROVE: &str = "/pending/{id}/approve";
    pub const PENDING_DENY: &str = "/pending/{id}/deny";
    pub const PENDING_PREVIEW: &str = "/pending/{id}/preview";
    pub const POLICIES: &str = "/policies";
    pub const POLICY: &str = "/policies/{id}";
    pub const GRANTS: &str = "/grants";
    pub const GRANT_REVOKE: &str = "/grants/{id}/revoke";
    pub const RECEIPTS: &str = "/receipts";
    pub const TRUSTED_ISSUERS: &str = "/trusted-issuers";
    pub const AUDIT: &str = "/audit";
    pub const AUDIT_VERIFY: &str = "/audit/verify";
    pub const AUDIT_EXPORT: &str = "/audit/export";
    pub const ASSERTIONS: &str = "/assertions";
    pub const EVENTS: &str = "/events";
    pub const IDENTITY: &str = "/identity";
    pub const IDENTITY_CREDENTIAL: &str = "/identity/credential";
    pub const PROVIDERS: &str = "/providers";
    pub const FIND: &str = "/find";
    pub const OFFERS: &str = "/offers";
    pub const OFFERS_ACCEPT: &str = "/offers/accept";
    pub const OFFERS_LINK: &str = "/offers/link";
    pub const PENSIONS_MOVE: &str = "/pensions/move";
    pub const PENSIONS_ADDRESS: &str = "/pensions/address";
    pub const PENSIONS: &str = "/pensions";
    pub const REGISTRY: &str = "/registry";
    pub const REGISTRY_KEY: &str = "/registry/key";
    pub const REGISTRY_FETCH: &str = "/registry/fetch";
    pub const DID: &str = "/did";
    pub const CREDENTIALS: &str = "/credentials";
    pub const CREDENTIALS_EXPORT: &str = "/credentials/export";
    pub const CREDENTIAL: &str = "/credentials/{id}";
    pub const CREDENTIAL_VERIFY: &str = "/credentials/{id}/verify";
    pub const PASSPHRASE: &str = "/passphrase";
    pub const PASSPHRASE_CHECK: &str = "/passphrase/check";
    pub const BACKUPS: &str = "/backups";

    /// Every route above: the OpenAPI document must list exactly these.
    pub const ALL: &[&str] = &[
        OPENAPI, IDENTIFY, STATUS, CLIENTS, CLIENT_APPROVE, CLIENT_REFUSE, RESOURCES, PENDING, PENDING_APPROVE, PENDING_DENY, PENDING_PREVIEW, POLICIES, POLICY,
        GRANTS, GRANT_REVOKE, RECEIPTS, TRUSTED_ISSUERS, AUDIT, AUDIT_VERIFY, AUDIT_EXPORT, ASSERTIONS, EVENTS, IDENTITY, IDENTITY_CREDENTIAL,
        PROVIDERS, FIND, OFFERS, OFFERS_ACCEPT, OFFERS_LINK, PENSIONS_MOVE, PENSIONS_ADDRESS, PENSIONS, REGISTRY, REGISTRY_KEY, REGISTRY_FETCH, DID, CREDENTIALS, CREDENTIALS_EXPORT, CREDENTIAL,
        CREDENTIAL_VERIFY, PASSPHRASE, PASSPHRASE_CHECK, BACKUPS,
    ];
}

/// Ids are letters, digits, `-` and `_`: nothing a path could be bent with.
pub fn is_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A route with its `{id}` filled; `None` for anything that is not an id.
pub fn path_with(route: &str, id: &str) -> Option<String> {
    is_id(id).then(|| route.replace("{id}", id))
}

/// An error answer (RFC 6749 §5.2's shape).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct ErrorBody {
    /// A code, e.g. `invalid_request`, `not_found`, `confirmation_required`.
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// `POST /identify`: a nonce the server proves it knows the owner token with.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentifyRequest {
    /// 16 to 256 characters.
    pub nonce: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IdentifyProof {
    /// base64url HMAC-SHA-256 of the nonce under the owner token's digest.
    pub proof: String,
}

/// What a resource server's connection now is.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct ClientDecision {
    pub client_id: uma_as::id::ClientId,
    pub protection: Protection,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PendingQuery {
    /// Decided and expired requests too, not only those waiting.
    #[serde(default)]
    pub all: bool,
}

/// `POST /trusted-issuers`: an OpenID Provider whose ID tokens count.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields = nullable)]
pub struct TrustIssuer {
    pub issuer: String,
    /// Found through OpenID discovery when absent.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Client ids at that issuer whose ID tokens count here.
    #[serde(default)]
    pub client_ids: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IssuerQuery {
    pub issuer: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[derive(Default, ts_rs::TS)]
pub struct AuditQuery {
    /// The newest this many entries (at most 10,000; 100 when absent).
    #[serde(default = "default_limit")]
    #[ts(type = "number")]
    pub limit: usize,
    /// Only entries about this pension: its id here, or its PEI. `gone`:
    /// entries about pensions no longer protected here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub pension: Option<String>,
    /// Only entries by `you` (the owner, and her wallet reading her
    /// pensions), `owner`, `apps`, `providers`, `others` (anonymous
    /// callers), or one actor as the log names it (`client:<id>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub who: Option<String>,
    /// Only entries of this action (`token.rpt_issued`), or of every action
    /// under a prefix ending in a dot (`token.`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub action: Option<String>,
}

fn default_limit() -> usize {
    100
}

/// Whether the audit log's hash chain is whole.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct AuditVerification {
    pub intact: bool,
    /// Entries verified, when intact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries: Option<u64>,
    /// The first entry that breaks the chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `POST /assertions`: an assertion a resource server connects with.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct AssertionRequest {
    /// The resource server's URL (its client id here).
    pub resource_server: uma_as::id::ClientId,
    /// Seconds; 600 when absent.
    #[serde(default = "default_assertion_lifetime")]
    pub lifetime: i64,
}

fn default_assertion_lifetime() -> i64 {
    600
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct MintedAssertion {
    pub assertion: String,
    /// `urn:ietf:params:oauth:grant-type:jwt-bearer`.
    pub grant_type: String,
    pub token_endpoint: String,
}

/// The identity credential held (what it attests) and the latest sign-in.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct IdentityCredentialStatus {
    pub credential: Option<IdentitySummary>,
    pub sign_in: SignInStatus,
}

/// `POST /identity/credential`: sign in at this identity service.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    /// The identity service's issuer URL.
    pub issuer: String,
}

/// A sign-in started: the page the owner opens in her browser.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct SignInStarted {
    pub authorize_url: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields = nullable)]
pub struct AddProvider {
    pub url: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UrlQuery {
    pub url: String,
}

/// `GET /offers`: all providers, or the one named (as an offer link names it).
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OffersQuery {
    #[serde(default)]
    pub provider: Option<String>,
}

/// `POST /offers/accept`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields = nullable)]
pub struct AcceptOffer {
    pub provider: String,
    pub resource_id: String,
    /// The code the provider sent, to move a pension another wallet protects.
    #[serde(default)]
    pub confirmation_code: Option<String>,
}

/// `POST /pensions/move`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct MovePension {
    pub provider: String,
    pub resource_id: String,
    /// The issuer of the authorization server to move to.
    pub to: String,
    /// An assertion that server minted for the provider.
    pub assertion: String,
}

/// `POST /registry`: a signed governance registry.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct ImportRegistry {
    /// The signed registry (a compact JWS), as the file holds it.
    pub registry: String,
}

/// `POST /registry/fetch`: where the governance body publishes its signed
/// registry, and the key it signs with (taken only when none is set yet).
/// Both may be left out to fetch again from where it was fetched before.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct FetchRegistry {
    #[serde(default)]
    #[ts(optional)]
    pub url: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub key: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct RegistryImported {
    /// The providers it added or updated.
    pub providers: Vec<ProviderEntry>,
    pub governance: GovernanceSummary,
}

/// `PUT /registry/key`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct RegistryKey {
    /// The registry's did:key.
    pub key: String,
}

/// `POST /passphrase`: a new passphrase for the wallet.
#[derive(Clone, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct ChangePassphrase {
    pub current: String,
    /// At least 8 characters and not easy to guess.
    pub new: String,
}

/// `POST /passphrase/check`: whether this is the wallet's passphrase, for
/// an app that opens its screens over a wallet another program serves.
#[derive(Clone, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct CheckPassphrase {
    pub passphrase: String,
    /// To a server started locked (`serve --locked`), which opens the
    /// wallet with the passphrase: open it even if its data is older than
    /// when it was last used, as the owner chose (`older_copy` otherwise).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[ts(optional, as = "Option<bool>")]
    pub accept_older_copy: bool,
}

impl std::fmt::Debug for CheckPassphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CheckPassphrase { .. }")
    }
}

impl std::fmt::Debug for ChangePassphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChangePassphrase { .. }")
    }
}

/// This wallet's DID, the subject of the credentials it holds.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct Did {
    pub did: String,
}

/// The TypeScript the app is written against, generated from these types.
pub mod typescript {
    use super::*;
    use std::path::Path;
    use ts_rs::{Config, TS};

    /// Writes one `.ts` file per type (and each type it uses) into `dir`.
    /// How the contract's types are written: JSON numbers as `number` (the
    /// owner's counts and Unix times fit a double), into `dir`.
    pub fn config(dir: &Path) -> Config {
        Config::new().with_out_dir(dir).with_large_int("number")
    }

    pub fn export(dir: &Path) -> Result<(), ts_rs::ExportError> {
        let config = config(dir);
        macro_rules! export_all {
            ($($t:ty),* $(,)?) => { $( <$t>::export_all(&config)?; )* };
        }
        export_all!(
            ErrorBody, Stats, ClientView, ClientDecision, Resource, PendingView, Approval, Policy, NewPolicy, GrantView, Grant, Receipt,
            TrustedIssuer, TrustIssuer, AuditEntry, AuditVerification, AssertionRequest, MintedAssertion, OwnerEvent, Identity,
            IdentityCredentialStatus, SignInRequest, SignInStarted, ProviderEntry, AddProvider, ProviderOutcome, Offers, AcceptOffer,
            Accepted, MovePension, GovernanceSummary, ImportRegistry, FetchRegistry, RegistryImported, RegistryKey, MyPensions, Did, CredentialSummary,
            CredentialDetail, CredentialCheck, StoredCredential, PendingRequest, AuditQuery, BackupFile, PensionPreview, ActivityEntry,
            AddressStatus, AddressReport, ReadOfferLink, OfferLink, CheckPassphrase,
        );
        Ok(())
    }

    /// Checks that `checked_in` holds exactly what `export` generates (or,
    /// with `UPDATE_CONTRACT` set, makes it so). For the tests that keep
    /// the app's generated types current.
    pub fn check(checked_in: &Path, export: impl FnOnce(&Path) -> Result<(), ts_rs::ExportError>) -> Result<(), String> {
        let fresh = std::env::temp_dir().join(format!("uma-wallet-contract-{}-{}", std::process::id(), crate::api::unique()));
        export(&fresh).map_err(|e| e.to_string())?;
        let want = read_tree(&fresh);
        let _ = std::fs::remove_dir_all(&fresh);
        if std::env::var_os("UPDATE_CONTRACT").is_some() {
            let _ = std::fs::remove_dir_all(checked_in);
            for (name, text) in &want {
                let target = checked_in.join(name);
                std::fs::create_dir_all(target.parent().unwrap_or(checked_in)).map_err(|e| e.to_string())?;
                std::fs::write(target, text).map_err(|e| e.to_string())?;
            }
        }
        let have = read_tree(checked_in);
        let stale: Vec<_> = want.keys().chain(have.keys()).filter(|k| want.get(*k) != have.get(*k)).collect();
        if stale.is_empty() {
            Ok(())
        } else {
            Err(format!("{} is stale ({stale:?})", checked_in.display()))
        }
    }

    /// Every `.ts` file under `root`, by its path from there.
    fn read_tree(root: &Path) -> std::collections::BTreeMap<std::path::PathBuf, String> {
        let mut files = std::collections::BTreeMap::new();
        let mut folders = vec![root.to_path_buf()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    folders.push(path);
                } else if path.extension().is_some_and(|e| e == "ts") {
                    if let (Ok(name), Ok(text)) = (path.strip_prefix(root), std::fs::read_to_string(&path)) {
                        files.insert(name.to_path_buf(), text);
                    }
                }
            }
        }
        files
    }
}

/// A number no other call in this process gets.
fn unique() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    /// The app is written against `ui/src/contract`: it must be what these
    /// types generate. `UPDATE_CONTRACT=1 cargo test -p wallet contract`
    /// writes it afresh.
    #[test]
    fn the_apps_contract_types_are_current() {
        let checked_in = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/contract");
        if let Err(stale) = super::typescript::check(&checked_in, super::typescript::export) {
            panic!("{stale}: run UPDATE_CONTRACT=1 cargo test -p wallet contract");
        }
    }
}

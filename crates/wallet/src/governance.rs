//! The governance registry this wallet trusts: the registry key (a did:key)
//! the owner configures once, and the latest signed registry imported
//! under it ([`registry`]).
//!
//! The wallet uses it to decide which providers to ask (and which DID
//! signs each one's credentials), which identity services to offer, and
//! who a requesting client really is. A registry that fails any check is
//! refused whole and changes nothing; one older than the registry held
//! (a lower version) is refused too, so an old copy cannot bring back a
//! participant the registry has since removed.

use registry::{Entry, Role, Signed};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uma_as::store::Tree;
use crate::OwnerError;
use uma_as::{AuthorizationServer, Store};

const KEY: &str = "governance";

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Stored {
    /// The did:key registries must be signed with.
    trusted_key: Option<String>,
    /// The latest signed registry, as imported.
    jws: Option<String>,
    version: u64,
    /// Where the registry was last fetched from, for the next refresh.
    #[serde(default)]
    source: Option<String>,
}

/// The same public key, whatever else the two JWKs say (`kid`, `use`, `alg`).
fn same_public_key(a: &Value, b: &Value) -> bool {
    let fields = |k: &Value| (k["kty"].clone(), k["crv"].clone(), k["x"].clone(), k["y"].clone());
    a["kty"].is_string() && a["x"].is_string() && fields(a) == fields(b)
}

#[derive(Clone)]
pub struct Governance {
    server: AuthorizationServer,
    tree: Tree<Stored>,
    /// Imports and key changes one at a time: each reads, checks and
    /// writes the stored edition.
    writing: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// The registry as last verified, for the server's question "is this
    /// app listed?", asked during grants: verifying a large registry takes
    /// far longer than a grant. Emptied whenever the stored one changes.
    verified: std::sync::Arc<parking_lot::Mutex<Option<std::sync::Arc<Signed>>>>,
}

/// The registry in `tree`, if it verifies at `now`.
fn held_now(tree: &Tree<Stored>, now: i64) -> Result<Option<Signed>, OwnerError> {
    let stored = tree.get(KEY)?.unwrap_or_default();
    let (Some(key), Some(jws)) = (stored.trusted_key, stored.jws) else { return Ok(None) };
    Ok(registry::verify(&jws, &key, now).ok())
}

fn refused(e: registry::RegistryError) -> OwnerError {
    OwnerError::invalid(format!("registry refused: {e}"))
}

impl Governance {
    pub fn open(store: &Store, server: AuthorizationServer) -> Result<Governance, uma_as::StoreError> {
        Ok(Governance { server, tree: store.tree("governance")?, writing: Default::default(), verified: Default::default() })
    }

    fn store(&self, stored: &Stored) -> Result<(), OwnerError> {
        self.tree.insert(KEY, stored)?;
        *self.verified.lock() = None;
        Ok(())
    }

    fn stored(&self) -> Result<Stored, OwnerError> {
        Ok(self.tree.get(KEY)?.unwrap_or_default())
    }

    pub fn trusted_key(&self) -> Result<Option<String>, OwnerError> {
        Ok(self.stored()?.trusted_key)
    }

    /// Sets the registry key. A registry signed by another key is dropped:
    /// it is no longer vouched for.
    pub async fn set_trusted_key(&self, did: &str) -> Result<(), OwnerError> {
        let did = did.trim();
        registry::did_key_public(did).map_err(refused)?;
        let _writing = self.writing.lock().await;
        let mut stored = self.stored()?;
        if stored.trusted_key.as_deref() != Some(did) {
            stored = Stored { trusted_key: Some(did.to_string()), jws: None, version: 0, source: stored.source };
            self.store(&stored)?;
            // The old key's regulators vouch for no one now.
            self.server.keep_credential_issuers(&[]).await?;
            self.server.record("registry.key", json!({ "key": did }));
            self.server.flush_owner_decision().await?;
        }
        Ok(())
    }

    /// Trusts `did` if no key is trusted yet; refuses if another one is.
    /// Checked and set under the one writer lock, so two first fetches
    /// cannot each set their own.
    pub(crate) async fn trust_key_if_none(&self, did: &str) -> Result<(), OwnerError> {
        let _writing = self.writing.lock().await;
        let stored = self.stored()?;
        match stored.trusted_key.as_deref() {
            Some(held) if held == did => Ok(()),
            Some(_) => Err(OwnerError::invalid("the registry key is already set to another key: change it in Advanced first")),
            None => {
                registry::did_key_public(did).map_err(refused)?;
                self.store(&Stored { trusted_key: Some(did.to_string()), ..stored })?;
                self.server.record("registry.key", json!({ "key": did }));
                self.server.flush_owner_decision().await?;
                Ok(())
            }
        }
    }

    /// Where the registry was last fetched from.
    pub fn source(&self) -> Result<Option<String>, OwnerError> {
        Ok(self.stored()?.source)
    }

    pub(crate) async fn keep_source(&self, url: &str) -> Result<(), OwnerError> {
        let _writing = self.writing.lock().await;
        let mut stored = self.stored()?;
        if stored.source.as_deref() != Some(url) {
            stored.source = Some(url.to_string());
            self.store(&stored)?;
            self.server.flush_owner_decision().await?;
        }
        Ok(())
    }

    /// Verifies a signed registry under the trusted key and keeps it.
    pub async fn import(&self, jws: &str) -> Result<Signed, OwnerError> {
        let _writing = self.writing.lock().await;
        let mut stored = self.stored()?;
        let key = stored.trusted_key.clone().ok_or_else(|| OwnerError::invalid("set the registry key first: a registry is checked against it"))?;
        let signed = registry::verify(jws, &key, self.server.now()).map_err(refused)?;
        // The same edition again only as the very same document: another
        // signing of it (an earlier expiry, say) does not replace it.
        let same_edition_other_text = signed.registry.version == stored.version && stored.jws.as_deref().is_some_and(|held| held != jws.trim());
        if same_edition_other_text {
            return Err(OwnerError::invalid(format!(
                "registry refused: you already have a different copy of version {}; a newer edition has a higher version",
                stored.version
            )));
        }
        if stored.jws.is_some() && signed.registry.version < stored.version {
            return Err(OwnerError::invalid(format!(
                "registry refused: it is version {}, older than version {} which you have",
                signed.registry.version, stored.version
            )));
        }
        stored.jws = Some(jws.trim().to_string());
        stored.version = signed.registry.version;
        self.store(&stored)?;
        self.server.record(
            "registry.import",
            json!({ "name": signed.registry.name, "version": signed.registry.version, "entries": signed.registry.entries.len(), "expires_at": signed.expires_at }),
        );
        self.server.flush_owner_decision().await?;
        Ok(signed)
    }

    /// The registry held, if it still verifies (an expired one does not).
    pub fn current(&self) -> Result<Option<Signed>, OwnerError> {
        held_now(&self.tree, self.server.now())
    }

    /// Which apps the registry held vouches for, as the server asks when
    /// a rule turns away unlisted apps; `own_app` (the wallet reading her
    /// pensions for her) always counts as known. It holds the registry's
    /// tree and the clock, not the server: the server keeps it.
    pub fn app_listing(&self, own_app: impl Fn() -> Option<uma_as::id::ClientId> + Send + Sync + 'static) -> uma_as::server::AppListing {
        let (tree, clock, verified) = (self.tree.clone(), self.server.clock().clone(), self.verified.clone());
        std::sync::Arc::new(move |client: &uma_as::model::Client| {
            if own_app().is_some_and(|id| client.client_id == id) {
                return true;
            }
            let now = clock.now();
            let mut cached = verified.lock();
            if cached.as_ref().is_none_or(|held| held.expires_at <= now) {
                *cached = held_now(&tree, now).ok().flatten().map(std::sync::Arc::new);
            }
            cached.as_ref().is_some_and(|held| client_standing(Some(held), client).listed)
        })
    }

    /// The entries in one role, from the registry held.
    pub fn entries(&self, role: Role) -> Result<Vec<Entry>, OwnerError> {
        Ok(self.current()?.map(|s| s.registry.with_role(role).cloned().collect()).unwrap_or_default())
    }

    /// For the owner: the key, and the registry held with its participants.
    pub fn summary(&self) -> Result<GovernanceSummary, OwnerError> {
        let stored = self.stored()?;
        let current = self.current()?;
        let expired = stored.jws.is_some() && current.is_none();
        Ok(GovernanceSummary {
            trusted_key: stored.trusted_key,
            source: stored.source,
            registry: current.map(|s| RegistryHeld {
                name: s.registry.name,
                version: s.registry.version,
                issued_at: s.issued_at,
                expires_at: s.expires_at,
                entries: s.registry.entries,
            }),
            expired,
        })
    }
}

/// The registry key the wallet trusts and the registry it holds.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct GovernanceSummary {
    /// The registry's did:key, once the owner set it.
    pub trusted_key: Option<String>,
    /// Where the registry is fetched from, once it was.
    #[serde(default)]
    pub source: Option<String>,
    /// The registry held, while it verifies.
    pub registry: Option<RegistryHeld>,
    /// A registry is held but no longer verifies (it expired).
    pub expired: bool,
}

/// A signed governance registry the wallet holds.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct RegistryHeld {
    pub name: String,
    pub version: u64,
    pub issued_at: i64,
    pub expires_at: i64,
    pub entries: Vec<Entry>,
}

/// What the governance registry says of a client.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct RegistryStanding {
    /// The registry lists it, and it proves it is what it is listed as.
    pub listed: bool,
    /// Its name in the registry, when listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its status in the registry (e.g. `authorised`), when listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The software id it gave, when it is not listed under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims_to_be: Option<String>,
}
/// Who a client really is, as far as the registry held says: listed when
/// it registered with a `software_id` the registry lists as a client, it
/// authenticates with a key (`private_key_jwt`, so only the key's holder
/// can use this client), and every key it registered is one the registry
/// gives for that software id. Callers verify the registry once
/// ([`Governance::current`]) for a whole list of clients.
pub fn client_standing(held: Option<&Signed>, client: &uma_as::model::Client) -> RegistryStanding {
    let Some(software_id) = client.software_id.as_deref() else { return RegistryStanding::default() };
    let entry = held.and_then(|s| s.registry.find(Role::Client, software_id));
    let keys_match = |entry: &Entry| {
        let theirs = entry.jwks.as_ref().and_then(|j| j["keys"].as_array()).cloned().unwrap_or_default();
        let ours = client.jwks.as_ref().and_then(|j| j["keys"].as_array()).cloned().unwrap_or_default();
        !ours.is_empty() && ours.iter().all(|k| theirs.iter().any(|t| same_public_key(k, t)))
    };
    let vouched = client.token_endpoint_auth_method == uma_as::client_registration::PRIVATE_KEY_JWT;
    match entry {
        Some(entry) if vouched && keys_match(entry) => RegistryStanding { listed: true, name: Some(entry.name.clone()), status: entry.status.clone(), claims_to_be: None },
        _ => RegistryStanding { claims_to_be: Some(software_id.to_string()), ..RegistryStanding::default() },
    }
}

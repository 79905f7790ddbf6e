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
use uma_as::{AuthorizationServer, ProtocolError, Store};

const KEY: &str = "governance";

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Stored {
    /// The did:key registries must be signed with.
    trusted_key: Option<String>,
    /// The latest signed registry, as imported.
    jws: Option<String>,
    version: u64,
}

#[derive(Clone)]
pub struct Governance {
    server: AuthorizationServer,
    tree: Tree<Stored>,
}

fn refused(e: registry::RegistryError) -> ProtocolError {
    ProtocolError::invalid_request(format!("registry refused: {e}"))
}

impl Governance {
    pub fn open(store: &Store, server: AuthorizationServer) -> Result<Governance, uma_as::StoreError> {
        Ok(Governance { server, tree: store.tree("governance")? })
    }

    fn stored(&self) -> Result<Stored, ProtocolError> {
        Ok(self.tree.get(KEY)?.unwrap_or_default())
    }

    pub fn trusted_key(&self) -> Result<Option<String>, ProtocolError> {
        Ok(self.stored()?.trusted_key)
    }

    /// Sets the registry key. A registry signed by another key is dropped:
    /// it is no longer vouched for.
    pub async fn set_trusted_key(&self, did: &str) -> Result<(), ProtocolError> {
        let did = did.trim();
        registry::did_key_public(did).map_err(refused)?;
        let mut stored = self.stored()?;
        if stored.trusted_key.as_deref() != Some(did) {
            stored = Stored { trusted_key: Some(did.to_string()), jws: None, version: 0 };
            self.tree.insert(KEY, &stored)?;
            self.server.record("registry.key", json!({ "key": did }));
            self.server.flush().await?;
        }
        Ok(())
    }

    /// Verifies a signed registry under the trusted key and keeps it.
    pub async fn import(&self, jws: &str) -> Result<Signed, ProtocolError> {
        let mut stored = self.stored()?;
        let key = stored.trusted_key.clone().ok_or_else(|| ProtocolError::invalid_request("set the registry key first: a registry is checked against it"))?;
        let signed = registry::verify(jws, &key, self.server.now()).map_err(refused)?;
        if stored.jws.is_some() && signed.registry.version < stored.version {
            return Err(ProtocolError::invalid_request(format!(
                "registry refused: it is version {}, older than version {} which you have",
                signed.registry.version, stored.version
            )));
        }
        stored.jws = Some(jws.trim().to_string());
        stored.version = signed.registry.version;
        self.tree.insert(KEY, &stored)?;
        self.server.record(
            "registry.import",
            json!({ "name": signed.registry.name, "version": signed.registry.version, "entries": signed.registry.entries.len(), "expires_at": signed.expires_at }),
        );
        self.server.flush().await?;
        Ok(signed)
    }

    /// The registry held, if it still verifies (an expired one does not).
    pub fn current(&self) -> Result<Option<Signed>, ProtocolError> {
        let stored = self.stored()?;
        let (Some(key), Some(jws)) = (stored.trusted_key, stored.jws) else { return Ok(None) };
        Ok(registry::verify(&jws, &key, self.server.now()).ok())
    }

    /// The entries in one role, from the registry held.
    pub fn entries(&self, role: Role) -> Result<Vec<Entry>, ProtocolError> {
        Ok(self.current()?.map(|s| s.registry.with_role(role).cloned().collect()).unwrap_or_default())
    }

    /// For the owner: the key, and the registry held with its participants.
    pub fn summary(&self) -> Result<Value, ProtocolError> {
        let stored = self.stored()?;
        let current = self.current()?;
        let held_but_invalid = stored.jws.is_some() && current.is_none();
        Ok(json!({
            "trusted_key": stored.trusted_key,
            "registry": current.map(|s| json!({
                "name": s.registry.name,
                "version": s.registry.version,
                "issued_at": s.issued_at,
                "expires_at": s.expires_at,
                "entries": s.registry.entries,
            })),
            "expired": held_but_invalid,
        }))
    }
}

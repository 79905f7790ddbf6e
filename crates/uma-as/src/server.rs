//! [`AuthorizationServer`]: the state every protocol piece works on.
//!
//! Records live in the encrypted store; the ones read on every request
//! (clients, PATs, resources, policies, grants) are also held in memory,
//! indexed so that a decision touches only the policies of the resource at
//! hand, however many the owner has.

use crate::audit::AuditLog;
use crate::claims::{GatheringSession, JwksCache};
use crate::clock::{Clock, UnixTime};
use crate::id::{ClientId, GrantId, RequestId, ResourceId};
use crate::keys::SigningKey;
use crate::model::*;
use crate::policy::{Policy, Target};
use crate::secret::SecretHash;
use crate::store::{Store, StoreError, Tree};
use crate::ticket_seal::TicketKey;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::broadcast;

/// Lifetimes and limits. Times are in seconds.
#[derive(Clone, Debug)]
pub struct Config {
    /// The issuer URL, without a trailing slash (RFC 8414 §2).
    pub issuer: String,
    /// A ticket fresh from the permission endpoint.
    pub ticket_ttl: i64,
    /// A ticket handed out with `request_submitted` must outlive the owner's
    /// absence (Grant §3.3.6), so it lives much longer.
    pub polling_ticket_ttl: i64,
    /// RPTs are short-lived so that a resource server verifying them offline
    /// (without introspection) honours a revocation within this bound.
    pub rpt_ttl: i64,
    pub pat_ttl: i64,
    pub pct_ttl: i64,
    /// The `interval` clients are told to wait between polls.
    pub poll_interval: u64,
    /// The longest lifetime accepted on a jwt-bearer assertion.
    pub assertion_max_ttl: i64,
    /// Requests waiting for the owner, from one client and in all.
    pub max_pending_per_client: usize,
    pub max_pending: usize,
    /// Dynamic client registration is open to anyone: at most this many
    /// registrations in a burst, refilled at `registrations_per_minute`.
    pub registration_burst: u32,
    pub registrations_per_minute: u32,
    /// Clients that never authenticate are removed after this long, and at
    /// most `max_unused_clients` of them wait at any time.
    pub unused_client_ttl: i64,
    pub max_unused_clients: usize,
    /// Permission tickets one resource server may ask for: a public
    /// resource server asks for one on every anonymous request it gets.
    pub ticket_burst: u32,
    pub tickets_per_minute: u32,
    /// How long a change to the hot store waits for others to join its
    /// journal write (group commit); see [`crate::hot`].
    pub hot_commit_window: std::time::Duration,
    /// Spent tickets the hot store holds at most. Each poll of a client
    /// waiting for the owner spends one, and its marker lasts as long as the
    /// polling ticket could (days): past this, token requests wait (429)
    /// until markers expire, rather than memory growing without bound.
    pub max_spent_tickets: usize,
    /// Where the audit chain's head is anchored against old copies put
    /// back ([`crate::anchor`]); none in tests that open stores of their own.
    pub anchoring: Option<crate::anchor::Anchoring>,
}

impl Config {
    pub fn new(issuer: impl Into<String>) -> Self {
        Config {
            issuer: issuer.into().trim_end_matches('/').to_string(),
            ticket_ttl: 300,
            polling_ticket_ttl: 7 * 24 * 3600,
            rpt_ttl: 600,
            pat_ttl: 90 * 24 * 3600,
            pct_ttl: 30 * 24 * 3600,
            poll_interval: 5,
            assertion_max_ttl: 3600,
            max_pending_per_client: 20,
            max_pending: 1000,
            registration_burst: 30,
            registrations_per_minute: 30,
            unused_client_ttl: 3600,
            max_unused_clients: 500,
            // 100 a second: a stranger cannot drain a provider's budget
            // with a trickle, and at most 30,000 tickets (about 10 MB) live.
            ticket_burst: 6000,
            tickets_per_minute: 6000,
            hot_commit_window: std::time::Duration::from_millis(5),
            // About 30 MB of markers.
            max_spent_tickets: 250_000,
            anchoring: None,
        }
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }
}

/// What the owner's user interfaces subscribe to.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OwnerEvent {
    RequestSubmitted { request: PendingRequest },
    ResourceServerWaiting { client_id: ClientId, client_name: String },
}

/// How much the authorization server holds, for the owner.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct Stats {
    pub issuer: String,
    pub clients: usize,
    /// Resource servers the owner connected.
    pub resource_servers: usize,
    pub resources: usize,
    pub policies: usize,
    /// Grants in force.
    pub grants: usize,
    /// Requests waiting for the owner.
    pub pending_requests: usize,
    pub audit_entries: u64,
}

#[derive(Default)]
pub(crate) struct Cache {
    pub clients: HashMap<ClientId, Client>,
    pub pats: HashMap<SecretHash, Pat>,
    pub resources: HashMap<ResourceId, Resource>,
    pub policies: HashMap<Target, Vec<Policy>>,
    pub grants: HashMap<GrantId, Grant>,
    /// (client, party key, resource) → grant ids, for the assessment.
    pub holder_grants: HashMap<(ClientId, String, ResourceId), Vec<GrantId>>,
    /// Requests still waiting for the owner, by id.
    pub waiting: HashMap<RequestId, PendingRequest>,
}

impl Cache {
    /// Keeps the index of waiting requests in step with a stored request.
    pub fn put_request(&mut self, request: PendingRequest) {
        if request.status == RequestStatus::Pending {
            self.waiting.insert(request.id.clone(), request);
        } else {
            self.waiting.remove(&request.id);
        }
    }

    /// Requests the owner can still decide.
    pub fn open_requests(&self, now: UnixTime) -> impl Iterator<Item = &PendingRequest> {
        self.waiting.values().filter(move |r| !r.is_expired(now))
    }

    /// The active grants this client and party hold on a resource. A grant
    /// a policy made is held by whoever the policy admits (it decides again
    /// each time); an approval is held only by the party it was given to,
    /// which for a party nobody vouches for means its request chain.
    pub fn held_grants(&self, client_id: &ClientId, party: &RequestingParty, resource_id: &ResourceId, now: UnixTime) -> Vec<&Grant> {
        let holder = party.holder_key();
        let mut keys = vec![party.key()];
        if holder != keys[0] {
            keys.push(holder.clone());
        }
        keys.iter()
            .filter_map(|key| self.holder_grants.get(&(client_id.clone(), key.clone(), resource_id.clone())))
            .flatten()
            .filter_map(|id| self.grants.get(id))
            .filter(|g| g.is_active(now) && (matches!(g.source, GrantSource::Policy { .. }) || g.party_key == holder))
            .collect()
    }

    pub fn put_grant(&mut self, grant: Grant) {
        let holder = (grant.client_id.clone(), grant.party_key.clone(), grant.resource_id.clone());
        let ids = self.holder_grants.entry(holder).or_insert_with(|| Vec::with_capacity(1));
        if !ids.contains(&grant.id) {
            ids.push(grant.id.clone());
        }
        self.grants.insert(grant.id.clone(), grant);
    }

    /// Files a policy under its target. Nearly every target has one policy:
    /// its list starts with room for exactly one, not the four a `Vec`
    /// reserves by default (four 300-byte policies per resource, most of
    /// them empty, were 90 MiB of a wallet with 100,000 policies).
    pub fn put_policy(&mut self, policy: Policy) {
        self.policies.entry(policy.target.clone()).or_insert_with(|| Vec::with_capacity(1)).push(policy);
    }

    /// How an RPT stands at `now`, against the grants in this snapshot.
    pub fn rpt_liveness(&self, record: &RptRecord, now: UnixTime) -> crate::rpt::Liveness {
        crate::rpt::liveness(record, now, |grant| self.grants.get(grant).is_some_and(|g| g.is_active(now)))
    }

    /// Policies that may concern `resource`: its own and its server's.
    pub fn policies_for<'a>(&'a self, resource: &Resource) -> impl Iterator<Item = &'a Policy> {
        let own = self.policies.get(&Target::Resource(resource.id.clone()));
        let server = self.policies.get(&Target::ResourceServer(resource.resource_server.clone()));
        own.into_iter().flatten().chain(server.into_iter().flatten())
    }
}

pub(crate) struct Trees {
    pub clients: Tree<Client>,
    pub pats: Tree<Pat>,
    pub resources: Tree<Resource>,
    pub pending: Tree<PendingRequest>,
    pub policies: Tree<Policy>,
    pub grants: Tree<Grant>,
    pub used_jtis: Tree<UnixTime>,
    pub issuers: Tree<TrustedIssuer>,
    pub sessions: Tree<GatheringSession>,
    pub id_tokens: Tree<crate::claims::UsedIdToken>,
}

pub(crate) struct Inner {
    pub config: Config,
    pub clock: Clock,
    pub store: Store,
    pub key: SigningKey,
    pub ticket_key: TicketKey,
    /// Tickets of any other generation are void: see [`crate::hot`].
    pub ticket_generation: u64,
    pub hot: crate::hot::HotStore,
    pub trees: Trees,
    pub audit: AuditLog,
    pub cache: RwLock<Cache>,
    pub events: broadcast::Sender<OwnerEvent>,
    pub jwks: JwksCache,
    pub noise: crate::audit::Throttle,
    pub registrations: crate::limit::TokenBucket,
    pub tickets: crate::limit::Buckets,
    /// Per client: the `jti` and `exp` of each client assertion accepted.
    pub client_assertions: parking_lot::Mutex<std::collections::HashMap<String, std::collections::HashMap<String, i64>>>,
    pub app_listing: RwLock<Option<AppListing>>,
}

/// Whether the owner's governance register vouches for an app: the
/// wallet's to say, since the register is the wallet's. It must not call
/// back into the server: it is asked while a grant is being decided.
pub type AppListing = Arc<dyn Fn(&Client) -> bool + Send + Sync>;

/// The UMA 2.0 authorization server of one owner. Cheap to clone.
#[derive(Clone)]
pub struct AuthorizationServer {
    pub(crate) inner: Arc<Inner>,
}

const SIGNING_KEY: &str = "signing_key";
const TICKET_KEY: &str = "ticket_key";
const TICKET_GENERATION: &str = "ticket_generation";

#[derive(Serialize, Deserialize)]
struct StoredKey {
    pkcs8: String,
}

/// Whether a record is kept when the wallet's data key is replaced
/// (`Store::replace_key`): the ticket key is not, so a new one is made
/// (whoever opened the old one learns nothing of tickets issued after),
/// nor is the store's record of its anchor, since the new key names a new
/// anchor. The signing key is kept: it is the wallet's identity, which its
/// providers and the credentials it holds name.
pub fn kept_on_new_key(tree: &str, key: &[u8]) -> bool {
    !(tree == "meta" && key == TICKET_KEY.as_bytes()) && !crate::anchor::is_anchor_record(tree, key)
}

impl AuthorizationServer {
    /// Opens the server over an open store, creating its signing key on first use.
    pub fn open(store: Store, config: Config, clock: Clock) -> Result<Self, StoreError> {
        // First: an older copy put back in the wallet's place is refused
        // before anything in it is used.
        let audit = AuditLog::open_anchored(&store, config.anchoring.as_ref(), clock.now())?;
        let (key, _) = Self::load_or_create_key(&store, SIGNING_KEY, SigningKey::from_pkcs8, SigningKey::generate, SigningKey::pkcs8)?;
        // Before the hot store, tickets, RPTs and PCTs were kept here: what
        // is left of them is unusable and is removed.
        for old in ["tickets", "rpts", "pcts"] {
            store.drop_tree(old)?;
        }
        let (ticket_key, new_key) = Self::load_or_create_key(&store, TICKET_KEY, TicketKey::from_bytes, TicketKey::generate, TicketKey::bytes)?;
        let (hot, end) = crate::hot::HotStore::open(&store, config.hot_commit_window, clock.clone())?;
        let ticket_generation = Self::ticket_generation(&store, end, new_key)?;
        let trees = Trees {
            clients: store.tree("clients")?,
            pats: store.tree("pats")?,
            resources: store.tree("resources")?,
            pending: store.tree("pending_requests")?,
            policies: store.tree("policies")?,
            grants: store.tree("grants")?,
            used_jtis: store.tree("used_jtis")?,
            issuers: store.tree("trusted_issuers")?,
            sessions: store.tree("gathering_sessions")?,
            id_tokens: store.tree("used_id_tokens")?,
        };
        // Records stream from the store into the cache one at a time: a
        // wallet with 100,000 policies would otherwise hold them twice at
        // start, and the allocator keeps that peak as resident memory.
        let mut cache = Cache::default();
        for item in trees.clients.iter() {
            let (_, client) = item?;
            cache.clients.insert(client.client_id.clone(), client);
        }
        for item in trees.pats.raw().iter() {
            let (k, v) = item?;
            if let Ok(hash) = <[u8; 32]>::try_from(&k[..]) {
                cache.pats.insert(SecretHash(hash), trees.pats.decode(&k, &v)?);
            }
        }
        for item in trees.resources.iter() {
            let (_, resource) = item?;
            cache.resources.insert(resource.id.clone(), resource);
        }
        for item in trees.policies.iter() {
            let (_, policy) = item?;
            cache.put_policy(policy);
        }
        for item in trees.grants.iter() {
            let (_, grant) = item?;
            cache.put_grant(grant);
        }
        for item in trees.pending.iter() {
            let (_, request) = item?;
            cache.put_request(request);
        }
        let (events, _) = broadcast::channel(256);
        let registrations = crate::limit::TokenBucket::new(config.registration_burst, config.registrations_per_minute);
        let tickets = crate::limit::Buckets::new(config.ticket_burst, config.tickets_per_minute);
        Ok(AuthorizationServer {
            inner: Arc::new(Inner {
                config,
                clock,
                store,
                key,
                ticket_key,
                ticket_generation,
                hot,
                trees,
                audit,
                cache: RwLock::new(cache),
                events,
                jwks: JwksCache::default(),
                noise: crate::audit::Throttle::default(),
                registrations,
                tickets,
                client_assertions: Default::default(),
                app_listing: RwLock::new(None),
            }),
        })
    }

    /// A key kept in the meta tree under `name`, base64 in a [`StoredKey`]
    /// (its field is named for the signing key, the first kept there). On
    /// first use `generate` makes one, stored and flushed before it is
    /// used. True when it was just made.
    fn load_or_create_key<K>(
        store: &Store,
        name: &'static str,
        decode: impl FnOnce(&[u8]) -> Option<K>,
        generate: impl FnOnce() -> K,
        bytes: fn(&K) -> &[u8],
    ) -> Result<(K, bool), StoreError> {
        use base64::engine::general_purpose::STANDARD;
        use base64::Engine;
        let meta = store.tree::<StoredKey>("meta")?;
        if let Some(stored) = meta.get(name)? {
            let corrupt = || StoreError::Corrupt { tree: "meta", key: name.into() };
            let raw = zeroize::Zeroizing::new(STANDARD.decode(stored.pkcs8).map_err(|_| corrupt())?);
            return Ok((decode(&raw).ok_or_else(corrupt)?, false));
        }
        let key = generate();
        meta.insert(name, &StoredKey { pkcs8: STANDARD.encode(bytes(&key)) })?;
        store.flush_blocking()?;
        Ok((key, true))
    }

    /// The ticket generation for this run. Unless the journal was closed
    /// cleanly, or tickets were never issued, spent markers may have been
    /// lost (or the journal removed or rolled back): the generation moves
    /// on, durably, before any ticket is shown, and every earlier ticket is
    /// void.
    fn ticket_generation(store: &Store, end: crate::store::JournalEnd, new_key: bool) -> Result<u64, StoreError> {
        let meta = store.tree::<u64>("meta")?;
        let current = meta.get(TICKET_GENERATION)?.unwrap_or(0);
        if end == crate::store::JournalEnd::Clean || new_key {
            return Ok(current);
        }
        tracing::warn!(?end, "the last run did not stop cleanly: permission tickets issued before now are void");
        // Random, not the next number: a database restored from a backup
        // must not come back to a generation another copy has used.
        let next = loop {
            let candidate = u64::from_le_bytes(crate::secret::random_bytes::<8>());
            if candidate != current {
                break candidate;
            }
        };
        meta.insert(TICKET_GENERATION, &next)?;
        store.flush_blocking()?;
        Ok(next)
    }

    /// Stops the hot store's writer after writing what it holds, so the
    /// next start finds it closed cleanly and keeps every ticket valid.
    /// Called when the server stops; dropping the last handle does it too.
    pub fn close(&self) {
        self.inner.hot.close();
        // The anchor catches up with the whole history now, rather than
        // whenever the last handle on the log goes.
        if let Err(e) = self.inner.audit.anchor_now() {
            tracing::error!(error = %e, "the wallet's anchor could not be moved at close");
        }
    }

    /// Says which apps the register vouches for, for rules on unlisted
    /// apps ([`crate::policy::PartyCondition::unlisted_apps`]). Until it is
    /// set, no app is.
    pub fn set_app_listing(&self, listing: AppListing) {
        *self.inner.app_listing.write() = Some(listing);
    }

    /// Whether the register vouches for `client`.
    pub(crate) fn app_listed(&self, client: &Client) -> bool {
        let listing = self.inner.app_listing.read().clone();
        listing.is_some_and(|listed| listed(client))
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn now(&self) -> UnixTime {
        self.inner.clock.now()
    }

    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.inner.key
    }

    pub fn audit_log(&self) -> &AuditLog {
        &self.inner.audit
    }

    /// New pending requests and waiting resource servers, as they happen.
    pub fn subscribe(&self) -> broadcast::Receiver<OwnerEvent> {
        self.inner.events.subscribe()
    }

    /// Records an audit entry. A failure to audit is logged, not returned:
    /// the protocol answer has already been decided and stored.
    /// The entry names the request that caused it, when there is one.
    pub(crate) fn audit(&self, actor: &str, action: &str, mut detail: serde_json::Value) {
        if let (Some(id), Some(fields)) = (http_guard::trace::current_request_id(), detail.as_object_mut()) {
            fields.insert("request_id".into(), id.into());
        }
        if let Err(e) = self.inner.audit.append(self.now(), actor, action, detail) {
            tracing::error!(error = %e, action, "audit append failed");
        }
    }

    /// Records something the owner did outside the protocol (identity
    /// details, providers, credentials): the wallet's own audit entries.
    pub fn record(&self, action: &str, detail: serde_json::Value) {
        self.audit("owner", action, detail);
    }

    /// Records a refusal that anyone can cause as often as they like: the
    /// first of a kind in a minute is written, the rest are counted into the
    /// next (see [`crate::audit::Throttle`]).
    pub(crate) fn audit_noisy(&self, actor: &str, action: &str, detail: serde_json::Value) {
        let now = self.now();
        if let Some(entry) = self.inner.noise.admit(now, actor, action, detail) {
            self.audit(&entry.actor, &entry.action, entry.detail);
        }
    }

    /// Writes what the throttle has counted in minutes now over.
    pub(crate) fn flush_noise(&self) {
        for entry in self.inner.noise.drain(self.now(), false) {
            self.audit(&entry.actor, &entry.action, entry.detail);
        }
    }

    /// Writes every count the throttle holds: called when the server stops,
    /// so that counted refusals are in the log, not lost with the process.
    pub fn write_counted_refusals(&self) {
        for entry in self.inner.noise.drain(self.now(), true) {
            self.audit(&entry.actor, &entry.action, entry.detail);
        }
    }

    /// Makes everything written so far durable, the database and the hot
    /// store's journal: called before an owner decision is acknowledged.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.flush_to_head().await.map(|_| ())
    }

    /// [`AuthorizationServer::flush`], returning the audit head it made durable.
    async fn flush_to_head(&self) -> Result<crate::audit::Head, StoreError> {
        self.inner.hot.commit().await?;
        let head = self.inner.audit.write_pending_head()?;
        self.inner.store.flush().await?;
        Ok(head)
    }

    /// [`AuthorizationServer::flush`] for an owner decision, which also
    /// moves the wallet's anchor to it before it is acknowledged, so that an
    /// older copy put back cannot quietly undo it ([`crate::anchor`]). The
    /// decision stands if the anchor cannot be written: that is logged.
    pub async fn flush_owner_decision(&self) -> Result<(), StoreError> {
        let head = self.flush_to_head().await?;
        let audit = self.inner.audit.clone();
        let anchored = tokio::task::spawn_blocking(move || audit.anchor_flushed(&head)).await.unwrap_or_else(|e| Err(StoreError::Anchor(e.to_string())));
        if let Err(e) = anchored {
            tracing::error!(error = %e, "the wallet's anchor could not be moved");
        }
        Ok(())
    }

    pub(crate) fn hot(&self) -> &crate::hot::HotStore {
        &self.inner.hot
    }

    pub(crate) fn trees(&self) -> &Trees {
        &self.inner.trees
    }

    pub(crate) fn cache(&self) -> &RwLock<Cache> {
        &self.inner.cache
    }

    pub(crate) fn notify(&self, event: OwnerEvent) {
        // No subscriber is fine: the owner sees the request when they look.
        let _ = self.inner.events.send(event);
    }

    /// Counts for `status`.
    pub fn stats(&self) -> Stats {
        let cache = self.inner.cache.read();
        let now = self.now();
        Stats {
            issuer: self.inner.config.issuer.clone(),
            clients: cache.clients.len(),
            resource_servers: cache.clients.values().filter(|c| c.protection == Protection::Approved).count(),
            resources: cache.resources.len(),
            policies: cache.policies.values().map(Vec::len).sum(),
            grants: cache.grants.values().filter(|g| g.is_active(now)).count(),
            pending_requests: cache.open_requests(now).count(),
            audit_entries: self.inner.audit.len(),
        }
    }
}

impl AuthorizationServer {
    /// Stores a request and its place among the waiting ones together,
    /// under the cache's lock, so the two never disagree.
    pub(crate) fn store_request(&self, request: &PendingRequest) -> Result<(), StoreError> {
        let mut cache = self.inner.cache.write();
        self.inner.trees.pending.insert(&request.id, request)?;
        cache.put_request(request.clone());
        Ok(())
    }

    /// Keeps a request a poll found waiting open until `until`, if it still
    /// waits for the owner. Her decision, taken since the poll read it, is
    /// never overwritten: the record changes only as it is read again here.
    pub(crate) fn keep_request_open(&self, id: &RequestId, until: UnixTime) -> Result<(), StoreError> {
        let mut cache = self.inner.cache.write();
        let Some((mut request, sealed)) = self.inner.trees.pending.get_sealed(id)? else { return Ok(()) };
        if request.status == RequestStatus::Pending {
            request.open_until = Some(until);
            if self.inner.trees.pending.swap(id, &sealed, &request)? {
                cache.put_request(request);
            }
        }
        Ok(())
    }

    /// Removes records that can no longer be used: spent-ticket markers,
    /// RPTs and PCTs past their end, assertion ids, claims-gathering visits, requests no client can poll for any more, and
    /// clients that never authenticated. Writes what the audit throttle
    /// has counted. Returns how many records went.
    pub fn purge_expired(&self) -> Result<usize, StoreError> {
        let now = self.now();
        let t = &self.inner.trees;
        let mut removed = 0;
        removed += self.inner.hot.purge(now);
        removed += purge(&t.used_jtis, |exp| *exp <= now)?;
        removed += purge(&t.sessions, |r| r.expires_at <= now)?;
        removed += purge(&t.id_tokens, |r| r.expires_at <= now)?;
        // A request is removed only as it was read: one a poll kept open
        // in the meantime stays.
        for item in t.pending.raw().iter() {
            let (k, sealed) = item?;
            let request = t.pending.decode(&k, &sealed)?;
            if request.open_until.is_some_and(|at| at <= now) {
                let mut cache = self.inner.cache.write();
                if t.pending.remove_if_unchanged(&k, &sealed)? {
                    cache.waiting.remove(&request.id);
                    removed += 1;
                }
            }
        }
        removed += self.reap_unused_clients(now)?;
        self.flush_noise();
        Ok(removed)
    }
}

fn purge<T: Serialize + serde::de::DeserializeOwned>(tree: &Tree<T>, expired: impl Fn(&T) -> bool) -> Result<usize, StoreError> {
    let mut keys = Vec::new();
    for item in tree.iter() {
        let (k, v) = item?;
        if expired(&v) {
            keys.push(k);
        }
    }
    for k in &keys {
        tree.remove(k)?;
    }
    Ok(keys.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Outcome, PartyCondition};

    fn policy(id: &str, resource: &str) -> Policy {
        Policy {
            id: id.into(),
            target: Target::Resource(resource.into()),
            scopes: vec![],
            party: PartyCondition::default(),
            valid_from: None,
            valid_until: None,
            outcome: Outcome::Ask,
            description: None,
            grant_lifetime: None,
            from_request: None,
            created_at: 0,
        }
    }

    /// Most resources have one policy: a list that reserved a `Vec`'s
    /// default four slots held 90 MiB of nothing in a wallet with 100,000.
    #[test]
    fn a_targets_first_policy_takes_room_for_one() {
        let mut cache = Cache::default();
        cache.put_policy(policy("p1", "r1"));
        assert_eq!(cache.policies[&Target::Resource("r1".into())].capacity(), 1);
        cache.put_policy(policy("p2", "r1"));
        assert_eq!(cache.policies[&Target::Resource("r1".into())].len(), 2);
    }

    async fn server_with_a_waiting_request() -> (tempfile::TempDir, AuthorizationServer, PendingRequest) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("db"), "p", crate::KdfParams { memory_kib: 1024, iterations: 1, parallelism: 1 }).unwrap();
        let server = AuthorizationServer::open(store, Config::new("http://as.test"), Clock::manual(1_800_000_000)).unwrap();
        let pat = server.pat_by_assertion(&server.mint_assertion(&"rs".into(), 60).unwrap()).unwrap().access_token;
        let rs = server.authenticate_pat(&pat).unwrap();
        let description = serde_json::from_value(serde_json::json!({ "name": "pension", "resource_scopes": ["value"] })).unwrap();
        let resource = server.create_resource(&rs, description).unwrap().id;
        let metadata = serde_json::from_value(serde_json::json!({ "client_name": "dashboard" })).unwrap();
        let client = server.client(&server.register_client(metadata).unwrap().client_id).unwrap();
        let ticket = server.request_permission(&rs, vec![Permission { resource_id: resource, resource_scopes: vec!["value".into()] }]).unwrap();
        let request = crate::token::UmaGrantRequest { ticket, claim_token: None, claim_token_format: None, pct: None, rpt: None, scope: vec![] };
        let outcome = server.uma_grant(&client, request).await.unwrap();
        assert!(matches!(outcome, crate::token::GrantOutcome::Submitted(_)), "the owner is asked");
        let waiting = server.pending_requests(true).unwrap().remove(0);
        (dir, server, waiting)
    }

    /// A poll that read the request before the owner denied it must not
    /// write its stale copy back over her decision.
    #[tokio::test]
    async fn a_poll_never_overwrites_the_owners_decision() {
        let (_dir, server, waiting) = server_with_a_waiting_request().await;
        server.deny_request(&waiting.id).await.unwrap();
        server.keep_request_open(&waiting.id, server.now() + 3600).unwrap();
        let stored = server.pending_request(&waiting.id).unwrap();
        assert!(matches!(stored.status, RequestStatus::Denied { .. }), "{:?}", stored.status);
        assert!(server.pending_requests(true).unwrap().is_empty(), "not back in her inbox");
    }

}

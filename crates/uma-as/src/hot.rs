//! The hot store: the short-lived records every grant writes, kept in
//! memory and in an append-only sealed journal (`hot.journal`, beside the
//! database), written by one thread in groups.
//!
//! - **spent markers**: what a used permission ticket leaves behind (tickets
//!   themselves are sealed and stored nowhere, see [`crate::ticket_seal`]);
//! - **RPT state**: what introspection and revocation need beyond the
//!   token's own claims ([`RptState`]);
//! - **PCT records**: claims kept by reference for one client.
//!
//! Owner decisions, grants, policies, clients and resources are not here:
//! they stay in the database, flushed before an owner decision is
//! acknowledged.
//!
//! What each record promises after a crash (a kill, a power cut):
//!
//! - A change is durable once the journal batch holding it is written and
//!   synced, a few milliseconds after it is made (the commit window), or at
//!   once for a caller that waits with [`HotStore::commit`].
//! - **An RPT** whose record was not yet committed is unknown after the
//!   crash, so it introspects as inactive: the store fails closed.
//! - **A revocation** (RFC 7009, a replayed ticket) is committed before it
//!   is answered, so a revoked RPT stays revoked.
//! - **A spent ticket** is never usable again: its marker may have been
//!   lost, so after any start that does not find the journal closed cleanly
//!   the server moves to a new ticket generation, and every ticket issued
//!   before is void (see [`crate::server`]). Clients start again from the
//!   resource server, as they would after an expired ticket; owners'
//!   answers to their requests are in the database and still count.
//! - **A PCT** not yet committed is unknown: the client is asked for claims
//!   again.
//! - A journal damaged before its end (not a torn last write), or an older
//!   copy put back in its place, is not trusted at all: every RPT and PCT
//!   it held is dropped. A copy cut short at a frame boundary looks like a
//!   crash: revocations after the cut are lost, for the rest of those RPTs'
//!   ten minutes; telling that apart needs a counter outside the disk.
//!
//! Spent markers are capped ([`crate::Config::max_spent_tickets`]): each
//! poll of a waiting client leaves one for as long as its polling ticket
//! could be shown (days), so past the cap token requests wait (429) rather
//! than memory growing without bound.
//!
//! Expired records are dropped by [`HotStore::purge`] without a journal
//! entry: replay drops them too. The journal is rewritten with only what
//! is live once it has passed 64 MiB and four times that (compaction), in
//! the writer thread, from a copy of the maps taken under the lock and
//! written out batch by batch.

use crate::id::{ClientId, GrantId};
use crate::clock::{Clock, UnixTime};
use crate::model::{PctRecord, RptRecord, SpentTicket};
use crate::secret::SecretHash;
use crate::store::{Journal, JournalEnd, Store, StoreError};
use parking_lot::{Condvar, Mutex};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The journal's name, and its file's (`hot.journal`).
const JOURNAL: &str = "hot";
/// The journal is compacted once it is this large and four times what is live.
const COMPACT_FROM: u64 = 64 * 1024 * 1024;
/// Changes per batch when the live records are written out together.
const SNAPSHOT_BATCH: usize = 4096;
/// How long the writer waits before trying again after a failed write.
const RETRY_AFTER: Duration = Duration::from_millis(200);
/// How long before a failed compaction is tried again.
const COMPACT_RETRY: Duration = Duration::from_secs(60);

/// What the hot store keeps of an RPT: only what its signed token does not
/// say. The rest (its id, client, permissions, issue time) is read back
/// from the token, which whoever looks an RPT up holds: the record is
/// found by the token's hash, so the token is exactly the one issued.
#[derive(Clone, Debug, PartialEq)]
pub struct RptState {
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
    /// For each of the token's permissions, in its order: the grant it
    /// came from, and when that grant ends.
    pub grants: Box<[(Arc<str>, Option<UnixTime>)]>,
}

/// A spent marker as kept in memory: the same as [`SpentTicket`], with
/// the client's id shared among all its markers.
#[derive(Clone)]
struct Spent {
    expires_at: UnixTime,
    client: Option<Arc<str>>,
    rpts: Box<[SecretHash]>,
}

/// One change, as the journal holds it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
enum Change {
    Spent { hash: SecretHash, ticket: SpentTicket },
    Rpt { hash: SecretHash, expires_at: UnixTime, revoked_at: Option<UnixTime>, grants: Vec<(GrantId, Option<UnixTime>)> },
    Pct { hash: SecretHash, record: PctRecord },
    PctRemoved { hash: SecretHash },
}

/// The live records. Ids that recur in many records (clients, grants) are
/// held once and shared: a busy server keeps tens of thousands of RPTs
/// and spent markers, nearly all naming the same few.
#[derive(Default)]
struct Records {
    spent: HashMap<SecretHash, Spent>,
    rpts: HashMap<SecretHash, RptState>,
    pcts: HashMap<SecretHash, PctRecord>,
    names: HashSet<Arc<str>>,
}

impl Records {
    fn name(&mut self, id: &str) -> Arc<str> {
        if let Some(shared) = self.names.get(id) {
            return shared.clone();
        }
        let shared: Arc<str> = id.into();
        self.names.insert(shared.clone());
        shared
    }

    fn spent_marker(&mut self, ticket: &SpentTicket) -> Spent {
        Spent { expires_at: ticket.expires_at, client: ticket.client_id.as_ref().map(|c| self.name(c.as_str())), rpts: ticket.rpts.clone().into() }
    }

    fn rpt_state(&mut self, expires_at: UnixTime, revoked_at: Option<UnixTime>, grants: &[(GrantId, Option<UnixTime>)]) -> RptState {
        let grants = grants.iter().map(|(id, ends)| (self.name(id.as_str()), *ends)).collect();
        RptState { expires_at, revoked_at, grants }
    }

    fn apply(&mut self, change: Change) {
        match change {
            Change::Spent { hash, ticket } => {
                let marker = self.spent_marker(&ticket);
                self.spent.insert(hash, marker);
            }
            Change::Rpt { hash, expires_at, revoked_at, grants } => {
                let state = self.rpt_state(expires_at, revoked_at, &grants);
                self.rpts.insert(hash, state);
            }
            Change::Pct { hash, record } => {
                self.pcts.insert(hash, record);
            }
            Change::PctRemoved { hash } => {
                self.pcts.remove(&hash);
            }
        }
    }

    fn purge(&mut self, now: UnixTime) -> usize {
        let before = self.len();
        self.spent.retain(|_, t| t.expires_at > now);
        self.rpts.retain(|_, r| r.expires_at > now);
        self.pcts.retain(|_, p| p.expires_at > now);
        self.names.retain(|name| Arc::strong_count(name) > 1);
        // Memory goes back once a burst has passed.
        shrink(&mut self.spent);
        shrink(&mut self.rpts);
        shrink(&mut self.pcts);
        before - self.len()
    }

    fn len(&self) -> usize {
        self.spent.len() + self.rpts.len() + self.pcts.len()
    }

    /// A copy of the live records, taken under the lock: a few pointer
    /// copies per record, so requests wait for that and not for the
    /// journal's encoding.
    fn copy(&self) -> Records {
        Records { spent: self.spent.clone(), rpts: self.rpts.clone(), pcts: self.pcts.clone(), names: HashSet::new() }
    }

    /// Every live record as a change, in journal batches made one at a
    /// time as they are written: a compaction holds one batch, not a copy
    /// of the journal.
    fn batches(&self) -> impl Iterator<Item = Vec<u8>> + '_ {
        let spent = self.spent.iter().map(|(h, t)| Change::Spent { hash: *h, ticket: spent_ticket(t) });
        let rpts = self.rpts.iter().map(|(h, r)| rpt_change(*h, r));
        let pcts = self.pcts.iter().map(|(h, p)| Change::Pct { hash: *h, record: p.clone() });
        let mut changes = spent.chain(rpts).chain(pcts);
        std::iter::from_fn(move || {
            let chunk: Vec<Change> = changes.by_ref().take(SNAPSHOT_BATCH).collect();
            (!chunk.is_empty()).then(|| serde_json::to_vec(&chunk).expect("records serialize"))
        })
    }
}

fn shrink<V>(map: &mut HashMap<SecretHash, V>) {
    if map.capacity() > 4 * map.len() + 1024 {
        map.shrink_to_fit();
    }
}

fn spent_ticket(marker: &Spent) -> SpentTicket {
    SpentTicket { rpts: marker.rpts.to_vec(), expires_at: marker.expires_at, client_id: marker.client.as_deref().map(ClientId::from) }
}

fn rpt_change(hash: SecretHash, state: &RptState) -> Change {
    Change::Rpt {
        hash,
        expires_at: state.expires_at,
        revoked_at: state.revoked_at,
        grants: state.grants.iter().map(|(id, ends)| (GrantId::from(&**id), *ends)).collect(),
    }
}

struct State {
    records: Records,
    /// Changes made but not yet handed to the writer.
    pending: Vec<Change>,
    /// Changes made since the store opened; the writer's progress is
    /// counted against this.
    made: u64,
    /// Someone waits for a commit: no commit window.
    urgent: bool,
    stopping: bool,
}

/// How far the writer has got.
#[derive(Clone, Copy, Debug, Default)]
struct Progress {
    /// Changes durable so far, counted like [`State::made`].
    committed: u64,
    /// The last write failed; it is being tried again.
    failing: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    progress: tokio::sync::watch::Sender<Progress>,
    window: Duration,
}

pub(crate) struct HotStore {
    shared: Arc<Shared>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl HotStore {
    /// Replays the journal and starts its writer. Returns how the last run
    /// ended: anything but [`JournalEnd::Clean`] may have lost changes.
    pub fn open(store: &Store, window: Duration, clock: Clock) -> Result<(HotStore, JournalEnd), StoreError> {
        let opened = store.journal(JOURNAL)?;
        let mut end = opened.end;
        let mut records = Records::default();
        for batch in &opened.batches {
            match serde_json::from_slice::<Vec<Change>>(batch) {
                Ok(changes) => changes.into_iter().for_each(|c| records.apply(c)),
                Err(_) => {
                    end = JournalEnd::Damaged;
                    break;
                }
            }
        }
        if end == JournalEnd::Damaged {
            tracing::error!("the hot journal is damaged: every RPT and PCT it held is dropped");
            records = Records::default();
        }
        records.purge(clock.now());
        tracing::info!(?end, spent = records.spent.len(), rpts = records.rpts.len(), pcts = records.pcts.len(), "hot store replayed");
        let mut journal = opened.journal;
        journal.rewrite(records.batches()).map_err(|e| StoreError::Db(sled::Error::Io(e)))?;
        let (progress, _) = tokio::sync::watch::channel(Progress::default());
        let shared = Arc::new(Shared {
            state: Mutex::new(State { records, pending: Vec::new(), made: 0, urgent: false, stopping: false }),
            wake: Condvar::new(),
            progress,
            window,
        });
        let writer = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("hot-journal".into())
                .spawn(move || write_journal(shared, journal, clock))
                .map_err(|e| StoreError::Db(sled::Error::Io(e)))?
        };
        Ok((HotStore { shared, writer: Mutex::new(Some(writer)) }, end))
    }

    fn change(&self, state: &mut State, change: Change) {
        state.made += 1;
        state.pending.push(change);
        if state.pending.len() == 1 {
            self.shared.wake.notify_one();
        }
    }

    /// Records that a ticket was used, unless it already was: then the
    /// marker already there, which names who used it first.
    /// Once the journal is closed, nothing can be spent: a marker it would
    /// not hold would be forgotten at the next start, which finds the
    /// journal closed cleanly.
    pub fn spend(&self, hash: SecretHash, ticket: SpentTicket) -> Result<(), SpentTicket> {
        let mut state = self.shared.state.lock();
        if let Some(winner) = state.records.spent.get(&hash) {
            return Err(spent_ticket(winner));
        }
        if state.stopping {
            return Err(SpentTicket { rpts: vec![], expires_at: ticket.expires_at, client_id: None });
        }
        let marker = state.records.spent_marker(&ticket);
        state.records.spent.insert(hash, marker);
        self.change(&mut state, Change::Spent { hash, ticket });
        Ok(())
    }

    /// How many spent markers are held.
    pub fn spent_count(&self) -> usize {
        self.shared.state.lock().records.spent.len()
    }

    pub fn spent(&self, hash: &SecretHash) -> Option<SpentTicket> {
        self.shared.state.lock().records.spent.get(hash).map(spent_ticket)
    }

    pub fn rpt(&self, hash: &SecretHash) -> Option<RptState> {
        self.shared.state.lock().records.rpts.get(hash).cloned()
    }

    /// Keeps what the token of `record` does not say.
    pub fn put_rpt(&self, hash: SecretHash, record: &RptRecord) {
        let grants: Vec<(GrantId, Option<UnixTime>)> = record.permissions.iter().map(|p| (p.grant_id.clone(), p.expires_at)).collect();
        let mut state = self.shared.state.lock();
        let rpt = state.records.rpt_state(record.expires_at, record.revoked_at, &grants);
        state.records.rpts.insert(hash, rpt);
        self.change(&mut state, Change::Rpt { hash, expires_at: record.expires_at, revoked_at: record.revoked_at, grants });
    }

    /// Marks an RPT revoked at `now`, unless it is unknown or already was:
    /// the first revocation's time stands.
    pub fn revoke_rpt(&self, hash: &SecretHash, now: UnixTime) -> bool {
        let mut state = self.shared.state.lock();
        let Some(rpt) = state.records.rpts.get_mut(hash).filter(|r| r.revoked_at.is_none()) else { return false };
        rpt.revoked_at = Some(now);
        let change = rpt_change(*hash, rpt);
        self.change(&mut state, change);
        true
    }

    pub fn pct(&self, hash: &SecretHash) -> Option<PctRecord> {
        self.shared.state.lock().records.pcts.get(hash).cloned()
    }

    pub fn put_pct(&self, hash: SecretHash, record: PctRecord) {
        let mut state = self.shared.state.lock();
        state.records.pcts.insert(hash, record.clone());
        self.change(&mut state, Change::Pct { hash, record });
    }

    pub fn remove_pct(&self, hash: &SecretHash) -> bool {
        let mut state = self.shared.state.lock();
        let removed = state.records.pcts.remove(hash).is_some();
        if removed {
            self.change(&mut state, Change::PctRemoved { hash: *hash });
        }
        removed
    }

    /// Drops what has expired; returns how many records went.
    pub fn purge(&self, now: UnixTime) -> usize {
        self.shared.state.lock().records.purge(now)
    }

    /// Records held: spent markers, RPTs, PCTs.
    #[cfg(test)]
    pub fn counts(&self) -> (usize, usize, usize) {
        let state = self.shared.state.lock();
        (state.records.spent.len(), state.records.rpts.len(), state.records.pcts.len())
    }

    /// Waits until every change made so far is on disk.
    pub async fn commit(&self) -> Result<(), StoreError> {
        let target = {
            let mut state = self.shared.state.lock();
            if state.stopping {
                return Err(StoreError::Db(sled::Error::Io(std::io::Error::other("the hot journal is closed"))));
            }
            state.urgent = true;
            state.made
        };
        self.shared.wake.notify_one();
        let mut progress = self.shared.progress.subscribe();
        let reached = progress.wait_for(|p| p.committed >= target || p.failing).await.map(|p| *p);
        match reached {
            Ok(p) if p.committed >= target => Ok(()),
            _ => Err(StoreError::Db(sled::Error::Io(std::io::Error::other("the hot journal cannot be written")))),
        }
    }

    /// Writes what is pending, closes the journal cleanly and stops the
    /// writer. Changes made afterwards are kept in memory only.
    pub fn close(&self) {
        self.shared.state.lock().stopping = true;
        self.shared.wake.notify_one();
        if let Some(writer) = self.writer.lock().take() {
            let _ = writer.join();
        }
    }
}

impl Drop for HotStore {
    fn drop(&mut self) {
        self.close();
    }
}

/// The writer thread: takes what is pending, writes it as one batch and
/// syncs (group commit), and compacts the journal when it has grown.
fn write_journal(shared: Arc<Shared>, mut journal: Journal, clock: Clock) {
    let mut live_len = journal.len();
    let mut failing = false;
    let mut compact_after = Instant::now();
    loop {
        let (batch, upto, stopping) = {
            let mut state = shared.state.lock();
            while state.pending.is_empty() && !state.stopping && !state.urgent {
                shared.wake.wait(&mut state);
            }
            // The commit window: more changes join this batch, unless
            // someone is waiting for it.
            let deadline = Instant::now() + if failing { RETRY_AFTER } else { shared.window };
            while !state.urgent && !state.stopping {
                if shared.wake.wait_until(&mut state, deadline).timed_out() {
                    break;
                }
            }
            state.urgent = false;
            (std::mem::take(&mut state.pending), state.made, state.stopping)
        };
        let written = if batch.is_empty() { Ok(()) } else { journal.append(&serde_json::to_vec(&batch).expect("records serialize")) };
        match written {
            Ok(()) => {
                failing = false;
                shared.progress.send_replace(Progress { committed: upto, failing });
            }
            Err(e) => {
                failing = true;
                // Put the batch back in front of what came since, in order.
                let mut state = shared.state.lock();
                let newer = std::mem::replace(&mut state.pending, batch);
                state.pending.extend(newer);
                let committed = shared.progress.borrow().committed;
                shared.progress.send_replace(Progress { committed, failing });
                if stopping {
                    // Not closed: the next start must not take this journal
                    // for complete.
                    tracing::error!(error = %e, "the hot journal could not be written; left unclosed");
                    return;
                }
                tracing::error!(error = %e, "the hot journal could not be written; trying again");
                continue;
            }
        }
        if stopping {
            if let Err(e) = journal.close() {
                tracing::error!(error = %e, "the hot journal could not be closed");
            }
            return;
        }
        if journal.len() > COMPACT_FROM.max(4 * live_len) && Instant::now() >= compact_after {
            let (live, upto, included) = {
                let mut state = shared.state.lock();
                state.records.purge(clock.now());
                // The copy holds every change made so far, pending ones too.
                (state.records.copy(), state.made, state.pending.len())
            };
            match journal.rewrite(live.batches()) {
                Ok(()) => {
                    live_len = journal.len();
                    // What the copy held is written; what came since is not.
                    shared.state.lock().pending.drain(..included);
                    shared.progress.send_replace(Progress { committed: upto, failing: false });
                }
                Err(e) => {
                    tracing::error!(error = %e, "the hot journal could not be compacted; going on with it as it is");
                    compact_after = Instant::now() + COMPACT_RETRY;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &std::path::Path) -> Store {
        Store::create(&dir.join("db"), "pass", crate::store::KdfParams { memory_kib: 8, iterations: 1, parallelism: 1 }).unwrap()
    }

    fn rpt(expires_at: UnixTime, grant: &str) -> RptRecord {
        let permission = crate::model::GrantedPermission { resource_id: "r1".into(), resource_scopes: vec!["value".into()], grant_id: grant.into(), expires_at: None };
        RptRecord { jti: "jti".into(), client_id: "app".into(), permissions: vec![permission], issued_at: 0, expires_at, revoked_at: None }
    }

    fn spent(client: &str) -> SpentTicket {
        SpentTicket { rpts: vec![SecretHash([1; 32])], expires_at: 1_000, client_id: Some(client.into()) }
    }

    #[tokio::test]
    async fn what_was_committed_is_there_after_a_clean_close_and_after_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let clock = Clock::manual(100);
        let (hot, end) = HotStore::open(&store, Duration::from_secs(3600), clock.clone()).unwrap();
        assert_eq!(end, JournalEnd::Missing);
        hot.put_rpt(SecretHash([1; 32]), &rpt(700, "g1"));
        assert!(hot.spend(SecretHash([2; 32]), spent("app")).is_ok());
        assert_eq!(hot.spend(SecretHash([2; 32]), spent("thief")), Err(spent("app")));
        hot.put_pct(SecretHash([3; 32]), PctRecord { client_id: "app".into(), party: Default::default(), issued_at: 0, expires_at: 900 });
        hot.commit().await.unwrap();
        assert!(hot.revoke_rpt(&SecretHash([1; 32]), 150));
        assert!(!hot.revoke_rpt(&SecretHash([1; 32]), 160), "the first revocation's time stands");
        hot.close();
        drop(hot);

        let (hot, end) = HotStore::open(&store, Duration::ZERO, clock.clone()).unwrap();
        assert_eq!(end, JournalEnd::Clean);
        assert_eq!(hot.rpt(&SecretHash([1; 32])).and_then(|r| r.revoked_at), Some(150), "written at close");
        assert_eq!(hot.spent(&SecretHash([2; 32])), Some(spent("app")));
        assert!(hot.remove_pct(&SecretHash([3; 32])));
        hot.commit().await.unwrap();
        // Not closed: as after a crash. What was committed is there.
        std::mem::forget(hot);

        let (hot, end) = HotStore::open(&store, Duration::ZERO, clock).unwrap();
        assert_eq!(end, JournalEnd::Unclean);
        assert_eq!(hot.counts(), (1, 1, 0));
    }

    #[tokio::test]
    async fn a_change_not_yet_committed_is_gone_after_a_crash_and_expired_records_are_not_replayed() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let clock = Clock::manual(100);
        let (hot, _) = HotStore::open(&store, Duration::from_secs(3600), clock.clone()).unwrap();
        hot.put_rpt(SecretHash([1; 32]), &rpt(200, "g1"));
        hot.commit().await.unwrap();
        // Inside an hour-long commit window, nothing else is written.
        hot.put_rpt(SecretHash([2; 32]), &rpt(700, "g1"));
        std::mem::forget(hot);

        let (hot, end) = HotStore::open(&store, Duration::ZERO, clock.clone()).unwrap();
        assert_eq!(end, JournalEnd::Unclean);
        assert!(hot.rpt(&SecretHash([1; 32])).is_some() && hot.rpt(&SecretHash([2; 32])).is_none());
        hot.close();
        drop(hot);
        clock.advance(100);
        let (hot, _) = HotStore::open(&store, Duration::ZERO, clock).unwrap();
        assert_eq!(hot.counts(), (0, 0, 0), "expired at 200");
    }

    #[tokio::test]
    async fn a_grown_journal_is_compacted_to_what_is_live() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let clock = Clock::manual(100);
        let (hot, _) = HotStore::open(&store, Duration::ZERO, clock.clone()).unwrap();
        // The same record rewritten until the journal passes the threshold.
        let long_grant = "x".repeat(4096);
        for i in 0..(COMPACT_FROM / 4096 + 100) {
            hot.put_rpt(SecretHash([9; 32]), &rpt(1_000 + i as i64, &long_grant));
            if i % 64 == 0 {
                hot.commit().await.unwrap();
            }
        }
        hot.commit().await.unwrap();
        let path = dir.path().join("db").join("hot.journal");
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size < COMPACT_FROM, "compacted to {size} bytes");
        hot.close();
        drop(hot);
        let (hot, _) = HotStore::open(&store, Duration::ZERO, clock).unwrap();
        assert_eq!(hot.rpt(&SecretHash([9; 32])).map(|r| r.expires_at), Some(1_000 + (COMPACT_FROM / 4096 + 99) as i64));
    }
}

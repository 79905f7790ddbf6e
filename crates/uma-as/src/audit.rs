//! The audit log: every protocol decision and owner action, hash-chained.
//!
//! Entry `n` stores the SHA-256 of entry `n-1` and its own hash over its
//! content and that link; the head (last sequence number and hash) is written
//! after the entries. [`AuditLog::verify`] walks the chain, so a changed
//! entry, a removed entry in the middle and a removed last entry (the head no
//! longer matches) are all detected.
//!
//! Appending chains the entry at once (its number and hash are fixed under
//! the head's lock) and leaves the writing to a thread of its own, which
//! writes what has gathered in one go, in order, a few milliseconds later:
//! a request pays for a hash, not for sealing and storing. Whoever reads
//! the log, and [`AuditLog::write_pending`] (called before an owner's
//! decision is acknowledged), writes what is pending first, so nothing
//! appended is ever missing from what is read. Entries not yet written
//! when the process dies are lost, like anything sled had not yet flushed;
//! the chain stays whole, since entries are written in order and the head
//! after them. A crash between an entry and the head leaves the head
//! behind, and [`AuditLog::open`] moves it forward after checking that
//! entry's link.

use crate::anchor::{Anchor, Anchoring};
use crate::clock::UnixTime;
use crate::store::{Store, StoreError, Tree};
use parking_lot::{Condvar, Mutex};
use ring::digest::{Context, SHA256};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How long an appended entry waits for others to be written with it.
const WRITE_WINDOW: Duration = Duration::from_millis(10);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct AuditEntry {
    pub seq: u64,
    pub at: UnixTime,
    /// Who acted: `owner`, `client:<id>`, `resource_server:<id>`, `anonymous`.
    pub actor: String,
    /// What happened, e.g. `token.request_submitted`, `pending.approve`.
    pub action: String,
    pub detail: serde_json::Value,
    /// Hex SHA-256 of the previous entry (64 zeros for the first).
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Head {
    seq: u64,
    hash: String,
}

/// Why the chain failed to verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("audit entry {seq}: {reason}")]
pub struct ChainBroken {
    pub seq: u64,
    pub reason: String,
}

const HEAD_KEY: &[u8] = b"head";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a throttled event becomes in the log.
#[derive(Debug, PartialEq)]
pub struct Noise {
    pub actor: String,
    pub action: String,
    pub detail: serde_json::Value,
}

#[derive(Debug)]
struct Window {
    started: UnixTime,
    suppressed: u64,
}

/// Keeps refusals that anyone can cause at will (failed logins, unknown
/// tickets) from growing the log without bound: per actor and action, the
/// first event in a minute is written and the rest are counted; the count
/// goes into the next entry of that kind, or into a summary entry when the
/// minute is over. At most [`Throttle::KEYS`] kinds are tracked; beyond
/// that, events are counted under the actor `many`.
#[derive(Default)]
pub struct Throttle {
    windows: Mutex<std::collections::HashMap<(String, String), Window>>,
    /// Entries written in the current minute, across all kinds.
    budget: Mutex<(UnixTime, usize)>,
}

impl Throttle {
    pub const KEYS: usize = 4096;
    pub const WINDOW: UnixTime = 60;
    /// Entries a minute across every actor: many actors (clients from open
    /// registration) share this, and past it they count as `many`.
    pub const PER_MINUTE: usize = 120;

    /// The entry to write now, if any.
    pub fn admit(&self, now: UnixTime, actor: &str, action: &str, mut detail: serde_json::Value) -> Option<Noise> {
        let mut windows = self.windows.lock();
        let mut key = (actor.to_string(), action.to_string());
        let over_budget = {
            let mut budget = self.budget.lock();
            if now >= budget.0.saturating_add(Self::WINDOW) {
                *budget = (now, 0);
            }
            budget.1 >= Self::PER_MINUTE
        };
        if (!windows.contains_key(&key) && windows.len() >= Self::KEYS) || over_budget {
            key.0 = "many".into();
        }
        let window = windows.entry(key.clone()).or_insert(Window { started: UnixTime::MIN, suppressed: 0 });
        if now < window.started.saturating_add(Self::WINDOW) {
            window.suppressed += 1;
            return None;
        }
        let before = std::mem::take(&mut window.suppressed);
        window.started = now;
        self.budget.lock().1 += 1;
        if before > 0 {
            if let Some(map) = detail.as_object_mut() {
                map.insert("suppressed_before".into(), before.into());
            }
        }
        Some(Noise { actor: key.0, action: key.1, detail })
    }

    /// Summaries of the counts whose minute is over (all of them when
    /// `everything`, at shutdown), and forgets them.
    pub fn drain(&self, now: UnixTime, everything: bool) -> Vec<Noise> {
        let mut windows = self.windows.lock();
        let mut out = Vec::new();
        windows.retain(|(actor, action), w| {
            if !everything && now < w.started.saturating_add(Self::WINDOW) {
                return true;
            }
            if w.suppressed > 0 {
                out.push(Noise { actor: actor.clone(), action: action.clone(), detail: serde_json::json!({ "repeats": w.suppressed }) });
            }
            false
        });
        out
    }
}

#[derive(Clone)]
pub struct AuditLog {
    chain: Arc<Chain>,
}

struct Chain {
    entries: Tree<AuditEntry>,
    heads: Tree<Head>,
    /// The head, counting entries chained but not yet written.
    head: Mutex<Head>,
    /// The head as written to the store.
    written: Mutex<Head>,
    pending: Arc<Pending>,
    /// One writer at a time, so that batches land in order.
    writing: Mutex<()>,
    anchor: Option<Anchor>,
}

/// Entries chained but not yet written, in order, and the writer's bell.
/// Apart from [`Chain`], so the writer can wait without keeping it alive.
#[derive(Default)]
struct Pending {
    entries: Mutex<Vec<AuditEntry>>,
    wake: Condvar,
}

fn entry_hash(seq: u64, at: UnixTime, actor: &str, action: &str, detail: &serde_json::Value, prev: &str) -> String {
    let mut ctx = Context::new(&SHA256);
    let body = serde_json::to_vec(&(seq, at, actor, action, detail, prev)).expect("audit entries serialize");
    ctx.update(&body);
    crate::secret::hex(ctx.finish().as_ref())
}

impl AuditLog {
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        Self::open_anchored(store, None, 0)
    }

    /// Opens the log and, with `anchoring`, checks the chain against its
    /// anchor outside the wallet's folder and keeps the anchor moving
    /// ([`crate::anchor`]). An older copy the owner accepted is recorded,
    /// at `now`.
    pub fn open_anchored(store: &Store, anchoring: Option<&Anchoring>, now: UnixTime) -> Result<Self, StoreError> {
        let entries = store.tree::<AuditEntry>("audit")?;
        let heads = store.tree::<Head>("audit")?;
        let mut head = heads.get(HEAD_KEY)?.unwrap_or(Head { seq: 0, hash: GENESIS.into() });
        // A crash can leave the head behind the entries written with it:
        // it moves forward over every entry that links on.
        let recorded = head.seq;
        while let Some(last) = entries.raw().get((head.seq + 1).to_be_bytes())? {
            let next = entries.decode(&(head.seq + 1).to_be_bytes(), &last)?;
            if next.prev_hash != head.hash {
                break;
            }
            head = Head { seq: next.seq, hash: next.hash };
        }
        if head.seq != recorded {
            heads.insert(HEAD_KEY, &head)?;
        }
        let (anchor, accepted) = match anchoring {
            Some(anchoring) => {
                let hash_at = |seq: u64| Ok(entries.get(seq.to_be_bytes())?.map(|entry| entry.hash));
                let (anchor, accepted) = Anchor::open(store, anchoring, head.seq, hash_at)?;
                (Some(anchor), accepted)
            }
            None => (None, None),
        };
        let pending = Arc::new(Pending::default());
        let chain = Arc::new(Chain {
            entries,
            heads,
            written: Mutex::new(head.clone()),
            head: Mutex::new(head),
            pending: pending.clone(),
            writing: Mutex::new(()),
            anchor,
        });
        let log = AuditLog { chain };
        if let Some(mismatch) = accepted {
            log.append(now, "owner", "wallet.older_copy_accepted", serde_json::json!({ "why": mismatch.to_string() }))?;
            log.write_pending()?;
        }
        // Anchored at once: the check just passed (or was waived) for
        // this head, and a store anchored once refuses to lose its anchor.
        log.chain.advance_anchor()?;
        let weak = Arc::downgrade(&log.chain);
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || write_behind(weak, pending))
            .map_err(|e| StoreError::Db(sled::Error::Io(e)))?;
        Ok(log)
    }

    /// Chains one entry; it is written shortly after, off the caller's path.
    pub fn append(&self, at: UnixTime, actor: &str, action: &str, detail: serde_json::Value) -> Result<AuditEntry, StoreError> {
        let mut head = self.chain.head.lock();
        let seq = head.seq + 1;
        let hash = entry_hash(seq, at, actor, action, &detail, &head.hash);
        let entry = AuditEntry {
            seq,
            at,
            actor: actor.into(),
            action: action.into(),
            detail,
            prev_hash: head.hash.clone(),
            hash: hash.clone(),
        };
        *head = Head { seq, hash };
        // Under the head's lock: pending entries stay in chain order.
        let mut pending = self.chain.pending.entries.lock();
        pending.push(entry.clone());
        if pending.len() == 1 {
            self.chain.pending.wake.notify_one();
        }
        Ok(entry)
    }

    /// Writes every entry appended so far.
    pub fn write_pending(&self) -> Result<(), StoreError> {
        self.chain.write_pending()
    }

    /// Writes what is pending, flushes the store and anchors the head
    /// ([`crate::anchor`]): at a clean stop.
    pub fn anchor_now(&self) -> Result<(), StoreError> {
        self.chain.write_pending()?;
        self.chain.advance_anchor()
    }

    /// Anchors the head at once and prepares the anchor's retirement, for a
    /// replacement of the wallet's key ([`crate::anchor::RetiredMark`]).
    pub fn retire_anchor(&self) -> Result<Option<crate::anchor::RetiredMark>, StoreError> {
        self.anchor_now()?;
        let written = self.chain.written.lock().clone();
        Ok(self.chain.anchor.as_ref().map(|anchor| anchor.retired(written.seq, &written.hash)))
    }

    /// Writes what is pending; the head written, for [`AuditLog::anchor_flushed`]
    /// once a store flush that began after this call has finished.
    pub(crate) fn write_pending_head(&self) -> Result<Head, StoreError> {
        self.chain.write_pending()?;
        Ok(self.chain.written.lock().clone())
    }

    /// Anchors `head`, which a finished store flush holds.
    pub(crate) fn anchor_flushed(&self, head: &Head) -> Result<(), StoreError> {
        match &self.chain.anchor {
            Some(anchor) => anchor.advance(head.seq, &head.hash, false),
            None => Ok(()),
        }
    }

    fn all(&self) -> impl Iterator<Item = Result<AuditEntry, StoreError>> + '_ {
        self.chain.entries.raw().iter().filter_map(move |item| match item {
            Ok((k, v)) if k.len() == 8 => Some(self.chain.entries.decode(&k, &v)),
            Ok(_) => None,
            Err(e) => Some(Err(e.into())),
        })
    }

    /// Newest first, at most `limit`.
    pub fn list(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.search(limit, usize::MAX, |_| true)
    }

    /// The newest `limit` entries that `wanted` keeps, newest first,
    /// looking through at most the newest `scanned` entries.
    pub fn search(&self, limit: usize, scanned: usize, wanted: impl Fn(&AuditEntry) -> bool) -> Result<Vec<AuditEntry>, StoreError> {
        self.write_pending()?;
        let mut out = Vec::with_capacity(limit.min(1024));
        for item in self.chain.entries.raw().iter().rev().take(scanned) {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item?;
            if k.len() != 8 {
                continue;
            }
            let entry = self.chain.entries.decode(&k, &v)?;
            if wanted(&entry) {
                out.push(entry);
            }
        }
        Ok(out)
    }

    /// Oldest first, every entry.
    pub fn export(&self) -> Result<Vec<AuditEntry>, StoreError> {
        self.write_pending()?;
        self.all().collect()
    }

    /// Walks the whole chain. `Ok(n)` is the number of entries verified.
    pub fn verify(&self) -> Result<Result<u64, ChainBroken>, StoreError> {
        // The writer waits while the chain is walked: entries and head are
        // read as one state.
        let _turn = self.chain.writing.lock();
        self.chain.write_pending_in_turn()?;
        let mut expected_seq = 1;
        let mut prev = GENESIS.to_string();
        for item in self.all() {
            let entry = match item {
                Ok(e) => e,
                Err(StoreError::Corrupt { key, .. }) => {
                    return Ok(Err(ChainBroken { seq: expected_seq, reason: format!("record {key:?} was altered") }))
                }
                Err(e) => return Err(e),
            };
            if entry.seq != expected_seq {
                return Ok(Err(ChainBroken { seq: expected_seq, reason: format!("missing; next is {}", entry.seq) }));
            }
            if entry.prev_hash != prev {
                return Ok(Err(ChainBroken { seq: entry.seq, reason: "link to the previous entry is broken".into() }));
            }
            let recomputed = entry_hash(entry.seq, entry.at, &entry.actor, &entry.action, &entry.detail, &entry.prev_hash);
            if recomputed != entry.hash {
                return Ok(Err(ChainBroken { seq: entry.seq, reason: "content does not match its hash".into() }));
            }
            prev = entry.hash;
            expected_seq += 1;
        }
        let head = self.chain.heads.get(HEAD_KEY)?.unwrap_or(Head { seq: 0, hash: GENESIS.into() });
        if head.seq != expected_seq - 1 || head.hash != prev {
            return Ok(Err(ChainBroken {
                seq: head.seq,
                reason: format!("the log ends at entry {} but {} entries were written", expected_seq - 1, head.seq),
            }));
        }
        Ok(Ok(expected_seq - 1))
    }

    pub fn len(&self) -> u64 {
        self.chain.head.lock().seq
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The raw tree, for tests that tamper with the log: everything
    /// appended is written first.
    pub fn raw(&self) -> &sled::Tree {
        if let Err(e) = self.write_pending() {
            tracing::error!(error = %e, "audit entries could not be written");
        }
        self.chain.entries.raw()
    }
}

impl Chain {
    fn write_pending(&self) -> Result<(), StoreError> {
        let _turn = self.writing.lock();
        self.write_pending_in_turn()
    }

    /// [`Chain::write_pending`] for a caller holding `writing`.
    fn write_pending_in_turn(&self) -> Result<(), StoreError> {
        let batch = std::mem::take(&mut *self.pending.entries.lock());
        let Some(last) = batch.last() else { return Ok(()) };
        for (i, entry) in batch.iter().enumerate() {
            if let Err(e) = self.entries.insert(entry.seq.to_be_bytes(), entry) {
                // Kept, in order, for the next attempt: a gap would break the chain.
                let mut pending = self.pending.entries.lock();
                let newer = std::mem::replace(&mut *pending, batch[i..].to_vec());
                pending.extend(newer);
                return Err(e);
            }
        }
        let head = Head { seq: last.seq, hash: last.hash.clone() };
        self.heads.insert(HEAD_KEY, &head)?;
        *self.written.lock() = head;
        Ok(())
    }

    /// Flushes the store and moves the anchor to the head written so far.
    fn advance_anchor(&self) -> Result<(), StoreError> {
        let Some(anchor) = &self.anchor else { return Ok(()) };
        let written = self.written.lock().clone();
        anchor.advance(written.seq, &written.hash, true)
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        if let Err(e) = self.write_pending() {
            tracing::error!(error = %e, "audit entries could not be written at close");
        }
        if let Err(e) = self.advance_anchor() {
            tracing::error!(error = %e, "the wallet's anchor could not be moved at close");
        }
    }
}

/// The writer thread: waits for entries, lets others join them for a few
/// milliseconds, writes them. Ends once the log is gone.
fn write_behind(chain: Weak<Chain>, pending: Arc<Pending>) {
    loop {
        {
            let mut entries = pending.entries.lock();
            if entries.is_empty() {
                pending.wake.wait_for(&mut entries, Duration::from_secs(1));
            }
        }
        std::thread::sleep(WRITE_WINDOW);
        let Some(chain) = chain.upgrade() else { return };
        if let Err(e) = chain.write_pending() {
            tracing::error!(error = %e, "audit entries could not be written; trying again");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::KdfParams;

    fn log() -> (tempfile::TempDir, Store, AuditLog) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path(), "p", KdfParams { memory_kib: 1024, iterations: 1, parallelism: 1 }).unwrap();
        let log = AuditLog::open(&store).unwrap();
        for i in 0..5 {
            log.append(i, "owner", "test", serde_json::json!({ "i": i })).unwrap();
        }
        log.write_pending().unwrap();
        (dir, store, log)
    }

    #[test]
    fn a_log_cut_short_of_its_anchor_is_refused_and_one_never_anchored_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let anchoring = Anchoring { dir: dir.path().join("anchors"), accept_older_copy: false };
        let store = Store::create(&dir.path().join("db"), "p", KdfParams { memory_kib: 1024, iterations: 1, parallelism: 1 }).unwrap();
        let third = {
            let log = AuditLog::open_anchored(&store, Some(&anchoring), 0).unwrap();
            for i in 0..5 {
                log.append(i, "owner", "test", serde_json::json!({ "i": i })).unwrap();
            }
            log.write_pending().unwrap();
            log.chain.advance_anchor().unwrap();
            log.chain.entries.get(3u64.to_be_bytes()).unwrap().unwrap()
        };
        // The last two entries gone and the head moved back to the third,
        // as in a copy taken then: the chain verifies, the anchor does not.
        {
            let log = AuditLog::open(&store).unwrap();
            log.raw().remove(5u64.to_be_bytes()).unwrap();
            log.raw().remove(4u64.to_be_bytes()).unwrap();
            log.chain.heads.insert(HEAD_KEY, &Head { seq: 3, hash: third.hash.clone() }).unwrap();
            *log.chain.written.lock() = Head { seq: 3, hash: third.hash };
            assert_eq!(log.verify().unwrap(), Ok(3));
        }
        match AuditLog::open_anchored(&store, Some(&anchoring), 0) {
            Err(StoreError::OlderCopy(why)) => assert!(why.contains("ends at entry 3") && why.contains("reached entry 5"), "{why}"),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("opened"),
        }
        let elsewhere = Anchoring { dir: dir.path().join("other-anchors"), ..anchoring.clone() };
        match AuditLog::open_anchored(&store, Some(&elsewhere), 0) {
            Err(StoreError::OlderCopy(why)) => assert!(why.contains("missing"), "anchored once, its anchor is expected: {why}"),
            other => panic!("{:?}", other.err()),
        }
        // The store's record of having been anchored removed by hand: the
        // anchor is found all the same (its name comes from the data key).
        store.tree::<serde_json::Value>("audit").unwrap().raw().remove(b"anchor").unwrap();
        assert!(matches!(AuditLog::open_anchored(&store, Some(&anchoring), 0), Err(StoreError::OlderCopy(_))));
        // An anchor written by someone else, set back to the start: refused.
        let file = std::fs::read_dir(&anchoring.dir).unwrap().next().unwrap().unwrap().path();
        let genuine = std::fs::read(&file).unwrap();
        let mut forged: serde_json::Value = serde_json::from_slice(&genuine).unwrap();
        forged["seq"] = 0.into();
        std::fs::write(&file, serde_json::to_vec(&forged).unwrap()).unwrap();
        match AuditLog::open_anchored(&store, Some(&anchoring), 0) {
            Err(StoreError::OlderCopy(why)) => assert!(why.contains("not written by this wallet"), "{why}"),
            other => panic!("{:?}", other.err()),
        }
        std::fs::write(&file, &genuine).unwrap();
        let accepted = AuditLog::open_anchored(&store, Some(&Anchoring { accept_older_copy: true, ..anchoring.clone() }), 9).unwrap();
        let last = accepted.list(1).unwrap();
        assert_eq!((last[0].seq, last[0].action.as_str()), (4, "wallet.older_copy_accepted"));

        let fresh = Store::create(&dir.path().join("fresh"), "p", KdfParams { memory_kib: 1024, iterations: 1, parallelism: 1 }).unwrap();
        assert!(AuditLog::open_anchored(&fresh, Some(&anchoring), 0).is_ok(), "a store never anchored takes its first anchor");
    }

    #[test]
    fn intact_chain_verifies() {
        let (_d, _s, log) = log();
        assert_eq!(log.verify().unwrap(), Ok(5));
        assert_eq!(log.list(2).unwrap().iter().map(|e| e.seq).collect::<Vec<_>>(), vec![5, 4]);
    }

    #[test]
    fn changed_entry_is_detected() {
        let (_d, _s, log) = log();
        let key = 3u64.to_be_bytes();
        let mut entry = log.chain.entries.get(key).unwrap().unwrap();
        entry.detail = serde_json::json!({ "i": 99 });
        log.chain.entries.insert(key, &entry).unwrap();
        assert_eq!(log.verify().unwrap().unwrap_err().seq, 3);
    }

    #[test]
    fn removed_entries_are_detected_in_the_middle_and_at_the_end() {
        let (_d, _s, log) = log();
        log.raw().remove(5u64.to_be_bytes()).unwrap();
        assert!(log.verify().unwrap().is_err());
        let (_d, _s, log) = self::log();
        log.raw().remove(2u64.to_be_bytes()).unwrap();
        assert_eq!(log.verify().unwrap().unwrap_err().seq, 2);
    }

    #[test]
    fn entries_appended_from_many_threads_are_written_behind_in_chain_order() {
        let (_d, _s, log) = log();
        std::thread::scope(|scope| {
            for t in 0..4 {
                let log = &log;
                scope.spawn(move || {
                    for i in 0..50 {
                        log.append(10 + i, &format!("client:{t}"), "token.rpt_issued", serde_json::json!({ "i": i })).unwrap();
                    }
                });
            }
        });
        // Written by the writer, with no reader asking.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while log.chain.entries.get(205u64.to_be_bytes()).unwrap().is_none() {
            assert!(std::time::Instant::now() < deadline, "the writer never wrote the last entry");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(log.verify().unwrap(), Ok(205));
    }

    #[test]
    fn a_crash_between_entries_and_head_is_recovered_at_open() {
        let (_d, store, log) = log();
        let head = log.chain.heads.get(HEAD_KEY).unwrap().unwrap();
        for i in 6..9 {
            log.append(i, "owner", "written with the head behind", serde_json::Value::Null).unwrap();
        }
        log.write_pending().unwrap();
        log.chain.heads.insert(HEAD_KEY, &head).unwrap();
        drop(log);
        let log = AuditLog::open(&store).unwrap();
        assert_eq!(log.verify().unwrap(), Ok(8));
        assert_eq!(log.append(9, "owner", "next", serde_json::Value::Null).unwrap().seq, 9, "no entry is written over");
    }

    #[test]
    fn the_throttle_writes_one_event_a_minute_and_counts_the_rest() {
        let t = Throttle::default();
        assert!(t.admit(0, "anonymous", "login_failed", serde_json::json!({})).is_some());
        for i in 1..100 {
            assert!(t.admit(i % 60, "anonymous", "login_failed", serde_json::json!({})).is_none());
        }
        assert!(t.admit(0, "anonymous", "other", serde_json::json!({})).is_some(), "kinds are counted apart");
        let next = t.admit(61, "anonymous", "login_failed", serde_json::json!({})).unwrap();
        assert_eq!(next.detail["suppressed_before"], 99);
        t.admit(70, "anonymous", "login_failed", serde_json::json!({}));
        assert!(t.drain(100, false).is_empty(), "the minute is not over");
        let summary = t.drain(200, false);
        assert_eq!(summary, vec![Noise { actor: "anonymous".into(), action: "login_failed".into(), detail: serde_json::json!({ "repeats": 1 }) }]);
        assert!(t.drain(300, false).is_empty());
        t.admit(400, "anonymous", "login_failed", serde_json::json!({}));
        t.admit(401, "anonymous", "login_failed", serde_json::json!({}));
        assert_eq!(t.drain(402, true).len(), 1, "at shutdown, counts are written whatever the minute");
    }

    #[test]
    fn many_actors_share_one_budget_a_minute() {
        let t = Throttle::default();
        let written = (0..1000).filter(|i| t.admit(5, &format!("client:{i}"), "x", serde_json::json!({})).is_some()).count();
        assert_eq!(written, Throttle::PER_MINUTE + 1, "the budget, then one entry for `many`");
        assert!(t.admit(70, "client:1", "x", serde_json::json!({})).is_some(), "a new minute, a new budget");
    }

    #[test]
    fn the_throttle_tracks_a_bounded_number_of_kinds() {
        let t = Throttle::default();
        for i in 0..Throttle::KEYS + 100 {
            t.admit(0, &format!("client:{i}"), "x", serde_json::json!({}));
        }
        assert!(t.windows.lock().len() <= Throttle::KEYS + 1, "the rest share the actor `many`");
    }

    #[test]
    fn chain_continues_after_reopen() {
        let (_d, store, log) = log();
        drop(log);
        let log = AuditLog::open(&store).unwrap();
        log.append(9, "owner", "again", serde_json::Value::Null).unwrap();
        assert_eq!(log.verify().unwrap(), Ok(6));
    }
}

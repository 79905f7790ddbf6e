//! The audit log: every protocol decision and owner action, hash-chained.
//!
//! Entry `n` stores the SHA-256 of entry `n-1` and its own hash over its
//! content and that link; the head (last sequence number and hash) is written
//! right after the entry. [`AuditLog::verify`] walks the chain, so a changed
//! entry, a removed entry in the middle and a removed last entry (the head no
//! longer matches) are all detected. Entry and head are two plain inserts, not
//! one sled batch: a batch takes sled's global write lock, which halved the
//! grant rate. A crash between the two leaves the head one entry behind, and
//! [`AuditLog::open`] moves it forward after checking that entry's link.

use crate::clock::UnixTime;
use crate::store::{Store, StoreError, Tree};
use parking_lot::Mutex;
use ring::digest::{Context, SHA256};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

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
struct Head {
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
    entries: Tree<AuditEntry>,
    heads: Tree<Head>,
    head: Arc<Mutex<Head>>,
}

fn entry_hash(seq: u64, at: UnixTime, actor: &str, action: &str, detail: &serde_json::Value, prev: &str) -> String {
    let mut ctx = Context::new(&SHA256);
    let body = serde_json::to_vec(&(seq, at, actor, action, detail, prev)).expect("audit entries serialize");
    ctx.update(&body);
    crate::secret::hex(ctx.finish().as_ref())
}

impl AuditLog {
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        let entries = store.tree::<AuditEntry>("audit")?;
        let heads = store.tree::<Head>("audit")?;
        let mut head = heads.get(HEAD_KEY)?.unwrap_or(Head { seq: 0, hash: GENESIS.into() });
        if let Some(last) = entries.raw().get((head.seq + 1).to_be_bytes())? {
            let next = entries.decode(&(head.seq + 1).to_be_bytes(), &last)?;
            if next.prev_hash == head.hash {
                head = Head { seq: next.seq, hash: next.hash };
                heads.insert(HEAD_KEY, &head)?;
            }
        }
        Ok(AuditLog { entries, heads, head: Arc::new(Mutex::new(head)) })
    }

    /// Appends one entry; the entry and the new head land in one atomic batch.
    pub fn append(&self, at: UnixTime, actor: &str, action: &str, detail: serde_json::Value) -> Result<AuditEntry, StoreError> {
        let mut head = self.head.lock();
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
        let new_head = Head { seq, hash };
        self.entries.insert(seq.to_be_bytes(), &entry)?;
        self.heads.insert(HEAD_KEY, &new_head)?;
        *head = new_head;
        Ok(entry)
    }

    fn all(&self) -> impl Iterator<Item = Result<AuditEntry, StoreError>> + '_ {
        self.entries.raw().iter().filter_map(move |item| match item {
            Ok((k, v)) if k.len() == 8 => Some(self.entries.decode(&k, &v)),
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
        let mut out = Vec::with_capacity(limit.min(1024));
        for item in self.entries.raw().iter().rev().take(scanned) {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item?;
            if k.len() != 8 {
                continue;
            }
            let entry = self.entries.decode(&k, &v)?;
            if wanted(&entry) {
                out.push(entry);
            }
        }
        Ok(out)
    }

    /// Oldest first, every entry.
    pub fn export(&self) -> Result<Vec<AuditEntry>, StoreError> {
        self.all().collect()
    }

    /// Walks the whole chain. `Ok(n)` is the number of entries verified.
    pub fn verify(&self) -> Result<Result<u64, ChainBroken>, StoreError> {
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
        let head = self.heads.get(HEAD_KEY)?.unwrap_or(Head { seq: 0, hash: GENESIS.into() });
        if head.seq != expected_seq - 1 || head.hash != prev {
            return Ok(Err(ChainBroken {
                seq: head.seq,
                reason: format!("the log ends at entry {} but {} entries were written", expected_seq - 1, head.seq),
            }));
        }
        Ok(Ok(expected_seq - 1))
    }

    pub fn len(&self) -> u64 {
        self.head.lock().seq
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The raw tree, for tests that tamper with the log.
    pub fn raw(&self) -> &sled::Tree {
        self.entries.raw()
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
        (dir, store, log)
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
        let mut entry = log.entries.get(key).unwrap().unwrap();
        entry.detail = serde_json::json!({ "i": 99 });
        log.entries.insert(key, &entry).unwrap();
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
    fn a_crash_between_entry_and_head_is_recovered_at_open() {
        let (_d, store, log) = log();
        let head = log.heads.get(HEAD_KEY).unwrap().unwrap();
        log.append(6, "owner", "last", serde_json::Value::Null).unwrap();
        log.heads.insert(HEAD_KEY, &head).unwrap();
        drop(log);
        let log = AuditLog::open(&store).unwrap();
        assert_eq!(log.verify().unwrap(), Ok(6));
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

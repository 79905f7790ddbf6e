//! Rollback protection: the audit chain's head, kept outside the wallet's
//! folder, so that an older copy of the folder put back in its place is
//! noticed instead of trusted.
//!
//! Every value in the store is sealed, but nothing in a sealed value says
//! how new it is: someone who can write to the owner's disk and kept an old
//! copy of her wallet's folder could put it back and bring back what she
//! has since revoked (a grant, a policy she removed, a request she denied),
//! or cut the audit log short. Every such decision is an audit entry, so
//! the audit chain's head (its last sequence number and hash) says how far
//! the wallet's history has come. That head is written, after the store
//! has flushed it, to an anchor file in another folder (the user's state
//! folder, not the wallet's), and opening the wallet checks that its chain
//! still holds the anchored entry: a copy whose chain ends before it, or
//! holds a different entry there, is refused.
//!
//! What it does not stop, said plainly:
//! - someone who puts back the anchor folder together with the wallet's,
//!   both copied at the same moment;
//! - a copy taken within [`ANCHOR_EVERY`] before the wallet last stopped
//!   without closing (a crash, a power cut): the anchor lags by that much;
//! - one old record spliced into the current database by hand: the anchor
//!   says how far the history reaches, not what each record holds.
//!
//! The store remembers that it has been anchored, so deleting the anchor
//! does not make an old copy pass: a wallet anchored once refuses to open
//! without its anchor. The owner can still take an older copy on purpose
//! (she put back a copy of her folder herself): opening with
//! [`Anchoring::accept_older_copy`] anchors the copy as it is, and says so
//! in the audit log. A backup file restored with the wallet's restore
//! starts a new anchor ([`forget`]): restoring needs the passphrase.

use crate::store::{Store, StoreError, Tree};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How often, at most, a running wallet moves its anchor forward.
pub const ANCHOR_EVERY: Duration = Duration::from_secs(5);

/// Where anchors are kept, and whether this opening takes an older copy.
#[derive(Clone, Debug)]
pub struct Anchoring {
    /// A folder outside the wallet's own.
    pub dir: PathBuf,
    /// The owner chose to use a copy older than its anchor.
    pub accept_older_copy: bool,
}

/// What the store remembers about its anchor, in the audit tree.
#[derive(Serialize, Deserialize)]
struct AnchorRecord {
    /// Names the anchor file: random, so copies of one wallet restored as
    /// new wallets do not share an anchor.
    wallet: String,
    /// An anchor was written: from now on, a missing one is refused.
    anchored: bool,
}

const RECORD_KEY: &[u8] = b"anchor";

/// The anchor file's content.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mark {
    pub wallet: String,
    pub seq: u64,
    pub hash: String,
}

/// Why a store does not match its anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mismatch {
    /// The chain ends at `chain_ends`, before the anchored entry.
    Older { chain_ends: u64, anchored: u64 },
    /// The chain holds a different entry where the anchor points.
    Diverged { seq: u64 },
    /// The store was anchored, and its anchor is gone.
    Missing,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::Older { chain_ends, anchored } => {
                write!(f, "its history ends at entry {chain_ends}, where it had reached entry {anchored}")
            }
            Mismatch::Diverged { seq } => write!(f, "its history differs from the one it had at entry {seq}"),
            Mismatch::Missing => write!(f, "its safety record, kept outside the wallet's folder, is missing"),
        }
    }
}

/// Whether a chain whose head is `chain_ends` and whose entry hashes are
/// `hash_at` reaches `mark`. Entry 0 is the chain's start, held by all.
pub(crate) fn compare(mark: &Mark, chain_ends: u64, hash_at: impl Fn(u64) -> Result<Option<String>, StoreError>) -> Result<Result<(), Mismatch>, StoreError> {
    if mark.seq == 0 {
        return Ok(Ok(()));
    }
    if chain_ends < mark.seq {
        return Ok(Err(Mismatch::Older { chain_ends, anchored: mark.seq }));
    }
    Ok(match hash_at(mark.seq)? {
        Some(hash) if hash == mark.hash => Ok(()),
        _ => Err(Mismatch::Diverged { seq: mark.seq }),
    })
}

/// A store's anchor, moved forward as its audit chain grows.
pub(crate) struct Anchor {
    file: PathBuf,
    wallet: String,
    records: Tree<AnchorRecord>,
    store: Store,
    /// The sequence number anchored last, and when.
    last: parking_lot::Mutex<(u64, Option<Instant>)>,
}

impl Anchor {
    /// Reads the store's anchor and checks it against the chain. `Ok` with
    /// a mismatch means the owner accepted it ([`Anchoring::accept_older_copy`]):
    /// the caller records that once the log is open.
    pub fn open(
        store: &Store,
        anchoring: &Anchoring,
        chain_ends: u64,
        hash_at: impl Fn(u64) -> Result<Option<String>, StoreError>,
    ) -> Result<(Anchor, Option<Mismatch>), StoreError> {
        let records = store.tree::<AnchorRecord>("audit")?;
        let record = match records.get(RECORD_KEY)? {
            Some(record) => record,
            None => {
                let record = AnchorRecord { wallet: crate::secret::random_id(), anchored: false };
                records.insert(RECORD_KEY, &record)?;
                record
            }
        };
        let file = anchoring.dir.join(format!("{}.json", record.wallet));
        let mark = read_mark(&file)?;
        let mismatch = match mark {
            Some(mark) if mark.wallet == record.wallet => compare(&mark, chain_ends, hash_at)?.err(),
            Some(_) => Some(Mismatch::Diverged { seq: 0 }),
            None if record.anchored => Some(Mismatch::Missing),
            None => None,
        };
        if let Some(mismatch) = &mismatch {
            if !anchoring.accept_older_copy {
                return Err(StoreError::OlderCopy(mismatch.to_string()));
            }
        }
        let anchor = Anchor { file, wallet: record.wallet, records, store: store.clone(), last: parking_lot::Mutex::new((0, None)) };
        Ok((anchor, mismatch))
    }

    /// Anchors the head `(seq, hash)`, which the caller has written to the
    /// store: the store is flushed first, so the anchor never gets ahead of
    /// what a crash would leave on disk. With `now_or_later`, it waits
    /// until [`ANCHOR_EVERY`] has passed since the last one.
    pub fn advance(&self, seq: u64, hash: &str, now_or_later: bool) -> Result<(), StoreError> {
        let mut last = self.last.lock();
        let (anchored, at) = *last;
        if seq <= anchored && at.is_some() {
            return Ok(());
        }
        if now_or_later && at.is_some_and(|at| at.elapsed() < ANCHOR_EVERY) {
            return Ok(());
        }
        self.store.flush_blocking()?;
        let mark = Mark { wallet: self.wallet.clone(), seq, hash: hash.to_string() };
        write_mark(&self.file, &mark)?;
        if at.is_none() {
            // From the first anchor on, a missing one is refused.
            self.records.insert(RECORD_KEY, &AnchorRecord { wallet: self.wallet.clone(), anchored: true })?;
            self.store.flush_blocking()?;
        }
        *last = (seq, Some(Instant::now()));
        Ok(())
    }
}

fn read_mark(file: &std::path::Path) -> Result<Option<Mark>, StoreError> {
    match std::fs::read(file) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::OlderCopy(format!("its safety record at {} cannot be read ({e})", file.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::Db(sled::Error::Io(e))),
    }
}

fn write_mark(file: &std::path::Path, mark: &Mark) -> Result<(), StoreError> {
    let io = |e| StoreError::Db(sled::Error::Io(e));
    if let Some(dir) = file.parent() {
        create_private_dir(dir).map_err(io)?;
    }
    crate::store::write_private(file, &serde_json::to_vec(mark).expect("marks serialize")).map_err(io)
}

fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Makes a store restored from a backup file a wallet of its own: a new
/// anchor, not the one of the wallet the backup was made from (which has
/// moved on since, and would refuse it).
pub fn forget(store: &Store) -> Result<(), StoreError> {
    store.tree::<AnchorRecord>("audit")?.remove(RECORD_KEY)?;
    store.flush_blocking()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(seq: u64, hash: &str) -> Mark {
        Mark { wallet: "w".into(), seq, hash: hash.into() }
    }

    fn chain(hashes: &'static [&'static str]) -> impl Fn(u64) -> Result<Option<String>, StoreError> {
        move |seq| Ok(hashes.get(seq as usize - 1).map(|h| h.to_string()))
    }

    #[test]
    fn a_chain_that_reaches_its_anchor_passes() {
        assert_eq!(compare(&mark(2, "b"), 3, chain(&["a", "b", "c"])).unwrap(), Ok(()));
        assert_eq!(compare(&mark(3, "c"), 3, chain(&["a", "b", "c"])).unwrap(), Ok(()));
        assert_eq!(compare(&mark(0, ""), 0, chain(&[])).unwrap(), Ok(()));
    }

    #[test]
    fn a_chain_cut_short_of_its_anchor_is_older() {
        assert_eq!(compare(&mark(3, "c"), 2, chain(&["a", "b"])).unwrap(), Err(Mismatch::Older { chain_ends: 2, anchored: 3 }));
    }

    #[test]
    fn a_chain_with_another_entry_at_its_anchor_diverged() {
        assert_eq!(compare(&mark(2, "b"), 3, chain(&["a", "x", "c"])).unwrap(), Err(Mismatch::Diverged { seq: 2 }));
    }
}

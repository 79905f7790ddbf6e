//! Rollback protection: the audit chain's head, kept outside the wallet's
//! folder, so that an older copy of the folder put back in its place is
//! noticed instead of trusted.
//!
//! Every value in the store is sealed, but nothing in a sealed value says
//! how new it is: someone who can write to the owner's disk and kept an old
//! copy of her wallet's folder could put it back and bring back what she
//! has since withdrawn (a grant, a sharing rule, a request she denied), or
//! cut the activity log short. Every such decision is an audit entry, so
//! the audit chain's head (its last sequence number and hash) says how far
//! the wallet's history has come. The head is written to an anchor file in
//! another folder (the user's state folder, not the wallet's) once the
//! store has flushed it: at open, at each owner decision before it is
//! acknowledged, and at a clean stop. Opening the wallet checks that its
//! chain still holds the anchored entry: a copy whose chain ends before
//! it, or holds a different entry there, is refused.
//!
//! The anchor file is named and tagged with keys derived from the wallet's
//! data key ([`Store::mac`]), which only the passphrase opens: every copy of
//! one wallet, older versions' included, finds the same anchor, and a file
//! written by anyone else (an anchor set back to the start, say) is refused
//! like an older copy. The store also remembers that it was anchored, so
//! deleting the anchor file does not make an old copy pass.
//!
//! What it does not stop, said plainly:
//! - the anchor folder put back together with the wallet's, both as old;
//! - the anchor file deleted *and* the store's own record of having been
//!   anchored removed from the database by hand;
//! - records spliced into the current database from an older copy by hand:
//!   any tree but the audit log's can be swapped for an older sealed one,
//!   since the anchor says how far the history reaches, not what each
//!   record holds;
//! - the hot store's journal (tickets, RPTs) cut short: it holds nothing
//!   the owner decided;
//! - protocol entries (tokens issued) written since the last anchoring when
//!   the process dies: they are anchored at the next decision or clean stop.
//!
//! The owner can still take an older copy on purpose (she put back a copy
//! of her folder herself, or copied it to a new computer, where there is
//! no anchor): opening with [`Anchoring::accept_older_copy`] anchors the
//! copy as it is and says so in the audit log. Restoring a backup file
//! does the same, since restoring needs the passphrase.

use crate::store::{Store, StoreError, Tree};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Where anchors are kept, and whether this opening takes an older copy.
#[derive(Clone, Debug)]
pub struct Anchoring {
    /// A folder outside the wallet's own.
    pub dir: PathBuf,
    /// The owner chose to use a copy older than its anchor.
    pub accept_older_copy: bool,
}

/// What the store remembers about its anchor, in the audit tree: that one
/// was written, so from then on a missing one is refused.
#[derive(Serialize, Deserialize)]
struct AnchorRecord {
    anchored: bool,
}

const RECORD_KEY: &[u8] = b"anchor";

/// Whether the record at `key` in `tree` is the store's record of having
/// been anchored: left out when the data key is replaced, since the new
/// key names a new anchor.
pub fn is_anchor_record(tree: &str, key: &[u8]) -> bool {
    tree == "audit" && key == RECORD_KEY
}

/// The name a store's anchor goes by: derived from its data key.
fn wallet_name(store: &Store) -> String {
    crate::secret::hex(&store.mac("anchor file name", b"")[..16])
}

/// The anchor file of `store` in `anchoring`'s folder.
pub fn anchor_file(store: &Store, anchoring: &Anchoring) -> PathBuf {
    anchoring.dir.join(format!("{}.json", wallet_name(store)))
}
/// An anchor file is a few hundred bytes; more is not one.
const MAX_MARK: u64 = 4096;

/// The anchor file's content.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mark {
    pub wallet: String,
    pub seq: u64,
    pub hash: String,
    /// The wallet's key was replaced at this entry: no store under this
    /// key is the wallet any more ([`RetiredMark`]).
    #[serde(default)]
    pub retired: bool,
    /// [`Store::mac`] over the rest: only the wallet writes marks.
    pub tag: String,
}

impl Mark {
    fn signed_text(&self) -> String {
        format!("{}\n{}\n{}\n{}", self.wallet, self.seq, self.hash, self.retired)
    }

    fn signed(store: &Store, wallet: &str, seq: u64, hash: &str, retired: bool) -> Mark {
        let mut mark = Mark { wallet: wallet.into(), seq, hash: hash.into(), retired, tag: String::new() };
        mark.tag = crate::secret::hex(&store.mac("anchor mark", mark.signed_text().as_bytes()));
        mark
    }
}

/// The anchor of a wallet whose key is being replaced, marked retired:
/// made with the old key while it is open, written once the new key is in
/// place, so that a copy under the old key put back is refused even at the
/// very entry where the key was replaced.
pub struct RetiredMark {
    file: PathBuf,
    mark: Mark,
}

impl RetiredMark {
    pub fn write(&self) -> Result<(), StoreError> {
        write_mark(&self.file, &self.mark)
    }
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
    /// The anchor file is not one this wallet wrote.
    NotOurs,
    /// The wallet's key was replaced since this copy.
    KeyReplaced,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::Older { chain_ends, anchored } => write!(f, "its history ends at entry {chain_ends}, where it had reached entry {anchored}"),
            Mismatch::Diverged { seq } => write!(f, "its history differs from the one it had at entry {seq}"),
            Mismatch::Missing => write!(f, "its safety record, kept outside the wallet's folder, is missing"),
            Mismatch::NotOurs => write!(f, "its safety record, kept outside the wallet's folder, was not written by this wallet"),
            Mismatch::KeyReplaced => write!(f, "the wallet's key was replaced since this copy was made"),
        }
    }
}

/// Whether a chain whose head is `chain_ends` and whose entry hashes are
/// `hash_at` reaches the entry `(seq, hash)`. Entry 0 is the chain's start.
pub(crate) fn compare(seq: u64, hash: &str, chain_ends: u64, hash_at: impl Fn(u64) -> Result<Option<String>, StoreError>) -> Result<Result<(), Mismatch>, StoreError> {
    if seq == 0 {
        return Ok(Ok(()));
    }
    if chain_ends < seq {
        return Ok(Err(Mismatch::Older { chain_ends, anchored: seq }));
    }
    Ok(match hash_at(seq)? {
        Some(at) if at == hash => Ok(()),
        _ => Err(Mismatch::Diverged { seq }),
    })
}

/// A store's anchor, moved forward as its audit chain grows.
pub(crate) struct Anchor {
    file: PathBuf,
    wallet: String,
    records: Tree<AnchorRecord>,
    store: Store,
    /// The sequence number anchored last; none before the first anchoring.
    last: parking_lot::Mutex<Option<u64>>,
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
        let anchored = records.get(RECORD_KEY)?.is_some_and(|record| record.anchored);
        let (file, wallet) = (anchor_file(store, anchoring), wallet_name(store));
        let mismatch = match read_mark(&file)? {
            Some(Some(mark)) if mark.wallet == wallet && store.verify_mac("anchor mark", mark.signed_text().as_bytes(), &hex_decode(&mark.tag)) => {
                if mark.retired {
                    Some(Mismatch::KeyReplaced)
                } else {
                    compare(mark.seq, &mark.hash, chain_ends, hash_at)?.err()
                }
            }
            Some(_) => Some(Mismatch::NotOurs),
            None if anchored => Some(Mismatch::Missing),
            None => None,
        };
        if let Some(mismatch) = &mismatch {
            if !anchoring.accept_older_copy {
                return Err(StoreError::OlderCopy(mismatch.to_string()));
            }
        }
        let anchor = Anchor { file, wallet, records, store: store.clone(), last: parking_lot::Mutex::new(None) };
        Ok((anchor, mismatch))
    }

    /// Anchors the head `(seq, hash)`. The store must hold it durably:
    /// with `flush_first` this flushes it, otherwise the caller has (an
    /// anchor ahead of what a crash leaves on disk would refuse the wallet).
    pub fn advance(&self, seq: u64, hash: &str, flush_first: bool) -> Result<(), StoreError> {
        let mut last = self.last.lock();
        if last.is_some_and(|anchored| seq <= anchored) {
            return Ok(());
        }
        if flush_first {
            self.store.flush_blocking()?;
        }
        write_mark(&self.file, &Mark::signed(&self.store, &self.wallet, seq, hash, false))?;
        if last.is_none() {
            // From the first anchor on, a missing one is refused; the file
            // is on disk (its folder synced) before the store says so.
            self.records.insert(RECORD_KEY, &AnchorRecord { anchored: true })?;
            self.store.flush_blocking()?;
        }
        *last = Some(seq);
        Ok(())
    }
}

impl Anchor {
    /// This anchor at `(seq, hash)`, marked retired, to write once the key is replaced.
    pub fn retired(&self, seq: u64, hash: &str) -> RetiredMark {
        RetiredMark { file: self.file.clone(), mark: Mark::signed(&self.store, &self.wallet, seq, hash, true) }
    }
}

fn hex_decode(text: &str) -> Vec<u8> {
    (0..text.len() / 2).filter_map(|i| text.get(2 * i..2 * i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok())).collect()
}

fn anchor_error(file: &Path, what: &str, e: std::io::Error) -> StoreError {
    StoreError::Anchor(format!("at {} cannot be {what}: {e}", file.display()))
}

/// The mark in `file`: `None` if there is none, `Some(None)` if what is
/// there is not a mark (a link, a device, too large, not JSON).
fn read_mark(file: &Path) -> Result<Option<Option<Mark>>, StoreError> {
    use std::io::Read;
    let metadata = match std::fs::symlink_metadata(file) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(anchor_error(file, "read", e)),
    };
    if !metadata.file_type().is_file() || metadata.len() > MAX_MARK {
        return Ok(Some(None));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(file).and_then(|f| f.take(MAX_MARK).read_to_end(&mut bytes)).map_err(|e| anchor_error(file, "read", e))?;
    Ok(Some(serde_json::from_slice(&bytes).ok()))
}

fn write_mark(file: &Path, mark: &Mark) -> Result<(), StoreError> {
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| anchor_error(file, "written", e))?;
    crate::store::write_private(file, &serde_json::to_vec(mark).expect("marks serialize")).map_err(|e| anchor_error(file, "written", e))?;
    // The rename is durable only once the folder is.
    #[cfg(unix)]
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| anchor_error(file, "written", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(hashes: &'static [&'static str]) -> impl Fn(u64) -> Result<Option<String>, StoreError> {
        move |seq| Ok(hashes.get(seq as usize - 1).map(|h| h.to_string()))
    }

    #[test]
    fn a_chain_that_reaches_its_anchor_passes() {
        assert_eq!(compare(2, "b", 3, chain(&["a", "b", "c"])).unwrap(), Ok(()));
        assert_eq!(compare(3, "c", 3, chain(&["a", "b", "c"])).unwrap(), Ok(()));
        assert_eq!(compare(0, "", 0, chain(&[])).unwrap(), Ok(()));
    }

    #[test]
    fn a_chain_cut_short_of_its_anchor_is_older() {
        assert_eq!(compare(3, "c", 2, chain(&["a", "b"])).unwrap(), Err(Mismatch::Older { chain_ends: 2, anchored: 3 }));
    }

    #[test]
    fn a_chain_with_another_entry_at_its_anchor_diverged() {
        assert_eq!(compare(2, "b", 3, chain(&["a", "x", "c"])).unwrap(), Err(Mismatch::Diverged { seq: 2 }));
    }
}

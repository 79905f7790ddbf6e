//! The encrypted sled store: one database per wallet, one tree per kind of record.
//!
//! Every value is serde-encoded (JSON) and sealed with ChaCha20-Poly1305 under a
//! random 256-bit data key. The tree name and record key are the AEAD's
//! associated data, so a record moved to another key fails to open. The data key
//! itself is sealed under a key derived from the owner's passphrase with
//! Argon2id; the parameters, salt and sealed key live in the plaintext header.
//! A wrong passphrase therefore fails to open the header and touches nothing.

use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;

mod journal;
pub use journal::{Journal, JournalEnd, Opened as OpenedJournal};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no wallet at {0}; run `uma-wallet init` first")]
    NotInitialized(String),
    #[error("a wallet already exists at {0}")]
    AlreadyExists(String),
    #[error("wrong passphrase")]
    WrongPassphrase,
    #[error("the wallet at {0} is in use by another process (is `uma-wallet serve` running?)")]
    Locked(String),
    #[error("stored record {tree}/{key} failed to decrypt or decode")]
    Corrupt { tree: &'static str, key: String },
    #[error("database error: {0}")]
    Db(#[from] sled::Error),
    #[error("key derivation failed: {0}")]
    Kdf(String),
    #[error("cannot restore from {0}")]
    BadBackup(String),
    /// Opened data older than the wallet's anchor says it was: an old copy
    /// put back in its place (see `uma_as::anchor`).
    #[error("this wallet's data is older than when it was last used: {0}. If you put back or copied its folder here yourself, open it with `uma-wallet accept-older-copy`")]
    OlderCopy(String),
    /// The record kept outside the wallet's folder against older copies
    /// cannot be read or written (its folder is not writable, say).
    #[error("the wallet's safety record {0}")]
    Anchor(String),
}

/// Argon2id cost, kept in the header so a wallet opens with the parameters it
/// was created with even after the defaults change.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl KdfParams {
    /// The most a header may ask for. The header is read before the
    /// passphrase is checked, and a backup file can come from anywhere: a
    /// crafted one must not make opening it allocate without bound.
    pub const MAX_MEMORY_KIB: u32 = 1024 * 1024;
    pub const MAX_ITERATIONS: u32 = 16;
    pub const MAX_PARALLELISM: u32 = 8;

    fn within_bounds(&self) -> bool {
        self.memory_kib <= Self::MAX_MEMORY_KIB && self.iterations <= Self::MAX_ITERATIONS && self.parallelism <= Self::MAX_PARALLELISM
    }
}

impl Default for KdfParams {
    /// OWASP's first Argon2id recommendation is 19 MiB, 2 passes; a desktop
    /// wallet opened a few times a day can afford more.
    fn default() -> Self {
        KdfParams { memory_kib: 64 * 1024, iterations: 3, parallelism: 1 }
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    format: u32,
    kdf: KdfParams,
    salt: String,
    sealed_data_key: String,
}

/// `N` bytes from the operating system's random source.
fn random_bytes<const N: usize>() -> [u8; N] {
    use ring::rand::SecureRandom;
    let mut out = [0u8; N];
    ring::rand::SystemRandom::new().fill(&mut out).expect("the system random source works");
    out
}

/// Writes `contents` to `path` so that only its owner can read it, and a
/// crash leaves the old file or the new one, never half: into a new file
/// beside it under a random name, created exclusively (so a file or link
/// another user planted there is never written through, nor its mode kept),
/// then renamed over `path`.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tag: String = random_bytes::<8>().iter().map(|b| format!("{b:02x}")).collect();
    let partial = path.with_file_name(format!(".{name}.{tag}.partial"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&partial).and_then(|mut file| {
        std::io::Write::write_all(&mut file, contents)?;
        file.sync_all()?;
        std::fs::rename(&partial, path)
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

const HEADER_KEY: &[u8] = b"header";
const META_TREE: &str = "meta";

/// An open wallet database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    /// The database's directory, where journals live beside sled's files.
    dir: Arc<std::path::PathBuf>,
    key: Arc<LessSafeKey>,
    /// For [`Store::mac`]: derived from the data key, never the key itself.
    mac_key: Arc<ring::hmac::Key>,
    /// sled 0.34 can deadlock when flushes overlap (spacejam/sled#1308), so
    /// they take turns; see [`Store::flush`].
    flushing: Arc<tokio::sync::Mutex<()>>,
    /// Group commit: `asked` counts calls to [`Store::flush`], `done` the
    /// last count a finished flush covered.
    flushes: Arc<FlushCounts>,
}

#[derive(Default)]
struct FlushCounts {
    asked: std::sync::atomic::AtomicU64,
    done: std::sync::atomic::AtomicU64,
}

impl Store {
    fn with_key(db: sled::Db, path: &Path, data_key: &[u8]) -> Store {
        use ring::hmac;
        let derived = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, data_key), b"uma-wallet sealed-store mac key");
        Store {
            db,
            dir: Arc::new(path.to_path_buf()),
            key: Arc::new(aead_key(data_key)),
            mac_key: Arc::new(hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref())),
            flushing: Arc::default(),
            flushes: Arc::default(),
        }
    }

    /// HMAC-SHA256 of `message` under a key only this wallet's passphrase
    /// opens, for what the wallet keeps outside its database and must
    /// recognise as its own. `purpose` keeps one use's tags from passing
    /// for another's.
    pub fn mac(&self, purpose: &str, message: &[u8]) -> [u8; 32] {
        ring::hmac::sign(&self.mac_key, &tagged(purpose, message)).as_ref().try_into().expect("HMAC-SHA256 is 32 bytes")
    }

    /// Whether `tag` is [`Store::mac`] of `message` for `purpose` (in constant time).
    pub fn verify_mac(&self, purpose: &str, message: &[u8], tag: &[u8]) -> bool {
        ring::hmac::verify(&self.mac_key, &tagged(purpose, message), tag).is_ok()
    }

    /// Creates a new wallet database at `path`, sealed with `passphrase`.
    pub fn create(path: &Path, passphrase: &str, kdf: KdfParams) -> Result<Self, StoreError> {
        let db = open_db(path)?;
        let meta = db.open_tree(META_TREE)?;
        if meta.contains_key(HEADER_KEY)? {
            return Err(StoreError::AlreadyExists(path.display().to_string()));
        }
        let salt = random_bytes::<16>();
        if !kdf.within_bounds() {
            return Err(StoreError::Kdf("key derivation parameters out of range".into()));
        }
        let data_key = zeroize::Zeroizing::new(random_bytes::<32>());
        let wrapping = derive_key(passphrase, &salt, kdf)?;
        let sealed = seal(&wrapping, HEADER_KEY, data_key.as_ref());
        let header = Header {
            format: 1,
            kdf,
            salt: STANDARD.encode(salt),
            sealed_data_key: STANDARD.encode(sealed),
        };
        meta.insert(HEADER_KEY, serde_json::to_vec(&header).expect("header serializes"))?;
        db.flush()?;
        Ok(Store::with_key(db, path, data_key.as_ref()))
    }

    /// Opens an existing wallet database; a wrong passphrase is `WrongPassphrase`.
    pub fn open(path: &Path, passphrase: &str) -> Result<Self, StoreError> {
        if !Store::exists(path) {
            return Err(StoreError::NotInitialized(path.display().to_string()));
        }
        {
            let _lock = replacement_lock(path)?;
            finish_replacing_key_locked(path)?;
        }
        Store::open_locked(path, passphrase)
    }

    /// [`Store::open`] for a caller that has finished any key replacement.
    fn open_locked(path: &Path, passphrase: &str) -> Result<Self, StoreError> {
        if !holds_db(path) {
            return Err(StoreError::NotInitialized(path.display().to_string()));
        }
        let db = open_db(path)?;
        let Some(header) = read_header(&db)? else {
            return Err(StoreError::NotInitialized(path.display().to_string()));
        };
        let data_key = unwrap_data_key(&header, passphrase)?;
        Ok(Store::with_key(db, path, &data_key))
    }

    /// Seals the data key under a new passphrase, with a fresh salt and
    /// `kdf`'s cost: only the header changes, every record stays as it is.
    /// `current` must open the header. Backups made before keep the
    /// passphrase they were made with.
    pub fn change_passphrase(&self, current: &str, new: &str, kdf: KdfParams) -> Result<(), StoreError> {
        if !kdf.within_bounds() {
            return Err(StoreError::Kdf("key derivation parameters out of range".into()));
        }
        let header = read_header(&self.db)?.ok_or_else(|| StoreError::Corrupt { tree: META_TREE, key: "header".into() })?;
        let data_key = unwrap_data_key(&header, current)?;
        let salt = random_bytes::<16>();
        let wrapping = derive_key(new, &salt, kdf)?;
        let header = Header {
            format: header.format,
            kdf,
            salt: STANDARD.encode(salt),
            sealed_data_key: STANDARD.encode(seal(&wrapping, HEADER_KEY, data_key.as_ref())),
        };
        // One key, one write: the old header or the new one, never half.
        self.db.open_tree(META_TREE)?.insert(HEADER_KEY, serde_json::to_vec(&header).expect("header serializes"))?;
        self.db.flush()?;
        Ok(())
    }

    /// Whether `passphrase` opens this store (`WrongPassphrase` if not):
    /// for a screen lock in front of a store that stays open. Slow: the
    /// key derivation runs.
    pub fn check_passphrase(&self, passphrase: &str) -> Result<(), StoreError> {
        let header = read_header(&self.db)?.ok_or_else(|| StoreError::Corrupt { tree: META_TREE, key: "header".into() })?;
        unwrap_data_key(&header, passphrase).map(|_| ())
    }

    /// True when `path` holds a wallet header (or a new key's copy of
    /// one, about to take its place: see [`Store::replace_key`]).
    pub fn exists(path: &Path) -> bool {
        holds_db(path) || rekeyed(path).join(REKEY_DONE).exists()
    }

    /// Replaces the data key: every record is opened and sealed again under
    /// a new random key, itself sealed under `new`, so that someone who
    /// learnt the old passphrase and kept the old header cannot open what is
    /// written from now on (changing the passphrase alone re-seals the same
    /// key). The store must be closed; `current` must open it, and `check`
    /// must accept it (run on the very handle that is copied). Records for
    /// which `keep` says no are left out, and so are the journals: what
    /// they held is gone, as after a crash (see [`Journal`]). Returns how
    /// many records were sealed again.
    ///
    /// Crash-safe: the new copy is built beside the store under a lock
    /// every open also takes, marked complete (both synced), then takes the
    /// store's place by two renames (their folder synced). From the mark on
    /// the key is replaced: if the renames fail now, the next open makes
    /// them ([`finish_replacing_key_locked`]), so an error is returned only
    /// while the old store is still the one that opens.
    pub fn replace_key(
        path: &Path,
        current: &str,
        new: &str,
        kdf: KdfParams,
        check: impl FnOnce(&Store) -> Result<(), StoreError>,
        keep: impl Fn(&str, &[u8]) -> bool,
    ) -> Result<usize, StoreError> {
        let io = |e| StoreError::Db(sled::Error::Io(e));
        let _lock = replacement_lock(path)?;
        finish_replacing_key_locked(path)?;
        let old = Store::open_locked(path, current)?;
        check(&old)?;
        let staging = rekeyed(path);
        let fresh = Store::create(&staging, new, kdf)?;
        let mut sealed = 0;
        for name in old.db.tree_names() {
            let tree_name = String::from_utf8_lossy(&name).into_owned();
            if name == b"__sled__default".as_slice() || tree_name == journal::MARKS_TREE {
                continue;
            }
            let (from, to) = (old.db.open_tree(&name)?, fresh.db.open_tree(&name)?);
            for item in from.iter() {
                let (key, value) = item?;
                if (tree_name == META_TREE && key == HEADER_KEY) || !keep(&tree_name, &key) {
                    continue;
                }
                let aad = record_aad(&name, &key);
                let plain = zeroize::Zeroizing::new(
                    open(&old.key, &aad, &value).ok_or_else(|| StoreError::Corrupt { tree: "(any)", key: format!("{tree_name}/{}", String::from_utf8_lossy(&key)) })?,
                );
                to.insert(&key, seal(&fresh.key, &aad, &plain))?;
                sealed += 1;
            }
        }
        fresh.db.flush()?;
        drop((old, fresh));
        sync_dir(&staging).map_err(io)?;
        write_private(&staging.join(REKEY_DONE), b"done").map_err(io)?;
        sync_dir(&staging).map_err(io)?;
        // The key is replaced from here: a swap that fails now is made at the next open.
        let _ = finish_replacing_key_locked(path);
        Ok(sealed)
    }

    pub fn tree<T: Serialize + DeserializeOwned>(&self, name: &'static str) -> Result<Tree<T>, StoreError> {
        Ok(Tree { name, tree: self.db.open_tree(name)?, key: self.key.clone(), _record: PhantomData })
    }

    /// Opens the journal `name` (see [`Journal`]), with what it held. One
    /// open journal per name: sled's lock on the database keeps a second
    /// process out.
    pub fn journal(&self, name: &'static str) -> Result<OpenedJournal, StoreError> {
        Journal::open(&self.dir, name, self.key.clone(), self.tree(journal::MARKS_TREE)?)
    }

    /// Removes a tree and its records, if it exists.
    pub fn drop_tree(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self.db.drop_tree(name)?)
    }

    /// Writes everything buffered to disk. Owner decisions and resource
    /// registrations call this before they are acknowledged; the grant path
    /// leaves it to sled's background flush.
    ///
    /// Group commit: a caller whose writes a flush that started after it
    /// asked has already covered returns without one of its own, so many
    /// concurrent callers share a few disk syncs.
    pub async fn flush(&self) -> Result<(), StoreError> {
        use std::sync::atomic::Ordering;
        let mine = self.flushes.asked.fetch_add(1, Ordering::SeqCst) + 1;
        let _turn = self.flushing.lock().await;
        if self.flushes.done.load(Ordering::SeqCst) >= mine {
            return Ok(());
        }
        // Everyone who asked up to now wrote before asking: this flush covers them.
        let covers = self.flushes.asked.load(Ordering::SeqCst);
        self.db.flush_async().await?;
        self.flushes.done.fetch_max(covers, Ordering::SeqCst);
        Ok(())
    }

    pub fn flush_blocking(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Writes a backup of every tree to `path`, as stored: each record stays
    /// sealed, and the data key stays sealed under the passphrase, so the
    /// file is as safe to keep elsewhere as the database itself. Written to a
    /// temporary name first, so a failed backup never looks like a good one.
    pub fn backup(&self, path: &Path) -> Result<usize, StoreError> {
        self.flush_blocking()?;
        let mut trees = serde_json::Map::new();
        let mut records = 0;
        for name in self.db.tree_names() {
            let tree = self.db.open_tree(&name)?;
            let mut pairs = Vec::new();
            for item in tree.iter() {
                let (key, value) = item?;
                pairs.push([STANDARD.encode(key), STANDARD.encode(value)]);
            }
            records += pairs.len();
            trees.insert(STANDARD.encode(&name), serde_json::json!(pairs));
        }
        let document = serde_json::json!({ "format": BACKUP_FORMAT, "trees": trees });
        // Only the owner may read it: a sealed wallet still invites offline
        // guessing of the passphrase.
        write_private(path, &serde_json::to_vec(&document).expect("backup serializes")).map_err(|e| StoreError::Db(sled::Error::Io(e)))?;
        Ok(records)
    }

    /// Creates a wallet database at `path` from a [`Store::backup`] file. The
    /// passphrase is the one the wallet had when the backup was made; it is
    /// checked before the restored database is kept.
    pub fn restore(backup: &Path, path: &Path, passphrase: &str) -> Result<Store, StoreError> {
        if Store::exists(path) {
            return Err(StoreError::AlreadyExists(path.display().to_string()));
        }
        let size = std::fs::metadata(backup).map_err(|e| StoreError::BadBackup(format!("{}: {e}", backup.display())))?.len();
        if size > MAX_BACKUP {
            return Err(StoreError::BadBackup(format!("{} is larger than a wallet backup can be", backup.display())));
        }
        let text = std::fs::read(backup).map_err(|e| StoreError::BadBackup(format!("{}: {e}", backup.display())))?;
        let trees = Store::read_backup(&text).map_err(|e| match e {
            StoreError::BadBackup(why) => StoreError::BadBackup(format!("{}: {why}", backup.display())),
            other => other,
        })?;
        {
            let db = open_db(path)?;
            for (name, pairs) in trees {
                let tree = db.open_tree(name)?;
                for (key, value) in pairs {
                    tree.insert(key, value)?;
                }
            }
            db.flush()?;
        }
        match Store::open(path, passphrase) {
            Ok(store) => Ok(store),
            Err(e) => {
                // Nothing half-restored is left behind to be mistaken for a wallet.
                let _ = std::fs::remove_dir_all(path);
                Err(e)
            }
        }
    }
}

/// What [`Store::mac`] tags: the purpose, a zero byte, the message.
fn tagged(purpose: &str, message: &[u8]) -> Vec<u8> {
    let mut tagged = Vec::with_capacity(purpose.len() + 1 + message.len());
    tagged.extend_from_slice(purpose.as_bytes());
    tagged.push(0);
    tagged.extend_from_slice(message);
    tagged
}

/// Whether `dir` holds sled's files.
fn holds_db(dir: &Path) -> bool {
    dir.join("db").exists() || dir.join("conf").exists()
}

/// Marks a new key's copy of the store as complete ([`Store::replace_key`]).
const REKEY_DONE: &str = "REKEYED";

fn sibling(path: &Path, suffix: &str) -> std::path::PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!("{name}.{suffix}"))
}

/// Where [`Store::replace_key`] builds the new copy.
fn rekeyed(path: &Path) -> std::path::PathBuf {
    sibling(path, "rekeyed")
}

/// Held across a key replacement and while an open finishes one: an open
/// meanwhile waits rather than take a half-built copy for debris.
fn replacement_lock(path: &Path) -> Result<std::fs::File, StoreError> {
    let io = |e| StoreError::Db(sled::Error::Io(e));
    let lock = sibling(path, "lock");
    if let Some(parent) = lock.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock).map_err(io)?;
    file.lock().map_err(io)?;
    Ok(file)
}

/// Makes a folder's entries (a new file, a rename) durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Ends a key replacement a crash interrupted, from any point, under
/// [`replacement_lock`]: a complete new copy takes the store's place, an
/// incomplete one is dropped, and the old store, once replaced, is removed.
fn finish_replacing_key_locked(path: &Path) -> Result<(), StoreError> {
    let io = |e| StoreError::Db(sled::Error::Io(e));
    let (staging, retired) = (rekeyed(path), sibling(path, "retired"));
    let parent = path.parent().unwrap_or(Path::new("."));
    if staging.exists() {
        // The mark is written only once the copy is flushed whole, and under
        // the lock no open deletes a copy being built.
        if !staging.join(REKEY_DONE).exists() {
            std::fs::remove_dir_all(&staging).map_err(io)?;
        } else {
            if path.exists() {
                // What an earlier swap left of the store it replaced goes first.
                if retired.exists() {
                    std::fs::remove_dir_all(&retired).map_err(io)?;
                }
                std::fs::rename(path, &retired).map_err(io)?;
            }
            std::fs::rename(&staging, path).map_err(io)?;
            sync_dir(parent).map_err(io)?;
            std::fs::remove_file(path.join(REKEY_DONE)).map_err(io)?;
        }
    }
    // Only once a store is in place is the one it replaced removed.
    if retired.exists() && holds_db(path) {
        // The old store's last files may still be closing: what is left now
        // goes at the next open.
        let _ = std::fs::remove_dir_all(&retired);
    }
    Ok(())
}

fn read_header(db: &sled::Db) -> Result<Option<Header>, StoreError> {
    let Some(raw) = db.open_tree(META_TREE)?.get(HEADER_KEY)? else { return Ok(None) };
    let header: Header = serde_json::from_slice(&raw).map_err(|_| StoreError::Corrupt { tree: META_TREE, key: "header".into() })?;
    Ok(Some(header))
}

/// The data key, opened with the passphrase; `WrongPassphrase` when it
/// does not open.
fn unwrap_data_key(header: &Header, passphrase: &str) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError> {
    let corrupt = || StoreError::Corrupt { tree: META_TREE, key: "header".into() };
    let salt = STANDARD.decode(&header.salt).map_err(|_| corrupt())?;
    let sealed = STANDARD.decode(&header.sealed_data_key).map_err(|_| corrupt())?;
    if !header.kdf.within_bounds() {
        return Err(corrupt());
    }
    let wrapping = derive_key(passphrase, &salt, header.kdf)?;
    let data_key = zeroize::Zeroizing::new(open(&wrapping, HEADER_KEY, &sealed).ok_or(StoreError::WrongPassphrase)?);
    if data_key.len() != 32 {
        return Err(corrupt());
    }
    Ok(data_key)
}

const BACKUP_FORMAT: &str = "uma-wallet-backup/1";
/// The largest file taken as a backup: far above any real wallet's, and
/// what a file picked by mistake must not make the wallet read whole.
const MAX_BACKUP: u64 = 256 * 1024 * 1024;

/// One tree of a backup: its name and its sealed records.
pub type BackupTree = (Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>);

impl Store {
    /// Reads a backup document (a file that may come from anywhere) into
    /// its trees, still sealed. Its header must name key derivation
    /// parameters within bounds.
    pub fn read_backup(text: &[u8]) -> Result<Vec<BackupTree>, StoreError> {
        let bad = |why: &str| StoreError::BadBackup(why.to_string());
        let document: serde_json::Value = serde_json::from_slice(text).map_err(|e| bad(&e.to_string()))?;
        if document["format"] != BACKUP_FORMAT {
            return Err(bad("not a wallet backup"));
        }
        let trees = document["trees"].as_object().ok_or_else(|| bad("no trees"))?;
        let decode = |s: &serde_json::Value| s.as_str().and_then(|s| STANDARD.decode(s).ok()).ok_or_else(|| bad("malformed record"));
        let mut out = Vec::with_capacity(trees.len());
        for (name, pairs) in trees {
            let name = STANDARD.decode(name).map_err(|_| bad("malformed tree name"))?;
            let pairs = pairs
                .as_array()
                .ok_or_else(|| bad("malformed tree"))?
                .iter()
                .map(|pair| Ok((decode(&pair[0])?, decode(&pair[1])?)))
                .collect::<Result<Vec<_>, StoreError>>()?;
            if name == META_TREE.as_bytes() {
                if let Some((_, header)) = pairs.iter().find(|(k, _)| k == HEADER_KEY) {
                    let header: Header = serde_json::from_slice(header).map_err(|_| bad("malformed header"))?;
                    if !header.kdf.within_bounds() {
                        return Err(StoreError::Corrupt { tree: META_TREE, key: "header".into() });
                    }
                }
            }
            out.push((name, pairs));
        }
        Ok(out)
    }
}

fn open_db(path: &Path) -> Result<sled::Db, StoreError> {
    std::fs::create_dir_all(path).map_err(|e| StoreError::Db(sled::Error::Io(e)))?;
    // sled releases its file lock from background threads after the last
    // handle drops, so a wallet closed a moment ago (by this process, or by a
    // server that is just exiting) can still look locked: wait briefly.
    let mut attempts = 0;
    loop {
        // A small page cache: the working set is the in-memory index plus
        // recent tickets, and sled's default of 1 GiB would keep every record resident.
        match sled::Config::new().path(path).cache_capacity(16 * 1024 * 1024).open() {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(io)) if is_lock_error(&io) => {
                attempts += 1;
                if attempts >= 40 {
                    return Err(StoreError::Locked(path.display().to_string()));
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(other) => return Err(StoreError::Db(other)),
        }
    }
}

fn is_lock_error(io: &std::io::Error) -> bool {
    io.kind() == std::io::ErrorKind::WouldBlock || io.to_string().contains("lock")
}

fn derive_key(passphrase: &str, salt: &[u8], kdf: KdfParams) -> Result<LessSafeKey, StoreError> {
    let params = Params::new(kdf.memory_kib, kdf.iterations, kdf.parallelism, Some(32))
        .map_err(|e| StoreError::Kdf(e.to_string()))?;
    let mut out = zeroize::Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), salt, out.as_mut())
        .map_err(|e| StoreError::Kdf(e.to_string()))?;
    Ok(aead_key(out.as_ref()))
}

fn aead_key(bytes: &[u8]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, bytes).expect("32-byte key"))
}

/// nonce || ciphertext || tag, with a fresh random nonce per write.
fn seal(key: &LessSafeKey, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let nonce = random_bytes::<NONCE_LEN>();
    let mut buf = Vec::with_capacity(NONCE_LEN + plaintext.len() + 16);
    buf.extend_from_slice(&nonce);
    buf.extend_from_slice(plaintext);
    let tag = key
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut buf[NONCE_LEN..])
        .expect("plaintext within ChaCha20-Poly1305 limits");
    buf.extend_from_slice(tag.as_ref());
    buf
}

fn open(key: &LessSafeKey, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < NONCE_LEN + 16 {
        return None;
    }
    let nonce = Nonce::try_assume_unique_for_key(&sealed[..NONCE_LEN]).ok()?;
    let mut buf = sealed[NONCE_LEN..].to_vec();
    // Opened in place and cut to length: no second, unzeroed copy of the plaintext.
    let len = key.open_in_place(nonce, Aad::from(aad), &mut buf).ok()?.len();
    buf.truncate(len);
    Some(buf)
}

/// A typed, encrypted view of one sled tree.
pub struct Tree<T> {
    name: &'static str,
    tree: sled::Tree,
    key: Arc<LessSafeKey>,
    _record: PhantomData<fn() -> T>,
}

impl<T> Clone for Tree<T> {
    fn clone(&self) -> Self {
        Tree { name: self.name, tree: self.tree.clone(), key: self.key.clone(), _record: PhantomData }
    }
}

/// A record's associated data: its tree's name and its key.
fn record_aad(tree: &[u8], key: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(tree.len() + 1 + key.len());
    aad.extend_from_slice(tree);
    aad.push(0);
    aad.extend_from_slice(key);
    aad
}

impl<T: Serialize + DeserializeOwned> Tree<T> {
    fn aad(&self, key: &[u8]) -> Vec<u8> {
        record_aad(self.name.as_bytes(), key)
    }

    /// The sealed bytes for `value` at `key`, for use inside a transaction.
    pub fn encode(&self, key: &[u8], value: &T) -> Vec<u8> {
        let plain = serde_json::to_vec(value).expect("records serialize");
        seal(&self.key, &self.aad(key), &plain)
    }

    pub fn decode(&self, key: &[u8], sealed: &[u8]) -> Result<T, StoreError> {
        open(&self.key, &self.aad(key), sealed)
            .and_then(|plain| serde_json::from_slice(&plain).ok())
            .ok_or_else(|| StoreError::Corrupt { tree: self.name, key: String::from_utf8_lossy(key).into_owned() })
    }

    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<T>, StoreError> {
        let key = key.as_ref();
        match self.tree.get(key)? {
            Some(raw) => Ok(Some(self.decode(key, &raw)?)),
            None => Ok(None),
        }
    }

    pub fn insert(&self, key: impl AsRef<[u8]>, value: &T) -> Result<(), StoreError> {
        let key = key.as_ref();
        self.tree.insert(key, self.encode(key, value))?;
        Ok(())
    }

    pub fn remove(&self, key: impl AsRef<[u8]>) -> Result<bool, StoreError> {
        Ok(self.tree.remove(key.as_ref())?.is_some())
    }

    /// The record with its sealed bytes, for a later [`Tree::swap`].
    pub fn get_sealed(&self, key: impl AsRef<[u8]>) -> Result<Option<(T, sled::IVec)>, StoreError> {
        let key = key.as_ref();
        match self.tree.get(key)? {
            Some(raw) => Ok(Some((self.decode(key, &raw)?, raw))),
            None => Ok(None),
        }
    }

    /// Replaces the record only if it still holds exactly `current` (the
    /// sealed bytes read before); false when someone else changed it first.
    pub fn swap(&self, key: impl AsRef<[u8]>, current: &sled::IVec, value: &T) -> Result<bool, StoreError> {
        let key = key.as_ref();
        let swapped = self.tree.compare_and_swap(key, Some(current), Some(self.encode(key, value)))?;
        Ok(swapped.is_ok())
    }

    /// Removes the record only if it still holds exactly `current` (the
    /// sealed bytes read before); false when someone else changed it first.
    pub fn remove_if_unchanged(&self, key: impl AsRef<[u8]>, current: &sled::IVec) -> Result<bool, StoreError> {
        let swapped = self.tree.compare_and_swap(key.as_ref(), Some(current), None as Option<&[u8]>)?;
        Ok(swapped.is_ok())
    }

    /// Inserts only if the key is absent; false when it was already there.
    pub fn insert_new(&self, key: impl AsRef<[u8]>, value: &T) -> Result<bool, StoreError> {
        let key = key.as_ref();
        let swapped = self.tree.compare_and_swap(key, None as Option<&[u8]>, Some(self.encode(key, value)))?;
        Ok(swapped.is_ok())
    }

    pub fn iter(&self) -> impl Iterator<Item = Result<(Vec<u8>, T), StoreError>> + '_ {
        self.tree.iter().map(move |item| {
            let (k, v) = item?;
            let value = self.decode(&k, &v)?;
            Ok((k.to_vec(), value))
        })
    }

    pub fn values(&self) -> Result<Vec<T>, StoreError> {
        self.iter().map(|r| r.map(|(_, v)| v)).collect()
    }

    pub fn raw(&self) -> &sled::Tree {
        &self.tree
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Someone learnt the old passphrase and kept the old header: after the
    /// key is replaced, the old header still opens (it seals the old key),
    /// but no record does.
    #[test]
    fn a_replaced_key_leaves_the_old_passphrase_and_header_opening_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let old_header = {
            let store = Store::create(&path, "old passphrase", quick()).unwrap();
            store.tree::<String>("grants").unwrap().insert("g1", &"to carol".to_string()).unwrap();
            store.tree::<String>("meta").unwrap().insert("signing_key", &"pkcs8".to_string()).unwrap();
            store.tree::<String>("audit").unwrap().insert("anchor", &"left out".to_string()).unwrap();
            let mut opened = store.journal("hot").unwrap();
            opened.journal.append(b"a spent ticket").unwrap();
            store.flush_blocking().unwrap();
            store.db.open_tree(META_TREE).unwrap().get(HEADER_KEY).unwrap().unwrap()
        };
        let sealed = Store::replace_key(&path, "old passphrase", "new passphrase", quick(), |_| Ok(()), |tree, key| !(tree == "audit" && key == b"anchor")).unwrap();
        assert_eq!(sealed, 2, "the grant and the signing key; not the header, the journal's mark nor what was left out");
        assert!(!rekeyed(&path).exists() && !sibling(&path, "retired").exists());

        assert!(matches!(Store::open(&path, "old passphrase"), Err(StoreError::WrongPassphrase)));
        {
            let store = Store::open(&path, "new passphrase").unwrap();
            assert_eq!(store.tree::<String>("grants").unwrap().get("g1").unwrap().as_deref(), Some("to carol"));
            assert_eq!(store.tree::<String>("audit").unwrap().get("anchor").unwrap(), None);
            let opened = store.journal("hot").unwrap();
            assert_eq!((opened.end, opened.batches.len()), (JournalEnd::Missing, 0), "journals start again");
            store.db.open_tree(META_TREE).unwrap().insert(HEADER_KEY, old_header).unwrap();
            store.flush_blocking().unwrap();
        }
        let with_old_header = Store::open(&path, "old passphrase").unwrap();
        assert!(matches!(with_old_header.tree::<String>("grants").unwrap().get("g1"), Err(StoreError::Corrupt { .. })));
    }

    /// A crash before the new copy was complete leaves the old store; one
    /// after it was complete, at any point of the swap, leaves the new one.
    #[test]
    fn a_key_replacement_cut_short_ends_with_one_whole_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        Store::create(&path, "old passphrase", quick()).unwrap().tree::<u32>("t").unwrap().insert("k", &7).unwrap();
        // Cut short while the copy was being built.
        Store::create(&rekeyed(&path), "new passphrase", quick()).unwrap();
        assert_eq!(Store::open(&path, "old passphrase").unwrap().tree::<u32>("t").unwrap().get("k").unwrap(), Some(7));
        assert!(!rekeyed(&path).exists());
        // Cut short between the two renames: the store itself is gone.
        Store::replace_key(&path, "old passphrase", "new passphrase", quick(), |_| Ok(()), |_, _| true).unwrap();
        std::fs::rename(&path, rekeyed(&path)).unwrap();
        write_private(&rekeyed(&path).join(REKEY_DONE), b"done").unwrap();
        assert!(Store::exists(&path), "a complete copy waiting to take its place is a wallet");
        assert_eq!(Store::open(&path, "new passphrase").unwrap().tree::<u32>("t").unwrap().get("k").unwrap(), Some(7));
        assert!(!rekeyed(&path).exists() && !path.join(REKEY_DONE).exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_private_file_is_written_whole_under_a_fresh_name_and_never_through_a_planted_one() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let target = dir.path().join("export.json");
        // What another user could plant at the name a writer would predict.
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep me").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("export.partial")).unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join(".export.json.partial")).unwrap();
        write_private(&target, b"secret").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"secret");
        assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
        // Written again, it replaces the old one whole; no partial file is left.
        write_private(&target, b"newer").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"newer");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().ends_with(".partial") && e.file_type().unwrap().is_file()).collect();
        assert!(left.is_empty());
    }

    fn quick() -> KdfParams {
        KdfParams { memory_kib: 1024, iterations: 1, parallelism: 1 }
    }

    #[test]
    fn records_round_trip_and_are_sealed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path(), "correct horse", quick()).unwrap();
        let tree = store.tree::<String>("notes").unwrap();
        tree.insert("k", &"a distinctive value 7f3a".to_string()).unwrap();
        assert_eq!(tree.get("k").unwrap().as_deref(), Some("a distinctive value 7f3a"));
        let raw = tree.raw().get("k").unwrap().unwrap();
        assert!(!raw.windows(11).any(|w| w == b"distinctive"));
    }

    #[test]
    fn a_backup_restores_every_record_and_only_with_the_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("db"), "right", quick()).unwrap();
        store.tree::<String>("notes").unwrap().insert("k", &"kept secret 51c2".to_string()).unwrap();
        let file = dir.path().join("backup.json");
        assert!(store.backup(&file).unwrap() >= 2, "the header and the note");
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains("kept secret"), "records stay sealed in the backup");

        assert!(matches!(Store::restore(&file, &dir.path().join("other"), "wrong"), Err(StoreError::WrongPassphrase)));
        assert!(!Store::exists(&dir.path().join("other")), "a refused restore leaves nothing behind");
        let restored = Store::restore(&file, &dir.path().join("copy"), "right").unwrap();
        assert_eq!(restored.tree::<String>("notes").unwrap().get("k").unwrap().as_deref(), Some("kept secret 51c2"));

        std::fs::write(&file, b"{\"format\":\"something else\"}").unwrap();
        assert!(matches!(Store::restore(&file, &dir.path().join("third"), "right"), Err(StoreError::BadBackup(_))));
    }

    #[test]
    #[cfg(unix)]
    fn backups_are_readable_by_the_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("db"), "right", quick()).unwrap();
        let file = dir.path().join("backup.json");
        std::fs::write(&file, b"an older, world-readable file").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        store.backup(&file).unwrap();
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_backup_that_asks_for_a_huge_key_derivation_is_refused_before_it_runs() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("db"), "right", quick()).unwrap();
        let file = dir.path().join("backup.json");
        store.backup(&file).unwrap();
        let mut document: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let meta = STANDARD.encode(META_TREE);
        let pairs = document["trees"][&meta].as_array_mut().unwrap();
        let header = pairs.iter_mut().find(|p| STANDARD.decode(p[0].as_str().unwrap()).unwrap() == HEADER_KEY).unwrap();
        let mut value: serde_json::Value = serde_json::from_slice(&STANDARD.decode(header[1].as_str().unwrap()).unwrap()).unwrap();
        value["kdf"]["memory_kib"] = (u32::MAX / 2).into();
        header[1] = STANDARD.encode(serde_json::to_vec(&value).unwrap()).into();
        std::fs::write(&file, serde_json::to_vec(&document).unwrap()).unwrap();
        // Deriving with these parameters would try to allocate 2 TiB.
        assert!(matches!(Store::restore(&file, &dir.path().join("copy"), "right"), Err(StoreError::Corrupt { .. })));
        assert!(!Store::exists(&dir.path().join("copy")));
    }

    #[test]
    fn wrong_passphrase_is_refused_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::create(dir.path(), "right", quick()).unwrap();
            store.tree::<u32>("n").unwrap().insert("x", &7).unwrap();
            store.flush_blocking().unwrap();
        }
        assert!(matches!(Store::open(dir.path(), "wrong"), Err(StoreError::WrongPassphrase)));
        let store = Store::open(dir.path(), "right").unwrap();
        assert_eq!(store.tree::<u32>("n").unwrap().get("x").unwrap(), Some(7));
    }

    #[test]
    fn a_new_passphrase_rewraps_the_data_key_and_leaves_every_record_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let sealed_before;
        {
            let store = Store::create(dir.path(), "old passphrase", quick()).unwrap();
            store.tree::<u32>("n").unwrap().insert("x", &7).unwrap();
            sealed_before = store.tree::<u32>("n").unwrap().raw().get("x").unwrap().unwrap();
            assert!(matches!(store.change_passphrase("not it", "new passphrase", quick()), Err(StoreError::WrongPassphrase)));
            store.change_passphrase("old passphrase", "new passphrase", quick()).unwrap();
            // The open store goes on with the same data key.
            assert_eq!(store.tree::<u32>("n").unwrap().get("x").unwrap(), Some(7));
        }
        assert!(matches!(Store::open(dir.path(), "old passphrase"), Err(StoreError::WrongPassphrase)));
        let store = Store::open(dir.path(), "new passphrase").unwrap();
        let tree = store.tree::<u32>("n").unwrap();
        assert_eq!(tree.raw().get("x").unwrap().unwrap(), sealed_before, "the record was not rewritten");
        assert_eq!(tree.get("x").unwrap(), Some(7));
    }

    #[test]
    fn a_record_moved_to_another_key_fails_to_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path(), "p", quick()).unwrap();
        let tree = store.tree::<u32>("n").unwrap();
        tree.insert("a", &1).unwrap();
        let raw = tree.raw().get("a").unwrap().unwrap();
        tree.raw().insert("b", raw).unwrap();
        assert!(matches!(tree.get("b"), Err(StoreError::Corrupt { .. })));
    }

    #[test]
    fn swap_succeeds_once_for_the_same_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path(), "p", quick()).unwrap();
        let tree = store.tree::<u32>("t").unwrap();
        tree.insert("t1", &1).unwrap();
        let (_, sealed) = tree.get_sealed("t1").unwrap().unwrap();
        assert!(tree.swap("t1", &sealed, &2).unwrap());
        assert!(!tree.swap("t1", &sealed, &3).unwrap(), "a second writer holding the old bytes loses");
        assert_eq!(tree.get("t1").unwrap(), Some(2));
    }
}

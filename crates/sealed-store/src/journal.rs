//! An append-only, sealed log for short-lived records that are kept in
//! memory and must survive a restart, written in batches (group commit).
//!
//! The file is a header (magic and a random file id) followed by frames:
//! kind (1 byte), length (4 bytes, little-endian), then the sealed bytes.
//! Each frame is sealed under the store's data key with the journal's
//! name, the file id, the frame's position and its kind as associated
//! data, so a frame moved to another place, another file or another
//! journal fails to open. A batch frame is durable once [`Journal::append`]
//! returns; [`Journal::close`] ends the file with a closing frame, which is
//! how the next open knows the last run ended cleanly.
//!
//! The database keeps a sealed mark of the journal file in use (its id, and
//! once closed, how many frames it holds). A closed journal counts as
//! clean only if it is the very file the mark names, with every frame: an
//! older copy of the journal put back (which would forget what was written
//! since) reads as damaged. Putting the whole database back with it is a
//! rollback only a counter outside the disk can detect.

use super::{open, random_bytes, seal, StoreError, Tree};
use ring::aead::LessSafeKey;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The tree holding each journal's [`Mark`].
pub(crate) const MARKS_TREE: &str = "journals";
const MAGIC: &[u8; 8] = b"UMAJRNL1";
const HEADER_LEN: usize = MAGIC.len() + 16;
const BATCH: u8 = 1;
const CLOSED: u8 = 2;
/// No batch is this large; a length beyond it is damage, not a record.
const MAX_FRAME: usize = 256 * 1024 * 1024;

/// How the journal's last run ended, as found when it is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JournalEnd {
    /// There was no journal.
    Missing,
    /// The last run closed it: everything it wrote is here.
    Clean,
    /// The last run stopped without closing it (a crash, a kill, a power
    /// cut): every committed batch is here, anything after is not. A frame
    /// cut short at the very end is an uncommitted write, dropped.
    Unclean,
    /// A frame before the end does not open: the file was damaged or
    /// tampered with. The batches before it are returned; trust none of
    /// what the log was meant to remember.
    Damaged,
}

/// A journal opened for appending, with what it held.
pub struct Opened {
    pub journal: Journal,
    /// The plaintext of each batch, in order.
    pub batches: Vec<Vec<u8>>,
    pub end: JournalEnd,
}

pub struct Journal {
    name: &'static str,
    path: PathBuf,
    key: Arc<LessSafeKey>,
    file: File,
    file_id: [u8; 16],
    frames: u64,
    len: u64,
    marks: Tree<Mark>,
}

/// The database's mark of the journal file in use.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Mark {
    file_id: String,
    /// Set when the file was closed: how many frames it holds, the closing
    /// frame included.
    closed_with: Option<u64>,
}

impl Journal {
    pub(crate) fn open(dir: &Path, name: &'static str, key: Arc<LessSafeKey>, marks: Tree<Mark>) -> Result<Opened, StoreError> {
        let path = dir.join(format!("{name}.journal"));
        let (read, mut end) = match std::fs::read(&path) {
            Ok(bytes) => read_frames(&bytes, name, &key),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Contents::default(), JournalEnd::Missing),
            Err(e) => return Err(io_error(e)),
        };
        let expected = Mark { file_id: hex(&read.file_id), closed_with: Some(read.batches.len() as u64 + 1) };
        if end == JournalEnd::Clean && marks.get(name)? != Some(expected) {
            end = JournalEnd::Damaged;
        }
        // A fresh file for this run, holding what was read: the old one's
        // closing frame must not make a crash of this run look clean, and
        // the mark moves to it before anything else is written.
        let (file, file_id) = fresh_file(&path, name, &key, read.batches.iter().map(Vec::as_slice)).map_err(io_error)?;
        marks.insert(name, &Mark { file_id: hex(&file_id), closed_with: None })?;
        marks.raw().flush()?;
        let len = file.metadata().map_err(io_error)?.len();
        let journal = Journal { name, path, key, file, file_id, frames: read.batches.len() as u64, len, marks };
        Ok(Opened { journal, batches: read.batches, end })
    }

    /// Seals `batch`, writes it and waits until the disk has it. A failed
    /// write is cut off again, so that the next one starts on a frame
    /// boundary.
    pub fn append(&mut self, batch: &[u8]) -> std::io::Result<()> {
        let frame = frame(self.name, &self.key, &self.file_id, self.frames, BATCH, batch);
        if let Err(e) = self.file.write_all(&frame).and_then(|_| self.file.sync_data()) {
            let _ = self.file.set_len(self.len);
            return Err(e);
        }
        self.frames += 1;
        self.len += frame.len() as u64;
        Ok(())
    }

    /// Replaces the whole log with `batches` (what is still live), written
    /// one by one to a new file that is renamed over the old one once on
    /// disk: a crash meanwhile leaves the old log.
    pub fn rewrite<B: AsRef<[u8]>>(&mut self, batches: impl IntoIterator<Item = B>) -> std::io::Result<()> {
        let mut frames = 0;
        let counted = batches.into_iter().inspect(|_| frames += 1);
        let (file, file_id) = fresh_file(&self.path, self.name, &self.key, counted)?;
        // Not flushed: an unflushed mark only makes a crash look less clean.
        self.marks.insert(self.name, &Mark { file_id: hex(&file_id), closed_with: None }).map_err(|e| std::io::Error::other(e.to_string()))?;
        self.file = file;
        self.file_id = file_id;
        self.frames = frames;
        self.len = self.file.metadata()?.len();
        Ok(())
    }

    /// Ends the log with a closing frame and marks it closed in the
    /// database: the next open finds a clean end.
    pub fn close(mut self) -> Result<(), StoreError> {
        let frame = frame(self.name, &self.key, &self.file_id, self.frames, CLOSED, &[]);
        self.file.write_all(&frame).and_then(|_| self.file.sync_data()).map_err(io_error)?;
        self.marks.insert(self.name, &Mark { file_id: hex(&self.file_id), closed_with: Some(self.frames + 1) })?;
        self.marks.raw().flush()?;
        Ok(())
    }

    /// Bytes on disk.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.frames == 0
    }
}

fn io_error(e: std::io::Error) -> StoreError {
    StoreError::Db(sled::Error::Io(e))
}

fn aad(name: &str, file_id: &[u8; 16], position: u64, kind: u8) -> Vec<u8> {
    let mut aad = Vec::with_capacity(8 + name.len() + 1 + 16 + 8 + 1);
    aad.extend_from_slice(b"journal\0");
    aad.extend_from_slice(name.as_bytes());
    aad.push(0);
    aad.extend_from_slice(file_id);
    aad.extend_from_slice(&position.to_le_bytes());
    aad.push(kind);
    aad
}

fn frame(name: &str, key: &LessSafeKey, file_id: &[u8; 16], position: u64, kind: u8, plain: &[u8]) -> Vec<u8> {
    let sealed = seal(key, &aad(name, file_id, position, kind), plain);
    let mut out = Vec::with_capacity(5 + sealed.len());
    out.push(kind);
    out.extend_from_slice(&(sealed.len() as u32).to_le_bytes());
    out.extend_from_slice(&sealed);
    out
}

/// Writes a new log holding `batches` beside `path`, frame by frame,
/// syncs it, renames it over `path` and syncs the directory, so that the
/// rename is durable too.
fn fresh_file<B: AsRef<[u8]>>(path: &Path, name: &str, key: &LessSafeKey, batches: impl IntoIterator<Item = B>) -> std::io::Result<(File, [u8; 16])> {
    let file_id = random_bytes::<16>();
    let partial = path.with_extension(format!("journal.{}.partial", hex(&random_bytes::<8>())));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&partial).and_then(|file| {
        let mut out = std::io::BufWriter::new(file);
        out.write_all(MAGIC)?;
        out.write_all(&file_id)?;
        for (position, batch) in batches.into_iter().enumerate() {
            out.write_all(&frame(name, key, &file_id, position as u64, BATCH, batch.as_ref()))?;
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&partial, path)
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    // Appends go to the end of the renamed file.
    let file = OpenOptions::new().append(true).open(path)?;
    Ok((file, file_id))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a journal file held.
#[derive(Default)]
struct Contents {
    file_id: [u8; 16],
    batches: Vec<Vec<u8>>,
}

fn read_frames(bytes: &[u8], name: &str, key: &LessSafeKey) -> (Contents, JournalEnd) {
    let mut reader = bytes;
    let mut header = [0u8; HEADER_LEN];
    if reader.read_exact(&mut header).is_err() || &header[..MAGIC.len()] != MAGIC {
        // A crash while the very first file was being written leaves no
        // header; anything else without one is not our file.
        let end = if bytes.is_empty() { JournalEnd::Unclean } else { JournalEnd::Damaged };
        return (Contents::default(), end);
    }
    let mut read = Contents { file_id: header[MAGIC.len()..].try_into().expect("16 bytes"), batches: Vec::new() };
    let mut position = 0u64;
    loop {
        if reader.len() < 5 {
            // Nothing more, or a frame header cut short.
            return (read, JournalEnd::Unclean);
        }
        let kind = reader[0];
        let len = u32::from_le_bytes(reader[1..5].try_into().expect("4 bytes")) as usize;
        let rest = &reader[5..];
        if len > MAX_FRAME || !matches!(kind, BATCH | CLOSED) {
            return (read, JournalEnd::Damaged);
        }
        if rest.len() < len {
            // Cut short: the write it was part of never completed.
            return (read, JournalEnd::Unclean);
        }
        let Some(plain) = open(key, &aad(name, &read.file_id, position, kind), &rest[..len]) else {
            // The last frame half-written by a crash fails to open; one
            // with more after it cannot be explained by a crash.
            let last = rest.len() == len;
            return (read, if last { JournalEnd::Unclean } else { JournalEnd::Damaged });
        };
        reader = &rest[len..];
        match kind {
            CLOSED if reader.is_empty() => return (read, JournalEnd::Clean),
            CLOSED => return (read, JournalEnd::Damaged),
            _ => read.batches.push(plain),
        }
        position += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KdfParams, Store};

    fn store(dir: &Path) -> Store {
        Store::create(&dir.join("db"), "pass", KdfParams { memory_kib: 8, iterations: 1, parallelism: 1 }).unwrap()
    }

    fn batches(list: &[&str]) -> Vec<Vec<u8>> {
        list.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn a_closed_journal_opens_clean_with_every_batch_and_an_unclosed_one_unclean() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let opened = store.journal("hot").unwrap();
        assert_eq!(opened.end, JournalEnd::Missing);
        let mut journal = opened.journal;
        journal.append(b"one").unwrap();
        journal.append(b"two").unwrap();
        journal.close().unwrap();

        let opened = store.journal("hot").unwrap();
        assert_eq!((opened.batches, opened.end), (batches(&["one", "two"]), JournalEnd::Clean));
        // This run appends and stops without closing.
        let mut journal = opened.journal;
        journal.rewrite(&batches(&["one", "two"])).unwrap();
        journal.append(b"three").unwrap();
        drop(journal);

        let opened = store.journal("hot").unwrap();
        assert_eq!((opened.batches, opened.end), (batches(&["one", "two", "three"]), JournalEnd::Unclean));
    }

    #[test]
    fn a_torn_last_frame_is_dropped_and_damage_before_the_end_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let mut journal = store.journal("hot").unwrap().journal;
        journal.append(b"kept").unwrap();
        journal.append(b"torn").unwrap();
        drop(journal);
        let path = dir.path().join("db").join("hot.journal");
        let whole = std::fs::read(&path).unwrap();

        std::fs::write(&path, &whole[..whole.len() - 3]).unwrap();
        let opened = store.journal("hot").unwrap();
        assert_eq!((opened.batches, opened.end), (batches(&["kept"]), JournalEnd::Unclean));

        let mut flipped = whole.clone();
        flipped[HEADER_LEN + 5 + 14] ^= 1; // inside the first frame's ciphertext
        std::fs::write(&path, &flipped).unwrap();
        let opened = store.journal("hot").unwrap();
        assert_eq!((opened.batches, opened.end), (vec![], JournalEnd::Damaged));
    }

    #[test]
    fn an_older_copy_of_a_closed_journal_put_back_reads_as_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let path = dir.path().join("db").join("hot.journal");
        let mut journal = store.journal("hot").unwrap().journal;
        journal.append(b"spent ticket 1").unwrap();
        journal.close().unwrap();
        let older = std::fs::read(&path).unwrap();

        let opened = store.journal("hot").unwrap();
        assert_eq!(opened.end, JournalEnd::Clean);
        let mut journal = opened.journal;
        journal.append(b"spent ticket 2").unwrap();
        journal.close().unwrap();

        // Someone puts the older file back: it forgets the second spend.
        std::fs::write(&path, &older).unwrap();
        let opened = store.journal("hot").unwrap();
        assert_eq!((opened.batches, opened.end), (batches(&["spent ticket 1"]), JournalEnd::Damaged));
    }

    #[test]
    fn frames_cannot_be_reordered_or_moved_to_another_journal() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let mut journal = store.journal("hot").unwrap().journal;
        journal.append(b"first").unwrap();
        journal.append(b"second").unwrap();
        journal.close().unwrap();
        let path = dir.path().join("db").join("hot.journal");
        let whole = std::fs::read(&path).unwrap();
        let first_len = 5 + u32::from_le_bytes(whole[HEADER_LEN + 1..HEADER_LEN + 5].try_into().unwrap()) as usize;
        let (head, frames) = whole.split_at(HEADER_LEN);
        let (first, rest) = frames.split_at(first_len);
        let second_len = 5 + u32::from_le_bytes(rest[1..5].try_into().unwrap()) as usize;
        let (second, closed) = rest.split_at(second_len);
        let swapped = [head, second, first, closed].concat();
        std::fs::write(&path, &swapped).unwrap();
        assert_eq!(store.journal("hot").unwrap().end, JournalEnd::Damaged);

        std::fs::write(dir.path().join("db").join("other.journal"), &whole).unwrap();
        let other = store.journal("other").unwrap();
        assert_eq!((other.batches.len(), other.end), (0, JournalEnd::Damaged));
    }
}

//! [`ResumeData`]: which pieces are verified on disk, saved next to the download so a
//! restart does not rehash everything.
//!
//! # File format
//!
//! `root/.bitswarm/<info-hash hex>.resume` holds a bencoded dictionary
//! `{"resume": <bytes>, "sha1": <20 bytes>}` where `sha1` is the SHA-1 of `resume`, itself a
//! bencoded dictionary:
//!
//! | key            | value                                                           |
//! |----------------|-----------------------------------------------------------------|
//! | `version`      | 1                                                               |
//! | `info hash`    | 20 bytes                                                        |
//! | `fingerprint`  | 20 bytes: SHA-1 of the piece length, file lengths and piece hashes |
//! | `piece count`  | integer                                                         |
//! | `pieces`       | bitfield, piece 0 in the high bit of byte 0 (as BEP 3), spare bits 0 |
//! | `files`        | list of `{"length": n, "mtime": ns since 1970}`, real files only, in torrent order |
//!
//! The checksum makes a torn or bit-flipped file a clean [`StorageError::ResumeCorrupt`]
//! instead of a wrong bitfield. Resume data is trusted only while every file still has
//! the recorded size and mtime and that size is the torrent's (a longer file counts as
//! changed).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use bitswarm_bencode::{Dict, OwnedValue};
use bitswarm_proto::InfoHash;

use crate::error::StorageError;
use crate::storage::Storage;

const VERSION: i64 = 1;

/// Size and modification time of one file when resume data was captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    /// Length in bytes.
    pub length: u64,
    /// Modification time in nanoseconds since the Unix epoch (negative before it).
    pub mtime_ns: i64,
}

impl FileStamp {
    /// The stamp of the file at `path`.
    pub fn of(path: &Path) -> Result<FileStamp, StorageError> {
        let meta = fs::metadata(path).map_err(|e| StorageError::io("inspect", path, e))?;
        let mtime = meta
            .modified()
            .map_err(|e| StorageError::io("read the mtime of", path, e))?;
        Ok(FileStamp {
            length: meta.len(),
            mtime_ns: nanos_since_epoch(mtime),
        })
    }
}

fn nanos_since_epoch(t: SystemTime) -> i64 {
    let clamp = |n: u128| i64::try_from(n).unwrap_or(i64::MAX);
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => clamp(d.as_nanos()),
        Err(e) => -clamp(e.duration().as_nanos()),
    }
}

/// Which pieces are verified on disk, and the state of the files when that was true.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeData {
    info_hash: InfoHash,
    fingerprint: [u8; 20],
    piece_count: u32,
    bitfield: Vec<u8>,
    files: Vec<FileStamp>,
}

impl ResumeData {
    /// Where the resume file of a torrent lives: `root/.bitswarm/<info-hash hex>.resume`.
    pub fn path_for(root: &Path, info_hash: &InfoHash) -> PathBuf {
        root.join(".bitswarm")
            .join(format!("{}.resume", info_hash.to_hex()))
    }

    /// Build from the storage's current state and a verified-pieces list. Syncs the
    /// storage first, so the list never claims pieces that are only in the page cache.
    pub fn capture(
        storage: &Storage,
        info_hash: InfoHash,
        verified: &[bool],
    ) -> Result<ResumeData, StorageError> {
        let piece_count = storage.piece_count();
        if verified.len() != piece_count as usize {
            return Err(StorageError::VerifiedLength {
                expected: piece_count,
                got: verified.len(),
            });
        }
        if !storage.is_read_only() {
            storage.sync()?;
        }
        let mut bitfield = vec![0u8; verified.len().div_ceil(8)];
        for (i, _) in verified.iter().enumerate().filter(|(_, v)| **v) {
            bitfield[i / 8] |= 0x80 >> (i % 8);
        }
        let mut files = Vec::new();
        for (index, file) in storage.files().iter().enumerate() {
            if file.padding {
                continue;
            }
            if let Some(path) = storage.file_path(index) {
                files.push(FileStamp::of(path)?);
            }
        }
        Ok(ResumeData {
            info_hash,
            fingerprint: fingerprint(storage),
            piece_count,
            bitfield,
            files,
        })
    }

    /// The torrent this resume data is for.
    pub fn info_hash(&self) -> &InfoHash {
        &self.info_hash
    }

    /// Number of pieces of the torrent.
    pub fn piece_count(&self) -> u32 {
        self.piece_count
    }

    /// The verified flag of every piece.
    pub fn verified(&self) -> Vec<bool> {
        (0..self.piece_count as usize)
            .map(|i| self.bitfield[i / 8] & (0x80 >> (i % 8)) != 0)
            .collect()
    }

    /// The recorded state of each real (non-padding) file, in torrent order.
    pub fn files(&self) -> &[FileStamp] {
        &self.files
    }

    /// Whether this resume data still describes `storage`'s files: same torrent
    /// (info-hash when the storage knows it, and layout fingerprint), and every file with
    /// its recorded size and mtime, that size being the torrent's. The error is
    /// [`StorageError::ResumeMismatch`] saying which check failed.
    pub fn validate(&self, storage: &Storage) -> Result<(), StorageError> {
        let mismatch = |reason: String| Err(StorageError::ResumeMismatch { reason });
        if let Some(ih) = storage.info_hash() {
            if *ih != self.info_hash {
                return mismatch(format!(
                    "it is for torrent {}, not {}",
                    self.info_hash.to_hex(),
                    ih.to_hex()
                ));
            }
        }
        if self.fingerprint != fingerprint(storage) || self.piece_count != storage.piece_count() {
            return mismatch("it was saved for a different torrent layout".into());
        }
        let real: Vec<usize> = (0..storage.files().len())
            .filter(|&i| storage.file_path(i).is_some())
            .collect();
        if real.len() != self.files.len() {
            return mismatch("the number of files differs".into());
        }
        for (&index, stamp) in real.iter().zip(&self.files) {
            let Some(path) = storage.file_path(index) else {
                continue;
            };
            let now = match FileStamp::of(path) {
                Ok(s) => s,
                Err(_) => return mismatch(format!("{} is missing", path.display())),
            };
            let expected = storage.files()[index].length;
            if now.length != expected {
                return mismatch(format!(
                    "{} is {} bytes, the torrent says {expected}",
                    path.display(),
                    now.length
                ));
            }
            if now != *stamp {
                return mismatch(format!(
                    "{} changed since the resume data was saved",
                    path.display()
                ));
            }
        }
        Ok(())
    }

    /// Save atomically: write a temporary file in the same folder, fsync, rename over
    /// `path`. Creates the folder if needed.
    pub fn save(&self, path: &Path) -> Result<(), StorageError> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        fs::create_dir_all(dir).map_err(|e| StorageError::io("create folder", dir, e))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".resume-")
            .tempfile_in(dir)
            .map_err(|e| StorageError::io("create a temporary file in", dir, e))?;
        let tmp_path = tmp.path().to_path_buf();
        tmp.write_all(&self.encode())
            .map_err(|e| StorageError::io("write", &tmp_path, e))?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| StorageError::io("fsync", &tmp_path, e))?;
        tmp.persist(path)
            .map_err(|e| StorageError::io("rename into place", path, e.error))?;
        // Make the rename durable; failure here only risks losing the newest save.
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Load a resume file. A missing file is an [`StorageError::Io`] with kind `NotFound`
    /// (see [`ResumeData::load_if_present`]); a damaged one is
    /// [`StorageError::ResumeCorrupt`]: log it and recheck.
    pub fn load(path: &Path) -> Result<ResumeData, StorageError> {
        let bytes = fs::read(path).map_err(|e| StorageError::io("read", path, e))?;
        ResumeData::decode(&bytes).map_err(|reason| StorageError::ResumeCorrupt {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// [`ResumeData::load`], with a missing file as `Ok(None)`.
    pub fn load_if_present(path: &Path) -> Result<Option<ResumeData>, StorageError> {
        match ResumeData::load(path) {
            Ok(r) => Ok(Some(r)),
            Err(StorageError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The file's bytes (see the module docs).
    pub fn encode(&self) -> Vec<u8> {
        let files = self
            .files
            .iter()
            .map(|f| {
                let mut d = OwnedValue::dict();
                // Lengths fit in i64: proto refuses larger torrents, and a file's length
                // comes from the OS as an off_t.
                d.insert("length", i64::try_from(f.length).unwrap_or(i64::MAX));
                d.insert("mtime", f.mtime_ns);
                d
            })
            .collect::<Vec<_>>();
        let mut inner = OwnedValue::dict();
        inner.insert("version", VERSION);
        inner.insert("info hash", self.info_hash.as_bytes().to_vec());
        inner.insert("fingerprint", self.fingerprint.to_vec());
        inner.insert("piece count", self.piece_count);
        inner.insert("pieces", self.bitfield.clone());
        inner.insert("files", files);
        let inner = inner.to_bytes();
        let mut outer = OwnedValue::dict();
        outer.insert("sha1", bitswarm_proto::sha1::digest(&inner).to_vec());
        outer.insert("resume", inner);
        outer.to_bytes()
    }

    /// Parse the file's bytes; the error says what is wrong.
    pub fn decode(bytes: &[u8]) -> Result<ResumeData, String> {
        let outer = bitswarm_bencode::decode(bytes).map_err(|e| e.to_string())?;
        let outer = outer.as_dict().ok_or("not a dictionary")?;
        let inner = outer.get_bytes(b"resume").ok_or("no `resume` entry")?;
        let sum = outer.get_bytes(b"sha1").ok_or("no `sha1` entry")?;
        if sum != bitswarm_proto::sha1::digest(inner) {
            return Err("checksum mismatch".into());
        }
        let value = bitswarm_bencode::decode(inner).map_err(|e| e.to_string())?;
        let d = value.as_dict().ok_or("`resume` is not a dictionary")?;
        match d.get_int(b"version") {
            Some(VERSION) => {}
            other => return Err(format!("unsupported version {other:?}")),
        }
        let info_hash = d
            .get_bytes(b"info hash")
            .and_then(InfoHash::from_slice)
            .ok_or("bad `info hash`")?;
        let fingerprint: [u8; 20] = d
            .get_bytes(b"fingerprint")
            .and_then(|b| b.try_into().ok())
            .ok_or("bad `fingerprint`")?;
        let piece_count = d
            .get_int(b"piece count")
            .and_then(|n| u32::try_from(n).ok())
            .ok_or("bad `piece count`")?;
        let bitfield = d.get_bytes(b"pieces").ok_or("no `pieces`")?.to_vec();
        if bitfield.len() != (piece_count as usize).div_ceil(8) {
            return Err("`pieces` has the wrong length".into());
        }
        let spare = (bitfield.len() * 8 - piece_count as usize) as u32;
        if spare > 0
            && bitfield
                .last()
                .is_some_and(|b| b & (0xffu8 >> (8 - spare)) != 0)
        {
            return Err("spare bits set in `pieces`".into());
        }
        let files = d
            .get_list(b"files")
            .ok_or("no `files`")?
            .iter()
            .map(|f| {
                f.as_dict()
                    .ok_or("a file entry is not a dictionary")
                    .and_then(stamp)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ResumeData {
            info_hash,
            fingerprint,
            piece_count,
            bitfield,
            files,
        })
    }
}

fn stamp(d: &Dict<'_>) -> Result<FileStamp, &'static str> {
    Ok(FileStamp {
        length: d
            .get_int(b"length")
            .and_then(|n| u64::try_from(n).ok())
            .ok_or("bad file `length`")?,
        mtime_ns: d.get_int(b"mtime").ok_or("bad file `mtime`")?,
    })
}

/// SHA-1 over what fixes where every piece lives and what it must hash to: the piece
/// length, each file's length and padding flag, and the piece hashes.
fn fingerprint(storage: &Storage) -> [u8; 20] {
    let mut h = bitswarm_proto::sha1::Sha1::new();
    h.update(&u64::from(storage.layout().geometry().piece_length()).to_be_bytes());
    for f in storage.files() {
        h.update(&f.length.to_be_bytes());
        h.update(&[u8::from(f.padding)]);
    }
    for piece in 0..storage.piece_count() {
        if let Some(hash) = storage.piece_hash(piece) {
            h.update(hash);
        }
    }
    h.finish()
}

//! bitswarm-storage owns the disk edge of the client: the files of a torrent (creating
//! them sparse, mapping pieces to file slices with `bitswarm_proto::Layout`, positioned
//! reads and writes through a bounded cache of open files), the pool of threads that
//! verifies downloaded pieces before writing them, resume data, and the check of what is
//! already on disk when a torrent is added.
//!
//! It must not touch the network or an async runtime: every call blocks, and async
//! callers run it on a blocking pool or hand pieces to the [`HashPool`]. It hashes with
//! `bitswarm_proto::sha1`, the project's one SHA-1, and never builds paths from
//! unvalidated names (file paths come from proto's validated components).
//!
//! Layout:
//! - [`storage`]: [`Storage`], a torrent's files: open, read, write, check a piece, sync.
//! - `file_cache`: open file handles, least recently used closed beyond a limit.
//! - `paths`: paths under the download folder, refusing symlinks that lead outside it.
//! - `uninit_read`: positioned reads into a buffer's spare capacity (uploads, no memset).
//! - `vectored_write`: positioned vectored writes (a piece written from its blocks).
//! - `writeback`: starting write-back of each written piece (a short final `fsync`).
//! - [`send_source`]: where an upload's bytes are on disk ([`SendSource`]), for
//!   sending them with `sendfile(2)` instead of reading them.
//! - [`hash_pool`]: [`HashPool`], verify-then-write on worker threads with a bounded queue.
//! - `hash_batch`: a worker's batch of same-length pieces, hashed in one multi-buffer pass.
//! - [`resume`]: [`ResumeData`], the verified-pieces bitfield with file sizes and mtimes.
//! - [`check`]: [`initial_check`], resume data or a parallel recheck at start.
//! - [`error`]: the one error type, [`StorageError`].
//!
//! A download, in short:
//!
//! ```
//! use std::sync::Arc;
//! use bitswarm_storage::{initial_check, HashPool, PieceOutcome, ResumeData, Storage};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let data = b"hello, swarm".to_vec();
//! # let spec = bitswarm_proto::TorrentSpec { name: "hello.txt".into(),
//! #     single_length: Some(data.len() as u64), piece_length: 16384,
//! #     pieces: vec![bitswarm_proto::sha1::digest(&data)], ..Default::default() };
//! # let (_, meta) = spec.build()?;
//! # let dir = tempfile::tempdir()?;
//! # let root = dir.path();
//! let storage = Arc::new(Storage::open(meta.info(), root)?.with_info_hash(meta.info_hash()));
//! let resume_path = ResumeData::path_for(root, &meta.info_hash());
//! let resume = ResumeData::load_if_present(&resume_path).unwrap_or(None); // corrupt: recheck
//! let mut have = initial_check(&storage, resume.as_ref(), false, &|_done, _total| {})?;
//!
//! let pool = HashPool::new(2, 4);
//! let (tx, rx) = std::sync::mpsc::channel();
//! pool.verify_and_write(Arc::clone(&storage), 0, data, meta.info().pieces()[0], move |o| {
//!     let _ = tx.send(o);
//! });
//! if let PieceOutcome::Verified { piece } = rx.recv()? {
//!     have[piece as usize] = true;
//! }
//! ResumeData::capture(&storage, meta.info_hash(), &have)?.save(&resume_path)?;
//! # assert_eq!(have, [true]);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod check;
pub mod error;
mod file_cache;
mod hash_batch;
pub mod hash_pool;
mod paths;
mod raw_io;
pub mod resume;
pub mod send_source;
pub mod storage;
mod uninit_read;
mod vectored_write;
mod writeback;

pub use check::initial_check;
pub use error::StorageError;
pub use file_cache::DEFAULT_OPEN_FILE_LIMIT;
pub use hash_pool::{HashPool, PieceData, PieceOutcome, QueueFull};
pub use resume::{FileStamp, ResumeData};
pub use send_source::{split_sources, FileRange, SendSource};
pub use storage::Storage;

#[cfg(test)]
mod check_tests;
#[cfg(test)]
mod hash_pool_tests;
#[cfg(test)]
mod resume_tests;
#[cfg(test)]
mod send_source_tests;
#[cfg(test)]
mod storage_tests;
#[cfg(test)]
mod test_util;

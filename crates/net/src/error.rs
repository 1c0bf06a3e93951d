//! Typed errors of the network crate.

use std::net::SocketAddr;
use std::path::PathBuf;

use thiserror::Error;

/// What can go wrong starting a session or adding a torrent.
#[derive(Debug, Error)]
pub enum NetError {
    /// The listen socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The torrent is already in the session.
    #[error("torrent {0} is already added")]
    Duplicate(String),
    /// The session is shut down.
    #[error("the session is shut down")]
    Closed,
    /// Opening or checking the torrent's files failed.
    #[error("storage error at {path}: {message}")]
    Storage {
        /// Where.
        path: PathBuf,
        /// What.
        message: String,
    },
    /// A file index in `only_files` does not exist.
    #[error("file index {index} out of range: the torrent has {count} files")]
    FileIndex {
        /// The index given.
        index: usize,
        /// Number of files in the torrent.
        count: usize,
    },
    /// The torrent's geometry is not usable.
    #[error("unusable torrent geometry: {0}")]
    Geometry(String),
    /// The torrent stopped on an error (e.g. a disk write failed).
    #[error("torrent failed: {0}")]
    TorrentFailed(String),
}

/// A rate string like `8M` could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid rate {0:?}: expected a number of bytes per second with an optional unit (e.g. 512K, 8M, 1.5MiB, 0 for unlimited)")]
pub struct RateParseError(pub String);

//! [`StorageError`]: every failure of the storage layer, naming the file and the operation.

use std::io;
use std::path::PathBuf;

/// What went wrong on disk, and where.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// An operating-system call failed on a file or folder.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// The operation, as a verb phrase ("open", "write", "fsync", ...).
        op: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A file of the torrent is not on disk (seeding from existing data, or deleted).
    #[error("file {} is missing", path.display())]
    MissingFile {
        /// The missing file.
        path: PathBuf,
    },
    /// A path component inside the download folder is a symlink that leads outside it
    /// (or nowhere); following it could write or read files the torrent must not touch.
    #[error("{} is a symlink leading out of the download folder; refusing to follow it", path.display())]
    SymlinkEscape {
        /// The symlink.
        path: PathBuf,
    },
    /// A path that must be a folder is something else.
    #[error("{} exists and is not a folder", path.display())]
    NotAFolder {
        /// The offending path.
        path: PathBuf,
    },
    /// A piece index past the end of the torrent.
    #[error("piece {piece} is out of range (the torrent has {count} pieces)")]
    PieceOutOfRange {
        /// The index asked for.
        piece: u32,
        /// Number of pieces in the torrent.
        count: u32,
    },
    /// `write_piece` got a buffer that is not exactly the piece's length.
    #[error("piece {piece} is {expected} bytes long, got {got}")]
    PieceLength {
        /// The piece.
        piece: u32,
        /// Its length in the torrent.
        expected: u32,
        /// The buffer's length.
        got: usize,
    },
    /// `read` asked for bytes outside the piece.
    #[error("read of {len} bytes at offset {offset} is outside piece {piece} ({size} bytes)")]
    ReadOutOfRange {
        /// The piece.
        piece: u32,
        /// Offset in the piece.
        offset: u32,
        /// Bytes asked for.
        len: usize,
        /// The piece's length.
        size: u32,
    },
    /// A write on storage opened read-only for seeding.
    #[error("storage is read-only (opened for seeding), cannot write piece {piece}")]
    ReadOnly {
        /// The piece.
        piece: u32,
    },
    /// A resume file that cannot be decoded; treat it as absent and recheck.
    #[error("resume file {} is corrupt ({reason}); ignoring it", path.display())]
    ResumeCorrupt {
        /// The resume file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Resume data that does not describe the data on disk; treat it as absent and recheck.
    #[error("resume data is out of date: {reason}")]
    ResumeMismatch {
        /// Which check failed (info-hash, piece count, a file's size or mtime).
        reason: String,
    },
    /// A verified-pieces list whose length is not the torrent's piece count.
    #[error("verified-pieces list has {got} entries, the torrent has {expected} pieces")]
    VerifiedLength {
        /// The piece count.
        expected: u32,
        /// The list's length.
        got: usize,
    },
}

impl StorageError {
    /// An [`StorageError::Io`] for `op` on `path`.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StorageError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// Whether this error only means that data is not there (a missing or short file), so
    /// a check should count the piece as not good rather than fail.
    pub fn is_missing_data(&self) -> bool {
        match self {
            StorageError::MissingFile { .. } => true,
            StorageError::Io { source, .. } => matches!(
                source.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::UnexpectedEof
            ),
            _ => false,
        }
    }
}

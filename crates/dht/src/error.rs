//! Typed errors of the crate.

use thiserror::Error;

/// Why a KRPC packet could not be decoded.
///
/// When [`KrpcError::transaction_id`] is `Some`, the packet was a query whose
/// transaction id could be read, so a KRPC error reply (code 203) may be sent back;
/// otherwise the packet must be dropped silently.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("bad KRPC packet: {reason}")]
pub struct KrpcError {
    /// What was wrong.
    pub reason: &'static str,
    /// The transaction id, when it was readable and the packet was a query.
    pub transaction_id: Option<Vec<u8>>,
}

impl KrpcError {
    pub(crate) fn drop(reason: &'static str) -> Self {
        KrpcError {
            reason,
            transaction_id: None,
        }
    }
}

/// Errors of the node cache file.
#[derive(Debug, Error)]
pub enum CacheError {
    /// Reading or writing the file failed.
    #[error("node cache {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a node cache written by this crate.
    #[error("node cache {path}: not a valid node cache ({reason})")]
    Format {
        /// The file.
        path: String,
        /// What was wrong.
        reason: &'static str,
    },
}

/// Errors of the tokio driver and its handle.
#[derive(Debug, Error)]
pub enum DhtError {
    /// Binding the UDP socket failed.
    #[error("DHT: cannot bind UDP {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The DHT task has stopped (after `shutdown` or a fatal socket error).
    #[error("DHT: the node has stopped")]
    Stopped,
    /// The node cache could not be read or written.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// Too many lookups are running; try again later.
    #[error("DHT: too many lookups in progress")]
    Busy,
}

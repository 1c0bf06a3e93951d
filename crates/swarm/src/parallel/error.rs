//! [`ParallelError`]: what can stop a parallel download as a whole. A worker that fails
//! or stalls is not an error here: its row in the report says so.

use bitswarm_cluster::ClusterError;

/// Why a parallel download could not be set up or carried out.
#[derive(Debug, thiserror::Error)]
pub enum ParallelError {
    /// The input is not a usable torrent or magnet link.
    #[error("{0}")]
    Input(String),
    /// A tokio runtime could not be built.
    #[error("cannot start a runtime: {0}")]
    Runtime(std::io::Error),
    /// Messages between ranks failed.
    #[error("cluster: {0}")]
    Cluster(#[from] ClusterError),
    /// A message between ranks could not be decoded.
    #[error("bad message between ranks: {0}")]
    Message(String),
    /// A rank expected a message that did not come in time.
    #[error("{0}")]
    Protocol(String),
}

impl ParallelError {
    /// Whether this only echoes another rank's abort (the first rank's error says why).
    pub fn is_echo_of_abort(&self) -> bool {
        matches!(self, ParallelError::Cluster(ClusterError::Aborted { .. }))
    }
}

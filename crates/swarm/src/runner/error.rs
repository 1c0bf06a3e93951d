//! [`RunnerError`]: what can stop a swarm run.

use std::path::PathBuf;

use bitswarm_cluster::ClusterError;

/// Why a swarm run could not be set up or carried out. A run that finished but where a
/// client missed the deadline or ended with wrong data is not an error here: the report
/// says so ([`super::SwarmReport::failures`]).
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// The scenario is invalid (parse error with its line, or a semantic check).
    #[error("scenario: {0}")]
    Scenario(String),
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Building a torrent failed.
    #[error("cannot build the torrent of {file}: {message}")]
    Torrent {
        /// The file.
        file: String,
        /// Why.
        message: String,
    },
    /// The in-process tracker did not start.
    #[error("cannot start the tracker: {0}")]
    Tracker(String),
    /// A client's session or torrent failed.
    #[error("client {client}: {message}")]
    Client {
        /// The client's name.
        client: String,
        /// What failed.
        message: String,
    },
    /// A tokio runtime could not be built.
    #[error("cannot start a runtime: {0}")]
    Runtime(std::io::Error),
    /// Messages between ranks failed.
    #[error("cluster: {0}")]
    Cluster(#[from] ClusterError),
    /// A message between ranks could not be decoded.
    #[error("bad message between ranks: {0}")]
    Message(String),
}

impl RunnerError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        RunnerError::Io {
            path: path.into(),
            source,
        }
    }

    /// Whether this only echoes another rank's abort (the first rank's error says why).
    pub fn is_echo_of_abort(&self) -> bool {
        matches!(self, RunnerError::Cluster(ClusterError::Aborted { .. }))
    }
}

//! [`SimError`]: why a rank of the simulation stopped.

use std::path::PathBuf;

use bitswarm_cluster::{ClusterError, Rank};

use super::codec::DecodeError;
use super::input::InputError;
use super::tracker::TrackerProtocolError;

/// Why a rank of the simulation failed.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// An in-file is invalid (reported by rank 0, which validates them all).
    #[error(transparent)]
    Input(#[from] InputError),
    /// Rank 0 rejected the input; this rank stopped without starting (rank 0 reports why).
    #[error("input rejected: {reason}")]
    InputRejected {
        /// The error line rank 0 broadcast.
        reason: String,
    },
    /// The cluster has fewer than 2 ranks (a tracker and at least one client are needed).
    #[error("the simulation needs at least 2 ranks (a tracker and a client), got {0}")]
    TooFewRanks(usize),
    /// Sending or receiving failed, or another rank aborted.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// A message from another rank could not be decoded.
    #[error("bad message from rank {from}")]
    Decode {
        /// The sender.
        from: Rank,
        /// What was wrong.
        source: DecodeError,
    },
    /// A message arrived that the protocol does not allow there.
    #[error("rank {rank}: unexpected message from rank {from}: {what}")]
    Unexpected {
        /// The receiving rank.
        rank: Rank,
        /// The sender.
        from: Rank,
        /// What arrived.
        what: String,
    },
    /// The tracker refused a client message.
    #[error(transparent)]
    Tracker(#[from] TrackerProtocolError),
    /// The tracker does not know a wanted file (validation normally catches this first).
    #[error("client {rank} wants '{file}', which no client owns")]
    UnknownFile {
        /// The client.
        rank: Rank,
        /// The file.
        file: String,
    },
    /// No swarm member could give a segment with the right hash.
    #[error("client {rank}: no holder gave segment {index} of '{file}' with the tracker's hash")]
    NoHolder {
        /// The client.
        rank: Rank,
        /// The file.
        file: String,
        /// The segment index.
        index: u32,
    },
    /// An output file could not be written.
    #[error("cannot write {}", path.display())]
    Output {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A thread of this rank panicked or could not start.
    #[error("rank {rank}: {what}")]
    Thread {
        /// The rank.
        rank: Rank,
        /// What happened.
        what: String,
    },
}

impl SimError {
    /// Whether every rank stopped on its own in agreement (bad input, too few ranks), so
    /// the job ends without an abort and only rank 0 needs to report it.
    pub fn is_coordinated(&self) -> bool {
        matches!(
            self,
            SimError::Input(_) | SimError::InputRejected { .. } | SimError::TooFewRanks(_)
        )
    }

    /// The message with its causes, joined by ": " on one line.
    pub fn full_message(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            let more = c.to_string();
            if !text.ends_with(&more) {
                text.push_str(": ");
                text.push_str(&more);
            }
            cause = c.source();
        }
        text
    }

    /// Whether this error only says that another rank aborted (not the root cause).
    pub fn is_echo_of_abort(&self) -> bool {
        matches!(self, SimError::Cluster(ClusterError::Aborted { .. }))
    }
}

//! Errors of the cluster layer.

use std::time::Duration;

use crate::comm::{Rank, Tag};

/// What can go wrong while sending or receiving between ranks.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A rank called [`Comm::abort`](crate::Comm::abort) or panicked; every rank's pending
    /// and later operations fail with this.
    #[error("aborted by rank {rank}: {reason}")]
    Aborted {
        /// The rank that aborted.
        rank: Rank,
        /// Why it aborted.
        reason: String,
    },
    /// A receive reached its deadline without a matching message.
    #[error("rank {rank} timed out after {waited:?} waiting for a message with tag {tag}")]
    Timeout {
        /// The rank that waited.
        rank: Rank,
        /// The tag it waited for.
        tag: Tag,
        /// How long it waited.
        waited: Duration,
    },
    /// A destination or source rank outside `0..size`.
    #[error("rank {rank} does not exist (the cluster has {size} ranks)")]
    NoSuchRank {
        /// The rank asked for.
        rank: Rank,
        /// The cluster size.
        size: usize,
    },
    /// A tag above [`MAX_USER_TAG`](crate::MAX_USER_TAG) (those are reserved for collectives).
    #[error("tag {0} is reserved or out of range")]
    BadTag(Tag),
    /// A mailbox holds more unreceived messages than its limit: the protocol on top does not
    /// bound its messages in flight.
    #[error("the mailbox of rank {rank} is full ({limit} unreceived messages)")]
    MailboxFull {
        /// The receiving rank.
        rank: Rank,
        /// The limit.
        limit: usize,
    },
    /// A rank's thread panicked (LocalCluster); the others were aborted.
    #[error("rank {rank} panicked: {message}")]
    Panicked {
        /// The rank whose thread panicked.
        rank: Rank,
        /// The panic message.
        message: String,
    },
    /// The operating system refused a thread.
    #[error("cannot start a thread for rank {rank}")]
    Spawn {
        /// The rank.
        rank: Rank,
        /// The OS error.
        source: std::io::Error,
    },
    /// A collective received a message it did not expect.
    #[error("collective protocol error: {0}")]
    Collective(String),
    /// MPI could not be initialised as needed.
    #[error("MPI: {0}")]
    Mpi(String),
    /// The communication thread of this rank is gone (MPI back end).
    #[error("the communication thread of rank {0} stopped")]
    CommThreadGone(Rank),
}

//! The [`Comm`] trait: what a rank can do, the same over threads and over MPI.

use std::time::{Duration, Instant};

use crate::error::ClusterError;

/// A rank: `0..size`.
pub type Rank = usize;

/// A message tag. Tags `0..=MAX_USER_TAG` are for applications; the few above it (up to
/// 32767, the smallest upper bound MPI guarantees) are reserved for the collectives.
pub type Tag = u16;

/// The largest tag an application may use.
pub const MAX_USER_TAG: Tag = 0x7EFF;

/// Reserved tags of the collectives (all above [`MAX_USER_TAG`]).
pub(crate) const TAG_BROADCAST: Tag = 0x7F00;
pub(crate) const TAG_GATHER: Tag = 0x7F01;
pub(crate) const TAG_BARRIER_IN: Tag = 0x7F02;
pub(crate) const TAG_BARRIER_OUT: Tag = 0x7F03;
/// The largest tag at all.
pub(crate) const MAX_TAG: Tag = 0x7FFF;

/// Where a receive accepts messages from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// From any rank; the envelope says which.
    Any,
    /// From this rank only.
    Rank(Rank),
}

impl Source {
    /// Whether a message from `rank` matches.
    pub fn matches(self, rank: Rank) -> bool {
        match self {
            Source::Any => true,
            Source::Rank(r) => r == rank,
        }
    }
}

/// A received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The sending rank.
    pub source: Rank,
    /// Its tag.
    pub tag: Tag,
    /// The bytes.
    pub payload: Vec<u8>,
}

/// One rank's view of the cluster.
///
/// A `Comm` is `Send + Sync`: several threads of a rank (the sim's download and upload
/// threads) share one endpoint by reference. That is why the MPI back end gives each rank a
/// single communication thread that owns the MPI world and serves the other threads through
/// channels: MPI communicators are not `Send`, and a thread blocked in an MPI receive spins
/// and starves the others on a small machine. With one owner the trait is the same on both
/// back ends, and receives on both go through the same matching mailbox.
///
/// Ordering: messages from one sending thread to one rank with one tag arrive in the order
/// sent (MPI's non-overtaking rule; the local mailbox is FIFO). A receive for
/// (source, tag) takes the oldest matching message and leaves the others buffered.
///
/// The collectives are provided methods built on `send`/`recv_deadline` with reserved
/// tags, linear in the number of ranks: fine for control messages, and identical on both
/// back ends. Every rank must call the same collectives in the same order, from one thread.
pub trait Comm: Send + Sync {
    /// This rank.
    fn rank(&self) -> Rank;

    /// How many ranks there are.
    fn size(&self) -> usize;

    /// Send `payload` to `dest` with `tag` (at most [`MAX_USER_TAG`]). Does not wait for
    /// the receiver.
    fn send(&self, dest: Rank, tag: Tag, payload: Vec<u8>) -> Result<(), ClusterError> {
        check_user_tag(tag)?;
        self.send_reserved(dest, tag, payload)
    }

    /// Send with any tag, the collectives' reserved ones included. Back ends implement this;
    /// applications call [`Comm::send`].
    fn send_reserved(&self, dest: Rank, tag: Tag, payload: Vec<u8>) -> Result<(), ClusterError>;

    /// Receive the oldest message with `tag` from `from`, waiting until `deadline` (or for
    /// ever with `None`, unless the cluster is aborted).
    fn recv_deadline(
        &self,
        from: Source,
        tag: Tag,
        deadline: Option<Instant>,
    ) -> Result<Envelope, ClusterError>;

    /// Abort the whole cluster with a reason. Over threads, every pending and later
    /// operation on every rank fails with [`ClusterError::Aborted`]; over MPI this calls
    /// `MPI_Abort` and does not return.
    fn abort(&self, reason: &str);

    /// Receive, waiting without a deadline (only an abort ends the wait).
    fn recv(&self, from: Source, tag: Tag) -> Result<Envelope, ClusterError> {
        self.recv_deadline(from, tag, None)
    }

    /// Receive, waiting at most `timeout`.
    fn recv_timeout(
        &self,
        from: Source,
        tag: Tag,
        timeout: Duration,
    ) -> Result<Envelope, ClusterError> {
        self.recv_deadline(from, tag, Some(Instant::now() + timeout))
    }

    /// Broadcast: `root` passes its bytes, every rank returns them (the others' `data` is
    /// ignored).
    fn broadcast(
        &self,
        root: Rank,
        data: Vec<u8>,
        deadline: Option<Instant>,
    ) -> Result<Vec<u8>, ClusterError> {
        check_rank(root, self.size())?;
        if self.rank() == root {
            for dest in (0..self.size()).filter(|&r| r != root) {
                self.send_reserved(dest, TAG_BROADCAST, data.clone())?;
            }
            Ok(data)
        } else {
            Ok(self
                .recv_deadline(Source::Rank(root), TAG_BROADCAST, deadline)?
                .payload)
        }
    }

    /// Gather: every rank passes its bytes; `root` returns them all in rank order, the
    /// others return `None`.
    fn gather(
        &self,
        root: Rank,
        data: Vec<u8>,
        deadline: Option<Instant>,
    ) -> Result<Option<Vec<Vec<u8>>>, ClusterError> {
        check_rank(root, self.size())?;
        if self.rank() != root {
            self.send_reserved(root, TAG_GATHER, data)?;
            return Ok(None);
        }
        let mut all = Vec::with_capacity(self.size());
        let mut own = Some(data);
        for source in 0..self.size() {
            if source == root {
                all.push(own.take().unwrap_or_default());
            } else {
                all.push(
                    self.recv_deadline(Source::Rank(source), TAG_GATHER, deadline)?
                        .payload,
                );
            }
        }
        Ok(Some(all))
    }

    /// Barrier: returns once every rank has entered it.
    fn barrier(&self, deadline: Option<Instant>) -> Result<(), ClusterError> {
        let size = self.size();
        if self.rank() == 0 {
            for source in 1..size {
                self.recv_deadline(Source::Rank(source), TAG_BARRIER_IN, deadline)?;
            }
            for dest in 1..size {
                self.send_reserved(dest, TAG_BARRIER_OUT, Vec::new())?;
            }
        } else {
            self.send_reserved(0, TAG_BARRIER_IN, Vec::new())?;
            self.recv_deadline(Source::Rank(0), TAG_BARRIER_OUT, deadline)?;
        }
        Ok(())
    }
}

/// Fail unless `rank < size`.
pub(crate) fn check_rank(rank: Rank, size: usize) -> Result<(), ClusterError> {
    if rank < size {
        Ok(())
    } else {
        Err(ClusterError::NoSuchRank { rank, size })
    }
}

/// Fail unless `tag` is an application tag.
pub(crate) fn check_user_tag(tag: Tag) -> Result<(), ClusterError> {
    if tag <= MAX_USER_TAG {
        Ok(())
    } else {
        Err(ClusterError::BadTag(tag))
    }
}

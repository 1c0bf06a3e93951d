//! [`LocalCluster`]: ranks are threads of this process, messages go through mailboxes.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use crate::comm::{check_rank, Comm, Envelope, Rank, Source, Tag, MAX_TAG};
use crate::error::ClusterError;
use crate::mailbox::{AbortFlag, Mailbox};

/// Default stack of a rank thread: small, so that thousands of ranks fit.
pub const DEFAULT_STACK: usize = 256 * 1024;

/// A cluster of `size` ranks, each a thread of this process.
///
/// Messages are delivered straight into the receiver's [`Mailbox`](crate::mailbox): a send
/// never blocks. Mailboxes are bounded by a hard limit (65,536 unreceived messages) that a
/// protocol with bounded messages in flight never reaches; reaching it is an error, not a
/// wait, so a buggy protocol fails instead of deadlocking.
#[derive(Debug, Clone)]
pub struct LocalCluster {
    size: usize,
    stack_size: usize,
}

impl LocalCluster {
    /// A cluster of `size` ranks with the default stack size.
    pub fn new(size: usize) -> Self {
        LocalCluster {
            size,
            stack_size: DEFAULT_STACK,
        }
    }

    /// Set the stack size of each rank's thread.
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = bytes;
        self
    }

    /// The stack size each rank's thread gets (threads a rank spawns itself should use it
    /// too).
    pub fn thread_stack_size(&self) -> usize {
        self.stack_size
    }

    /// Run `f` on every rank, each on its own thread with its own [`LocalComm`], and
    /// return each rank's result in rank order.
    ///
    /// A rank that panics aborts the cluster: the other ranks' receives fail with
    /// [`ClusterError::Aborted`] instead of hanging, and the panicking rank's slot holds
    /// [`ClusterError::Panicked`].
    pub fn run<R, F>(&self, f: F) -> Vec<Result<R, ClusterError>>
    where
        R: Send,
        F: Fn(&LocalComm) -> R + Sync,
    {
        let shared = Arc::new(Shared {
            mailboxes: (0..self.size).map(Mailbox::new).collect(),
            abort: AbortFlag::default(),
        });
        let f = &f;
        std::thread::scope(|scope| {
            let mut handles = Vec::with_capacity(self.size);
            for rank in 0..self.size {
                let comm = LocalComm {
                    rank,
                    size: self.size,
                    shared: Arc::clone(&shared),
                };
                let spawned = std::thread::Builder::new()
                    .name(format!("rank-{rank}"))
                    .stack_size(self.stack_size)
                    .spawn_scoped(scope, move || {
                        match catch_unwind(AssertUnwindSafe(|| f(&comm))) {
                            Ok(r) => Ok(r),
                            Err(panic) => {
                                let message = panic_message(panic.as_ref());
                                comm.abort(&format!("panicked: {message}"));
                                Err(ClusterError::Panicked { rank, message })
                            }
                        }
                    });
                match spawned {
                    Ok(h) => handles.push(Ok(h)),
                    Err(source) => {
                        shared.abort_all(rank, "could not start every rank");
                        handles.push(Err(ClusterError::Spawn { rank, source }));
                    }
                }
            }
            handles
                .into_iter()
                .enumerate()
                .map(|(rank, h)| match h {
                    Ok(h) => h.join().unwrap_or_else(|panic| {
                        Err(ClusterError::Panicked {
                            rank,
                            message: panic_message(panic.as_ref()),
                        })
                    }),
                    Err(e) => Err(e),
                })
                .collect()
        })
    }
}

/// The text of a panic payload.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}

#[derive(Debug)]
struct Shared {
    mailboxes: Vec<Mailbox>,
    abort: AbortFlag,
}

impl Shared {
    fn abort_all(&self, rank: Rank, reason: &str) {
        self.abort.raise(rank, reason);
        for m in &self.mailboxes {
            m.wake_all();
        }
    }
}

/// One rank's endpoint of a [`LocalCluster`]. Cheap to clone; shareable between threads.
#[derive(Debug, Clone)]
pub struct LocalComm {
    rank: Rank,
    size: usize,
    shared: Arc<Shared>,
}

impl Comm for LocalComm {
    fn rank(&self) -> Rank {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn send_reserved(&self, dest: Rank, tag: Tag, payload: Vec<u8>) -> Result<(), ClusterError> {
        check_rank(dest, self.size)?;
        if tag > MAX_TAG {
            return Err(ClusterError::BadTag(tag));
        }
        self.shared.abort.check()?;
        self.shared.mailboxes[dest].push(Envelope {
            source: self.rank,
            tag,
            payload,
        })
    }

    fn recv_deadline(
        &self,
        from: Source,
        tag: Tag,
        deadline: Option<Instant>,
    ) -> Result<Envelope, ClusterError> {
        if let Source::Rank(r) = from {
            check_rank(r, self.size)?;
        }
        self.shared.mailboxes[self.rank].take(from, tag, deadline, &self.shared.abort)
    }

    fn abort(&self, reason: &str) {
        self.shared.abort_all(self.rank, reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const SOON: Duration = Duration::from_secs(20);

    #[test]
    fn ping_pong_and_any_source() {
        let results = LocalCluster::new(4).run(|c| {
            if c.rank() == 0 {
                let mut seen = Vec::new();
                for _ in 1..c.size() {
                    let e = c.recv_timeout(Source::Any, 3, SOON).unwrap();
                    c.send(e.source, 4, e.payload.clone()).unwrap();
                    seen.push(e.source);
                }
                seen.sort();
                seen
            } else {
                c.send(0, 3, vec![c.rank() as u8]).unwrap();
                let back = c.recv_timeout(Source::Rank(0), 4, SOON).unwrap();
                assert_eq!(back.payload, [c.rank() as u8]);
                vec![]
            }
        });
        assert_eq!(results[0].as_ref().unwrap(), &vec![1, 2, 3]);
    }

    #[test]
    fn collectives() {
        let d = Some(Instant::now() + SOON);
        let results = LocalCluster::new(5).run(|c| {
            let b = c.broadcast(2, vec![c.rank() as u8; 2], d).unwrap();
            assert_eq!(b, [2, 2]);
            c.barrier(d).unwrap();
            c.gather(0, vec![c.rank() as u8 * 10], d).unwrap()
        });
        let root = results[0].as_ref().unwrap().clone().unwrap();
        assert_eq!(root, vec![vec![0], vec![10], vec![20], vec![30], vec![40]]);
        assert!(results[3].as_ref().unwrap().is_none());
    }

    #[test]
    fn two_threads_of_a_rank_share_the_endpoint() {
        let results = LocalCluster::new(2).run(|c| {
            if c.rank() == 1 {
                // Out of order on purpose: tag 2 first, then tag 1.
                c.send(0, 2, vec![2]).unwrap();
                c.send(0, 1, vec![1]).unwrap();
                return 0;
            }
            std::thread::scope(|s| {
                let a = s.spawn(|| c.recv_timeout(Source::Rank(1), 1, SOON).unwrap().payload[0]);
                let b = s.spawn(|| c.recv_timeout(Source::Rank(1), 2, SOON).unwrap().payload[0]);
                a.join().unwrap() + b.join().unwrap()
            })
        });
        assert_eq!(*results[0].as_ref().unwrap(), 3);
    }

    #[test]
    fn a_panic_aborts_the_others_instead_of_hanging() {
        let results = LocalCluster::new(3).run(|c| {
            if c.rank() == 2 {
                panic!("rank two fails");
            }
            // Would wait for ever without the abort.
            c.recv(Source::Any, 1).map(|_| ())
        });
        assert!(matches!(
            results[2],
            Err(ClusterError::Panicked { rank: 2, .. })
        ));
        for r in &results[..2] {
            match r {
                Ok(Err(ClusterError::Aborted { rank: 2, .. })) => {}
                other => panic!("expected an abort, got {other:?}"),
            }
        }
    }

    #[test]
    fn reserved_tags_and_bad_ranks_are_refused() {
        let results = LocalCluster::new(1).run(|c| {
            assert!(matches!(
                c.send(0, 0x7F00, vec![]),
                Err(ClusterError::BadTag(_))
            ));
            assert!(matches!(
                c.send(5, 1, vec![]),
                Err(ClusterError::NoSuchRank { .. })
            ));
        });
        assert!(results[0].is_ok());
    }
}

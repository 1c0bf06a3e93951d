//! A rank's receive buffer: messages wait here until a receive for their (source, tag)
//! takes them, so a receive for one tag never loses messages of another.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

use crate::comm::{Envelope, Rank, Source, Tag};
use crate::error::ClusterError;

/// How many unreceived messages one mailbox may hold. The protocols on top bound their
/// messages in flight (one outstanding request per thread), far below this; reaching it
/// means a protocol bug, reported as [`ClusterError::MailboxFull`] instead of growing
/// without limit.
pub(crate) const MAILBOX_LIMIT: usize = 1 << 16;

/// The abort state shared by every rank of a cluster (or every thread of an MPI rank).
#[derive(Debug, Default)]
pub(crate) struct AbortFlag {
    set: AtomicBool,
    why: Mutex<Option<(Rank, String)>>,
}

impl AbortFlag {
    /// Record the first abort; later ones keep the first reason.
    pub(crate) fn raise(&self, rank: Rank, reason: &str) {
        let mut why = lock(&self.why);
        if why.is_none() {
            *why = Some((rank, reason.to_owned()));
        }
        self.set.store(true, Ordering::SeqCst);
    }

    /// The abort error, if aborted.
    pub(crate) fn check(&self) -> Result<(), ClusterError> {
        if !self.set.load(Ordering::SeqCst) {
            return Ok(());
        }
        let (rank, reason) = lock(&self.why).clone().unwrap_or_default();
        Err(ClusterError::Aborted { rank, reason })
    }
}

/// Lock, ignoring poisoning: the queue stays consistent because no code panics while
/// holding the lock.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One rank's mailbox.
#[derive(Debug)]
pub(crate) struct Mailbox {
    rank: Rank,
    queue: Mutex<VecDeque<Envelope>>,
    arrived: Condvar,
}

impl Mailbox {
    pub(crate) fn new(rank: Rank) -> Self {
        Mailbox {
            rank,
            queue: Mutex::new(VecDeque::new()),
            arrived: Condvar::new(),
        }
    }

    /// Deliver a message.
    pub(crate) fn push(&self, env: Envelope) -> Result<(), ClusterError> {
        let mut q = lock(&self.queue);
        if q.len() >= MAILBOX_LIMIT {
            return Err(ClusterError::MailboxFull {
                rank: self.rank,
                limit: MAILBOX_LIMIT,
            });
        }
        q.push_back(env);
        drop(q);
        self.arrived.notify_all();
        Ok(())
    }

    /// Wake every waiter (after an abort was raised), so that it sees the abort.
    pub(crate) fn wake_all(&self) {
        let _q = lock(&self.queue);
        self.arrived.notify_all();
    }

    /// Take the oldest message matching (from, tag), waiting until `deadline`.
    pub(crate) fn take(
        &self,
        from: Source,
        tag: Tag,
        deadline: Option<Instant>,
        abort: &AbortFlag,
    ) -> Result<Envelope, ClusterError> {
        let started = Instant::now();
        let mut q = lock(&self.queue);
        loop {
            abort.check()?;
            if let Some(i) = q
                .iter()
                .position(|e| e.tag == tag && from.matches(e.source))
            {
                if let Some(env) = q.remove(i) {
                    return Ok(env);
                }
            }
            q = match deadline {
                None => self.arrived.wait(q).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Err(ClusterError::Timeout {
                            rank: self.rank,
                            tag,
                            waited: now - started,
                        });
                    }
                    self.arrived
                        .wait_timeout(q, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn env(source: Rank, tag: Tag, b: u8) -> Envelope {
        Envelope {
            source,
            tag,
            payload: vec![b],
        }
    }

    #[test]
    fn matching_keeps_other_tags_and_order() {
        let m = Mailbox::new(0);
        let abort = AbortFlag::default();
        m.push(env(1, 5, 1)).unwrap();
        m.push(env(2, 7, 2)).unwrap();
        m.push(env(1, 7, 3)).unwrap();
        m.push(env(1, 5, 4)).unwrap();
        let soon = Some(Instant::now() + Duration::from_secs(5));
        assert_eq!(
            m.take(Source::Rank(1), 7, soon, &abort).unwrap().payload,
            [3]
        );
        assert_eq!(m.take(Source::Any, 5, soon, &abort).unwrap().payload, [1]);
        assert_eq!(m.take(Source::Any, 7, soon, &abort).unwrap().source, 2);
        assert_eq!(
            m.take(Source::Rank(1), 5, soon, &abort).unwrap().payload,
            [4]
        );
    }

    #[test]
    fn deadline_gives_timeout() {
        let m = Mailbox::new(3);
        let abort = AbortFlag::default();
        let err = m
            .take(Source::Any, 1, Some(Instant::now()), &abort)
            .unwrap_err();
        assert!(matches!(
            err,
            ClusterError::Timeout {
                rank: 3,
                tag: 1,
                ..
            }
        ));
    }

    #[test]
    fn abort_wins_over_waiting() {
        let m = Mailbox::new(0);
        let abort = AbortFlag::default();
        abort.raise(2, "boom");
        let err = m.take(Source::Any, 1, None, &abort).unwrap_err();
        assert!(matches!(err, ClusterError::Aborted { rank: 2, .. }));
    }
}

//! Hashing several queued pieces together: a hash-pool worker gathers pieces of the same
//! length from the queue (waiting up to the pool's linger for more) and hashes them in one
//! multi-buffer pass (`bitswarm_proto::sha1_mb`), which on a CPU with AVX-512 costs about
//! a quarter of the time per byte that hashing them one after the other does. Each piece
//! is then written and reported on its own, exactly as when hashed alone: a corrupt piece
//! in a batch fails alone.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bitswarm_proto::sha1_mb;
use crossbeam_channel::{Receiver, RecvTimeoutError, TryRecvError};

use crate::hash_pool::Job;

/// What a worker took from the queue: pieces of one length, and any of other lengths met
/// on the way (hashed one by one).
pub(crate) struct Batch {
    pub(crate) same: Vec<Job>,
    pub(crate) other: Vec<Job>,
}

/// Counts of how pieces were hashed, for tests and diagnostics.
#[derive(Debug, Default)]
pub(crate) struct BatchStats {
    /// Multi-buffer passes run.
    pub(crate) passes: AtomicU64,
    /// Pieces hashed in them.
    pub(crate) pieces: AtomicU64,
}

/// Blocks for one job, then takes up to [`sha1_mb::MAX_LANES`] - 1 more of the same
/// length: those already queued, then those arriving while pieces keep coming (each within
/// a quarter of `linger` of the previous one) and within `linger` of the first. A slow
/// download so waits at most a quarter of `linger` per piece; a fast one fills the lanes.
/// `None` once the queue is closed and empty.
pub(crate) fn gather(rx: &Receiver<Job>, linger: Duration) -> Option<Batch> {
    let first = rx.recv().ok()?;
    let len = first.data.len();
    let start = Instant::now();
    let (last_call, gap) = (start + linger, linger / 4);
    let mut arrived = start;
    let mut batch = Batch {
        same: vec![first],
        other: Vec::new(),
    };
    while batch.same.len() < sha1_mb::MAX_LANES && batch.other.len() < sha1_mb::MAX_LANES {
        let next = match rx.try_recv() {
            Ok(job) => job,
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) if linger.is_zero() => break,
            Err(TryRecvError::Empty) => match rx.recv_deadline(last_call.min(arrived + gap)) {
                Ok(job) => {
                    arrived = Instant::now();
                    job
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            },
        };
        if next.data.len() == len {
            batch.same.push(next);
        } else {
            batch.other.push(next);
        }
    }
    Some(batch)
}

/// Hash, write and report every job of `batch`.
pub(crate) fn run(batch: Batch, stats: &BatchStats) {
    let Batch { same, other } = batch;
    let segments: Vec<Vec<&[u8]>> = same.iter().map(|j| j.data.segments()).collect();
    let refs: Vec<&[&[u8]]> = segments.iter().map(Vec::as_slice).collect();
    // A bug in the multi-buffer code must not lose the jobs (their callbacks would never
    // run): hash them one by one instead.
    let digests = catch_unwind(|| sha1_mb::digest_many_segmented(&refs))
        .unwrap_or_else(|_| same.iter().map(|j| j.data.digest()).collect());
    let backend = sha1_mb::Backend::detect();
    for group in refs.chunks(backend.lanes()) {
        if backend.lanes() > 1 && group.len() >= backend.break_even() {
            stats.passes.fetch_add(1, Ordering::Relaxed);
            stats
                .pieces
                .fetch_add(group.len() as u64, Ordering::Relaxed);
        }
    }
    drop(refs);
    drop(segments);
    for (job, digest) in same.into_iter().zip(digests) {
        // A panicking `done` callback must not shrink the pool or lose the other jobs.
        let _ = catch_unwind(AssertUnwindSafe(|| job.finish(digest)));
    }
    for job in other {
        let _ = catch_unwind(AssertUnwindSafe(|| job.run()));
    }
}

//! [`HashPool`]: a fixed set of threads that verify downloaded pieces and write the good
//! ones, fed through a bounded queue so a fast network cannot pile up unverified pieces in
//! memory: when the queue is full, [`HashPool::verify_and_write`] blocks the caller.
//!
//! Callers on an async runtime should submit from a blocking context (or use
//! [`HashPool::try_verify_and_write`] and retry), never block an async worker thread.
//!
//! A worker hashes the pieces of one length it finds queued together (`hash_batch`); with
//! [`HashPool::with_batching`] it also waits a little for more, so that a fast download
//! fills the lanes of the multi-buffer SHA-1.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use crossbeam_channel::{Receiver, Sender, TrySendError};

use crate::error::StorageError;
use crate::hash_batch::{self, BatchStats};
use crate::storage::Storage;

/// What happened to a piece handed to [`HashPool::verify_and_write`].
#[derive(Debug)]
pub enum PieceOutcome {
    /// The hash matched and the piece is written (not yet fsynced).
    Verified {
        /// The piece.
        piece: u32,
    },
    /// The hash did not match; nothing was written.
    HashMismatch {
        /// The piece.
        piece: u32,
    },
    /// The hash matched but writing failed.
    WriteFailed {
        /// The piece.
        piece: u32,
        /// Why.
        error: StorageError,
    },
}

impl PieceOutcome {
    /// The piece this outcome is about.
    pub fn piece(&self) -> u32 {
        match self {
            PieceOutcome::Verified { piece }
            | PieceOutcome::HashMismatch { piece }
            | PieceOutcome::WriteFailed { piece, .. } => *piece,
        }
    }
}

/// A piece's bytes, as handed to the pool.
#[derive(Debug)]
pub enum PieceData {
    /// One buffer holding the whole piece.
    Buffer(Vec<u8>),
    /// The piece's blocks in order, as they arrived (sharing the receive buffers, never
    /// copied into one buffer): hashed one after the other, written with one vectored
    /// write per file.
    Blocks(Vec<Bytes>),
}

impl PieceData {
    pub(crate) fn digest(&self) -> [u8; 20] {
        match self {
            PieceData::Buffer(v) => bitswarm_proto::sha1::digest(v),
            PieceData::Blocks(blocks) => {
                let mut h = bitswarm_proto::sha1::Sha1::new();
                for b in blocks {
                    h.update(b);
                }
                h.finish()
            }
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        match self {
            PieceData::Buffer(v) => v.len(),
            PieceData::Blocks(blocks) => blocks.iter().map(Bytes::len).sum(),
        }
    }

    /// Whether it holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes, as the slices they are held in.
    pub(crate) fn segments(&self) -> Vec<&[u8]> {
        match self {
            PieceData::Buffer(v) => vec![&v[..]],
            PieceData::Blocks(blocks) => blocks.iter().map(|b| &b[..]).collect(),
        }
    }

    fn into_vec(self) -> Vec<u8> {
        match self {
            PieceData::Buffer(v) => v,
            PieceData::Blocks(blocks) => blocks.concat(),
        }
    }
}

/// Called with the outcome and the piece's data (to reuse or drop).
type Done = Box<dyn FnOnce(PieceOutcome, PieceData) + Send + 'static>;

pub(crate) struct Job {
    storage: Arc<Storage>,
    piece: u32,
    pub(crate) data: PieceData,
    expected: [u8; 20],
    done: Done,
}

impl Job {
    /// Hash, then [`Job::finish`].
    pub(crate) fn run(self) {
        let digest = self.data.digest();
        self.finish(digest);
    }

    /// Given the data's `digest`: write if it matches, then report.
    pub(crate) fn finish(self, digest: [u8; 20]) {
        let Job {
            storage,
            piece,
            data,
            expected,
            done,
        } = self;
        let outcome = if digest != expected {
            PieceOutcome::HashMismatch { piece }
        } else {
            let written = match &data {
                PieceData::Buffer(v) => storage.write_piece(piece, v),
                PieceData::Blocks(blocks) => storage.write_piece_blocks(piece, blocks),
            };
            match written {
                Ok(()) => PieceOutcome::Verified { piece },
                Err(error) => PieceOutcome::WriteFailed { piece, error },
            }
        };
        done(outcome, data);
    }
}

/// The queue was full; the piece is handed back.
#[derive(Debug)]
pub struct QueueFull<D = Vec<u8>> {
    /// The piece.
    pub piece: u32,
    /// Its data, untouched.
    pub data: D,
}

/// A fixed pool of hashing threads with a bounded queue (never the async threads).
///
/// Dropping the pool finishes the queued jobs, then joins the threads.
pub struct HashPool {
    sender: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
    stats: Arc<BatchStats>,
}

impl HashPool {
    /// A pool of `threads` (at least 1) threads and a queue of `queue_capacity` pieces
    /// waiting (0 makes every submission wait for a free thread).
    ///
    /// # Panics
    ///
    /// If the operating system refuses to start a thread (as `std::thread::spawn` does).
    pub fn new(threads: usize, queue_capacity: usize) -> HashPool {
        HashPool::with_batching(threads, queue_capacity, Duration::ZERO)
    }

    /// Like [`HashPool::new`], but a worker that takes a piece waits up to `linger` for
    /// more pieces of the same length (up to `bitswarm_proto::sha1_mb::MAX_LANES` in all)
    /// to hash them in one multi-buffer pass. One worker gathers at a time while the others
    /// hash, so the queue should hold at least `MAX_LANES` pieces to fill the lanes.
    ///
    /// # Panics
    ///
    /// As [`HashPool::new`].
    pub fn with_batching(threads: usize, queue_capacity: usize, linger: Duration) -> HashPool {
        let (sender, receiver) = crossbeam_channel::bounded::<Job>(queue_capacity);
        let gathering = Arc::new(Mutex::new(()));
        let stats = Arc::new(BatchStats::default());
        let workers = (0..threads.max(1))
            .map(|n| {
                let rx: Receiver<Job> = receiver.clone();
                let (gathering, stats) = (Arc::clone(&gathering), Arc::clone(&stats));
                std::thread::Builder::new()
                    .name(format!("bitswarm-hash-{n}"))
                    .spawn(move || worker(&rx, &gathering, linger, &stats))
                    .unwrap_or_else(|e| panic!("cannot start hashing thread: {e}"))
            })
            .collect();
        HashPool {
            sender: Some(sender),
            workers,
            stats,
        }
    }

    /// A pool with one thread per core and a queue of twice that many pieces.
    pub fn with_default_size() -> HashPool {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        HashPool::new(n, 2 * n)
    }

    /// Verify `data` against `expected`; if good, write it with `storage.write_piece`; then
    /// call `done` on the pool thread with the outcome. Blocks when the queue is full
    /// (back-pressure).
    pub fn verify_and_write(
        &self,
        storage: Arc<Storage>,
        piece: u32,
        data: Vec<u8>,
        expected: [u8; 20],
        done: impl FnOnce(PieceOutcome) + Send + 'static,
    ) {
        let job = Job {
            storage,
            piece,
            data: PieceData::Buffer(data),
            expected,
            done: dropping_buffer(done),
        };
        if let Some(tx) = &self.sender {
            if let Err(err) = tx.send(job) {
                // Only possible if every worker died; do the work here rather than lose it.
                err.into_inner().run();
            }
        }
    }

    /// Like [`HashPool::verify_and_write`] but never blocks: with a full queue the piece is
    /// handed back and `done` is dropped uncalled.
    pub fn try_verify_and_write(
        &self,
        storage: Arc<Storage>,
        piece: u32,
        data: Vec<u8>,
        expected: [u8; 20],
        done: impl FnOnce(PieceOutcome) + Send + 'static,
    ) -> Result<(), QueueFull> {
        self.try_submit(Job {
            storage,
            piece,
            data: PieceData::Buffer(data),
            expected,
            done: dropping_buffer(done),
        })
        .map_err(|full| QueueFull {
            piece: full.piece,
            data: full.data.into_vec(),
        })
    }

    /// Like [`HashPool::try_verify_and_write`] for a piece given as a buffer or as its
    /// blocks; `done` also gets the data back (whatever the outcome), to reuse a buffer
    /// or just drop it.
    pub fn try_verify_and_write_data(
        &self,
        storage: Arc<Storage>,
        piece: u32,
        data: PieceData,
        expected: [u8; 20],
        done: impl FnOnce(PieceOutcome, PieceData) + Send + 'static,
    ) -> Result<(), QueueFull<PieceData>> {
        self.try_submit(Job {
            storage,
            piece,
            data,
            expected,
            done: Box::new(done),
        })
    }

    fn try_submit(&self, job: Job) -> Result<(), QueueFull<PieceData>> {
        let Some(tx) = &self.sender else {
            return Err(QueueFull {
                piece: job.piece,
                data: job.data,
            });
        };
        match tx.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(job)) => Err(QueueFull {
                piece: job.piece,
                data: job.data,
            }),
            Err(TrySendError::Disconnected(job)) => {
                job.run();
                Ok(())
            }
        }
    }

    /// Pieces waiting in the queue (not those being hashed).
    pub fn queued(&self) -> usize {
        self.sender.as_ref().map_or(0, Sender::len)
    }

    /// Number of threads.
    pub fn threads(&self) -> usize {
        self.workers.len()
    }

    /// Pieces hashed together in multi-buffer passes so far, and the number of passes.
    pub fn batched(&self) -> (u64, u64) {
        (
            self.stats.pieces.load(Ordering::Relaxed),
            self.stats.passes.load(Ordering::Relaxed),
        )
    }
}

/// A callback that only wants the outcome: the piece's memory is freed before it runs
/// (it may queue more work).
fn dropping_buffer(done: impl FnOnce(PieceOutcome) + Send + 'static) -> Done {
    Box::new(move |outcome, data| {
        drop(data);
        done(outcome);
    })
}

fn worker(rx: &Receiver<Job>, gathering: &Mutex<()>, linger: Duration, stats: &BatchStats) {
    loop {
        let batch = {
            // One gatherer at a time: two would split the arriving pieces between them.
            let _turn = gathering.lock().unwrap_or_else(PoisonError::into_inner);
            match hash_batch::gather(rx, linger) {
                Some(batch) => batch,
                None => return,
            }
        };
        hash_batch::run(batch, stats);
    }
}

impl Drop for HashPool {
    fn drop(&mut self) {
        self.sender = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

//! `MpiCluster`: every rank is an MPI process (rsmpi over Open MPI), feature `mpi`.
//!
//! Each process runs one communication thread that initialises MPI, owns the world
//! communicator for its whole life and is the only thread that calls MPI (except
//! `MPI_Abort`). The application's threads talk to it through channels:
//!
//! - sends go into an unbounded channel to the communication thread (the application
//!   protocol bounds its messages in flight, as with the local back end);
//! - the communication thread polls MPI with an immediate matched probe and puts every
//!   message it receives into the rank's [`Mailbox`], where receives match (source, tag)
//!   exactly as on the local back end.
//!
//! Why a thread and not direct calls: communicators are not `Send` with Open MPI, and a
//! thread blocked in an MPI receive spins and starves the other threads on a 2-core
//! machine. When idle, the thread waits on its send channel for [`IDLE_POLL`], so it wakes
//! at once for a send and probes for incoming messages every 100 µs without spinning.
//!
//! Sends use `MPI_Isend` and keep receiving while they complete, so two ranks sending large
//! messages to each other cannot deadlock.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use mpi::point_to_point::{Destination, MatchedReceiveVec, Source as _};
use mpi::topology::Communicator;
use mpi::Threading;

use crate::comm::{check_rank, Comm, Envelope, Rank, Source, Tag, MAX_TAG};
use crate::error::ClusterError;
use crate::mailbox::{AbortFlag, Mailbox};

/// How long the idle communication thread waits for a send before probing MPI again.
pub const IDLE_POLL: Duration = Duration::from_micros(100);

/// Exit code of a world aborted by a panic.
const PANIC_EXIT: i32 = 101;

/// Whether this process was started by an MPI launcher (`mpirun`/`mpiexec`, Open MPI or
/// PMI-based). Without one, callers should not initialise MPI at all and run locally.
pub fn launched_by_mpirun() -> bool {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
}

enum Request {
    Send {
        dest: Rank,
        tag: Tag,
        payload: Vec<u8>,
    },
    Shutdown,
}

/// An MPI world: the process's rank, its communication thread and its endpoint.
pub struct MpiCluster {
    comm: MpiComm,
    thread: Option<JoinHandle<()>>,
}

impl MpiCluster {
    /// Initialise MPI with `Threading::Multiple` on a new communication thread, install a
    /// panic hook that aborts the whole world, and return this rank's cluster handle.
    /// Without a launcher this is a world of size 1.
    pub fn init() -> Result<MpiCluster, ClusterError> {
        let (out_tx, out_rx) = crossbeam_channel::unbounded::<Request>();
        let (ready_tx, ready_rx) = crossbeam_channel::bounded(1);
        let abort = Arc::new(AbortFlag::default());
        let thread = std::thread::Builder::new()
            .name("mpi-comm".into())
            .spawn(move || comm_thread(out_rx, ready_tx))
            .map_err(|e| {
                ClusterError::Mpi(format!("cannot start the communication thread: {e}"))
            })?;
        let (rank, size, mailbox) = match ready_rx.recv() {
            Ok(Ok(ready)) => ready,
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => {
                let _ = thread.join();
                return Err(ClusterError::Mpi(
                    "the communication thread died during init".into(),
                ));
            }
        };
        install_panic_hook();
        Ok(MpiCluster {
            comm: MpiComm {
                rank,
                size,
                mailbox,
                outbox: out_tx,
                abort,
            },
            thread: Some(thread),
        })
    }

    /// This rank's endpoint (shareable by reference between this process's threads).
    pub fn comm(&self) -> &MpiComm {
        &self.comm
    }

    /// The world size.
    pub fn size(&self) -> usize {
        self.comm.size
    }

    /// Wait for every rank (barrier over messages, polling politely), then stop the
    /// communication thread and finalise MPI.
    pub fn finish(mut self, deadline: Option<Instant>) -> Result<(), ClusterError> {
        let barrier = if self.comm.size > 1 {
            self.comm.barrier(deadline)
        } else {
            Ok(())
        };
        self.stop();
        barrier
    }

    fn stop(&mut self) {
        let _ = self.comm.outbox.send(Request::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for MpiCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Abort the world from any thread (`MPI_Abort` is allowed with `Threading::Multiple`).
fn abort_world(code: i32) -> ! {
    // SAFETY: MPI is initialised (only called after `init` succeeded) with
    // MPI_THREAD_MULTIPLE, so any thread may call MPI_Abort on the world communicator.
    unsafe {
        mpi::ffi::MPI_Abort(mpi::ffi::RSMPI_COMM_WORLD, code);
    }
    std::process::abort()
}

fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        eprintln!("bitswarm: a thread panicked; aborting the MPI world");
        abort_world(PANIC_EXIT);
    }));
}

type Ready = Result<(Rank, usize, Arc<Mailbox>), ClusterError>;

/// The communication thread: owns MPI from init to finalise.
fn comm_thread(outbox: Receiver<Request>, ready: Sender<Ready>) {
    let Some((universe, threading)) = mpi::initialize_with_threading(Threading::Multiple) else {
        let _ = ready.send(Err(ClusterError::Mpi("MPI was already initialised".into())));
        return;
    };
    if threading != Threading::Multiple {
        let _ = ready.send(Err(ClusterError::Mpi(format!(
            "MPI granted {threading:?} threading, Multiple is needed"
        ))));
        return;
    }
    let world = universe.world();
    let rank = world.rank() as Rank;
    let size = world.size() as usize;
    let mailbox = Arc::new(Mailbox::new(rank));
    if ready.send(Ok((rank, size, Arc::clone(&mailbox)))).is_err() {
        return;
    }
    loop {
        drain_incoming(&world, &mailbox);
        match outbox.recv_timeout(IDLE_POLL) {
            Ok(Request::Send { dest, tag, payload }) => {
                mpi::request::scope(|scope| {
                    let mut req = world.process_at_rank(dest as i32).immediate_send_with_tag(
                        scope,
                        &payload[..],
                        i32::from(tag),
                    );
                    loop {
                        match req.test() {
                            Ok(_) => break,
                            Err(pending) => {
                                req = pending;
                                drain_incoming(&world, &mailbox);
                                std::thread::yield_now();
                            }
                        }
                    }
                });
            }
            Ok(Request::Shutdown) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
    // `universe` drops here: MPI_Finalize.
}

/// Receive every message MPI has for us now into the mailbox.
fn drain_incoming(world: &mpi::topology::SimpleCommunicator, mailbox: &Mailbox) {
    while let Some(probed) = world.any_process().immediate_matched_probe() {
        let (payload, status) = probed.matched_receive_vec::<u8>();
        let env = Envelope {
            source: status.source_rank() as Rank,
            tag: status.tag() as Tag,
            payload,
        };
        if let Err(e) = mailbox.push(env) {
            eprintln!("bitswarm: {e}");
            abort_world(2);
        }
    }
}

/// One rank's endpoint of an [`MpiCluster`]; `Send + Sync`, shared by reference.
pub struct MpiComm {
    rank: Rank,
    size: usize,
    mailbox: Arc<Mailbox>,
    outbox: Sender<Request>,
    abort: Arc<AbortFlag>,
}

impl Comm for MpiComm {
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
        self.outbox
            .send(Request::Send { dest, tag, payload })
            .map_err(|_| ClusterError::CommThreadGone(self.rank))
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
        self.mailbox.take(from, tag, deadline, &self.abort)
    }

    /// Print the reason and abort the whole MPI world (does not return).
    fn abort(&self, reason: &str) {
        self.abort.raise(self.rank, reason);
        eprintln!("bitswarm: error: {reason}");
        abort_world(2);
    }
}

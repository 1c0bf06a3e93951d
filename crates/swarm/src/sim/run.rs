//! [`run_rank`]: what every rank runs, whatever the back end; and the tracker's loop.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bitswarm_cluster::{Comm, Source};

use super::client::{guarded, run_client};
use super::error::SimError;
use super::message::{ClientStats, Message, TAG_FROM_TRACKER, TAG_TO_TRACKER, TAG_UPLOAD};
use super::report::{ClientReport, SimReport};
use super::tracker::{Tracker, TrackerCounts, TrackerOutput};
use super::validate::validate_inputs;

/// Settings shared by every rank.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Folder of the `in<R>.txt` files, where the `client<R>_<file>` files are written.
    pub dir: PathBuf,
    /// The whole run must end within this time; every receive waits at most until then.
    pub timeout: Duration,
    /// Stack size of the threads a rank starts (its upload thread).
    pub stack_size: usize,
}

impl SimConfig {
    /// Settings for `dir` with a 120 s timeout and 256 KiB thread stacks.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        SimConfig {
            dir: dir.into(),
            timeout: Duration::from_secs(120),
            stack_size: 256 * 1024,
        }
    }
}

/// Run the simulation's part of this rank: rank 0 is the tracker and returns the report,
/// the others are clients and return `None`.
///
/// 1. Rank 0 validates every in-file and broadcasts the verdict; on bad input every rank
///    returns an error without writing anything (rank 0's is the one to show).
/// 2. Clients register their owned files; the tracker broadcasts the ACK once all have.
/// 3. Clients download and serve; the tracker answers until everyone is done, then stops
///    every upload thread.
/// 4. Rank 0 gathers every client's counters.
///
/// Any other failure aborts the cluster, so no rank waits for a failed one.
pub fn run_rank<C: Comm + ?Sized>(
    comm: &C,
    cfg: &SimConfig,
) -> Result<Option<SimReport>, SimError> {
    let started = Instant::now();
    let deadline = started + cfg.timeout;
    if comm.size() < 2 {
        return Err(SimError::TooFewRanks(comm.size()));
    }
    guarded(comm, || {
        input_gate(comm, cfg, deadline)?;
        if comm.rank() == 0 {
            let counts = run_tracker(comm, deadline)?;
            let all = comm
                .gather(0, Vec::new(), Some(deadline))?
                .unwrap_or_default();
            let mut clients = Vec::with_capacity(all.len());
            for (rank, bytes) in all.iter().enumerate().skip(1) {
                match Message::decode(bytes) {
                    Ok(Message::Stats(s)) => clients.push(ClientReport::new(rank, s)),
                    other => {
                        return Err(SimError::Unexpected {
                            rank: 0,
                            from: rank,
                            what: format!("{other:?} instead of statistics"),
                        })
                    }
                }
            }
            let wall = started.elapsed().as_secs_f64();
            Ok(Some(SimReport::new(comm.size(), clients, counts, wall)))
        } else {
            let stats: ClientStats = run_client(comm, cfg, deadline)?;
            comm.gather(0, Message::Stats(stats).encode(), Some(deadline))?;
            Ok(None)
        }
    })
}

/// Step 1: rank 0 validates all in-files, every rank learns the verdict.
fn input_gate<C: Comm + ?Sized>(
    comm: &C,
    cfg: &SimConfig,
    deadline: Instant,
) -> Result<(), SimError> {
    let mut own_error = None;
    let verdict = if comm.rank() == 0 {
        match validate_inputs(&cfg.dir, comm.size() - 1) {
            Ok(_) => Message::InputOk,
            Err(e) => {
                let reason = e.to_string();
                own_error = Some(e);
                Message::InputRejected { reason }
            }
        }
        .encode()
    } else {
        Vec::new()
    };
    let verdict = comm.broadcast(0, verdict, Some(deadline))?;
    if let Some(e) = own_error {
        return Err(SimError::Input(e));
    }
    match Message::decode(&verdict) {
        Ok(Message::InputOk) => Ok(()),
        Ok(Message::InputRejected { reason }) => Err(SimError::InputRejected { reason }),
        other => Err(SimError::Unexpected {
            rank: comm.rank(),
            from: 0,
            what: format!("{other:?} instead of the input verdict"),
        }),
    }
}

/// Drive a [`Tracker`] with messages from the clients until every client is done.
pub fn run_tracker<C: Comm + ?Sized>(
    comm: &C,
    deadline: Instant,
) -> Result<TrackerCounts, SimError> {
    let clients = comm.size() - 1;
    let mut tracker = Tracker::new(clients);
    while !tracker.finished() {
        let env = comm.recv_deadline(Source::Any, TAG_TO_TRACKER, Some(deadline))?;
        let msg = Message::decode(&env.payload).map_err(|source| SimError::Decode {
            from: env.source,
            source,
        })?;
        for out in tracker.handle(env.source, msg)? {
            match out {
                TrackerOutput::Reply(to, m) => comm.send(to, TAG_FROM_TRACKER, m.encode())?,
                TrackerOutput::StartAll => {
                    comm.broadcast(0, Message::Ack.encode(), Some(deadline))?;
                }
                TrackerOutput::StopAll => {
                    for r in 1..=clients {
                        comm.send(r, TAG_UPLOAD, Message::Stop.encode())?;
                    }
                }
            }
        }
    }
    Ok(tracker.counts().clone())
}

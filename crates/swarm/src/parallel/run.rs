//! [`run_rank`]: every rank's entry point. With one rank, rank 0 downloads itself; with
//! more, rank 0 coordinates and ranks 1.. are workers. Any rank that fails aborts the
//! cluster so that no rank waits for ever.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bitswarm_cluster::{ClusterError, Comm, Source};
use bitswarm_proto::Metainfo;

use super::board::{Board, Verdict};
use super::coordinator::run_coordinator;
use super::error::ParallelError;
use super::messages::{
    decode, encode, Hello, Input, Status, Stop, Task, TAG_HELLO, TAG_PEERS, TAG_STATUS, TAG_STOP,
    TAG_SUMMARY,
};
use super::progress::ProgressSink;
use super::summary::{Outcome, ParallelReport, WorkerSummary, INTERRUPTED};
use super::worker::{run_worker, Control, WorkerSetup};

/// How long a worker waits for the other workers' addresses.
const PEERS_TIMEOUT: Duration = Duration::from_secs(150);

/// What a rank needs to take part.
pub struct RunOptions<'a> {
    /// The input and options; only rank 0's is used (the others receive it), so other
    /// ranks pass `None`.
    pub task: Option<Task>,
    /// A worker without progress this long is failed.
    pub stall_timeout: Duration,
    /// Where rank 0's live progress goes.
    pub progress: &'a dyn ProgressSink,
    /// Set (e.g. by a Ctrl-C handler) to stop every rank cleanly.
    pub stop: &'a AtomicBool,
    /// `"local"` or `"mpi"`, for the report.
    pub backend: &'a str,
}

/// Parses the task's torrent. Magnet links need metadata exchange, which the engine
/// does not do yet.
pub fn parse_task(task: &Task) -> Result<Arc<Metainfo>, ParallelError> {
    match &task.input {
        Input::Torrent(bytes) => Metainfo::from_bytes(bytes)
            .map(Arc::new)
            .map_err(|e| ParallelError::Input(format!("not a usable torrent: {e}"))),
        Input::Magnet(_) => Err(ParallelError::Input(
            "magnet links need metadata exchange (not implemented yet); download the .torrent file instead".into(),
        )),
    }
}

/// Runs one rank. Rank 0 returns `Some(report)`, workers `None`.
pub fn run_rank<C: Comm + ?Sized>(
    comm: &C,
    opts: &RunOptions<'_>,
) -> Result<Option<ParallelReport>, ParallelError> {
    let result = if comm.size() == 1 {
        run_alone(opts).map(Some)
    } else if comm.rank() == 0 {
        run_coordinator(comm, opts).map(Some)
    } else {
        run_cluster_worker(comm, opts).map(|()| None)
    };
    if let Err(e) = &result {
        if !e.is_echo_of_abort() {
            comm.abort(&format!("rank {}: {e}", comm.rank()));
        }
    }
    result
}

/// A worker rank: receive the task, download, send the summary.
fn run_cluster_worker<C: Comm + ?Sized>(
    comm: &C,
    opts: &RunOptions<'_>,
) -> Result<(), ParallelError> {
    let task = Task::decode(&comm.broadcast(0, Vec::new(), None)?)?;
    let meta = parse_task(&task)?;
    let setup = WorkerSetup {
        rank: comm.rank(),
        index: (comm.rank() - 1) as u32,
        count: (comm.size() - 1) as u32,
        first_rank: 1,
        meta,
        options: task.options,
    };
    let ctl = ClusterControl {
        comm,
        stop: opts.stop,
    };
    let summary = run_worker(&setup, &ctl)?;
    comm.send(0, TAG_SUMMARY, encode(&summary))?;
    Ok(())
}

/// A worker's line to rank 0 over the cluster.
struct ClusterControl<'a, C: Comm + ?Sized> {
    comm: &'a C,
    stop: &'a AtomicBool,
}

impl<C: Comm + ?Sized> Control for ClusterControl<'_, C> {
    fn report(&self, status: &Status) -> Result<(), ParallelError> {
        Ok(self.comm.send(0, TAG_STATUS, encode(status))?)
    }

    fn stop_requested(&self) -> Result<Option<Stop>, ParallelError> {
        match self
            .comm
            .recv_deadline(Source::Rank(0), TAG_STOP, Some(Instant::now()))
        {
            Ok(env) => Ok(Some(decode(&env.payload)?)),
            // Under mpirun the signal reaches every rank: stop on our own, rank 0 will
            // still collect the summary.
            Err(ClusterError::Timeout { .. }) if self.stop.load(Ordering::Relaxed) => {
                Ok(Some(Stop::Interrupted))
            }
            Err(ClusterError::Timeout { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn exchange(&self, hello: Hello) -> Result<Vec<Hello>, ParallelError> {
        self.comm.send(0, TAG_HELLO, encode(&hello))?;
        let env = self
            .comm
            .recv_timeout(Source::Rank(0), TAG_PEERS, PEERS_TIMEOUT)?;
        decode(&env.payload)
    }
}

/// One rank: rank 0 downloads itself, with the same progress, stall detection and
/// report as a coordinator.
fn run_alone(opts: &RunOptions<'_>) -> Result<ParallelReport, ParallelError> {
    let started = Instant::now();
    let task = opts
        .task
        .as_ref()
        .ok_or_else(|| ParallelError::Input("rank 0 has no task".into()))?;
    let meta = parse_task(task)?;
    let setup = WorkerSetup {
        rank: 0,
        index: 0,
        count: 1,
        first_rank: 0,
        meta: meta.clone(),
        options: task.options.clone(),
    };
    let ctl = LocalControl {
        board: Mutex::new(Board::new([0], opts.stall_timeout, started)),
        opts,
        last_draw: Mutex::new(None),
    };
    let summary = run_worker(&setup, &ctl)?;
    let board = ctl.board.into_inner().unwrap_or_else(|p| p.into_inner());
    opts.progress.finish(&board.snapshot(Instant::now()));
    let mut row: WorkerSummary = summary;
    if let (false, Some(Verdict::Failed(why))) = (row.outcome.is_success(), board.verdict(0)) {
        row.outcome = Outcome::Failed(why.clone());
    }
    Ok(ParallelReport::new(
        meta.info().name().to_owned(),
        task.options.mode,
        opts.backend,
        meta.info().content_length(),
        started.elapsed().as_secs_f64(),
        vec![row],
    ))
}

/// Rank 0's own worker reports straight into its board.
struct LocalControl<'a> {
    board: Mutex<Board>,
    opts: &'a RunOptions<'a>,
    last_draw: Mutex<Option<Instant>>,
}

impl Control for LocalControl<'_> {
    fn report(&self, status: &Status) -> Result<(), ParallelError> {
        let now = Instant::now();
        if let Ok(mut b) = self.board.lock() {
            b.on_status(status.clone(), now);
            if let Ok(mut last) = self.last_draw.lock() {
                if last.is_none_or(|t| now.duration_since(t) >= Duration::from_millis(900)) {
                    *last = Some(now);
                    self.opts.progress.update(&b.snapshot(now));
                }
            }
        }
        Ok(())
    }

    fn stop_requested(&self) -> Result<Option<Stop>, ParallelError> {
        if self.opts.stop.load(Ordering::Relaxed) {
            if let Ok(mut b) = self.board.lock() {
                b.fail_running(INTERRUPTED);
            }
            return Ok(Some(Stop::Interrupted));
        }
        let Ok(mut b) = self.board.lock() else {
            return Ok(Some(Stop::Finished));
        };
        if !b.take_stalled(Instant::now()).is_empty() {
            return Ok(Some(Stop::Stalled(self.opts.stall_timeout.as_secs())));
        }
        Ok(b.all_resolved().then_some(Stop::Finished))
    }

    fn exchange(&self, hello: Hello) -> Result<Vec<Hello>, ParallelError> {
        Ok(vec![hello])
    }
}

//! Rank 0: broadcasts the task, relays the workers' addresses (cooperative mode),
//! follows their statuses on a [`Board`] (progress display, stall detection, Ctrl-C),
//! stops them when everything is resolved, and gathers their summaries into the report.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bitswarm_cluster::{ClusterError, Comm, Source};

use super::board::{Board, Verdict};
use super::error::ParallelError;
use super::messages::{
    decode, decode_summary, encode, Hello, Mode, Status, Stop, TAG_HELLO, TAG_PEERS, TAG_STATUS,
    TAG_STOP, TAG_SUMMARY,
};
use super::run::{parse_task, RunOptions};
use super::summary::{Outcome, ParallelReport, WorkerSummary, INTERRUPTED};

/// Longest wait for every worker's address.
const HELLO_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest wait for the summaries after the stop (sessions announce `stopped` and save
/// resume data first).
const SUMMARY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one receive of statuses waits.
const STATUS_WAIT: Duration = Duration::from_millis(200);

/// Runs rank 0 of a cluster of at least 2 ranks.
pub fn run_coordinator<C: Comm + ?Sized>(
    comm: &C,
    opts: &RunOptions<'_>,
) -> Result<ParallelReport, ParallelError> {
    let started = Instant::now();
    let task = opts
        .task
        .as_ref()
        .ok_or_else(|| ParallelError::Input("rank 0 has no task".into()))?;
    // Fails for a broken torrent or magnet link before any worker starts.
    let target = parse_task(task)?;
    comm.broadcast(0, task.encode(), None)?;
    let workers: Vec<usize> = (1..comm.size()).collect();
    if task.options.mode == Mode::Cooperative && workers.len() > 1 {
        exchange_addresses(comm, &workers)?;
    }
    let mut board = Board::new(workers.iter().copied(), opts.stall_timeout, Instant::now());
    let mut stopped: HashSet<usize> = HashSet::new();
    let mut interrupted = false;
    let mut last_draw: Option<Instant> = None;
    loop {
        receive_statuses(comm, &mut board)?;
        let now = Instant::now();
        if !interrupted && opts.stop.load(Ordering::Relaxed) {
            interrupted = true;
            board.fail_running(INTERRUPTED);
        }
        for rank in board.take_stalled(now) {
            let secs = opts.stall_timeout.as_secs();
            comm.send(rank, TAG_STOP, encode(&Stop::Stalled(secs)))?;
            stopped.insert(rank);
        }
        // A worker that reported its own failure stops now (cooperative workers that are
        // complete keep serving the others until the end).
        for &rank in &workers {
            if matches!(board.verdict(rank), Some(Verdict::Failed(_))) && stopped.insert(rank) {
                let stop = if interrupted {
                    Stop::Interrupted
                } else {
                    Stop::Finished
                };
                comm.send(rank, TAG_STOP, encode(&stop))?;
            }
        }
        if last_draw.is_none_or(|t| t.elapsed() >= Duration::from_millis(900)) {
            last_draw = Some(now);
            opts.progress.update(&board.snapshot(now));
        }
        if board.all_resolved() {
            break;
        }
    }
    let stop = if interrupted {
        Stop::Interrupted
    } else {
        Stop::Finished
    };
    for &rank in &workers {
        if stopped.insert(rank) {
            comm.send(rank, TAG_STOP, encode(&stop))?;
        }
    }
    let mut rows = gather_summaries(comm, &workers)?;
    for row in &mut rows {
        if let Some(Verdict::Failed(why)) = board.verdict(row.rank) {
            // Rank 0's reason (stalled, interrupted) wins over the worker's own view.
            if row.outcome.is_success() && why == INTERRUPTED {
                continue;
            }
            row.outcome = Outcome::Failed(why.clone());
        }
    }
    receive_statuses_now(comm, &mut board)?;
    opts.progress.finish(&board.snapshot(Instant::now()));
    Ok(ParallelReport::new(
        target.name(&rows),
        task.options.mode,
        opts.backend,
        target.size(&rows),
        started.elapsed().as_secs_f64(),
        rows,
    ))
}

/// Collects every worker's [`Hello`] and sends the whole list to each.
fn exchange_addresses<C: Comm + ?Sized>(comm: &C, workers: &[usize]) -> Result<(), ParallelError> {
    let deadline = Instant::now() + HELLO_TIMEOUT;
    let mut hellos: Vec<Hello> = Vec::with_capacity(workers.len());
    while hellos.len() < workers.len() {
        let env = comm
            .recv_deadline(Source::Any, TAG_HELLO, Some(deadline))
            .map_err(|e| match e {
                ClusterError::Timeout { .. } => ParallelError::Protocol(format!(
                    "only {} of {} workers sent their address within {} s",
                    hellos.len(),
                    workers.len(),
                    HELLO_TIMEOUT.as_secs()
                )),
                e => e.into(),
            })?;
        let mut hello: Hello = decode(&env.payload)?;
        // The envelope says who sent it; do not trust the payload for that.
        hello.rank = env.source;
        if !hellos.iter().any(|h| h.rank == hello.rank) {
            hellos.push(hello);
        }
    }
    hellos.sort_by_key(|h| h.rank);
    let list = encode(&hellos);
    for &rank in workers {
        comm.send(rank, TAG_PEERS, list.clone())?;
    }
    Ok(())
}

/// Waits a little for a status, then takes every status already there.
fn receive_statuses<C: Comm + ?Sized>(comm: &C, board: &mut Board) -> Result<(), ParallelError> {
    match comm.recv_timeout(Source::Any, TAG_STATUS, STATUS_WAIT) {
        Ok(env) => on_status(board, env.source, &env.payload),
        Err(ClusterError::Timeout { .. }) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    receive_statuses_now(comm, board)
}

/// Takes every status already received, without waiting.
fn receive_statuses_now<C: Comm + ?Sized>(
    comm: &C,
    board: &mut Board,
) -> Result<(), ParallelError> {
    loop {
        match comm.recv_deadline(Source::Any, TAG_STATUS, Some(Instant::now())) {
            Ok(env) => on_status(board, env.source, &env.payload),
            Err(ClusterError::Timeout { .. }) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
}

fn on_status(board: &mut Board, source: usize, payload: &[u8]) {
    // A status that does not decode is dropped: the stall detector catches a worker that
    // only ever sends garbage.
    if let Ok(mut status) = decode::<Status>(payload) {
        status.rank = source;
        board.on_status(status, Instant::now());
    }
}

/// Receives every worker's summary; a worker that does not answer in time gets a
/// failed row.
fn gather_summaries<C: Comm + ?Sized>(
    comm: &C,
    workers: &[usize],
) -> Result<Vec<WorkerSummary>, ParallelError> {
    let deadline = Instant::now() + SUMMARY_TIMEOUT;
    let mut rows: Vec<WorkerSummary> = Vec::with_capacity(workers.len());
    while rows.len() < workers.len() {
        match comm.recv_deadline(Source::Any, TAG_SUMMARY, Some(deadline)) {
            Ok(env) => {
                let mut row = decode_summary(&env.payload).unwrap_or_else(|e| {
                    WorkerSummary::missing(env.source, format!("unreadable summary: {e}"))
                });
                row.rank = env.source;
                if !rows.iter().any(|r| r.rank == row.rank) {
                    rows.push(row);
                }
            }
            Err(ClusterError::Timeout { .. }) => break,
            Err(e) => return Err(e.into()),
        }
    }
    for &rank in workers {
        if !rows.iter().any(|r| r.rank == rank) {
            rows.push(WorkerSummary::missing(
                rank,
                format!(
                    "no summary within {} s of the stop",
                    SUMMARY_TIMEOUT.as_secs()
                ),
            ));
        }
    }
    Ok(rows)
}

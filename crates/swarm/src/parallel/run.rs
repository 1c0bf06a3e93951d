//! [`run_rank`]: every rank's entry point. With one rank, rank 0 downloads itself; with
//! more, rank 0 coordinates and ranks 1.. are workers. Any rank that fails aborts the
//! cluster so that no rank waits for ever.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bitswarm_cluster::{ClusterError, Comm, Source};
use bitswarm_proto::{Magnet, Metainfo};

use super::board::{Board, Verdict};
use super::coordinator::run_coordinator;
use super::error::ParallelError;
use super::messages::{
    decode, encode, Hello, Input, Status, Stop, Task, TAG_HELLO, TAG_PEERS, TAG_STATUS, TAG_STOP,
    TAG_SUMMARY,
};
use super::progress::ParallelSink;
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
    pub progress: &'a ParallelSink,
    /// Set (e.g. by a Ctrl-C handler) to stop every rank cleanly.
    pub stop: &'a AtomicBool,
    /// `"local"` or `"mpi"`, for the report.
    pub backend: &'a str,
}

/// What the workers download, as rank 0 checked it before any worker starts.
#[derive(Clone, Debug)]
pub enum Target {
    /// A parsed torrent.
    Torrent(Arc<Metainfo>),
    /// A magnet link: every worker fetches the metadata (BEP 9) with its own session.
    Magnet(Magnet),
}

impl Target {
    /// The name for the report: the torrent's, else the name a worker fetched, else the
    /// magnet's `dn`, else its info-hash.
    pub fn name(&self, rows: &[WorkerSummary]) -> String {
        match self {
            Target::Torrent(meta) => meta.info().name().to_owned(),
            Target::Magnet(m) => rows
                .iter()
                .find_map(|r| r.name.clone())
                .or_else(|| m.display_name.clone())
                .unwrap_or_else(|| m.info_hash.to_hex()),
        }
    }

    /// The content size for the report: the torrent's, else the largest size a worker
    /// wanted (0 if no worker got the metadata).
    pub fn size(&self, rows: &[WorkerSummary]) -> u64 {
        match self {
            Target::Torrent(meta) => meta.info().content_length(),
            Target::Magnet(_) => rows.iter().map(|r| r.wanted).max().unwrap_or(0),
        }
    }
}

/// Checks the task's input: a torrent must parse; a magnet link must parse and name a
/// place to fetch its metadata from (`x.pe`, `tr`, or `--peer`), since workers run
/// without DHT.
pub fn parse_task(task: &Task) -> Result<Target, ParallelError> {
    match &task.input {
        Input::Torrent(bytes) => Metainfo::from_bytes(bytes)
            .map(|m| Target::Torrent(Arc::new(m)))
            .map_err(|e| ParallelError::Input(format!("not a usable torrent: {e}"))),
        Input::Magnet(link) => {
            let magnet = Magnet::parse(link)
                .map_err(|e| ParallelError::Input(format!("invalid magnet link: {e}")))?;
            if magnet.peer_addrs().is_empty()
                && magnet.trackers.is_empty()
                && task.options.peers.is_empty()
            {
                return Err(ParallelError::Input(
                    "the magnet link names no peer (x.pe=) or tracker (tr=) and no --peer was given: the workers have nowhere to fetch its metadata from".into(),
                ));
            }
            Ok(Target::Magnet(magnet))
        }
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
    let target = parse_task(&task)?;
    let setup = WorkerSetup {
        rank: comm.rank(),
        index: (comm.rank() - 1) as u32,
        count: (comm.size() - 1) as u32,
        first_rank: 1,
        target,
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
    let target = parse_task(task)?;
    let setup = WorkerSetup {
        rank: 0,
        index: 0,
        count: 1,
        first_rank: 0,
        target: target.clone(),
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
    let rows = vec![row];
    Ok(ParallelReport::new(
        target.name(&rows),
        task.options.mode,
        opts.backend,
        target.size(&rows),
        started.elapsed().as_secs_f64(),
        rows,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parallel::messages::WorkerOptions;

    const HASH: &str = "0123456789abcdef0123456789abcdef01234567";

    fn task(input: Input, peers: Vec<std::net::SocketAddr>) -> Task {
        Task {
            input,
            options: WorkerOptions {
                peers,
                ..WorkerOptions::default()
            },
        }
    }

    fn row(name: Option<&str>, wanted: u64) -> WorkerSummary {
        WorkerSummary {
            wanted,
            name: name.map(str::to_owned),
            ..WorkerSummary::missing(1, "x")
        }
    }

    #[test]
    fn a_magnet_needs_somewhere_to_fetch_its_metadata_from() {
        let bare = Input::Magnet(format!("magnet:?xt=urn:btih:{HASH}"));
        let err = parse_task(&task(bare.clone(), vec![])).expect_err("no source");
        assert!(err.to_string().contains("nowhere to fetch"), "{err}");
        let peer = "127.0.0.1:6881".parse().expect("addr");
        assert!(matches!(
            parse_task(&task(bare, vec![peer])),
            Ok(Target::Magnet(_))
        ));
        for link in [
            format!("magnet:?xt=urn:btih:{HASH}&x.pe=127.0.0.1:1"),
            format!("magnet:?xt=urn:btih:{HASH}&tr=http://127.0.0.1:1/announce"),
        ] {
            assert!(
                matches!(
                    parse_task(&task(Input::Magnet(link.clone()), vec![])),
                    Ok(Target::Magnet(_))
                ),
                "{link}"
            );
        }
        let bad = parse_task(&task(
            Input::Magnet("magnet:?xt=urn:btih:zz".into()),
            vec![],
        ))
        .expect_err("bad hash");
        assert!(bad.to_string().starts_with("invalid magnet link"), "{bad}");
        let junk = parse_task(&task(Input::Torrent(b"d4:junke".to_vec()), vec![]))
            .expect_err("junk torrent");
        assert!(
            junk.to_string().starts_with("not a usable torrent"),
            "{junk}"
        );
    }

    #[test]
    fn a_magnet_report_is_named_after_the_fetched_torrent() {
        let named = format!("magnet:?xt=urn:btih:{HASH}&dn=link-name&x.pe=127.0.0.1:1");
        let Ok(target) = parse_task(&task(Input::Magnet(named), vec![])) else {
            panic!("valid magnet")
        };
        let rows = [row(None, 0), row(Some("fetched.bin"), 42), row(None, 7)];
        assert_eq!(target.name(&rows), "fetched.bin");
        assert_eq!(target.size(&rows), 42);
        // No worker got the metadata: the link's dn, else the info-hash.
        assert_eq!(target.name(&[row(None, 0)]), "link-name");
        assert_eq!(target.size(&[]), 0);
        let bare = format!("magnet:?xt=urn:btih:{HASH}&x.pe=127.0.0.1:1");
        let Ok(target) = parse_task(&task(Input::Magnet(bare), vec![])) else {
            panic!("valid magnet")
        };
        assert_eq!(target.name(&[]), HASH);
    }
}

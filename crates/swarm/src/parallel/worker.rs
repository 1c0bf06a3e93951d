//! One worker: its own session (own port, own hashing threads, own folder and resume
//! data), the address exchange and piece share of cooperative mode, a status report
//! about once a second, and a clean stop (resume data saved) when rank 0 says so.
//!
//! How the worker talks to rank 0 is behind [`Control`]: over the cluster for ranks ≥ 1,
//! or straight into rank 0's own board when rank 0 downloads alone.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bitswarm_net::cooperation::{Cooperation, Member, PieceShare};
use bitswarm_net::magnet::FetchedMetadata;
use bitswarm_net::{AddTorrent, Session, SessionConfig, TorrentHandle, TorrentState, TorrentStats};
use bitswarm_proto::Magnet;

use super::error::ParallelError;
use super::messages::{Hello, Mode, Status, Stop, WorkerOptions, WorkerState};
use super::run::Target;
use super::summary::{Outcome, WorkerSummary, INTERRUPTED};

/// How often the worker looks for a stop message.
const POLL: Duration = Duration::from_millis(200);
/// Longest wait for the session to stop (announce `stopped`, save resume data).
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// Most distinct peer addresses remembered for "peers seen".
const MAX_PEERS_SEEN: usize = 100_000;

/// The worker's line to rank 0.
pub trait Control {
    /// Sends a status report.
    fn report(&self, status: &Status) -> Result<(), ParallelError>;
    /// Whether rank 0 (or the user) asked this worker to stop; does not wait.
    fn stop_requested(&self) -> Result<Option<Stop>, ParallelError>;
    /// Cooperative mode: sends our address, returns every worker's.
    fn exchange(&self, hello: Hello) -> Result<Vec<Hello>, ParallelError>;
}

/// Who this worker is.
#[derive(Clone, Debug)]
pub struct WorkerSetup {
    /// Its rank.
    pub rank: usize,
    /// Its index among the workers, `0..count` (its piece share).
    pub index: u32,
    /// How many workers there are.
    pub count: u32,
    /// The rank of the worker with index 0 (index = rank - first_rank).
    pub first_rank: usize,
    /// The torrent, or the magnet link to fetch it from.
    pub target: Target,
    /// The options from rank 0.
    pub options: WorkerOptions,
}

impl WorkerSetup {
    /// The folder this worker downloads into.
    pub fn folder(&self) -> PathBuf {
        match &self.options.shared_dir {
            Some(dir) => dir.clone(),
            None => self
                .options
                .output
                .join(format!("rank_{}_download", self.rank)),
        }
    }

    fn cooperative(&self) -> bool {
        self.options.mode == Mode::Cooperative
            && (self.count > 1 || self.options.shared_dir.is_some())
    }

    fn session_config(&self) -> SessionConfig {
        let o = &self.options;
        let port = if o.base_port == 0 {
            0
        } else {
            o.base_port.saturating_add(self.rank as u16)
        };
        SessionConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], port)),
            download_limit: o.download_limit.filter(|r| *r > 0),
            upload_limit: o.upload_limit.filter(|r| *r > 0),
            max_peers: o.max_peers.max(1),
            peer_check_interval: Duration::from_secs(o.peer_check_interval_secs.max(1)),
            max_failcount: o.max_failcount.max(1),
            max_announce_interval: o.announce_interval_secs.map(Duration::from_secs),
            encryption: o.encryption,
            handshake_timeout: Duration::from_secs(o.handshake_timeout_secs.max(1)),
            ..SessionConfig::default()
        }
    }
}

/// Runs the worker to the end and returns its summary (failures included).
pub fn run_worker(setup: &WorkerSetup, ctl: &dyn Control) -> Result<WorkerSummary, ParallelError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(ParallelError::Runtime)?;
    runtime.block_on(run(setup, ctl))
}

async fn run(setup: &WorkerSetup, ctl: &dyn Control) -> Result<WorkerSummary, ParallelError> {
    let t0 = Instant::now();
    let folder = setup.folder();
    let fail = |why: String| WorkerSummary {
        folder: folder.display().to_string(),
        ..WorkerSummary::missing(setup.rank, why)
    };
    let session = match Session::new(setup.session_config()).await {
        Ok(s) => s,
        Err(e) => {
            // The others still wait for our address.
            if setup.cooperative() && setup.count > 1 {
                ctl.exchange(Hello {
                    rank: setup.rank,
                    addr: None,
                    peer_id: [0; 20],
                })?;
            }
            return Ok(fail(format!("cannot start a session: {e}")));
        }
    };
    let me = Hello {
        rank: setup.rank,
        addr: Some(SocketAddr::new(
            setup.options.advertise_ip.resolve(),
            session.local_addr().port(),
        )),
        peer_id: session.peer_id().0,
    };
    let others: Vec<Hello> = if setup.cooperative() && setup.count > 1 {
        ctl.exchange(me)?
            .into_iter()
            .filter(|h| h.rank != setup.rank && h.addr.is_some())
            .collect()
    } else {
        Vec::new()
    };
    let (meta, fetched) = match &setup.target {
        Target::Torrent(meta) => (meta.clone(), None),
        Target::Magnet(magnet) => match fetch_metadata(&session, magnet, setup, ctl, t0).await {
            Ok(Fetch::Fetched(f)) => (f.metainfo.clone(), Some(f)),
            Ok(Fetch::Stopped(stop)) => {
                session.shutdown().await;
                return Ok(fail(stopped_reason(&stop, "before the metadata came")));
            }
            Ok(Fetch::Failed(why)) => {
                session.shutdown().await;
                return Ok(fail(why));
            }
            Err(e) => {
                session.shutdown().await;
                return Err(e);
            }
        },
    };
    let mut add = AddTorrent::download(meta.clone(), folder.clone());
    add.extra_peers = setup.options.peers.clone();
    if let Some(f) = &fetched {
        // Peers the metadata search found (trackers, x.pe), not those that lied.
        add.extra_peers.retain(|p| !f.refused.contains(p));
        add.extra_peers.extend(f.peers.iter().copied());
    }
    // Dial only the workers of lower rank: the others dial us. Two workers dialling each
    // other at once could each drop one connection as a duplicate, and lose both.
    add.extra_peers.extend(
        others
            .iter()
            .filter(|h| h.rank < setup.rank)
            .filter_map(|h| h.addr),
    );
    // A cooperative worker keeps serving the others after it completes, until rank 0
    // stops everyone.
    add.seed_after = setup.cooperative();
    add.recheck = setup.options.recheck;
    let handle = match session.add_torrent(add).await {
        Ok(h) => h,
        Err(e) => {
            session.shutdown().await;
            return Ok(fail(format!("cannot add the torrent: {e}")));
        }
    };
    if let Some(f) = fetched.as_ref().filter(|f| !f.refused.is_empty()) {
        if let Err(e) = handle.penalise_bad_metadata(f.refused.clone()).await {
            session.shutdown().await;
            return Ok(fail(format!("cannot add the torrent: {e}")));
        }
    }
    if setup.cooperative() {
        let coop = Cooperation {
            share: PieceShare {
                index: setup.index,
                count: setup.count.max(1),
            },
            members: others
                .iter()
                .map(|h| Member {
                    peer_id: h.peer_id,
                    index: h.rank.saturating_sub(setup.first_rank) as u32,
                })
                .collect(),
            grace: Duration::from_secs(setup.options.share_grace_secs),
            only_share: setup.options.shared_dir.is_some(),
        };
        if let Err(e) = handle.cooperate(coop).await {
            session.shutdown().await;
            return Ok(fail(format!("cannot start cooperating: {e}")));
        }
    }
    let mut watch = Watch::default();
    let stop = follow(&handle, setup, ctl, t0, &mut watch).await;
    let stopped = tokio::time::timeout(STOP_TIMEOUT, session.shutdown()).await;
    let stats = handle.stats();
    watch.see(&stats);
    let running = t0.elapsed().as_secs_f64();
    let outcome = match (&stats.state, stop) {
        (_, Err(e)) => return Err(e),
        _ if stats.completed_after_secs.is_some() || watch.completed.is_some() => Outcome::Complete,
        (TorrentState::Error(e), _) => Outcome::Failed(e.clone()),
        (_, Ok(Stop::Interrupted)) => Outcome::Failed(INTERRUPTED.into()),
        (_, Ok(Stop::Stalled(secs))) => {
            Outcome::Failed(format!("stalled: no progress for {secs} s"))
        }
        (_, Ok(Stop::Finished)) => Outcome::Failed("stopped before completion".into()),
    };
    let mut summary = WorkerSummary {
        rank: setup.rank,
        outcome,
        wanted: stats.wanted_bytes,
        have: stats.have_bytes,
        downloaded: stats.downloaded,
        uploaded: stats.uploaded,
        seconds: watch.completed.unwrap_or(running),
        running_seconds: running,
        peers_seen: watch.seen.len(),
        peers_dropped: stats.banned,
        hash_failures: stats.hash_failures,
        folder: folder.display().to_string(),
        name: fetched.map(|_| meta.info().name().to_owned()),
    };
    if stopped.is_err() {
        summary.outcome = match summary.outcome {
            Outcome::Complete => Outcome::Complete,
            Outcome::Failed(w) => Outcome::Failed(format!("{w}; the session did not stop in time")),
        };
    }
    Ok(summary)
}

/// How a metadata fetch ended.
enum Fetch {
    /// The torrent, with the peers found and those refused.
    Fetched(FetchedMetadata),
    /// Rank 0 or the user stopped the worker first.
    Stopped(Stop),
    /// No valid metadata in time (the reason).
    Failed(String),
}

/// Fetches a magnet link's metadata (BEP 9) from its `x.pe` peers, its trackers and
/// `--peer`, reporting "starting" to rank 0 and obeying a stop while it waits.
async fn fetch_metadata(
    session: &Session,
    magnet: &Magnet,
    setup: &WorkerSetup,
    ctl: &dyn Control,
    t0: Instant,
) -> Result<Fetch, ParallelError> {
    let timeout = Duration::from_secs(setup.options.metadata_timeout_secs.max(1));
    let fetch = session.fetch_metadata(magnet, &setup.options.peers, timeout);
    tokio::pin!(fetch);
    let mut last_report: Option<Instant> = None;
    let every = Duration::from_millis(setup.options.status_interval_ms.max(100));
    loop {
        if last_report.is_none_or(|t| t.elapsed() >= every) {
            last_report = Some(Instant::now());
            ctl.report(&Status {
                elapsed: t0.elapsed().as_secs_f64(),
                ..Status::starting(setup.rank)
            })?;
        }
        if let Some(stop) = ctl.stop_requested()? {
            return Ok(Fetch::Stopped(stop));
        }
        tokio::select! {
            done = &mut fetch => {
                return Ok(match done {
                    Ok(f) => Fetch::Fetched(f),
                    Err(e) => Fetch::Failed(format!("no metadata for the magnet link: {e}")),
                });
            }
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}

/// The failure reason of a worker stopped `when`.
fn stopped_reason(stop: &Stop, when: &str) -> String {
    match stop {
        Stop::Interrupted => INTERRUPTED.into(),
        Stop::Stalled(secs) => format!("stalled: no progress for {secs} s ({when})"),
        Stop::Finished => format!("stopped {when}"),
    }
}

/// What the worker remembers across snapshots.
#[derive(Default)]
struct Watch {
    seen: HashSet<SocketAddr>,
    /// Seconds (worker clock) to completion.
    completed: Option<f64>,
}

impl Watch {
    fn see(&mut self, s: &TorrentStats) {
        for p in &s.peer_list {
            if self.seen.len() < MAX_PEERS_SEEN {
                self.seen.insert(p.addr);
            }
        }
        if self.completed.is_none() {
            self.completed = s.completed_after_secs;
        }
    }
}

/// Reports every status interval and returns when told to stop.
async fn follow(
    handle: &TorrentHandle,
    setup: &WorkerSetup,
    ctl: &dyn Control,
    t0: Instant,
    watch: &mut Watch,
) -> Result<Stop, ParallelError> {
    let every = Duration::from_millis(setup.options.status_interval_ms.max(100));
    let mut last_report: Option<Instant> = None;
    loop {
        let s = handle.stats();
        watch.see(&s);
        if last_report.is_none_or(|t| t.elapsed() >= every) {
            last_report = Some(Instant::now());
            ctl.report(&status_of(setup.rank, &s, t0))?;
        }
        if let Some(stop) = ctl.stop_requested()? {
            return Ok(stop);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The status message for a statistics snapshot.
fn status_of(rank: usize, s: &TorrentStats, t0: Instant) -> Status {
    let state = match &s.state {
        TorrentState::Error(e) => WorkerState::Failed(e.clone()),
        _ if s.completed_after_secs.is_some() => WorkerState::Complete,
        TorrentState::Checking => WorkerState::Starting,
        TorrentState::Stopped => WorkerState::Failed("the torrent stopped".into()),
        _ => WorkerState::Downloading,
    };
    Status {
        rank,
        state,
        wanted: s.wanted_bytes,
        have: s.have_bytes,
        downloaded: s.downloaded,
        uploaded: s.uploaded,
        down_rate: s.download_rate,
        down_avg: s.download_rate_avg,
        up_rate: s.upload_rate,
        up_avg: s.upload_rate_avg,
        peers: s.peers,
        elapsed: t0.elapsed().as_secs_f64(),
    }
}

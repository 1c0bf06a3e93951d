//! [`TorrentHandle`]: what callers hold for a running torrent — statistics snapshots,
//! waiting for completion, adding peers, scraping its trackers, stopping.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bitswarm_proto::InfoHash;
use tokio::sync::{mpsc, oneshot, watch, Mutex};

use crate::error::NetError;
use crate::stats::{TorrentState, TorrentStats};
use crate::torrent::TorrentCommand;
use crate::tracker_types::{ScrapeResult, TrackerError};
use crate::tracker_udp::UdpTiming;

/// Timeout of one HTTP scrape.
const HTTP_SCRAPE_TIMEOUT: Duration = Duration::from_secs(15);

/// A cheap, cloneable handle to a torrent of a [`crate::Session`].
#[derive(Clone, Debug)]
pub struct TorrentHandle {
    info_hash: InfoHash,
    commands: mpsc::Sender<TorrentCommand>,
    stats: watch::Receiver<TorrentStats>,
    task: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
    /// The torrent's tracker URLs (every tier, in order) and the UDP schedule, for
    /// [`TorrentHandle::scrape`].
    trackers: Arc<(Vec<String>, UdpTiming)>,
}

impl TorrentHandle {
    pub(crate) fn new(
        info_hash: InfoHash,
        commands: mpsc::Sender<TorrentCommand>,
        stats: watch::Receiver<TorrentStats>,
        task: tokio::task::JoinHandle<()>,
    ) -> Self {
        TorrentHandle {
            info_hash,
            commands,
            stats,
            task: Arc::new(Mutex::new(Some(task))),
            trackers: Arc::new((Vec::new(), UdpTiming::default())),
        }
    }

    /// Sets the trackers [`TorrentHandle::scrape`] asks.
    pub(crate) fn with_trackers(mut self, urls: Vec<String>, udp_timing: UdpTiming) -> Self {
        self.trackers = Arc::new((urls, udp_timing));
        self
    }

    /// The tracker URLs of the torrent (every tier, in order; empty when the torrent was
    /// added without trackers).
    pub fn trackers(&self) -> &[String] {
        &self.trackers.0
    }

    /// Scrapes every tracker of the torrent at once (HTTP per BEP 48, UDP per BEP 15)
    /// and returns each URL with its counts or why it gave none. A UDP tracker gets two
    /// attempts of the session's retransmission schedule.
    pub async fn scrape(&self) -> Vec<(String, Result<ScrapeResult, TrackerError>)> {
        let (urls, timing) = &*self.trackers;
        let timing = UdpTiming {
            max_n: timing.max_n.min(1),
            ..*timing
        };
        let info_hash = self.info_hash.0;
        let mut tasks = tokio::task::JoinSet::new();
        for (i, url) in urls.iter().enumerate() {
            let url = url.clone();
            tasks.spawn(async move {
                let r = crate::announce::scrape(&url, info_hash, timing, HTTP_SCRAPE_TIMEOUT).await;
                (i, url, r)
            });
        }
        let mut out = Vec::with_capacity(urls.len());
        while let Some(done) = tasks.join_next().await {
            if let Ok(r) = done {
                out.push(r);
            }
        }
        out.sort_by_key(|(i, _, _)| *i);
        out.into_iter().map(|(_, url, r)| (url, r)).collect()
    }

    /// The torrent's info-hash.
    pub fn info_hash(&self) -> InfoHash {
        self.info_hash
    }

    /// The latest statistics snapshot (refreshed about four times a second).
    pub fn stats(&self) -> TorrentStats {
        self.stats.borrow().clone()
    }

    /// Waits until every selected piece is verified. Fails if the torrent stopped or
    /// failed first.
    pub async fn wait_complete(&self) -> Result<TorrentStats, NetError> {
        let mut rx = self.stats.clone();
        loop {
            {
                let s = rx.borrow_and_update();
                if s.completed_after_secs.is_some() {
                    return Ok(s.clone());
                }
                match &s.state {
                    TorrentState::Error(e) => return Err(NetError::TorrentFailed(e.clone())),
                    TorrentState::Stopped => return Err(NetError::Closed),
                    _ => {}
                }
            }
            if rx.changed().await.is_err() {
                return Err(NetError::Closed);
            }
        }
    }

    /// Waits for the next statistics update.
    pub async fn changed(&mut self) -> Result<TorrentStats, NetError> {
        self.stats.changed().await.map_err(|_| NetError::Closed)?;
        Ok(self.stats.borrow_and_update().clone())
    }

    /// Asks the torrent to dial these peers.
    pub async fn add_peers(&self, peers: Vec<SocketAddr>) -> Result<(), NetError> {
        self.commands
            .send(TorrentCommand::AddPeers(peers))
            .await
            .map_err(|_| NetError::Closed)
    }

    /// Reports peers that sent bad metadata (wrong hash, a lying or out-of-range size)
    /// while a magnet link's metadata was fetched: their failcount goes to the ban
    /// threshold and the peer check bans them (they are never dialled).
    pub async fn penalise_bad_metadata(&self, peers: Vec<SocketAddr>) -> Result<(), NetError> {
        self.commands
            .send(TorrentCommand::BadMetadata(peers))
            .await
            .map_err(|_| NetError::Closed)
    }

    /// Cooperates with a group of downloaders: outside peers are asked only for our
    /// share of the pieces, members for anything (see [`crate::cooperation`]).
    pub async fn cooperate(&self, c: crate::cooperation::Cooperation) -> Result<(), NetError> {
        self.commands
            .send(TorrentCommand::Cooperate(Box::new(c)))
            .await
            .map_err(|_| NetError::Closed)
    }

    /// Stops the torrent: announces `stopped`, saves resume data, closes connections.
    /// The returned future completes when that is done.
    pub fn stop(&self) -> impl Future<Output = ()> + Send + 'static {
        let commands = self.commands.clone();
        let task = self.task.clone();
        async move {
            let (done, wait) = oneshot::channel();
            if commands.send(TorrentCommand::Shutdown(done)).await.is_ok() {
                let _ = wait.await;
            }
            if let Some(t) = task.lock().await.take() {
                let _ = t.await;
            }
        }
    }
}

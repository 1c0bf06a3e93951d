//! [`TorrentHandle`]: what callers hold for a running torrent — statistics snapshots,
//! waiting for completion, adding peers, stopping.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bitswarm_proto::InfoHash;
use tokio::sync::{mpsc, oneshot, watch, Mutex};

use crate::error::NetError;
use crate::stats::{TorrentState, TorrentStats};
use crate::torrent::TorrentCommand;

/// A cheap, cloneable handle to a torrent of a [`crate::Session`].
#[derive(Clone, Debug)]
pub struct TorrentHandle {
    info_hash: InfoHash,
    commands: mpsc::Sender<TorrentCommand>,
    stats: watch::Receiver<TorrentStats>,
    task: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
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
        }
    }

    /// The torrent's info-hash.
    pub fn info_hash(&self) -> InfoHash {
        self.info_hash
    }

    /// The latest statistics snapshot (refreshed about four times a second).
    pub fn stats(&self) -> TorrentStats {
        self.stats.borrow().clone()
    }

    /// Waits until the next statistics snapshot is published (at once if one came since
    /// the last call on this handle); never returns once the torrent task is gone.
    pub async fn stats_changed(&mut self) {
        if self.stats.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
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

//! The session: one listener, a hashing pool and rate limits shared by many torrents,
//! each run by its own driver task; handles to add, observe and stop them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitswarm_proto::sha1_mb::MAX_LANES;
use bitswarm_proto::PeerId;
use bitswarm_storage::{HashPool, ResumeData, Storage};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use crate::announce::{run_announcer, AnnounceStatus, AnnouncerConfig, TrackerTiers};
use crate::config::{AddTorrent, DataLocation, SessionConfig};
use crate::connection::Limiters;
use crate::encryption::Encryption;
use crate::error::NetError;
use crate::handle::TorrentHandle;
use crate::listener::{run_listener, Routes};
use crate::rate_limit::RateLimiter;
use crate::stats::TorrentStats;
use crate::torrent::{run_torrent, TorrentChannels, TorrentSetup};

/// How long a hashing thread waits for more pieces of the same length, to hash up to
/// [`MAX_LANES`] together (multi-buffer SHA-1, `bitswarm_storage`'s `hash_batch`): at
/// 1 GB/s of 1 MiB pieces, 16 arrive in about 16 ms. It stops waiting when no piece came
/// for a quarter of this (5 ms), so a slow download's pieces are verified at most that
/// much later.
const HASH_LINGER: Duration = Duration::from_millis(20);

/// A BitTorrent session: listens on one port and runs any number of torrents.
pub struct Session {
    pub(crate) config: SessionConfig,
    peer_id: PeerId,
    local_addr: SocketAddr,
    pub(crate) limiters: Limiters,
    hash_pool: Arc<HashPool>,
    routes: Routes,
    pub(crate) encryption: Arc<Encryption>,
    handles: Mutex<Vec<TorrentHandle>>,
    listener: tokio::task::JoinHandle<()>,
    pub(crate) dht: Option<bitswarm_dht::DhtHandle>,
    lsd: Option<crate::lsd::LsdHandle>,
}

impl Session {
    /// Binds the listener and starts the session, with its own hashing pool.
    pub async fn new(config: SessionConfig) -> Result<Session, NetError> {
        let threads = match config.hash_threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let pool = HashPool::with_batching(threads, MAX_LANES * threads, HASH_LINGER);
        Session::with_hash_pool(config, Arc::new(pool)).await
    }

    /// Like [`Session::new`], but hashing on a pool shared with other sessions (the
    /// swarm runner starts dozens of sessions in one process: one pool for all keeps the
    /// thread count at the number of cores).
    pub async fn with_hash_pool(
        config: SessionConfig,
        hash_pool: Arc<HashPool>,
    ) -> Result<Session, NetError> {
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| NetError::Bind {
                addr: config.listen,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| NetError::Bind {
            addr: config.listen,
            source,
        })?;
        let peer_id = config.peer_id.unwrap_or_else(|| {
            PeerId::with_prefix(format!("-BS{:04}-", 100).as_bytes(), rand::random())
        });
        let routes: Routes = Arc::new(Mutex::new(HashMap::new()));
        let encryption = Arc::new(Encryption::new(config.encryption, config.handshake_timeout));
        let listener = tokio::spawn(run_listener(listener, routes.clone(), encryption.clone()));
        let dht = match &config.dht {
            Some(d) => crate::dht::start(d, config.listen.ip(), local_addr.port()).await,
            None => None,
        };
        let lsd = config
            .lsd
            .as_ref()
            .and_then(|s| crate::lsd::start(s, local_addr.port()));
        Ok(Session {
            dht,
            lsd,
            limiters: Limiters {
                download: RateLimiter::new(config.download_limit),
                upload: RateLimiter::new(config.upload_limit),
            },
            hash_pool,
            config,
            peer_id,
            local_addr,
            routes,
            encryption,
            handles: Mutex::new(Vec::new()),
            listener,
        })
    }

    /// The address peers can reach us at (the bound port).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Our peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The session's DHT node, when it runs one.
    pub fn dht(&self) -> Option<&bitswarm_dht::DhtHandle> {
        self.dht.as_ref()
    }

    /// Starts periodic DHT lookups of `info_hash` feeding `peers_tx` (until it closes),
    /// announcing our port when `announce`, and Local Service Discovery of it; nothing
    /// without a DHT and LSD, or for `private`.
    pub(crate) fn start_peer_discovery(
        &self,
        info_hash: [u8; 20],
        announce: bool,
        private: bool,
        peers_tx: &mpsc::Sender<Vec<SocketAddr>>,
    ) {
        if let (Some(dht), Some(settings), false) = (&self.dht, &self.config.dht, private) {
            let port = announce.then_some(self.local_addr.port());
            crate::dht::spawn_lookups(
                dht.clone(),
                settings.clone(),
                info_hash,
                port,
                peers_tx.clone(),
            );
        }
        if let (Some(lsd), false) = (&self.lsd, private) {
            lsd.add(info_hash, peers_tx);
        }
    }

    /// Adds a torrent: opens its files (creating them for a download), then checks what
    /// is on disk and joins the swarm in the background.
    pub async fn add_torrent(&self, add: AddTorrent) -> Result<TorrentHandle, NetError> {
        let meta = add.metainfo.clone();
        let info_hash = meta.info_hash();
        let file_count = meta.files().len();
        if let Some(only) = &add.only_files {
            if let Some(&index) = only.iter().find(|i| **i >= file_count) {
                return Err(NetError::FileIndex {
                    index,
                    count: file_count,
                });
            }
        }
        if matches!(self.routes.lock(), Ok(r) if r.contains_key(&info_hash.0)) {
            return Err(NetError::Duplicate(info_hash.to_hex()));
        }
        let (storage, resume_path, fresh) = open_storage(&add).await?;
        let (cmd_tx, cmd_rx) = mpsc::channel(64);
        let (stats_tx, stats_rx) = watch::channel(TorrentStats {
            info_hash,
            name: meta.info().name().to_owned(),
            pieces_total: meta.info().geometry().piece_count(),
            ..TorrentStats::default()
        });
        let (announce_tx, announce_rx) = watch::channel(AnnounceStatus {
            left: meta.info().content_length(),
            ..AnnounceStatus::default()
        });
        let (peers_tx, peers_rx) = mpsc::channel(16);
        self.start_peer_discovery(info_hash.0, true, meta.info().is_private(), &peers_tx);
        let tiers = TrackerTiers::new(meta.tracker_tiers(), &mut rand::thread_rng());
        let announcer = if add.no_trackers || tiers.is_empty() {
            None
        } else {
            let (a_tx, a_rx) = mpsc::channel(4);
            let cfg = AnnouncerConfig {
                info_hash: info_hash.0,
                peer_id: self.peer_id.0,
                port: self.local_addr.port(),
                numwant: self.config.numwant,
                max_interval: self.config.max_announce_interval,
                udp_timing: self.config.udp_timing,
                http_timeout: std::time::Duration::from_secs(15),
            };
            tokio::spawn(run_announcer(cfg, tiers, announce_rx, peers_tx, a_rx));
            Some(a_tx)
        };
        let setup = TorrentSetup {
            metainfo: meta.clone(),
            peer_id: self.peer_id.0,
            listen: self.local_addr,
            config: self.config.clone(),
            storage: Arc::new(storage),
            hash_pool: self.hash_pool.clone(),
            limiters: self.limiters.clone(),
            encryption: self.encryption.clone(),
            resume_path,
            only_files: add.only_files.clone(),
            seed_after: add.seed_after,
            extra_peers: add.extra_peers.clone(),
            recheck: add.recheck,
            fresh,
            dht: self.dht.clone().filter(|_| !meta.info().is_private()),
        };
        let channels = TorrentChannels {
            commands: cmd_rx,
            tracker_peers: peers_rx,
            stats_tx,
            announce_tx,
            announcer,
        };
        let span = tracing::info_span!(
            "torrent",
            port = self.local_addr.port(),
            name = %meta.info().name()
        );
        let task = tokio::spawn(tracing::Instrument::instrument(
            run_torrent(setup, channels),
            span,
        ));
        let scrape_urls = if add.no_trackers {
            Vec::new()
        } else {
            meta.tracker_tiers().concat()
        };
        let handle = TorrentHandle::new(info_hash, cmd_tx.clone(), stats_rx, task)
            .with_trackers(scrape_urls, self.config.udp_timing);
        if let Ok(mut r) = self.routes.lock() {
            r.insert(info_hash.0, cmd_tx);
        }
        if let Ok(mut h) = self.handles.lock() {
            h.push(handle.clone());
        }
        Ok(handle)
    }

    /// The handles of every torrent added.
    pub fn torrents(&self) -> Vec<TorrentHandle> {
        self.handles.lock().map(|h| h.clone()).unwrap_or_default()
    }

    /// Stops every torrent (each announces `stopped` and saves resume data), then the
    /// listener.
    pub async fn shutdown(self) {
        self.listener.abort();
        let handles = self.torrents();
        if let Ok(mut r) = self.routes.lock() {
            r.clear();
        }
        let mut waits = Vec::new();
        for h in &handles {
            waits.push(h.stop());
        }
        for w in waits {
            w.await;
        }
        if let Some(dht) = &self.dht {
            // Saves the node cache.
            let _ = dht.shutdown().await;
        }
    }
}

/// Opens (or creates) the torrent's files. Returns the storage, where resume data
/// goes, and whether the data is new (nothing existed before: no need to hash it).
async fn open_storage(
    add: &AddTorrent,
) -> Result<(Storage, Option<std::path::PathBuf>, bool), NetError> {
    let meta = add.metainfo.clone();
    let location = add.location.clone();
    tokio::task::spawn_blocking(move || {
        let info_hash = meta.info_hash();
        match &location {
            DataLocation::SaveDir(dir) => {
                let fresh = !dir.join(meta.info().name()).exists();
                std::fs::create_dir_all(dir).map_err(|e| NetError::Storage {
                    path: dir.clone(),
                    message: e.to_string(),
                })?;
                let s = Storage::open(meta.info(), dir).map_err(|e| NetError::Storage {
                    path: dir.clone(),
                    message: e.to_string(),
                })?;
                Ok((
                    s.with_info_hash(info_hash),
                    Some(ResumeData::path_for(dir, &info_hash)),
                    fresh,
                ))
            }
            DataLocation::Existing(path) => {
                let s =
                    Storage::open_existing(meta.info(), path).map_err(|e| NetError::Storage {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
                Ok((s.with_info_hash(info_hash), None, false))
            }
        }
    })
    .await
    .map_err(|_| NetError::Closed)?
}

impl Drop for Session {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

//! Magnet links: fetch the info dictionary from peers (BEP 9) — the magnet's `x.pe`
//! peers, extra peers, peers from its `tr` trackers (announced with `left` = 1, the
//! size being unknown) and from the session's DHT (`get_peers`) — then add the torrent as usual, dialling the same peers again
//! (simplest correct: the metadata connections are closed first).
//!
//! The fetch runs on the caller's task over ordinary connection tasks (MSE as the
//! session's policy says). Per connection it only speaks the handshake, the extension
//! handshake and `ut_metadata`; everything else is decoded (bounded) and ignored.
//! Assembly and its checks are in `metadata_fetch.rs`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitswarm_engine::PeerKey;
use bitswarm_proto::{InfoHash, Magnet, Metainfo, MetainfoError};
use bitswarm_wire::{
    ExtensionHandshake, Handshake, Limits, Message, MessageDecoder, MetadataMessage, Reserved,
    HANDSHAKE_LEN, UT_METADATA,
};
use bytes::{Bytes, BytesMut};
use thiserror::Error;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, info};

use crate::announce::{
    run_announcer, AnnounceStatus, AnnouncerCommand, AnnouncerConfig, TrackerTiers,
};
use crate::config::AddTorrent;
use crate::connection::{spawn_connection, ConnEvent, ConnHandle, Socket};
use crate::error::NetError;
use crate::handle::TorrentHandle;
use crate::metadata_fetch::{Assembled, MetadataAssembly, MetadataError};
use crate::metadata_serve::UT_METADATA_ID;
use crate::session::Session;

/// Connections open at once while fetching.
const MAX_CONNECTIONS: usize = 8;
/// Most addresses remembered while fetching.
const MAX_CANDIDATES: usize = 500;
/// Most bytes buffered from one peer before a message is complete.
const MAX_BUFFER: usize = 2 << 20;
/// Dial attempts per address (a peer may not be listening yet).
const MAX_ATTEMPTS: u32 = 5;
/// Wait before dialling an address again.
const RETRY_DELAY: Duration = Duration::from_secs(1);
/// Loop tick: requests, dialling.
const TICK: Duration = Duration::from_millis(200);

/// Why a magnet link could not be turned into a torrent.
#[derive(Debug, Error)]
pub enum MagnetError {
    /// No peer gave valid metadata in time.
    #[error("no metadata after {secs} s ({peers} peers tried, {refused} refused)")]
    Timeout {
        /// The time limit.
        secs: u64,
        /// Addresses dialled.
        peers: usize,
        /// Peers refused for bad metadata or a bad size.
        refused: usize,
    },
    /// The fetched info dictionary hashes right but is not a valid torrent.
    #[error("fetched metadata is not a valid torrent: {0}")]
    Invalid(#[from] MetainfoError),
    /// Adding the torrent failed.
    #[error(transparent)]
    Net(#[from] NetError),
}

/// Metadata fetched for a magnet link.
#[derive(Debug, Clone)]
pub struct FetchedMetadata {
    /// The torrent (info from peers, trackers from the magnet).
    pub metainfo: Arc<Metainfo>,
    /// Its `.torrent` file bytes.
    pub torrent_bytes: Vec<u8>,
    /// Peers worth dialling for the download (every address learned, minus refused).
    pub peers: Vec<SocketAddr>,
    /// Peers refused: wrong metadata (hash mismatch), a lying or out-of-range size.
    pub refused: Vec<SocketAddr>,
}

struct FetchPeer {
    addr: SocketAddr,
    conn: ConnHandle,
    buf: BytesMut,
    handshaken: bool,
    ut_metadata: Option<u8>,
    size: Option<u64>,
}

struct Fetch {
    info_hash: InfoHash,
    peer_id: [u8; 20],
    assembly: MetadataAssembly<PeerKey>,
    peers: HashMap<PeerKey, FetchPeer>,
    queue: VecDeque<SocketAddr>,
    known: HashSet<SocketAddr>,
    refused: HashSet<SocketAddr>,
    attempts: HashMap<SocketAddr, u32>,
    retry: Vec<(Instant, SocketAddr)>,
    next_key: u32,
    decoder: MessageDecoder,
}

impl Session {
    /// Fetches a magnet link's metadata from its `x.pe` peers, `extra_peers` and its
    /// trackers, within `timeout`.
    pub async fn fetch_metadata(
        &self,
        magnet: &Magnet,
        extra_peers: &[SocketAddr],
        timeout: Duration,
    ) -> Result<FetchedMetadata, MagnetError> {
        let info_hash = magnet.info_hash;
        let (peers_tx, mut peers_rx) = mpsc::channel(16);
        self.start_peer_discovery(info_hash.0, false, false, &peers_tx);
        let announcer = self.start_magnet_announcer(magnet, peers_tx);
        let (conn_tx, mut conn_rx) = mpsc::channel(256);
        let mut f = Fetch {
            info_hash,
            peer_id: self.peer_id().0,
            assembly: MetadataAssembly::new(info_hash),
            peers: HashMap::new(),
            queue: VecDeque::new(),
            known: HashSet::new(),
            refused: HashSet::new(),
            attempts: HashMap::new(),
            retry: Vec::new(),
            next_key: 0,
            decoder: MessageDecoder::new(Limits::default()),
        };
        f.add(magnet.peer_addrs());
        f.add(extra_peers.iter().copied());
        let deadline = tokio::time::Instant::now() + timeout;
        let mut tick = tokio::time::interval(TICK);
        let result = loop {
            f.dial_more(self, &conn_tx);
            let done = tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break None,
                Some(ev) = conn_rx.recv() => f.on_event(ev),
                Some(addrs) = peers_rx.recv() => { f.add(addrs); None }
                _ = tick.tick() => { f.on_tick(); None }
            };
            if done.is_some() {
                break done;
            }
        };
        for p in f.peers.values() {
            p.conn.abort();
        }
        if let Some(a) = announcer {
            let (done, wait) = oneshot::channel();
            if a.send(AnnouncerCommand::Stop(done)).await.is_ok() {
                let _ = tokio::time::timeout(Duration::from_secs(3), wait).await;
            }
        }
        let Some(raw) = result else {
            return Err(MagnetError::Timeout {
                secs: timeout.as_secs(),
                peers: f.known.len(),
                refused: f.refused.len(),
            });
        };
        let torrent_bytes =
            bitswarm_proto::metainfo_from_info::torrent_bytes_from_info(&raw, &magnet.trackers);
        let metainfo = Arc::new(Metainfo::from_bytes(&torrent_bytes)?);
        info!(name = %metainfo.info().name(), size = raw.len(), "metadata fetched");
        let refused: Vec<SocketAddr> = f.refused.iter().copied().collect();
        Ok(FetchedMetadata {
            metainfo,
            torrent_bytes,
            peers: f.known.difference(&f.refused).copied().collect(),
            refused,
        })
    }

    /// Fetches a magnet link's metadata (see [`Session::fetch_metadata`]), then adds
    /// the torrent, downloading into `save_dir` from the peers the fetch found.
    pub async fn add_magnet(
        &self,
        magnet: &Magnet,
        save_dir: impl Into<PathBuf>,
        extra_peers: &[SocketAddr],
        timeout: Duration,
    ) -> Result<(TorrentHandle, FetchedMetadata), MagnetError> {
        let fetched = self.fetch_metadata(magnet, extra_peers, timeout).await?;
        let mut add = AddTorrent::download(fetched.metainfo.clone(), save_dir);
        add.extra_peers = fetched.peers.clone();
        let handle = self.add_torrent(add).await?;
        if !fetched.refused.is_empty() {
            handle
                .penalise_bad_metadata(fetched.refused.clone())
                .await?;
        }
        Ok((handle, fetched))
    }

    fn start_magnet_announcer(
        &self,
        magnet: &Magnet,
        peers_tx: mpsc::Sender<Vec<SocketAddr>>,
    ) -> Option<mpsc::Sender<AnnouncerCommand>> {
        let tiers_list: Vec<Vec<String>> =
            magnet.trackers.iter().map(|t| vec![t.clone()]).collect();
        let tiers = TrackerTiers::new(tiers_list, &mut rand::thread_rng());
        if tiers.is_empty() {
            return None;
        }
        // The size is unknown: announce as a leecher with something left.
        let (status_tx, status_rx) = watch::channel(AnnounceStatus {
            left: 1,
            checked: true,
            ..AnnounceStatus::default()
        });
        let (a_tx, a_rx) = mpsc::channel(4);
        let cfg = AnnouncerConfig {
            info_hash: magnet.info_hash.0,
            peer_id: self.peer_id().0,
            port: self.local_addr().port(),
            numwant: self.config.numwant,
            max_interval: self.config.max_announce_interval,
            udp_timing: self.config.udp_timing,
            http_timeout: Duration::from_secs(15),
        };
        tokio::spawn(async move {
            run_announcer(cfg, tiers, status_rx, peers_tx, a_rx).await;
            drop(status_tx);
        });
        Some(a_tx)
    }
}

impl Fetch {
    fn add(&mut self, addrs: impl IntoIterator<Item = SocketAddr>) {
        for a in addrs {
            if self.known.len() >= MAX_CANDIDATES {
                return;
            }
            if self.known.insert(a) {
                self.queue.push_back(a);
            }
        }
    }

    fn dial_more(&mut self, s: &Session, conn_tx: &mpsc::Sender<ConnEvent>) {
        while self.peers.len() < MAX_CONNECTIONS {
            let Some(addr) = self.queue.pop_front() else {
                return;
            };
            if self.refused.contains(&addr) {
                continue;
            }
            *self.attempts.entry(addr).or_default() += 1;
            self.next_key = self.next_key.wrapping_add(1);
            let key = PeerKey(self.next_key);
            let conn = spawn_connection(
                key,
                Socket::Dial {
                    addr,
                    info_hash: self.info_hash.0,
                    encryption: s.encryption.clone(),
                },
                conn_tx.clone(),
                s.limiters.clone(),
            );
            let reserved = Reserved::NONE.with_extension_protocol(true);
            let hs = Handshake::new(reserved, self.info_hash.0, self.peer_id).encode();
            let ext = ExtensionHandshake {
                m: [(UT_METADATA.to_owned(), UT_METADATA_ID)].into(),
                client: Some(format!("bitswarm {}", env!("CARGO_PKG_VERSION"))),
                ..ExtensionHandshake::default()
            };
            conn.send(vec![
                Bytes::copy_from_slice(&hs),
                ext.to_message().to_bytes(),
            ]);
            debug!(peer = %addr, "dialling for metadata");
            self.peers.insert(
                key,
                FetchPeer {
                    addr,
                    conn,
                    buf: BytesMut::new(),
                    handshaken: false,
                    ut_metadata: None,
                    size: None,
                },
            );
        }
    }

    /// Drops a peer; `refuse`: never again.
    fn drop_peer(&mut self, key: PeerKey, refuse: Option<&dyn std::fmt::Display>) {
        if let Some(p) = self.peers.remove(&key) {
            p.conn.abort();
            if let Some(why) = refuse {
                info!(peer = %p.addr, %why, "refusing peer's metadata");
                self.refused.insert(p.addr);
            }
        }
        self.assembly.peer_gone(key);
    }

    fn on_event(&mut self, ev: ConnEvent) -> Option<Vec<u8>> {
        match ev {
            ConnEvent::Connected(_) | ConnEvent::Drained(_) => None,
            ConnEvent::Closed(key, reason) => {
                if let Some(p) = self.peers.get(&key) {
                    debug!(peer = %p.addr, ?reason, "metadata connection closed");
                    let addr = p.addr;
                    let tries = self.attempts.get(&addr).copied().unwrap_or(0);
                    if tries < MAX_ATTEMPTS && !self.refused.contains(&addr) {
                        self.retry.push((Instant::now() + RETRY_DELAY, addr));
                    }
                }
                self.drop_peer(key, None);
                None
            }
            ConnEvent::Data(key, data) => self.on_data(key, &data),
        }
    }

    fn on_data(&mut self, key: PeerKey, data: &[u8]) -> Option<Vec<u8>> {
        let p = self.peers.get_mut(&key)?;
        p.buf.extend_from_slice(data);
        if p.buf.len() > MAX_BUFFER {
            self.drop_peer(key, None);
            return None;
        }
        if !p.handshaken {
            if p.buf.len() < HANDSHAKE_LEN {
                return None;
            }
            let hs = p.buf.split_to(HANDSHAKE_LEN);
            match Handshake::decode(&hs) {
                Ok(Some(h))
                    if h.info_hash == self.info_hash.0
                        && h.peer_id != self.peer_id
                        && h.reserved.extension_protocol() =>
                {
                    p.handshaken = true
                }
                _ => {
                    self.drop_peer(key, None);
                    return None;
                }
            }
        }
        loop {
            let p = self.peers.get_mut(&key)?;
            let msg = match self.decoder.decode(&mut p.buf) {
                Ok(Some(m)) => m,
                Ok(None) => return None,
                Err(_) => {
                    self.drop_peer(key, None);
                    return None;
                }
            };
            if let Message::Extended { id, payload } = msg {
                if let Some(done) = self.on_extended(key, id, payload) {
                    return Some(done);
                }
            }
        }
    }

    fn on_extended(&mut self, key: PeerKey, id: u8, payload: Bytes) -> Option<Vec<u8>> {
        if id == 0 {
            let Ok(h) = ExtensionHandshake::decode(&payload) else {
                self.drop_peer(key, None);
                return None;
            };
            let p = self.peers.get_mut(&key)?;
            p.ut_metadata = h.id_of(UT_METADATA);
            p.size = h.metadata_size;
            if let Some(size) = h.metadata_size {
                if let Err(e) = self.assembly.offer_size(size) {
                    self.drop_peer(key, Some(&e));
                    return None;
                }
            }
            self.request(key);
            return None;
        }
        if id != UT_METADATA_ID {
            return None;
        }
        let msg = match MetadataMessage::decode(&payload) {
            Ok(m) => m,
            Err(_) => {
                self.drop_peer(key, None);
                return None;
            }
        };
        match msg {
            MetadataMessage::Request { piece } => {
                // We have nothing to give yet.
                let p = self.peers.get(&key)?;
                if let Some(their) = p.ut_metadata {
                    let reject = MetadataMessage::Reject { piece }.encode();
                    let m = Message::Extended {
                        id: their,
                        payload: Bytes::from(reject),
                    };
                    p.conn.send(vec![m.to_bytes()]);
                }
                None
            }
            MetadataMessage::Reject { piece } => {
                self.assembly.on_reject(key, piece);
                None
            }
            MetadataMessage::Data {
                piece,
                total_size,
                data,
            } => match self.assembly.on_data(key, piece, total_size, data) {
                Ok(Assembled::Pending) => {
                    self.request(key);
                    None
                }
                Ok(Assembled::Done(raw)) => Some(raw),
                Ok(Assembled::HashMismatch(senders)) => {
                    for k in senders {
                        self.drop_peer(k, Some(&MetadataError::HashMismatch));
                    }
                    // Learn the size again from the peers still connected.
                    let sizes: Vec<(PeerKey, u64)> = self
                        .peers
                        .iter()
                        .filter_map(|(k, p)| p.size.map(|s| (*k, s)))
                        .collect();
                    for (k, s) in sizes {
                        if let Err(e) = self.assembly.offer_size(s) {
                            self.drop_peer(k, Some(&e));
                        }
                    }
                    self.request_all();
                    None
                }
                Err(e @ (MetadataError::SizeMismatch { .. } | MetadataError::BadPiece(_))) => {
                    self.drop_peer(key, Some(&e));
                    None
                }
                Err(_) => None,
            },
        }
    }

    fn request(&mut self, key: PeerKey) {
        let Some(p) = self.peers.get(&key) else {
            return;
        };
        let (Some(their), Some(_)) = (p.ut_metadata, p.size) else {
            return;
        };
        let pieces = self.assembly.next_requests(key, usize::MAX, Instant::now());
        if pieces.is_empty() {
            return;
        }
        let bufs = pieces
            .into_iter()
            .map(|piece| {
                Message::Extended {
                    id: their,
                    payload: Bytes::from(MetadataMessage::Request { piece }.encode()),
                }
                .to_bytes()
            })
            .collect();
        p.conn.send(bufs);
    }

    fn on_tick(&mut self) {
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = self.retry.drain(..).partition(|(at, _)| *at <= now);
        self.retry = later;
        self.queue.extend(due.into_iter().map(|(_, a)| a));
        self.request_all();
    }

    fn request_all(&mut self) {
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for k in keys {
            self.request(k);
        }
    }
}

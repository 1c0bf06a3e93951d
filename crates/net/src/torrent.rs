//! The torrent driver: one task per torrent that owns all of its state — the peer
//! sessions, the picker, the choker, scores and bans, piece buffers, statistics — and
//! reacts to messages: bytes from connection tasks, disk and hash results, tracker
//! peers, commands from handles. Nothing here is shared behind a lock; other tasks
//! talk to it through channels.
//!
//! The work is split over files by subject: `torrent_peer.rs` (session events),
//! `torrent_piece.rs` (blocks in, hashing, uploads), `torrent_admin.rs` (dialling,
//! choking, peer checks, resume data, statistics).

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitswarm_engine::{
    Choker, ChokerConfig, Geometry, PeerKey, PeerScore, PickerConfig, PiecePicker, RateMeter,
};
use bitswarm_proto::{InfoHash, Metainfo};
use bitswarm_storage::{HashPool, PieceData, PieceOutcome, Storage};
use bitswarm_wire::BlockInfo;
use bytes::Bytes;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, info};

use crate::announce::{AnnounceStatus, AnnouncerCommand};
use crate::config::SessionConfig;
use crate::connection::{ConnEvent, Limiters};
use crate::peer::Peer;
use crate::stats::{TorrentState, TorrentStats};

/// Commands from the session and handles.
#[derive(Debug)]
pub enum TorrentCommand {
    /// An accepted connection whose handshake names this torrent.
    Incoming {
        /// The stream (and its ciphers), after the handshake bytes.
        stream: crate::encryption::PeerStream,
        /// Remote address.
        addr: SocketAddr,
        /// The peer's handshake bytes.
        handshake: Bytes,
    },
    /// Peers to dial.
    AddPeers(Vec<SocketAddr>),
    /// Stop: announce `stopped`, save resume data, close every connection.
    Shutdown(oneshot::Sender<()>),
    /// Cooperate with a group of downloaders (see `cooperation.rs`).
    Cooperate(Box<crate::cooperation::Cooperation>),
    /// Peers that sent bad metadata while it was fetched: penalised, then banned.
    BadMetadata(Vec<SocketAddr>),
}

/// Results of work done off the driver task.
#[derive(Debug)]
pub enum Internal {
    /// A piece was hashed (and written if good).
    Hashed(PieceOutcome),
    /// Blocks read from disk for a peer's requests.
    DiskRead {
        /// The peer.
        key: PeerKey,
        /// Blocks read (or located, for zero-copy).
        blocks: Vec<(BlockInfo, crate::torrent_piece::UploadBlock)>,
        /// Bytes that were accounted as being read.
        bytes: usize,
        /// A read error, if any.
        error: Option<String>,
    },
    /// Resume data was saved (or failed to be).
    ResumeSaved(Option<String>),
}

/// Static facts and settings of the torrent.
pub struct TorrentSetup {
    /// The torrent.
    pub metainfo: Arc<Metainfo>,
    /// Our peer id.
    pub peer_id: [u8; 20],
    /// Our listen address.
    pub listen: SocketAddr,
    /// Session settings.
    pub config: SessionConfig,
    /// Its storage.
    pub storage: Arc<Storage>,
    /// The session's hashing pool.
    pub hash_pool: Arc<HashPool>,
    /// Rate limits.
    pub limiters: Limiters,
    /// Protocol encryption settings and memory.
    pub encryption: Arc<crate::encryption::Encryption>,
    /// Where resume data goes (`None`: read-only data, no resume).
    pub resume_path: Option<std::path::PathBuf>,
    /// Wanted files (`None`: all).
    pub only_files: Option<Vec<usize>>,
    /// Keep seeding after completion.
    pub seed_after: bool,
    /// Peers to dial at start.
    pub extra_peers: Vec<SocketAddr>,
    /// Hash everything at start.
    pub recheck: bool,
    /// The files were just created: nothing to check.
    pub fresh: bool,
    /// The session's DHT node (`None`: no DHT, or a private torrent): peers learn our
    /// DHT port (BEP 5 `port`) and we learn theirs.
    pub dht: Option<bitswarm_dht::DhtHandle>,
}

/// A peer address we may dial.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidate {
    pub next_attempt: Instant,
    pub failures: u32,
    /// The peer id a dial to this address found (not dialled again while a connection
    /// to that peer id is up, whichever side dialled it).
    pub peer_id: Option<[u8; 20]>,
    /// When it was learned, in order (addresses are dialled in the order a tracker
    /// listed them, see `due_in_order`).
    pub learned: u64,
}

/// Most addresses remembered for dialling.
pub(crate) const MAX_CANDIDATES: usize = 2000;
/// Most closed peers remembered for blaming hash failures.
const MAX_CLOSED_KEYS: usize = 4096;
/// Driver tick: timeouts, dialling, statistics.
const TICK: Duration = Duration::from_millis(100);

/// The driver's state. See the module docs.
pub(crate) struct Torrent {
    pub setup: TorrentSetup,
    pub info_hash: InfoHash,
    pub geometry: Geometry,
    pub picker: PiecePicker,
    pub choker: Choker,
    pub rng: StdRng,
    pub peers: HashMap<PeerKey, Peer>,
    pub next_key: u32,
    pub scores: HashMap<SocketAddr, PeerScore>,
    pub banned: HashSet<SocketAddr>,
    pub banned_ids: HashSet<[u8; 20]>,
    pub closed_keys: HashMap<PeerKey, SocketAddr>,
    pub closed_order: VecDeque<PeerKey>,
    pub candidates: HashMap<SocketAddr, Candidate>,
    /// `Candidate::learned` of the next new address.
    pub next_learned: u64,
    /// Pieces being assembled: their blocks as received, by index (see
    /// `torrent_piece.rs`).
    pub buffers: HashMap<u32, Vec<Option<Bytes>>>,
    /// Pieces waiting for room in the hash pool's queue.
    pub hash_backlog: VecDeque<(u32, PieceData)>,
    /// Pieces in the hash pool.
    pub hashing: usize,
    /// Requests for new pieces were held back because too many complete pieces wait
    /// for hashing (`torrent_peer.rs`): ask again once one is hashed.
    pub hash_limited: bool,
    /// Contributors of pieces that failed their hash, to forgive later (see
    /// `torrent_piece.rs`).
    pub failed_by: HashMap<u32, Vec<SocketAddr>>,
    pub verified: Vec<bool>,
    pub resume_dirty: bool,
    pub resume_saving: bool,
    pub last_resume: Instant,
    pub last_peer_check: Instant,
    /// Last look for idle upload slots (`torrent_admin.rs`).
    pub last_slot_check: Instant,
    /// The session's upload limiter's `taken()` and when it was read, at the last
    /// upload slot sizing (`torrent_admin.rs`).
    pub upload_mark: (u64, Instant),
    pub down: RateMeter,
    pub up: RateMeter,
    /// Upload counters of removed peers whose socket tasks may still be writing what
    /// was queued (their payload is counted once written).
    pub closing_uploads: Vec<Arc<AtomicU64>>,
    /// Bytes sent to peers straight from the files (`sendfile`).
    pub uploaded_zero_copy: u64,
    pub hash_failures: u64,
    pub state: TorrentState,
    pub started: Instant,
    pub completed_at: Option<Instant>,
    pub dirty: Vec<PeerKey>,
    pub conn_tx: mpsc::Sender<ConnEvent>,
    pub internal_tx: mpsc::UnboundedSender<Internal>,
    pub stats_tx: watch::Sender<TorrentStats>,
    pub announce_tx: watch::Sender<AnnounceStatus>,
    pub announcer: Option<mpsc::Sender<AnnouncerCommand>>,
    pub wanted_bytes: u64,
    /// Cooperative downloading, once asked for (`cooperation.rs`).
    pub coop: Option<crate::cooperation::CoopState>,
    /// The info dictionary's bytes, served to peers (BEP 9, `metadata_serve.rs`).
    pub raw_info: Bytes,
    /// Peer exchange with each peer (BEP 11, `torrent_pex.rs`).
    pub pex: crate::torrent_pex::PexPeers,
    /// Peers whose DHT port was passed to the DHT (`torrent_dht.rs`).
    pub dht_ports: crate::torrent_dht::DhtPorts,
    /// Pieces offered to peers while seeding (`seed_offer.rs`).
    pub offers: crate::seed_offer::SeedOffers,
}

/// Channels the driver task runs on.
pub(crate) struct TorrentChannels {
    pub commands: mpsc::Receiver<TorrentCommand>,
    pub tracker_peers: mpsc::Receiver<Vec<SocketAddr>>,
    pub stats_tx: watch::Sender<TorrentStats>,
    pub announce_tx: watch::Sender<AnnounceStatus>,
    pub announcer: Option<mpsc::Sender<AnnouncerCommand>>,
}

/// Runs a torrent until it is shut down: initial check, then the event loop.
pub(crate) async fn run_torrent(setup: TorrentSetup, ch: TorrentChannels) {
    let TorrentChannels {
        mut commands,
        mut tracker_peers,
        stats_tx,
        announce_tx,
        announcer,
    } = ch;
    let (conn_tx, mut conn_rx) = mpsc::channel(256);
    let (internal_tx, mut internal_rx) = mpsc::unbounded_channel();
    let mut t = match Torrent::new(
        setup,
        conn_tx,
        internal_tx,
        stats_tx,
        announce_tx,
        announcer,
    ) {
        Ok(t) => t,
        Err((stats_tx, e)) => {
            stats_tx.send_modify(|s| s.state = TorrentState::Error(e));
            // Wait for the shutdown command so the session's bookkeeping stays simple.
            while let Some(cmd) = commands.recv().await {
                if let TorrentCommand::Shutdown(done) = cmd {
                    let _ = done.send(());
                    return;
                }
            }
            return;
        }
    };
    if let Err(e) = t.initial_check().await {
        t.fail(e);
    }
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_stats = Instant::now();
    loop {
        tokio::select! {
            biased;
            Some(ev) = internal_rx.recv() => t.on_internal(ev),
            Some(ev) = conn_rx.recv() => t.on_conn_event(ev),
            cmd = commands.recv() => match cmd {
                Some(TorrentCommand::Shutdown(done)) => {
                    t.shutdown(&mut internal_rx).await;
                    let _ = done.send(());
                    return;
                }
                Some(TorrentCommand::Incoming { stream, addr, handshake }) => {
                    t.on_incoming(stream, addr, handshake)
                }
                Some(TorrentCommand::AddPeers(addrs)) => t.add_candidates(addrs),
                Some(TorrentCommand::Cooperate(c)) => t.set_cooperation(*c),
                Some(TorrentCommand::BadMetadata(addrs)) => t.penalise_bad_metadata(addrs),
                None => {
                    t.shutdown(&mut internal_rx).await;
                    return;
                }
            },
            Some(addrs) = tracker_peers.recv() => {
                // Dialled now rather than at the next tick: the first answer of a
                // leecher's first announce lists the seeds.
                t.add_candidates(addrs);
                if t.accepting() {
                    t.dial_candidates(Instant::now());
                }
            }
            _ = tick.tick() => {
                t.on_tick();
                let now = Instant::now();
                if now.duration_since(last_stats) >= Duration::from_millis(250) {
                    last_stats = now;
                    t.publish_stats();
                }
            }
        }
        t.flush_dirty();
    }
}

impl Torrent {
    fn new(
        setup: TorrentSetup,
        conn_tx: mpsc::Sender<ConnEvent>,
        internal_tx: mpsc::UnboundedSender<Internal>,
        stats_tx: watch::Sender<TorrentStats>,
        announce_tx: watch::Sender<AnnounceStatus>,
        announcer: Option<mpsc::Sender<AnnouncerCommand>>,
    ) -> Result<Self, (watch::Sender<TorrentStats>, String)> {
        let info = setup.metainfo.info();
        let g = info.geometry();
        let geometry = match Geometry::new(g.piece_length(), g.total_length()) {
            Ok(geo) => geo,
            Err(e) => return Err((stats_tx, format!("unusable geometry: {e}"))),
        };
        let now = Instant::now();
        let piece_count = geometry.piece_count();
        // Piece affinity: peers finish their own pieces, so a failed hash rarely blames
        // an honest peer that shared a piece with a corrupting one.
        let picker_config = PickerConfig {
            piece_affinity: true,
            ..PickerConfig::default()
        };
        let mut picker = PiecePicker::new(geometry, picker_config);
        if let Some(only) = &setup.only_files {
            let files: Vec<(u64, bool)> = info
                .files()
                .iter()
                .enumerate()
                .map(|(i, f)| (f.length, only.contains(&i)))
                .collect();
            picker.set_wanted_files(&files);
        }
        let wanted_bytes = (0..piece_count)
            .filter(|p| picker.wanted().get(*p))
            .map(|p| u64::from(geometry.piece_len(p)))
            .sum();
        Ok(Torrent {
            info_hash: setup.metainfo.info_hash(),
            geometry,
            picker,
            choker: Choker::new(ChokerConfig::default()),
            rng: StdRng::from_entropy(),
            peers: HashMap::new(),
            next_key: 0,
            scores: HashMap::new(),
            banned: HashSet::new(),
            banned_ids: HashSet::new(),
            closed_keys: HashMap::new(),
            closed_order: VecDeque::new(),
            candidates: HashMap::new(),
            next_learned: 0,
            buffers: HashMap::new(),
            hash_backlog: VecDeque::new(),
            hashing: 0,
            hash_limited: false,
            failed_by: HashMap::new(),
            verified: vec![false; piece_count as usize],
            resume_dirty: false,
            resume_saving: false,
            last_resume: now,
            last_peer_check: now,
            last_slot_check: now,
            upload_mark: (0, now),
            down: RateMeter::new(now),
            up: RateMeter::new(now),
            closing_uploads: Vec::new(),
            uploaded_zero_copy: 0,
            hash_failures: 0,
            state: TorrentState::Checking,
            started: now,
            completed_at: None,
            dirty: Vec::new(),
            conn_tx,
            internal_tx,
            stats_tx,
            announce_tx,
            announcer,
            wanted_bytes,
            coop: None,
            raw_info: Bytes::copy_from_slice(setup.metainfo.raw_info()),
            pex: Default::default(),
            dht_ports: Default::default(),
            offers: crate::seed_offer::SeedOffers::new(piece_count),
            setup,
        })
    }

    /// Marks a peer for flushing at the end of this loop turn.
    pub fn touch(&mut self, key: PeerKey) {
        if !self.dirty.contains(&key) {
            self.dirty.push(key);
        }
    }

    fn flush_dirty(&mut self) {
        let dirty = std::mem::take(&mut self.dirty);
        for key in dirty {
            self.flush_peer(key);
        }
    }

    /// Writes out a peer's queued bytes, or removes it if its session closed.
    pub fn flush_peer(&mut self, key: PeerKey) {
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        p.flush();
        if p.session.is_closed() {
            self.remove_peer(key, None);
        }
    }

    /// The address a peer key was last known under (also after it closed).
    pub fn addr_of(&self, key: PeerKey) -> Option<SocketAddr> {
        self.peers
            .get(&key)
            .map(|p| p.addr)
            .or_else(|| self.closed_keys.get(&key).copied())
    }

    /// Forgets a peer: gives back its requests and availability, drops its socket task
    /// (which writes what was queued, then closes).
    pub fn remove_peer(&mut self, key: PeerKey, why: Option<String>) {
        self.withdraw_offers(key);
        let Some(mut p) = self.peers.remove(&key) else {
            return;
        };
        p.flush();
        let written = p.conn.take_uploaded();
        if written > 0 {
            self.up.record(written, Instant::now());
        }
        self.closing_uploads.push(p.conn.uploaded_counter());
        self.uploaded_zero_copy += p.conn.take_sent_from_file();
        if p.counted_as_seed {
            self.picker.seed_left(key);
        } else if p.counted {
            self.picker.peer_left(key, p.session.peer_pieces());
        } else {
            self.picker.release_peer(key);
        }
        debug!(peer = %p.addr, reason = why.as_deref().unwrap_or("session closed"), "peer removed");
        if p.outgoing {
            let learned = self.next_learned;
            let c = self.candidates.entry(p.addr).or_insert(Candidate {
                next_attempt: Instant::now(),
                failures: 0,
                peer_id: p.peer_id,
                learned,
            });
            if c.learned == learned {
                self.next_learned += 1;
            }
            let connected_long =
                p.connected_at.elapsed() > Duration::from_secs(30) && p.peer_id.is_some();
            c.failures = if connected_long { 1 } else { c.failures + 1 };
            // 4, 8, 16, 32, then every 60 s: a peer that is not listening yet (still
            // checking its data) is found soon enough.
            let backoff = Duration::from_secs((2u64 << c.failures.min(5)).min(60));
            c.next_attempt = Instant::now() + backoff;
        }
        self.closed_keys.insert(key, p.addr);
        self.closed_order.push_back(key);
        while self.closed_order.len() > MAX_CLOSED_KEYS {
            if let Some(old) = self.closed_order.pop_front() {
                self.closed_keys.remove(&old);
            }
        }
        if !p.session.am_choking() {
            // Its upload slot goes to another peer at once.
            self.fill_upload_slots(Instant::now());
        }
    }

    fn on_conn_event(&mut self, ev: ConnEvent) {
        match ev {
            ConnEvent::Data(key, data) => self.on_peer_chunk(key, data),
            ConnEvent::Connected(key) => {
                debug!(?key, "connected");
            }
            ConnEvent::Drained(key) => {
                self.serve_uploads(key);
            }
            ConnEvent::Closed(key, reason) => self.remove_peer(key, reason),
        }
    }

    fn on_internal(&mut self, ev: Internal) {
        match ev {
            Internal::Hashed(outcome) => self.on_hashed(outcome),
            Internal::DiskRead {
                key,
                blocks,
                bytes,
                error,
            } => self.on_disk_read(key, blocks, bytes, error),
            Internal::ResumeSaved(err) => {
                self.resume_saving = false;
                if let Some(e) = err {
                    tracing::warn!(error = %e, "saving resume data failed");
                }
            }
        }
    }

    /// The torrent cannot go on (e.g. a disk error).
    pub fn fail(&mut self, e: String) {
        tracing::error!(torrent = %self.setup.metainfo.info().name(), error = %e, "torrent stopped");
        self.state = TorrentState::Error(e);
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for k in keys {
            if let Some(p) = self.peers.get_mut(&k) {
                p.session.close();
            }
            self.remove_peer(k, Some("torrent failed".into()));
        }
        self.publish_stats();
    }

    async fn shutdown(&mut self, internal_rx: &mut mpsc::UnboundedReceiver<Internal>) {
        info!(torrent = %self.setup.metainfo.info().name(), "stopping");
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for k in keys {
            if let Some(p) = self.peers.get_mut(&k) {
                p.session.close();
            }
            self.remove_peer(k, Some("shutdown".into()));
        }
        // Pieces in the hash pool: take their results so resume data includes them. A
        // background resume save still running is waited for too, so that it cannot land
        // after (and over) the final save below, or write after shutdown returned.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.hashing > 0 || self.resume_saving {
            match tokio::time::timeout_at(deadline, internal_rx.recv()).await {
                Ok(Some(Internal::Hashed(o))) => self.on_hashed(o),
                Ok(Some(ev @ Internal::ResumeSaved(_))) => self.on_internal(ev),
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        if let Some(a) = self.announcer.take() {
            let (done, wait) = oneshot::channel();
            if a.send(AnnouncerCommand::Stop(done)).await.is_ok() {
                let _ = tokio::time::timeout(Duration::from_secs(6), wait).await;
            }
        }
        if let Err(e) = self.save_resume_now().await {
            tracing::warn!(error = %e, "saving resume data failed");
        }
        if !matches!(self.state, TorrentState::Error(_)) {
            self.state = TorrentState::Stopped;
        }
        self.publish_stats();
    }
}

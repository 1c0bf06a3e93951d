//! Public configuration: of a session ([`SessionConfig`]) and of a torrent being added
//! ([`AddTorrent`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bitswarm_proto::{Metainfo, PeerId};

use crate::encryption::EncryptionPolicy;
use crate::tracker_udp::UdpTiming;

/// Settings shared by every torrent of a session.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Where to listen for peers (port 0: any free port).
    pub listen: SocketAddr,
    /// Our peer id (`None`: `-BS0100-` and 12 random bytes).
    pub peer_id: Option<PeerId>,
    /// Session-wide download limit, bytes/s (`None`: unlimited).
    pub download_limit: Option<u64>,
    /// Session-wide upload limit, bytes/s (`None`: unlimited).
    pub upload_limit: Option<u64>,
    /// Most connected peers per torrent.
    pub max_peers: usize,
    /// How often peers are checked for faults.
    pub peer_check_interval: Duration,
    /// Faults (hash failures, protocol errors, timeouts) at which a peer is banned.
    pub max_failcount: u32,
    /// How often resume data is saved while downloading.
    pub resume_interval: Duration,
    /// Peers asked from trackers.
    pub numwant: u32,
    /// Re-announce at least this often (`None`: as the tracker says).
    pub max_announce_interval: Option<Duration>,
    /// UDP tracker retransmission schedule.
    pub udp_timing: UdpTiming,
    /// Hashing threads (`0`: one per core).
    pub hash_threads: usize,
    /// Requests we accept from a peer, advertised as `reqq`.
    pub reqq: u32,
    /// Protocol encryption (MSE/PE) of incoming and outgoing connections.
    pub encryption: EncryptionPolicy,
    /// How long a peer has for its handshake (MSE and BitTorrent) before it is dropped.
    pub handshake_timeout: Duration,
    /// The DHT (BEP 5) on the listen port, UDP (`None`: off).
    pub dht: Option<crate::dht::DhtSettings>,
    /// Peer exchange (BEP 11 `ut_pex`, never for private torrents). Off by default so
    /// that harnesses (swarm runner, parallel workers) keep the peers they were given;
    /// the CLI turns it on.
    pub pex: bool,
    /// Local Service Discovery (BEP 14, `None`: off). Off by default for the same
    /// reason as `pex`; the CLI turns it on.
    pub lsd: Option<crate::lsd::LsdSettings>,
    /// Upload blocks straight from the page cache with `sendfile(2)` on plaintext
    /// connections while no upload limit is set (false: read them into memory first,
    /// as encrypted or rate-limited connections always do).
    pub zero_copy_upload: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 6881)),
            peer_id: None,
            download_limit: None,
            upload_limit: None,
            max_peers: 50,
            peer_check_interval: Duration::from_secs(15),
            max_failcount: bitswarm_engine::DEFAULT_BAN_THRESHOLD,
            resume_interval: Duration::from_secs(30),
            numwant: 50,
            max_announce_interval: None,
            udp_timing: UdpTiming::default(),
            hash_threads: 0,
            // Transmission keeps at most the other side's reqq outstanding: a large one
            // lets it fill a fast link (INTEROP.md).
            reqq: 2000,
            encryption: EncryptionPolicy::Prefer,
            handshake_timeout: Duration::from_secs(10),
            dht: None,
            pex: false,
            lsd: None,
            zero_copy_upload: true,
        }
    }
}

/// Where a torrent's data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataLocation {
    /// Download into this folder (files are created under it, resume data in
    /// `<folder>/.bitswarm/`).
    SaveDir(PathBuf),
    /// Seed existing data: the file itself for a single-file torrent, the folder for a
    /// multi-file one (what `create` was given). Opened read-only.
    Existing(PathBuf),
}

/// A torrent to add to a session.
#[derive(Debug, Clone)]
pub struct AddTorrent {
    /// The torrent.
    pub metainfo: Arc<Metainfo>,
    /// Where its data lives.
    pub location: DataLocation,
    /// Download only these file indexes (`None`: all).
    pub only_files: Option<Vec<usize>>,
    /// Keep uploading after the download completed.
    pub seed_after: bool,
    /// Peers to dial besides those from trackers.
    pub extra_peers: Vec<SocketAddr>,
    /// Hash everything on disk, ignoring resume data.
    pub recheck: bool,
    /// Ask no tracker (peers only from `extra_peers` and incoming connections).
    pub no_trackers: bool,
}

impl AddTorrent {
    /// Download `metainfo` into `save_dir`, all files, no seeding afterwards.
    pub fn download(metainfo: Arc<Metainfo>, save_dir: impl Into<PathBuf>) -> Self {
        AddTorrent {
            metainfo,
            location: DataLocation::SaveDir(save_dir.into()),
            only_files: None,
            seed_after: false,
            extra_peers: Vec::new(),
            recheck: false,
            no_trackers: false,
        }
    }

    /// Seed the existing data at `path`.
    pub fn seed(metainfo: Arc<Metainfo>, path: impl Into<PathBuf>) -> Self {
        AddTorrent {
            location: DataLocation::Existing(path.into()),
            seed_after: true,
            ..AddTorrent::download(metainfo, PathBuf::new())
        }
    }
}

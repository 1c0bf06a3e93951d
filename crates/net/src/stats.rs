//! Statistics snapshots of a torrent and its peers, published by the torrent driver.

use std::net::SocketAddr;

use bitswarm_proto::InfoHash;

/// What a torrent is doing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TorrentState {
    /// Checking data already on disk.
    #[default]
    Checking,
    /// Downloading the selected files.
    Downloading,
    /// Every selected piece is verified; uploading to others.
    Seeding,
    /// Every selected piece is verified and the torrent does not seed.
    Complete,
    /// Stopped by the user or the session.
    Stopped,
    /// A fatal error (e.g. the disk failed); the torrent stopped.
    Error(String),
}

/// One peer as seen by the torrent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerStats {
    /// The peer's address.
    pub addr: SocketAddr,
    /// Client name from its extension handshake (`v`).
    pub client: Option<String>,
    /// Whether we dialled it.
    pub outgoing: bool,
    /// Whether it has every piece.
    pub is_seed: bool,
    /// Payload download rate from it: last second, bytes/s.
    pub download_rate: u64,
    /// Payload download rate from it: 10 s average, bytes/s.
    pub download_rate_avg: u64,
    /// Payload upload rate to it: last second, bytes/s.
    pub upload_rate: u64,
    /// Payload upload rate to it: 10 s average, bytes/s.
    pub upload_rate_avg: u64,
    /// Payload bytes received from it.
    pub downloaded: u64,
    /// Payload bytes sent to it.
    pub uploaded: u64,
    /// Faults counted against its address.
    pub failcount: u32,
    /// Whether it chokes us.
    pub peer_choking: bool,
    /// Whether we choke it.
    pub am_choking: bool,
}

/// A snapshot of one torrent, refreshed a few times a second.
#[derive(Debug, Clone, PartialEq)]
pub struct TorrentStats {
    /// The torrent.
    pub info_hash: InfoHash,
    /// Its name.
    pub name: String,
    /// What it is doing.
    pub state: TorrentState,
    /// Pieces in the torrent.
    pub pieces_total: u32,
    /// Verified pieces.
    pub pieces_have: u32,
    /// Pieces selected for download.
    pub pieces_wanted: u32,
    /// Bytes of the selected pieces.
    pub wanted_bytes: u64,
    /// Verified bytes of the selected pieces.
    pub have_bytes: u64,
    /// Payload bytes downloaded in this session (including discarded ones).
    pub downloaded: u64,
    /// Payload bytes uploaded in this session.
    pub uploaded: u64,
    /// Bytes sent straight from the files with `sendfile` (zero-copy, plaintext
    /// connections without an upload limit), counted as they are written.
    pub uploaded_zero_copy: u64,
    /// Download rate, last second, bytes/s.
    pub download_rate: u64,
    /// Download rate, 10 s average, bytes/s.
    pub download_rate_avg: u64,
    /// Upload rate, last second, bytes/s.
    pub upload_rate: u64,
    /// Upload rate, 10 s average, bytes/s.
    pub upload_rate_avg: u64,
    /// Connected peers (handshake done).
    pub peers: usize,
    /// Connected peers that have every piece.
    pub seeds: usize,
    /// Addresses banned so far.
    pub banned: usize,
    /// Pieces that failed their hash check.
    pub hash_failures: u64,
    /// Seconds the torrent has been running.
    pub elapsed_secs: f64,
    /// Seconds from start to completion, once complete.
    pub completed_after_secs: Option<f64>,
    /// Per-peer details.
    pub peer_list: Vec<PeerStats>,
}

impl Default for TorrentStats {
    fn default() -> Self {
        TorrentStats {
            info_hash: InfoHash([0; 20]),
            name: String::new(),
            state: TorrentState::default(),
            pieces_total: 0,
            pieces_have: 0,
            pieces_wanted: 0,
            wanted_bytes: 0,
            have_bytes: 0,
            downloaded: 0,
            uploaded: 0,
            uploaded_zero_copy: 0,
            download_rate: 0,
            download_rate_avg: 0,
            upload_rate: 0,
            upload_rate_avg: 0,
            peers: 0,
            seeds: 0,
            banned: 0,
            hash_failures: 0,
            elapsed_secs: 0.0,
            completed_after_secs: None,
            peer_list: Vec::new(),
        }
    }
}

impl TorrentStats {
    /// Uploaded / downloaded (0 when nothing was downloaded).
    pub fn ratio(&self) -> f64 {
        if self.downloaded == 0 {
            0.0
        } else {
            self.uploaded as f64 / self.downloaded as f64
        }
    }

    /// Whether every selected piece is verified.
    pub fn is_complete(&self) -> bool {
        self.pieces_wanted > 0 && self.have_bytes >= self.wanted_bytes
            || matches!(self.state, TorrentState::Seeding | TorrentState::Complete)
    }

    /// Fraction of the selected bytes verified, 0.0 to 1.0.
    pub fn progress(&self) -> f64 {
        if self.wanted_bytes == 0 {
            1.0
        } else {
            self.have_bytes as f64 / self.wanted_bytes as f64
        }
    }
}

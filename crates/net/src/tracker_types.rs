//! What an announce sends and what a tracker answers, independent of HTTP or UDP.

use std::net::SocketAddr;
use std::time::Duration;

use bitswarm_tracker::Event;
use thiserror::Error;

/// The fields of one announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceParams {
    /// Torrent.
    pub info_hash: [u8; 20],
    /// Our peer id.
    pub peer_id: [u8; 20],
    /// Our listen port.
    pub port: u16,
    /// Payload uploaded this session.
    pub uploaded: u64,
    /// Payload downloaded this session.
    pub downloaded: u64,
    /// Bytes left to download.
    pub left: u64,
    /// Event.
    pub event: Event,
    /// Peers wanted.
    pub numwant: u32,
    /// Our random key (lets a tracker recognize us across IP changes).
    pub key: u32,
    /// The `tracker id` the tracker gave us last time (HTTP only).
    pub tracker_id: Option<String>,
}

/// A successful announce.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AnnounceResult {
    /// Seconds until the next regular announce.
    pub interval: Duration,
    /// Do not announce more often than this (HTTP `min interval`).
    pub min_interval: Option<Duration>,
    /// Peers.
    pub peers: Vec<SocketAddr>,
    /// Seeders (`complete`).
    pub seeders: u32,
    /// Leechers (`incomplete`).
    pub leechers: u32,
    /// A `warning message` to log.
    pub warning: Option<String>,
    /// A `tracker id` to send back in later announces.
    pub tracker_id: Option<String>,
}

/// A tracker's counts for one torrent, from a scrape (BEP 48 over HTTP, BEP 15 over UDP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScrapeResult {
    /// Peers with the whole torrent (`complete`).
    pub seeders: u32,
    /// Downloads the tracker saw complete (`downloaded`).
    pub completed: u32,
    /// Peers still downloading (`incomplete`).
    pub leechers: u32,
}

/// Why an announce or a scrape failed.
#[derive(Debug, Error)]
pub enum TrackerError {
    /// The URL is not one we can use.
    #[error("unsupported tracker URL {0:?} (only http:// and udp:// trackers are supported; https is not implemented)")]
    UnsupportedUrl(String),
    /// The host name did not resolve.
    #[error("cannot resolve {0}")]
    Resolve(String),
    /// A socket error.
    #[error("tracker I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// No answer in time (after every retransmission for UDP).
    #[error("tracker timed out")]
    Timeout,
    /// The HTTP status was not 200.
    #[error("tracker HTTP status {0}")]
    HttpStatus(u16),
    /// The tracker refused the announce (`failure reason`, or a UDP error packet).
    #[error("tracker failure: {0}")]
    Failure(String),
    /// The reply could not be parsed.
    #[error("malformed tracker reply: {0}")]
    Malformed(String),
    /// An HTTP tracker whose announce URL does not end in `announce...` has no scrape
    /// URL (BEP 48).
    #[error("tracker {0:?} offers no scrape (its announce URL does not end in \"announce\")")]
    NoScrape(String),
}

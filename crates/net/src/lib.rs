//! bitswarm-net: the tokio I/O edge of the BitTorrent engine. It owns the TCP listener
//! and dialler, one socket task per peer connection, one driver task per torrent (which
//! joins the sans-I/O `PeerSession`s, `PiecePicker`, `Choker` and `PeerScore`s of
//! `bitswarm-engine` with disk and hashing from `bitswarm-storage`), the tracker client
//! (HTTP and UDP, BEP 12 tiers), session-wide rate limits and the statistics snapshots.
//!
//! It must not contain protocol decisions (those live in `bitswarm-engine` and
//! `bitswarm-wire`) or hash on async threads (pieces go to the `HashPool`, disk reads to
//! the blocking pool). State has one owner, the torrent's driver task; other tasks talk
//! to it through bounded channels (or channels bounded by construction), and no lock is
//! held across `.await`.
//!
//! # Layout
//! - [`session`] — [`Session`]: listener, hashing pool, limits; adds torrents.
//! - [`handle`] — [`TorrentHandle`]: statistics, completion, stop.
//! - [`config`] — [`SessionConfig`], [`AddTorrent`], [`DataLocation`].
//! - [`stats`] — [`TorrentStats`], [`PeerStats`], [`TorrentState`].
//! - `torrent` — the driver task; its parts in `torrent_peer` (session events),
//!   `torrent_piece` (blocks, hashing, uploads), `torrent_admin` (tick, choking,
//!   peer check and bans, resume data, statistics), `torrent_pex` (BEP 11)
//!   and `torrent_dht` (BEP 5 `port`); `peer` — per-peer driver state.
//! - [`cooperation`] — [`cooperation::Cooperation`]: a group of downloaders splitting
//!   the pieces (outside peers give each member its share only).
//! - [`connection`] — socket tasks: large reads, vectored writes, backpressure;
//!   `send_file` — zero-copy upload of file ranges (`sendfile`, `TCP_CORK`);
//!   [`recv_pool`] — receive buffers reused instead of freed; `frames` — where whole
//!   messages end in what was read (hand-overs end on message boundaries).
//! - [`listener`] — accepts, reads the handshake, routes by info-hash.
//! - [`dht`] — the session's DHT node and per-torrent lookups ([`DhtSettings`]).
//! - [`encryption`] — MSE/PE: policy, encrypted handshakes on both sides.
//! - [`rate_limit`] — token buckets and [`parse_rate`].
//! - [`announce`] — tiers and the announcer task; [`tracker_http`], [`tracker_udp`],
//!   [`tracker_types`] — the tracker client.
//! - [`error`] — [`NetError`].
#![warn(missing_docs)]

pub mod announce;
pub mod config;
pub mod connection;
pub mod cooperation;
pub mod dht;
pub mod encryption;
pub mod error;
mod frames;
pub mod handle;
pub mod listener;
pub mod lsd;
pub mod magnet;
pub mod metadata_fetch;
mod metadata_serve;
mod peer;
pub mod rate_limit;
pub mod recv_pool;
mod seed_offer;
mod send_file;
pub mod session;
pub mod stats;
mod torrent;
mod torrent_admin;
mod torrent_dht;
mod torrent_peer;
mod torrent_pex;
mod torrent_piece;
pub mod tracker_http;
pub mod tracker_types;
pub mod tracker_udp;

/// The hashing pool type, for [`Session::with_hash_pool`].
pub use bitswarm_storage::HashPool;
pub use config::{AddTorrent, DataLocation, SessionConfig};
pub use dht::DhtSettings;
pub use encryption::EncryptionPolicy;
pub use error::{NetError, RateParseError};
pub use handle::TorrentHandle;
pub use lsd::LsdSettings;
pub use rate_limit::{parse_rate, RateLimiter};
pub use session::Session;
pub use stats::{PeerStats, TorrentState, TorrentStats};
pub use tracker_udp::UdpTiming;

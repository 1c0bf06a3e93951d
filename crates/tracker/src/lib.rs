//! bitswarm-tracker owns the tracker server: a sans-I/O [`Registry`] of torrents and peers
//! (announce, scrape, expiry, limits, whitelist), the wire codecs of the HTTP tracker
//! protocol (BEP 3, 7, 23, 48) and the UDP tracker protocol (BEP 15), and tokio front ends
//! that serve both at once with statistics (`/stats`, `/metrics`).
//!
//! It must not know about torrent contents, pieces or peer wire messages.
//!
//! Layout:
//! - [`config`]: the serde `Config` and its documented default TOML.
//! - [`whitelist`]: the info-hash whitelist file.
//! - [`stats`]: counters, rates, `/stats` JSON and `/metrics` Prometheus text.
//! - [`types`]: `InfoHash` and `PeerId` (from bitswarm-proto).
//! - [`fast_hash`]: the keyed hasher of the registry's maps.
//! - [`swarm`]: one torrent's peers of one address family (dense vectors + index).
//! - [`registry`]: all torrents; announce/scrape/expire as plain functions of their inputs.
//! - [`udp_codec`]: BEP 15 packets, both directions.
//! - [`http_parse`]: HTTP/1.x request heads (sans-I/O).
//! - [`http_query`]: announce/scrape parameters from a query string, byte-exact.
//! - [`http_response`]: bencoded replies and HTTP framing.
//! - [`http_client_codec`]: the client side (request targets, reply parsing).
//! - [`connection_id`]: stateless, unforgeable UDP connection ids.
//! - [`server`]: start/stop ([`TrackerServer::bind`], [`TrackerServer::start_blocking`]),
//!   the shared state, housekeeping (expiry, rate sampling).
//! - [`http_server`], [`udp_server`]: the tokio front ends.
#![warn(missing_docs)]

pub mod config;
pub mod connection_id;
pub mod fast_hash;
pub mod http_client_codec;
pub mod http_parse;
pub mod http_query;
pub mod http_response;
pub mod http_server;
pub mod registry;
pub mod server;
pub mod stats;
pub mod swarm;
pub mod types;
pub mod udp_codec;
pub mod udp_server;
pub mod whitelist;

#[cfg(test)]
mod registry_tests;
#[cfg(test)]
mod udp_codec_tests;

pub use config::{Config, DEFAULT_CONFIG_TOML};
pub use registry::{
    AnnounceCounts, AnnounceError, AnnounceRequest, AnnounceResponse, Event, Registry,
    RegistryConfig, ResponsePeer, ScrapeCounts,
};
pub use server::{BlockingTracker, ServerError, TrackerHandle, TrackerServer};
pub use swarm::PeerSample;
pub use types::{InfoHash, PeerId};

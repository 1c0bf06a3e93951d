//! bitswarm-dht owns the BitTorrent Mainline DHT (BEP 5): finding peers of an info-hash
//! without a tracker, and announcing ourselves so others find us.
//!
//! It owns the KRPC codec, the routing table, tokens, the store of peers announced to
//! us, the lookup state machine, a sans-I/O [`Node`] and a small tokio driver
//! ([`Dht::bind`] → [`DhtHandle`]). It must not know about torrents, peer connections or
//! the session: callers hand it 20-byte info-hashes and get socket addresses back.
//! Protocol logic stays sans-I/O and deterministic (time and a random seed are passed
//! in); only `driver.rs` and `cache.rs` touch sockets and files.
//!
//! Layout:
//! - [`krpc`]: messages (`ping`, `find_node`, `get_peers`, `announce_peer`, responses,
//!   errors), compact node and peer info.
//! - [`node_id`]: 160-bit ids and the XOR metric.
//! - [`routing_table`]: K = 8 buckets, good/questionable/bad nodes.
//! - [`lookup`]: the iterative lookup (α = 3).
//! - [`token`]: `get_peers` tokens with a rotating secret.
//! - [`peer_store`]: announced peers, bounded, 30-minute expiry.
//! - [`rate_limit`]: per-IP limit on incoming queries.
//! - [`addr`]: which addresses are acceptable (`allow_local`).
//! - [`node`]: the sans-I/O node tying these together.
//! - [`driver`]: the tokio task and [`DhtHandle`].
//! - [`cache`]: the persisted node cache.
//! - [`error`]: typed errors.
//!
//! Using it from the engine (one DHT per process, shared by all torrents):
//!
//! ```no_run
//! # async fn demo() -> Result<(), bitswarm_dht::DhtError> {
//! use bitswarm_dht::{resolve, Dht, DhtConfig};
//! let config = DhtConfig {
//!     bootstrap: vec!["127.0.0.1:6881".into()], // `--dht-bootstrap`; default: the routers
//!     node_cache: Some("dht-nodes.bin".into()),  // loaded now, saved at shutdown
//!     ..DhtConfig::default()
//! };
//! let dht = Dht::bind("0.0.0.0:6881".parse().unwrap(), config).await?;
//! let info_hash = [0u8; 20];
//! let mut peers = dht.announce(info_hash, 51413).await?; // or dht.get_peers(info_hash)
//! while let Some(peer) = peers.recv().await {
//!     // dial `peer` (TCP)
//! #   let _ = peer;
//! }
//! dht.shutdown().await?;
//! # let _ = resolve;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

pub mod addr;
pub mod cache;
pub mod driver;
pub mod error;
pub mod krpc;
pub mod lookup;
pub mod node;
pub mod node_id;
pub mod peer_store;
pub mod rate_limit;
pub mod routing_table;
pub mod token;

pub use driver::{resolve, Dht, DhtConfig, DhtHandle, DEFAULT_BOOTSTRAP};
pub use error::{CacheError, DhtError, KrpcError};
pub use lookup::LookupId;
pub use node::{Event, Node, NodeConfig, NodeStats, Transmit};
pub use node_id::NodeId;

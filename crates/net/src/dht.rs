//! The session's DHT (BEP 5): one `bitswarm-dht` node per [`Session`](crate::Session),
//! on the session's port (UDP), and one small task per torrent (and per magnet fetch)
//! that looks the info-hash up periodically and feeds the peers found into the same
//! channel tracker peers arrive on. Torrents also `announce_peer` our TCP port.
//!
//! Lookups that fail (offline, no router reachable) find nothing and are retried later;
//! they never block a download. Private torrents (BEP 27) are never looked up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bitswarm_dht::{Dht, DhtConfig, DhtHandle, NodeConfig, DEFAULT_BOOTSTRAP};
use tokio::sync::mpsc;
use tracing::{debug, warn};

/// DHT settings of a session.
#[derive(Debug, Clone)]
pub struct DhtSettings {
    /// Bootstrap nodes as `HOST:PORT` (default: the well-known public routers).
    pub bootstrap: Vec<String>,
    /// The node cache file: read at start, written at shutdown (`None`: no cache).
    pub node_cache: Option<PathBuf>,
    /// Accept loopback and private addresses as nodes and peers (LANs and tests; must
    /// stay off on the public DHT).
    pub allow_local: bool,
    /// First wait before looking an info-hash up again when nothing was found; doubles
    /// up to [`DhtSettings::max_retry`].
    pub min_retry: Duration,
    /// Longest wait between lookups that found nothing.
    pub max_retry: Duration,
    /// Wait between lookups that found peers (announces expire after 30 minutes).
    pub reannounce: Duration,
}

impl Default for DhtSettings {
    fn default() -> Self {
        DhtSettings {
            bootstrap: DEFAULT_BOOTSTRAP.iter().map(|s| s.to_string()).collect(),
            node_cache: None,
            allow_local: false,
            min_retry: Duration::from_secs(2),
            max_retry: Duration::from_secs(300),
            reannounce: Duration::from_secs(15 * 60),
        }
    }
}

/// Peers forwarded to a torrent in one batch at most.
const BATCH: usize = 64;

/// Starts the session's DHT node on `port` (UDP) of `ip`; if that port is taken, on
/// any port. `None` (with a warning) when no socket can be bound: the session works
/// without it.
pub(crate) async fn start(
    settings: &DhtSettings,
    ip: std::net::IpAddr,
    port: u16,
) -> Option<DhtHandle> {
    let mut node = NodeConfig {
        allow_local: settings.allow_local,
        ..NodeConfig::default()
    };
    if settings.allow_local {
        // Local DHTs put many nodes on one IP: the per-IP query limit must not starve them.
        node.queries_per_ip_per_sec = 10_000;
        node.query_burst_per_ip = 10_000;
        node.query_timeout = Duration::from_secs(2);
    }
    let config = DhtConfig {
        node,
        bootstrap: settings.bootstrap.clone(),
        node_cache: settings.node_cache.clone(),
        ..DhtConfig::default()
    };
    if let Some(dir) = settings.node_cache.as_ref().and_then(|p| p.parent()) {
        if !dir.as_os_str().is_empty() {
            let _ = tokio::fs::create_dir_all(dir).await;
        }
    }
    match Dht::bind(SocketAddr::new(ip, port), config.clone()).await {
        Ok(h) => Some(h),
        Err(e) if port != 0 => {
            warn!("DHT: {e}; using another UDP port");
            match Dht::bind(SocketAddr::new(ip, 0), config).await {
                Ok(h) => Some(h),
                Err(e) => {
                    warn!("DHT off: {e}");
                    None
                }
            }
        }
        Err(e) => {
            warn!("DHT off: {e}");
            None
        }
    }
}

/// Looks `info_hash` up until `peers_tx` closes (the torrent or fetch is gone),
/// announcing TCP `announce_port` when given, sending found peers to `peers_tx`.
pub(crate) fn spawn_lookups(
    dht: DhtHandle,
    settings: DhtSettings,
    info_hash: [u8; 20],
    announce_port: Option<u16>,
    peers_tx: mpsc::Sender<Vec<SocketAddr>>,
) {
    tokio::spawn(async move {
        let mut retry = settings.min_retry;
        loop {
            let found = tokio::select! {
                _ = peers_tx.closed() => return,
                n = lookup_once(&dht, info_hash, announce_port, &peers_tx) => n,
            };
            let Some(found) = found else {
                return; // the DHT stopped
            };
            let wait = if found > 0 {
                retry = settings.min_retry;
                settings.reannounce
            } else {
                let w = retry;
                retry = (retry * 2).min(settings.max_retry);
                w
            };
            debug!(found, next_in = ?wait, "DHT lookup done");
            tokio::select! {
                _ = peers_tx.closed() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    });
}

/// One lookup: forwards peers as they arrive (in batches); the number found, `None`
/// when the DHT is gone.
async fn lookup_once(
    dht: &DhtHandle,
    info_hash: [u8; 20],
    announce_port: Option<u16>,
    peers_tx: &mpsc::Sender<Vec<SocketAddr>>,
) -> Option<usize> {
    let started = match announce_port {
        Some(port) => dht.announce(info_hash, port).await,
        None => dht.get_peers(info_hash).await,
    };
    let mut rx = match started {
        Ok(rx) => rx,
        Err(bitswarm_dht::DhtError::Stopped) => return None,
        Err(e) => {
            debug!("DHT lookup not started: {e}");
            return Some(0);
        }
    };
    let mut found = 0;
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        found += batch.len();
        if peers_tx.send(batch).await.is_err() {
            break;
        }
    }
    Some(found)
}

//! The DHT options shared by `download`, `seed` and `info --fetch`, and the session
//! setting they make.

use std::path::PathBuf;

use bitswarm_net::DhtSettings;

/// DHT (BEP 5) options.
#[derive(clap::Args, Debug, Clone)]
pub struct DhtArgs {
    /// Do not use the DHT (peers then come only from trackers, --peer and x.pe=).
    #[arg(long)]
    pub no_dht: bool,
    /// Bootstrap the DHT from this node (repeatable; default: router.bittorrent.com:6881,
    /// dht.transmissionbt.com:6881, router.utorrent.com:6881, dht.libtorrent.org:25401).
    #[arg(long = "dht-bootstrap", value_name = "HOST:PORT")]
    pub bootstrap: Vec<String>,
    /// Accept loopback and private-network addresses as DHT nodes and peers (a DHT on a
    /// LAN or on one machine; leave off on the Internet).
    #[arg(long = "dht-allow-local")]
    pub allow_local: bool,
    /// The DHT node cache (read at start, written at exit).
    #[arg(long = "dht-cache", value_name = "FILE")]
    pub cache: Option<PathBuf>,
}

impl DhtArgs {
    /// The session's DHT settings; `default_cache` when no --dht-cache was given.
    pub fn settings(&self, default_cache: Option<PathBuf>) -> Option<DhtSettings> {
        if self.no_dht {
            return None;
        }
        let mut s = DhtSettings {
            node_cache: self.cache.clone().or(default_cache),
            allow_local: self.allow_local,
            ..DhtSettings::default()
        };
        if !self.bootstrap.is_empty() {
            s.bootstrap = self.bootstrap.clone();
        }
        Some(s)
    }
}

/// Where `seed` and `info` keep the node cache: `$XDG_STATE_HOME/bitswarm/`, else
/// `~/.local/state/bitswarm/` (`None` without either variable).
pub fn state_cache() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local").join("state"))
        })?;
    Some(base.join("bitswarm").join(CACHE_NAME))
}

/// The node cache's file name.
pub const CACHE_NAME: &str = "dht-nodes.bin";

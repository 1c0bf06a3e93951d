//! The tracker's configuration: one serde struct with defaults for every field and
//! `deny_unknown_fields`, readable from TOML; [`DEFAULT_CONFIG_TOML`] is the default
//! configuration documented field by field (what `bitswarm tracker --print-config` prints).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::registry::RegistryConfig;

/// Everything the tracker server can be told.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Serve HTTP announce/scrape (and /stats, /metrics).
    pub http_enabled: bool,
    /// HTTP listen address.
    pub http_addr: SocketAddr,
    /// Serve UDP (BEP 15).
    pub udp_enabled: bool,
    /// UDP listen address.
    pub udp_addr: SocketAddr,
    /// Announce interval sent to clients, seconds.
    pub interval_secs: u64,
    /// Minimum announce interval sent to HTTP clients, seconds.
    pub min_interval_secs: u64,
    /// Drop a peer not heard from for this long, seconds; 0 means 2 × interval + 60.
    pub peer_timeout_secs: u64,
    /// How often expired peers are swept, seconds.
    pub expire_every_secs: u64,
    /// Peers returned when the client does not send `numwant`.
    pub default_numwant: u32,
    /// Most peers returned in one reply.
    pub max_numwant: u32,
    /// Most torrents tracked; announces for new torrents beyond it are refused.
    pub max_torrents: usize,
    /// Most peers stored per torrent; new peers beyond it are answered but not stored.
    pub max_peers_per_torrent: usize,
    /// Most peers stored overall; same behaviour as the per-torrent limit.
    pub max_peers_total: usize,
    /// Most info-hashes in one HTTP scrape (UDP scrapes answer at most 74).
    pub max_scrape_hashes: usize,
    /// Honour the announce `ip` parameter (HTTP) / field (UDP, IPv4 only).
    pub allow_ip_param: bool,
    /// Whitelist file (hex info-hashes, one a line, `#` comments): a private tracker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whitelist_file: Option<PathBuf>,
    /// Most simultaneous HTTP connections; more are closed right after accept.
    pub http_max_connections: usize,
    /// Time allowed to receive one complete request head (also the keep-alive idle
    /// limit), seconds.
    pub http_request_timeout_secs: u64,
    /// Largest request head accepted, bytes.
    pub http_max_request_bytes: usize,
    /// UDP worker threads, each with its own socket; 0 means one per CPU.
    pub udp_workers: usize,
    /// HTTP accept threads; 0 means one per two CPUs (at least one).
    pub http_workers: usize,
    /// Serve `/stats` (JSON) and `/metrics` (Prometheus text) over HTTP.
    pub stats_enabled: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http_enabled: true,
            http_addr: SocketAddr::from(([0, 0, 0, 0], 6969)),
            udp_enabled: true,
            udp_addr: SocketAddr::from(([0, 0, 0, 0], 6969)),
            interval_secs: 1800,
            min_interval_secs: 60,
            peer_timeout_secs: 0,
            expire_every_secs: 60,
            default_numwant: 50,
            max_numwant: 200,
            max_torrents: 100_000,
            max_peers_per_torrent: 50_000,
            max_peers_total: 2_000_000,
            max_scrape_hashes: 74,
            allow_ip_param: false,
            whitelist_file: None,
            http_max_connections: 1024,
            http_request_timeout_secs: 10,
            http_max_request_bytes: 8192,
            udp_workers: 0,
            http_workers: 0,
            stats_enabled: true,
        }
    }
}

/// The default configuration, commented field by field.
pub const DEFAULT_CONFIG_TOML: &str = r#"# bitswarm tracker configuration (TOML). Every field is optional; shown are the defaults.
# Command-line flags (--http, --udp, --interval, --whitelist) override this file.

# Serve HTTP announce and scrape (and /stats, /metrics if stats_enabled).
http_enabled = true
# HTTP listen address. Port 0 picks a free port.
http_addr = "0.0.0.0:6969"
# Serve the UDP tracker protocol (BEP 15).
udp_enabled = true
# UDP listen address. "[::]:6969" serves IPv6 (and IPv4-mapped) clients.
udp_addr = "0.0.0.0:6969"

# Announce interval sent to clients, in seconds.
interval_secs = 1800
# Minimum announce interval sent to HTTP clients ("min interval"), in seconds.
min_interval_secs = 60
# A peer not heard from for this long is dropped, in seconds; 0 means 2 x interval + 60.
peer_timeout_secs = 0
# How often expired peers (and then empty torrents) are swept, in seconds.
expire_every_secs = 60

# Peers returned when the client does not send numwant.
default_numwant = 50
# Most peers returned in one reply, whatever numwant says.
max_numwant = 200

# Memory limits. Torrents beyond max_torrents are refused with a failure reason.
# A new peer beyond max_peers_per_torrent or max_peers_total gets a normal reply (with
# peers) but is not stored, so others do not see it until room frees up; stored peers are
# never evicted early, they expire.
max_torrents = 100000
max_peers_per_torrent = 50000
max_peers_total = 2000000
# Most info_hash parameters in one HTTP scrape (a UDP scrape answers at most 74).
max_scrape_hashes = 74

# Use the address a client names (HTTP "ip" parameter, UDP "ip" field) instead of the
# packet's source address. Off by default: anyone could list someone else's address.
allow_ip_param = false

# Private tracker: only info-hashes listed in this file (40 hex digits a line, '#' starts a
# comment) are tracked; others are refused. Unset: every torrent is accepted.
# whitelist_file = "/etc/bitswarm/whitelist.txt"

# Most simultaneous HTTP connections; more are closed right after accept.
http_max_connections = 1024
# Time allowed to receive one complete request head, also the idle limit of a keep-alive
# connection, in seconds (slow clients cannot hold sockets longer).
http_request_timeout_secs = 10
# Largest request head accepted, in bytes; larger requests get 400 and are closed.
http_max_request_bytes = 8192

# UDP worker threads, each with its own socket on udp_addr (SO_REUSEPORT); 0 means one
# per CPU.
udp_workers = 0
# HTTP accept threads (they answer one-shot connections themselves and hand keep-alive
# connections to the async runtime); 0 means one per two CPUs, at least one. Measured on
# 2 cores: one thread cost less CPU per connection than two.
http_workers = 0

# Serve /stats (JSON counts and request rates) and /metrics (Prometheus text) over HTTP.
stats_enabled = true
"#;

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {error}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        error: std::io::Error,
    },
    /// The file is not valid TOML for this config (unknown field, wrong type).
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// File.
        path: PathBuf,
        /// Parser message (names the field and line).
        message: String,
    },
    /// A value is out of range.
    #[error("invalid config: {0}")]
    Invalid(&'static str),
}

impl Config {
    /// Reads a TOML file; absent fields take their defaults.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Io {
            path: path.to_owned(),
            error,
        })?;
        Config::from_toml(&text).map_err(|message| ConfigError::Parse {
            path: path.to_owned(),
            message,
        })
    }

    /// Parses TOML text; the error is the parser's message on one line, with the line
    /// and column it points at.
    pub fn from_toml(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e: toml::de::Error| {
            let message = e.message().trim().replace('\n', " ");
            match e.span() {
                Some(span) => {
                    let before = &text[..span.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
                    let column = before.len() - line_start + 1;
                    // The line itself names the field (the message often does not).
                    let source: String = text[line_start..]
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .chars()
                        .take(60)
                        .collect();
                    format!("line {line}, column {column} ({source}): {message}")
                }
                None => message,
            }
        })
    }

    /// Checks ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.http_enabled && !self.udp_enabled {
            return Err(ConfigError::Invalid("both HTTP and UDP are disabled"));
        }
        if self.interval_secs == 0 || self.interval_secs > u64::from(u32::MAX) {
            return Err(ConfigError::Invalid(
                "interval_secs must be between 1 and 2^32-1",
            ));
        }
        if self.expire_every_secs == 0 {
            return Err(ConfigError::Invalid("expire_every_secs must be at least 1"));
        }
        if self.http_max_connections == 0 || self.http_request_timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "http_max_connections and http_request_timeout_secs must be at least 1",
            ));
        }
        if self.http_max_request_bytes < 256 {
            return Err(ConfigError::Invalid(
                "http_max_request_bytes must be at least 256",
            ));
        }
        Ok(())
    }

    /// The peer timeout in effect.
    pub fn peer_timeout(&self) -> Duration {
        if self.peer_timeout_secs == 0 {
            Duration::from_secs(2 * self.interval_secs + 60)
        } else {
            Duration::from_secs(self.peer_timeout_secs)
        }
    }

    /// The registry's part of the configuration.
    pub fn registry_config(&self) -> RegistryConfig {
        RegistryConfig {
            interval: Duration::from_secs(self.interval_secs),
            min_interval: Duration::from_secs(self.min_interval_secs),
            peer_timeout: self.peer_timeout(),
            default_numwant: self.default_numwant,
            max_numwant: self.max_numwant,
            max_torrents: self.max_torrents,
            max_peers_per_torrent: self.max_peers_per_torrent,
            max_peers_total: self.max_peers_total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_default_is_the_default() {
        assert_eq!(
            Config::from_toml(DEFAULT_CONFIG_TOML),
            Ok(Config::default())
        );
        Config::default().validate().unwrap();
    }

    #[test]
    fn every_field_is_documented() {
        let cfg = Config {
            whitelist_file: Some("x".into()),
            ..Config::default()
        };
        let table: toml::Table = toml::from_str(&toml::to_string(&cfg).unwrap()).unwrap();
        let lines: Vec<&str> = DEFAULT_CONFIG_TOML.lines().collect();
        for key in table.keys() {
            let prefixes = [format!("{key} = "), format!("# {key} = ")];
            let at = lines
                .iter()
                .position(|l| prefixes.iter().any(|p| l.starts_with(p.as_str())))
                .unwrap_or_else(|| panic!("{key} is not in DEFAULT_CONFIG_TOML"));
            // A comment explains it within the few lines above.
            let from = at.saturating_sub(5);
            assert!(
                lines[from..at]
                    .iter()
                    .any(|l| l.starts_with("# ") && !l.contains(" = ")),
                "{key} has no comment"
            );
        }
    }

    #[test]
    fn unknown_fields_are_refused_and_partial_files_take_defaults() {
        let e = Config::from_toml("interval_secs = 5\nintervall_secs = 5").unwrap_err();
        assert!(e.contains("intervall_secs"), "{e}");
        assert!(
            e.starts_with("line 2, column 1 (intervall_secs = 5): "),
            "{e}"
        );
        assert!(!e.contains('\n'), "{e}");
        let e = Config::from_toml("interval_secs = \"x\"").unwrap_err();
        assert!(
            e.starts_with("line 1, column 17 (interval_secs = \"x\"): invalid type"),
            "{e}"
        );
        let c = Config::from_toml("interval_secs = 5\nwhitelist_file = \"/w\"").unwrap();
        assert_eq!(c.interval_secs, 5);
        assert_eq!(c.whitelist_file, Some(PathBuf::from("/w")));
        assert_eq!(c.peer_timeout(), Duration::from_secs(70));
    }
}

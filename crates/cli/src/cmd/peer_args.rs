//! Options on how a client finds peers and talks to them, shared by `download` and
//! `seed`: protocol encryption, the handshake timeout, DHT, Local Service Discovery and
//! PEX.

use std::path::PathBuf;
use std::time::Duration;

use bitswarm_net::{EncryptionPolicy, SessionConfig};

/// Flattened into `download` and `seed`.
#[derive(clap::Args, Debug)]
pub struct PeerArgs {
    /// Protocol encryption (MSE/PE): `prefer` dials encrypted and falls back to
    /// plaintext, and accepts both; `require` uses encrypted (RC4) connections only;
    /// `disable` uses plaintext only.
    #[arg(long, value_name = "MODE", default_value = "prefer")]
    pub encryption: EncryptionPolicy,
    /// Seconds a peer has to finish its handshake (encrypted or not).
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub handshake_timeout: u64,
    #[command(flatten)]
    pub dht: super::dht_args::DhtArgs,
    #[command(flatten)]
    pub lsd: super::lsd_args::LsdArgs,
    /// Do not exchange peers with peers (BEP 11 PEX; never done for private torrents).
    #[arg(long)]
    pub no_pex: bool,
}

impl PeerArgs {
    /// `config` with these options applied; the DHT node cache defaults to
    /// `dht_cache`.
    pub fn configure(&self, config: SessionConfig, dht_cache: Option<PathBuf>) -> SessionConfig {
        SessionConfig {
            encryption: self.encryption,
            handshake_timeout: Duration::from_secs(self.handshake_timeout.max(1)),
            dht: self.dht.settings(dht_cache),
            pex: !self.no_pex,
            lsd: self.lsd.settings(),
            ..config
        }
    }
}

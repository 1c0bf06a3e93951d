//! `bitswarm seed`: upload a torrent's existing data (checked first) until Ctrl-C or
//! SIGTERM, announcing to its trackers and the DHT and optionally dialling `--peer`
//! addresses (needed for clients that never dial loopback peers, such as Transmission).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bitswarm_net::{AddTorrent, DataLocation, Session, SessionConfig, TorrentState};
use indicatif::ProgressBar;

use crate::cmd::download::{init_logging, rate_arg, run_blocking, status_line, watch_until};
use crate::exit::Failure;

/// Arguments of `bitswarm seed`.
#[derive(clap::Args, Debug)]
pub struct SeedArgs {
    /// The .torrent file.
    #[arg(value_name = "TORRENT")]
    pub torrent: PathBuf,
    /// The data: the file for a single-file torrent, the folder for a multi-file one.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// TCP port to listen on for peers (0: any free port).
    #[arg(long, value_name = "N", default_value_t = 6881)]
    pub port: u16,
    /// Upload limit in bytes/s, e.g. 512K, 8M, 1.5MiB (0: unlimited).
    #[arg(long, value_name = "RATE", value_parser = rate_arg)]
    pub upload_limit: Option<u64>,
    /// Dial this peer (repeatable).
    #[arg(long = "peer", value_name = "IP:PORT")]
    pub peers: Vec<SocketAddr>,
    /// Most connected peers.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub max_peers: usize,
    /// Re-announce to trackers at least every SECS seconds.
    #[arg(long, value_name = "SECS")]
    pub announce_interval: Option<u64>,
    #[command(flatten)]
    pub net: super::peer_args::PeerArgs,
}

/// Run `bitswarm seed`.
pub fn run(args: SeedArgs) -> anyhow::Result<ExitCode> {
    let meta = crate::torrent_file::load(Path::new(&args.torrent))?;
    init_logging();
    let config = args.net.configure(
        SessionConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], args.port)),
            upload_limit: args.upload_limit.filter(|r| *r > 0),
            max_peers: args.max_peers.max(1),
            max_announce_interval: args.announce_interval.map(Duration::from_secs),
            ..SessionConfig::default()
        },
        super::dht_args::state_cache(),
    );
    let add = AddTorrent {
        extra_peers: args.peers.clone(),
        ..AddTorrent::seed(Arc::new(meta), args.path.clone())
    };
    debug_assert!(matches!(add.location, DataLocation::Existing(_)));
    run_blocking(async move {
        let session = Session::new(config).await?;
        eprintln!(
            "bitswarm: listening on port {}",
            session.local_addr().port()
        );
        let handle = session.add_torrent(add).await?;
        let bar = ProgressBar::hidden();
        // Wait for the check, then refuse to "seed" incomplete data.
        loop {
            let s = handle.stats();
            match s.state {
                TorrentState::Checking => tokio::time::sleep(Duration::from_millis(100)).await,
                TorrentState::Error(e) => {
                    session.shutdown().await;
                    return Err(Failure {
                        code: 1,
                        message: e,
                    }
                    .into());
                }
                _ if s.completed_after_secs.is_none() => {
                    session.shutdown().await;
                    return Err(Failure {
                        code: 1,
                        message: format!(
                            "{}: only {} of {} pieces are good; run `bitswarm verify` to see which",
                            args.path.display(),
                            s.pieces_have,
                            s.pieces_total
                        ),
                    }
                    .into());
                }
                _ => break,
            }
        }
        eprintln!(
            "bitswarm: seeding {} ({} pieces)",
            handle.stats().name,
            handle.stats().pieces_total
        );
        watch_until(&handle, &bar, false).await;
        let s = handle.stats();
        session.shutdown().await;
        eprintln!("{}", status_line(&s));
        Ok(ExitCode::SUCCESS)
    })?
}

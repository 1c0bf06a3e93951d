//! `bitswarm download`: fetch a torrent's files from the swarm (trackers, `--peer`
//! addresses, the DHT and PEX), with a progress bar on stderr and a summary at the end;
//! optionally keep seeding. Ctrl-C (or SIGTERM) stops cleanly: `stopped` is announced and resume data is
//! saved, so the next run continues where this one left off.
//!
//! Also holds what `seed` shares with it: runtime, logging, the signal wait and the
//! status line.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use bitswarm_net::magnet::FetchedMetadata;
use bitswarm_net::{
    parse_rate, AddTorrent, DataLocation, Session, SessionConfig, TorrentHandle, TorrentState,
    TorrentStats,
};
use bitswarm_proto::{Magnet, Metainfo};
use indicatif::{ProgressBar, ProgressStyle};

use crate::exit::Failure;

/// Arguments of `bitswarm download`.
#[derive(clap::Args, Debug)]
pub struct DownloadArgs {
    /// The .torrent file or magnet link to download (a magnet's metadata is fetched
    /// from its `x.pe` peers, --peer addresses, its `tr` trackers and the DHT, BEP 9).
    #[arg(value_name = "TORRENT|MAGNET")]
    pub torrent: String,
    /// Magnet links: also write the fetched .torrent file here.
    #[arg(long, value_name = "FILE")]
    pub save_torrent: Option<PathBuf>,
    /// Magnet links: seconds to wait for the metadata.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub metadata_timeout: u64,
    /// Folder to download into (created if missing); resume data goes to
    /// DIR/.bitswarm/.
    #[arg(short = 'o', long = "output", value_name = "DIR", default_value = ".")]
    pub output: PathBuf,
    /// TCP port to listen on for peers (0: any free port).
    #[arg(long, value_name = "N", default_value_t = 6881)]
    pub port: u16,
    /// Also dial this peer (repeatable).
    #[arg(long = "peer", value_name = "IP:PORT")]
    pub peers: Vec<SocketAddr>,
    /// Keep seeding after the download completes (until Ctrl-C).
    #[arg(long)]
    pub seed: bool,
    /// Most connected peers.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub max_peers: usize,
    /// Download limit in bytes/s, e.g. 512K, 8M, 1.5MiB (0: unlimited).
    #[arg(long, value_name = "RATE", value_parser = rate_arg)]
    pub download_limit: Option<u64>,
    /// Upload limit in bytes/s, e.g. 512K, 8M, 1.5MiB (0: unlimited).
    #[arg(long, value_name = "RATE", value_parser = rate_arg)]
    pub upload_limit: Option<u64>,
    /// Download only these files (indexes as listed by `bitswarm info`, comma separated).
    #[arg(long, value_name = "INDEX,...", value_delimiter = ',')]
    pub only: Vec<usize>,
    /// Hash everything already on disk instead of trusting resume data.
    #[arg(long)]
    pub recheck: bool,
    /// Seconds between peer checks (peers at the fault limit are banned).
    #[arg(long, value_name = "SECS", default_value_t = 15)]
    pub peer_check_interval: u64,
    /// Faults (hash failures, protocol errors, timeouts) at which a peer is banned.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub max_failcount: u32,
    /// Re-announce to trackers at least every SECS seconds.
    #[arg(long, value_name = "SECS")]
    pub announce_interval: Option<u64>,
    /// Parallel download with N workers (rank 0 coordinates; worker r downloads into
    /// DIR/rank_<r>_download and listens on --port + r, 0: any port).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Parallel mode: independent (every worker on its own) or cooperative (workers
    /// trade pieces, the outside swarm sends each piece about once).
    #[arg(long, value_name = "MODE", default_value = "cooperative", value_parser = ["independent", "cooperative"])]
    pub mode: String,
    /// Parallel, cooperative: write one copy into DIR, each worker its share of the pieces.
    #[arg(long, value_name = "DIR")]
    pub shared_dir: Option<PathBuf>,
    /// Parallel, cooperative: the address workers give each other, an IP for all of them
    /// or `auto` (each worker its own, the source address of its default route: workers
    /// on several hosts under MPI) [default: 127.0.0.1].
    #[arg(long, value_name = "IP|auto")]
    pub advertise_ip: Option<bitswarm_swarm::parallel::Advertise>,
    /// Parallel: print the final report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Parallel: a worker without progress for SECS seconds is reported failed.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub stall_timeout: u64,
    #[command(flatten)]
    pub net: super::peer_args::PeerArgs,
}

/// Parses a rate for clap (0 = unlimited).
pub(crate) fn rate_arg(s: &str) -> Result<u64, String> {
    parse_rate(s)
        .map(|r| r.unwrap_or(0))
        .map_err(|e| e.to_string())
}

/// Run `bitswarm download`.
pub fn run(args: DownloadArgs) -> anyhow::Result<ExitCode> {
    if super::download_workers::wanted(&args) {
        return super::download_workers::run(args);
    }
    let magnet = if is_magnet(&args.torrent) {
        Some(Magnet::parse(&args.torrent).map_err(|e| Failure {
            code: 2,
            message: format!("invalid magnet link: {e}"),
        })?)
    } else {
        None
    };
    if let Some(m) = &magnet {
        if m.peer_addrs().is_empty()
            && m.trackers.is_empty()
            && args.peers.is_empty()
            && args.net.dht.no_dht
            && args.net.lsd.no_lsd
        {
            return Err(Failure {
                code: 2,
                message: "the magnet link names no peer (x.pe=) or tracker (tr=), no --peer was given, and --no-dht and --no-lsd are set: nowhere to find peers".into(),
            }
            .into());
        }
    }
    let meta = match &magnet {
        Some(_) => None,
        None => {
            let meta = crate::torrent_file::load(Path::new(&args.torrent))?;
            check_only(&args.only, meta.files().len())?;
            Some(meta)
        }
    };
    init_logging();
    let config = args.net.configure(
        SessionConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], args.port)),
            download_limit: args.download_limit.filter(|r| *r > 0),
            upload_limit: args.upload_limit.filter(|r| *r > 0),
            max_peers: args.max_peers.max(1),
            peer_check_interval: Duration::from_secs(args.peer_check_interval.max(1)),
            max_failcount: args.max_failcount.max(1),
            max_announce_interval: args.announce_interval.map(Duration::from_secs),
            ..SessionConfig::default()
        },
        Some(
            args.output
                .join(".bitswarm")
                .join(super::dht_args::CACHE_NAME),
        ),
    );
    let add = |metainfo: Arc<Metainfo>, extra_peers: Vec<SocketAddr>| AddTorrent {
        metainfo,
        location: DataLocation::SaveDir(args.output.clone()),
        only_files: (!args.only.is_empty()).then(|| args.only.clone()),
        seed_after: args.seed,
        extra_peers,
        recheck: args.recheck,
        no_trackers: false,
    };
    run_blocking(async {
        let session = Session::new(config).await?;
        eprintln!(
            "bitswarm: listening on port {}",
            session.local_addr().port()
        );
        let mut refused = Vec::new();
        let add = match (meta, &magnet) {
            (Some(meta), _) => add(Arc::new(meta), args.peers.clone()),
            (None, Some(magnet)) => {
                let fetched = match fetch_magnet(&session, magnet, &args).await {
                    Ok(f) => f,
                    Err(e) => {
                        session.shutdown().await;
                        return Err(e);
                    }
                };
                let mut peers = fetched.peers;
                peers.extend(args.peers.iter().filter(|p| !fetched.refused.contains(p)));
                refused = fetched.refused;
                add(fetched.metainfo, peers)
            }
            (None, None) => bail!("nothing to download"),
        };
        download(session, add, args.seed, refused).await
    })?
}

pub(crate) fn is_magnet(s: &str) -> bool {
    s.get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("magnet:"))
}

fn check_only(only: &[usize], count: usize) -> anyhow::Result<()> {
    if let Some(bad) = only.iter().find(|i| **i >= count) {
        bail!(
            "--only {bad}: the torrent has {count} files (indexes 0 to {})",
            count.saturating_sub(1)
        );
    }
    Ok(())
}

/// Fetches a magnet link's metadata (BEP 9), writes --save-torrent, checks --only.
async fn fetch_magnet(
    session: &Session,
    magnet: &Magnet,
    args: &DownloadArgs,
) -> anyhow::Result<FetchedMetadata> {
    eprintln!(
        "bitswarm: fetching metadata for {}",
        magnet.info_hash.to_hex()
    );
    let timeout = Duration::from_secs(args.metadata_timeout.max(1));
    let fetched = session
        .fetch_metadata(magnet, &args.peers, timeout)
        .await
        .map_err(|e| Failure {
            code: 1,
            message: e.to_string(),
        })?;
    for p in &fetched.refused {
        eprintln!("bitswarm: refused metadata from {p}");
    }
    eprintln!(
        "bitswarm: metadata fetched: {} ({} files)",
        fetched.metainfo.info().name(),
        fetched.metainfo.files().len()
    );
    if let Some(path) = &args.save_torrent {
        std::fs::write(path, &fetched.torrent_bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    check_only(&args.only, fetched.metainfo.files().len())?;
    Ok(fetched)
}

/// Downloads `add`; `refused`: peers that sent bad metadata (penalised, then banned).
async fn download(
    session: Session,
    add: AddTorrent,
    seed: bool,
    refused: Vec<std::net::SocketAddr>,
) -> anyhow::Result<ExitCode> {
    let handle = session.add_torrent(add).await?;
    if !refused.is_empty() {
        handle.penalise_bad_metadata(refused).await?;
    }
    let bar = progress_bar(&handle.stats());
    let outcome = watch_until(&handle, &bar, !seed).await;
    bar.finish_and_clear();
    let stats = handle.stats();
    session.shutdown().await;
    let stats = TorrentStats {
        state: stats.state.clone(),
        ..stats
    };
    print_summary(&stats);
    match (&stats.state, outcome) {
        (TorrentState::Error(e), _) => Err(Failure {
            code: 1,
            message: e.clone(),
        }
        .into()),
        (_, Outcome::Complete) | (_, Outcome::Interrupted) => Ok(ExitCode::SUCCESS),
    }
}

/// Why watching stopped.
pub(crate) enum Outcome {
    /// The download completed (and we do not seed).
    Complete,
    /// Ctrl-C / SIGTERM, or the torrent stopped.
    Interrupted,
}

/// Updates the bar (or prints a line every few seconds off a terminal) until the
/// download completes (`stop_on_complete`), a signal arrives or the torrent fails.
pub(crate) async fn watch_until(
    handle: &TorrentHandle,
    bar: &ProgressBar,
    stop_on_complete: bool,
) -> Outcome {
    let terminal = std::io::stderr().is_terminal();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    // Woken by every snapshot the torrent publishes (also the one at completion), so the
    // command ends as soon as the download does rather than at the next tick.
    let mut changes = handle.clone();
    let mut open = true;
    let mut last_line = std::time::Instant::now();
    // Streams made once, before the loop: a signal arriving while the loop body runs is
    // kept for the next `select!` (a `ctrl_c()` future made per iteration missed those).
    use tokio::signal::unix::{signal, SignalKind};
    let mut sigint = signal(SignalKind::interrupt()).ok();
    let mut sigterm = signal(SignalKind::terminate()).ok();
    loop {
        tokio::select! {
            _ = async { match sigint.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => return Outcome::Interrupted,
            _ = async { match sigterm.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => return Outcome::Interrupted,
            _ = tick.tick() => {}
            res = changes.changed(), if open => open = res.is_ok(),
        }
        let s = handle.stats();
        update_bar(bar, &s);
        if !terminal && last_line.elapsed() >= Duration::from_secs(5) {
            last_line = std::time::Instant::now();
            eprintln!("{}", status_line(&s));
        }
        if matches!(s.state, TorrentState::Error(_) | TorrentState::Stopped) {
            return Outcome::Interrupted;
        }
        if stop_on_complete && s.completed_after_secs.is_some() {
            return Outcome::Complete;
        }
    }
}

/// Runs `fut` on a new runtime, then stops the runtime without waiting long for
/// blocking work still running (a DHT router's name being resolved, offline).
pub(crate) fn run_blocking<T>(fut: impl std::future::Future<Output = T>) -> anyhow::Result<T> {
    let rt = runtime()?;
    let out = rt.block_on(fut);
    rt.shutdown_timeout(Duration::from_secs(2));
    Ok(out)
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Logs to stderr: warnings by default (bans, tracker trouble), `RUST_LOG` to change.
pub(crate) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

fn progress_bar(s: &TorrentStats) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(s.wanted_bytes.max(1));
    let template = "{msg:20!} [{bar:30}] {percent:>3}% {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta} {prefix}";
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(s.name.clone());
    bar
}

fn update_bar(bar: &ProgressBar, s: &TorrentStats) {
    bar.set_length(s.wanted_bytes.max(1));
    bar.set_position(s.have_bytes);
    bar.set_prefix(format!(
        "{} peers ({} seeds) up {}/s",
        s.peers,
        s.seeds,
        human(s.upload_rate_avg)
    ));
}

/// One line of status for logs.
pub(crate) fn status_line(s: &TorrentStats) -> String {
    let eta = if s.download_rate_avg > 0 && s.wanted_bytes > s.have_bytes {
        format!("{}s", (s.wanted_bytes - s.have_bytes) / s.download_rate_avg)
    } else {
        "-".into()
    };
    format!(
        "bitswarm: {} {:?} {:.1}% down {}/s up {}/s eta {} peers {} seeds {} ratio {:.2}",
        s.name,
        s.state,
        100.0 * s.progress(),
        human(s.download_rate_avg),
        human(s.upload_rate_avg),
        eta,
        s.peers,
        s.seeds,
        s.ratio()
    )
}

fn print_summary(s: &TorrentStats) {
    let secs = s.completed_after_secs.unwrap_or(s.elapsed_secs).max(0.001);
    let done = s.completed_after_secs.is_some();
    println!(
        "{}: {} {} of {} in {:.1}s ({}/s); downloaded {}, uploaded {}, ratio {:.2}, {} hash failures, {} peers banned",
        s.name,
        if done { "complete," } else { "stopped at" },
        human(s.have_bytes),
        human(s.wanted_bytes),
        secs,
        human((s.downloaded as f64 / secs) as u64),
        human(s.downloaded),
        human(s.uploaded),
        s.ratio(),
        s.hash_failures,
        s.banned
    );
}

/// Bytes in binary units.
pub(crate) fn human(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

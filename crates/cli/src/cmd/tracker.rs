//! `bitswarm tracker`: serve the HTTP and UDP tracker until SIGINT or SIGTERM.
//!
//! Settings come from the defaults, then the `--config` TOML file, then the flags.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use bitswarm_tracker::{Config, TrackerServer, DEFAULT_CONFIG_TOML};

/// Arguments of `bitswarm tracker`.
#[derive(clap::Args, Debug)]
pub struct TrackerArgs {
    /// HTTP listen address (announce, scrape, /stats, /metrics) [default: 0.0.0.0:6969].
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,
    /// UDP listen address (BEP 15) [default: 0.0.0.0:6969].
    #[arg(long, value_name = "ADDR")]
    pub udp: Option<SocketAddr>,
    /// Do not serve HTTP.
    #[arg(long, conflicts_with = "http")]
    pub no_http: bool,
    /// Do not serve UDP.
    #[arg(long, conflicts_with = "udp")]
    pub no_udp: bool,
    /// Announce interval sent to clients, seconds [default: 1800].
    #[arg(long, value_name = "SECS")]
    pub interval: Option<u64>,
    /// Track only the info-hashes in FILE (40 hex digits a line, '#' comments); SIGHUP
    /// reloads it.
    #[arg(long, value_name = "FILE")]
    pub whitelist: Option<PathBuf>,
    /// TOML config file; see --print-config for every field and its default.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the default configuration, documented field by field, and exit.
    #[arg(long)]
    pub print_config: bool,
}

/// Run `bitswarm tracker`.
pub fn run(args: TrackerArgs) -> anyhow::Result<ExitCode> {
    if args.print_config {
        print!("{DEFAULT_CONFIG_TOML}");
        return Ok(ExitCode::SUCCESS);
    }
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(addr) = args.http {
        config.http_enabled = true;
        config.http_addr = addr;
    }
    if let Some(addr) = args.udp {
        config.udp_enabled = true;
        config.udp_addr = addr;
    }
    if args.no_http {
        config.http_enabled = false;
    }
    if args.no_udp {
        config.udp_enabled = false;
    }
    if let Some(secs) = args.interval {
        config.interval_secs = secs;
    }
    if let Some(path) = args.whitelist {
        config.whitelist_file = Some(path);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(config))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    // Every handler is installed before the address line is printed: a signal sent as
    // soon as the line is read must find it (a `ctrl_c()` future registers only when first
    // polled, and under load that could come after the signal, which then killed us).
    let mut sigint =
        signal(SignalKind::interrupt()).context("cannot install the SIGINT handler")?;
    let mut sigterm =
        signal(SignalKind::terminate()).context("cannot install the SIGTERM handler")?;
    let mut sighup = signal(SignalKind::hangup()).context("cannot install the SIGHUP handler")?;
    let server = TrackerServer::bind(config).await?;
    let show = |a: Option<SocketAddr>| a.map_or("off".to_owned(), |a| a.to_string());
    // One line on stdout with the bound addresses (useful with port 0).
    println!(
        "bitswarm tracker: http={} udp={}",
        show(server.http_addr()),
        show(server.udp_addr())
    );
    let _ = std::io::stdout().flush();
    loop {
        tokio::select! {
            _ = sigint.recv() => break,
            _ = sigterm.recv() => break,
            _ = sighup.recv() => match server.reload_whitelist() {
                Ok(()) => eprintln!("bitswarm tracker: whitelist reloaded"),
                Err(e) => eprintln!("bitswarm tracker: whitelist not reloaded: {e}"),
            },
        }
    }
    eprintln!("bitswarm tracker: shutting down");
    server.shutdown().await;
    Ok(())
}

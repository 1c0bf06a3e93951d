//! The `bitswarm` binary: parses the command line and hands each subcommand to its
//! module under `cmd/`. It owns user-facing output and exit codes; protocol logic lives in
//! the library crates.
//!
//! Exit codes: 0 success; 1 the command ran but the result is negative (for example
//! `verify` found bad pieces); 2 bad input or usage (a broken torrent, a malformed in-file).

mod cluster_choice;
mod cmd;
mod exit;
mod hashing;
mod progress;
mod torrent_file;
mod walk;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// bitswarm: BitTorrent client, tracker, swarm runner and swarm simulation.
#[derive(Parser, Debug)]
#[command(name = "bitswarm", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a .torrent from a file or a folder.
    Create(cmd::create::CreateArgs),
    /// Show what a .torrent file or a magnet link describes.
    Info(cmd::info::InfoArgs),
    /// Check data on disk against a .torrent, piece by piece.
    Verify(cmd::verify::VerifyArgs),
    /// Run the tracker/segment swarm simulation (the course protocol).
    Sim(cmd::sim::SimArgs),
    /// Run a BitTorrent tracker (HTTP and UDP, announce and scrape).
    Tracker(cmd::tracker::TrackerArgs),
    /// Download a torrent from its trackers and peers (and optionally keep seeding).
    Download(cmd::download::DownloadArgs),
    /// Seed existing data of a torrent until Ctrl-C.
    Seed(cmd::seed::SeedArgs),
    /// Run a whole swarm on this machine: tracker, seeds, peers and leechers.
    Swarm(cmd::swarm::SwarmArgs),
}

fn main() -> ExitCode {
    // Invoked as `tema2` (a symlink or copy, as the course checker runs it): behave as `sim`.
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let invoked_as = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name().map(|f| f.to_owned()));
    if invoked_as.as_deref() == Some(std::ffi::OsStr::new("tema2")) {
        args.insert(1, "sim".into());
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Create(a) => cmd::create::run(a),
        Command::Info(a) => cmd::info::run(a),
        Command::Verify(a) => cmd::verify::run(a),
        Command::Sim(a) => cmd::sim::run(a),
        Command::Tracker(a) => cmd::tracker::run(a),
        Command::Download(a) => cmd::download::run(a),
        Command::Seed(a) => cmd::seed::run(a),
        Command::Swarm(a) => cmd::swarm::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => exit::report(&e),
    }
}

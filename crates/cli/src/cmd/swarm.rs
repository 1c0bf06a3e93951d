//! `bitswarm swarm`: a whole swarm on this machine — tracker, seeds, peers and leechers as
//! real sessions on loopback — from a scenario, with live progress, a summary table, and
//! optionally a JSON report and an SVG plot. Over threads by default, over MPI under
//! `mpirun` (built with `--features mpi`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use bitswarm_cluster::LocalCluster;
use bitswarm_swarm::runner::{
    plot, run_rank, summary, Bars, Lines, NoProgress, Overrides, RunOptions, RunnerError, Scenario,
    SwarmReport, SwarmSink, DEFAULT_SCENARIO_TOML,
};

use crate::cluster_choice::{choose, gather_local, Backend, WorldOfOne};
use crate::exit::Failure;

/// Client rows shown in the summary on stderr (all of them are in `--report`).
const SUMMARY_ROWS: usize = 40;

/// Stack of each rank thread (a rank runs a tokio runtime and, for rank 0, the tracker).
const RANK_STACK: usize = 8 * 1024 * 1024;

/// Arguments of `bitswarm swarm`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Without a scenario it runs the default (print it with --print-default): a tracker, 2 seeds,
6 peers holding half of the pieces, 8 leechers, one 64 MiB file, seeds capped at 8 MiB/s up
and the others at 4 MiB/s up. Flags override the scenario.

Rank 0 runs the tracker and gathers the report; ranks 1.. run the clients. Without MPI the
ranks are threads (the scenario's `ranks`, default 3); built with --features mpi,
`mpirun -np N bitswarm swarm SCENARIO.toml` spreads the clients over N-1 processes.

Exit codes: 0 every downloader completed in time with the right data; 1 a client missed the
deadline or ended with wrong data (named on stderr); 2 bad scenario or a failed run.")]
pub struct SwarmArgs {
    /// Scenario file (TOML); without it, the default scenario.
    #[arg(value_name = "SCENARIO.toml")]
    pub scenario: Option<PathBuf>,
    /// Clients that seed every file.
    #[arg(long, value_name = "N")]
    pub seeds: Option<usize>,
    /// Clients that hold part of every file at start.
    #[arg(long, value_name = "N")]
    pub peers: Option<usize>,
    /// Clients that start with nothing.
    #[arg(long, value_name = "N")]
    pub leechers: Option<usize>,
    /// Size of each generated file (e.g. 64MiB).
    #[arg(long, value_name = "SIZE")]
    pub size: Option<String>,
    /// Number of generated files.
    #[arg(long, value_name = "N")]
    pub files: Option<usize>,
    /// Upload cap of every client, seeds included (e.g. 2MiB; 0 = unlimited).
    #[arg(long, value_name = "RATE")]
    pub upload_limit: Option<String>,
    /// Download cap of every client (e.g. 8MiB; 0 = unlimited).
    #[arg(long, value_name = "RATE")]
    pub download_limit: Option<String>,
    /// Write the report as JSON (schema: docs/swarm-report.md).
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,
    /// Write completion over time per client as SVG.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Keep content, torrents and downloads in DIR (default: a temporary folder, removed).
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// Print the default scenario, commented field by field, and exit.
    #[arg(long)]
    pub print_default: bool,
    /// No live progress and no summary on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `bitswarm swarm`.
pub fn run(args: SwarmArgs) -> anyhow::Result<ExitCode> {
    if args.print_default {
        print!("{DEFAULT_SCENARIO_TOML}");
        return Ok(ExitCode::SUCCESS);
    }
    let scenario = load_scenario(&args)?;
    // Engine logs only on request: the live progress is the normal output.
    if std::env::var_os("RUST_LOG").is_some() {
        crate::cmd::download::init_logging();
    }

    match choose(false, WorldOfOne::RunLocal)? {
        Backend::Local => run_local(scenario, &args),
        #[cfg(feature = "mpi")]
        Backend::Mpi(cluster) => run_mpi(cluster, scenario, &args),
    }
}

fn load_scenario(args: &SwarmArgs) -> anyhow::Result<Scenario> {
    let mut scenario = match &args.scenario {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the scenario {}", path.display()))?;
            Scenario::from_toml(&text).with_context(|| path.display().to_string())?
        }
        None => Scenario::default(),
    };
    let rate = |flag: &str, v: &Option<String>| -> anyhow::Result<Option<Option<u64>>> {
        v.as_deref()
            .map(bitswarm_swarm::runner::scenario::parse_rate)
            .transpose()
            .map_err(|e| anyhow::anyhow!("{flag}: {e}"))
    };
    let size = args
        .size
        .as_deref()
        .map(bitswarm_swarm::runner::scenario::parse_size)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--size: {e}"))?;
    scenario.apply(&Overrides {
        seeds: args.seeds,
        peers: args.peers,
        leechers: args.leechers,
        size,
        files: args.files,
        upload_limit: rate("--upload-limit", &args.upload_limit)?,
        download_limit: rate("--download-limit", &args.download_limit)?,
    })?;
    scenario.validate()?;
    Ok(scenario)
}

/// Live progress: bars on a terminal, a line every 5 s otherwise, nothing with --quiet.
fn progress_sink(quiet: bool) -> Box<SwarmSink> {
    if quiet {
        Box::new(NoProgress)
    } else if std::io::stderr().is_terminal() {
        Box::new(Bars::new())
    } else {
        Box::new(Lines::new(
            Box::new(std::io::stderr()),
            Duration::from_secs(5),
        ))
    }
}

fn run_local(scenario: Scenario, args: &SwarmArgs) -> anyhow::Result<ExitCode> {
    let ranks = scenario.ranks;
    let sink = progress_sink(args.quiet);
    let opts = RunOptions {
        scenario,
        keep: args.keep.clone(),
        progress: sink.as_ref(),
        backend: "local",
    };
    let cluster = LocalCluster::new(ranks).stack_size(RANK_STACK);
    let results = cluster.run(|comm| run_rank(comm, &opts));
    let report = gather_local(results, RunnerError::is_echo_of_abort, Into::into)?;
    publish(&report, args)
}

/// Prints the summary, writes the report and the plot, and picks the exit code.
fn publish(report: &SwarmReport, args: &SwarmArgs) -> anyhow::Result<ExitCode> {
    if !args.quiet {
        eprint!("{}", summary::table(report, SUMMARY_ROWS));
    }
    if let Some(path) = &args.report {
        write(path, &report.to_json())?;
    }
    if let Some(path) = &args.plot {
        write(path, &plot::svg(report))?;
    }
    if report.success {
        return Ok(ExitCode::SUCCESS);
    }
    Err(Failure {
        code: 1,
        message: format!("swarm failed: {}", report.failures.join("; ")),
    }
    .into())
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(feature = "mpi")]
fn run_mpi(
    cluster: bitswarm_cluster::MpiCluster,
    scenario: Scenario,
    args: &SwarmArgs,
) -> anyhow::Result<ExitCode> {
    use bitswarm_cluster::Comm;

    let comm = cluster.comm();
    let rank = comm.rank();
    let deadline = std::time::Instant::now()
        + Duration::from_secs(scenario.deadline_secs)
        + Duration::from_secs(300);
    let sink = progress_sink(args.quiet || rank != 0);
    let opts = RunOptions {
        scenario,
        keep: args.keep.clone(),
        progress: sink.as_ref(),
        backend: "mpi",
    };
    // On an error run_rank already aborted the world (MPI_Abort does not return).
    let report = run_rank(comm, &opts)?;
    crate::cluster_choice::finish_mpi(cluster, deadline, report, |report| publish(report, args))
}

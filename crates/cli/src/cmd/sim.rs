//! `bitswarm sim`: the course's tracker/segment swarm simulation, over threads
//! (`--ranks N`, or N inferred from the in-files) or over MPI (under `mpirun`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use bitswarm_cluster::LocalCluster;
use bitswarm_swarm::sim::{run_rank, SimConfig, SimError, SimReport};

use crate::cluster_choice::{choose, gather_local, Backend, WorldOfOne};

/// Largest `--ranks` accepted (each rank is two threads).
const MAX_LOCAL_RANKS: usize = 4096;

/// Client rows shown in the summary on stderr (all of them are in `--report`).
const SUMMARY_ROWS: usize = 20;

/// Arguments of `bitswarm sim`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Rank 0 is the tracker; every rank R >= 1 is a client that reads DIR/in<R>.txt and writes
DIR/client<R>_<file> for each file it wants.

How many ranks:
  under mpirun (mpirun -np N bitswarm sim, or a symlink named tema2): one rank per process
  --ranks N: N ranks as threads of this process
  otherwise: N = K + 1, where in<K>.txt is the highest-numbered in-file in DIR

Exit codes: 0 done; 2 bad input (inR.txt:LINE: ...) or a failed run.")]
pub struct SimArgs {
    /// Folder with in1.txt, in2.txt, ...; outputs are written there too.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Run N ranks (tracker + N-1 clients) as threads of this process.
    #[arg(long, value_name = "N")]
    pub ranks: Option<usize>,
    /// Also write the run's report as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Fail if the run takes longer than this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub timeout: u64,
    /// Do not print the summary on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `bitswarm sim`.
pub fn run(args: SimArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = SimConfig::new(&args.dir);
    cfg.timeout = Duration::from_secs(args.timeout.max(1));

    // --ranks runs threads even under mpirun; a world of one runs every rank here.
    match choose(args.ranks.is_some(), WorldOfOne::RunLocal)? {
        Backend::Local => {}
        #[cfg(feature = "mpi")]
        Backend::Mpi(cluster) => return run_mpi(cluster, &cfg, &args),
    }

    let ranks = match args.ranks {
        Some(n) if (2..=MAX_LOCAL_RANKS).contains(&n) => n,
        Some(n) => anyhow::bail!(
            "--ranks {n}: must be 2 to {MAX_LOCAL_RANKS} (a tracker and at least one client)"
        ),
        None => infer_ranks(&args.dir)?,
    };
    run_local(ranks, &cfg, &args)
}

/// N = K + 1 for the highest K with `in<K>.txt` in `dir`.
fn infer_ranks(dir: &Path) -> anyhow::Result<usize> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    let highest = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name();
            let name = name.to_str()?;
            name.strip_prefix("in")?
                .strip_suffix(".txt")?
                .parse::<usize>()
                .ok()
        })
        .filter(|&k| k >= 1)
        .max();
    match highest {
        Some(k) if k < MAX_LOCAL_RANKS => Ok(k + 1),
        Some(k) => anyhow::bail!("in{k}.txt: too many clients for one process (at most {})", MAX_LOCAL_RANKS - 1),
        None => anyhow::bail!(
            "no in<R>.txt files in {}: run it in a folder of in-files, pass --dir DIR, or --ranks N",
            dir.display()
        ),
    }
}

fn run_local(ranks: usize, cfg: &SimConfig, args: &SimArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let cluster = LocalCluster::new(ranks).stack_size(cfg.stack_size);
    let results = cluster.run(|comm| run_rank(comm, cfg));
    // A rank told that rank 0 rejected the input is an echo too: rank 0 says why.
    let echo = |e: &SimError| e.is_echo_of_abort() || matches!(e, SimError::InputRejected { .. });
    let mut report = gather_local(results, echo, Into::into)?;
    report.backend = "local".into();
    report.wall_seconds = started.elapsed().as_secs_f64();
    publish(&report, args)?;
    Ok(ExitCode::SUCCESS)
}

/// Print the summary and write the JSON report.
fn publish(report: &SimReport, args: &SimArgs) -> anyhow::Result<()> {
    if !args.quiet {
        eprint!("{}", report.summary(SUMMARY_ROWS));
    }
    if let Some(path) = &args.report {
        let json = serde_json::to_string_pretty(report).context("cannot encode the report")?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write the report {}", path.display()))?;
    }
    Ok(())
}

#[cfg(feature = "mpi")]
fn run_mpi(
    cluster: bitswarm_cluster::MpiCluster,
    cfg: &SimConfig,
    args: &SimArgs,
) -> anyhow::Result<ExitCode> {
    use bitswarm_cluster::Comm;

    let started = Instant::now();
    let deadline = Some(started + cfg.timeout);
    let comm = cluster.comm();
    let rank = comm.rank();
    match run_rank(comm, cfg) {
        Ok(report) => {
            if let Some(mut report) = report {
                report.backend = "mpi".into();
                report.wall_seconds = started.elapsed().as_secs_f64();
                if let Err(e) = publish(&report, args) {
                    comm.abort(&format!("{e:#}"));
                    return Err(e);
                }
            }
            cluster.finish(deadline).context("MPI shutdown")?;
            Ok(ExitCode::SUCCESS)
        }
        // Bad input: every rank stopped in agreement; rank 0 says why, the others exit 2.
        // Rank 0 prints before the closing barrier: once another rank has exited non-zero,
        // mpirun may kill rank 0 before it could say why.
        Err(e) if e.is_coordinated() => {
            let code = if rank == 0 {
                crate::exit::report(&anyhow::Error::from(e))
            } else {
                ExitCode::from(2)
            };
            let _ = cluster.finish(deadline);
            Ok(code)
        }
        // Anything else already aborted the world (MPI_Abort does not return).
        Err(e) => {
            comm.abort(&format!("rank {rank}: {}", e.full_message()));
            Err(e.into())
        }
    }
}

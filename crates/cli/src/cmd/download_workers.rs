//! `bitswarm download --workers N` (and `bitswarm download` under `mpirun`): the parallel
//! downloader. This file only wires the command line to `bitswarm_swarm::parallel`:
//! reading the input once, the cluster back end (threads, or MPI when launched by
//! mpirun), Ctrl-C, the progress renderer, the table or JSON, and the exit code.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use bitswarm_cluster::LocalCluster;
use bitswarm_swarm::parallel::{
    run_rank, Bars, Input, Lines, Mode, ParallelError, ParallelReport, ParallelSink, RunOptions,
    Task, WorkerOptions,
};

use super::download::{init_logging, DownloadArgs};
use crate::cluster_choice::{self, gather_local, Backend, WorldOfOne};
use crate::exit::Failure;

/// Most workers as threads of one process.
const MAX_LOCAL_WORKERS: usize = 256;
/// Stack of each rank thread (a worker runs a tokio runtime and a session).
const RANK_STACK: usize = 8 * 1024 * 1024;

/// Set by Ctrl-C / SIGTERM: every rank stops cleanly.
static STOP: AtomicBool = AtomicBool::new(false);

/// Whether `download` should run the parallel downloader: `--workers` was given, or the
/// process was started by mpirun (built with `--features mpi`).
pub fn wanted(args: &DownloadArgs) -> bool {
    args.workers.is_some() || cluster_choice::launched_by_mpirun()
}

/// Run the parallel downloader.
pub fn run(args: DownloadArgs) -> anyhow::Result<ExitCode> {
    init_logging();
    watch_signals();

    // --workers runs threads even under mpirun; a world of one MPI process downloads alone.
    match cluster_choice::choose(args.workers.is_some(), WorldOfOne::KeepMpi)? {
        Backend::Local => {}
        #[cfg(feature = "mpi")]
        Backend::Mpi(cluster) => return run_mpi(cluster, &args),
    }

    let workers = args.workers.unwrap_or(1);
    if !(1..=MAX_LOCAL_WORKERS).contains(&workers) {
        anyhow::bail!("--workers {workers}: must be 1 to {MAX_LOCAL_WORKERS}");
    }
    let sink = progress_sink();
    let opts = RunOptions {
        task: Some(task(&args)?),
        stall_timeout: Duration::from_secs(args.stall_timeout.max(1)),
        progress: sink.as_ref(),
        stop: &STOP,
        backend: "local",
    };
    let cluster = LocalCluster::new(workers + 1).stack_size(RANK_STACK);
    let results = cluster.run(|comm| run_rank(comm, &opts));
    let report = gather_local(results, ParallelError::is_echo_of_abort, input_error)?;
    publish(&report, args.json)
}

/// Bad input exits 2 with its own message; other errors keep their chain.
fn input_error(e: ParallelError) -> anyhow::Error {
    match e {
        ParallelError::Input(message) => Failure { code: 2, message }.into(),
        e => e.into(),
    }
}

/// Reads the input once (on rank 0) and builds the task from the flags.
fn task(args: &DownloadArgs) -> anyhow::Result<Task> {
    for (given, flag) in [
        (!args.only.is_empty(), "--only"),
        (args.seed, "--seed"),
        (args.save_torrent.is_some(), "--save-torrent"),
    ] {
        if given {
            return Err(Failure {
                code: 2,
                message: format!("{flag} is not supported with --workers or under mpirun"),
            }
            .into());
        }
    }
    let input = if super::download::is_magnet(&args.torrent) {
        Input::Magnet(args.torrent.clone())
    } else {
        Input::Torrent(
            std::fs::read(&args.torrent)
                .with_context(|| format!("cannot read the torrent {}", args.torrent))?,
        )
    };
    let output = if args.output.is_absolute() {
        args.output.clone()
    } else {
        std::env::current_dir()
            .context("cannot find the current folder")?
            .join(&args.output)
    };
    let options = WorkerOptions {
        mode: match args.mode.as_str() {
            "independent" => Mode::Independent,
            "cooperative" => Mode::Cooperative,
            other => anyhow::bail!("--mode {other}: must be independent or cooperative"),
        },
        output,
        shared_dir: args.shared_dir.clone(),
        base_port: args.port,
        peers: args.peers.clone(),
        download_limit: args.download_limit.filter(|r| *r > 0),
        upload_limit: args.upload_limit.filter(|r| *r > 0),
        max_peers: args.max_peers,
        peer_check_interval_secs: args.peer_check_interval,
        max_failcount: args.max_failcount,
        announce_interval_secs: args.announce_interval,
        recheck: args.recheck,
        encryption: args.net.encryption,
        handshake_timeout_secs: args.net.handshake_timeout,
        metadata_timeout_secs: args.metadata_timeout,
        advertise_ip: args
            .advertise_ip
            .unwrap_or(WorkerOptions::default().advertise_ip),
        ..WorkerOptions::default()
    };
    if options.shared_dir.is_some() && options.mode != Mode::Cooperative {
        anyhow::bail!("--shared-dir needs --mode cooperative (each worker writes its share)");
    }
    Ok(Task { input, options })
}

/// Ctrl-C or SIGTERM sets [`STOP`]; the ranks stop their sessions and report.
fn watch_signals() {
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(|| {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = async { match term.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {}
                }
                eprintln!("bitswarm: stopping every worker (resume data is saved)");
                STOP.store(true, Ordering::Relaxed);
            });
        });
    if spawned.is_err() {
        tracing::warn!("cannot watch for Ctrl-C: the download stops only when done");
    }
}

/// Bars on a terminal, a line every 5 s otherwise.
fn progress_sink() -> Box<ParallelSink> {
    if std::io::stderr().is_terminal() {
        Box::new(Bars::new())
    } else {
        Box::new(Lines::new(
            Box::new(std::io::stderr()),
            Duration::from_secs(5),
        ))
    }
}

/// Prints the table (or JSON) on stdout and picks the exit code.
fn publish(report: &ParallelReport, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print!("{}", report.to_json());
    } else {
        print!("{}", report.table());
    }
    if report.success() {
        Ok(ExitCode::SUCCESS)
    } else if report.only_interrupted() {
        // Ctrl-C is a normal way to stop, as for a single download: exit 0.
        eprintln!(
            "bitswarm: interrupted: {} of {} workers stopped before completing; resume data \
             is saved in each rank's folder, run the same command again to continue",
            report.failed, report.workers
        );
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Failure {
            code: 1,
            message: format!(
                "{} of {} workers did not complete",
                report.failed, report.workers
            ),
        }
        .into())
    }
}

#[cfg(feature = "mpi")]
fn run_mpi(cluster: bitswarm_cluster::MpiCluster, args: &DownloadArgs) -> anyhow::Result<ExitCode> {
    use bitswarm_cluster::Comm;
    use bitswarm_swarm::parallel::NoProgress;

    let comm = cluster.comm();
    let rank = comm.rank();
    let sink: Box<ParallelSink> = if rank == 0 {
        progress_sink()
    } else {
        Box::new(NoProgress)
    };
    // Only rank 0 reads the input; a failure there aborts the world with its reason.
    let task = if rank == 0 {
        match task(args) {
            Ok(t) => Some(t),
            Err(e) => {
                comm.abort(&format!("{e:#}"));
                return Err(e);
            }
        }
    } else {
        None
    };
    let opts = RunOptions {
        task,
        stall_timeout: Duration::from_secs(args.stall_timeout.max(1)),
        progress: sink.as_ref(),
        stop: &STOP,
        backend: "mpi",
    };
    // On an error run_rank already aborted the world (MPI_Abort does not return).
    let report = run_rank(comm, &opts).map_err(input_error)?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    cluster_choice::finish_mpi(cluster, deadline, report, |report| {
        publish(report, args.json)
    })
}

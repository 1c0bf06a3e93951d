//! The cluster back end a command runs its ranks on, shared by `swarm`, `sim` and the
//! parallel `download`: MPI processes when mpirun started this one (built with
//! `--features mpi`), threads of this process otherwise; and the two ways a run ends:
//! gathering the thread ranks' results, and closing an MPI rank.

use anyhow::Context;
use bitswarm_cluster::ClusterError;

/// What a world of a single MPI process (`mpirun -np 1`) does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorldOfOne {
    /// Finalise MPI and run every rank as a thread here (a run needs 2 ranks or more).
    RunLocal,
    /// Keep MPI: the one rank does the whole job.
    KeepMpi,
}

/// Where the ranks run.
pub enum Backend {
    /// Every rank is a thread of this process.
    Local,
    /// Every rank is an MPI process; this is one of them.
    #[cfg(feature = "mpi")]
    Mpi(bitswarm_cluster::MpiCluster),
}

/// Whether mpirun started this process.
#[cfg(feature = "mpi")]
pub fn launched_by_mpirun() -> bool {
    bitswarm_cluster::launched_by_mpirun()
}

/// Whether mpirun started this process: never, built without `--features mpi`.
#[cfg(not(feature = "mpi"))]
pub fn launched_by_mpirun() -> bool {
    false
}

/// Picks the back end: MPI when mpirun started this process and no flag asked for threads
/// (`local_flag`), except a world of one when `one` says [`WorldOfOne::RunLocal`];
/// threads otherwise. Fails only when MPI cannot start.
pub fn choose(local_flag: bool, one: WorldOfOne) -> anyhow::Result<Backend> {
    #[cfg(feature = "mpi")]
    if !local_flag && launched_by_mpirun() {
        let cluster = bitswarm_cluster::MpiCluster::init().context("cannot start MPI")?;
        if cluster.size() > 1 || one == WorldOfOne::KeepMpi {
            return Ok(Backend::Mpi(cluster));
        }
        // A world of one: finalise MPI and run the ranks as threads here.
        drop(cluster);
    }
    #[cfg(not(feature = "mpi"))]
    let _ = (local_flag, one);
    Ok(Backend::Local)
}

/// What one thread rank ended with: the cluster's error, or what the rank returned.
pub type RankResult<R, E> = Result<Result<Option<R>, E>, ClusterError>;

/// The outcome of a run on threads: rank 0's report, or an error. A rank that failed on
/// its own wins over an echo (a rank that stopped because another one aborted the world:
/// `is_echo`, or the cluster's `Aborted`); among them, the lowest rank's. `error` turns a
/// rank's own error into the command's.
pub fn gather_local<R, E>(
    results: Vec<RankResult<R, E>>,
    is_echo: impl Fn(&E) -> bool,
    error: impl Fn(E) -> anyhow::Error,
) -> anyhow::Result<R> {
    let mut report = None;
    let mut first: Option<anyhow::Error> = None;
    let mut echo: Option<anyhow::Error> = None;
    for (rank, result) in results.into_iter().enumerate() {
        match result {
            Ok(Ok(Some(r))) if rank == 0 => report = Some(r),
            Ok(Ok(_)) => {}
            Ok(Err(e)) if is_echo(&e) => {
                echo.get_or_insert(error(e));
            }
            Ok(Err(e)) => {
                first.get_or_insert(error(e));
            }
            Err(e @ ClusterError::Aborted { .. }) => {
                echo.get_or_insert(e.into());
            }
            Err(e) => {
                first.get_or_insert(e.into());
            }
        }
    }
    if let Some(e) = first.or(echo) {
        return Err(e);
    }
    report.context("rank 0 ended without a report")
}

/// Ends an MPI rank whose run returned `report` (`Some` on rank 0): publishes it, then
/// waits for the other ranks at the closing barrier until `deadline`. The exit code is
/// `publish`'s (success on the other ranks), unless the shutdown fails.
#[cfg(feature = "mpi")]
pub fn finish_mpi<R>(
    cluster: bitswarm_cluster::MpiCluster,
    deadline: std::time::Instant,
    report: Option<R>,
    publish: impl FnOnce(&R) -> anyhow::Result<std::process::ExitCode>,
) -> anyhow::Result<std::process::ExitCode> {
    let code = match &report {
        Some(report) => publish(report),
        None => Ok(std::process::ExitCode::SUCCESS),
    };
    cluster.finish(Some(deadline)).context("MPI shutdown")?;
    code
}

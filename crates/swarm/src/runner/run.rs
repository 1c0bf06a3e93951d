//! [`run_rank`]: every rank's entry point. Rank 0 coordinates and returns the report;
//! ranks ≥ 1 run their clients. Any rank that fails aborts the cluster so that no rank
//! waits for ever.

use std::path::PathBuf;

use bitswarm_cluster::Comm;

use super::coordinator::run_coordinator;
use super::error::RunnerError;
use super::plan::{decode, Plan};
use super::progress::SwarmSink;
use super::rank::run_client_rank;
use super::report::SwarmReport;
use super::scenario::Scenario;

/// What rank 0 needs to run a swarm (other ranks receive the plan from it).
pub struct RunOptions<'a> {
    /// The scenario (validated, overrides applied).
    pub scenario: Scenario,
    /// Keep the content, torrents and downloads in this folder (default: a temporary
    /// folder removed at the end).
    pub keep: Option<PathBuf>,
    /// Where live progress goes.
    pub progress: &'a SwarmSink,
    /// `"local"` or `"mpi"`, for the report.
    pub backend: &'a str,
}

/// Runs one rank of a swarm. Rank 0 returns `Some(report)`, the others `None`. The
/// cluster needs at least 2 ranks. A run that completes but fails its checks (a client
/// late or with wrong data) is `Ok`, with `report.success == false`.
pub fn run_rank<C: Comm + ?Sized>(
    comm: &C,
    opts: &RunOptions<'_>,
) -> Result<Option<SwarmReport>, RunnerError> {
    let result = if comm.rank() == 0 {
        if comm.size() < 2 {
            return Err(RunnerError::Scenario(
                "a swarm needs at least 2 ranks (a tracker rank and a client rank)".into(),
            ));
        }
        run_coordinator(comm, opts).map(Some)
    } else {
        comm.broadcast(0, Vec::new(), None)
            .map_err(RunnerError::from)
            .and_then(|bytes| decode::<Plan>(&bytes))
            .and_then(|plan| run_client_rank(comm, &plan))
            .map(|()| None)
    };
    if let Err(e) = &result {
        if !e.is_echo_of_abort() {
            comm.abort(&format!("rank {}: {e}", comm.rank()));
        }
    }
    result
}

//! The parallel downloader (`bitswarm download --workers N`, or under `mpirun`): rank 0
//! coordinates, ranks 1.. are workers that each run their own BitTorrent session. With
//! one rank, rank 0 downloads itself.
//!
//! - **independent** mode (the classic design): every worker downloads a full copy into
//!   `rank_<r>_download` on its own port, hashing on its own threads, with its own resume
//!   data.
//! - **cooperative** mode: the workers also connect to each other (addresses exchanged
//!   through the cluster), each asks outside peers only for its share of the pieces
//!   (`i % W == index`, see `bitswarm_engine::ShareGate`) and trades the rest with the
//!   others, so the outside swarm sends each piece about once. With a shared folder each
//!   worker downloads only its share into it (one copy in all).
//!
//! Rank 0 reads the input once and broadcasts it (a magnet link as it is: every worker
//! fetches the metadata with its own session), shows combined progress from the
//! workers' status messages, fails a worker without progress for the stall timeout,
//! stops everyone on Ctrl-C, and gathers the summaries into a [`ParallelReport`]. It runs
//! on any [`bitswarm_cluster::Comm`], threads or MPI. It does not parse command lines or
//! pick a renderer: the binary does.
//!
//! # Layout
//! - [`messages`]: the protocol between rank 0 and the workers (tags, encodings).
//! - `coordinator`: rank 0's loop; [`board`]: its view of the workers and their verdicts;
//!   [`stall`]: the stall rule.
//! - `worker`: one worker's session, cooperation and reports.
//! - [`progress`]: live snapshots and their renderers; [`summary`]: the final table and
//!   JSON.
//! - `run`: [`run_rank`], every rank's entry point.
//! - `error`: [`ParallelError`].

pub mod board;
mod coordinator;
mod error;
pub mod messages;
pub mod progress;
mod run;
pub mod stall;
pub mod summary;
mod worker;

pub use error::ParallelError;
pub use messages::{Advertise, Input, Mode, Task, WorkerOptions};
pub use progress::{
    Bars, Lines, NoProgress, ParallelProgress, ParallelSink, ProgressSink, Snapshot,
};
pub use run::{run_rank, RunOptions};
pub use summary::{Outcome, ParallelReport, WorkerSummary};

//! The swarm runner (`bitswarm swarm`): a whole BitTorrent swarm on this machine — the
//! real tracker, and every client a real bitswarm session on loopback TCP — described by a
//! [`Scenario`], measured against the Kumar–Ross lower bound, reported as a table, JSON and
//! an SVG plot.
//!
//! Clients are placed on the ranks of a [`bitswarm_cluster::Comm`]: rank 0 runs the
//! tracker, makes the content and the torrents, follows progress and gathers the report;
//! ranks 1.. each run their share of the clients in one tokio runtime. The same code runs
//! over threads ([`bitswarm_cluster::LocalCluster`]) and over MPI.
//!
//! # Layout
//! - [`scenario`]: the TOML scenario, its defaults, overrides and validation; `units`:
//!   sizes, rates and piece lengths in it.
//! - [`bound`]: the Kumar–Ross lower bound and how it is generalised.
//! - `content`: the files (generated from the seed or given), their torrents, and the
//!   data each client starts with (held pieces, corrupted copies).
//! - `placement`: which rank runs which client.
//! - `plan`: what rank 0 broadcasts (scenario, torrents, tracker, folders).
//! - `client`: one client on its rank: session, torrents, sampling, verification.
//! - `rank`: a client rank's loop; `coordinator`: rank 0's loop and the report's assembly.
//! - [`progress`]: live progress snapshots and their terminal renderers.
//! - [`report`]: [`SwarmReport`] and its JSON schema; [`summary`]: the text table;
//!   [`plot`]: the SVG.
//! - `run`: [`run_rank`], every rank's entry point.
//! - `error`: [`RunnerError`].

pub mod bound;
mod client;
mod content;
mod coordinator;
mod error;
mod placement;
mod plan;
pub mod plot;
pub mod progress;
mod rank;
pub mod report;
mod run;
pub mod scenario;
pub mod summary;
mod units;

pub use bound::{lower_bound, Bound};
pub use error::RunnerError;
pub use progress::{Bars, Lines, NoProgress, ProgressSink, Snapshot, SwarmProgress, SwarmSink};
pub use report::{ClientReport, SwarmReport};
pub use run::{run_rank, RunOptions};
pub use scenario::{Overrides, Role, Scenario, DEFAULT_SCENARIO_TOML};

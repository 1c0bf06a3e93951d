//! bitswarm-swarm: what runs on the ranks of a cluster.
//!
//! It owns three jobs, each on any [`bitswarm_cluster::Comm`], so the same code runs over
//! threads (LocalCluster) and over MPI:
//! - [`sim`]: the course's tracker/segment swarm simulation: rank 0 is a tracker, ranks ≥ 1
//!   are clients that read `in<R>.txt`, download segments from each other and write
//!   `client<R>_<file>`.
//! - [`runner`]: the swarm runner: rank 0 runs the tracker, makes the content and gathers
//!   the report; the other ranks run real BitTorrent sessions on loopback.
//! - [`parallel`]: the parallel downloader: rank 0 coordinates, ranks 1..N-1 download the
//!   same torrent, independently or cooperating by trading pieces.
//!
//! [`live`] holds the progress plumbing the runner and the parallel downloader share.
//!
//! It must not parse command lines: the binary does that and hands in options.
#![warn(missing_docs)]

pub mod live;
pub mod parallel;
pub(crate) mod policy_text;
pub mod runner;
pub mod sim;

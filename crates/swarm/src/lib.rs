//! bitswarm-swarm: what runs on the ranks of a cluster.
//!
//! Today it holds the course's tracker/segment swarm simulation ([`sim`]): rank 0 is a
//! tracker, ranks ≥ 1 are clients that download segments from each other. It runs on any
//! [`bitswarm_cluster::Comm`], so the same code runs over threads and over MPI. It must not
//! parse command lines or print to the terminal: the binary does that.
#![warn(missing_docs)]

pub mod parallel;
pub mod runner;
pub mod sim;

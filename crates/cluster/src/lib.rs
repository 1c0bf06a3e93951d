//! bitswarm-cluster: ranks and tagged messages between them.
//!
//! This crate owns the [`Comm`] trait (rank, size, tagged send, receive from one rank or
//! any rank, broadcast, gather, barrier, abort) and its two back ends:
//!
//! - [`LocalCluster`]: every rank is a thread of this process and messages go through
//!   per-rank mailboxes. The default; needs nothing installed.
//! - `MpiCluster` (cargo feature `mpi`): every rank is an MPI process (rsmpi over Open MPI).
//!
//! It must not know any protocol: payloads are opaque bytes, and what runs on the ranks
//! lives in `bitswarm-swarm`.
//!
//! # Layout
//! - `comm`: the [`Comm`] trait, [`Envelope`], [`Source`], tags, and the collectives
//!   (written once, on top of point-to-point messages, for both back ends).
//! - `mailbox`: the per-rank receive buffer with (source, tag) matching and abort wake-up.
//! - `local`: [`LocalCluster`] and [`LocalComm`].
//! - `mpi`: `MpiCluster` and `MpiComm` (feature `mpi`).
//! - `error`: [`ClusterError`].
#![warn(missing_docs)]

mod comm;
mod error;
mod local;
mod mailbox;
#[cfg(feature = "mpi")]
mod mpi;

pub use comm::{Comm, Envelope, Rank, Source, Tag, MAX_USER_TAG};
pub use error::ClusterError;
pub use local::{LocalCluster, LocalComm};
#[cfg(feature = "mpi")]
pub use mpi::{launched_by_mpirun, MpiCluster, MpiComm};

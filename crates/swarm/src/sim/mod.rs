//! The course's tracker/segment swarm simulation (`bitswarm sim`).
//!
//! Rank 0 is the tracker, every rank R ≥ 1 a client reading `in<R>.txt` (see [`input`]).
//! A segment is identified by its hash only: "transferring" it is a request naming the
//! file and index, answered OK with the hash the uploader holds (checked against the
//! tracker's) or NOT-OK. Each client runs a download thread and an upload thread; clients
//! become peers of a file after their first 10 segments and seeds when they finish it; the
//! output `client<R>_<file>` lists the hashes in segment order.
//!
//! # Layout
//! - `input`, `validate`: in-file parsing (line-numbered errors) and cross-file checks.
//! - `hash`, `message`, `codec`: segment hashes, the messages and their byte encoding.
//! - `tracker`: the tracker as a sans-I/O state machine.
//! - `run`: [`run_rank`] (every rank's entry point) and the tracker's loop.
//! - `client`, `download`, `upload`, `holdings`: the client's threads and shared state.
//! - `report`: the end-of-run [`SimReport`].
//! - `error`: [`SimError`].

mod client;
mod codec;
mod download;
mod error;
mod hash;
mod holdings;
pub mod input;
pub mod message;
mod report;
mod run;
pub mod tracker;
mod upload;
mod validate;

pub use codec::DecodeError;
pub use error::SimError;
pub use hash::SegmentHash;
pub use input::{ClientInput, InputError};
pub use report::{ClientReport, SimReport};
pub use run::{run_rank, run_tracker, SimConfig};
pub use validate::{check_consistent, validate_inputs};

//! bitswarm-engine: the sans-I/O state of a torrent download.
//!
//! This crate owns the decisions of a BitTorrent client: which pieces a peer has
//! ([`Bitfield`]), which blocks to request from whom ([`PiecePicker`]), how many requests
//! to keep in flight and when they time out ([`RequestQueue`]), who we upload to
//! ([`Choker`]), transfer rates ([`RateMeter`]), when a peer is banned ([`PeerScore`]),
//! and the protocol state of one connection ([`PeerSession`]).
//!
//! It must not do I/O, read the clock, draw its own randomness, spawn threads or await:
//! time comes in as `Instant` arguments and randomness as `&mut impl rand::Rng`, so every
//! behaviour is deterministic and testable on a virtual clock. Byte formats live in
//! `bitswarm-wire`; sockets, disks and timers in the network crate.
//!
//! # Layout
//! - [`geometry`] — [`Geometry`] (piece count, piece and block lengths).
//! - [`bitfield`] — [`Bitfield`] in BEP 3 bit order, with validation of received ones.
//! - [`picker`] — [`PiecePicker`] (rarest first, partial first, endgame, file selection);
//!   its availability order lives in the private `rarity` module.
//! - [`request_queue`] — [`RequestQueue`] (adaptive depth, timeouts, snubbing).
//! - [`choker`] — [`Choker`] (tit-for-tat, optimistic unchoke).
//! - [`rate`] — [`RateMeter`].
//! - [`score`] — [`PeerScore`], [`Fault`].
//! - [`pex`] — [`PexState`]: peer exchange (BEP 11) with one peer, its rate limits and
//!   what we take from it.
//! - [`lsd`] — [`LsdState`]: Local Service Discovery (BEP 14) announce schedule and
//!   what to take from received announces.
//! - [`share`] — [`PieceShare`], [`ShareGate`]: which pieces a member of a cooperating
//!   group asks outside peers for.
//! - [`session`] — [`PeerSession`], the per-peer protocol state machine (inputs
//!   `handle_*`, outputs `poll_*`); its config, events and close reasons in
//!   [`session_types`]; the peer's pending requests in the private `incoming` module.
#![warn(missing_docs)]

pub mod bitfield;
pub mod choker;
pub mod geometry;
mod incoming;
pub mod lsd;
pub mod pex;
pub mod picker;
mod rarity;
pub mod rate;
pub mod request_queue;
pub mod score;
pub mod session;
pub mod session_types;
pub mod share;

pub use bitfield::{Bitfield, BitfieldError};
pub use choker::{ChokeDecision, Choker, ChokerConfig, ChokerPeer, UploadUse};
pub use geometry::{Geometry, GeometryError, BLOCK_LEN};
pub use lsd::{LsdReceived, LsdState};
pub use pex::PexState;
pub use picker::{BlockReceived, PickFor, PickerConfig, PickerError, PiecePicker};
pub use rate::RateMeter;
pub use request_queue::{RequestQueue, RequestQueueConfig, UnrequestedBlock};
pub use score::{Fault, PeerScore, DEFAULT_BAN_THRESHOLD};
pub use session::PeerSession;
pub use session_types::{CloseReason, Role, SessionConfig, SessionEvent};
pub use share::{PieceShare, ShareGate};

/// The caller's handle for a connected peer (an index into its own peer table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerKey(pub u32);

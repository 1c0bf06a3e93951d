//! bitswarm-wire: the BitTorrent peer wire protocol as pure codecs.
//!
//! This crate owns the byte formats spoken between peers: the 68-byte handshake and its
//! reserved bits (BEP 3, 5, 6, 10), every peer message (BEP 3, BEP 6 fast extension,
//! BEP 10 extended framing), an incremental decoder with length limits taken from the
//! torrent, and the BEP 6 allowed-fast set generator.
//!
//! It must not do I/O, keep connection state, read clocks or spawn anything: callers hand
//! it byte buffers and get typed messages (or typed errors) back. Connection state lives
//! in `bitswarm-engine`; sockets live in the network crate.
//!
//! # Layout
//! - [`handshake`] — [`Handshake`], [`Reserved`] bits.
//! - [`message`] — [`Message`], [`BlockInfo`], message ids and encoding.
//! - [`decoder`] — [`MessageDecoder`], [`Limits`], [`DecodeError`].
//! - [`allowed_fast`] — [`allowed_fast_set`] (BEP 6).
#![warn(missing_docs)]

pub mod allowed_fast;
pub mod decoder;
pub mod handshake;
pub mod message;

pub use allowed_fast::allowed_fast_set;
pub use decoder::{DecodeError, Limits, MessageDecoder, MAX_EXTENDED_LEN};
pub use handshake::{Handshake, HandshakeError, Reserved, HANDSHAKE_LEN};
pub use message::{BlockInfo, Message, BLOCK_LEN};

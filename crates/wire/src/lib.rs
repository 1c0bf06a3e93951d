//! bitswarm-wire: the BitTorrent peer wire protocol as pure codecs.
//!
//! This crate owns the byte formats spoken between peers: the 68-byte handshake and its
//! reserved bits (BEP 3, 5, 6, 10), every peer message (BEP 3, BEP 6 fast extension,
//! BEP 10 extended framing), an incremental decoder with length limits taken from the
//! torrent, the BEP 6 allowed-fast set generator, and the payloads of the extension
//! handshake (BEP 10), `ut_metadata` (BEP 9) and `ut_pex` (BEP 11), and the Local Service
//! Discovery announce (BEP 14).
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
//! - [`extension`] — [`ExtensionHandshake`] (BEP 10), payloads encoded with
//!   `bitswarm-bencode`.
//! - [`metadata`] — [`MetadataMessage`] (BEP 9 `ut_metadata`).
//! - [`pex`] — [`PexMessage`] (BEP 11 `ut_pex`).
//! - [`lsd`] — [`LsdAnnounce`] (BEP 14 `BT-SEARCH`).
#![warn(missing_docs)]

pub mod allowed_fast;
pub mod decoder;
pub mod extension;
pub mod handshake;
pub mod lsd;
pub mod message;
pub mod metadata;
pub mod pex;

pub use allowed_fast::allowed_fast_set;
pub use decoder::{DecodeError, Limits, MessageDecoder, MAX_EXTENDED_LEN};
pub use extension::{ExtensionError, ExtensionHandshake, UT_METADATA, UT_PEX};
pub use handshake::{Handshake, HandshakeError, Reserved, HANDSHAKE_LEN};
pub use lsd::{LsdAnnounce, LsdError, LSD_GROUP_V4};
pub use message::{BlockInfo, Message, BLOCK_LEN};
pub use metadata::MetadataMessage;
pub use pex::PexMessage;

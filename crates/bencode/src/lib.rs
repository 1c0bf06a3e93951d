//! bitswarm-bencode owns the bencode format (BEP 3): decoding into borrowed values that
//! remember the exact bytes they were parsed from, and canonical encoding (sorted keys,
//! no leading zeros).
//!
//! Why raw spans: the info-hash of a torrent is the SHA-1 of the *original* bytes of its
//! `info` dictionary. A torrent written with unsorted keys or non-canonical integers must
//! get the same info-hash as every other client computes, so callers hash
//! [`Value::raw`] and never a re-encoding.
//!
//! This crate does no I/O and knows nothing about torrents.
//!
//! Layout:
//! - [`decode`](mod@decode): the parser ([`decode()`], [`decode_prefix`], [`Decoder`] with
//!   limits on nesting depth and value count; declared lengths are checked against the
//!   input before anything is allocated).
//! - [`value`]: the decoded tree ([`Value`], [`Kind`], [`Dict`]) with lookup helpers.
//! - [`owned`]: [`OwnedValue`], a value to build and encode (tracker responses,
//!   metainfo files, extension messages).
//! - [`encode`](mod@encode): canonical writers for integers, strings and whole values.
//! - [`error`]: [`DecodeError`], which says what went wrong and at which byte offset.
#![warn(missing_docs)]

pub mod decode;
pub mod encode;
pub mod error;
pub mod owned;
pub mod value;

pub use decode::{decode, decode_prefix, Decoder};
pub use encode::{encode, write_bytes, write_int};
pub use error::DecodeError;
pub use owned::OwnedValue;
pub use value::{Dict, Kind, Value};

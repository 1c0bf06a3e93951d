//! bitswarm-proto owns the BitTorrent data types and formats that need no I/O: info-hash
//! and peer id, piece geometry, `.torrent` metainfo (v1; v2 and hybrid are recognized and
//! refused), torrent creation from already-computed piece hashes, and magnet links.
//!
//! It must not open files, sockets or threads, read the clock or draw random numbers:
//! callers pass those in (e.g. the creation date, random peer-id bytes, piece hashes).
//!
//! Layout:
//! - [`sha1`]: the one SHA-1 function the project uses (OpenSSL's, the fastest measured).
//! - [`sha1_mb`]: multi-buffer SHA-1 (many equal-length messages at once in SIMD lanes).
//! - [`id`]: [`InfoHash`] and [`PeerId`].
//! - [`geometry`]: piece sizes, 16 KiB blocks, mapping pieces to file ranges.
//! - [`path`]: validation of file paths from torrents (a security boundary).
//! - [`metainfo`]: parsing `.torrent` files into [`Metainfo`] / [`Info`].
//! - [`create`]: building a `.torrent` ([`TorrentSpec`]) and choosing a piece length.
//! - [`magnet`]: magnet URIs ([`Magnet`]).
#![warn(missing_docs)]

pub mod create;
pub mod geometry;
pub mod id;
pub mod magnet;
pub mod metainfo;
pub mod metainfo_from_info;
pub mod path;
pub mod sha1;
pub mod sha1_mb;

pub use create::{auto_piece_length, TorrentSpec};
pub use geometry::{FileSlice, Layout, PieceGeometry, BLOCK_SIZE};
pub use id::{InfoHash, ParseIdError, PeerId};
pub use magnet::{Magnet, MagnetError};
pub use metainfo::{FileEntry, Info, Metainfo, MetainfoError};
pub use path::PathError;

//! bitswarm-engine: sans-I/O torrent state (being written).
#![warn(missing_docs)]

//! bitswarm-testkit: what the test suites of several crates share, so that a fake peer
//! or a torrent builder exists once: deterministic content and torrents written to disk
//! ([`torrent`]), and hand-written peers that misbehave on purpose ([`peers`]).
//!
//! A dev-dependency only. Being test support, it panics (with a message) when the test
//! machine itself fails, e.g. a file cannot be written.

pub mod peers;
pub mod torrent;

//! Serving our info dictionary to peers (BEP 9 `ut_metadata`): the answer to one
//! `request` (a `data` piece of 16 KiB, the last shorter, or a `reject` when out of
//! range or over the peer's budget), and the driver hook that sends it. Also the
//! driver's penalty for peers that sent bad metadata while it was being fetched.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bitswarm_engine::{Fault, PeerKey};
use bitswarm_wire::metadata::METADATA_PIECE_LEN;
use bitswarm_wire::MetadataMessage;
use bytes::Bytes;

use crate::torrent::Torrent;

/// The id we receive `ut_metadata` messages with (our `m`; libtorrent uses 2 too).
pub(crate) const UT_METADATA_ID: u8 = 2;
/// Most metadata pieces served to one peer per [`BUDGET_WINDOW`] (4 MiB).
const BUDGET_PIECES: u32 = 256;
/// The window of [`BUDGET_PIECES`].
const BUDGET_WINDOW: Duration = Duration::from_secs(10);

/// A peer's metadata request budget: at most [`BUDGET_PIECES`] per window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MetadataBudget {
    window_start: Instant,
    served: u32,
}

impl MetadataBudget {
    /// A full budget.
    pub fn new(now: Instant) -> Self {
        MetadataBudget {
            window_start: now,
            served: 0,
        }
    }

    /// Takes one piece from the budget; false when it is used up for this window.
    pub fn take(&mut self, now: Instant) -> bool {
        if now.duration_since(self.window_start) >= BUDGET_WINDOW {
            self.window_start = now;
            self.served = 0;
        }
        if self.served >= BUDGET_PIECES {
            return false;
        }
        self.served += 1;
        true
    }
}

/// The answer to a request for metadata piece `piece` of `raw_info`.
pub(crate) fn answer(raw_info: &Bytes, piece: u32) -> MetadataMessage {
    let start = piece as usize * METADATA_PIECE_LEN;
    if start >= raw_info.len() {
        return MetadataMessage::Reject { piece };
    }
    let end = (start + METADATA_PIECE_LEN).min(raw_info.len());
    MetadataMessage::Data {
        piece,
        total_size: raw_info.len() as u64,
        data: raw_info.slice(start..end),
    }
}

impl Torrent {
    /// Peers that sent bad metadata during the fetch: wrong metadata is proof of a bad
    /// (or broken) peer, so its failcount goes straight to the ban threshold and the
    /// peer check runs now.
    pub fn penalise_bad_metadata(&mut self, addrs: Vec<SocketAddr>) {
        let max = self.setup.config.max_failcount;
        for addr in addrs {
            tracing::info!(peer = %addr, "penalising peer for bad metadata");
            let score = self.scores.entry(addr).or_default();
            while !score.should_ban(max) {
                score.record(Fault::ProtocolError);
            }
        }
        self.peer_check();
    }

    /// A `ut_metadata` message from a peer: answer requests; a peer that sends
    /// anything else to a torrent with metadata gets it ignored, garbage counts as a
    /// protocol fault.
    pub fn on_metadata_message(&mut self, key: PeerKey, payload: Bytes, now: Instant) {
        let msg = match MetadataMessage::decode(&payload) {
            Ok(m) => m,
            Err(_) => {
                if let Some(addr) = self.addr_of(key) {
                    self.scores
                        .entry(addr)
                        .or_default()
                        .record(Fault::ProtocolError);
                }
                return;
            }
        };
        let MetadataMessage::Request { piece } = msg else {
            return;
        };
        let raw = self.raw_info.clone();
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        let Some(id) = p.ut_metadata else {
            return;
        };
        let reply = if p.metadata_budget.take(now) {
            answer(&raw, piece)
        } else {
            MetadataMessage::Reject { piece }
        };
        p.session
            .send_extended(id, Bytes::from(reply.encode()), now);
        self.touch(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_are_16k_and_the_last_is_shorter() {
        let raw = Bytes::from(vec![7u8; 2 * METADATA_PIECE_LEN + 5]);
        for (piece, len) in [(0, METADATA_PIECE_LEN), (1, METADATA_PIECE_LEN), (2, 5)] {
            let MetadataMessage::Data {
                piece: p,
                total_size,
                data,
            } = answer(&raw, piece)
            else {
                panic!("not data");
            };
            assert_eq!((p, total_size, data.len()), (piece, raw.len() as u64, len));
        }
        assert_eq!(answer(&raw, 3), MetadataMessage::Reject { piece: 3 });
        assert_eq!(
            answer(&raw, u32::MAX),
            MetadataMessage::Reject { piece: u32::MAX }
        );
    }

    #[test]
    fn budget_is_bounded_per_window() {
        let t0 = Instant::now();
        let mut b = MetadataBudget::new(t0);
        for _ in 0..BUDGET_PIECES {
            assert!(b.take(t0));
        }
        assert!(!b.take(t0));
        assert!(b.take(t0 + BUDGET_WINDOW));
    }
}

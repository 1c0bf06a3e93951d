//! Assembling an info dictionary from peers (BEP 9), sans I/O: the size comes from the
//! peers' `metadata_size` (at most [`MAX_METADATA_SIZE`]), pieces of 16 KiB are asked
//! from several peers at once (one piece in flight per peer and piece, re-asked after a
//! timeout or a reject), and the whole is checked against the info-hash. A mismatch
//! drops every piece and names the peers that sent them, to be penalised; a peer whose
//! size disagrees with the size being assembled, or whose piece has the wrong length,
//! is refused.

use std::time::{Duration, Instant};

use bitswarm_proto::InfoHash;
use bitswarm_wire::metadata::METADATA_PIECE_LEN;
use bytes::Bytes;
use thiserror::Error;

/// Largest info dictionary we fetch: 16 MiB.
pub const MAX_METADATA_SIZE: u64 = 16 << 20;
/// A metadata request not answered within this is asked from another peer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Most pieces in flight from one peer.
pub const MAX_IN_FLIGHT_PER_PEER: usize = 16;

/// Why a peer's metadata (or claim about it) is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MetadataError {
    /// `metadata_size` of 0 or over [`MAX_METADATA_SIZE`].
    #[error("metadata size {0} is out of range (1 to 16 MiB)")]
    SizeOutOfRange(u64),
    /// The peer's size differs from the one being assembled.
    #[error("metadata size {claimed} differs from {expected}")]
    SizeMismatch {
        /// The size being assembled.
        expected: u64,
        /// The peer's.
        claimed: u64,
    },
    /// A piece index past the end, or a piece of the wrong length.
    #[error("bad metadata piece {0}")]
    BadPiece(u32),
    /// A piece we did not ask this peer for.
    #[error("unrequested metadata piece {0}")]
    Unrequested(u32),
    /// The assembled metadata does not hash to the info-hash.
    #[error("metadata does not match the info-hash")]
    HashMismatch,
}

/// What a complete assembly gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Assembled<K> {
    /// Not complete yet.
    Pending,
    /// The info dictionary, verified.
    Done(Vec<u8>),
    /// The pieces did not hash to the info-hash: all were dropped; these peers sent
    /// them.
    HashMismatch(Vec<K>),
}

#[derive(Debug, Clone)]
struct Slot<K> {
    data: Option<(Bytes, K)>,
    asked: Vec<(K, Instant)>,
}

/// The metadata being assembled. `K` names a peer.
#[derive(Debug)]
pub struct MetadataAssembly<K> {
    info_hash: InfoHash,
    size: Option<u64>,
    slots: Vec<Slot<K>>,
}

impl<K: Copy + Eq> MetadataAssembly<K> {
    /// Nothing known yet.
    pub fn new(info_hash: InfoHash) -> Self {
        MetadataAssembly {
            info_hash,
            size: None,
            slots: Vec::new(),
        }
    }

    /// The size being assembled, once known.
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// A peer's `metadata_size`: the first valid one fixes the size; a different one
    /// later is an error (the peer is lying, or the other was).
    pub fn offer_size(&mut self, size: u64) -> Result<(), MetadataError> {
        if size == 0 || size > MAX_METADATA_SIZE {
            return Err(MetadataError::SizeOutOfRange(size));
        }
        match self.size {
            Some(expected) if expected != size => Err(MetadataError::SizeMismatch {
                expected,
                claimed: size,
            }),
            Some(_) => Ok(()),
            None => {
                self.size = Some(size);
                let n = size.div_ceil(METADATA_PIECE_LEN as u64) as usize;
                self.slots = vec![
                    Slot {
                        data: None,
                        asked: Vec::new(),
                    };
                    n
                ];
                Ok(())
            }
        }
    }

    fn piece_len(&self, piece: usize) -> usize {
        let size = self.size.unwrap_or(0) as usize;
        (size - piece * METADATA_PIECE_LEN).min(METADATA_PIECE_LEN)
    }

    /// Pieces to ask `peer` for now (at most `max`), marked as asked. A piece is asked
    /// from a second peer only when no one else has it in flight (or theirs timed out).
    pub fn next_requests(&mut self, peer: K, max: usize, now: Instant) -> Vec<u32> {
        let in_flight = self
            .slots
            .iter()
            .filter(|s| s.asked.iter().any(|(k, _)| *k == peer))
            .count();
        let room = max.min(MAX_IN_FLIGHT_PER_PEER.saturating_sub(in_flight));
        let mut out = Vec::new();
        for (i, s) in self.slots.iter_mut().enumerate() {
            if out.len() >= room {
                break;
            }
            s.asked
                .retain(|(_, at)| now.duration_since(*at) < REQUEST_TIMEOUT);
            if s.data.is_some() || !s.asked.is_empty() {
                continue;
            }
            s.asked.push((peer, now));
            out.push(i as u32);
        }
        out
    }

    /// The peer refused a piece (or left): it may be asked from someone else.
    pub fn on_reject(&mut self, peer: K, piece: u32) {
        if let Some(s) = self.slots.get_mut(piece as usize) {
            s.asked.retain(|(k, _)| *k != peer);
        }
    }

    /// The peer is gone: its requests are free again.
    pub fn peer_gone(&mut self, peer: K) {
        for s in &mut self.slots {
            s.asked.retain(|(k, _)| *k != peer);
        }
    }

    /// A data piece from `peer`.
    pub fn on_data(
        &mut self,
        peer: K,
        piece: u32,
        total_size: u64,
        data: Bytes,
    ) -> Result<Assembled<K>, MetadataError> {
        let Some(expected) = self.size else {
            return Err(MetadataError::Unrequested(piece));
        };
        if total_size != expected {
            return Err(MetadataError::SizeMismatch {
                expected,
                claimed: total_size,
            });
        }
        let i = piece as usize;
        if i >= self.slots.len() || data.len() != self.piece_len(i) {
            return Err(MetadataError::BadPiece(piece));
        }
        let slot = &mut self.slots[i];
        if !slot.asked.iter().any(|(k, _)| *k == peer) {
            return Err(MetadataError::Unrequested(piece));
        }
        slot.asked.retain(|(k, _)| *k != peer);
        if slot.data.is_none() {
            slot.data = Some((data, peer));
        }
        if self.slots.iter().any(|s| s.data.is_none()) {
            return Ok(Assembled::Pending);
        }
        let mut all = Vec::with_capacity(expected as usize);
        let mut senders: Vec<K> = Vec::new();
        for s in &mut self.slots {
            if let Some((d, k)) = s.data.take() {
                all.extend_from_slice(&d);
                if !senders.contains(&k) {
                    senders.push(k);
                }
            }
            s.asked.clear();
        }
        if InfoHash::of_info_bytes(&all) == self.info_hash {
            Ok(Assembled::Done(all))
        } else {
            // Start over; the size may have been the lie, so it is learned again.
            self.size = None;
            self.slots.clear();
            Ok(Assembled::HashMismatch(senders))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(len: usize) -> (Vec<u8>, InfoHash) {
        let raw: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let h = InfoHash::of_info_bytes(&raw);
        (raw, h)
    }

    fn piece(raw: &[u8], p: u32) -> Bytes {
        let s = p as usize * METADATA_PIECE_LEN;
        Bytes::copy_from_slice(&raw[s..(s + METADATA_PIECE_LEN).min(raw.len())])
    }

    #[test]
    fn assembles_from_two_peers() {
        let (raw, h) = info(3 * METADATA_PIECE_LEN + 10);
        let mut a = MetadataAssembly::new(h);
        let now = Instant::now();
        assert!(a.next_requests(1, 4, now).is_empty(), "size unknown");
        a.offer_size(raw.len() as u64).unwrap();
        assert_eq!(a.next_requests(1, 2, now), vec![0, 1]);
        assert_eq!(a.next_requests(2, 4, now), vec![2, 3]);
        let total = raw.len() as u64;
        assert_eq!(
            a.on_data(1, 0, total, piece(&raw, 0)),
            Ok(Assembled::Pending)
        );
        assert_eq!(
            a.on_data(2, 3, total, piece(&raw, 3)),
            Ok(Assembled::Pending)
        );
        a.on_reject(2, 2);
        assert_eq!(a.next_requests(1, 4, now), vec![2]);
        assert_eq!(
            a.on_data(1, 1, total, piece(&raw, 1)),
            Ok(Assembled::Pending)
        );
        assert_eq!(
            a.on_data(1, 2, total, piece(&raw, 2)),
            Ok(Assembled::Done(raw))
        );
    }

    #[test]
    fn wrong_hash_drops_everything_and_names_the_senders() {
        let (raw, h) = info(2 * METADATA_PIECE_LEN);
        let mut a = MetadataAssembly::new(h);
        let now = Instant::now();
        a.offer_size(raw.len() as u64).unwrap();
        assert_eq!(a.next_requests(7, 1, now), vec![0]);
        assert_eq!(a.next_requests(8, 1, now), vec![1]);
        let total = raw.len() as u64;
        a.on_data(7, 0, total, piece(&raw, 0)).unwrap();
        let bad = Bytes::from(vec![0u8; METADATA_PIECE_LEN]);
        assert_eq!(
            a.on_data(8, 1, total, bad),
            Ok(Assembled::HashMismatch(vec![7, 8]))
        );
        assert_eq!(a.size(), None);
        assert!(a.next_requests(7, 4, now).is_empty());
    }

    #[test]
    fn sizes_are_bounded_and_must_agree() {
        let mut a = MetadataAssembly::<u8>::new(InfoHash([0; 20]));
        assert_eq!(a.offer_size(0), Err(MetadataError::SizeOutOfRange(0)));
        let huge = MAX_METADATA_SIZE + 1;
        assert_eq!(a.offer_size(huge), Err(MetadataError::SizeOutOfRange(huge)));
        a.offer_size(100).unwrap();
        assert!(a.offer_size(100).is_ok());
        assert!(matches!(
            a.offer_size(101),
            Err(MetadataError::SizeMismatch { .. })
        ));
    }

    #[test]
    fn bad_pieces_are_refused() {
        let (raw, h) = info(METADATA_PIECE_LEN + 1);
        let mut a = MetadataAssembly::new(h);
        let now = Instant::now();
        let total = raw.len() as u64;
        a.offer_size(total).unwrap();
        // unrequested
        assert_eq!(
            a.on_data(1, 0, total, piece(&raw, 0)),
            Err(MetadataError::Unrequested(0))
        );
        assert_eq!(a.next_requests(1, 8, now), vec![0, 1]);
        // wrong length, out of range, lying total size
        assert_eq!(
            a.on_data(1, 1, total, piece(&raw, 0)),
            Err(MetadataError::BadPiece(1))
        );
        assert_eq!(
            a.on_data(1, 2, total, Bytes::new()),
            Err(MetadataError::BadPiece(2))
        );
        assert!(matches!(
            a.on_data(1, 0, total + 1, piece(&raw, 0)),
            Err(MetadataError::SizeMismatch { .. })
        ));
    }

    #[test]
    fn timed_out_requests_go_to_another_peer() {
        let (raw, h) = info(10);
        let mut a = MetadataAssembly::new(h);
        let now = Instant::now();
        a.offer_size(raw.len() as u64).unwrap();
        assert_eq!(a.next_requests(1, 4, now), vec![0]);
        assert!(a.next_requests(2, 4, now).is_empty());
        assert_eq!(a.next_requests(2, 4, now + REQUEST_TIMEOUT), vec![0]);
        a.peer_gone(2);
        assert_eq!(a.next_requests(3, 4, now + REQUEST_TIMEOUT), vec![0]);
    }
}

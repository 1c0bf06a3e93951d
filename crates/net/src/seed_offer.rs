//! Seeding: which pieces to offer each downloader (BEP 6 `suggest piece`), so a seed
//! injects every piece about once rather than the same popular pieces several times.
//!
//! Downloaders pick rarest first, but a piece a seed is still sending to one peer looks
//! as rare as ever to the others, who then ask the seed for it too: in swarms of capped
//! leechers the seed sent each piece about twice, and its upload (the only source of new
//! pieces) was spent on copies. While seeding, the driver keeps every unchoked,
//! interested peer supplied with suggestions of the pieces it has offered least (counting
//! offers still outstanding), in the spirit of BEP 16 super-seeding but without hiding
//! pieces: a peer may still ask for anything. Suggestions break ties between equally
//! rare pieces in the downloader's picker (`bitswarm-engine`), so they steer requests
//! without overriding rarity.

use std::time::Instant;

use bitswarm_engine::PeerKey;
use rand::Rng;

use crate::torrent::Torrent;

/// Bytes of offered, not yet requested pieces kept per peer (about a request pipeline).
const OFFER_BYTES: u64 = 2 * 1024 * 1024;
/// Most outstanding offers per peer (the downloader remembers a bounded number of hints).
const MAX_OFFERS: usize = 96;

/// Per-torrent offer counts.
#[derive(Debug, Default)]
pub(crate) struct SeedOffers {
    /// Times each piece was offered (a withdrawn offer is taken back).
    offered: Vec<u32>,
}

impl SeedOffers {
    /// Counts for `pieces` pieces.
    pub fn new(pieces: u32) -> Self {
        SeedOffers {
            offered: vec![0; pieces as usize],
        }
    }

    /// The least offered piece the peer lacks and has not been offered, starting the scan
    /// at `start` so equal counts are spread at random.
    fn least_offered(&self, lacks: impl Fn(u32) -> bool, start: usize) -> Option<u32> {
        let n = self.offered.len();
        let mut best: Option<(u32, u32)> = None;
        for i in 0..n {
            let p = (start + i) % n;
            let count = self.offered[p];
            if best.is_some_and(|(c, _)| c <= count) {
                continue;
            }
            if lacks(p as u32) {
                best = Some((count, p as u32));
                if count == 0 {
                    break;
                }
            }
        }
        best.map(|(_, p)| p)
    }

    fn take_back(&mut self, pieces: &[u32]) {
        for &p in pieces {
            if let Some(c) = self.offered.get_mut(p as usize) {
                *c = c.saturating_sub(1);
            }
        }
    }
}

impl Torrent {
    /// Tops up a peer's outstanding offers while we seed (see the module docs).
    pub(crate) fn offer_pieces(&mut self, key: PeerKey, now: Instant) {
        if !self.picker.is_complete() {
            return;
        }
        let piece_len = u64::from(self.geometry.piece_length()).max(1);
        let target = (OFFER_BYTES.div_ceil(piece_len) as usize).clamp(2, MAX_OFFERS);
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        let s = &p.session;
        if !s.is_connected() || s.is_closed() || !s.fast() || s.am_choking() || !s.peer_interested()
        {
            return;
        }
        let has = s.peer_pieces();
        p.offers.retain(|x| !has.get(*x));
        while p.offers.len() < target {
            let start = self.rng.gen_range(0..self.offers.offered.len().max(1));
            let offers = &p.offers;
            let has = p.session.peer_pieces();
            let Some(piece) = self
                .offers
                .least_offered(|x| !has.get(x) && !offers.contains(&x), start)
            else {
                break;
            };
            self.offers.offered[piece as usize] += 1;
            p.offers.push(piece);
            p.session.send_suggest(piece, now);
        }
    }

    /// The peer asked for a block: an offer of its piece is taken up.
    pub(crate) fn offer_taken(&mut self, key: PeerKey, piece: u32) {
        if let Some(p) = self.peers.get_mut(&key) {
            p.offers.retain(|x| *x != piece);
        }
    }

    /// The peer will not take up its outstanding offers (choked or gone): they go back.
    pub(crate) fn withdraw_offers(&mut self, key: PeerKey) {
        if let Some(p) = self.peers.get_mut(&key) {
            let offers = std::mem::take(&mut p.offers);
            self.offers.take_back(&offers);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_offered_prefers_fewest_offers_the_peer_lacks() {
        let mut o = SeedOffers::new(6);
        o.offered = vec![2, 1, 0, 1, 0, 3];
        // Piece 2 and 4 were never offered; the peer has 2.
        assert_eq!(o.least_offered(|p| p != 2, 0), Some(4));
        assert_eq!(o.least_offered(|p| p != 2, 5), Some(4));
        // It has every never-offered piece: the next fewest, from the start point on.
        assert_eq!(o.least_offered(|p| p != 2 && p != 4, 0), Some(1));
        assert_eq!(o.least_offered(|p| p != 2 && p != 4, 2), Some(3));
        assert_eq!(o.least_offered(|_| false, 0), None);
        o.take_back(&[0, 0, 0, 5]);
        assert_eq!(o.offered, vec![0, 1, 0, 1, 0, 2]);
    }
}

//! The three picking stages of [`PiecePicker::pick`]: partial pieces, fresh pieces by
//! rarity, endgame duplicates.

use bitswarm_wire::BlockInfo;
use rand::Rng;

use super::{Block, Partial, PickFor, PiecePicker};
use crate::PeerKey;

impl PiecePicker {
    pub(super) fn take_free_blocks(
        &mut self,
        piece: u32,
        who: PeerKey,
        n: usize,
        out: &mut Vec<BlockInfo>,
    ) {
        let geometry = self.geometry;
        let Some(partial) = self.partials.get_mut(&piece) else {
            return;
        };
        for (i, block) in partial.blocks.iter_mut().enumerate() {
            if out.len() >= n || partial.free == 0 {
                break;
            }
            if *block == Block::Free {
                *block = Block::Requested(vec![who]);
                partial.free -= 1;
                out.push(geometry.block(piece, i as u32));
            }
        }
    }

    pub(super) fn pick_partials(
        &mut self,
        peer: &PickFor<'_>,
        n: usize,
        out: &mut Vec<BlockInfo>,
        allowed: &impl Fn(u32) -> bool,
        own_only: bool,
    ) {
        let mut candidates: Vec<(u32, u32)> = self
            .partials
            .iter()
            .filter(|(&p, partial)| partial.free > 0 && peer.has.get(p) && allowed(p))
            .filter(|(_, partial)| !own_only || !partial.foreign(peer.peer))
            .map(|(&p, _)| (self.rarity.availability(p), p))
            .collect();
        candidates.sort_unstable();
        for (_, piece) in candidates {
            if out.len() >= n {
                break;
            }
            self.take_free_blocks(piece, peer.peer, n, out);
        }
    }

    pub(super) fn pick_fresh(
        &mut self,
        peer: &PickFor<'_>,
        n: usize,
        rng: &mut impl Rng,
        out: &mut Vec<BlockInfo>,
        allowed: &impl Fn(u32) -> bool,
    ) {
        let mut chosen: Vec<u32> = Vec::new();
        let mut blocks = out.len();
        let usable = |p: u32| peer.has.get(p) && allowed(p);
        if peer.choked {
            // Only the (few) allowed-fast pieces qualify: no need to scan the order.
            let mut fast: Vec<(u32, u32)> = peer
                .allowed_fast
                .iter()
                .filter(|&&p| self.rarity.contains(p) && peer.has.get(p))
                .map(|&p| (self.rarity.availability(p), p))
                .collect();
            fast.sort_unstable();
            fast.dedup();
            for (_, p) in fast {
                if blocks >= n {
                    break;
                }
                chosen.push(p);
                blocks += self.geometry.blocks_in_piece(p) as usize;
            }
        } else {
            'buckets: for (avail, bucket) in self.rarity.buckets() {
                for &s in peer.suggested {
                    if blocks >= n {
                        break 'buckets;
                    }
                    if self.rarity.contains(s)
                        && self.rarity.availability(s) == avail
                        && usable(s)
                        && !chosen.contains(&s)
                    {
                        chosen.push(s);
                        blocks += self.geometry.blocks_in_piece(s) as usize;
                    }
                }
                let len = bucket.len();
                let offset = rng.gen_range(0..len);
                for i in 0..len {
                    if blocks >= n {
                        break 'buckets;
                    }
                    let p = bucket[(offset + i) % len];
                    if usable(p) && !peer.suggested.contains(&p) {
                        chosen.push(p);
                        blocks += self.geometry.blocks_in_piece(p) as usize;
                    }
                }
            }
        }
        for p in chosen {
            self.rarity.remove(p);
            self.partials
                .insert(p, Partial::new(self.geometry.blocks_in_piece(p)));
            self.take_free_blocks(p, peer.peer, n, out);
        }
    }

    pub(super) fn pick_endgame(
        &mut self,
        peer: &PickFor<'_>,
        n: usize,
        out: &mut Vec<BlockInfo>,
        allowed: &impl Fn(u32) -> bool,
    ) {
        if self.config.strict_endgame {
            return self.pick_endgame_strict(peer, out, allowed);
        }
        let max = self.config.endgame_max_requesters;
        let geometry = self.geometry;
        for (&piece, partial) in self.partials.iter_mut() {
            if !peer.has.get(piece) || !allowed(piece) {
                continue;
            }
            for (i, block) in partial.blocks.iter_mut().enumerate() {
                if out.len() >= n {
                    return;
                }
                if let Block::Requested(peers) = block {
                    if peers.len() < max && !peers.contains(&peer.peer) {
                        peers.push(peer.peer);
                        out.push(geometry.block(piece, i as u32));
                    }
                }
            }
        }
    }

    /// One copy for an idle peer: of the blocks it has that others were asked for, one
    /// with the fewest requesters, in the piece closest to complete (the first such).
    fn pick_endgame_strict(
        &mut self,
        peer: &PickFor<'_>,
        out: &mut Vec<BlockInfo>,
        allowed: &impl Fn(u32) -> bool,
    ) {
        if peer.outstanding > 0 || !out.is_empty() {
            return;
        }
        let max = self.config.endgame_max_requesters;
        // (requesters, blocks still to come, piece, block index)
        let mut best: Option<(usize, u32, u32, usize)> = None;
        for (&piece, partial) in &self.partials {
            if !peer.has.get(piece) || !allowed(piece) {
                continue;
            }
            let to_come = partial.blocks.len() as u32 - partial.received;
            for (i, block) in partial.blocks.iter().enumerate() {
                let Block::Requested(peers) = block else {
                    continue;
                };
                if peers.len() >= max || peers.contains(&peer.peer) {
                    continue;
                }
                let key = (peers.len(), to_come, piece, i);
                if best.map_or(true, |b| key < b) {
                    best = Some(key);
                }
            }
        }
        let Some((_, _, piece, i)) = best else {
            return;
        };
        if let Some(Block::Requested(peers)) = self
            .partials
            .get_mut(&piece)
            .and_then(|p| p.blocks.get_mut(i))
        {
            peers.push(peer.peer);
            out.push(self.geometry.block(piece, i as u32));
        }
    }
}

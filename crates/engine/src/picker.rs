//! Which blocks to request from which peer: rarest first, partial pieces first, endgame.
//!
//! Policy, in the order [`PiecePicker::pick`] applies it:
//! 1. Free blocks of partly downloaded pieces the peer has (finish what was started, so
//!    pieces complete and can be shared), rarest of them first.
//! 2. New pieces, rarest first (BEP 3: "peers download pieces which fewest of their own
//!    peers have first"); ties broken by a `suggest_piece` hint, then at random.
//! 3. Endgame: once every missing block is requested, blocks already requested from other
//!    peers are requested again (at most [`PickerConfig::endgame_max_requesters`] peers
//!    per block); when one copy arrives the others are reported for cancelling. Strict
//!    endgame (the default, as libtorrent's `strict_end_game_mode`): only a peer with
//!    nothing else in flight gets a copy, one block at a time, the block with the fewest
//!    requesters; every copy that arrives second is wasted upload of the whole swarm.
//!
//! A choked peer only yields blocks of its allowed-fast pieces (BEP 6).

use std::collections::BTreeMap;

use bitswarm_wire::BlockInfo;
use rand::Rng;
use thiserror::Error;

use crate::bitfield::Bitfield;
use crate::geometry::Geometry;
use crate::rarity::RarityOrder;
use crate::PeerKey;

/// Tunables of the picker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PickerConfig {
    /// In endgame, how many peers may have the same block requested at once.
    pub endgame_max_requesters: usize,
    /// Piece affinity: a peer continues only partial pieces nobody else is working on
    /// (no other requester or contributor) before it starts fresh pieces; others'
    /// partials come after the fresh ones. Fewer pieces are then mixed from several
    /// peers, so a failed hash blames the right peer. Off by default (plain
    /// partial-first).
    pub piece_affinity: bool,
    /// Strict endgame: a block is requested again only from a peer with no request in
    /// flight ([`PickFor::outstanding`] is 0), one block per pick. Off: every free
    /// request slot of every peer is filled with copies.
    pub strict_endgame: bool,
}

impl Default for PickerConfig {
    fn default() -> Self {
        PickerConfig {
            endgame_max_requesters: 3,
            piece_affinity: false,
            strict_endgame: true,
        }
    }
}

/// What the picker needs to know about the peer it picks for.
#[derive(Debug, Clone, Copy)]
pub struct PickFor<'a> {
    /// The caller's handle for the peer.
    pub peer: PeerKey,
    /// The pieces the peer has.
    pub has: &'a Bitfield,
    /// Whether the peer chokes us: then only `allowed_fast` pieces are requested.
    pub choked: bool,
    /// Pieces the peer allows us to request while choked (BEP 6 `allowed fast`).
    pub allowed_fast: &'a [u32],
    /// Pieces the peer suggested (BEP 6 `suggest piece`), used as a tie-break.
    pub suggested: &'a [u32],
    /// Our requests already in flight to the peer (strict endgame copies go only to
    /// peers with none).
    pub outstanding: usize,
}

/// Errors reported for a block that does not fit the torrent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PickerError {
    /// The block is not one of the torrent's 16 KiB blocks.
    #[error("block {0:?} is not a block of this torrent")]
    InvalidBlock(BlockInfo),
}

/// Result of a block arriving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockReceived {
    /// New data: store it. `cancel` lists other peers that had the same block requested
    /// (endgame) and should get a `cancel`; `piece_complete` says every block of the
    /// piece is now here and the piece should be hashed.
    New {
        /// Peers to send a `cancel` for this block.
        cancel: Vec<PeerKey>,
        /// Whether the piece is complete and awaits hashing.
        piece_complete: bool,
    },
    /// We already have this block (or piece); drop the data.
    Duplicate,
    /// The piece is not wanted (file deselected); drop the data.
    Unwanted,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Block {
    Free,
    Requested(Vec<PeerKey>),
    Received,
}

#[derive(Debug, Clone)]
struct Partial {
    blocks: Vec<Block>,
    free: u32,
    received: u32,
    /// Peers that delivered blocks of this piece, blamed if its hash fails.
    contributors: Vec<PeerKey>,
}

impl Partial {
    fn new(blocks: u32) -> Self {
        Partial {
            blocks: vec![Block::Free; blocks as usize],
            free: blocks,
            received: 0,
            contributors: Vec::new(),
        }
    }

    fn complete(&self) -> bool {
        self.received as usize == self.blocks.len()
    }

    fn untouched(&self) -> bool {
        self.free as usize == self.blocks.len()
    }

    /// Whether a peer other than `me` requested or delivered a block of the piece.
    fn foreign(&self, me: PeerKey) -> bool {
        self.contributors.iter().any(|p| *p != me)
            || self
                .blocks
                .iter()
                .any(|b| matches!(b, Block::Requested(ps) if ps.iter().any(|p| *p != me)))
    }
}

/// Block-level download state of one torrent. See the module docs for the policy.
#[derive(Debug, Clone)]
pub struct PiecePicker {
    geometry: Geometry,
    config: PickerConfig,
    have: Bitfield,
    wanted: Bitfield,
    rarity: RarityOrder,
    seeds: u32,
    partials: BTreeMap<u32, Partial>,
}

impl PiecePicker {
    /// A picker for a torrent where we have nothing yet and want everything.
    pub fn new(geometry: Geometry, config: PickerConfig) -> Self {
        let n = geometry.piece_count();
        let mut rarity = RarityOrder::new(n);
        for p in 0..n {
            rarity.insert(p);
        }
        PiecePicker {
            geometry,
            config,
            have: Bitfield::new(n),
            wanted: Bitfield::full(n),
            rarity,
            seeds: 0,
            partials: BTreeMap::new(),
        }
    }

    // ---- getters ----

    /// The geometry the picker was built with.
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// The verified pieces we have.
    pub fn have(&self) -> &Bitfield {
        &self.have
    }

    /// The pieces selected for download.
    pub fn wanted(&self) -> &Bitfield {
        &self.wanted
    }

    /// How many connected peers have `piece` (seeds included).
    pub fn availability(&self, piece: u32) -> u32 {
        self.rarity.availability(piece) + self.seeds
    }

    /// Whether every wanted piece is verified.
    pub fn is_complete(&self) -> bool {
        !self
            .wanted
            .intersects_without(&Bitfield::full(self.have.len()), &self.have)
    }

    /// Whether the peer has a piece we want and lack (i.e. we are interested).
    pub fn is_interesting(&self, peer_has: &Bitfield) -> bool {
        peer_has.len() == self.have.len() && peer_has.intersects_without(&self.wanted, &self.have)
    }

    /// Whether every missing wanted block is already requested.
    pub fn in_endgame(&self) -> bool {
        self.rarity.len() == 0 && self.partials.values().all(|p| p.free == 0)
    }

    /// Number of pieces partly downloaded or awaiting their hash check.
    pub fn partial_count(&self) -> usize {
        self.partials.len()
    }

    // ---- availability inputs ----

    /// We learned the peer has `piece` (`have` message).
    pub fn peer_has(&mut self, piece: u32) {
        self.rarity.increment(piece);
    }

    /// A peer's bitfield arrived (or the peer connected with it).
    pub fn peer_bitfield(&mut self, has: &Bitfield) {
        for p in has.iter_ones() {
            self.rarity.increment(p);
        }
    }

    /// A peer sent `have_all`: counted once, without touching every piece.
    pub fn peer_has_all(&mut self) {
        self.seeds += 1;
    }

    /// A peer left; `has` is what it had (excluding a `have_all`, see [`Self::seed_left`]).
    pub fn peer_left(&mut self, peer: PeerKey, has: &Bitfield) {
        for p in has.iter_ones() {
            self.rarity.decrement(p);
        }
        self.release_peer(peer);
    }

    /// A peer that sent `have_all` left.
    pub fn seed_left(&mut self, peer: PeerKey) {
        self.seeds = self.seeds.saturating_sub(1);
        self.release_peer(peer);
    }

    // ---- our own state ----

    /// Marks pieces we already have (resume data or a recheck).
    pub fn set_have(&mut self, piece: u32) {
        if self.have.set(piece, true) {
            self.rarity.remove(piece);
            self.partials.remove(&piece);
        }
    }

    /// Selects or deselects a piece for download (file selection).
    ///
    /// Deselecting drops the piece's partial state; its outstanding requests become stale
    /// and their data is reported as [`BlockReceived::Unwanted`].
    pub fn set_wanted(&mut self, piece: u32, wanted: bool) {
        if !self.wanted.set(piece, wanted) {
            return;
        }
        if wanted {
            if !self.have.get(piece) {
                self.rarity.insert(piece);
            }
        } else {
            self.rarity.remove(piece);
            self.partials.remove(&piece);
        }
    }

    /// Applies a file selection: `files` are (length, wanted) in torrent order. A piece is
    /// wanted if it overlaps any wanted file.
    pub fn set_wanted_files(&mut self, files: &[(u64, bool)]) {
        let mut mask = Bitfield::new(self.geometry.piece_count());
        let mut start = 0u64;
        for &(len, wanted) in files {
            if wanted {
                for p in self.geometry.pieces_in_range(start, len) {
                    mask.set(p, true);
                }
            }
            start += len;
        }
        for p in 0..self.geometry.piece_count() {
            self.set_wanted(p, mask.get(p));
        }
    }

    // ---- picking ----

    /// Picks up to `n` blocks to request from `peer` and records them as requested.
    pub fn pick(&mut self, peer: &PickFor<'_>, n: usize, rng: &mut impl Rng) -> Vec<BlockInfo> {
        let mut out = Vec::with_capacity(n.min(256));
        if n == 0 || peer.has.len() != self.have.len() {
            return out;
        }
        let allowed = |p: u32| !peer.choked || peer.allowed_fast.contains(&p);
        let affinity = self.config.piece_affinity;
        self.pick_partials(peer, n, &mut out, &allowed, affinity);
        if out.len() < n {
            self.pick_fresh(peer, n, rng, &mut out, &allowed);
        }
        if affinity && out.len() < n {
            self.pick_partials(peer, n, &mut out, &allowed, false);
        }
        if out.len() < n && self.in_endgame() {
            self.pick_endgame(peer, n, &mut out, &allowed);
        }
        out
    }

    // ---- request outcomes ----

    /// A block arrived from `peer`.
    pub fn block_received(
        &mut self,
        peer: PeerKey,
        block: &BlockInfo,
    ) -> Result<BlockReceived, PickerError> {
        let index = self
            .geometry
            .block_index(block)
            .ok_or(PickerError::InvalidBlock(*block))? as usize;
        let piece = block.piece;
        if self.have.get(piece) {
            return Ok(BlockReceived::Duplicate);
        }
        if !self.wanted.get(piece) {
            return Ok(BlockReceived::Unwanted);
        }
        if !self.partials.contains_key(&piece) {
            // Data for a request we had given back (e.g. after a choke): still useful.
            self.rarity.remove(piece);
            self.partials
                .insert(piece, Partial::new(self.geometry.blocks_in_piece(piece)));
        }
        let Some(partial) = self.partials.get_mut(&piece) else {
            return Ok(BlockReceived::Duplicate);
        };
        let cancel = match std::mem::replace(&mut partial.blocks[index], Block::Received) {
            Block::Received => return Ok(BlockReceived::Duplicate),
            Block::Free => {
                partial.free -= 1;
                Vec::new()
            }
            Block::Requested(peers) => peers.into_iter().filter(|p| *p != peer).collect(),
        };
        partial.received += 1;
        if !partial.contributors.contains(&peer) {
            partial.contributors.push(peer);
        }
        Ok(BlockReceived::New {
            cancel,
            piece_complete: partial.complete(),
        })
    }

    /// The hash check of a complete piece finished. On failure every block of the piece
    /// is downloaded again. Returns the peers that delivered blocks of the piece (to
    /// credit, or to blame with a hash failure).
    pub fn piece_verified(&mut self, piece: u32, ok: bool) -> Vec<PeerKey> {
        let contributors = self
            .partials
            .remove(&piece)
            .map(|p| p.contributors)
            .unwrap_or_default();
        if ok {
            self.have.set(piece, true);
        } else if self.wanted.get(piece) && !self.have.get(piece) {
            self.rarity.insert(piece);
        }
        contributors
    }

    /// `peer` will not deliver `block` (reject, cancel, timeout, or choke without the
    /// fast extension): the block is free again unless others requested it too.
    pub fn release(&mut self, peer: PeerKey, block: &BlockInfo) {
        let Some(index) = self.geometry.block_index(block) else {
            return;
        };
        let Some(partial) = self.partials.get_mut(&block.piece) else {
            return;
        };
        let slot = &mut partial.blocks[index as usize];
        if let Block::Requested(peers) = slot {
            peers.retain(|p| *p != peer);
            if peers.is_empty() {
                *slot = Block::Free;
                partial.free += 1;
            }
        }
        self.return_if_untouched(block.piece);
    }

    /// Releases every block requested from `peer` (disconnect, or choke without the fast
    /// extension). Costs O(blocks of partial pieces).
    pub fn release_peer(&mut self, peer: PeerKey) {
        let mut untouched = Vec::new();
        for (&piece, partial) in self.partials.iter_mut() {
            for slot in partial.blocks.iter_mut() {
                if let Block::Requested(peers) = slot {
                    peers.retain(|p| *p != peer);
                    if peers.is_empty() {
                        *slot = Block::Free;
                        partial.free += 1;
                    }
                }
            }
            if partial.untouched() {
                untouched.push(piece);
            }
        }
        for piece in untouched {
            self.return_if_untouched(piece);
        }
    }

    /// A partial piece with nothing received or requested goes back to the rarity order,
    /// so abandoned pieces do not pile up as partials.
    fn return_if_untouched(&mut self, piece: u32) {
        if self.partials.get(&piece).is_some_and(Partial::untouched) {
            self.partials.remove(&piece);
            self.rarity.insert(piece);
        }
    }
}

#[path = "picker_pick.rs"]
mod pick;

#[cfg(test)]
#[path = "picker_tests.rs"]
mod tests;

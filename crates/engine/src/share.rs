//! Cooperative downloading: which pieces a member of a group of cooperating downloaders
//! may ask *outside* peers for.
//!
//! A group of `count` downloaders (the parallel downloader's workers) splits the pieces:
//! member `index` owns the pieces `i` with `i % count == index` ([`PieceShare`]). From
//! peers outside the group a member requests only its own share; the rest it gets from
//! the other members, so the outside swarm sends each piece about once. So that nothing
//! stalls when a member dies, [`ShareGate`] also lets a member fetch another member's
//! share from outside once that owner has not been connected for a grace time.
//!
//! Sans-I/O like the rest of the crate: time comes in as `Instant` arguments.

use std::time::{Duration, Instant};

use crate::bitfield::Bitfield;

/// One member's share of the pieces: `i % count == index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PieceShare {
    /// This member, `0..count`.
    pub index: u32,
    /// Members in the group (at least 1).
    pub count: u32,
}

impl PieceShare {
    /// The member owning `piece`.
    pub fn owner(&self, piece: u32) -> u32 {
        piece % self.count.max(1)
    }

    /// Whether `piece` is in this member's share.
    pub fn contains(&self, piece: u32) -> bool {
        self.owner(piece) == self.index
    }
}

/// Decides which pieces may be requested from a peer outside the group.
///
/// Inputs: [`ShareGate::owner_present`] for every member connected now (call it often,
/// e.g. every driver tick). Output: [`ShareGate::outside_mask`], the pieces of an outside
/// peer's bitfield we may request from it now.
#[derive(Debug, Clone)]
pub struct ShareGate {
    share: PieceShare,
    grace: Duration,
    /// Per member: when it was last seen connected (the start counts as seen, so members
    /// have `grace` to connect).
    last_seen: Vec<Instant>,
}

impl ShareGate {
    /// A gate for `share`, started at `now`; a member absent for `grace` loses its share
    /// to outside peers.
    pub fn new(share: PieceShare, grace: Duration, now: Instant) -> Self {
        ShareGate {
            share,
            grace,
            last_seen: vec![now; share.count.max(1) as usize],
        }
    }

    /// Our share.
    pub fn share(&self) -> PieceShare {
        self.share
    }

    /// Member `index` is connected at `now`.
    pub fn owner_present(&mut self, index: u32, now: Instant) {
        if let Some(t) = self.last_seen.get_mut(index as usize) {
            if now > *t {
                *t = now;
            }
        }
    }

    /// Whether `piece` may be requested from an outside peer at `now`: it is ours, or its
    /// owner has been gone for the grace time.
    pub fn outside_allowed(&self, piece: u32, now: Instant) -> bool {
        let owner = self.share.owner(piece);
        if owner == self.share.index {
            return true;
        }
        self.last_seen
            .get(owner as usize)
            .map_or(true, |t| now.saturating_duration_since(*t) >= self.grace)
    }

    /// Whether every other member was seen within the grace time (then outside peers are
    /// limited to our share).
    fn all_present(&self, now: Instant) -> bool {
        self.last_seen.iter().enumerate().all(|(i, t)| {
            i as u32 == self.share.index || now.saturating_duration_since(*t) < self.grace
        })
    }

    /// The pieces of an outside peer's bitfield `has` we may request from it at `now`.
    pub fn outside_mask(&self, has: &Bitfield, now: Instant) -> Bitfield {
        if !self.all_present(now) {
            let mut out = Bitfield::new(has.len());
            for p in has.iter_ones() {
                if self.outside_allowed(p, now) {
                    out.set(p, true);
                }
            }
            return out;
        }
        let mut out = Bitfield::new(has.len());
        let start = self.share.index;
        let step = self.share.count.max(1) as usize;
        for p in (start..has.len()).step_by(step) {
            if has.get(p) {
                out.set(p, true);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ones(b: &Bitfield) -> Vec<u32> {
        b.iter_ones().collect()
    }

    #[test]
    fn share_is_index_modulo_count() {
        let s = PieceShare { index: 1, count: 3 };
        assert!(s.contains(1) && s.contains(4) && s.contains(7));
        assert!(!s.contains(0) && !s.contains(2) && !s.contains(3));
        assert_eq!(s.owner(8), 2);
        // A degenerate count does not divide by zero.
        assert!(PieceShare { index: 0, count: 0 }.contains(5));
    }

    #[test]
    fn outside_peers_give_only_our_share_while_members_are_present() {
        let t0 = Instant::now();
        let mut g = ShareGate::new(
            PieceShare { index: 1, count: 3 },
            Duration::from_secs(10),
            t0,
        );
        let seed = Bitfield::full(10);
        assert_eq!(ones(&g.outside_mask(&seed, t0)), vec![1, 4, 7]);
        // Members keep showing up: still only our share, long after the start.
        for s in 1..=30 {
            let now = t0 + Duration::from_secs(s);
            g.owner_present(0, now);
            g.owner_present(2, now);
        }
        let now = t0 + Duration::from_secs(30);
        assert_eq!(ones(&g.outside_mask(&seed, now)), vec![1, 4, 7]);
        // A partial outside peer: the intersection.
        let mut partial = Bitfield::new(10);
        for p in [0, 1, 2, 7, 9] {
            partial.set(p, true);
        }
        assert_eq!(ones(&g.outside_mask(&partial, now)), vec![1, 7]);
    }

    #[test]
    fn an_absent_member_loses_its_share_after_the_grace_time() {
        let t0 = Instant::now();
        let mut g = ShareGate::new(
            PieceShare { index: 0, count: 3 },
            Duration::from_secs(10),
            t0,
        );
        let seed = Bitfield::full(9);
        // Member 2 never connects; member 1 does.
        let early = t0 + Duration::from_secs(9);
        g.owner_present(1, early);
        assert_eq!(ones(&g.outside_mask(&seed, early)), vec![0, 3, 6]);
        let late = t0 + Duration::from_secs(10);
        g.owner_present(1, late);
        assert_eq!(ones(&g.outside_mask(&seed, late)), vec![0, 2, 3, 5, 6, 8]);
        assert!(g.outside_allowed(5, late));
        assert!(!g.outside_allowed(4, late));
        // Member 2 shows up again: its share is its own again.
        g.owner_present(2, late);
        assert_eq!(ones(&g.outside_mask(&seed, late)), vec![0, 3, 6]);
    }

    #[test]
    fn a_group_of_one_takes_everything() {
        let t0 = Instant::now();
        let g = ShareGate::new(
            PieceShare { index: 0, count: 1 },
            Duration::from_secs(5),
            t0,
        );
        assert_eq!(
            ones(&g.outside_mask(&Bitfield::full(4), t0)),
            vec![0, 1, 2, 3]
        );
    }
}

//! Cooperative downloading in the torrent driver: a group of downloaders (the parallel
//! downloader's workers) splits the pieces into shares (`bitswarm_engine::PieceShare`).
//! Given a [`Cooperation`] (through `TorrentHandle::cooperate`), the driver
//!
//! - asks peers outside the group only for pieces of its own share, unless a share's
//!   owner has not been connected for the grace time (`bitswarm_engine::ShareGate`), so
//!   the outside swarm sends each piece about once and nothing stalls if a member dies;
//! - asks the members for anything, and never chokes them (they are not competitors:
//!   tit-for-tat slots stay for outside peers);
//! - with `only_share`, wants only its share (the members write one copy into a shared
//!   folder, each its own pieces).
//!
//! Members are recognised by their peer id, which covers incoming connections from
//! ephemeral ports.

use std::collections::HashMap;
use std::time::{Duration, Instant};

pub use bitswarm_engine::PieceShare;
use bitswarm_engine::{Bitfield, PeerKey, ShareGate};

use crate::torrent::Torrent;

/// Another member of the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// Its peer id (from its handshake).
    pub peer_id: [u8; 20],
    /// Its share index.
    pub index: u32,
}

/// How a torrent cooperates with a group of downloaders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cooperation {
    /// Our share.
    pub share: PieceShare,
    /// The other members.
    pub members: Vec<Member>,
    /// How long a share may lack a connected owner before outside peers are asked for it.
    pub grace: Duration,
    /// Want only our share (a shared folder that the members fill together).
    pub only_share: bool,
}

/// The driver's cooperation state.
#[derive(Debug)]
pub(crate) struct CoopState {
    gate: ShareGate,
    members: HashMap<[u8; 20], u32>,
}

impl CoopState {
    pub(crate) fn new(c: &Cooperation, now: Instant) -> Self {
        CoopState {
            gate: ShareGate::new(c.share, c.grace, now),
            members: c.members.iter().map(|m| (m.peer_id, m.index)).collect(),
        }
    }

    /// The member index of a peer, if it is a member.
    pub(crate) fn member(&self, peer_id: Option<[u8; 20]>) -> Option<u32> {
        peer_id.and_then(|id| self.members.get(&id).copied())
    }

    /// The pieces we may request from a peer that has `has`: `None` means all of them (a
    /// member), `Some(mask)` the allowed part for an outside peer.
    pub(crate) fn restrict(
        &self,
        peer_id: Option<[u8; 20]>,
        has: &Bitfield,
        now: Instant,
    ) -> Option<Bitfield> {
        match self.member(peer_id) {
            Some(_) => None,
            None => Some(self.gate.outside_mask(has, now)),
        }
    }

    /// A member is connected now.
    pub(crate) fn present(&mut self, index: u32, now: Instant) {
        self.gate.owner_present(index, now);
    }
}

impl Torrent {
    /// Starts cooperating (a command from the handle).
    pub(crate) fn set_cooperation(&mut self, c: Cooperation) {
        let now = Instant::now();
        if c.only_share {
            for p in 0..self.geometry.piece_count() {
                if !c.share.contains(p) {
                    self.picker.set_wanted(p, false);
                }
            }
            let wanted = self.picker.wanted();
            self.wanted_bytes = (0..self.geometry.piece_count())
                .filter(|p| wanted.get(*p))
                .map(|p| u64::from(self.geometry.piece_len(p)))
                .sum();
        }
        self.coop = Some(CoopState::new(&c, now));
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for k in keys {
            self.update_interest(k, now);
            self.touch(k);
        }
        self.publish_stats();
    }

    /// Every tick: members connected now keep their shares; members are unchoked.
    pub(crate) fn coop_tick(&mut self, now: Instant) {
        let Some(coop) = self.coop.as_mut() else {
            return;
        };
        let mut unchoke = Vec::new();
        for (k, p) in &self.peers {
            if !p.session.is_connected() || p.session.is_closed() {
                continue;
            }
            if let Some(index) = coop.member(p.peer_id) {
                coop.present(index, now);
                if p.session.am_choking() {
                    unchoke.push(*k);
                }
            }
        }
        for k in unchoke {
            if let Some(p) = self.peers.get_mut(&k) {
                p.session.set_choking(false, now);
            }
            self.touch(k);
        }
    }

    /// Whether a peer is a member of our group (the choker leaves members alone).
    pub(crate) fn is_member(&self, peer_id: Option<[u8; 20]>) -> bool {
        self.coop
            .as_ref()
            .is_some_and(|c| c.member(peer_id).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_unrestricted_and_outside_peers_give_our_share() {
        let t0 = Instant::now();
        let c = Cooperation {
            share: PieceShare { index: 1, count: 2 },
            members: vec![Member {
                peer_id: [7; 20],
                index: 0,
            }],
            grace: Duration::from_secs(10),
            only_share: false,
        };
        let mut s = CoopState::new(&c, t0);
        let seed = Bitfield::full(6);
        assert_eq!(s.member(Some([7; 20])), Some(0));
        assert_eq!(s.member(Some([8; 20])), None);
        assert_eq!(s.member(None), None);
        assert!(s.restrict(Some([7; 20]), &seed, t0).is_none());
        let ours: Vec<u32> = s
            .restrict(Some([8; 20]), &seed, t0)
            .map(|b| b.iter_ones().collect())
            .unwrap_or_default();
        assert_eq!(ours, vec![1, 3, 5]);
        // The member stays connected: still our share only after the grace time.
        let later = t0 + Duration::from_secs(20);
        s.present(0, later);
        let ours: Vec<u32> = s
            .restrict(None, &seed, later)
            .map(|b| b.iter_ones().collect())
            .unwrap_or_default();
        assert_eq!(ours, vec![1, 3, 5]);
        // It disappears: after the grace time outside peers give everything.
        let gone = later + Duration::from_secs(10);
        let all: Vec<u32> = s
            .restrict(None, &seed, gone)
            .map(|b| b.iter_ones().collect())
            .unwrap_or_default();
        assert_eq!(all, vec![0, 1, 2, 3, 4, 5]);
    }
}

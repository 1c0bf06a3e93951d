//! One torrent's peers of one address family: seeders and leechers in two dense `Vec`s
//! plus an index from peer identity to slot.
//!
//! Why this shape: the announce hot path needs O(1) insert, update and removal and
//! O(k) random sampling of k peers. Dense vectors make sampling an index draw; the index
//! map makes lookup O(1); removal is `swap_remove` plus one index fix-up.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use rand::Rng;

use crate::fast_hash::FastMap;
use crate::types::PeerId;

/// How the tracker tells peers apart: the peer id *and* the IP it announces from, so a
/// host cannot stop or overwrite another host's entry by copying its peer id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct PeerKey {
    /// The peer id the client sent.
    pub id: PeerId,
    /// The IP the announce came from (or the `ip` parameter, if the config allows it).
    pub ip: IpAddr,
}

/// A stored peer.
#[derive(Clone, Copy, Debug)]
pub struct Peer {
    /// Identity of the peer.
    pub key: PeerKey,
    /// Port the peer listens on.
    pub port: u16,
    /// When the peer last announced.
    pub last_seen: Instant,
    /// Whether this peer's `completed` event has been counted already.
    pub counted_complete: bool,
}

impl Peer {
    /// The address other peers dial.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.key.ip, self.port)
    }
}

/// Peers picked for one reply, already in the compact form replies carry (BEP 23 and
/// BEP 15: 4 or 16 address bytes, then the port, big-endian). Reused across announces, so
/// answering one allocates nothing.
#[derive(Clone, Debug, Default)]
pub struct PeerSample {
    /// IPv4 peers, 6 bytes each.
    pub compact_v4: Vec<u8>,
    /// IPv6 peers, 18 bytes each.
    pub compact_v6: Vec<u8>,
    /// Peer ids in the same order (IPv4 peers first), filled only if asked for.
    pub ids: Vec<PeerId>,
    pub(crate) with_ids: bool,
}

impl PeerSample {
    /// An empty sample; `with_ids` keeps peer ids too (the non-compact reply needs them).
    pub fn new(with_ids: bool) -> PeerSample {
        PeerSample {
            with_ids,
            ..PeerSample::default()
        }
    }

    /// Empties the sample and sets whether ids are kept, keeping the allocations.
    pub fn reset(&mut self, with_ids: bool) {
        self.compact_v4.clear();
        self.compact_v6.clear();
        self.ids.clear();
        self.with_ids = with_ids;
    }

    /// Peers in the sample.
    pub fn len(&self) -> usize {
        self.compact_v4.len() / 6 + self.compact_v6.len() / 18
    }

    /// Whether the sample is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The address of the `i`-th peer (IPv4 peers first).
    pub fn addr(&self, i: usize) -> SocketAddr {
        let v4 = self.compact_v4.len() / 6;
        let (ip, port) = if i < v4 {
            let c = &self.compact_v4[i * 6..i * 6 + 6];
            let ip: [u8; 4] = [c[0], c[1], c[2], c[3]];
            (IpAddr::from(ip), [c[4], c[5]])
        } else {
            let c = &self.compact_v6[(i - v4) * 18..(i - v4) * 18 + 18];
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&c[..16]);
            (IpAddr::from(ip), [c[16], c[17]])
        };
        SocketAddr::new(ip, u16::from_be_bytes(port))
    }

    fn extend_compact(&mut self, ipv6: bool, bytes: &[u8]) {
        if ipv6 {
            self.compact_v6.extend_from_slice(bytes);
        } else {
            self.compact_v4.extend_from_slice(bytes);
        }
    }

    /// Appends one peer given by address (and id, kept if the sample keeps ids).
    pub fn push_addr(&mut self, addr: SocketAddr, id: PeerId) {
        match addr.ip() {
            IpAddr::V4(ip) => {
                self.compact_v4.extend_from_slice(&ip.octets());
                self.compact_v4
                    .extend_from_slice(&addr.port().to_be_bytes());
            }
            IpAddr::V6(ip) => {
                self.compact_v6.extend_from_slice(&ip.octets());
                self.compact_v6
                    .extend_from_slice(&addr.port().to_be_bytes());
            }
        }
        if self.with_ids {
            self.ids.push(id);
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    seeder: bool,
    pos: u32,
}

/// The peers of one torrent and one address family.
///
/// Besides the full entries, each list keeps its peers' compact addresses (6 or 18 bytes)
/// in a parallel byte vector: a reply is then a copy of one or two slices of it. (Profiled:
/// reading 50 full entries per announce out of a registry of a million peers was the
/// largest user-space cost; the compact window is a ninth of the memory.)
#[derive(Default, Debug)]
pub struct Swarm {
    ipv6: bool,
    seeders: Vec<Peer>,
    leechers: Vec<Peer>,
    seeders_compact: Vec<u8>,
    leechers_compact: Vec<u8>,
    index: FastMap<PeerKey, Slot>,
}

/// The compact form of `ip:port` (BEP 23 / BEP 7), written into `out`; returns its length.
fn compact(ip: IpAddr, port: u16, out: &mut [u8; 18]) -> usize {
    let n = match ip {
        IpAddr::V4(ip) => {
            out[..4].copy_from_slice(&ip.octets());
            4
        }
        IpAddr::V6(ip) => {
            out[..16].copy_from_slice(&ip.octets());
            16
        }
    };
    out[n..n + 2].copy_from_slice(&port.to_be_bytes());
    n + 2
}

/// What [`Swarm::upsert`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upsert {
    /// The peer was new and was stored.
    Added,
    /// The peer was known; its entry was refreshed (and maybe moved between lists).
    Updated,
}

impl Swarm {
    /// An empty swarm of IPv6 peers (`Swarm::default()` holds IPv4 peers).
    pub fn ipv6() -> Swarm {
        Swarm {
            ipv6: true,
            ..Swarm::default()
        }
    }

    fn stride(&self) -> usize {
        if self.ipv6 {
            18
        } else {
            6
        }
    }

    fn compact_mut(&mut self, seeder: bool) -> &mut Vec<u8> {
        if seeder {
            &mut self.seeders_compact
        } else {
            &mut self.leechers_compact
        }
    }

    /// Number of seeders.
    pub fn seeders(&self) -> usize {
        self.seeders.len()
    }

    /// Number of leechers.
    pub fn leechers(&self) -> usize {
        self.leechers.len()
    }

    /// Number of peers.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether no peer is stored.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The stored entry of a peer.
    pub fn get(&self, key: &PeerKey) -> Option<&Peer> {
        let slot = self.index.get(key)?;
        Some(&self.list(slot.seeder)[slot.pos as usize])
    }

    /// The stored entry of a peer and whether it is a seeder, in one lookup.
    pub fn get_with_role(&self, key: &PeerKey) -> Option<(&Peer, bool)> {
        let slot = self.index.get(key)?;
        Some((&self.list(slot.seeder)[slot.pos as usize], slot.seeder))
    }

    fn list(&self, seeder: bool) -> &Vec<Peer> {
        if seeder {
            &self.seeders
        } else {
            &self.leechers
        }
    }

    fn list_mut(&mut self, seeder: bool) -> &mut Vec<Peer> {
        if seeder {
            &mut self.seeders
        } else {
            &mut self.leechers
        }
    }

    /// Stores or refreshes a peer. Returns `None` (nothing stored) when the peer is new and
    /// `allow_new` is false (that is how the registry enforces its peer limits), or when
    /// the peer's address is not of this swarm's family.
    pub fn upsert(&mut self, peer: Peer, seeder: bool, allow_new: bool) -> Option<Upsert> {
        if peer.key.ip.is_ipv6() != self.ipv6 {
            return None;
        }
        match self.index.get(&peer.key).copied() {
            Some(slot) if slot.seeder == seeder => {
                let pos = slot.pos as usize;
                let entry = &mut self.list_mut(seeder)[pos];
                entry.port = peer.port;
                entry.last_seen = peer.last_seen;
                entry.counted_complete |= peer.counted_complete;
                let end = (pos + 1) * self.stride();
                self.compact_mut(seeder)[end - 2..end].copy_from_slice(&peer.port.to_be_bytes());
                Some(Upsert::Updated)
            }
            Some(_) => {
                // Changed lists (a leecher finished, or a seeder lost data).
                let (old, _) = self.remove(&peer.key)?;
                let mut moved = peer;
                moved.counted_complete |= old.counted_complete;
                self.push(moved, seeder);
                Some(Upsert::Updated)
            }
            None if allow_new => {
                self.push(peer, seeder);
                Some(Upsert::Added)
            }
            None => None,
        }
    }

    fn push(&mut self, peer: Peer, seeder: bool) {
        let list = self.list_mut(seeder);
        let pos = list.len() as u32;
        list.push(peer);
        let mut c = [0u8; 18];
        let n = compact(peer.key.ip, peer.port, &mut c);
        self.compact_mut(seeder).extend_from_slice(&c[..n]);
        self.index.insert(peer.key, Slot { seeder, pos });
    }

    /// Whether a stored peer is a seeder (`None`: not stored).
    pub fn is_seeder(&self, key: &PeerKey) -> Option<bool> {
        self.index.get(key).map(|slot| slot.seeder)
    }

    /// Removes a peer; returns its entry and whether it was a seeder, if it was stored.
    pub fn remove(&mut self, key: &PeerKey) -> Option<(Peer, bool)> {
        let slot = self.index.remove(key)?;
        Some((self.remove_at(slot.seeder, slot.pos as usize), slot.seeder))
    }

    /// `swap_remove` at a position whose index entry is already gone, fixing the index of
    /// the peer moved into the hole.
    fn remove_at(&mut self, seeder: bool, pos: usize) -> Peer {
        let stride = self.stride();
        let c = self.compact_mut(seeder);
        let last = c.len() - stride;
        c.copy_within(last.., pos * stride);
        c.truncate(last);
        let list = self.list_mut(seeder);
        let removed = list.swap_remove(pos);
        if let Some(moved) = list.get(pos).map(|p| p.key) {
            if let Some(slot) = self.index.get_mut(&moved) {
                slot.pos = pos as u32;
            }
        }
        removed
    }

    /// Removes peers last seen before `cutoff`; returns how many (seeders, leechers).
    pub fn expire(&mut self, cutoff: Instant) -> (usize, usize) {
        let mut removed = (0, 0);
        for seeder in [true, false] {
            let mut i = 0;
            while i < self.list(seeder).len() {
                let peer = self.list(seeder)[i];
                if peer.last_seen < cutoff {
                    self.index.remove(&peer.key);
                    self.remove_at(seeder, i);
                    if seeder {
                        removed.0 += 1;
                    } else {
                        removed.1 += 1;
                    }
                } else {
                    i += 1;
                }
            }
        }
        removed
    }

    /// Appends up to `want` distinct peers other than `asker` to `out`: a window of
    /// consecutive slots at a random offset.
    ///
    /// A seeder is offered only leechers (seeders have nothing to give each other); a
    /// leecher is offered from seeders and leechers alike.
    pub fn sample<R: Rng + ?Sized>(
        &self,
        asker: &PeerKey,
        asker_is_seeder: bool,
        want: usize,
        rng: &mut R,
        out: &mut PeerSample,
    ) {
        // (entries, compact addresses) of the lists to draw from, in order.
        type Lists<'a> = ((&'a [Peer], &'a [u8]), (&'a [Peer], &'a [u8]));
        let ((first, first_c), (second, second_c)): Lists<'_> = if asker_is_seeder {
            ((&self.leechers, &self.leechers_compact), (&[], &[]))
        } else {
            (
                (&self.seeders, &self.seeders_compact),
                (&self.leechers, &self.leechers_compact),
            )
        };
        let n = first.len() + second.len();
        if want == 0 || n == 0 {
            return;
        }
        // Where the asker sits in first ++ second, if it is there: skipped by position
        // (one index lookup) rather than by comparing every candidate's key.
        let mut skip =
            self.index
                .get(asker)
                .and_then(|slot| match (asker_is_seeder, slot.seeder) {
                    (true, true) => None,
                    (true, false) | (false, true) => Some(slot.pos as usize),
                    (false, false) => Some(first.len() + slot.pos as usize),
                });
        let mut left = want.min(n - usize::from(skip.is_some()));
        // A window of consecutive slots starting at a random offset, wrapping around:
        // O(want), no allocation, copied as at most a few slices. The order of the vectors
        // is shuffled over time by swap_remove, and every peer has the same chance to be in
        // a window. (rand's index::sample was O(n) for large swarms.)
        let mut i = if n <= left + 1 {
            0
        } else {
            rng.gen_range(0..n)
        };
        let stride = self.stride();
        let mut emit = |peers: &[Peer], compact: &[u8], from: usize, to: usize| {
            out.extend_compact(self.ipv6, &compact[from * stride..to * stride]);
            if out.with_ids {
                out.ids.extend(peers[from..to].iter().map(|p| p.key.id));
            }
        };
        while left > 0 {
            let (peers, compact, base) = if i < first.len() {
                (first, first_c, 0)
            } else {
                (second, second_c, first.len())
            };
            let end = (base + peers.len()).min(i + left);
            if let Some(k) = skip.filter(|&k| k >= i && k < end) {
                emit(peers, compact, i - base, k - base);
                left -= k - i;
                skip = None;
                i = if k + 1 == n { 0 } else { k + 1 };
                continue;
            }
            emit(peers, compact, i - base, end - base);
            left -= end - i;
            i = if end == n { 0 } else { end };
        }
    }

    /// Checks that the index and the lists agree (tests only).
    #[cfg(test)]
    pub fn check_invariants(&self) {
        assert_eq!(self.index.len(), self.seeders.len() + self.leechers.len());
        for (list, c) in [
            (&self.seeders, &self.seeders_compact),
            (&self.leechers, &self.leechers_compact),
        ] {
            assert_eq!(c.len(), list.len() * self.stride());
            for (i, p) in list.iter().enumerate() {
                let mut want = [0u8; 18];
                let n = compact(p.key.ip, p.port, &mut want);
                assert_eq!(&c[i * n..(i + 1) * n], &want[..n]);
            }
        }
        for (seeder, list) in [(true, &self.seeders), (false, &self.leechers)] {
            for (pos, p) in list.iter().enumerate() {
                let slot = self.index[&p.key];
                assert_eq!((slot.seeder, slot.pos as usize), (seeder, pos));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, SeedableRng};
    use std::net::Ipv4Addr;
    use std::time::Duration;

    fn peer(n: u8, t: Instant) -> Peer {
        Peer {
            key: PeerKey {
                id: PeerId([n; 20]),
                ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)),
            },
            port: 6881,
            last_seen: t,
            counted_complete: false,
        }
    }

    #[test]
    fn insert_move_remove_keep_index_right() {
        let t = Instant::now();
        let mut s = Swarm::default();
        for n in 0..10 {
            assert_eq!(s.upsert(peer(n, t), n % 2 == 0, true), Some(Upsert::Added));
        }
        s.check_invariants();
        assert_eq!((s.seeders(), s.leechers()), (5, 5));
        assert_eq!(s.upsert(peer(1, t), true, true), Some(Upsert::Updated));
        s.check_invariants();
        assert_eq!((s.seeders(), s.leechers()), (6, 4));
        assert!(s.remove(&peer(0, t).key).is_some());
        assert!(s.remove(&peer(0, t).key).is_none());
        s.check_invariants();
        assert_eq!(s.upsert(peer(42, t), false, false), None);
        assert_eq!(s.len(), 9);
        // A port change shows in the compact entry too.
        let mut p3 = peer(3, t);
        p3.port = 7000;
        assert_eq!(s.upsert(p3, false, true), Some(Upsert::Updated));
        s.check_invariants();
    }

    #[test]
    fn ipv6_swarm_keeps_18_byte_entries_and_refuses_ipv4() {
        let t = Instant::now();
        let mut s = Swarm::ipv6();
        assert_eq!(s.upsert(peer(1, t), false, true), None);
        for n in 0..5u8 {
            let mut p = peer(n, t);
            p.key.ip = IpAddr::V6(std::net::Ipv6Addr::new(1, 0, 0, 0, 0, 0, 0, u16::from(n)));
            assert_eq!(s.upsert(p, n == 0, true), Some(Upsert::Added));
        }
        s.check_invariants();
        let mut out = PeerSample::new(false);
        let mut rng = StdRng::seed_from_u64(3);
        s.sample(&peer(9, t).key, false, 10, &mut rng, &mut out);
        assert_eq!((out.compact_v4.len(), out.compact_v6.len()), (0, 5 * 18));
        assert_eq!(out.addr(0).port(), 6881);
    }

    #[test]
    fn expire_removes_only_old() {
        let t = Instant::now();
        let mut s = Swarm::default();
        for n in 0..20 {
            let seen = if n % 3 == 0 {
                t
            } else {
                t + Duration::from_secs(100)
            };
            s.upsert(peer(n, seen), n % 2 == 0, true);
        }
        let removed = s.expire(t + Duration::from_secs(50));
        assert_eq!(removed.0 + removed.1, 7);
        assert_eq!(s.len(), 13);
        s.check_invariants();
    }

    #[test]
    fn sample_excludes_asker_and_is_distinct() {
        let t = Instant::now();
        let mut s = Swarm::default();
        for n in 0..100 {
            s.upsert(peer(n, t), n < 30, true);
        }
        let mut rng = StdRng::seed_from_u64(7);
        for want in [0, 1, 10, 50, 99, 100, 200] {
            let asker = peer(5, t).key;
            let mut out = PeerSample::new(true);
            s.sample(&asker, false, want, &mut rng, &mut out);
            assert_eq!(out.len(), want.min(99));
            assert!(out.ids.iter().all(|id| *id != asker.id));
            // Compact addresses line up with the ids (peer n is 10.0.0.n).
            for (i, id) in out.ids.iter().enumerate() {
                assert_eq!(
                    out.addr(i).ip(),
                    IpAddr::V4(Ipv4Addr::new(10, 0, 0, id.0[0]))
                );
            }
            let mut ids = out.ids.clone();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), out.len());
        }
        // A seeder only gets leechers.
        let mut out = PeerSample::new(true);
        s.sample(&peer(0, t).key, true, 200, &mut rng, &mut out);
        assert_eq!(out.len(), 70);
        assert!(out.ids.iter().all(|id| id.0[0] >= 30));
        // Compact entries match the ids, 6 bytes each.
        assert_eq!(out.compact_v4.len(), 70 * 6);
        assert_eq!(out.addr(0).port(), 6881);
    }
}

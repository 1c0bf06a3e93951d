//! Peers announced to us with `announce_peer`, served in `get_peers` replies.
//!
//! Bounded: at most [`PeerStoreLimits::per_hash`] peers per info-hash (the oldest is
//! dropped), at most [`PeerStoreLimits::hashes`] info-hashes and
//! [`PeerStoreLimits::total`] peers (new ones are refused when full); entries expire after
//! [`PEER_TTL`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::node_id::NodeId;

/// How long an announced peer is kept.
pub const PEER_TTL: Duration = Duration::from_secs(30 * 60);

/// Limits of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerStoreLimits {
    /// Peers kept per info-hash.
    pub per_hash: usize,
    /// Info-hashes kept.
    pub hashes: usize,
    /// Peers kept in all.
    pub total: usize,
}

impl Default for PeerStoreLimits {
    fn default() -> Self {
        PeerStoreLimits {
            per_hash: 200,
            hashes: 5_000,
            total: 50_000,
        }
    }
}

/// The store.
#[derive(Debug, Clone)]
pub struct PeerStore {
    limits: PeerStoreLimits,
    map: HashMap<NodeId, Vec<(SocketAddr, Instant)>>,
    total: usize,
}

impl PeerStore {
    /// An empty store.
    pub fn new(limits: PeerStoreLimits) -> Self {
        PeerStore {
            limits,
            map: HashMap::new(),
            total: 0,
        }
    }

    /// Records `peer` for `info_hash`; returns false when the store is full.
    pub fn insert(&mut self, info_hash: NodeId, peer: SocketAddr, now: Instant) -> bool {
        if let Some(list) = self.map.get_mut(&info_hash) {
            if let Some(e) = list.iter_mut().find(|(a, _)| *a == peer) {
                e.1 = now;
                return true;
            }
            if list.len() >= self.limits.per_hash {
                // Drop the oldest to make room: recent announcers are likelier alive.
                if let Some(oldest) = list
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, (_, t))| *t)
                    .map(|(i, _)| i)
                {
                    list[oldest] = (peer, now);
                }
                return true;
            }
            if self.total >= self.limits.total {
                return false;
            }
            list.push((peer, now));
            self.total += 1;
            return true;
        }
        if self.map.len() >= self.limits.hashes || self.total >= self.limits.total {
            return false;
        }
        self.map.insert(info_hash, vec![(peer, now)]);
        self.total += 1;
        true
    }

    /// Up to `max` live peers for `info_hash`, most recent first.
    pub fn get(&self, info_hash: &NodeId, max: usize, now: Instant) -> Vec<SocketAddr> {
        let Some(list) = self.map.get(info_hash) else {
            return Vec::new();
        };
        let mut live: Vec<&(SocketAddr, Instant)> = list
            .iter()
            .filter(|(_, t)| now.saturating_duration_since(*t) < PEER_TTL)
            .collect();
        live.sort_by_key(|(_, t)| std::cmp::Reverse(*t));
        live.into_iter().take(max).map(|(a, _)| *a).collect()
    }

    /// Drops expired entries.
    pub fn expire(&mut self, now: Instant) {
        let mut total = 0;
        self.map.retain(|_, list| {
            list.retain(|(_, t)| now.saturating_duration_since(*t) < PEER_TTL);
            total += list.len();
            !list.is_empty()
        });
        self.total = total;
    }

    /// Peers stored in all.
    pub fn len(&self) -> usize {
        self.total
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(n: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, 1], n))
    }

    #[test]
    fn limits_and_expiry() {
        let now = Instant::now();
        let limits = PeerStoreLimits {
            per_hash: 2,
            hashes: 2,
            total: 3,
        };
        let mut s = PeerStore::new(limits);
        let h1 = NodeId([1; 20]);
        let h2 = NodeId([2; 20]);
        let h3 = NodeId([3; 20]);
        assert!(s.insert(h1, peer(1), now));
        assert!(s.insert(h1, peer(2), now + Duration::from_secs(1)));
        // Per-hash limit: the oldest is replaced.
        assert!(s.insert(h1, peer(3), now + Duration::from_secs(2)));
        assert_eq!(
            s.get(&h1, 10, now + Duration::from_secs(2)),
            vec![peer(3), peer(2)]
        );
        assert!(s.insert(h2, peer(4), now));
        assert!(!s.insert(h3, peer(5), now), "hash limit");
        assert!(!s.insert(h2, peer(6), now), "total limit");
        assert_eq!(s.len(), 3);
        let later = now + PEER_TTL + Duration::from_secs(3);
        assert!(s.get(&h1, 10, later).is_empty());
        s.expire(later);
        assert!(s.is_empty());
    }
}

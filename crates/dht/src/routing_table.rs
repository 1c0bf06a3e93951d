//! The Kademlia routing table (BEP 5): K = 8 nodes per bucket, buckets by the length of
//! the prefix shared with our own id.
//!
//! BEP 5 starts with one bucket and splits the bucket holding our own id when it fills.
//! Splitting that way always ends with one bucket per shared-prefix length, so the table
//! keeps those 160 buckets from the start: the same nodes are kept, with simpler code.
//!
//! Node states follow BEP 5: *good* when it answered us within [`GOOD_FOR`], *bad* after
//! [`MAX_FAILURES`] unanswered queries in a row, *questionable* otherwise. A full bucket
//! replaces a bad node at once; for a questionable one the caller pings it
//! ([`InsertOutcome::Full`]) and a later insert replaces it if it failed.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::krpc::NodeInfo;
use crate::node_id::NodeId;

/// Nodes per bucket.
pub const K: usize = 8;
/// Buckets: one per shared-prefix length 0..=159.
pub const BUCKETS: usize = 160;
/// A node is good for this long after its last answer.
pub const GOOD_FOR: Duration = Duration::from_secs(15 * 60);
/// Unanswered queries in a row after which a node is bad.
pub const MAX_FAILURES: u8 = 2;

/// A node in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Its id.
    pub id: NodeId,
    /// Its UDP address.
    pub addr: SocketAddr,
    /// When it last answered one of our queries (`None`: never).
    pub last_response: Option<Instant>,
    /// When we last heard from it at all.
    pub last_seen: Instant,
    /// Unanswered queries in a row.
    pub failures: u8,
}

/// How a node is judged (BEP 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    /// Answered within [`GOOD_FOR`].
    Good,
    /// Not known to be good, not known to be bad.
    Questionable,
    /// Failed [`MAX_FAILURES`] queries in a row.
    Bad,
}

impl Entry {
    /// The node's state at `now`.
    pub fn state(&self, now: Instant) -> NodeState {
        if self.failures >= MAX_FAILURES {
            NodeState::Bad
        } else if self
            .last_response
            .is_some_and(|t| now.saturating_duration_since(t) < GOOD_FOR)
        {
            NodeState::Good
        } else {
            NodeState::Questionable
        }
    }
}

/// What [`RoutingTable::insert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Added as a new node.
    Added,
    /// Already there; refreshed.
    Updated,
    /// A bad node was replaced by this one.
    Replaced,
    /// The bucket is full of nodes that are not bad; ping this questionable one and
    /// insert again later if it fails.
    Full(Option<Entry>),
    /// Refused: our own id, or the id sits at another address already.
    Refused,
}

/// The routing table of one node.
#[derive(Debug, Clone)]
pub struct RoutingTable {
    own: NodeId,
    buckets: Vec<Vec<Entry>>,
}

impl RoutingTable {
    /// An empty table around our own id.
    pub fn new(own: NodeId) -> Self {
        RoutingTable {
            own,
            buckets: vec![Vec::new(); BUCKETS],
        }
    }

    /// Our own id.
    pub fn own_id(&self) -> NodeId {
        self.own
    }

    fn bucket_index(&self, id: &NodeId) -> Option<usize> {
        let lz = self.own.distance(id).leading_zeros();
        (lz < BUCKETS).then_some(lz)
    }

    /// Adds or refreshes a node. `responded` says it just answered one of our queries
    /// (rather than querying us).
    pub fn insert(
        &mut self,
        id: NodeId,
        addr: SocketAddr,
        responded: bool,
        now: Instant,
    ) -> InsertOutcome {
        let Some(index) = self.bucket_index(&id) else {
            return InsertOutcome::Refused;
        };
        let bucket = &mut self.buckets[index];
        if let Some(e) = bucket.iter_mut().find(|e| e.id == id) {
            if e.addr != addr {
                // Same id from another address: keep the one we know unless it is bad.
                if e.state(now) != NodeState::Bad {
                    return InsertOutcome::Refused;
                }
                e.addr = addr;
            }
            e.last_seen = now;
            if responded {
                e.last_response = Some(now);
                e.failures = 0;
            }
            return InsertOutcome::Updated;
        }
        let fresh = Entry {
            id,
            addr,
            last_response: responded.then_some(now),
            last_seen: now,
            failures: 0,
        };
        if bucket.len() < K {
            bucket.push(fresh);
            return InsertOutcome::Added;
        }
        if let Some(bad) = bucket.iter().position(|e| e.state(now) == NodeState::Bad) {
            bucket[bad] = fresh;
            return InsertOutcome::Replaced;
        }
        let oldest_questionable = bucket
            .iter()
            .filter(|e| e.state(now) == NodeState::Questionable)
            .min_by_key(|e| e.last_seen)
            .copied();
        InsertOutcome::Full(oldest_questionable)
    }

    /// Records an unanswered query to the node at `addr`.
    pub fn mark_failed(&mut self, id: &NodeId) {
        if let Some(index) = self.bucket_index(id) {
            if let Some(e) = self.buckets[index].iter_mut().find(|e| e.id == *id) {
                e.failures = e.failures.saturating_add(1);
            }
        }
    }

    /// Looks a node up by id.
    pub fn get(&self, id: &NodeId) -> Option<&Entry> {
        let index = self.bucket_index(id)?;
        self.buckets[index].iter().find(|e| e.id == *id)
    }

    /// Up to `count` non-bad nodes closest to `target`, closest first.
    pub fn closest(&self, target: &NodeId, count: usize, now: Instant) -> Vec<NodeInfo> {
        let mut all: Vec<&Entry> = self
            .buckets
            .iter()
            .flatten()
            .filter(|e| e.state(now) != NodeState::Bad)
            .collect();
        all.sort_by_key(|e| e.id.distance(target));
        all.into_iter()
            .take(count)
            .map(|e| NodeInfo {
                id: e.id,
                addr: e.addr,
            })
            .collect()
    }

    /// Number of nodes in the table.
    pub fn len(&self) -> usize {
        self.buckets.iter().map(Vec::len).sum()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of good nodes.
    pub fn good_count(&self, now: Instant) -> usize {
        self.entries()
            .filter(|e| e.state(now) == NodeState::Good)
            .count()
    }

    /// All entries.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.buckets.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_with_prefix(first: u8, n: u8) -> NodeId {
        let mut b = [0u8; 20];
        b[0] = first;
        b[19] = n;
        NodeId(b)
    }

    fn addr(n: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, 1], 1000 + n))
    }

    #[test]
    fn refuses_own_id_and_fills_buckets_to_k() {
        let now = Instant::now();
        let own = NodeId([0; 20]);
        let mut t = RoutingTable::new(own);
        assert_eq!(t.insert(own, addr(0), true, now), InsertOutcome::Refused);
        // All these share zero prefix bits with `own`: same bucket (index 0).
        for n in 0..K as u8 {
            assert_eq!(
                t.insert(id_with_prefix(0x80, n), addr(n.into()), true, now),
                InsertOutcome::Added
            );
        }
        assert_eq!(
            t.insert(id_with_prefix(0x80, 100), addr(100), true, now),
            InsertOutcome::Full(None)
        );
        // Another bucket still takes nodes.
        assert_eq!(
            t.insert(id_with_prefix(0x40, 1), addr(200), true, now),
            InsertOutcome::Added
        );
        assert_eq!(t.len(), K + 1);
    }

    #[test]
    fn bad_nodes_are_replaced_and_questionable_ones_offered_for_ping() {
        let now = Instant::now();
        let mut t = RoutingTable::new(NodeId([0; 20]));
        for n in 0..K as u8 {
            t.insert(id_with_prefix(0x80, n), addr(n.into()), true, now);
        }
        let later = now + GOOD_FOR + Duration::from_secs(1);
        match t.insert(id_with_prefix(0x80, 50), addr(50), true, later) {
            InsertOutcome::Full(Some(e)) => assert_eq!(e.state(later), NodeState::Questionable),
            other => panic!("{other:?}"),
        }
        t.mark_failed(&id_with_prefix(0x80, 3));
        t.mark_failed(&id_with_prefix(0x80, 3));
        assert_eq!(
            t.insert(id_with_prefix(0x80, 50), addr(50), true, later),
            InsertOutcome::Replaced
        );
        assert!(t.get(&id_with_prefix(0x80, 3)).is_none());
        assert!(t.get(&id_with_prefix(0x80, 50)).is_some());
    }

    #[test]
    fn closest_sorts_by_xor_distance_and_skips_bad() {
        let now = Instant::now();
        let mut t = RoutingTable::new(NodeId([0; 20]));
        for n in 1..=20u8 {
            t.insert(id_with_prefix(n, 0), addr(n.into()), true, now);
        }
        let target = id_with_prefix(5, 0);
        let c = t.closest(&target, 3, now);
        assert_eq!(c[0].id, target);
        assert_eq!(c[1].id, id_with_prefix(4, 0));
        assert_eq!(c[2].id, id_with_prefix(7, 0));
        t.mark_failed(&target);
        t.mark_failed(&target);
        assert_ne!(t.closest(&target, 1, now)[0].id, target);
    }

    #[test]
    fn same_id_from_another_address_is_refused() {
        let now = Instant::now();
        let mut t = RoutingTable::new(NodeId([0; 20]));
        t.insert(id_with_prefix(1, 0), addr(1), true, now);
        assert_eq!(
            t.insert(id_with_prefix(1, 0), addr(2), true, now),
            InsertOutcome::Refused
        );
    }
}

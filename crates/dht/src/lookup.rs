//! The iterative lookup of BEP 5 (`find_node` or `get_peers`), as a state machine with
//! no I/O: the node asks it which candidate to query next, and feeds it answers and
//! timeouts.
//!
//! It keeps the [`MAX_CANDIDATES`] closest known nodes to the target, queries at most
//! [`ALPHA`] at a time, always the closest not yet queried, and is finished when the
//! [`K`] closest nodes that did not fail have all answered (or after [`MAX_QUERIES`]
//! queries). Peers found by `get_peers` are handed out as they come.

use std::collections::HashSet;
use std::net::SocketAddr;

use crate::krpc::NodeInfo;
use crate::node_id::NodeId;
use crate::routing_table::K;

/// Queries in flight per lookup.
pub const ALPHA: usize = 3;
/// Candidates kept per lookup.
pub const MAX_CANDIDATES: usize = 64;
/// Queries sent per lookup at most.
pub const MAX_QUERIES: usize = 128;
/// Distinct peers remembered per lookup (for de-duplication) at most.
pub const MAX_PEERS: usize = 2_000;

/// Identifies a lookup of one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LookupId(pub u64);

/// What the lookup asks each node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupKind {
    /// `find_node`: learn the nodes closest to the target.
    FindNode,
    /// `get_peers`: learn peers of the info-hash and tokens of the closest nodes.
    GetPeers,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CandidateState {
    Fresh,
    InFlight,
    Responded,
    Failed,
}

#[derive(Debug, Clone)]
struct Candidate {
    node: NodeInfo,
    distance: NodeId,
    state: CandidateState,
    token: Option<Vec<u8>>,
}

/// One iterative lookup.
#[derive(Debug, Clone)]
pub struct Lookup {
    target: NodeId,
    kind: LookupKind,
    candidates: Vec<Candidate>,
    seen: HashSet<SocketAddr>,
    queries_sent: usize,
    peers: HashSet<SocketAddr>,
}

impl Lookup {
    /// A lookup for `target` starting from `seeds` (usually the routing table's closest).
    pub fn new(
        target: NodeId,
        kind: LookupKind,
        seeds: impl IntoIterator<Item = NodeInfo>,
    ) -> Self {
        let mut l = Lookup {
            target,
            kind,
            candidates: Vec::new(),
            seen: HashSet::new(),
            queries_sent: 0,
            peers: HashSet::new(),
        };
        l.add_nodes(seeds);
        l
    }

    /// The target.
    pub fn target(&self) -> NodeId {
        self.target
    }

    /// The kind.
    pub fn kind(&self) -> LookupKind {
        self.kind
    }

    /// Adds nodes learned from a reply (already filtered by the caller: no own id, no
    /// refused addresses). Nodes already seen are ignored.
    pub fn add_nodes(&mut self, nodes: impl IntoIterator<Item = NodeInfo>) {
        for node in nodes {
            if self.seen.len() >= MAX_QUERIES * 8 || !self.seen.insert(node.addr) {
                continue;
            }
            let distance = node.id.distance(&self.target);
            let at = self.candidates.partition_point(|c| c.distance <= distance);
            if at >= MAX_CANDIDATES {
                continue;
            }
            self.candidates.insert(
                at,
                Candidate {
                    node,
                    distance,
                    state: CandidateState::Fresh,
                    token: None,
                },
            );
            self.candidates.truncate(MAX_CANDIDATES);
        }
    }

    fn in_flight(&self) -> usize {
        self.candidates
            .iter()
            .filter(|c| c.state == CandidateState::InFlight)
            .count()
    }

    /// The closest `K` candidates that have not failed.
    fn frontier(&self) -> impl Iterator<Item = &Candidate> {
        self.candidates
            .iter()
            .filter(|c| c.state != CandidateState::Failed)
            .take(K)
    }

    /// The next node to query, if the lookup may send one now; it is then counted as in
    /// flight until [`Lookup::on_response`] or [`Lookup::on_failure`].
    pub fn next_query(&mut self) -> Option<NodeInfo> {
        if self.queries_sent >= MAX_QUERIES || self.in_flight() >= ALPHA {
            return None;
        }
        let addr = self
            .frontier()
            .find(|c| c.state == CandidateState::Fresh)?
            .node
            .addr;
        let c = self.candidates.iter_mut().find(|c| c.node.addr == addr)?;
        c.state = CandidateState::InFlight;
        self.queries_sent += 1;
        Some(c.node)
    }

    /// Records an answer from `from`: its nodes, its token, its peers. Returns the peers
    /// not seen before in this lookup.
    pub fn on_response(
        &mut self,
        from: SocketAddr,
        nodes: impl IntoIterator<Item = NodeInfo>,
        token: Option<Vec<u8>>,
        values: &[SocketAddr],
    ) -> Vec<SocketAddr> {
        if let Some(c) = self.candidates.iter_mut().find(|c| c.node.addr == from) {
            c.state = CandidateState::Responded;
            if token.is_some() {
                c.token = token;
            }
        }
        self.add_nodes(nodes);
        let mut fresh = Vec::new();
        for v in values {
            if self.peers.len() < MAX_PEERS && self.peers.insert(*v) {
                fresh.push(*v);
            }
        }
        fresh
    }

    /// Records that the query to `from` timed out or was answered with an error.
    pub fn on_failure(&mut self, from: SocketAddr) {
        if let Some(c) = self.candidates.iter_mut().find(|c| c.node.addr == from) {
            c.state = CandidateState::Failed;
        }
    }

    /// Whether the lookup is over: nothing in flight and nothing left worth asking.
    pub fn is_finished(&self) -> bool {
        if self.in_flight() > 0 {
            return false;
        }
        self.queries_sent >= MAX_QUERIES
            || !self.frontier().any(|c| c.state == CandidateState::Fresh)
    }

    /// The up to `K` closest nodes that answered, with the token each gave.
    pub fn closest_responded(&self) -> Vec<(NodeInfo, Option<Vec<u8>>)> {
        self.candidates
            .iter()
            .filter(|c| c.state == CandidateState::Responded)
            .take(K)
            .map(|c| (c.node, c.token.clone()))
            .collect()
    }

    /// Queries sent so far.
    pub fn queries_sent(&self) -> usize {
        self.queries_sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(first: u8) -> NodeInfo {
        let mut id = [0u8; 20];
        id[0] = first;
        NodeInfo {
            id: NodeId(id),
            addr: SocketAddr::from(([10, 0, 0, first], 6881)),
        }
    }

    #[test]
    fn queries_alpha_closest_first_and_finishes() {
        let target = NodeId([0; 20]);
        let mut l = Lookup::new(target, LookupKind::GetPeers, (1..=20).map(node));
        let q: Vec<_> = std::iter::from_fn(|| l.next_query()).collect();
        assert_eq!(q, vec![node(1), node(2), node(3)]);
        assert!(!l.is_finished());
        // Node 1 knows a closer node... none closer than 1 exists but 0x00..01? use none.
        let peers = l.on_response(node(1).addr, [], Some(b"t1".to_vec()), &[node(99).addr]);
        assert_eq!(peers, vec![node(99).addr]);
        assert!(l
            .on_response(node(1).addr, [], None, &[node(99).addr])
            .is_empty());
        assert_eq!(l.next_query(), Some(node(4)));
        l.on_failure(node(2).addr);
        // With 2 failed, the frontier stretches to node 9.
        let mut sent = 4;
        while let Some(n) = l.next_query() {
            sent += 1;
            l.on_response(n.addr, [], Some(vec![n.id.0[0]]), &[]);
        }
        l.on_response(node(3).addr, [], None, &[]);
        l.on_response(node(4).addr, [], None, &[]);
        while let Some(n) = l.next_query() {
            sent += 1;
            l.on_response(n.addr, [], None, &[]);
        }
        assert!(l.is_finished());
        assert_eq!(l.queries_sent(), sent);
        let closest = l.closest_responded();
        assert_eq!(closest.len(), K);
        assert_eq!(closest[0].0, node(1));
        assert_eq!(closest[0].1.as_deref(), Some(&b"t1"[..]));
        assert!(closest.iter().all(|(n, _)| n.id != node(2).id));
    }

    #[test]
    fn closer_nodes_from_answers_are_queried_next() {
        let mut target = [0u8; 20];
        target[19] = 1;
        let target = NodeId(target);
        let mut l = Lookup::new(target, LookupKind::FindNode, [node(100)]);
        let first = l.next_query().expect("one seed");
        assert_eq!(first, node(100));
        assert_eq!(l.next_query(), None, "nothing else known yet");
        l.on_response(first.addr, [node(50), node(2)], None, &[]);
        assert_eq!(l.next_query(), Some(node(2)));
        assert_eq!(l.next_query(), Some(node(50)));
    }

    #[test]
    fn empty_lookup_is_finished() {
        let l = Lookup::new(NodeId([0; 20]), LookupKind::FindNode, []);
        assert!(l.is_finished());
    }
}

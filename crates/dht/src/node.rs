//! One DHT node with no I/O: the protocol logic of BEP 5.
//!
//! [`Node`] never touches a socket or a clock. Its methods sort into:
//! - **getters**: [`Node::id`], [`Node::routing_table`], [`Node::stats`];
//! - **inputs**: [`Node::handle_packet`] (a UDP datagram arrived) and
//!   [`Node::handle_timeout`] (the time from [`Node::poll_timeout`] came);
//! - **commands**: [`Node::bootstrap`], [`Node::get_peers`], [`Node::announce`],
//!   [`Node::find_node`];
//! - **outputs**: [`Node::poll_transmit`] (datagrams to send), [`Node::poll_event`] (peers
//!   found, lookups done) and [`Node::poll_timeout`] (when to call `handle_timeout`).
//!
//! After any input or command, drain `poll_transmit` and `poll_event` until `None`, then
//! wait for the next datagram or `poll_timeout`. Time is passed in as `now`; randomness
//! comes from a seed given to [`Node::new`], so a run is reproducible.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::addr::is_acceptable;
use crate::krpc::{
    Body, Message, Method, NodeInfo, Query, Response, ERROR_METHOD_UNKNOWN, ERROR_PROTOCOL,
};
use crate::lookup::{Lookup, LookupId, LookupKind, MAX_CANDIDATES};
use crate::node_id::NodeId;
use crate::peer_store::{PeerStore, PeerStoreLimits};
use crate::rate_limit::QueryRateLimit;
use crate::routing_table::{InsertOutcome, RoutingTable, K};
use crate::token::TokenSecret;

/// Peers returned in one `get_peers` reply at most (keeps replies near 1 KB).
const MAX_VALUES_IN_REPLY: usize = 50;
/// Datagrams or events queued at most; more are dropped (the driver drains after every
/// step, so this is only reached by a misbehaving caller).
const MAX_QUEUE: usize = 4_096;
/// Bootstrap addresses remembered for re-bootstrapping.
const MAX_BOOTSTRAP: usize = 64;
/// How often expired peers are purged.
const EXPIRE_EVERY: Duration = Duration::from_secs(60);

/// Settings of a node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeConfig {
    /// Accept loopback and private addresses as nodes and peers. Must be false on the
    /// public DHT; true for local networks and tests.
    pub allow_local: bool,
    /// How long to wait for a reply.
    pub query_timeout: Duration,
    /// Queries in flight at most.
    pub max_pending: usize,
    /// Lookups running at once at most.
    pub max_lookups: usize,
    /// Incoming queries answered per second per source IP.
    pub queries_per_ip_per_sec: u32,
    /// Burst of incoming queries allowed per source IP.
    pub query_burst_per_ip: u32,
    /// Limits of the announced-peer store.
    pub peer_store: PeerStoreLimits,
    /// How often the node looks itself up to keep its neighbourhood fresh.
    pub refresh_every: Duration,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            allow_local: false,
            query_timeout: Duration::from_secs(4),
            max_pending: 512,
            max_lookups: 64,
            queries_per_ip_per_sec: 20,
            query_burst_per_ip: 60,
            peer_store: PeerStoreLimits::default(),
            refresh_every: Duration::from_secs(15 * 60),
        }
    }
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub dst: SocketAddr,
    /// The KRPC packet.
    pub payload: Vec<u8>,
}

/// Something the node's user should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A `get_peers` or `announce` lookup found peers (each reported once per lookup).
    Peers {
        /// The lookup.
        lookup: LookupId,
        /// Its info-hash.
        info_hash: NodeId,
        /// New peers.
        peers: Vec<SocketAddr>,
    },
    /// A lookup is over (for `announce`, after the `announce_peer` replies came back or
    /// timed out).
    LookupDone {
        /// The lookup.
        lookup: LookupId,
        /// Its target.
        target: NodeId,
        /// How many of the closest nodes answered.
        responded: usize,
        /// How many nodes accepted our `announce_peer` (0 for other lookups).
        announced: usize,
    },
}

/// Counters and sizes, for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// Nodes in the routing table.
    pub routing_table_size: usize,
    /// Good nodes in the routing table.
    pub good_nodes: usize,
    /// Peers announced to us and still stored.
    pub stored_peers: usize,
    /// Our queries waiting for a reply.
    pub pending_queries: usize,
    /// Lookups running.
    pub active_lookups: usize,
    /// Datagrams received.
    pub packets_in: u64,
    /// Datagrams that were not valid KRPC or came from refused addresses.
    pub packets_dropped: u64,
    /// Queries dropped by the per-IP rate limit.
    pub queries_rate_limited: u64,
}

/// The command could not start: too many lookups are running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many DHT lookups in progress")]
pub struct TooManyLookups;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PendingKind {
    Ping,
    Bootstrap,
    Lookup(LookupId),
    Announce(LookupId),
}

#[derive(Debug, Clone)]
struct Pending {
    dst: SocketAddr,
    id: Option<NodeId>,
    kind: PendingKind,
    deadline: Instant,
}

#[derive(Debug)]
struct ActiveLookup {
    lookup: Lookup,
    /// `Some(port)` for an announce.
    announce_port: Option<u16>,
    announcing: bool,
    announce_outstanding: usize,
    announced: usize,
}

/// One DHT node (see the module documentation for how to drive it).
#[derive(Debug)]
pub struct Node {
    config: NodeConfig,
    table: RoutingTable,
    local_addr: SocketAddr,
    rng: StdRng,
    tokens: TokenSecret,
    peers: PeerStore,
    rate: QueryRateLimit,
    pending: HashMap<u16, Pending>,
    next_tid: u16,
    lookups: BTreeMap<LookupId, ActiveLookup>,
    next_lookup: u64,
    self_lookup: Option<LookupId>,
    bootstrap_addrs: Vec<SocketAddr>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    next_refresh: Instant,
    next_expire: Instant,
    stats: NodeStats,
}

impl Node {
    /// A node with id `id` listening at `local_addr` (never put in its own table).
    /// `seed` seeds its random numbers (token secrets, transaction ids).
    pub fn new(
        config: NodeConfig,
        id: NodeId,
        local_addr: SocketAddr,
        seed: u64,
        now: Instant,
    ) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let tokens = TokenSecret::new(&mut rng, now);
        let next_tid = rand::Rng::gen(&mut rng);
        Node {
            table: RoutingTable::new(id),
            local_addr,
            tokens,
            peers: PeerStore::new(config.peer_store),
            rate: QueryRateLimit::new(config.queries_per_ip_per_sec, config.query_burst_per_ip),
            pending: HashMap::new(),
            next_tid,
            lookups: BTreeMap::new(),
            next_lookup: 1,
            self_lookup: None,
            bootstrap_addrs: Vec::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            next_refresh: now + config.refresh_every,
            next_expire: now + EXPIRE_EVERY,
            stats: NodeStats::default(),
            config,
            rng,
        }
    }

    // ---- getters ----

    /// Our node id.
    pub fn id(&self) -> NodeId {
        self.table.own_id()
    }

    /// The routing table.
    pub fn routing_table(&self) -> &RoutingTable {
        &self.table
    }

    /// Counters and sizes at `now`.
    pub fn stats(&self, now: Instant) -> NodeStats {
        NodeStats {
            routing_table_size: self.table.len(),
            good_nodes: self.table.good_count(now),
            stored_peers: self.peers.len(),
            pending_queries: self.pending.len(),
            active_lookups: self.lookups.len(),
            ..self.stats
        }
    }

    // ---- commands ----

    /// Contacts `addrs` (routers or cached nodes) with `find_node` for our own id, then
    /// looks up our own id through what they return.
    pub fn bootstrap(&mut self, addrs: &[SocketAddr], now: Instant) {
        for addr in addrs {
            if self.bootstrap_addrs.len() < MAX_BOOTSTRAP && !self.bootstrap_addrs.contains(addr) {
                self.bootstrap_addrs.push(*addr);
            }
        }
        let own = self.id();
        for addr in addrs.iter().take(MAX_BOOTSTRAP) {
            if *addr == self.local_addr || !is_acceptable(addr, self.config.allow_local) {
                continue;
            }
            self.send_query(
                *addr,
                None,
                Method::FindNode { target: own },
                PendingKind::Bootstrap,
                now,
            );
        }
        self.start_self_lookup(now);
        self.drive(now);
    }

    /// Pings a known node (from a cache); it joins the table when it answers.
    pub fn add_node(&mut self, node: NodeInfo, now: Instant) {
        if self.acceptable_node(&node) {
            self.send_query(
                node.addr,
                Some(node.id),
                Method::Ping,
                PendingKind::Ping,
                now,
            );
        }
    }

    /// Starts a `get_peers` lookup: [`Event::Peers`] as peers are found, then
    /// [`Event::LookupDone`].
    pub fn get_peers(
        &mut self,
        info_hash: NodeId,
        now: Instant,
    ) -> Result<LookupId, TooManyLookups> {
        self.start_lookup(info_hash, LookupKind::GetPeers, None, now)
    }

    /// Looks up `info_hash` like [`Node::get_peers`], then sends `announce_peer` (we
    /// accept TCP connections on `port`) to the closest nodes that gave us a token.
    pub fn announce(
        &mut self,
        info_hash: NodeId,
        port: u16,
        now: Instant,
    ) -> Result<LookupId, TooManyLookups> {
        self.start_lookup(info_hash, LookupKind::GetPeers, Some(port), now)
    }

    /// Starts a `find_node` lookup for `target` (only [`Event::LookupDone`]).
    pub fn find_node(&mut self, target: NodeId, now: Instant) -> Result<LookupId, TooManyLookups> {
        self.start_lookup(target, LookupKind::FindNode, None, now)
    }

    // ---- outputs ----

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Node::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let pending = self.pending.values().map(|p| p.deadline).min();
        let periodic = self
            .next_refresh
            .min(self.next_expire)
            .min(self.tokens.next_rotation());
        Some(pending.map_or(periodic, |p| p.min(periodic)))
    }

    // ---- inputs ----

    /// A datagram arrived from `from`.
    pub fn handle_packet(&mut self, from: SocketAddr, packet: &[u8], now: Instant) {
        self.stats.packets_in += 1;
        if from == self.local_addr || !is_acceptable(&from, self.config.allow_local) {
            self.stats.packets_dropped += 1;
            return;
        }
        let message = match Message::decode(packet) {
            Ok(m) => m,
            Err(e) => {
                self.stats.packets_dropped += 1;
                if let Some(tid) = e.transaction_id {
                    if self.rate.allow(from.ip(), now) {
                        self.send_error(from, tid, ERROR_PROTOCOL, e.reason);
                    }
                }
                return;
            }
        };
        match message.body {
            Body::Query(q) => self.on_query(from, message.transaction_id, q, now),
            Body::Response(r) => self.on_response(from, &message.transaction_id, r, now),
            Body::Error { .. } => self.on_error(from, &message.transaction_id, now),
        }
        self.drive(now);
    }

    /// Time has come (see [`Node::poll_timeout`]): expire queries, rotate the token
    /// secret, purge old peers, refresh.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut expired: Vec<u16> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(t, _)| *t)
            .collect();
        // Sorted so a run does not depend on the hash map's order.
        expired.sort_unstable();
        for tid in expired {
            if let Some(p) = self.pending.remove(&tid) {
                if let Some(id) = p.id {
                    self.table.mark_failed(&id);
                }
                self.fail_pending(&p);
            }
        }
        self.tokens.maybe_rotate(&mut self.rng, now);
        if now >= self.next_expire {
            self.peers.expire(now);
            self.next_expire = now + EXPIRE_EVERY;
        }
        if now >= self.next_refresh {
            self.next_refresh = now + self.config.refresh_every;
            if self.table.is_empty() {
                let addrs = self.bootstrap_addrs.clone();
                self.bootstrap(&addrs, now);
            } else {
                self.start_self_lookup(now);
            }
        }
        self.drive(now);
    }

    // ---- internals ----

    fn acceptable_node(&self, n: &NodeInfo) -> bool {
        n.id != self.id()
            && n.addr != self.local_addr
            && is_acceptable(&n.addr, self.config.allow_local)
    }

    fn start_self_lookup(&mut self, now: Instant) {
        if self
            .self_lookup
            .is_some_and(|id| self.lookups.contains_key(&id))
        {
            return;
        }
        self.self_lookup = self
            .start_lookup(self.id(), LookupKind::FindNode, None, now)
            .ok();
    }

    fn start_lookup(
        &mut self,
        target: NodeId,
        kind: LookupKind,
        announce_port: Option<u16>,
        now: Instant,
    ) -> Result<LookupId, TooManyLookups> {
        if self.lookups.len() >= self.config.max_lookups {
            return Err(TooManyLookups);
        }
        let id = LookupId(self.next_lookup);
        self.next_lookup += 1;
        let seeds = self.table.closest(&target, MAX_CANDIDATES / 2, now);
        self.lookups.insert(
            id,
            ActiveLookup {
                lookup: Lookup::new(target, kind, seeds),
                announce_port,
                announcing: false,
                announce_outstanding: 0,
                announced: 0,
            },
        );
        self.drive(now);
        Ok(id)
    }

    fn bootstrapping(&self) -> bool {
        self.pending
            .values()
            .any(|p| p.kind == PendingKind::Bootstrap)
    }

    /// Sends what lookups may send and finishes those that are done.
    fn drive(&mut self, now: Instant) {
        let ids: Vec<LookupId> = self.lookups.keys().copied().collect();
        let bootstrapping = self.bootstrapping();
        for id in ids {
            let mut to_query = Vec::new();
            let mut finished = false;
            if let Some(al) = self.lookups.get_mut(&id) {
                if al.announcing {
                    finished = al.announce_outstanding == 0;
                } else {
                    while self.pending.len() + to_query.len() < self.config.max_pending {
                        match al.lookup.next_query() {
                            Some(n) => to_query.push(n),
                            None => break,
                        }
                    }
                    // A lookup started before the table filled waits for the bootstrap.
                    let waiting = bootstrapping && al.lookup.queries_sent() == 0;
                    finished = al.lookup.is_finished() && !waiting;
                }
                let target = al.lookup.target();
                let kind = al.lookup.kind();
                for n in to_query {
                    let method = match kind {
                        LookupKind::FindNode => Method::FindNode { target },
                        LookupKind::GetPeers => Method::GetPeers { info_hash: target },
                    };
                    if !self.send_query(n.addr, Some(n.id), method, PendingKind::Lookup(id), now) {
                        if let Some(al) = self.lookups.get_mut(&id) {
                            al.lookup.on_failure(n.addr);
                        }
                    }
                }
            }
            if finished {
                self.finish_lookup(id, now);
            }
        }
    }

    fn finish_lookup(&mut self, id: LookupId, now: Instant) {
        let Some(al) = self.lookups.get_mut(&id) else {
            return;
        };
        if let (Some(port), false) = (al.announce_port, al.announcing) {
            al.announcing = true;
            let info_hash = al.lookup.target();
            let targets: Vec<(NodeInfo, Vec<u8>)> = al
                .lookup
                .closest_responded()
                .into_iter()
                .filter_map(|(n, t)| t.map(|t| (n, t)))
                .collect();
            for (n, token) in targets {
                let method = Method::AnnouncePeer {
                    info_hash,
                    port,
                    implied_port: false,
                    token,
                };
                if self.send_query(n.addr, Some(n.id), method, PendingKind::Announce(id), now) {
                    if let Some(al) = self.lookups.get_mut(&id) {
                        al.announce_outstanding += 1;
                    }
                }
            }
            if self
                .lookups
                .get(&id)
                .is_some_and(|al| al.announce_outstanding > 0)
            {
                return;
            }
        }
        if let Some(al) = self.lookups.remove(&id) {
            self.push_event(Event::LookupDone {
                lookup: id,
                target: al.lookup.target(),
                responded: al.lookup.closest_responded().len(),
                announced: al.announced,
            });
        }
    }

    fn next_tid(&mut self) -> u16 {
        loop {
            self.next_tid = self.next_tid.wrapping_add(1);
            if !self.pending.contains_key(&self.next_tid) {
                return self.next_tid;
            }
        }
    }

    fn send_query(
        &mut self,
        dst: SocketAddr,
        id: Option<NodeId>,
        method: Method,
        kind: PendingKind,
        now: Instant,
    ) -> bool {
        if self.pending.len() >= self.config.max_pending.min(u16::MAX as usize / 2) {
            return false;
        }
        let tid = self.next_tid();
        self.pending.insert(
            tid,
            Pending {
                dst,
                id,
                kind,
                deadline: now + self.config.query_timeout,
            },
        );
        let message = Message {
            transaction_id: tid.to_be_bytes().to_vec(),
            body: Body::Query(Query {
                sender: self.id(),
                method,
            }),
        };
        self.push_transmit(dst, message.encode());
        true
    }

    fn push_transmit(&mut self, dst: SocketAddr, payload: Vec<u8>) {
        if self.transmits.len() < MAX_QUEUE {
            self.transmits.push_back(Transmit { dst, payload });
        }
    }

    fn push_event(&mut self, event: Event) {
        if self.events.len() < MAX_QUEUE {
            self.events.push_back(event);
        }
    }

    fn send_error(&mut self, to: SocketAddr, tid: Vec<u8>, code: i64, message: &str) {
        let m = Message {
            transaction_id: tid,
            body: Body::Error {
                code,
                message: message.to_string(),
            },
        };
        self.push_transmit(to, m.encode());
    }

    fn nodes_for(
        &self,
        target: &NodeId,
        querier: SocketAddr,
        now: Instant,
    ) -> (Vec<NodeInfo>, Vec<NodeInfo>) {
        let closest = self.table.closest(target, K * 4, now);
        let (v4, v6): (Vec<NodeInfo>, Vec<NodeInfo>) =
            closest.into_iter().partition(|n| n.addr.is_ipv4());
        let v4: Vec<NodeInfo> = v4
            .into_iter()
            .filter(|n| n.addr != querier)
            .take(K)
            .collect();
        let v6: Vec<NodeInfo> = v6
            .into_iter()
            .filter(|n| n.addr != querier)
            .take(K)
            .collect();
        if querier.is_ipv4() {
            (v4, Vec::new())
        } else {
            (Vec::new(), v6)
        }
    }

    fn on_query(&mut self, from: SocketAddr, tid: Vec<u8>, q: Query, now: Instant) {
        if !self.rate.allow(from.ip(), now) {
            self.stats.queries_rate_limited += 1;
            return;
        }
        let own = self.id();
        let mut response = Response {
            sender: own,
            ..Response::default()
        };
        match q.method {
            Method::Ping => {}
            Method::FindNode { target } => {
                (response.nodes, response.nodes6) = self.nodes_for(&target, from, now);
            }
            Method::GetPeers { info_hash } => {
                response.values = self.peers.get(&info_hash, MAX_VALUES_IN_REPLY, now);
                (response.nodes, response.nodes6) = self.nodes_for(&info_hash, from, now);
                response.token = Some(self.tokens.token_for(from.ip()));
            }
            Method::AnnouncePeer {
                info_hash,
                port,
                implied_port,
                token,
            } => {
                if !self.tokens.is_valid(from.ip(), &token) {
                    self.send_error(from, tid, ERROR_PROTOCOL, "bad token");
                    return;
                }
                let port = if implied_port { from.port() } else { port };
                let peer = SocketAddr::new(from.ip(), port);
                if !is_acceptable(&peer, self.config.allow_local) {
                    self.send_error(from, tid, ERROR_PROTOCOL, "bad port");
                    return;
                }
                self.peers.insert(info_hash, peer, now);
            }
            Method::Unknown(_) => {
                self.send_error(from, tid, ERROR_METHOD_UNKNOWN, "method unknown");
                return;
            }
        }
        let reply = Message {
            transaction_id: tid,
            body: Body::Response(response),
        };
        self.push_transmit(from, reply.encode());
        if q.sender != own {
            self.insert_node(q.sender, from, false, now);
        }
    }

    fn insert_node(&mut self, id: NodeId, addr: SocketAddr, responded: bool, now: Instant) {
        if let InsertOutcome::Full(Some(questionable)) = self.table.insert(id, addr, responded, now)
        {
            let already = self
                .pending
                .values()
                .any(|p| p.dst == questionable.addr && p.kind == PendingKind::Ping);
            if !already {
                self.send_query(
                    questionable.addr,
                    Some(questionable.id),
                    Method::Ping,
                    PendingKind::Ping,
                    now,
                );
            }
        }
    }

    fn take_pending(&mut self, from: SocketAddr, tid: &[u8]) -> Option<Pending> {
        let tid = u16::from_be_bytes(<[u8; 2]>::try_from(tid).ok()?);
        match self.pending.get(&tid) {
            Some(p) if p.dst == from => self.pending.remove(&tid),
            _ => None,
        }
    }

    fn on_response(&mut self, from: SocketAddr, tid: &[u8], r: Response, now: Instant) {
        let Some(p) = self.take_pending(from, tid) else {
            self.stats.packets_dropped += 1;
            return;
        };
        if r.sender != self.id() {
            self.insert_node(r.sender, from, true, now);
        }
        let nodes: Vec<NodeInfo> = r
            .nodes
            .iter()
            .chain(r.nodes6.iter())
            .filter(|n| self.acceptable_node(n))
            .copied()
            .collect();
        match p.kind {
            PendingKind::Ping => {}
            PendingKind::Bootstrap => {
                let responder = NodeInfo {
                    id: r.sender,
                    addr: from,
                };
                let found: Vec<NodeInfo> = std::iter::once(responder)
                    .filter(|n| self.acceptable_node(n))
                    .chain(nodes)
                    .collect();
                if !self
                    .self_lookup
                    .is_some_and(|id| self.lookups.contains_key(&id))
                {
                    self.start_self_lookup(now);
                }
                // Lookups that started with an empty table get the bootstrap's nodes.
                for al in self.lookups.values_mut() {
                    if !al.announcing {
                        al.lookup.add_nodes(found.iter().copied());
                    }
                }
            }
            PendingKind::Lookup(id) => {
                let allow_local = self.config.allow_local;
                let values: Vec<SocketAddr> = r
                    .values
                    .iter()
                    .filter(|a| is_acceptable(a, allow_local))
                    .copied()
                    .collect();
                if let Some(al) = self.lookups.get_mut(&id) {
                    let fresh = al.lookup.on_response(from, nodes, r.token, &values);
                    if !fresh.is_empty() {
                        let info_hash = al.lookup.target();
                        self.push_event(Event::Peers {
                            lookup: id,
                            info_hash,
                            peers: fresh,
                        });
                    }
                }
            }
            PendingKind::Announce(id) => {
                if let Some(al) = self.lookups.get_mut(&id) {
                    al.announce_outstanding = al.announce_outstanding.saturating_sub(1);
                    al.announced += 1;
                }
            }
        }
    }

    fn on_error(&mut self, from: SocketAddr, tid: &[u8], _now: Instant) {
        // The node is alive but refused: the query failed, the node is not marked bad.
        if let Some(p) = self.take_pending(from, tid) {
            self.fail_pending(&p);
        }
    }

    fn fail_pending(&mut self, p: &Pending) {
        match p.kind {
            PendingKind::Ping | PendingKind::Bootstrap => {}
            PendingKind::Lookup(id) => {
                if let Some(al) = self.lookups.get_mut(&id) {
                    al.lookup.on_failure(p.dst);
                }
            }
            PendingKind::Announce(id) => {
                if let Some(al) = self.lookups.get_mut(&id) {
                    al.announce_outstanding = al.announce_outstanding.saturating_sub(1);
                }
            }
        }
    }
}

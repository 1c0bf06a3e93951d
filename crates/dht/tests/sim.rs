//! A simulated network of sans-I/O DHT nodes on a virtual clock: no sockets, no sleeps,
//! the same result on every run (all randomness comes from seeds).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bitswarm_dht::{Event, LookupId, Node, NodeConfig, NodeId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

type Packet = Reverse<(Duration, u64, usize, SocketAddr, Vec<u8>)>;

struct Sim {
    base: Instant,
    now: Duration,
    nodes: Vec<Node>,
    addrs: Vec<SocketAddr>,
    index: HashMap<SocketAddr, usize>,
    queue: BinaryHeap<Packet>,
    seq: u64,
    rng: StdRng,
    loss: f64,
    dead: HashSet<usize>,
    events: Vec<(usize, Event)>,
    delivered: u64,
}

impl Sim {
    fn new(count: usize, seed: u64, loss: f64) -> Sim {
        let base = Instant::now();
        let mut rng = StdRng::seed_from_u64(seed);
        let config = NodeConfig {
            allow_local: true,
            query_timeout: Duration::from_secs(2),
            ..NodeConfig::default()
        };
        let mut nodes = Vec::new();
        let mut addrs = Vec::new();
        let mut index = HashMap::new();
        for i in 0..count {
            let addr = SocketAddr::from(([10, 0, (i / 250) as u8, (i % 250 + 1) as u8], 6881));
            let id = NodeId::random(&mut rng);
            nodes.push(Node::new(config.clone(), id, addr, rng.gen(), base));
            index.insert(addr, i);
            addrs.push(addr);
        }
        Sim {
            base,
            now: Duration::ZERO,
            nodes,
            addrs,
            index,
            queue: BinaryHeap::new(),
            seq: 0,
            rng,
            loss,
            dead: HashSet::new(),
            events: Vec::new(),
            delivered: 0,
        }
    }

    fn at(&self) -> Instant {
        self.base + self.now
    }

    fn flush(&mut self, i: usize) {
        while let Some(t) = self.nodes[i].poll_transmit() {
            let Some(&to) = self.index.get(&t.dst) else {
                continue;
            };
            if self.rng.gen_bool(self.loss) {
                continue;
            }
            let latency = Duration::from_millis(self.rng.gen_range(5..50));
            self.seq += 1;
            self.queue.push(Reverse((
                self.now + latency,
                self.seq,
                to,
                self.addrs[i],
                t.payload,
            )));
        }
        while let Some(e) = self.nodes[i].poll_event() {
            self.events.push((i, e));
        }
    }

    fn flush_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.flush(i);
        }
    }

    /// Runs until `stop` holds (true) or `limit` of virtual time has passed (false).
    fn run_until(&mut self, limit: Duration, mut stop: impl FnMut(&Sim) -> bool) -> bool {
        let end = self.now + limit;
        loop {
            self.flush_all();
            if stop(self) {
                return true;
            }
            let next_packet = self.queue.peek().map(|Reverse(p)| p.0);
            let next_timer = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(i, _)| !self.dead.contains(i))
                .filter_map(|(_, n)| n.poll_timeout())
                .min()
                .map(|t| t.saturating_duration_since(self.base));
            let next = match (next_packet, next_timer) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => a.or(b).unwrap_or(end),
            };
            if next > end {
                self.now = end;
                return false;
            }
            self.now = self.now.max(next);
            let now = self.at();
            while self.queue.peek().is_some_and(|Reverse(p)| p.0 <= self.now) {
                let Some(Reverse((_, _, to, from, payload))) = self.queue.pop() else {
                    break;
                };
                if self.dead.contains(&to) {
                    continue;
                }
                self.delivered += 1;
                self.nodes[to].handle_packet(from, &payload, now);
                self.flush(to);
            }
            for i in 0..self.nodes.len() {
                if !self.dead.contains(&i) && self.nodes[i].poll_timeout().is_some_and(|t| t <= now)
                {
                    self.nodes[i].handle_timeout(now);
                    self.flush(i);
                }
            }
        }
    }

    fn bootstrap_all_from(&mut self, entry: usize) {
        let entry_addr = self.addrs[entry];
        for i in 0..self.nodes.len() {
            if i != entry && !self.dead.contains(&i) {
                let now = self.at();
                self.nodes[i].bootstrap(&[entry_addr], now);
                self.flush(i);
                // Nodes join one after another, 20 ms apart.
                self.run_until(Duration::from_millis(20), |_| false);
            }
        }
        self.run_until(Duration::from_secs(30), |_| false);
    }

    fn done(&self, node: usize, lookup: LookupId) -> Option<usize> {
        self.events.iter().find_map(|(i, e)| match e {
            Event::LookupDone {
                lookup: l,
                announced,
                ..
            } if *i == node && *l == lookup => Some(*announced),
            _ => None,
        })
    }

    fn peers_found(&self, node: usize, lookup: LookupId) -> Vec<SocketAddr> {
        self.events
            .iter()
            .filter_map(|(i, e)| match e {
                Event::Peers {
                    lookup: l, peers, ..
                } if *i == node && *l == lookup => Some(peers.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }
}

fn announce_then_find(sim: &mut Sim, announcer: usize, seeker: usize) -> Vec<SocketAddr> {
    let info_hash = NodeId([0x5a; 20]);
    let now = sim.at();
    let a = sim.nodes[announcer]
        .announce(info_hash, 7000, now)
        .expect("starts");
    assert!(
        sim.run_until(Duration::from_secs(120), |s| s.done(announcer, a).is_some()),
        "announce finished"
    );
    let announced = sim.done(announcer, a).expect("done");
    assert!(announced >= 3, "announced to {announced} nodes");
    let now = sim.at();
    let g = sim.nodes[seeker].get_peers(info_hash, now).expect("starts");
    assert!(
        sim.run_until(Duration::from_secs(120), |s| s.done(seeker, g).is_some()),
        "get_peers finished"
    );
    sim.peers_found(seeker, g)
}

#[test]
fn fifty_nodes_get_peers_finds_the_announcer() {
    let mut sim = Sim::new(50, 7, 0.0);
    sim.bootstrap_all_from(0);
    for (i, n) in sim.nodes.iter().enumerate() {
        assert!(
            n.routing_table().len() >= 8,
            "node {i} knows {} nodes",
            n.routing_table().len()
        );
    }
    let peers = announce_then_find(&mut sim, 7, 33);
    let expected = SocketAddr::new(sim.addrs[7].ip(), 7000);
    assert_eq!(peers, vec![expected]);
}

#[test]
fn lossy_network_with_dead_nodes_still_finds_the_announcer() {
    let mut sim = Sim::new(50, 11, 0.10);
    sim.bootstrap_all_from(0);
    // Five nodes die after joining: queries to them time out.
    for i in [3, 12, 21, 30, 44] {
        sim.dead.insert(i);
    }
    let peers = announce_then_find(&mut sim, 9, 40);
    assert!(
        peers.contains(&SocketAddr::new(sim.addrs[9].ip(), 7000)),
        "{peers:?}"
    );
}

#[test]
fn runs_are_deterministic() {
    let run = || {
        let mut sim = Sim::new(20, 3, 0.05);
        sim.bootstrap_all_from(0);
        let sizes: Vec<usize> = sim.nodes.iter().map(|n| n.routing_table().len()).collect();
        (sizes, sim.delivered)
    };
    assert_eq!(run(), run());
}

#[test]
fn announce_with_a_forged_token_is_refused() {
    use bitswarm_dht::krpc::{Body, Message, Method, Query};
    let mut sim = Sim::new(2, 5, 0.0);
    let info_hash = NodeId([1; 20]);
    let forged = Message {
        transaction_id: b"zz".to_vec(),
        body: Body::Query(Query {
            sender: NodeId([9; 20]),
            method: Method::AnnouncePeer {
                info_hash,
                port: 6000,
                implied_port: false,
                token: b"forged".to_vec(),
            },
        }),
    };
    let now = sim.at();
    let from = sim.addrs[1];
    sim.nodes[0].handle_packet(from, &forged.encode(), now);
    let reply = sim.nodes[0].poll_transmit().expect("an error reply");
    match Message::decode(&reply.payload).expect("valid").body {
        Body::Error { code, .. } => assert_eq!(code, 203),
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.nodes[0].stats(now).stored_peers, 0);
}

#[test]
fn loopback_and_private_nodes_are_ignored_unless_allowed() {
    let now = Instant::now();
    let me: SocketAddr = "8.8.8.8:6881".parse().unwrap();
    let mut node = Node::new(NodeConfig::default(), NodeId([1; 20]), me, 1, now);
    let ping = bitswarm_dht::krpc::Message {
        transaction_id: b"aa".to_vec(),
        body: bitswarm_dht::krpc::Body::Query(bitswarm_dht::krpc::Query {
            sender: NodeId([2; 20]),
            method: bitswarm_dht::krpc::Method::Ping,
        }),
    }
    .encode();
    node.handle_packet("127.0.0.1:5000".parse().unwrap(), &ping, now);
    node.handle_packet("192.168.1.9:5000".parse().unwrap(), &ping, now);
    assert!(
        node.poll_transmit().is_none(),
        "no reply to local addresses"
    );
    assert_eq!(node.routing_table().len(), 0);
    node.handle_packet("9.9.9.9:5000".parse().unwrap(), &ping, now);
    assert!(node.poll_transmit().is_some());
    assert_eq!(node.routing_table().len(), 1);
    // Our own address is never added.
    node.handle_packet(me, &ping, now);
    assert_eq!(node.routing_table().len(), 1);
}

//! The tokio driver: one task owns the UDP socket and the [`Node`]; [`DhtHandle`] talks
//! to it through a bounded command channel (no shared locks).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use crate::cache::NodeCache;
use crate::error::DhtError;
use crate::lookup::LookupId;
use crate::node::{Event, Node, NodeConfig, NodeStats};
use crate::node_id::NodeId;

/// The well-known public routers, used when no `--dht-bootstrap` is given.
pub const DEFAULT_BOOTSTRAP: [&str; 4] = [
    "router.bittorrent.com:6881",
    "dht.transmissionbt.com:6881",
    "router.utorrent.com:6881",
    "dht.libtorrent.org:25401",
];

/// Peers buffered per lookup channel; more are dropped if the receiver lags.
pub const PEER_CHANNEL: usize = 256;
/// Commands buffered to the DHT task.
const COMMAND_CHANNEL: usize = 64;
/// How long resolving one bootstrap host name may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings of a [`Dht`].
#[derive(Debug, Clone)]
pub struct DhtConfig {
    /// Protocol settings (including `allow_local`, false by default).
    pub node: NodeConfig,
    /// Bootstrap nodes as `HOST:PORT`, resolved in the background.
    /// Default: [`DEFAULT_BOOTSTRAP`].
    pub bootstrap: Vec<String>,
    /// Node cache: read at bind (its nodes bootstrap us, its id is reused) and written
    /// at shutdown when the routing table has nodes. `None`: no cache.
    pub node_cache: Option<PathBuf>,
    /// Our node id; default: the cached one, else random.
    pub node_id: Option<NodeId>,
    /// Seed of the node's random numbers; default: random.
    pub seed: Option<u64>,
}

impl Default for DhtConfig {
    fn default() -> Self {
        DhtConfig {
            node: NodeConfig::default(),
            bootstrap: DEFAULT_BOOTSTRAP.iter().map(|s| s.to_string()).collect(),
            node_cache: None,
            node_id: None,
            seed: None,
        }
    }
}

enum Command {
    Bootstrap(Vec<SocketAddr>),
    Lookup {
        info_hash: NodeId,
        announce_port: Option<u16>,
        peers: mpsc::Sender<SocketAddr>,
        started: oneshot::Sender<Result<(), DhtError>>,
    },
    Stats(oneshot::Sender<NodeStats>),
    SaveNodes(PathBuf, oneshot::Sender<Result<usize, DhtError>>),
    Shutdown(oneshot::Sender<()>),
}

/// Starts DHT nodes.
#[derive(Debug)]
pub struct Dht;

impl Dht {
    /// Binds a UDP socket at `addr` (port 0 picks one), loads the node cache, starts
    /// bootstrapping and spawns the node's task on the current tokio runtime.
    pub async fn bind(addr: SocketAddr, config: DhtConfig) -> Result<DhtHandle, DhtError> {
        let socket = UdpSocket::bind(addr)
            .await
            .map_err(|source| DhtError::Bind { addr, source })?;
        let local_addr = socket
            .local_addr()
            .map_err(|source| DhtError::Bind { addr, source })?;
        let cached = match &config.node_cache {
            Some(path) => match NodeCache::load(path).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("{e}; starting without it");
                    None
                }
            },
            None => None,
        };
        let seed = config.seed.unwrap_or_else(rand::random);
        let id = config
            .node_id
            .or(cached.as_ref().map(|c| c.id))
            .unwrap_or_else(|| NodeId(rand::random()));
        let now = Instant::now();
        let mut node = Node::new(config.node.clone(), id, local_addr, seed, now);
        if let Some(c) = &cached {
            let addrs: Vec<SocketAddr> = c.nodes.iter().map(|n| n.addr).take(64).collect();
            node.bootstrap(&addrs, now);
            for n in c.nodes.iter().skip(64) {
                node.add_node(*n, now);
            }
        }
        let (tx, rx) = mpsc::channel(COMMAND_CHANNEL);
        if !config.bootstrap.is_empty() {
            let hosts = config.bootstrap.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let addrs = resolve(&hosts).await;
                if !addrs.is_empty() {
                    let _ = tx.send(Command::Bootstrap(addrs)).await;
                }
            });
        }
        tokio::spawn(run(socket, node, rx, config.node_cache));
        Ok(DhtHandle {
            commands: tx,
            local_addr,
            id,
        })
    }
}

/// Resolves `HOST:PORT` strings, skipping (and logging) those that fail.
pub async fn resolve(hosts: &[String]) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for host in hosts {
        match tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host(host.as_str())).await {
            Ok(Ok(addrs)) => out.extend(addrs),
            Ok(Err(e)) => tracing::warn!("DHT bootstrap {host}: {e}"),
            Err(_) => tracing::warn!("DHT bootstrap {host}: name resolution timed out"),
        }
    }
    out
}

/// A handle to a running DHT node; cheap to clone. The node stops when
/// [`DhtHandle::shutdown`] is called or every handle is dropped.
#[derive(Debug, Clone)]
pub struct DhtHandle {
    commands: mpsc::Sender<Command>,
    local_addr: SocketAddr,
    id: NodeId,
}

impl DhtHandle {
    /// The bound UDP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Our node id.
    pub fn node_id(&self) -> NodeId {
        self.id
    }

    async fn send(&self, c: Command) -> Result<(), DhtError> {
        self.commands.send(c).await.map_err(|_| DhtError::Stopped)
    }

    /// Bootstraps from more nodes (already resolved; see [`resolve`]).
    pub async fn bootstrap(&self, addrs: Vec<SocketAddr>) -> Result<(), DhtError> {
        self.send(Command::Bootstrap(addrs)).await
    }

    async fn lookup(
        &self,
        info_hash: [u8; 20],
        announce_port: Option<u16>,
    ) -> Result<mpsc::Receiver<SocketAddr>, DhtError> {
        let (peers, rx) = mpsc::channel(PEER_CHANNEL);
        let (started, ok) = oneshot::channel();
        self.send(Command::Lookup {
            info_hash: NodeId(info_hash),
            announce_port,
            peers,
            started,
        })
        .await?;
        ok.await.map_err(|_| DhtError::Stopped)??;
        Ok(rx)
    }

    /// Looks for peers of `info_hash`. Peers arrive on the receiver as they are found
    /// (each once); it closes when the lookup is over (seconds to a minute).
    pub async fn get_peers(
        &self,
        info_hash: [u8; 20],
    ) -> Result<mpsc::Receiver<SocketAddr>, DhtError> {
        self.lookup(info_hash, None).await
    }

    /// Announces that we accept peers of `info_hash` on TCP `port`: a `get_peers` lookup
    /// (its peers arrive on the receiver) followed by `announce_peer` to the closest
    /// nodes. The receiver closes once the announces were answered or timed out.
    /// BEP 5 nodes forget announces after about 30 minutes: announce again before that.
    pub async fn announce(
        &self,
        info_hash: [u8; 20],
        port: u16,
    ) -> Result<mpsc::Receiver<SocketAddr>, DhtError> {
        self.lookup(info_hash, Some(port)).await
    }

    /// Counters and sizes.
    pub async fn stats(&self) -> Result<NodeStats, DhtError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Stats(tx)).await?;
        rx.await.map_err(|_| DhtError::Stopped)
    }

    /// Nodes in the routing table.
    pub async fn routing_table_size(&self) -> Result<usize, DhtError> {
        Ok(self.stats().await?.routing_table_size)
    }

    /// Writes our id and routing table to `path`; returns how many nodes were saved.
    pub async fn save_nodes(&self, path: impl AsRef<Path>) -> Result<usize, DhtError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::SaveNodes(path.as_ref().to_path_buf(), tx))
            .await?;
        rx.await.map_err(|_| DhtError::Stopped)?
    }

    /// Stops the node (after saving the node cache, when one is configured) and waits
    /// for it. Other handles then get [`DhtError::Stopped`].
    pub async fn shutdown(&self) -> Result<(), DhtError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Shutdown(tx)).await?;
        rx.await.map_err(|_| DhtError::Stopped)
    }
}

fn snapshot(node: &Node) -> NodeCache {
    let now = Instant::now();
    NodeCache {
        id: node.id(),
        nodes: node
            .routing_table()
            .entries()
            .filter(|e| e.state(now) != crate::routing_table::NodeState::Bad)
            .map(|e| crate::krpc::NodeInfo {
                id: e.id,
                addr: e.addr,
            })
            .collect(),
    }
}

async fn run(
    socket: UdpSocket,
    mut node: Node,
    mut commands: mpsc::Receiver<Command>,
    cache_path: Option<PathBuf>,
) {
    let mut buf = vec![0u8; 65_536];
    let mut lookups: HashMap<LookupId, mpsc::Sender<SocketAddr>> = HashMap::new();
    let mut done: Option<oneshot::Sender<()>> = None;
    loop {
        flush(&socket, &mut node, &mut lookups).await;
        let deadline = node
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(60));
        tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok((n, from)) => node.handle_packet(from, &buf[..n], Instant::now()),
                Err(e) => tracing::debug!("DHT recv: {e}"),
            },
            c = commands.recv() => match c {
                None => break,
                Some(Command::Shutdown(ack)) => {
                    done = Some(ack);
                    break;
                }
                Some(c) => on_command(c, &mut node, &mut lookups).await,
            },
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => {
                node.handle_timeout(Instant::now());
            }
        }
    }
    if let Some(path) = cache_path {
        // A node that never met another (offline) keeps the cache it had.
        let snap = snapshot(&node);
        if !snap.nodes.is_empty() {
            if let Err(e) = snap.save(&path).await {
                tracing::warn!("{e}");
            }
        }
    }
    if let Some(ack) = done {
        let _ = ack.send(());
    }
}

async fn on_command(
    c: Command,
    node: &mut Node,
    lookups: &mut HashMap<LookupId, mpsc::Sender<SocketAddr>>,
) {
    let now = Instant::now();
    match c {
        Command::Bootstrap(addrs) => node.bootstrap(&addrs, now),
        Command::Lookup {
            info_hash,
            announce_port,
            peers,
            started,
        } => {
            let r = match announce_port {
                Some(port) => node.announce(info_hash, port, now),
                None => node.get_peers(info_hash, now),
            };
            match r {
                Ok(id) => {
                    lookups.insert(id, peers);
                    let _ = started.send(Ok(()));
                }
                Err(_) => {
                    let _ = started.send(Err(DhtError::Busy));
                }
            }
        }
        Command::Stats(tx) => {
            let _ = tx.send(node.stats(now));
        }
        Command::SaveNodes(path, tx) => {
            let snap = snapshot(node);
            let n = snap.nodes.len();
            let _ = tx.send(snap.save(&path).await.map(|_| n).map_err(DhtError::from));
        }
        Command::Shutdown(_) => {}
    }
}

async fn flush(
    socket: &UdpSocket,
    node: &mut Node,
    lookups: &mut HashMap<LookupId, mpsc::Sender<SocketAddr>>,
) {
    while let Some(t) = node.poll_transmit() {
        if let Err(e) = socket.send_to(&t.payload, t.dst).await {
            tracing::debug!("DHT send to {}: {e}", t.dst);
        }
    }
    while let Some(event) = node.poll_event() {
        match event {
            Event::Peers { lookup, peers, .. } => {
                if let Some(tx) = lookups.get(&lookup) {
                    for p in peers {
                        // A lagging receiver loses peers rather than stalling the node.
                        let _ = tx.try_send(p);
                    }
                }
            }
            Event::LookupDone { lookup, .. } => {
                lookups.remove(&lookup);
            }
        }
    }
}

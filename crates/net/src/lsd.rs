//! The session's Local Service Discovery (BEP 14): one UDP socket joined to the multicast
//! group, one task that announces the session's torrents and forwards the peers heard
//! of into the same channel tracker peers arrive on. The decisions (schedule, own
//! announces, rate limits) are [`bitswarm_engine::LsdState`]'s.
//!
//! IPv4 only (239.192.152.143:6771). A socket that cannot be set up (no multicast route,
//! port refused) turns LSD off with a warning; the session works without it. Private
//! torrents (BEP 27) are never announced.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use bitswarm_engine::{LsdReceived, LsdState};
use bitswarm_wire::lsd::MAX_LSD_DATAGRAM;
use bitswarm_wire::LSD_GROUP_V4;
use rand::Rng;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{debug, warn};

/// LSD settings of a session.
#[derive(Debug, Clone)]
pub struct LsdSettings {
    /// The multicast group and port (default: BEP 14's 239.192.152.143:6771).
    pub group: SocketAddrV4,
    /// The local interface (its IPv4 address) to join the group on and send from;
    /// unspecified: the one the system routes multicast through.
    pub interface: Ipv4Addr,
}

impl Default for LsdSettings {
    fn default() -> Self {
        LsdSettings {
            group: LSD_GROUP_V4,
            interface: Ipv4Addr::UNSPECIFIED,
        }
    }
}

/// Torrents registered at most (more are not announced; each costs one map entry).
const MAX_TORRENTS: usize = 4096;

/// The session's side of the LSD task: registers torrents. Dropping it stops the task.
#[derive(Debug, Clone)]
pub(crate) struct LsdHandle {
    tx: mpsc::Sender<([u8; 20], mpsc::Sender<Vec<SocketAddr>>)>,
}

impl LsdHandle {
    /// Announces `info_hash` and sends the peers heard of to `peers_tx` until it closes.
    pub fn add(&self, info_hash: [u8; 20], peers_tx: &mpsc::Sender<Vec<SocketAddr>>) {
        if self.tx.try_send((info_hash, peers_tx.clone())).is_err() {
            debug!("LSD: registration queue full or task gone");
        }
    }
}

/// Binds the multicast socket and starts the task; `None` (with a warning) when the
/// socket cannot be set up. `port` is the TCP port announced.
pub(crate) fn start(settings: &LsdSettings, port: u16) -> Option<LsdHandle> {
    let socket = match bind(settings) {
        Ok(s) => s,
        Err(e) => {
            warn!(
                "Local Service Discovery off: cannot join {} on {}: {e}",
                settings.group, settings.interface
            );
            return None;
        }
    };
    let mut rng = rand::thread_rng();
    let cookie: String = (0..12)
        .map(|_| char::from(b"0123456789abcdef"[rng.gen_range(0..16)]))
        .collect();
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(run(socket, settings.group, LsdState::new(port, cookie), rx));
    Some(LsdHandle { tx })
}

/// A UDP socket bound to the group's port (shared with other clients on this host),
/// joined to the group, sending through `interface` with loopback on (so clients on the
/// same host hear each other).
fn bind(settings: &LsdSettings) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    s.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, settings.group.port())).into())?;
    s.join_multicast_v4(settings.group.ip(), &settings.interface)?;
    if !settings.interface.is_unspecified() {
        s.set_multicast_if_v4(&settings.interface)?;
    }
    s.set_multicast_loop_v4(true)?;
    s.set_multicast_ttl_v4(1)?;
    UdpSocket::from_std(s.into())
}

async fn run(
    socket: UdpSocket,
    group: SocketAddrV4,
    mut state: LsdState,
    mut registrations: mpsc::Receiver<([u8; 20], mpsc::Sender<Vec<SocketAddr>>)>,
) {
    let host = group.to_string();
    let mut torrents: HashMap<[u8; 20], mpsc::Sender<Vec<SocketAddr>>> = HashMap::new();
    let mut buf = vec![0u8; MAX_LSD_DATAGRAM + 1];
    loop {
        let now = Instant::now();
        // Torrents that are gone stop being announced.
        torrents.retain(|h, tx| {
            let open = !tx.is_closed();
            if !open {
                state.remove(h);
            }
            open
        });
        while let Some(a) = state.poll_announce(now.into_std()) {
            let datagram = a.encode(&host);
            if let Err(e) = socket.send_to(&datagram, SocketAddr::V4(group)).await {
                debug!("LSD announce not sent: {e}");
            }
        }
        let wake = state
            .next_deadline()
            .map(Instant::from_std)
            .unwrap_or(now + Duration::from_secs(3600));
        tokio::select! {
            reg = registrations.recv() => match reg {
                Some((hash, tx)) => {
                    if torrents.len() < MAX_TORRENTS || torrents.contains_key(&hash) {
                        state.add(hash, Instant::now().into_std());
                        torrents.insert(hash, tx);
                    }
                }
                None => return, // the session is gone
            },
            got = socket.recv_from(&mut buf) => match got {
                Ok((n, from)) => {
                    match state.on_datagram(from, &buf[..n], Instant::now().into_std()) {
                        LsdReceived::Peers(peers) => {
                            for (hash, peer) in peers {
                                if let Some(tx) = torrents.get(&hash) {
                                    debug!(%peer, "LSD: peer heard of");
                                    // Bounded channel: when the torrent is busy, the peer
                                    // is dropped (it announces again).
                                    let _ = tx.try_send(vec![peer]);
                                }
                            }
                        }
                        LsdReceived::Own | LsdReceived::Ignored => {}
                    }
                }
                Err(e) => {
                    debug!("LSD receive: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
}

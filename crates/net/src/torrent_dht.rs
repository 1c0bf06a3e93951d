//! The BEP 5 `port` message in the torrent driver: with a DHT, we set the DHT bit in the
//! handshake and tell peers that set it too our DHT port; a peer's `port` message hands
//! its address to our DHT node (which asks it `find_node` and adds it when it answers).
//! Once per connection, for a bounded number of peers.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Instant;

use bitswarm_engine::PeerKey;
use bitswarm_wire::Reserved;

use crate::torrent::Torrent;

/// Most peers whose DHT port a torrent passes on (the DHT has plenty after that).
const MAX_DHT_PORTS: usize = 256;

/// Peers whose `port` message was already passed on.
#[derive(Debug, Default)]
pub(crate) struct DhtPorts {
    seen: HashSet<PeerKey>,
}

impl Torrent {
    /// A handshake completed: tell the peer our DHT port if both sides set the DHT bit.
    pub fn dht_on_connected(&mut self, key: PeerKey, reserved: Reserved, now: Instant) {
        let Some(port) = self.setup.dht.as_ref().map(|d| d.local_addr().port()) else {
            return;
        };
        if !reserved.dht() {
            return;
        }
        if let Some(p) = self.peers.get_mut(&key) {
            if p.peer_id.is_some() && !p.session.is_closed() {
                p.session.send_dht_port(port, now);
            }
        }
    }

    /// The peer's DHT port: its node is offered to our DHT.
    pub fn on_dht_port(&mut self, key: PeerKey, port: u16) {
        let Some(dht) = self.setup.dht.clone() else {
            return;
        };
        if port == 0
            || self.dht_ports.seen.len() >= MAX_DHT_PORTS
            || !self.dht_ports.seen.insert(key)
        {
            return;
        }
        let Some(ip) = self.peers.get(&key).map(|p| p.addr.ip()) else {
            return;
        };
        let node = SocketAddr::new(ip, port);
        tokio::spawn(async move {
            let _ = dht.bootstrap(vec![node]).await;
        });
    }
}

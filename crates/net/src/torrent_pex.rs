//! Peer exchange (BEP 11 `ut_pex`) in the torrent driver: we advertise `ut_pex` in the
//! extension handshake, tell each peer about the others we are connected to (as
//! `PexState` decides: at most once a minute, 50 added and 50 dropped per message) and
//! dial what peers tell us, within each peer's budget. Only when the session's config
//! asks for it (`SessionConfig::pex`); private torrents (BEP 27) never do PEX.
//!
//! The address a peer is advertised under: the one we dialled, or for a peer that
//! dialled us, its IP with the listen port of its extension handshake (`p`); a peer
//! that dialled us without telling its port is not advertised.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bitswarm_engine::{Fault, PeerKey, PexState};
use bitswarm_wire::pex::{FLAG_REACHABLE, FLAG_SEED};
use bitswarm_wire::{ExtensionHandshake, PexMessage, UT_PEX};
use bytes::Bytes;
use tracing::debug;

use crate::torrent::Torrent;

/// The id we receive `ut_pex` messages with (our `m`; libtorrent uses 1 too).
pub(crate) const UT_PEX_ID: u8 = 1;
/// How often the driver looks for PEX messages due.
const PEX_TICK: Duration = Duration::from_secs(1);

/// PEX state of a torrent's peers.
#[derive(Debug, Default)]
pub(crate) struct PexPeers {
    peers: HashMap<PeerKey, PexPeer>,
    last_tick: Option<Instant>,
}

#[derive(Debug, Default)]
struct PexPeer {
    /// The peer's id for `ut_pex`, if it supports it.
    id: Option<u8>,
    /// Its listen port, from its extension handshake.
    listen_port: Option<u16>,
    state: PexState,
}

impl Torrent {
    /// Whether this torrent exchanges peers (when the session says so, and never for
    /// private torrents).
    pub fn pex_enabled(&self) -> bool {
        self.setup.config.pex && !self.setup.metainfo.info().is_private()
    }

    /// Notes a peer's `ut_pex` id and listen port from its extension handshake.
    pub fn pex_on_handshake(&mut self, key: PeerKey, h: &ExtensionHandshake) {
        if !self.pex_enabled() {
            return;
        }
        let p = self.pex.peers.entry(key).or_default();
        p.id = h.id_of(UT_PEX);
        p.listen_port = h.port.filter(|port| *port != 0);
    }

    /// A `ut_pex` message from a peer: new addresses become dial candidates; garbage
    /// is a protocol fault.
    pub fn on_pex_message(&mut self, key: PeerKey, payload: Bytes, now: Instant) {
        if !self.pex_enabled() {
            return;
        }
        let msg = match PexMessage::decode(&payload) {
            Ok(m) => m,
            Err(e) => {
                debug!(peer = ?self.addr_of(key), error = %e, "bad ut_pex message");
                if let Some(addr) = self.addr_of(key) {
                    self.scores
                        .entry(addr)
                        .or_default()
                        .record(Fault::ProtocolError);
                }
                return;
            }
        };
        let listen = self.setup.listen;
        let own = move |a: &SocketAddr| {
            a.port() == listen.port()
                && (a.ip() == listen.ip() || a.ip().is_loopback() || listen.ip().is_unspecified())
        };
        let state = &mut self.pex.peers.entry(key).or_default().state;
        let addrs = state.on_receive(&msg, now, &own);
        if !addrs.is_empty() {
            debug!(peer = ?self.addr_of(key), count = addrs.len(), "peers from PEX");
            self.add_candidates(addrs);
        }
    }

    /// Sends the PEX messages that are due (called from the driver's tick).
    pub fn pex_tick(&mut self, now: Instant) {
        if !self.pex_enabled()
            || self
                .pex
                .last_tick
                .is_some_and(|t| now.saturating_duration_since(t) < PEX_TICK)
        {
            return;
        }
        self.pex.last_tick = Some(now);
        let peers = &self.peers;
        self.pex.peers.retain(|k, _| peers.contains_key(k));
        let current: Vec<(PeerKey, SocketAddr, u8)> = self
            .peers
            .iter()
            .filter(|(_, p)| p.peer_id.is_some() && !p.session.is_closed())
            .filter_map(|(k, p)| {
                let addr = if p.outgoing {
                    p.addr
                } else {
                    let port = self.pex.peers.get(k)?.listen_port?;
                    SocketAddr::new(p.addr.ip(), port)
                };
                let mut flags = 0;
                if p.is_seed() {
                    flags |= FLAG_SEED;
                }
                if p.outgoing {
                    flags |= FLAG_REACHABLE;
                }
                Some((*k, addr, flags))
            })
            .collect();
        let mut sent = Vec::new();
        for (key, pp) in self.pex.peers.iter_mut() {
            let Some(id) = pp.id else { continue };
            let Some(p) = self.peers.get_mut(key) else {
                continue;
            };
            if p.peer_id.is_none() || p.session.is_closed() {
                continue;
            }
            let others: Vec<(SocketAddr, u8)> = current
                .iter()
                .filter(|(k, a, _)| k != key && *a != p.addr)
                .map(|(_, a, f)| (*a, *f))
                .collect();
            if let Some(msg) = pp.state.poll_send(now, &others) {
                debug!(peer = %p.addr, added = msg.added.len(), dropped = msg.dropped.len(), "sending PEX");
                p.session.send_extended(id, Bytes::from(msg.encode()), now);
                sent.push(*key);
            }
        }
        for k in sent {
            self.touch(k);
        }
    }
}

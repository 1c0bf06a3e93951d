//! The driver's handling of peer sessions: creating them (dialled or accepted), feeding
//! them bytes and timeouts, and reacting to their events.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bitswarm_engine::{
    CloseReason, Fault, PeerKey, PeerSession, PickFor, RequestQueueConfig, Role, SessionConfig,
    SessionEvent,
};
use bitswarm_wire::{allowed_fast_set, ExtensionHandshake, UT_METADATA, UT_PEX};
use bytes::Bytes;
use tracing::{debug, info};

use crate::connection::{spawn_connection, Socket};
use crate::encryption::PeerStream;
use crate::metadata_serve::UT_METADATA_ID;
use crate::peer::{push_hint, Peer};
use crate::torrent::Torrent;
use crate::torrent_pex::UT_PEX_ID;

/// Suggested pieces remembered per peer (a seed offers up to 96 at a time,
/// `seed_offer.rs`).
const MAX_SUGGESTED: usize = 128;
/// Allowed-fast pieces we grant each peer (BEP 6 suggests 10).
const ALLOWED_FAST_COUNT: usize = 10;

impl Torrent {
    fn session_config(&self, role: Role, peer_ip: Option<IpAddr>) -> SessionConfig {
        let mut c = SessionConfig::new(
            role,
            self.info_hash.0,
            self.setup.peer_id,
            self.geometry.piece_count(),
        );
        let count = self.geometry.piece_count();
        if count > 0 {
            c.piece_sizes = Some((
                self.geometry.piece_length(),
                self.geometry.piece_len(count - 1),
            ));
        }
        if self.setup.dht.is_some() {
            c.reserved = c.reserved.with_dht(true);
        }
        let reqq = self.setup.config.reqq.max(1);
        c.max_incoming_requests = reqq as usize;
        let mut m: std::collections::BTreeMap<String, u8> =
            [(UT_METADATA.to_owned(), UT_METADATA_ID)].into();
        if self.pex_enabled() {
            m.insert(UT_PEX.to_owned(), UT_PEX_ID);
        }
        c.extension_handshake = Some(ExtensionHandshake {
            client: Some(format!("bitswarm {}", env!("CARGO_PKG_VERSION"))),
            port: Some(self.setup.listen.port()),
            reqq: Some(reqq),
            yourip: peer_ip,
            m,
            metadata_size: Some(self.raw_info.len() as u64),
            ..ExtensionHandshake::default()
        });
        // Enough requests in flight from the first second on (the adaptive depth only
        // knows the rate after a second): 64 blocks = 1 MiB. Then a second's worth of
        // the peer's rate, at least 4 blocks: deeper queues at a capped uploader only
        // make blocks wait there (see `RequestQueue`). In a 50-client swarm of 1 MiB/s
        // uploaders, a floor of 64 made the run 1.44-1.47x its lower bound, with 4
        // and 1 s 1.14-1.27x (loaded machine, `scripts/bench-swarm.sh`).
        c.request_queue = RequestQueueConfig {
            initial_depth: 64,
            min_depth: 4,
            max_depth: 1000,
            target_latency: Duration::from_secs(1),
            ..RequestQueueConfig::default()
        };
        c
    }

    fn new_key(&mut self) -> PeerKey {
        self.next_key = self.next_key.wrapping_add(1);
        PeerKey(self.next_key)
    }

    /// Whether a connection with the peer at `addr` exists (the address we dialled or
    /// that dialled us, or where the peer says it listens).
    pub fn connected_to(&self, addr: &SocketAddr) -> bool {
        self.peers
            .values()
            .any(|p| p.addr == *addr || p.listen == Some(*addr))
    }

    /// Whether a connection with this peer id is up (handshake done, not closed).
    pub fn connected_to_id(&self, id: &[u8; 20]) -> bool {
        self.peers
            .values()
            .any(|p| p.peer_id.as_ref() == Some(id) && !p.session.is_closed())
    }

    /// Dials `addr`.
    pub fn dial(&mut self, addr: SocketAddr) {
        let key = self.new_key();
        let now = Instant::now();
        let session = PeerSession::new(self.session_config(Role::Outgoing, Some(addr.ip())), now);
        let conn = spawn_connection(
            key,
            Socket::Dial {
                addr,
                info_hash: self.info_hash.0,
                encryption: self.setup.encryption.clone(),
            },
            self.conn_tx.clone(),
            self.setup.limiters.clone(),
        );
        debug!(peer = %addr, "dialling");
        self.peers
            .insert(key, Peer::new(session, conn, addr, true, now));
        self.touch(key);
    }

    /// An accepted connection was routed to us.
    pub fn on_incoming(&mut self, stream: PeerStream, addr: SocketAddr, handshake: Bytes) {
        if self.banned.contains(&addr) || !self.accepting() {
            return;
        }
        if self.peers.len() >= self.setup.config.max_peers {
            debug!(peer = %addr, "refusing incoming peer: peer limit reached");
            return;
        }
        let key = self.new_key();
        let now = Instant::now();
        let session = PeerSession::new(self.session_config(Role::Incoming, Some(addr.ip())), now);
        let conn = spawn_connection(
            key,
            Socket::Accepted(stream, handshake),
            self.conn_tx.clone(),
            self.setup.limiters.clone(),
        );
        self.peers
            .insert(key, Peer::new(session, conn, addr, false, now));
        // The handshake reaches the session through the connection task, first.
        self.touch(key);
    }

    /// Whether the torrent takes part in the swarm (not stopped, not finished without
    /// seeding).
    pub fn accepting(&self) -> bool {
        use crate::stats::TorrentState as S;
        matches!(self.state, S::Downloading | S::Seeding)
    }

    /// A chunk read from a peer's socket (whole messages decoded in place).
    pub fn on_peer_chunk(&mut self, key: PeerKey, data: Bytes) {
        let now = Instant::now();
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        p.session.handle_chunk(data, now);
        self.process_events(key, now);
    }

    /// Runs a peer's session timers if due.
    pub fn peer_timeout(&mut self, key: PeerKey, now: Instant) {
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        if p.session.poll_timeout().is_some_and(|t| t <= now) {
            p.session.handle_timeout(now);
            self.process_events(key, now);
        }
    }

    /// Drains a peer's events, then asks it for blocks and serves its requests.
    pub fn process_events(&mut self, key: PeerKey, now: Instant) {
        loop {
            let Some(p) = self.peers.get_mut(&key) else {
                return;
            };
            let Some(ev) = p.session.poll_event() else {
                break;
            };
            self.on_session_event(key, ev, now);
        }
        self.fill_requests(key, now);
        self.offer_pieces(key, now);
        self.serve_uploads(key);
        self.touch(key);
    }

    fn fault(&mut self, key: PeerKey, fault: Fault) {
        if let Some(addr) = self.addr_of(key) {
            self.scores.entry(addr).or_default().record(fault);
        }
    }

    fn on_session_event(&mut self, key: PeerKey, ev: SessionEvent, now: Instant) {
        match ev {
            SessionEvent::Connected { peer_id, reserved } => {
                self.on_connected(key, peer_id, now);
                self.dht_on_connected(key, reserved, now);
            }
            SessionEvent::PeerPieces(bf) => {
                let Some(p) = self.peers.get_mut(&key) else {
                    return;
                };
                if bf.is_full() {
                    self.picker.peer_has_all();
                    p.counted_as_seed = true;
                } else {
                    self.picker.peer_bitfield(&bf);
                    p.counted = true;
                }
                self.update_interest(key, now);
            }
            SessionEvent::Have(piece) => {
                let Some(p) = self.peers.get_mut(&key) else {
                    return;
                };
                if !p.counted_as_seed {
                    self.picker.peer_has(piece);
                    p.counted = true;
                }
                self.update_interest(key, now);
            }
            SessionEvent::Choked { dropped } => {
                for b in &dropped {
                    self.picker.release(key, b);
                }
            }
            SessionEvent::Unchoked => {}
            SessionEvent::Interest(interested) => {
                // A slot is not left idle until the next rechoke: a peer that lost
                // interest gives its slot to another, a newly interested one takes a
                // free slot.
                let unchoked = self
                    .peers
                    .get(&key)
                    .is_some_and(|p| !p.session.am_choking());
                if interested != unchoked {
                    self.fill_upload_slots(now);
                }
            }
            SessionEvent::Block { block, data } => self.on_block(key, block, data, now),
            SessionEvent::Request(b) => {
                if let Some(p) = self.peers.get_mut(&key) {
                    p.last_slot_use = now;
                }
                self.offer_taken(key, b.piece);
                self.on_request(key, b, now)
            }
            SessionEvent::Cancelled(b) => {
                if let Some(p) = self.peers.get_mut(&key) {
                    p.pending_uploads.retain(|x| *x != b);
                }
            }
            SessionEvent::Rejected(b) => self.picker.release(key, &b),
            SessionEvent::TimedOut(blocks) => {
                for b in &blocks {
                    self.picker.release(key, b);
                }
                self.fault(key, Fault::Timeout);
            }
            SessionEvent::AllowedFast(piece) => {
                if let Some(p) = self.peers.get_mut(&key) {
                    push_hint(&mut p.allowed_fast, piece, 32);
                }
            }
            SessionEvent::Suggest(piece) => {
                let have = self.picker.have();
                if let Some(p) = self.peers.get_mut(&key) {
                    // Forget suggestions of pieces we got since (a seed keeps offering).
                    p.suggested.retain(|x| !have.get(*x));
                    push_hint(&mut p.suggested, piece, MAX_SUGGESTED);
                }
            }
            SessionEvent::Extended { id, payload } if id == UT_METADATA_ID => {
                self.on_metadata_message(key, payload, now)
            }
            SessionEvent::Extended { id, payload } if id == UT_PEX_ID => {
                self.on_pex_message(key, payload, now)
            }
            SessionEvent::DhtPort(port) => self.on_dht_port(key, port),
            SessionEvent::Extended { .. } => {}
            SessionEvent::ExtensionHandshake(h) => {
                self.pex_on_handshake(key, &h);
                if let Some(p) = self.peers.get_mut(&key) {
                    p.ut_metadata = h.id_of(UT_METADATA);
                    p.client = h.client.map(|c| c.chars().take(64).collect());
                    p.listen = h
                        .port
                        .filter(|port| *port != 0)
                        .map(|port| SocketAddr::new(p.addr.ip(), port));
                }
            }
            SessionEvent::Closed(reason) => {
                if reason.is_protocol_error() {
                    info!(peer = ?self.addr_of(key), %reason, "peer broke the protocol");
                    self.fault(key, Fault::ProtocolError);
                } else if reason == CloseReason::HandshakeTimeout {
                    self.fault(key, Fault::Timeout);
                }
            }
        }
    }

    fn on_connected(&mut self, key: PeerKey, peer_id: [u8; 20], now: Instant) {
        let own = peer_id == self.setup.peer_id;
        let banned = self.banned_ids.contains(&peer_id);
        // A second connection with the same peer (both sides dialled at once, typically):
        // keep the one dialled by the side with the lower peer id, so both sides keep the
        // same connection. Two connections in the same direction: the older one stays.
        let other = self
            .peers
            .iter()
            .find(|(k, p)| **k != key && p.peer_id == Some(peer_id) && !p.session.is_closed())
            .map(|(k, p)| (*k, p.outgoing));
        let outgoing = self.peers.get(&key).is_some_and(|p| p.outgoing);
        let (duplicate, replaced) = match other {
            None => (false, None),
            Some((_, other_outgoing)) if other_outgoing == outgoing => (true, None),
            Some((other, _)) => {
                let keep_outgoing = self.setup.peer_id < peer_id;
                if outgoing == keep_outgoing {
                    (false, Some(other))
                } else {
                    (true, None)
                }
            }
        };
        let have = self.picker.have().clone();
        let seeding = self.picker.is_complete();
        let info_hash = self.info_hash.0;
        let piece_count = self.geometry.piece_count();
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        if p.outgoing {
            if let Some(c) = self.candidates.get_mut(&p.addr) {
                c.peer_id = Some(peer_id);
            }
        }
        if own || banned || duplicate {
            debug!(peer = %p.addr, own, banned, duplicate, "dropping connection");
            if own {
                self.candidates.remove(&p.addr);
            }
            p.session.close();
            return;
        }
        p.peer_id = Some(peer_id);
        p.connected_at = now;
        p.session.send_pieces(&have, now);
        // A seed grants no allowed-fast pieces: the set depends only on the peer's
        // address, so peers behind one address (one host, one NAT) would all ask the
        // seed for the same pieces while choked, spending its upload, the swarm's only
        // source of new pieces, on copies. It offers pieces instead (`seed_offer.rs`).
        if p.session.fast() && !seeding {
            if let IpAddr::V4(ip) = p.addr.ip() {
                let set = allowed_fast_set(ip, &info_hash, piece_count, ALLOWED_FAST_COUNT);
                p.session.send_allowed_fast(&set, now);
            }
        }
        if let Some(c) = self.candidates.get_mut(&p.addr) {
            c.failures = 0;
        }
        debug!(peer = %p.addr, "handshake done");
        if let Some(other) = replaced {
            if let Some(o) = self.peers.get_mut(&other) {
                debug!(peer = %o.addr, duplicate = true, "dropping connection (the peer's other one is kept)");
                o.session.close();
            }
            self.touch(other);
        }
    }

    /// Sets our interest in a peer from what it has and what we miss.
    pub fn update_interest(&mut self, key: PeerKey, now: Instant) {
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        let interested =
            !self.picker.is_complete() && self.picker.is_interesting(p.session.peer_pieces());
        p.session.set_interested(interested, now);
    }

    /// Requests blocks from a peer up to its pipeline depth. Refills come in batches of
    /// at least a piece's worth of blocks (or the whole free depth), so one peer tends to
    /// deliver whole pieces: fewer pieces mixed from several peers, sharper blame when a
    /// hash fails.
    pub fn fill_requests(&mut self, key: PeerKey, now: Instant) {
        let Torrent {
            peers,
            picker,
            rng,
            geometry,
            scores,
            setup,
            coop,
            buffers,
            hash_backlog,
            hashing,
            hash_limited,
            ..
        } = self;
        let Some(p) = peers.get_mut(&key) else { return };
        // A peer at the fault limit gets no more requests; the next peer check
        // disconnects and bans it.
        if scores
            .get(&p.addr)
            .is_some_and(|s| s.should_ban(setup.config.max_failcount))
        {
            return;
        }
        let s = &p.session;
        if !s.is_connected() || s.is_closed() || !s.am_interested() {
            return;
        }
        if s.peer_choking() && p.allowed_fast.is_empty() {
            return;
        }
        if *hash_limited {
            // New pieces wait for the hash pool; `on_hashed` asks again (picking blocks
            // only to hand them back would cost more than the refill it saves).
            return;
        }
        let slots = s.request_slots(now);
        let depth = slots + s.requests().len();
        let batch = (geometry.blocks_in_piece(0) as usize).min(depth / 2).max(1);
        if slots < batch && !s.requests().is_empty() && !picker.in_endgame() {
            return;
        }
        // Cooperating: outside peers are asked only for our share (cooperation.rs).
        let restricted = coop
            .as_ref()
            .and_then(|c| c.restrict(p.peer_id, s.peer_pieces(), now));
        let pick = PickFor {
            peer: key,
            has: restricted.as_ref().unwrap_or(s.peer_pieces()),
            choked: s.peer_choking(),
            allowed_fast: &p.allowed_fast,
            suggested: &p.suggested,
            outstanding: s.requests().len(),
        };
        let blocks = picker.pick(&pick, slots, rng);
        // Bounded memory: with too many pieces in assembly or waiting for the hash
        // queue, only blocks of pieces in assembly are requested; the others go back to
        // the picker. Complete pieces waiting for hashing have a tighter bound: when the
        // hashing threads fall behind, more data in memory would not be verified sooner,
        // only cost page faults and cache misses.
        let max_buffers = max_buffered_pieces(geometry.piece_length());
        let hash_bound =
            hash_backlog.len() + *hashing >= max_unhashed_pieces(geometry.piece_length());
        let full = hash_bound || buffers.len() + hash_backlog.len() >= max_buffers;
        for b in blocks {
            if full && !buffers.contains_key(&b.piece) {
                *hash_limited |= hash_bound;
                picker.release(key, &b);
                continue;
            }
            p.session.request(b, now);
        }
    }
}

/// Most complete pieces waiting for (or in) the hash pool before new pieces wait too:
/// 32 MiB worth, at least 4. The pool hashes up to 16 pieces of a length in one pass while
/// its other thread gathers the next 16 (`session.rs`, `HASH_LINGER`): with 1 MiB pieces,
/// 32 pieces keep both busy (16 MiB held back the lanes: leecher CPU 1.36 CPU-s/GiB at
/// 32 MiB and 1.41 at 64, against 2.0-2.5 hashing one piece at a time, all on a loaded
/// machine).
pub(crate) fn max_unhashed_pieces(piece_length: u32) -> usize {
    ((32usize << 20) / piece_length.max(1) as usize).max(4)
}

/// Most pieces assembled in memory at once: 256 MiB worth, at least 8.
fn max_buffered_pieces(piece_length: u32) -> usize {
    ((256usize << 20) / piece_length.max(1) as usize).max(8)
}

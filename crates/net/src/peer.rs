//! What the torrent driver keeps per connected peer, next to its `PeerSession`.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use bitswarm_engine::{PeerSession, RateMeter};
use bitswarm_wire::BlockInfo;

use crate::connection::ConnHandle;

/// One connection of a torrent.
#[derive(Debug)]
pub struct Peer {
    /// The protocol state machine.
    pub session: PeerSession,
    /// The socket task.
    pub conn: ConnHandle,
    /// The address faults are counted under (dialled address, or the remote address).
    pub addr: SocketAddr,
    /// Whether we dialled.
    pub outgoing: bool,
    /// The peer's id, after the handshake.
    pub peer_id: Option<[u8; 20]>,
    /// Its availability was added to the picker as a seed (`have_all` or full bitfield).
    pub counted_as_seed: bool,
    /// Its bitfield was added to the picker.
    pub counted: bool,
    /// Pieces the peer lets us request while choked (bounded by the session's hints).
    pub allowed_fast: Vec<u32>,
    /// Pieces the peer suggested (bounded).
    pub suggested: Vec<u32>,
    /// Pieces we offered the peer while seeding and it has not asked for yet
    /// (`seed_offer.rs`).
    pub offers: Vec<u32>,
    /// Where the peer listens (its address with the port from its extension handshake):
    /// a peer that dialled us is not dialled again at the address a tracker gave.
    pub listen: Option<SocketAddr>,
    /// Client name from the extension handshake.
    pub client: Option<String>,
    /// When the handshake completed.
    pub connected_at: Instant,
    /// When we last unchoked it or it last asked us for a block (is its upload slot
    /// used? see `Choker::fill`).
    pub last_slot_use: Instant,
    /// Payload received.
    pub down: RateMeter,
    /// Payload sent.
    pub up: RateMeter,
    /// The peer's requests waiting for a disk read.
    pub pending_uploads: VecDeque<BlockInfo>,
    /// Bytes being read from disk for it.
    pub reading: usize,
    /// The peer's id for `ut_metadata` (BEP 9), from its extension handshake.
    pub ut_metadata: Option<u8>,
    /// Its metadata request budget.
    pub metadata_budget: crate::metadata_serve::MetadataBudget,
}

impl Peer {
    /// A new peer whose session was just created.
    pub fn new(
        session: PeerSession,
        conn: ConnHandle,
        addr: SocketAddr,
        outgoing: bool,
        now: Instant,
    ) -> Self {
        Peer {
            session,
            conn,
            addr,
            outgoing,
            peer_id: None,
            counted_as_seed: false,
            counted: false,
            allowed_fast: Vec::new(),
            suggested: Vec::new(),
            offers: Vec::new(),
            listen: None,
            client: None,
            connected_at: now,
            last_slot_use: now,
            down: RateMeter::new(now),
            up: RateMeter::new(now),
            pending_uploads: VecDeque::new(),
            reading: 0,
            ut_metadata: None,
            metadata_budget: crate::metadata_serve::MetadataBudget::new(now),
        }
    }

    /// Whether the peer has every piece.
    pub fn is_seed(&self) -> bool {
        self.session.peer_pieces().is_full()
    }

    /// Writes out everything the session has queued.
    pub fn flush(&mut self) {
        let mut bufs = Vec::new();
        while let Some(b) = self.session.poll_transmit() {
            bufs.push(b);
        }
        self.conn.send(bufs);
    }
}

/// Adds `x` to a bounded hint list (allowed-fast or suggested pieces).
pub fn push_hint(list: &mut Vec<u32>, x: u32, max: usize) {
    if !list.contains(&x) {
        if list.len() >= max {
            list.remove(0);
        }
        list.push(x);
    }
}

//! Configuration, events and close reasons of a [`crate::PeerSession`].

use std::time::Duration;

use bitswarm_wire::{BlockInfo, DecodeError, ExtensionHandshake, HandshakeError, Reserved};
use bytes::Bytes;
use thiserror::Error;

use crate::bitfield::{Bitfield, BitfieldError};
use crate::request_queue::RequestQueueConfig;

/// Who opened the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// We dialled: we send our handshake first.
    Outgoing,
    /// The peer dialled: we answer its handshake once the info-hash matched.
    Incoming,
}

/// Static parameters of one peer session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Who opened the connection.
    pub role: Role,
    /// The torrent's info-hash.
    pub info_hash: [u8; 20],
    /// Our peer id.
    pub peer_id: [u8; 20],
    /// Our reserved bits (fast extension, extension protocol, DHT).
    pub reserved: Reserved,
    /// Number of pieces in the torrent.
    pub piece_count: u32,
    /// Piece length and last piece's length, when known: a request past a piece's end
    /// is then a protocol error whether or not the peer is choked.
    pub piece_sizes: Option<(u32, u32)>,
    /// Our extension handshake, sent when both sides support BEP 10.
    pub extension_handshake: Option<ExtensionHandshake>,
    /// Most requests from the peer we queue (advertise the same number as `reqq`).
    pub max_incoming_requests: usize,
    /// Send a keep-alive when we sent nothing for this long (BEP 3: "generally sent once
    /// every two minutes").
    pub keep_alive_interval: Duration,
    /// Close the connection when nothing arrived for this long.
    pub idle_timeout: Duration,
    /// Close the connection when the handshake did not complete within this time.
    pub handshake_timeout: Duration,
    /// Most allowed-fast and suggested pieces remembered from the peer.
    pub max_hints: usize,
    /// Pipelining of our requests to the peer (depth, timeouts, snubbing).
    pub request_queue: RequestQueueConfig,
}

impl SessionConfig {
    /// Defaults for a torrent: fast extension and extension protocol on, 500 incoming
    /// requests, 2 min keep-alives, 3 min idle timeout, 20 s handshake timeout.
    pub fn new(role: Role, info_hash: [u8; 20], peer_id: [u8; 20], piece_count: u32) -> Self {
        SessionConfig {
            role,
            info_hash,
            peer_id,
            reserved: Reserved::NONE.with_fast(true).with_extension_protocol(true),
            piece_count,
            piece_sizes: None,
            extension_handshake: None,
            max_incoming_requests: 500,
            keep_alive_interval: Duration::from_secs(120),
            idle_timeout: Duration::from_secs(180),
            handshake_timeout: Duration::from_secs(20),
            max_hints: 32,
            request_queue: RequestQueueConfig::default(),
        }
    }
}

/// Something the torrent layer must react to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// The peer's handshake arrived and matched; send our bitfield now.
    Connected {
        /// The peer's id.
        peer_id: [u8; 20],
        /// The peer's reserved bits.
        reserved: Reserved,
    },
    /// The peer's pieces changed: it announced a bitfield, `have_all` or `have_none`.
    PeerPieces(Bitfield),
    /// The peer has a new piece.
    Have(u32),
    /// The peer choked us. `dropped` are our requests it discarded (without the fast
    /// extension a choke cancels every request): give them back to the picker.
    Choked {
        /// Requests the choke implicitly cancelled.
        dropped: Vec<BlockInfo>,
    },
    /// The peer unchoked us: pick blocks and [`crate::PeerSession::request`] them.
    Unchoked,
    /// The peer became interested (or not) in our pieces.
    Interest(bool),
    /// A requested block arrived.
    Block {
        /// Which block.
        block: BlockInfo,
        /// Its bytes (shared with the receive buffer).
        data: Bytes,
    },
    /// The peer asks for a block: read it and call [`crate::PeerSession::send_block`].
    Request(BlockInfo),
    /// The peer withdrew a request (already answered with a reject under BEP 6).
    Cancelled(BlockInfo),
    /// The peer rejected one of our requests: give it back to the picker.
    Rejected(BlockInfo),
    /// Our requests timed out: give them back to the picker (and count a timeout).
    TimedOut(Vec<BlockInfo>),
    /// The peer allows us to request this piece while choked.
    AllowedFast(u32),
    /// The peer suggests this piece.
    Suggest(u32),
    /// The peer's DHT port.
    DhtPort(u16),
    /// The peer's extension handshake.
    ExtensionHandshake(ExtensionHandshake),
    /// Another extended message (id as we assigned it in our `m`).
    Extended {
        /// Our extension id.
        id: u8,
        /// The payload.
        payload: Bytes,
    },
    /// The session is over; drop the connection after sending what is queued.
    Closed(CloseReason),
}

/// Why a session closed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CloseReason {
    /// We asked to close.
    #[error("closed locally")]
    Local,
    /// The handshake was invalid.
    #[error("bad handshake: {0}")]
    Handshake(#[from] HandshakeError),
    /// The peer's handshake is for another torrent.
    #[error("peer handshake is for another torrent")]
    WrongInfoHash,
    /// The peer's bytes are not a valid message stream.
    #[error("bad message: {0}")]
    Decode(#[from] DecodeError),
    /// The peer's bitfield is invalid.
    #[error("bad bitfield: {0}")]
    Bitfield(#[from] BitfieldError),
    /// The peer broke a protocol rule.
    #[error("protocol violation: {0}")]
    Protocol(&'static str),
    /// The handshake did not complete in time.
    #[error("handshake timed out")]
    HandshakeTimeout,
    /// Nothing arrived for too long.
    #[error("connection idle for too long")]
    Idle,
}

impl CloseReason {
    /// Whether the peer is to blame (count a protocol error against it).
    pub fn is_protocol_error(&self) -> bool {
        !matches!(
            self,
            CloseReason::Local | CloseReason::HandshakeTimeout | CloseReason::Idle
        )
    }
}

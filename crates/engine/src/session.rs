//! The per-peer protocol state machine, sans I/O (quinn-proto style).

use std::collections::VecDeque;
use std::time::Instant;

use bitswarm_wire::{BlockInfo, Handshake, Limits, Message, MessageDecoder, HANDSHAKE_LEN};
use bytes::{Buf, Bytes, BytesMut};

use crate::bitfield::Bitfield;
use crate::incoming::IncomingRequests;
use crate::rate::RateMeter;
use crate::request_queue::RequestQueue;
use crate::session_types::{CloseReason, Role, SessionConfig, SessionEvent};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Handshake,
    FirstMessage,
    Running,
    Closed,
}

/// One peer connection's protocol state: handshake, choke/interest flags, the peer's
/// pieces, our requests to it and its requests to us.
///
/// The session never touches a socket or a clock. Its methods fall in four groups:
/// - **getters**: [`is_closed`](Self::is_closed), [`peer_pieces`](Self::peer_pieces),
///   [`peer_choking`](Self::peer_choking), [`fast`](Self::fast),
///   [`requests`](Self::requests), [`download_rate`](Self::download_rate), …
/// - **inputs** (something happened): [`handle_bytes`](Self::handle_bytes) (bytes read
///   from the socket), [`handle_timeout`](Self::handle_timeout) (the instant returned by
///   `poll_timeout` passed), [`handle_piece_verified`](Self::handle_piece_verified) (we
///   completed a piece: announce it).
/// - **commands** (the torrent decided something): [`send_pieces`](Self::send_pieces),
///   [`set_interested`](Self::set_interested), [`set_choking`](Self::set_choking),
///   [`request`](Self::request), [`cancel`](Self::cancel),
///   [`send_block`](Self::send_block), [`reject`](Self::reject),
///   [`send_allowed_fast`](Self::send_allowed_fast),
///   [`send_extended`](Self::send_extended), [`close`](Self::close).
/// - **outputs**: [`poll_event`](Self::poll_event), [`poll_transmit`](Self::poll_transmit),
///   [`poll_timeout`](Self::poll_timeout).
///
/// Drain order after every input or command: first `poll_event` until `None` (events
/// may lead to commands, which queue more bytes), then `poll_transmit` until `None` and
/// write the bytes in order, then re-arm the timer with `poll_timeout`. After
/// [`SessionEvent::Closed`], send what `poll_transmit` still yields and drop the socket.
#[derive(Debug)]
pub struct PeerSession {
    config: SessionConfig,
    decoder: MessageDecoder,
    phase: Phase,
    started: Instant,
    recv: BytesMut,
    send: VecDeque<Bytes>,
    events: VecDeque<SessionEvent>,
    fast: bool,
    extended: bool,
    am_choking: bool,
    am_interested: bool,
    peer_choking: bool,
    peer_interested: bool,
    peer_pieces: Bitfield,
    requests: RequestQueue,
    incoming: IncomingRequests,
    granted_fast: Vec<u32>,
    last_sent: Instant,
    last_received: Instant,
    download: RateMeter,
    upload: RateMeter,
}

impl PeerSession {
    /// A session starting at `now`. An outgoing session queues its handshake at once.
    pub fn new(config: SessionConfig, now: Instant) -> Self {
        let piece_count = config.piece_count;
        let mut s = PeerSession {
            decoder: MessageDecoder::new(Limits::for_pieces(piece_count)),
            phase: Phase::Handshake,
            started: now,
            recv: BytesMut::new(),
            send: VecDeque::new(),
            events: VecDeque::new(),
            fast: false,
            extended: false,
            am_choking: true,
            am_interested: false,
            peer_choking: true,
            peer_interested: false,
            peer_pieces: Bitfield::new(piece_count),
            requests: RequestQueue::new(config.request_queue),
            incoming: IncomingRequests::default(),
            granted_fast: Vec::new(),
            last_sent: now,
            last_received: now,
            download: RateMeter::new(now),
            upload: RateMeter::new(now),
            config,
        };
        if s.config.role == Role::Outgoing {
            s.queue_handshake();
        }
        s
    }

    // ---- getters ----

    /// Whether the session is over.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Whether the handshake completed.
    pub fn is_connected(&self) -> bool {
        matches!(self.phase, Phase::FirstMessage | Phase::Running)
    }

    /// The peer's requests to us not yet answered.
    pub fn incoming_requests(&self) -> usize {
        self.incoming.len()
    }

    /// Whether both sides enabled the BEP 6 fast extension.
    pub fn fast(&self) -> bool {
        self.fast
    }

    /// The pieces the peer announced.
    pub fn peer_pieces(&self) -> &Bitfield {
        &self.peer_pieces
    }

    /// Whether the peer chokes us.
    pub fn peer_choking(&self) -> bool {
        self.peer_choking
    }

    /// Whether the peer is interested in us.
    pub fn peer_interested(&self) -> bool {
        self.peer_interested
    }

    /// Whether we choke the peer.
    pub fn am_choking(&self) -> bool {
        self.am_choking
    }

    /// Whether we are interested in the peer.
    pub fn am_interested(&self) -> bool {
        self.am_interested
    }

    /// Our requests in flight to the peer (depth, snubbing).
    pub fn requests(&self) -> &RequestQueue {
        &self.requests
    }

    /// Payload download rate from this peer (10 s average), bytes/s.
    pub fn download_rate(&self, now: Instant) -> u64 {
        self.download.average(now)
    }

    /// Payload upload rate to this peer (10 s average), bytes/s.
    pub fn upload_rate(&self, now: Instant) -> u64 {
        self.upload.average(now)
    }

    /// How many more requests to send now, by the adaptive queue depth: for the peer's
    /// rate, the 10 s average or the last second's, whichever is higher (a peer that
    /// began sending a moment ago, e.g. it just unchoked us, is not held to the few
    /// requests its average over mostly idle seconds would allow); nothing measured in
    /// the connection's first second.
    pub fn request_slots(&self, now: Instant) -> usize {
        let rate = self
            .download
            .measured_average(now)
            .map(|average| average.max(self.download.rate(now)));
        self.requests.free_slots(rate)
    }

    // ---- outputs ----

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// The next bytes to write to the socket, if any.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.send.pop_front()
    }

    /// When [`PeerSession::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::Closed => None,
            Phase::Handshake => Some(self.started + self.config.handshake_timeout),
            _ => {
                let keep_alive = self.last_sent + self.config.keep_alive_interval;
                let idle = self.last_received + self.config.idle_timeout;
                let t = keep_alive.min(idle);
                Some(self.requests.poll_timeout().map_or(t, |r| r.min(t)))
            }
        }
    }

    // ---- inputs ----

    /// Bytes arrived from the peer.
    pub fn handle_bytes(&mut self, bytes: &[u8], now: Instant) {
        if self.phase == Phase::Closed {
            return;
        }
        self.last_received = now;
        self.recv.extend_from_slice(bytes);
        self.process_received(now);
    }

    /// Bytes arrived from the peer, in a buffer the caller gives away. Same as
    /// [`PeerSession::handle_bytes`], but whole messages are decoded straight from
    /// `chunk` (their payloads share its memory, whoever else holds it): only a message
    /// split across two chunks is copied.
    pub fn handle_chunk(&mut self, mut chunk: Bytes, now: Instant) {
        if self.phase == Phase::Closed {
            return;
        }
        self.last_received = now;
        while !chunk.is_empty() && self.phase != Phase::Closed {
            if self.recv.is_empty() && self.phase != Phase::Handshake {
                while self.phase != Phase::Closed {
                    match self.decoder.decode_bytes(&mut chunk) {
                        Ok(Some(msg)) => self.on_message(msg, now),
                        Ok(None) => break,
                        Err(e) => return self.close_with(e.into()),
                    }
                }
                if self.phase != Phase::Closed {
                    // The start of a message the next chunk completes.
                    self.recv.extend_from_slice(&chunk);
                }
                return;
            }
            // Complete the pending message (or the handshake) with as few bytes as it
            // needs.
            let take = self.bytes_to_complete().clamp(1, chunk.len());
            self.recv.extend_from_slice(&chunk[..take]);
            chunk.advance(take);
            self.process_received(now);
        }
    }

    /// How many more bytes the partial message (or handshake) in `recv` needs.
    fn bytes_to_complete(&self) -> usize {
        let have = self.recv.len();
        if self.phase == Phase::Handshake {
            return HANDSHAKE_LEN.saturating_sub(have);
        }
        if have < 4 {
            return 4 - have;
        }
        let len = u32::from_be_bytes([self.recv[0], self.recv[1], self.recv[2], self.recv[3]]);
        (4 + len as usize).saturating_sub(have)
    }

    fn process_received(&mut self, now: Instant) {
        if self.phase == Phase::Handshake {
            match Handshake::decode(&self.recv) {
                Ok(None) => return,
                Ok(Some(h)) => {
                    self.recv.advance(HANDSHAKE_LEN);
                    if !self.on_handshake(h) {
                        return;
                    }
                }
                Err(e) => return self.close_with(e.into()),
            }
        }
        while self.phase != Phase::Closed {
            match self.decoder.decode(&mut self.recv) {
                Ok(Some(msg)) => self.on_message(msg, now),
                Ok(None) => break,
                Err(e) => self.close_with(e.into()),
            }
        }
    }

    /// The timer returned by [`PeerSession::poll_timeout`] fired.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.phase {
            Phase::Closed => {}
            Phase::Handshake => {
                if now >= self.started + self.config.handshake_timeout {
                    self.close_with(CloseReason::HandshakeTimeout);
                }
            }
            _ => {
                if now >= self.last_received + self.config.idle_timeout {
                    return self.close_with(CloseReason::Idle);
                }
                let expired = self.requests.handle_timeout(now);
                if !expired.is_empty() {
                    self.events.push_back(SessionEvent::TimedOut(expired));
                }
                if now >= self.last_sent + self.config.keep_alive_interval {
                    self.queue(&Message::KeepAlive, now);
                }
            }
        }
    }

    /// We verified `piece`: tell the peer.
    pub fn handle_piece_verified(&mut self, piece: u32, now: Instant) {
        if self.is_connected() {
            self.queue(&Message::Have(piece), now);
        }
    }

    // ---- commands ----

    /// Announces our pieces, then sends our extension handshake (if both sides support
    /// BEP 10). Call exactly once, right after [`SessionEvent::Connected`]. Uses
    /// `have_all`/`have_none` when the fast extension is on.
    pub fn send_pieces(&mut self, have: &Bitfield, now: Instant) {
        let msg = if self.fast && have.is_full() {
            Message::HaveAll
        } else if self.fast && have.none() {
            Message::HaveNone
        } else {
            Message::Bitfield(Bytes::copy_from_slice(have.as_bytes()))
        };
        self.queue(&msg, now);
        // The extension handshake follows the bitfield, as libtorrent orders them.
        if self.extended {
            if let Some(ext) = self.config.extension_handshake.clone() {
                self.queue(&ext.to_message(), now);
            }
        }
    }

    /// Tells the peer whether we want its pieces (sent only on change).
    pub fn set_interested(&mut self, interested: bool, now: Instant) {
        if self.am_interested != interested {
            self.am_interested = interested;
            let msg = if interested {
                Message::Interested
            } else {
                Message::NotInterested
            };
            self.queue(&msg, now);
        }
    }

    /// Chokes or unchokes the peer (sent only on change). Choking drops the peer's
    /// pending requests, answering each with a reject under the fast extension, except
    /// those for pieces we granted as allowed-fast.
    pub fn set_choking(&mut self, choking: bool, now: Instant) {
        if self.am_choking == choking {
            return;
        }
        self.am_choking = choking;
        if !choking {
            return self.queue(&Message::Unchoke, now);
        }
        self.queue(&Message::Choke, now);
        for b in self.incoming.take_all() {
            if self.granted_fast.contains(&b.piece) {
                self.incoming.push(b);
            } else if self.fast {
                self.queue(&Message::RejectRequest(b), now);
            }
        }
    }

    /// Requests a block (the caller picked it and checked `request_slots`).
    pub fn request(&mut self, block: BlockInfo, now: Instant) {
        self.requests.on_sent(block, now);
        self.queue(&Message::Request(block), now);
    }

    /// Cancels one of our requests (endgame: the block arrived from someone else).
    /// Under the fast extension the peer still answers with the piece or a reject, so
    /// the request stays tracked until then.
    pub fn cancel(&mut self, block: BlockInfo, now: Instant) {
        if self.requests.contains(&block) {
            if !self.fast {
                self.requests.remove(&block);
            }
            self.queue(&Message::Cancel(block), now);
        }
    }

    /// Sends a block the peer requested. Returns false (and sends nothing) if the
    /// request is no longer pending (cancelled, or choked meanwhile).
    pub fn send_block(&mut self, block: BlockInfo, data: Bytes, now: Instant) -> bool {
        if !self.incoming.remove(&block) {
            return false;
        }
        self.upload.record(data.len() as u64, now);
        if self.phase == Phase::Closed {
            return true;
        }
        // Header and payload go out as two buffers (vectored write), so the block's
        // bytes are never copied into a message buffer.
        self.queue_piece_header(block.piece, block.offset, data.len() as u32);
        self.send.push_back(data);
        self.last_sent = now;
        true
    }

    /// Like [`PeerSession::send_block`], but queues only the `piece` message's 13-byte
    /// header: the caller sends the block's `block.length` bytes itself right after the
    /// last buffer [`PeerSession::poll_transmit`] yields (e.g. straight from a file).
    /// Returns false (nothing queued: send nothing) if the request is no longer pending
    /// or the session is closed.
    pub fn send_block_header(&mut self, block: BlockInfo, now: Instant) -> bool {
        if !self.incoming.remove(&block) || self.phase == Phase::Closed {
            return false;
        }
        self.upload.record(u64::from(block.length), now);
        self.queue_piece_header(block.piece, block.offset, block.length);
        self.last_sent = now;
        true
    }

    fn queue_piece_header(&mut self, piece: u32, offset: u32, len: u32) {
        let mut header = BytesMut::with_capacity(13);
        header.extend_from_slice(&(9 + len).to_be_bytes());
        header.extend_from_slice(&[bitswarm_wire::message::id::PIECE]);
        header.extend_from_slice(&piece.to_be_bytes());
        header.extend_from_slice(&offset.to_be_bytes());
        self.send.push_back(header.freeze());
    }

    /// Refuses a pending request of the peer (reject under the fast extension).
    pub fn reject(&mut self, block: BlockInfo, now: Instant) {
        if self.incoming.remove(&block) && self.fast {
            self.queue(&Message::RejectRequest(block), now);
        }
    }

    /// Grants the peer allowed-fast pieces (BEP 6); ignored without the fast extension.
    pub fn send_allowed_fast(&mut self, pieces: &[u32], now: Instant) {
        if !self.fast {
            return;
        }
        for &p in pieces.iter().take(self.config.max_hints) {
            if !self.granted_fast.contains(&p) {
                self.granted_fast.push(p);
                self.queue(&Message::AllowedFast(p), now);
            }
        }
    }

    /// Tells the peer our DHT port (BEP 5 `port`); the caller checks that both sides set
    /// the DHT bit.
    pub fn send_dht_port(&mut self, port: u16, now: Instant) {
        self.queue(&Message::Port(port), now);
    }

    /// Suggests a piece to the peer (BEP 6 `suggest piece`); ignored without the fast
    /// extension.
    pub fn send_suggest(&mut self, piece: u32, now: Instant) {
        if self.fast && piece < self.config.piece_count {
            self.queue(&Message::SuggestPiece(piece), now);
        }
    }

    /// Sends an extended message with the peer's id for that extension.
    pub fn send_extended(&mut self, id: u8, payload: Bytes, now: Instant) {
        if self.extended {
            self.queue(&Message::Extended { id, payload }, now);
        }
    }

    /// Closes the session.
    pub fn close(&mut self) {
        self.close_with(CloseReason::Local);
    }

    /// Closes the session because the torrent found the peer breaking a rule the
    /// session cannot check alone (e.g. a request outside the torrent's geometry).
    pub fn close_protocol(&mut self, what: &'static str) {
        self.close_with(CloseReason::Protocol(what));
    }

    // ---- internals ----

    fn queue(&mut self, msg: &Message, now: Instant) {
        if self.phase == Phase::Closed {
            return;
        }
        self.send.push_back(msg.to_bytes());
        self.last_sent = now;
    }

    fn queue_handshake(&mut self) {
        let h = Handshake::new(
            self.config.reserved,
            self.config.info_hash,
            self.config.peer_id,
        );
        self.send.push_back(Bytes::copy_from_slice(&h.encode()));
    }

    fn close_with(&mut self, reason: CloseReason) {
        if self.phase != Phase::Closed {
            self.phase = Phase::Closed;
            self.events.push_back(SessionEvent::Closed(reason));
        }
    }
}

#[path = "session_recv.rs"]
mod recv;

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;

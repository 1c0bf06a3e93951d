//! Handling of what the peer sends: handshake and every message, with the protocol
//! rules that close the session when broken.

use std::time::Instant;

use bitswarm_wire::{BlockInfo, ExtensionHandshake, Handshake, Message};
use bytes::Bytes;

use super::{PeerSession, Phase};
use crate::bitfield::Bitfield;
use crate::geometry::BLOCK_LEN;
use crate::session_types::{CloseReason, Role, SessionEvent};

impl PeerSession {
    pub(super) fn on_handshake(&mut self, h: Handshake) -> bool {
        if h.info_hash != self.config.info_hash {
            self.close_with(CloseReason::WrongInfoHash);
            return false;
        }
        if self.config.role == Role::Incoming {
            self.queue_handshake();
        }
        self.fast = self.config.reserved.fast() && h.reserved.fast();
        self.extended =
            self.config.reserved.extension_protocol() && h.reserved.extension_protocol();
        self.phase = Phase::FirstMessage;
        self.events.push_back(SessionEvent::Connected {
            peer_id: h.peer_id,
            reserved: h.reserved,
        });
        true
    }

    fn protocol(&mut self, what: &'static str) {
        self.close_with(CloseReason::Protocol(what));
    }

    fn valid_request(&self, b: &BlockInfo) -> bool {
        let size = match self.config.piece_sizes {
            Some((_, last)) if b.piece + 1 == self.config.piece_count => last,
            Some((len, _)) => len,
            None => u32::MAX,
        };
        b.piece < self.config.piece_count
            && b.length > 0
            && b.length <= BLOCK_LEN
            && u64::from(b.offset) + u64::from(b.length) <= u64::from(size)
    }

    pub(super) fn on_message(&mut self, msg: Message, now: Instant) {
        // BEP 3: the bitfield "is only ever sent as the first message". Clients differ on
        // whether the BEP 10 handshake (or a DHT port) comes before it, so those do not
        // end the window.
        let first = self.phase == Phase::FirstMessage;
        if first
            && !matches!(
                msg,
                Message::KeepAlive | Message::Extended { .. } | Message::Port(_)
            )
        {
            self.phase = Phase::Running;
        }
        match msg {
            Message::KeepAlive => {}
            Message::Bitfield(bytes) if first => {
                match Bitfield::from_bytes(&bytes, self.config.piece_count) {
                    Ok(b) => self.set_peer_pieces(b),
                    Err(e) => self.close_with(e.into()),
                }
            }
            Message::HaveAll | Message::HaveNone if first && self.fast => {
                let n = self.config.piece_count;
                let all = matches!(msg, Message::HaveAll);
                self.set_peer_pieces(if all {
                    Bitfield::full(n)
                } else {
                    Bitfield::new(n)
                });
            }
            // A late piece set is a protocol violation by BEP 3, but aria2 sends
            // `have_none` first and a full `bitfield` later once it has pieces: take a
            // late, well-formed set as `have`s of the pieces it adds.
            Message::Bitfield(bytes) => match Bitfield::from_bytes(&bytes, self.config.piece_count)
            {
                Ok(b) => self.add_late_pieces(b),
                Err(e) => self.close_with(e.into()),
            },
            Message::HaveAll if self.fast => {
                self.add_late_pieces(Bitfield::full(self.config.piece_count))
            }
            Message::HaveNone if self.fast => {}
            Message::HaveAll | Message::HaveNone => {
                self.protocol("have_all/have_none without fast extension")
            }
            Message::Have(p) => {
                if p >= self.config.piece_count {
                    return self.protocol("have for a piece out of range");
                }
                if self.peer_pieces.set(p, true) {
                    self.events.push_back(SessionEvent::Have(p));
                }
            }
            Message::Choke => {
                self.peer_choking = true;
                let dropped = if self.fast {
                    Vec::new()
                } else {
                    self.requests.drain()
                };
                self.events.push_back(SessionEvent::Choked { dropped });
            }
            Message::Unchoke => {
                self.peer_choking = false;
                self.events.push_back(SessionEvent::Unchoked);
            }
            Message::Interested | Message::NotInterested => {
                self.peer_interested = matches!(msg, Message::Interested);
                self.events
                    .push_back(SessionEvent::Interest(self.peer_interested));
            }
            Message::Request(b) => self.on_request(b, now),
            Message::Cancel(b) => {
                if self.incoming.remove(&b) {
                    if self.fast {
                        self.queue(&Message::RejectRequest(b), now);
                    }
                    self.events.push_back(SessionEvent::Cancelled(b));
                }
            }
            Message::Piece {
                piece,
                offset,
                data,
            } => {
                let block = BlockInfo {
                    piece,
                    offset,
                    length: data.len() as u32,
                };
                match self.requests.on_block(&block, now) {
                    Ok(_) => {
                        self.download.record(data.len() as u64, now);
                        self.events.push_back(SessionEvent::Block { block, data });
                    }
                    // BEP 6: "if a peer receives a piece that was never requested, the
                    // peer MUST close the connection". Without it, a block racing a
                    // choke that dropped its request is simply discarded.
                    Err(_) if self.fast => self.protocol("piece that was never requested"),
                    Err(_) => {}
                }
            }
            Message::RejectRequest(b) if self.fast => {
                if self.requests.remove(&b) {
                    self.events.push_back(SessionEvent::Rejected(b));
                } else {
                    self.protocol("reject for a request never sent");
                }
            }
            Message::AllowedFast(p) | Message::SuggestPiece(p) if self.fast => {
                if p >= self.config.piece_count {
                    return self.protocol("hint for a piece out of range");
                }
                self.events.push_back(match msg {
                    Message::AllowedFast(_) => SessionEvent::AllowedFast(p),
                    _ => SessionEvent::Suggest(p),
                });
            }
            Message::RejectRequest(_) | Message::AllowedFast(_) | Message::SuggestPiece(_) => {
                self.protocol("fast extension message without fast extension")
            }
            Message::Port(port) => self.events.push_back(SessionEvent::DhtPort(port)),
            Message::Extended { id, payload } => self.on_extended(id, payload),
        }
    }

    fn add_late_pieces(&mut self, pieces: Bitfield) {
        for p in pieces.iter_ones() {
            if self.peer_pieces.set(p, true) {
                self.events.push_back(SessionEvent::Have(p));
            }
        }
    }

    fn set_peer_pieces(&mut self, pieces: Bitfield) {
        self.peer_pieces = pieces.clone();
        self.events.push_back(SessionEvent::PeerPieces(pieces));
    }

    fn on_request(&mut self, b: BlockInfo, now: Instant) {
        if !self.valid_request(&b) {
            return self.protocol("request out of range or larger than 16 KiB");
        }
        let allowed = !self.am_choking || self.granted_fast.contains(&b.piece);
        if !allowed || self.incoming.len() >= self.config.max_incoming_requests {
            if self.fast {
                self.queue(&Message::RejectRequest(b), now);
            }
            return;
        }
        if self.incoming.push(b) {
            self.events.push_back(SessionEvent::Request(b));
        }
    }

    fn on_extended(&mut self, id: u8, payload: Bytes) {
        if !self.extended {
            return self.protocol("extended message without extension protocol");
        }
        if id != 0 {
            return self
                .events
                .push_back(SessionEvent::Extended { id, payload });
        }
        match ExtensionHandshake::decode(&payload) {
            Ok(h) => {
                if let Some(q) = h.reqq {
                    self.requests.set_peer_reqq(q);
                }
                self.events.push_back(SessionEvent::ExtensionHandshake(h));
            }
            Err(_) => self.protocol("invalid extension handshake"),
        }
    }
}

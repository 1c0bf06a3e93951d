//! Incremental message decoder over a receive buffer, with per-torrent length limits.
//!
//! The declared length is checked against [`Limits`] as soon as the 4-byte prefix and the
//! id byte are in the buffer, so a peer announcing a 4 GiB message is rejected before we
//! buffer any of it. Payloads of `piece`, `bitfield` and extended messages are split off
//! the buffer as [`Bytes`] without copying.

use bytes::{Buf, Bytes, BytesMut};
use thiserror::Error;

use crate::message::{id, BlockInfo, Message, BLOCK_LEN};

/// Default maximum payload of an extended message: 1 MiB.
pub const MAX_EXTENDED_LEN: usize = 1 << 20;

/// Default maximum bitfield length while the piece count is unknown (magnet links before
/// the metadata arrived): enough for 2^23 pieces.
pub const MAX_UNKNOWN_BITFIELD_LEN: usize = 1 << 20;

/// Length bounds for messages whose size depends on the torrent or the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum `bitfield` payload in bytes: `ceil(pieces / 8)` once the torrent is known.
    pub max_bitfield_len: usize,
    /// Maximum block length in a `piece` message (its payload is this plus 8 header bytes).
    pub max_block_len: usize,
    /// Maximum extended message payload, including the extension id byte.
    pub max_extended_len: usize,
}

impl Default for Limits {
    /// Limits for a torrent whose piece count is not known yet.
    fn default() -> Self {
        Limits {
            max_bitfield_len: MAX_UNKNOWN_BITFIELD_LEN,
            max_block_len: BLOCK_LEN as usize,
            max_extended_len: MAX_EXTENDED_LEN,
        }
    }
}

impl Limits {
    /// Limits for a torrent with `piece_count` pieces.
    pub fn for_pieces(piece_count: u32) -> Self {
        Limits {
            max_bitfield_len: (piece_count as usize).div_ceil(8),
            ..Limits::default()
        }
    }

    /// The largest body (id + payload) allowed for message `id`, or `None` if unknown.
    pub fn max_body_len(&self, msg_id: u8) -> Option<usize> {
        Some(match msg_id {
            id::CHOKE | id::UNCHOKE | id::INTERESTED | id::NOT_INTERESTED => 1,
            id::HAVE_ALL | id::HAVE_NONE => 1,
            id::HAVE | id::SUGGEST_PIECE | id::ALLOWED_FAST => 5,
            id::REQUEST | id::CANCEL | id::REJECT_REQUEST => 13,
            id::PORT => 3,
            id::BITFIELD => 1 + self.max_bitfield_len,
            id::PIECE => 9 + self.max_block_len,
            id::EXTENDED => 1 + self.max_extended_len,
            _ => return None,
        })
    }
}

/// Why the bytes received cannot be a valid message stream. Every variant means the
/// connection should be closed (and counted as a protocol error against the peer).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The message id is not one this crate understands.
    #[error("unknown message id {id} (length {len})")]
    UnknownId {
        /// The id byte.
        id: u8,
        /// The declared body length.
        len: u32,
    },
    /// The declared length exceeds the bound for this message id.
    #[error("message id {id} declares length {len}, more than the limit {max}")]
    TooLong {
        /// The id byte.
        id: u8,
        /// The declared body length.
        len: u32,
        /// The largest body allowed for this id.
        max: usize,
    },
    /// A fixed-size message has the wrong length, or a variable one is too short.
    #[error("message id {id} has invalid length {len}")]
    BadLength {
        /// The id byte.
        id: u8,
        /// The declared body length.
        len: u32,
    },
}

/// A stateless incremental decoder: call [`MessageDecoder::decode`] after every read until
/// it returns `Ok(None)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MessageDecoder {
    /// The limits applied to declared lengths.
    pub limits: Limits,
}

impl MessageDecoder {
    /// A decoder applying `limits`.
    pub fn new(limits: Limits) -> Self {
        MessageDecoder { limits }
    }

    /// Decodes one message from the front of `buf`, consuming its bytes.
    ///
    /// Returns `Ok(None)` (consuming nothing) when more bytes are needed. After an error
    /// the buffer is left as it was; the caller must close the connection.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Message>, DecodeError> {
        let Some((msg_id, len)) = self.frame(buf)? else {
            if let Some(total) = self.pending_total(buf) {
                buf.reserve(total - buf.len());
            }
            return Ok(None);
        };
        if len == 0 {
            buf.advance(4);
            return Ok(Some(Message::KeepAlive));
        }
        buf.advance(5);
        let body = buf.split_to(len as usize - 1).freeze();
        Ok(Some(parse_body(msg_id, body)))
    }

    /// Like [`MessageDecoder::decode`], from a shared buffer: the payloads of `piece`,
    /// `bitfield` and extended messages are slices of `buf`'s memory (never copied,
    /// whoever else holds a reference to it).
    pub fn decode_bytes(&self, buf: &mut Bytes) -> Result<Option<Message>, DecodeError> {
        let Some((msg_id, len)) = self.frame(buf)? else {
            return Ok(None);
        };
        if len == 0 {
            buf.advance(4);
            return Ok(Some(Message::KeepAlive));
        }
        buf.advance(5);
        let body = buf.split_to(len as usize - 1);
        Ok(Some(parse_body(msg_id, body)))
    }

    /// The id and declared length of the whole message at the front of `buf` (id 0 and
    /// length 0 for a keep-alive), `None` while it is incomplete; an error as soon as the
    /// header breaks a limit.
    fn frame(&self, buf: &[u8]) -> Result<Option<(u8, u32)>, DecodeError> {
        let Some(&[a, b, c, d]) = buf.get(..4) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([a, b, c, d]);
        if len == 0 {
            return Ok(Some((0, 0)));
        }
        let Some(&msg_id) = buf.get(4) else {
            return Ok(None);
        };
        self.check_len(msg_id, len)?;
        if buf.len() < 4 + len as usize {
            return Ok(None);
        }
        Ok(Some((msg_id, len)))
    }

    /// The whole length of the (checked) message whose header is at the front of `buf`.
    fn pending_total(&self, buf: &[u8]) -> Option<usize> {
        let &[a, b, c, d] = buf.get(..4)? else {
            return None;
        };
        buf.get(4)?;
        Some(4 + u32::from_be_bytes([a, b, c, d]) as usize)
    }

    fn check_len(&self, msg_id: u8, len: u32) -> Result<(), DecodeError> {
        let Some(max) = self.limits.max_body_len(msg_id) else {
            return Err(DecodeError::UnknownId { id: msg_id, len });
        };
        if len as usize > max {
            let fixed = !matches!(msg_id, id::BITFIELD | id::PIECE | id::EXTENDED);
            return Err(if fixed {
                DecodeError::BadLength { id: msg_id, len }
            } else {
                DecodeError::TooLong {
                    id: msg_id,
                    len,
                    max,
                }
            });
        }
        let min = match msg_id {
            id::BITFIELD => 1,
            id::PIECE => 9,
            id::EXTENDED => 2,
            _ => max,
        };
        if (len as usize) < min {
            return Err(DecodeError::BadLength { id: msg_id, len });
        }
        Ok(())
    }
}

fn block_info(b: &mut Bytes) -> BlockInfo {
    BlockInfo {
        piece: b.get_u32(),
        offset: b.get_u32(),
        length: b.get_u32(),
    }
}

/// Parses a body whose length has already been validated by `check_len`.
fn parse_body(msg_id: u8, mut b: Bytes) -> Message {
    match msg_id {
        id::CHOKE => Message::Choke,
        id::UNCHOKE => Message::Unchoke,
        id::INTERESTED => Message::Interested,
        id::NOT_INTERESTED => Message::NotInterested,
        id::HAVE_ALL => Message::HaveAll,
        id::HAVE_NONE => Message::HaveNone,
        id::HAVE => Message::Have(b.get_u32()),
        id::SUGGEST_PIECE => Message::SuggestPiece(b.get_u32()),
        id::ALLOWED_FAST => Message::AllowedFast(b.get_u32()),
        id::REQUEST => Message::Request(block_info(&mut b)),
        id::CANCEL => Message::Cancel(block_info(&mut b)),
        id::REJECT_REQUEST => Message::RejectRequest(block_info(&mut b)),
        id::PORT => Message::Port(b.get_u16()),
        id::BITFIELD => Message::Bitfield(b),
        id::PIECE => {
            let piece = b.get_u32();
            let offset = b.get_u32();
            Message::Piece {
                piece,
                offset,
                data: b,
            }
        }
        id::EXTENDED => {
            let ext = b.get_u8();
            Message::Extended {
                id: ext,
                payload: b,
            }
        }
        // check_len rejected every other id.
        _ => unreachable!("message id {msg_id} passed the length check"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(dec: &MessageDecoder, bytes: &[u8]) -> Result<Vec<Message>, DecodeError> {
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(m) = dec.decode(&mut buf)? {
            out.push(m);
        }
        Ok(out)
    }

    #[test]
    fn partial_input_returns_none_and_consumes_nothing() {
        let bytes = Message::Have(42).to_bytes();
        let dec = MessageDecoder::default();
        for n in 0..bytes.len() {
            let mut buf = BytesMut::from(&bytes[..n]);
            assert_eq!(dec.decode(&mut buf), Ok(None));
            assert_eq!(buf.len(), n);
        }
        let mut buf = BytesMut::from(&bytes[..]);
        assert_eq!(dec.decode(&mut buf), Ok(Some(Message::Have(42))));
        assert!(buf.is_empty());
    }

    #[test]
    fn keep_alive_and_stream_of_messages() {
        let mut stream = BytesMut::new();
        let msgs = vec![
            Message::KeepAlive,
            Message::Unchoke,
            Message::Piece {
                piece: 1,
                offset: 16384,
                data: Bytes::from(vec![7u8; 16384]),
            },
            Message::KeepAlive,
            Message::HaveNone,
        ];
        for m in &msgs {
            m.encode(&mut stream);
        }
        let got = decode_all(&MessageDecoder::default(), &stream).unwrap();
        assert_eq!(got, msgs);
    }

    #[test]
    fn oversized_piece_is_rejected_from_the_header_alone() {
        let dec = MessageDecoder::default();
        // length = 9 + 16 KiB + 1, id = piece; no payload yet.
        let len = 9 + 16384 + 1u32;
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(&[id::PIECE]);
        assert_eq!(
            dec.decode(&mut buf),
            Err(DecodeError::TooLong {
                id: id::PIECE,
                len,
                max: 9 + 16384
            })
        );
        // A full 16 KiB block is accepted.
        let ok = Message::Piece {
            piece: 0,
            offset: 0,
            data: Bytes::from(vec![0; 16384]),
        };
        assert_eq!(decode_all(&dec, &ok.to_bytes()).unwrap(), vec![ok]);
    }

    #[test]
    fn bitfield_limit_follows_piece_count() {
        let dec = MessageDecoder::new(Limits::for_pieces(17)); // 3 bytes
        let ok = Message::Bitfield(Bytes::from_static(&[0xFF, 0xFF, 0x80]));
        assert_eq!(decode_all(&dec, &ok.to_bytes()).unwrap(), vec![ok]);
        let big = Message::Bitfield(Bytes::from_static(&[0, 0, 0, 0]));
        assert!(matches!(
            decode_all(&dec, &big.to_bytes()),
            Err(DecodeError::TooLong {
                id: 5,
                len: 5,
                max: 4
            })
        ));
    }

    #[test]
    fn extended_limit_is_one_mebibyte() {
        let dec = MessageDecoder::default();
        let len = 2 + (1u32 << 20);
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(&[id::EXTENDED]);
        assert!(matches!(
            dec.decode(&mut buf),
            Err(DecodeError::TooLong { .. })
        ));
    }

    #[test]
    fn fixed_size_messages_must_have_exact_length() {
        let dec = MessageDecoder::default();
        // have with 3 bytes of payload
        let mut buf = BytesMut::from(&[0, 0, 0, 4, id::HAVE, 0, 0, 1][..]);
        assert_eq!(
            dec.decode(&mut buf),
            Err(DecodeError::BadLength {
                id: id::HAVE,
                len: 4
            })
        );
        // choke with a payload byte
        let mut buf = BytesMut::from(&[0, 0, 0, 2, id::CHOKE, 0][..]);
        assert!(matches!(
            dec.decode(&mut buf),
            Err(DecodeError::BadLength { .. })
        ));
        // request too long
        let mut buf = BytesMut::from(&[0, 0, 0, 14, id::REQUEST][..]);
        assert!(matches!(
            dec.decode(&mut buf),
            Err(DecodeError::BadLength { .. })
        ));
        // piece without its 8-byte header
        let mut buf = BytesMut::from(&[0, 0, 0, 5, id::PIECE][..]);
        assert!(matches!(
            dec.decode(&mut buf),
            Err(DecodeError::BadLength { .. })
        ));
        // extended without an extension id
        let mut buf = BytesMut::from(&[0, 0, 0, 1, id::EXTENDED][..]);
        assert!(matches!(
            dec.decode(&mut buf),
            Err(DecodeError::BadLength { .. })
        ));
    }

    #[test]
    fn unknown_id_is_an_error() {
        let dec = MessageDecoder::default();
        let mut buf = BytesMut::from(&[0, 0, 0, 1, 99][..]);
        assert_eq!(
            dec.decode(&mut buf),
            Err(DecodeError::UnknownId { id: 99, len: 1 })
        );
    }

    #[test]
    fn piece_payload_shares_the_buffer() {
        let msg = Message::Piece {
            piece: 3,
            offset: 0,
            data: Bytes::from(vec![1u8; 1000]),
        };
        let mut buf = BytesMut::from(&msg.to_bytes()[..]);
        let base = buf.as_ptr() as usize;
        let Some(Message::Piece { data, .. }) = MessageDecoder::default().decode(&mut buf).unwrap()
        else {
            panic!("not a piece");
        };
        // The block starts 13 bytes into the original allocation: no copy was made.
        assert_eq!(data.as_ptr() as usize, base + 13);
    }

    #[test]
    fn decode_bytes_shares_a_buffer_others_hold_too() {
        let msg = Message::Piece {
            piece: 3,
            offset: 0,
            data: Bytes::from(vec![1u8; 1000]),
        };
        let mut stream = BytesMut::from(&msg.to_bytes()[..]);
        Message::Have(9).encode(&mut stream);
        let whole = stream.freeze();
        let mut buf = whole.clone();
        let dec = MessageDecoder::default();
        let Some(Message::Piece { data, .. }) = dec.decode_bytes(&mut buf).unwrap() else {
            panic!("not a piece");
        };
        assert_eq!(data.as_ptr() as usize, whole.as_ptr() as usize + 13);
        assert_eq!(data.len(), 1000);
        assert_eq!(dec.decode_bytes(&mut buf).unwrap(), Some(Message::Have(9)));
        assert!(buf.is_empty());
        // An incomplete message consumes nothing; an oversized one is refused.
        let mut part = whole.slice(..20);
        assert_eq!(dec.decode_bytes(&mut part).unwrap(), None);
        assert_eq!(part.len(), 20);
        let mut big = Bytes::from_static(&[0, 1, 0, 0, id::PIECE]);
        assert!(matches!(
            dec.decode_bytes(&mut big),
            Err(DecodeError::TooLong { .. })
        ));
    }

    fn arb_block() -> impl Strategy<Value = BlockInfo> {
        (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(piece, offset, length)| BlockInfo {
            piece,
            offset,
            length,
        })
    }

    fn arb_message() -> impl Strategy<Value = Message> {
        let bytes = |max| proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from);
        prop_oneof![
            Just(Message::KeepAlive),
            Just(Message::Choke),
            Just(Message::Unchoke),
            Just(Message::Interested),
            Just(Message::NotInterested),
            Just(Message::HaveAll),
            Just(Message::HaveNone),
            any::<u32>().prop_map(Message::Have),
            any::<u32>().prop_map(Message::SuggestPiece),
            any::<u32>().prop_map(Message::AllowedFast),
            any::<u16>().prop_map(Message::Port),
            arb_block().prop_map(Message::Request),
            arb_block().prop_map(Message::Cancel),
            arb_block().prop_map(Message::RejectRequest),
            proptest::collection::vec(any::<u8>(), 1..64)
                .prop_map(|v| Message::Bitfield(Bytes::from(v))),
            (any::<u32>(), any::<u32>(), bytes(2048)).prop_map(|(piece, offset, data)| {
                Message::Piece {
                    piece,
                    offset,
                    data,
                }
            }),
            (any::<u8>(), bytes(256)).prop_map(|(id, payload)| Message::Extended { id, payload }),
        ]
    }

    proptest! {
        #[test]
        fn encode_decode_identity(msgs in proptest::collection::vec(arb_message(), 0..8), split in any::<usize>()) {
            let mut stream = BytesMut::new();
            for m in &msgs {
                m.encode(&mut stream);
            }
            // Feed the stream in two chunks to exercise partial reads.
            let split = if stream.is_empty() { 0 } else { split % stream.len() };
            let dec = MessageDecoder::default();
            let mut buf = BytesMut::from(&stream[..split]);
            let mut got = Vec::new();
            while let Some(m) = dec.decode(&mut buf).unwrap() {
                got.push(m);
            }
            buf.extend_from_slice(&stream[split..]);
            while let Some(m) = dec.decode(&mut buf).unwrap() {
                got.push(m);
            }
            prop_assert!(buf.is_empty());
            prop_assert_eq!(&got, &msgs);
            // The same from a shared buffer.
            let mut shared = stream.freeze();
            let mut again = Vec::new();
            while let Some(m) = dec.decode_bytes(&mut shared).unwrap() {
                again.push(m);
            }
            prop_assert!(shared.is_empty());
            prop_assert_eq!(again, msgs);
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512), pieces in 0u32..100) {
            let dec = MessageDecoder::new(Limits::for_pieces(pieces));
            let mut buf = BytesMut::from(&bytes[..]);
            while let Ok(Some(_)) = dec.decode(&mut buf) {}
            let mut shared = Bytes::from(bytes);
            while let Ok(Some(_)) = dec.decode_bytes(&mut shared) {}
        }
    }
}

//! Peer wire messages (BEP 3, BEP 6, BEP 10 framing) and their encoding.
//!
//! Every message but keep-alive is `<length: u32 BE><id: u8><payload>`, where `length`
//! counts the id and the payload; keep-alive is a bare zero length.

use bytes::{BufMut, Bytes, BytesMut};

/// Message ids on the wire.
pub mod id {
    /// BEP 3 `choke`.
    pub const CHOKE: u8 = 0;
    /// BEP 3 `unchoke`.
    pub const UNCHOKE: u8 = 1;
    /// BEP 3 `interested`.
    pub const INTERESTED: u8 = 2;
    /// BEP 3 `not interested`.
    pub const NOT_INTERESTED: u8 = 3;
    /// BEP 3 `have`.
    pub const HAVE: u8 = 4;
    /// BEP 3 `bitfield`.
    pub const BITFIELD: u8 = 5;
    /// BEP 3 `request`.
    pub const REQUEST: u8 = 6;
    /// BEP 3 `piece`.
    pub const PIECE: u8 = 7;
    /// BEP 3 `cancel`.
    pub const CANCEL: u8 = 8;
    /// BEP 5 `port` (DHT listen port).
    pub const PORT: u8 = 9;
    /// BEP 6 `suggest piece`.
    pub const SUGGEST_PIECE: u8 = 0x0D;
    /// BEP 6 `have all`.
    pub const HAVE_ALL: u8 = 0x0E;
    /// BEP 6 `have none`.
    pub const HAVE_NONE: u8 = 0x0F;
    /// BEP 6 `reject request`.
    pub const REJECT_REQUEST: u8 = 0x10;
    /// BEP 6 `allowed fast`.
    pub const ALLOWED_FAST: u8 = 0x11;
    /// BEP 10 extended message.
    pub const EXTENDED: u8 = 20;
}

/// The usual (and, in this crate, the maximum accepted by default) block size: 16 KiB.
pub const BLOCK_LEN: u32 = 16 * 1024;

/// A block reference: used by `request`, `cancel` and `reject request`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockInfo {
    /// Piece index.
    pub piece: u32,
    /// Byte offset of the block inside the piece.
    pub offset: u32,
    /// Block length in bytes.
    pub length: u32,
}

/// One peer wire message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Zero-length message keeping the connection open.
    KeepAlive,
    /// The sender will not serve requests.
    Choke,
    /// The sender will serve requests.
    Unchoke,
    /// The sender wants pieces the receiver has.
    Interested,
    /// The sender wants nothing from the receiver.
    NotInterested,
    /// The sender has completed and verified this piece.
    Have(u32),
    /// The sender's pieces, high bit of the first byte = piece 0 (raw, not validated).
    Bitfield(Bytes),
    /// Ask for a block.
    Request(BlockInfo),
    /// A block of data.
    Piece {
        /// Piece index.
        piece: u32,
        /// Offset of the block inside the piece.
        offset: u32,
        /// The block bytes (shares the receive buffer, no copy).
        data: Bytes,
    },
    /// Withdraw an earlier request.
    Cancel(BlockInfo),
    /// The sender's DHT port (BEP 5).
    Port(u16),
    /// BEP 6: the sender suggests downloading this piece.
    SuggestPiece(u32),
    /// BEP 6: the sender has every piece.
    HaveAll,
    /// BEP 6: the sender has no piece.
    HaveNone,
    /// BEP 6: the sender will not serve this request.
    RejectRequest(BlockInfo),
    /// BEP 6: the receiver may request this piece even while choked.
    AllowedFast(u32),
    /// BEP 10 extended message: extension id (0 = extension handshake) and payload.
    Extended {
        /// Extension message id, as assigned by the receiver's `m` dictionary (0 = handshake).
        id: u8,
        /// The payload after the extension id.
        payload: Bytes,
    },
}

impl Message {
    /// The wire id, or `None` for keep-alive.
    pub fn id(&self) -> Option<u8> {
        Some(match self {
            Message::KeepAlive => return None,
            Message::Choke => id::CHOKE,
            Message::Unchoke => id::UNCHOKE,
            Message::Interested => id::INTERESTED,
            Message::NotInterested => id::NOT_INTERESTED,
            Message::Have(_) => id::HAVE,
            Message::Bitfield(_) => id::BITFIELD,
            Message::Request(_) => id::REQUEST,
            Message::Piece { .. } => id::PIECE,
            Message::Cancel(_) => id::CANCEL,
            Message::Port(_) => id::PORT,
            Message::SuggestPiece(_) => id::SUGGEST_PIECE,
            Message::HaveAll => id::HAVE_ALL,
            Message::HaveNone => id::HAVE_NONE,
            Message::RejectRequest(_) => id::REJECT_REQUEST,
            Message::AllowedFast(_) => id::ALLOWED_FAST,
            Message::Extended { .. } => id::EXTENDED,
        })
    }

    /// Length of the id + payload (the value of the length prefix).
    pub fn body_len(&self) -> usize {
        match self {
            Message::KeepAlive => 0,
            Message::Choke
            | Message::Unchoke
            | Message::Interested
            | Message::NotInterested
            | Message::HaveAll
            | Message::HaveNone => 1,
            Message::Have(_) | Message::SuggestPiece(_) | Message::AllowedFast(_) => 5,
            Message::Port(_) => 3,
            Message::Request(_) | Message::Cancel(_) | Message::RejectRequest(_) => 13,
            Message::Bitfield(b) => 1 + b.len(),
            Message::Piece { data, .. } => 9 + data.len(),
            Message::Extended { payload, .. } => 2 + payload.len(),
        }
    }

    /// Total encoded length, including the 4-byte length prefix.
    pub fn encoded_len(&self) -> usize {
        4 + self.body_len()
    }

    /// Appends the encoded message to `out`.
    ///
    /// # Panics
    /// If a payload is longer than `u32::MAX` bytes (never the case for a message built
    /// from a decoded one or from a torrent's geometry).
    pub fn encode(&self, out: &mut BytesMut) {
        let body = u32::try_from(self.body_len()).expect("message body fits in u32");
        out.reserve(4 + body as usize);
        out.put_u32(body);
        let Some(id) = self.id() else { return };
        out.put_u8(id);
        match self {
            Message::KeepAlive
            | Message::Choke
            | Message::Unchoke
            | Message::Interested
            | Message::NotInterested
            | Message::HaveAll
            | Message::HaveNone => {}
            Message::Have(p) | Message::SuggestPiece(p) | Message::AllowedFast(p) => {
                out.put_u32(*p)
            }
            Message::Port(port) => out.put_u16(*port),
            Message::Request(b) | Message::Cancel(b) | Message::RejectRequest(b) => {
                out.put_u32(b.piece);
                out.put_u32(b.offset);
                out.put_u32(b.length);
            }
            Message::Bitfield(bits) => out.put_slice(bits),
            Message::Piece {
                piece,
                offset,
                data,
            } => {
                out.put_u32(*piece);
                out.put_u32(*offset);
                out.put_slice(data);
            }
            Message::Extended { id, payload } => {
                out.put_u8(*id);
                out.put_slice(payload);
            }
        }
    }

    /// Encodes into a fresh buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.encoded_len());
        self.encode(&mut out);
        out.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_match_bep3_and_bep6_layouts() {
        let b = BlockInfo {
            piece: 1,
            offset: 0x4000,
            length: 0x4000,
        };
        let cases: Vec<(Message, &str)> = vec![
            (Message::KeepAlive, "00000000"),
            (Message::Choke, "0000000100"),
            (Message::Unchoke, "0000000101"),
            (Message::Interested, "0000000102"),
            (Message::NotInterested, "0000000103"),
            (Message::Have(7), "000000050400000007"),
            (
                Message::Bitfield(Bytes::from_static(&[0xC0])),
                "0000000205c0",
            ),
            (Message::Request(b), "0000000d06000000010000400000004000"),
            (
                Message::Piece {
                    piece: 2,
                    offset: 0,
                    data: Bytes::from_static(b"ab"),
                },
                "0000000b0700000002000000006162",
            ),
            (Message::Cancel(b), "0000000d08000000010000400000004000"),
            (Message::Port(6881), "00000003091ae1"),
            (Message::SuggestPiece(3), "000000050d00000003"),
            (Message::HaveAll, "000000010e"),
            (Message::HaveNone, "000000010f"),
            (
                Message::RejectRequest(b),
                "0000000d10000000010000400000004000",
            ),
            (Message::AllowedFast(9), "000000051100000009"),
            (
                Message::Extended {
                    id: 0,
                    payload: Bytes::from_static(b"de"),
                },
                "0000000414006465",
            ),
        ];
        for (msg, hex_str) in cases {
            let bytes = msg.to_bytes();
            assert_eq!(bytes.len(), msg.encoded_len(), "{msg:?}");
            assert_eq!(hex::encode(&bytes), hex_str, "{msg:?}");
        }
    }
}

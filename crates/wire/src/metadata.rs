//! BEP 9 `ut_metadata` messages: fetching the info dictionary from peers.
//!
//! BEP 9: the metadata is split in 16 KiB pieces; every message is a bencoded dictionary
//! with `msg_type` (0 request, 1 data, 2 reject) and `piece`; a data message also carries
//! `total_size`, and the piece bytes follow the dictionary directly (they are not part of
//! the bencoded value).

use bitswarm_bencode::OwnedValue;
use bytes::Bytes;

use crate::extension::ExtensionError;

/// Size of one metadata piece: 16 KiB (only the last one may be shorter).
pub const METADATA_PIECE_LEN: usize = 16 * 1024;

/// One `ut_metadata` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataMessage {
    /// Ask for metadata piece `piece`.
    Request {
        /// Metadata piece index.
        piece: u32,
    },
    /// A metadata piece.
    Data {
        /// Metadata piece index.
        piece: u32,
        /// Size of the whole info dictionary.
        total_size: u64,
        /// The piece bytes (at most 16 KiB).
        data: Bytes,
    },
    /// The sender will not send metadata piece `piece`.
    Reject {
        /// Metadata piece index.
        piece: u32,
    },
}

impl MetadataMessage {
    /// Encodes the extended-message payload (dictionary, then data for `Data`).
    pub fn encode(&self) -> Vec<u8> {
        let mut dict = OwnedValue::dict();
        let (msg_type, piece) = match self {
            MetadataMessage::Request { piece } => (0, piece),
            MetadataMessage::Data { piece, .. } => (1, piece),
            MetadataMessage::Reject { piece } => (2, piece),
        };
        dict.insert("msg_type", msg_type);
        dict.insert("piece", i64::from(*piece));
        if let MetadataMessage::Data { total_size, .. } = self {
            dict.insert("total_size", i64::try_from(*total_size).unwrap_or(i64::MAX));
        }
        let mut out = dict.to_bytes();
        if let MetadataMessage::Data { data, .. } = self {
            out.extend_from_slice(data);
        }
        out
    }

    /// Decodes an extended-message payload. The data of a `Data` message shares
    /// `payload`'s buffer.
    pub fn decode(payload: &Bytes) -> Result<Self, ExtensionError> {
        let (value, used) = bitswarm_bencode::decode_prefix(payload)
            .map_err(|e| ExtensionError::Bencode(e.to_string()))?;
        let dict = value.as_dict().ok_or(ExtensionError::NotADict)?;
        let msg_type = dict
            .get_int(b"msg_type")
            .ok_or(ExtensionError::Missing("msg_type"))?;
        let piece = dict
            .get_int(b"piece")
            .and_then(|p| u32::try_from(p).ok())
            .ok_or(ExtensionError::Missing("piece"))?;
        let trailing = payload.len() - used;
        match msg_type {
            0 | 2 if trailing != 0 => Err(ExtensionError::Invalid("trailing data")),
            0 => Ok(MetadataMessage::Request { piece }),
            2 => Ok(MetadataMessage::Reject { piece }),
            1 => {
                let total_size = dict
                    .get_int(b"total_size")
                    .and_then(|s| u64::try_from(s).ok())
                    .ok_or(ExtensionError::Missing("total_size"))?;
                if trailing > METADATA_PIECE_LEN {
                    return Err(ExtensionError::Invalid("data longer than 16 KiB"));
                }
                Ok(MetadataMessage::Data {
                    piece,
                    total_size,
                    data: payload.slice(used..),
                })
            }
            _ => Err(ExtensionError::Invalid("msg_type")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn request_and_reject_match_bep9_examples() {
        // BEP 9: {'msg_type': 0, 'piece': 0} -> d8:msg_typei0e5:piecei0ee
        let req = MetadataMessage::Request { piece: 0 };
        assert_eq!(req.encode(), b"d8:msg_typei0e5:piecei0ee".to_vec());
        let rej = MetadataMessage::Reject { piece: 0 };
        assert_eq!(rej.encode(), b"d8:msg_typei2e5:piecei0ee".to_vec());
        assert_eq!(
            MetadataMessage::decode(&Bytes::from_static(b"d8:msg_typei0e5:piecei0ee")),
            Ok(req)
        );
    }

    #[test]
    fn data_is_appended_after_the_dictionary() {
        let payload = Bytes::from_static(b"d8:msg_typei1e5:piecei0e10:total_sizei34256eexxxxxxxx");
        let MetadataMessage::Data {
            piece,
            total_size,
            data,
        } = MetadataMessage::decode(&payload).unwrap()
        else {
            panic!("not data");
        };
        assert_eq!((piece, total_size), (0, 34256));
        assert_eq!(&data[..], b"xxxxxxxx");
    }

    #[test]
    fn invalid_messages_are_errors() {
        let cases: [&[u8]; 5] = [
            b"d8:msg_typei7e5:piecei0ee",
            b"d5:piecei0ee",
            b"d8:msg_typei1e5:piecei0ee",
            b"d8:msg_typei0e5:piecei0eeXX",
            b"d8:msg_typei0e5:piecei-1ee",
        ];
        for c in cases {
            assert!(
                MetadataMessage::decode(&Bytes::copy_from_slice(c)).is_err(),
                "{c:?}"
            );
        }
        let mut big = MetadataMessage::Data {
            piece: 0,
            total_size: 1,
            data: Bytes::from(vec![0; METADATA_PIECE_LEN + 1]),
        }
        .encode();
        assert!(MetadataMessage::decode(&Bytes::from(std::mem::take(&mut big))).is_err());
    }

    proptest! {
        #[test]
        fn roundtrip(piece in any::<u32>(), size in 0u64..(1 << 40), data in proptest::collection::vec(any::<u8>(), 0..64), kind in 0u8..3) {
            let msg = match kind {
                0 => MetadataMessage::Request { piece },
                1 => MetadataMessage::Data { piece, total_size: size, data: Bytes::from(data) },
                _ => MetadataMessage::Reject { piece },
            };
            prop_assert_eq!(MetadataMessage::decode(&Bytes::from(msg.encode())), Ok(msg));
        }

        #[test]
        fn decode_arbitrary_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = MetadataMessage::decode(&Bytes::from(bytes));
        }
    }
}

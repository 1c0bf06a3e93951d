//! The BEP 10 extension handshake (extended message id 0).
//!
//! BEP 10: the payload is a bencoded dictionary; `m` maps extension names to the message
//! ids the *sender* wants to receive them with ("an id of 0 means the extension is
//! disabled"); `p` is the sender's TCP listen port, `v` its client name and version,
//! `yourip` the receiver's address as the sender sees it (4 or 16 bytes), `ipv4`/`ipv6`
//! the sender's own addresses, `reqq` "the number of outstanding request messages this
//! client supports without dropping any". BEP 9 adds `metadata_size`. Unknown keys are
//! ignored, and so are known keys of the wrong type (other clients send odd values).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bitswarm_bencode::OwnedValue;
use bytes::Bytes;
use thiserror::Error;

use crate::message::Message;

/// Name of the BEP 9 metadata extension in `m`.
pub const UT_METADATA: &str = "ut_metadata";
/// Name of the BEP 11 peer exchange extension in `m`.
pub const UT_PEX: &str = "ut_pex";

/// Why an extension payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ExtensionError {
    /// The payload is not valid bencode.
    #[error("extension payload is not bencode: {0}")]
    Bencode(String),
    /// The payload is bencode but not a dictionary.
    #[error("extension payload is not a dictionary")]
    NotADict,
    /// A required key is missing or has the wrong type.
    #[error("extension message lacks a valid `{0}`")]
    Missing(&'static str),
    /// A field has a value outside its allowed range.
    #[error("extension field `{0}` is invalid")]
    Invalid(&'static str),
}

/// A decoded or to-be-sent extension handshake.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtensionHandshake {
    /// Extension name → message id the sender wants to receive it with (0 = disabled).
    pub m: BTreeMap<String, u8>,
    /// Client name and version (`v`).
    pub client: Option<String>,
    /// The sender's TCP listen port (`p`).
    pub port: Option<u16>,
    /// Outstanding requests the sender accepts (`reqq`).
    pub reqq: Option<u32>,
    /// The receiver's address as seen by the sender (`yourip`).
    pub yourip: Option<IpAddr>,
    /// The sender's IPv4 address (`ipv4`).
    pub ipv4: Option<Ipv4Addr>,
    /// The sender's IPv6 address (`ipv6`).
    pub ipv6: Option<Ipv6Addr>,
    /// Size of the info dictionary in bytes (`metadata_size`, BEP 9).
    pub metadata_size: Option<u64>,
}

fn ip_bytes(ip: &IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

fn parse_ip(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(b) = <[u8; 4]>::try_from(bytes) {
        Some(IpAddr::V4(Ipv4Addr::from(b)))
    } else if let Ok(b) = <[u8; 16]>::try_from(bytes) {
        Some(IpAddr::V6(Ipv6Addr::from(b)))
    } else {
        None
    }
}

pub(crate) fn decode_dict(payload: &[u8]) -> Result<bitswarm_bencode::Value<'_>, ExtensionError> {
    let value =
        bitswarm_bencode::decode(payload).map_err(|e| ExtensionError::Bencode(e.to_string()))?;
    if value.as_dict().is_none() {
        return Err(ExtensionError::NotADict);
    }
    Ok(value)
}

impl ExtensionHandshake {
    /// The message id the peer assigned to extension `name`, if enabled.
    pub fn id_of(&self, name: &str) -> Option<u8> {
        self.m.get(name).copied().filter(|&id| id != 0)
    }

    /// Encodes the bencoded payload (canonical, keys sorted).
    pub fn encode(&self) -> Vec<u8> {
        let mut dict = OwnedValue::dict();
        let mut m = OwnedValue::dict();
        for (name, id) in &self.m {
            m.insert(name.as_bytes().to_vec(), i64::from(*id));
        }
        dict.insert("m", m);
        if let Some(v) = &self.client {
            dict.insert("v", v.as_bytes().to_vec());
        }
        if let Some(p) = self.port {
            dict.insert("p", i64::from(p));
        }
        if let Some(q) = self.reqq {
            dict.insert("reqq", i64::from(q));
        }
        if let Some(ip) = &self.yourip {
            dict.insert("yourip", ip_bytes(ip));
        }
        if let Some(ip) = self.ipv4 {
            dict.insert("ipv4", ip.octets().to_vec());
        }
        if let Some(ip) = self.ipv6 {
            dict.insert("ipv6", ip.octets().to_vec());
        }
        if let Some(size) = self.metadata_size {
            dict.insert("metadata_size", i64::try_from(size).unwrap_or(i64::MAX));
        }
        dict.to_bytes()
    }

    /// Wraps the handshake in an extended message with id 0.
    pub fn to_message(&self) -> Message {
        Message::Extended {
            id: 0,
            payload: Bytes::from(self.encode()),
        }
    }

    /// Decodes a handshake payload. Only a payload that is not a bencoded dictionary is
    /// an error; fields of the wrong type or out of range are treated as absent.
    pub fn decode(payload: &[u8]) -> Result<Self, ExtensionError> {
        let value = decode_dict(payload)?;
        let Some(dict) = value.as_dict() else {
            return Err(ExtensionError::NotADict);
        };
        let mut m = BTreeMap::new();
        if let Some(md) = dict.get_dict(b"m") {
            for (name, id) in md.iter() {
                let (Ok(name), Some(id)) = (std::str::from_utf8(name), id.as_int()) else {
                    continue;
                };
                if let Ok(id) = u8::try_from(id) {
                    m.insert(name.to_owned(), id);
                }
            }
        }
        let int = |key: &[u8]| dict.get_int(key);
        Ok(ExtensionHandshake {
            m,
            client: dict.get_str(b"v").map(str::to_owned),
            port: int(b"p")
                .and_then(|p| u16::try_from(p).ok())
                .filter(|&p| p != 0),
            reqq: int(b"reqq").and_then(|q| u32::try_from(q).ok()),
            yourip: dict.get_bytes(b"yourip").and_then(parse_ip),
            ipv4: dict
                .get_bytes(b"ipv4")
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(Ipv4Addr::from),
            ipv6: dict
                .get_bytes(b"ipv6")
                .and_then(|b| <[u8; 16]>::try_from(b).ok())
                .map(Ipv6Addr::from),
            metadata_size: int(b"metadata_size").and_then(|s| u64::try_from(s).ok()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> ExtensionHandshake {
        ExtensionHandshake {
            m: [(UT_METADATA.to_owned(), 3), (UT_PEX.to_owned(), 1)].into(),
            client: Some("bitswarm 0.1".into()),
            port: Some(6881),
            reqq: Some(250),
            yourip: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))),
            ipv4: None,
            ipv6: Some(Ipv6Addr::LOCALHOST),
            metadata_size: Some(31235),
        }
    }

    #[test]
    fn encodes_canonically() {
        let h = ExtensionHandshake {
            m: [(UT_METADATA.to_owned(), 3)].into(),
            port: Some(6881),
            client: Some("x".into()),
            reqq: Some(250),
            metadata_size: Some(7),
            ..Default::default()
        };
        assert_eq!(
            h.encode(),
            b"d1:md11:ut_metadatai3ee13:metadata_sizei7e1:pi6881e4:reqqi250e1:v1:xe".to_vec()
        );
    }

    #[test]
    fn roundtrip_and_id_lookup() {
        let h = sample();
        let back = ExtensionHandshake::decode(&h.encode()).unwrap();
        assert_eq!(back, h);
        assert_eq!(back.id_of(UT_METADATA), Some(3));
        assert_eq!(back.id_of("lt_donthave"), None);
    }

    #[test]
    fn decodes_a_libtorrent_style_handshake_leniently() {
        // unknown keys, a disabled extension, an out-of-range id, a bad yourip
        let payload = b"d1:ei0e1:md11:lt_donthavei7e6:ut_pexi0e5:weirdi999ee1:pi-1e4:reqqi500e1:v14:libtorrent/2.66:yourip3:abce";
        let h = ExtensionHandshake::decode(payload).unwrap();
        assert_eq!(h.id_of("lt_donthave"), Some(7));
        assert_eq!(h.m.get(UT_PEX), Some(&0));
        assert_eq!(h.id_of(UT_PEX), None);
        assert!(!h.m.contains_key("weird"));
        assert_eq!(h.port, None);
        assert_eq!(h.reqq, Some(500));
        assert_eq!(h.yourip, None);
        assert_eq!(h.client.as_deref(), Some("libtorrent/2.6"));
    }

    #[test]
    fn non_dict_payload_is_an_error() {
        assert_eq!(
            ExtensionHandshake::decode(b"i1e"),
            Err(ExtensionError::NotADict)
        );
        assert!(matches!(
            ExtensionHandshake::decode(b"d1:m"),
            Err(ExtensionError::Bencode(_))
        ));
    }

    #[test]
    fn to_message_uses_extended_id_zero() {
        let Message::Extended { id, payload } = sample().to_message() else {
            panic!("not extended");
        };
        assert_eq!(id, 0);
        assert_eq!(ExtensionHandshake::decode(&payload).unwrap(), sample());
    }

    proptest! {
        #[test]
        fn decode_arbitrary_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = ExtensionHandshake::decode(&bytes);
        }

        #[test]
        fn roundtrip_arbitrary(
            m in proptest::collection::btree_map("[a-z_]{1,12}", any::<u8>(), 0..6),
            client in proptest::option::of("[ -~]{0,20}"),
            port in proptest::option::of(1u16..),
            reqq in proptest::option::of(any::<u32>()),
            v4 in proptest::option::of(any::<[u8; 4]>()),
            size in proptest::option::of(0u64..(1 << 40)),
        ) {
            let h = ExtensionHandshake {
                m, client, port, reqq,
                yourip: v4.map(|b| IpAddr::V4(Ipv4Addr::from(b))),
                ipv4: v4.map(Ipv4Addr::from),
                ipv6: None,
                metadata_size: size,
            };
            prop_assert_eq!(ExtensionHandshake::decode(&h.encode()).unwrap(), h);
        }
    }
}

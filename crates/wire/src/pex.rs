//! BEP 11 `ut_pex` messages: peers added to and dropped from the sender's swarm view.
//!
//! BEP 11: a bencoded dictionary with `added` (compact IPv4 peers, 6 bytes each),
//! `added.f` (one flag byte per added peer), `added6`/`added6.f` (18-byte IPv6 peers),
//! `dropped` and `dropped6`. Flags: 0x01 prefers encryption, 0x02 seed/upload-only,
//! 0x04 supports uTP, 0x08 supports holepunch, 0x10 outgoing connection (reachable).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bitswarm_bencode::OwnedValue;

use crate::extension::{decode_dict, ExtensionError};

/// Most peers accepted per list in one received message (BEP 11 asks senders for at
/// most 50 added and 50 dropped; we tolerate more but bound what a peer can make us hold).
pub const MAX_PEX_PEERS: usize = 200;

/// Flag: the peer prefers encrypted connections.
pub const FLAG_ENCRYPTION: u8 = 0x01;
/// Flag: the peer is a seed (or upload-only).
pub const FLAG_SEED: u8 = 0x02;
/// Flag: the peer supports uTP.
pub const FLAG_UTP: u8 = 0x04;
/// Flag: the peer supports the holepunch extension.
pub const FLAG_HOLEPUNCH: u8 = 0x08;
/// Flag: the sender's connection to this peer is outgoing (so the peer is reachable).
pub const FLAG_REACHABLE: u8 = 0x10;

/// One `ut_pex` message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PexMessage {
    /// Peers added, with their flags.
    pub added: Vec<(SocketAddr, u8)>,
    /// Peers dropped.
    pub dropped: Vec<SocketAddr>,
}

fn compact(addrs: impl Iterator<Item = SocketAddr>, v6: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for a in addrs {
        match (a.ip(), v6) {
            (IpAddr::V4(ip), false) => out.extend_from_slice(&ip.octets()),
            (IpAddr::V6(ip), true) => out.extend_from_slice(&ip.octets()),
            _ => continue,
        }
        out.extend_from_slice(&a.port().to_be_bytes());
    }
    out
}

fn parse_compact(bytes: &[u8], v6: bool) -> Vec<SocketAddr> {
    let width = if v6 { 18 } else { 6 };
    bytes
        .chunks_exact(width)
        .take(MAX_PEX_PEERS)
        .map(|c| {
            let port = u16::from_be_bytes([c[width - 2], c[width - 1]]);
            let ip = if v6 {
                let mut o = [0u8; 16];
                o.copy_from_slice(&c[..16]);
                IpAddr::V6(Ipv6Addr::from(o))
            } else {
                IpAddr::V4(Ipv4Addr::new(c[0], c[1], c[2], c[3]))
            };
            SocketAddr::new(ip, port)
        })
        .collect()
}

impl PexMessage {
    /// Encodes the extended-message payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut dict = OwnedValue::dict();
        for v6 in [false, true] {
            let family = |a: &SocketAddr| a.is_ipv6() == v6;
            let added: Vec<&(SocketAddr, u8)> =
                self.added.iter().filter(|(a, _)| family(a)).collect();
            let suffix = if v6 { "6" } else { "" };
            dict.insert(
                format!("added{suffix}"),
                compact(added.iter().map(|(a, _)| *a), v6),
            );
            dict.insert(
                format!("added{suffix}.f"),
                added.iter().map(|(_, f)| *f).collect::<Vec<u8>>(),
            );
            dict.insert(
                format!("dropped{suffix}"),
                compact(self.dropped.iter().copied().filter(family), v6),
            );
        }
        dict.to_bytes()
    }

    /// Decodes an extended-message payload. Missing keys mean empty lists; a flag string
    /// shorter than the peer list gives the remaining peers flags 0; lists are cut at
    /// [`MAX_PEX_PEERS`].
    pub fn decode(payload: &[u8]) -> Result<Self, ExtensionError> {
        let value = decode_dict(payload)?;
        let dict = value.as_dict().ok_or(ExtensionError::NotADict)?;
        let bytes = |k: &str| dict.get_bytes(k.as_bytes()).unwrap_or(&[]);
        let mut msg = PexMessage::default();
        for (v6, suffix) in [(false, ""), (true, "6")] {
            let flags = bytes(&format!("added{suffix}.f"));
            let peers = parse_compact(bytes(&format!("added{suffix}")), v6);
            msg.added.extend(
                peers
                    .into_iter()
                    .enumerate()
                    .map(|(i, a)| (a, flags.get(i).copied().unwrap_or(0))),
            );
            msg.dropped
                .extend(parse_compact(bytes(&format!("dropped{suffix}")), v6));
        }
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodes_compact_lists_per_family() {
        let msg = PexMessage {
            added: vec![
                (
                    "127.0.0.1:6881".parse().unwrap(),
                    FLAG_SEED | FLAG_REACHABLE,
                ),
                ("[::1]:80".parse().unwrap(), 0),
            ],
            dropped: vec!["10.0.0.2:1".parse().unwrap()],
        };
        let bytes = msg.encode();
        let expected_added = b"5:added6:\x7f\x00\x00\x01\x1a\xe17:added.f1:\x12";
        assert!(bytes
            .windows(expected_added.len())
            .any(|w| w == expected_added));
        assert_eq!(PexMessage::decode(&bytes).unwrap(), msg);
    }

    #[test]
    fn lenient_decoding() {
        // no flags at all, a truncated trailing entry, no dropped key
        let payload = b"d5:added8:\x01\x02\x03\x04\x00\x50\xffxe";
        let msg = PexMessage::decode(payload).unwrap();
        assert_eq!(msg.added, vec![("1.2.3.4:80".parse().unwrap(), 0)]);
        assert!(msg.dropped.is_empty());
        assert!(PexMessage::decode(b"le").is_err());
    }

    #[test]
    fn received_lists_are_bounded() {
        let mut dict = OwnedValue::dict();
        dict.insert("added", vec![1u8; 6 * (MAX_PEX_PEERS + 10)]);
        let msg = PexMessage::decode(&dict.to_bytes()).unwrap();
        assert_eq!(msg.added.len(), MAX_PEX_PEERS);
    }

    proptest! {
        #[test]
        fn roundtrip(v4 in proptest::collection::vec((any::<[u8; 4]>(), any::<u16>(), any::<u8>()), 0..10),
                     v6 in proptest::collection::vec((any::<[u8; 16]>(), any::<u16>()), 0..10)) {
            let msg = PexMessage {
                added: v4.iter().map(|(ip, port, f)| (SocketAddr::new(IpAddr::V4(Ipv4Addr::from(*ip)), *port), *f)).collect(),
                dropped: v6.iter().map(|(ip, port)| SocketAddr::new(IpAddr::V6(Ipv6Addr::from(*ip)), *port)).collect(),
            };
            prop_assert_eq!(PexMessage::decode(&msg.encode()).unwrap(), msg);
        }

        #[test]
        fn decode_arbitrary_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = PexMessage::decode(&bytes);
        }
    }
}

//! The 68-byte BitTorrent handshake (BEP 3) and its reserved bits.
//!
//! Layout: `<pstrlen=19><pstr="BitTorrent protocol"><reserved: 8><info_hash: 20><peer_id: 20>`.
//! Reserved bits in use (BEP 10, BEP 6, BEP 5): extension protocol `reserved[5] & 0x10`,
//! fast extension `reserved[7] & 0x04`, DHT `reserved[7] & 0x01`.

use thiserror::Error;

/// The protocol string every BitTorrent v1 handshake carries.
pub const PROTOCOL: &[u8; 19] = b"BitTorrent protocol";

/// Length in bytes of a complete handshake.
pub const HANDSHAKE_LEN: usize = 1 + 19 + 8 + 20 + 20;

/// The eight reserved bytes of the handshake, used to advertise extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Reserved(pub [u8; 8]);

impl Reserved {
    /// No extension advertised.
    pub const NONE: Reserved = Reserved([0; 8]);

    /// Whether the BEP 10 extension protocol bit (`reserved[5] & 0x10`) is set.
    pub fn extension_protocol(&self) -> bool {
        self.0[5] & 0x10 != 0
    }

    /// Whether the BEP 6 fast extension bit (`reserved[7] & 0x04`) is set.
    pub fn fast(&self) -> bool {
        self.0[7] & 0x04 != 0
    }

    /// Whether the BEP 5 DHT bit (`reserved[7] & 0x01`) is set.
    pub fn dht(&self) -> bool {
        self.0[7] & 0x01 != 0
    }

    /// Returns a copy with the extension protocol bit set to `on`.
    pub fn with_extension_protocol(mut self, on: bool) -> Self {
        set_bit(&mut self.0[5], 0x10, on);
        self
    }

    /// Returns a copy with the fast extension bit set to `on`.
    pub fn with_fast(mut self, on: bool) -> Self {
        set_bit(&mut self.0[7], 0x04, on);
        self
    }

    /// Returns a copy with the DHT bit set to `on`.
    pub fn with_dht(mut self, on: bool) -> Self {
        set_bit(&mut self.0[7], 0x01, on);
        self
    }
}

fn set_bit(byte: &mut u8, mask: u8, on: bool) {
    if on {
        *byte |= mask;
    } else {
        *byte &= !mask;
    }
}

/// A parsed or to-be-sent handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Handshake {
    /// Extension bits.
    pub reserved: Reserved,
    /// SHA-1 of the torrent's bencoded `info` dictionary.
    pub info_hash: [u8; 20],
    /// The sender's peer id.
    pub peer_id: [u8; 20],
}

/// Why bytes received as a handshake are not one.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HandshakeError {
    /// The first byte is not 19, the length of "BitTorrent protocol".
    #[error("handshake protocol string length is {0}, expected 19")]
    BadProtocolLength(u8),
    /// The protocol string is not "BitTorrent protocol".
    #[error("handshake protocol string is not \"BitTorrent protocol\"")]
    BadProtocol,
}

impl Handshake {
    /// Builds a handshake.
    pub fn new(reserved: Reserved, info_hash: [u8; 20], peer_id: [u8; 20]) -> Self {
        Handshake {
            reserved,
            info_hash,
            peer_id,
        }
    }

    /// Encodes the handshake into its 68 bytes.
    pub fn encode(&self) -> [u8; HANDSHAKE_LEN] {
        let mut out = [0u8; HANDSHAKE_LEN];
        out[0] = PROTOCOL.len() as u8;
        out[1..20].copy_from_slice(PROTOCOL);
        out[20..28].copy_from_slice(&self.reserved.0);
        out[28..48].copy_from_slice(&self.info_hash);
        out[48..68].copy_from_slice(&self.peer_id);
        out
    }

    /// Parses a handshake from the start of `buf`.
    ///
    /// Returns `Ok(None)` while fewer than 68 bytes are available, but rejects a wrong
    /// protocol string as soon as its bytes arrive, so a non-BitTorrent peer is dropped
    /// early. On success the caller consumes [`HANDSHAKE_LEN`] bytes.
    pub fn decode(buf: &[u8]) -> Result<Option<Handshake>, HandshakeError> {
        let Some(&pstrlen) = buf.first() else {
            return Ok(None);
        };
        if pstrlen as usize != PROTOCOL.len() {
            return Err(HandshakeError::BadProtocolLength(pstrlen));
        }
        let seen = buf.len().min(20);
        if buf[1..seen] != PROTOCOL[..seen - 1] {
            return Err(HandshakeError::BadProtocol);
        }
        if buf.len() < HANDSHAKE_LEN {
            return Ok(None);
        }
        let mut reserved = [0u8; 8];
        reserved.copy_from_slice(&buf[20..28]);
        let mut info_hash = [0u8; 20];
        info_hash.copy_from_slice(&buf[28..48]);
        let mut peer_id = [0u8; 20];
        peer_id.copy_from_slice(&buf[48..68]);
        Ok(Some(Handshake {
            reserved: Reserved(reserved),
            info_hash,
            peer_id,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Handshake {
        Handshake::new(
            Reserved::NONE
                .with_extension_protocol(true)
                .with_fast(true)
                .with_dht(true),
            [0xAA; 20],
            *b"-BS0001-123456789012",
        )
    }

    #[test]
    fn reserved_bits_are_at_the_bep_positions() {
        let r = Reserved::NONE
            .with_extension_protocol(true)
            .with_fast(true)
            .with_dht(true);
        assert_eq!(r.0, [0, 0, 0, 0, 0, 0x10, 0, 0x05]);
        assert!(r.extension_protocol() && r.fast() && r.dht());
        let r = r.with_fast(false);
        assert_eq!(r.0[7], 0x01);
        assert!(!r.fast() && r.dht());
        assert!(!Reserved::NONE.extension_protocol());
    }

    #[test]
    fn encode_layout_is_68_bytes_with_protocol_string() {
        let bytes = sample().encode();
        assert_eq!(bytes.len(), 68);
        assert_eq!(bytes[0], 19);
        assert_eq!(&bytes[1..20], b"BitTorrent protocol");
        assert_eq!(bytes[25], 0x10);
        assert_eq!(bytes[27], 0x05);
        assert_eq!(&bytes[28..48], &[0xAA; 20]);
        assert_eq!(&bytes[48..68], b"-BS0001-123456789012");
    }

    #[test]
    fn decode_roundtrip_and_partial() {
        let bytes = sample().encode();
        assert_eq!(Handshake::decode(&bytes), Ok(Some(sample())));
        for n in 0..68 {
            assert_eq!(Handshake::decode(&bytes[..n]), Ok(None), "prefix {n}");
        }
    }

    #[test]
    fn decode_rejects_wrong_protocol_early() {
        assert_eq!(Handshake::decode(b"\x13BitTorrent"[..].as_ref()), Ok(None));
        assert_eq!(
            Handshake::decode(b"\x13BitTorrenX"),
            Err(HandshakeError::BadProtocol)
        );
        assert_eq!(
            Handshake::decode(b"GET / HTTP/1.1"),
            Err(HandshakeError::BadProtocolLength(b'G'))
        );
    }

    proptest! {
        #[test]
        fn handshake_roundtrip(reserved in any::<[u8; 8]>(), ih in any::<[u8; 20]>(), pid in any::<[u8; 20]>()) {
            let h = Handshake::new(Reserved(reserved), ih, pid);
            prop_assert_eq!(Handshake::decode(&h.encode()), Ok(Some(h)));
        }

        #[test]
        fn handshake_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = Handshake::decode(&bytes);
        }
    }
}

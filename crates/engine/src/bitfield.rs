//! A fixed-length set of piece indices in BEP 3 bit order.
//!
//! BEP 3: "The high bit in the first byte corresponds to piece index 0. Bits that are
//! cleared indicated a missing piece, and set bits indicate a valid and available piece.
//! Spare bits at the end are set to zero." A peer sending set spare bits (or a bitfield of
//! the wrong length) commits a protocol error.

use thiserror::Error;

/// Why bytes received as a bitfield are not valid for this torrent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BitfieldError {
    /// The byte length is not `ceil(pieces / 8)`.
    #[error("bitfield is {got} bytes, expected {expected}")]
    WrongLength {
        /// Bytes received.
        got: usize,
        /// Bytes expected.
        expected: usize,
    },
    /// A bit past the last piece is set.
    #[error("bitfield has spare bits set")]
    SpareBitsSet,
}

/// A set of pieces, one bit per piece, with a cached count of set bits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bitfield {
    bytes: Vec<u8>,
    len: u32,
    ones: u32,
}

impl Bitfield {
    /// An empty set over `len` pieces.
    pub fn new(len: u32) -> Self {
        Bitfield {
            bytes: vec![0; (len as usize).div_ceil(8)],
            len,
            ones: 0,
        }
    }

    /// The full set over `len` pieces (spare bits stay zero).
    pub fn full(len: u32) -> Self {
        let mut bytes = vec![0xFF; (len as usize).div_ceil(8)];
        if len % 8 != 0 {
            if let Some(last) = bytes.last_mut() {
                *last = 0xFFu8 << (8 - len % 8);
            }
        }
        Bitfield {
            bytes,
            len,
            ones: len,
        }
    }

    /// Validates a received bitfield for a torrent of `len` pieces.
    pub fn from_bytes(bytes: &[u8], len: u32) -> Result<Self, BitfieldError> {
        let expected = (len as usize).div_ceil(8);
        if bytes.len() != expected {
            return Err(BitfieldError::WrongLength {
                got: bytes.len(),
                expected,
            });
        }
        if len % 8 != 0 {
            let spare_mask = 0xFFu8 >> (len % 8);
            if bytes[expected - 1] & spare_mask != 0 {
                return Err(BitfieldError::SpareBitsSet);
            }
        }
        let ones = bytes.iter().map(|b| b.count_ones()).sum();
        Ok(Bitfield {
            bytes: bytes.to_vec(),
            len,
            ones,
        })
    }

    /// Number of pieces the set ranges over.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether the set ranges over zero pieces.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of pieces in the set.
    pub fn count(&self) -> u32 {
        self.ones
    }

    /// Whether every piece is in the set.
    pub fn is_full(&self) -> bool {
        self.ones == self.len
    }

    /// Whether no piece is in the set.
    pub fn none(&self) -> bool {
        self.ones == 0
    }

    /// Whether `piece` is in the set (false when out of range).
    pub fn get(&self, piece: u32) -> bool {
        if piece >= self.len {
            return false;
        }
        self.bytes[(piece / 8) as usize] & (0x80 >> (piece % 8)) != 0
    }

    /// Adds or removes `piece`; returns whether the set changed. Out of range: no change.
    pub fn set(&mut self, piece: u32, on: bool) -> bool {
        if piece >= self.len || self.get(piece) == on {
            return false;
        }
        let byte = &mut self.bytes[(piece / 8) as usize];
        let mask = 0x80 >> (piece % 8);
        if on {
            *byte |= mask;
            self.ones += 1;
        } else {
            *byte &= !mask;
            self.ones -= 1;
        }
        true
    }

    /// The raw bytes, ready for a `bitfield` message.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Iterates over the pieces in the set, in increasing order, skipping empty bytes.
    pub fn iter_ones(&self) -> impl Iterator<Item = u32> + '_ {
        self.bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b != 0)
            .flat_map(|(i, b)| {
                (0..8u32)
                    .filter(move |bit| b & (0x80 >> bit) != 0)
                    .map(move |bit| i as u32 * 8 + bit)
            })
    }

    /// Whether some piece is in `self`, in `other` and not in `minus`
    /// (e.g. "peer has, we want, we lack"), byte-wise.
    pub fn intersects_without(&self, other: &Bitfield, minus: &Bitfield) -> bool {
        self.bytes
            .iter()
            .zip(&other.bytes)
            .zip(&minus.bytes)
            .any(|((a, b), m)| a & b & !m != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn high_bit_of_first_byte_is_piece_zero() {
        let mut b = Bitfield::new(10);
        b.set(0, true);
        b.set(9, true);
        assert_eq!(b.as_bytes(), &[0x80, 0x40]);
        assert_eq!(b.count(), 2);
        assert_eq!(b.iter_ones().collect::<Vec<_>>(), vec![0, 9]);
    }

    #[test]
    fn full_keeps_spare_bits_zero() {
        let b = Bitfield::full(10);
        assert_eq!(b.as_bytes(), &[0xFF, 0xC0]);
        assert!(b.is_full());
        assert_eq!(Bitfield::full(16).as_bytes(), &[0xFF, 0xFF]);
    }

    #[test]
    fn from_bytes_rejects_spare_bits_and_wrong_length() {
        assert_eq!(
            Bitfield::from_bytes(&[0xFF, 0xE0], 10),
            Err(BitfieldError::SpareBitsSet)
        );
        assert_eq!(
            Bitfield::from_bytes(&[0xFF], 10),
            Err(BitfieldError::WrongLength {
                got: 1,
                expected: 2
            })
        );
        let b = Bitfield::from_bytes(&[0xFF, 0xC0], 10).unwrap();
        assert!(b.is_full());
    }

    #[test]
    fn set_reports_changes_and_ignores_out_of_range() {
        let mut b = Bitfield::new(3);
        assert!(b.set(1, true));
        assert!(!b.set(1, true));
        assert!(!b.set(3, true));
        assert!(!b.get(100));
        assert!(b.set(1, false));
        assert!(b.none());
    }

    #[test]
    fn intersects_without_is_bytewise_and_not() {
        let mut peer = Bitfield::new(20);
        let mut want = Bitfield::full(20);
        let mut have = Bitfield::new(20);
        peer.set(17, true);
        assert!(peer.intersects_without(&want, &have));
        have.set(17, true);
        assert!(!peer.intersects_without(&want, &have));
        have.set(17, false);
        want.set(17, false);
        assert!(!peer.intersects_without(&want, &have));
    }

    proptest! {
        #[test]
        fn from_bytes_never_panics_and_roundtrips(bytes in proptest::collection::vec(any::<u8>(), 0..16), len in 0u32..130) {
            if let Ok(b) = Bitfield::from_bytes(&bytes, len) {
                prop_assert_eq!(b.as_bytes(), &bytes[..]);
                prop_assert_eq!(b.iter_ones().count() as u32, b.count());
                prop_assert!(b.iter_ones().all(|p| p < len));
            }
        }
    }
}

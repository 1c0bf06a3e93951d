//! 160-bit node ids and the XOR metric.

use std::fmt;

/// A 160-bit DHT node id (also used for info-hashes and lookup targets).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct NodeId(pub [u8; 20]);

impl NodeId {
    /// Length in bytes.
    pub const LEN: usize = 20;

    /// Reads an id from exactly 20 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<NodeId> {
        <[u8; 20]>::try_from(bytes).ok().map(NodeId)
    }

    /// A random id from the given generator.
    pub fn random(rng: &mut impl rand::Rng) -> NodeId {
        let mut id = [0u8; 20];
        rng.fill(&mut id[..]);
        NodeId(id)
    }

    /// The XOR distance to `other`, as a big-endian number (compare with `Ord`).
    pub fn distance(&self, other: &NodeId) -> NodeId {
        let mut d = [0u8; 20];
        for (i, b) in d.iter_mut().enumerate() {
            *b = self.0[i] ^ other.0[i];
        }
        NodeId(d)
    }

    /// The number of leading zero bits (160 for the zero id).
    pub fn leading_zeros(&self) -> usize {
        let mut n = 0;
        for b in self.0 {
            if b == 0 {
                n += 8;
            } else {
                n += b.leading_zeros() as usize;
                break;
            }
        }
        n
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0[..4] {
            write!(f, "{b:02x}")?;
        }
        f.write_str("…")
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl From<[u8; 20]> for NodeId {
    fn from(b: [u8; 20]) -> Self {
        NodeId(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_and_leading_zeros() {
        let a = NodeId([0u8; 20]);
        let mut b = [0u8; 20];
        b[2] = 0x10;
        let b = NodeId(b);
        assert_eq!(a.distance(&b), b);
        assert_eq!(a.distance(&b).leading_zeros(), 19);
        assert_eq!(a.distance(&a).leading_zeros(), 160);
        assert_eq!(NodeId([0xff; 20]).leading_zeros(), 0);
    }
}

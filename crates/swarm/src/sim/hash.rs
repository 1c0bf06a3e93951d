//! [`SegmentHash`]: a segment is identified by its hash only, as in the course.

use std::fmt;

/// A segment hash: exactly 32 ASCII hex characters, kept as written in the in-file (so the
/// output files reproduce the input's case).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SegmentHash([u8; 32]);

impl SegmentHash {
    /// Parse 32 hex characters; `None` otherwise.
    pub fn parse(text: &str) -> Option<Self> {
        Self::from_bytes(text.as_bytes())
    }

    /// From 32 ASCII hex bytes; `None` otherwise.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; 32] = bytes.try_into().ok()?;
        arr.iter()
            .all(u8::is_ascii_hexdigit)
            .then_some(SegmentHash(arr))
    }

    /// The 32 ASCII bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The hash as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl fmt::Display for SegmentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for SegmentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SegmentHash({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_32_hex_chars() {
        assert!(SegmentHash::parse("3fcfb9d1242fdce64aee2bfe35266912").is_some());
        assert!(SegmentHash::parse("3FCFB9D1242FDCE64AEE2BFE35266912").is_some());
        assert!(SegmentHash::parse("3fcfb9d1242fdce64aee2bfe3526691").is_none());
        assert!(SegmentHash::parse("3fcfb9d1242fdce64aee2bfe3526691g").is_none());
        assert!(SegmentHash::parse("3fcfb9d1242fdce64aee2bfe352669123").is_none());
    }
}

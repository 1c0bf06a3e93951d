//! [`CryptoSet`]: the `crypto_provide` / `crypto_select` bit field.

/// A set of crypto methods as sent on the wire (32-bit big-endian bit field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CryptoSet(pub u32);

impl CryptoSet {
    /// Plaintext after the handshake (`0x01`): only the handshake is obfuscated.
    pub const PLAINTEXT: CryptoSet = CryptoSet(0x01);
    /// RC4 for the whole connection (`0x02`).
    pub const RC4: CryptoSet = CryptoSet(0x02);
    /// Both methods.
    pub const BOTH: CryptoSet = CryptoSet(0x03);

    /// Whether every method of `other` is in `self`.
    pub fn contains(self, other: CryptoSet) -> bool {
        other.0 != 0 && self.0 & other.0 == other.0
    }

    /// The methods in both sets.
    pub fn intersect(self, other: CryptoSet) -> CryptoSet {
        CryptoSet(self.0 & other.0)
    }

    /// What a responder allowing `self` selects from a peer's `provided`: RC4 when both
    /// sides have it, else plaintext, else nothing.
    pub fn select_from(self, provided: CryptoSet) -> Option<CryptoSet> {
        let common = self.intersect(provided);
        if common.contains(CryptoSet::RC4) {
            Some(CryptoSet::RC4)
        } else if common.contains(CryptoSet::PLAINTEXT) {
            Some(CryptoSet::PLAINTEXT)
        } else {
            None
        }
    }
}

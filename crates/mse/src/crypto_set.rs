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

    /// What a responder allowing `self` selects from a peer's `provided`. When both
    /// methods are common, `prefer_rc4` decides: `false` (libtorrent's default) selects
    /// plaintext (only the handshake is obfuscated), `true` selects RC4. Otherwise the
    /// one common method, else nothing.
    pub fn select_from(self, provided: CryptoSet, prefer_rc4: bool) -> Option<CryptoSet> {
        let common = self.intersect(provided);
        let rc4 = common.contains(CryptoSet::RC4);
        let plain = common.contains(CryptoSet::PLAINTEXT);
        match (rc4, plain) {
            (true, true) if prefer_rc4 => Some(CryptoSet::RC4),
            (_, true) => Some(CryptoSet::PLAINTEXT),
            (true, false) => Some(CryptoSet::RC4),
            (false, false) => None,
        }
    }
}

//! 20-byte identifiers: [`InfoHash`] (SHA-1 of a torrent's `info`) and [`PeerId`].

use std::fmt;
use std::str::FromStr;

/// Why a string is not an info-hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseIdError {
    /// Neither 40 hex digits nor 32 base32 characters.
    #[error("info-hash {0:?} is neither 40 hex digits nor 32 base32 characters")]
    BadLength(String),
    /// Right length, wrong characters.
    #[error("info-hash {0:?} contains characters that are not valid {1}")]
    BadChars(String, &'static str),
}

/// The v1 info-hash: SHA-1 of the bencoded `info` dictionary as it appears in the file.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InfoHash(pub [u8; 20]);

impl InfoHash {
    /// SHA-1 of the raw bytes of an `info` dictionary.
    pub fn of_info_bytes(raw_info: &[u8]) -> Self {
        InfoHash(crate::sha1::digest(raw_info))
    }

    /// The 20 bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// From a byte slice of length 20.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(InfoHash)
    }

    /// Lowercase hex (40 characters).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parse 40 hex digits (either case).
    pub fn from_hex(s: &str) -> Result<Self, ParseIdError> {
        if s.len() != 40 {
            return Err(ParseIdError::BadLength(s.to_owned()));
        }
        let mut out = [0u8; 20];
        hex::decode_to_slice(s, &mut out)
            .map_err(|_| ParseIdError::BadChars(s.to_owned(), "hex"))?;
        Ok(InfoHash(out))
    }

    /// Parse 32 base32 characters (RFC 4648, either case), as old magnet links use.
    pub fn from_base32(s: &str) -> Result<Self, ParseIdError> {
        if s.len() != 32 {
            return Err(ParseIdError::BadLength(s.to_owned()));
        }
        let upper = s.to_ascii_uppercase();
        let bytes = data_encoding::BASE32_NOPAD
            .decode(upper.as_bytes())
            .map_err(|_| ParseIdError::BadChars(s.to_owned(), "base32"))?;
        Self::from_slice(&bytes).ok_or_else(|| ParseIdError::BadLength(s.to_owned()))
    }

    /// Percent-encoded form for tracker URLs (`info_hash=`).
    pub fn url_encoded(&self) -> String {
        percent_encoding::percent_encode(&self.0, percent_encoding::NON_ALPHANUMERIC).to_string()
    }
}

impl FromStr for InfoHash {
    type Err = ParseIdError;

    /// Hex (40) or base32 (32).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.len() {
            40 => Self::from_hex(s),
            32 => Self::from_base32(s),
            _ => Err(ParseIdError::BadLength(s.to_owned())),
        }
    }
}

impl fmt::Display for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InfoHash({})", self.to_hex())
    }
}

/// A peer's 20-byte id (BEP 20 style: a client prefix such as `-BS0001-`, then random).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub [u8; 20]);

impl PeerId {
    /// bitswarm's client prefix (BEP 20 Azureus style).
    pub const PREFIX: &'static [u8; 8] = b"-BS0001-";

    /// A peer id made of `prefix` (at most 20 bytes are used) followed by `random` bytes.
    /// Randomness is passed in: this crate draws no random numbers.
    pub fn with_prefix(prefix: &[u8], random: [u8; 20]) -> Self {
        let mut id = random;
        let n = prefix.len().min(20);
        id[..n].copy_from_slice(&prefix[..n]);
        PeerId(id)
    }

    /// The 20 bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// From a byte slice of length 20.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(PeerId)
    }
}

/// Printable bytes as text, the rest escaped (`-BS0001-\x8f...`).
impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.escape_ascii())
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_base32_agree() {
        let h: InfoHash = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a".parse().unwrap();
        let b: InfoHash = "YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK".parse().unwrap();
        assert_eq!(h, b);
        assert_eq!(h.to_string(), "c12fe1c06bba254a9dc9f519b335aa7c1367a88a");
        let lower: InfoHash = "yex6dqdlxisuvhoj6um3gnnkpqjwpkek".parse().unwrap();
        assert_eq!(lower, h);
        assert!("zz2fe1c06bba254a9dc9f519b335aa7c1367a88a"
            .parse::<InfoHash>()
            .is_err());
        assert!("abc".parse::<InfoHash>().is_err());
        assert!("1EX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK"
            .parse::<InfoHash>()
            .is_err());
    }

    #[test]
    fn peer_id_prefix() {
        let id = PeerId::with_prefix(PeerId::PREFIX, [b'x'; 20]);
        assert_eq!(&id.0[..8], b"-BS0001-");
        assert_eq!(id.to_string(), "-BS0001-xxxxxxxxxxxx");
    }
}

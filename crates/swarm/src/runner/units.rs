//! The value types of scenario fields that take units: sizes ([`ByteSize`]), rates
//! ([`Rate`], where 0 or "unlimited" means no cap) and piece lengths ([`PieceLength`]),
//! readable from TOML as integers or strings like `"64MiB"`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A byte count: an integer or a string with a unit (`"64MiB"`, `"512K"`, `"1G"`;
/// K/M/G and KiB/MiB/GiB are powers of 1024, kB/MB/GB powers of 1000).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteSize(pub u64);

/// A rate in bytes/s: an integer or a string like `"2MiB"`, `"500K/s"`; `0`,
/// `"unlimited"` or `"none"` mean no cap (`None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate(pub Option<u64>);

/// A piece length: `"auto"` or a size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PieceLength {
    /// Chosen from the file size.
    Auto,
    /// This many bytes (a power of two, at least 16 KiB).
    Bytes(u32),
}

/// Parses a size with an optional unit (see [`ByteSize`]).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    if t.ends_with("/s") {
        return Err(format!("{s:?}: a size, not a rate"));
    }
    match bitswarm_net::parse_rate(t) {
        Ok(v) => Ok(v.unwrap_or(0)),
        Err(_) => Err(format!(
            "{s:?}: expected a size like 64MiB, 512K or 1048576"
        )),
    }
}

/// Parses a rate (see [`Rate`]).
pub fn parse_rate(s: &str) -> Result<Option<u64>, String> {
    let t = s.trim();
    if matches!(
        t.to_ascii_lowercase().as_str(),
        "unlimited" | "none" | "uncapped" | "inf"
    ) {
        return Ok(None);
    }
    bitswarm_net::parse_rate(t)
        .map_err(|_| format!("{s:?}: expected a rate like 2MiB, 500K/s, 0 or unlimited"))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrText {
    Num(u64),
    Text(String),
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match NumOrText::deserialize(d)? {
            NumOrText::Num(n) => Ok(ByteSize(n)),
            NumOrText::Text(t) => parse_size(&t)
                .map(ByteSize)
                .map_err(serde::de::Error::custom),
        }
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match NumOrText::deserialize(d)? {
            NumOrText::Num(0) => Ok(Rate(None)),
            NumOrText::Num(n) => Ok(Rate(Some(n))),
            NumOrText::Text(t) => parse_rate(&t).map(Rate).map_err(serde::de::Error::custom),
        }
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // 0 reads back as "no cap".
        s.serialize_u64(self.0.unwrap_or(0))
    }
}

impl<'de> Deserialize<'de> for PieceLength {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes = match NumOrText::deserialize(d)? {
            NumOrText::Text(t) if t.trim().eq_ignore_ascii_case("auto") => {
                return Ok(PieceLength::Auto)
            }
            NumOrText::Num(n) => n,
            NumOrText::Text(t) => parse_size(&t).map_err(serde::de::Error::custom)?,
        };
        match u32::try_from(bytes) {
            Ok(b) if b >= 16 * 1024 && b.is_power_of_two() => Ok(PieceLength::Bytes(b)),
            _ => Err(serde::de::Error::custom(format!(
                "piece_length {bytes}: must be \"auto\" or a power of two of at least 16 KiB"
            ))),
        }
    }
}

impl Serialize for PieceLength {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PieceLength::Auto => s.serialize_str("auto"),
            PieceLength::Bytes(b) => s.serialize_u32(*b),
        }
    }
}

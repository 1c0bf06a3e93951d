//! [`OwnedValue`]: a bencode value to build and encode.

use std::collections::BTreeMap;

use crate::encode::{write_bytes, write_int};

/// A bencode value that owns its data, for building messages and files.
///
/// Dictionaries are `BTreeMap`s keyed by bytes, so encoding writes keys in the canonical
/// (ascending byte) order without further work.
///
/// ```
/// use bitswarm_bencode::OwnedValue;
/// let mut reply = OwnedValue::dict();
/// reply.insert("interval", 1800);
/// reply.insert("peers", b"\x7f\x00\x00\x01\x1a\xe1".to_vec());
/// assert_eq!(reply.to_bytes(), b"d8:intervali1800e5:peers6:\x7f\x00\x00\x01\x1a\xe1e");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedValue {
    /// An integer.
    Int(i64),
    /// A byte string.
    Bytes(Vec<u8>),
    /// A list.
    List(Vec<OwnedValue>),
    /// A dictionary (sorted by key).
    Dict(BTreeMap<Vec<u8>, OwnedValue>),
    /// Bytes that are already bencode, written verbatim. Use it to embed an `info`
    /// dictionary exactly as received so its info-hash does not change.
    Raw(Vec<u8>),
}

impl OwnedValue {
    /// An empty dictionary.
    pub fn dict() -> Self {
        OwnedValue::Dict(BTreeMap::new())
    }

    /// Insert into a dictionary; returns the previous value. Does nothing (and returns
    /// `None`) when `self` is not a dictionary.
    pub fn insert(
        &mut self,
        key: impl Into<Vec<u8>>,
        value: impl Into<OwnedValue>,
    ) -> Option<OwnedValue> {
        match self {
            OwnedValue::Dict(d) => d.insert(key.into(), value.into()),
            _ => None,
        }
    }

    /// Look up a key in a dictionary.
    pub fn get(&self, key: &[u8]) -> Option<&OwnedValue> {
        match self {
            OwnedValue::Dict(d) => d.get(key),
            _ => None,
        }
    }

    /// Append the canonical encoding to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            OwnedValue::Int(i) => write_int(out, *i),
            OwnedValue::Bytes(b) => write_bytes(out, b),
            OwnedValue::List(items) => {
                out.push(b'l');
                for item in items {
                    item.encode_into(out);
                }
                out.push(b'e');
            }
            OwnedValue::Dict(d) => {
                out.push(b'd');
                for (k, v) in d {
                    write_bytes(out, k);
                    v.encode_into(out);
                }
                out.push(b'e');
            }
            OwnedValue::Raw(raw) => out.extend_from_slice(raw),
        }
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }
}

impl From<i64> for OwnedValue {
    fn from(v: i64) -> Self {
        OwnedValue::Int(v)
    }
}

impl From<i32> for OwnedValue {
    fn from(v: i32) -> Self {
        OwnedValue::Int(v.into())
    }
}

impl From<u32> for OwnedValue {
    fn from(v: u32) -> Self {
        OwnedValue::Int(v.into())
    }
}

impl From<Vec<u8>> for OwnedValue {
    fn from(v: Vec<u8>) -> Self {
        OwnedValue::Bytes(v)
    }
}

impl From<&[u8]> for OwnedValue {
    fn from(v: &[u8]) -> Self {
        OwnedValue::Bytes(v.to_vec())
    }
}

impl From<&str> for OwnedValue {
    fn from(v: &str) -> Self {
        OwnedValue::Bytes(v.as_bytes().to_vec())
    }
}

impl From<String> for OwnedValue {
    fn from(v: String) -> Self {
        OwnedValue::Bytes(v.into_bytes())
    }
}

impl From<Vec<OwnedValue>> for OwnedValue {
    fn from(v: Vec<OwnedValue>) -> Self {
        OwnedValue::List(v)
    }
}

impl From<BTreeMap<Vec<u8>, OwnedValue>> for OwnedValue {
    fn from(v: BTreeMap<Vec<u8>, OwnedValue>) -> Self {
        OwnedValue::Dict(v)
    }
}

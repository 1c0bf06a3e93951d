//! Canonical encoding: minimal integers, length-prefixed strings, dictionary keys in
//! ascending byte order.

use crate::owned::OwnedValue;
use crate::value::{Kind, Value};

/// Append `i<n>e`.
pub fn write_int(out: &mut Vec<u8>, n: i64) {
    out.push(b'i');
    out.extend_from_slice(n.to_string().as_bytes());
    out.push(b'e');
}

/// Append `<len>:<bytes>`.
pub fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(bytes);
}

/// Encode an [`OwnedValue`] canonically.
pub fn encode(value: &OwnedValue) -> Vec<u8> {
    let mut out = Vec::new();
    value.encode_into(&mut out);
    out
}

/// Append the canonical encoding of a decoded value (keys re-sorted if they were not).
pub(crate) fn write_value(out: &mut Vec<u8>, value: &Value<'_>) {
    match value.kind() {
        Kind::Int(i) => write_int(out, *i),
        Kind::Bytes(b) => write_bytes(out, b),
        Kind::List(items) => {
            out.push(b'l');
            for item in items {
                write_value(out, item);
            }
            out.push(b'e');
        }
        Kind::Dict(d) => {
            let mut entries: Vec<_> = d.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push(b'd');
            for (k, v) in entries {
                write_bytes(out, k);
                write_value(out, v);
            }
            out.push(b'e');
        }
    }
}

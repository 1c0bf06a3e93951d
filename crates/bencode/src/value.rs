//! The decoded tree: values borrow from the input and remember their raw bytes.

use std::fmt;

/// One decoded bencode value, borrowing from the input it was parsed from.
///
/// Besides its content ([`Value::kind`]), a value knows the exact bytes it was parsed from
/// ([`Value::raw`]) and where they start ([`Value::offset`]). Hash `raw()` of the `info`
/// dictionary to get an info-hash that matches other clients even for non-canonical input.
#[derive(Clone, PartialEq, Eq)]
pub struct Value<'a> {
    pub(crate) raw: &'a [u8],
    pub(crate) offset: usize,
    pub(crate) kind: Kind<'a>,
}

/// The content of a [`Value`].
#[derive(Clone, PartialEq, Eq)]
pub enum Kind<'a> {
    /// `i<n>e`
    Int(i64),
    /// `<len>:<bytes>`; not necessarily UTF-8.
    Bytes(&'a [u8]),
    /// `l...e`
    List(Vec<Value<'a>>),
    /// `d...e`
    Dict(Dict<'a>),
}

/// A decoded dictionary: keys and values in the order they appeared in the input
/// (keys are unique; they are sorted when the input was canonical).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Dict<'a> {
    pub(crate) entries: Vec<(&'a [u8], Value<'a>)>,
}

impl<'a> Value<'a> {
    /// The exact input bytes this value was decoded from.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Byte offset of this value from the start of the decoded input.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The content of this value.
    pub fn kind(&self) -> &Kind<'a> {
        &self.kind
    }

    /// The integer, if this is an integer.
    pub fn as_int(&self) -> Option<i64> {
        match self.kind {
            Kind::Int(i) => Some(i),
            _ => None,
        }
    }

    /// The bytes, if this is a byte string.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self.kind {
            Kind::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The string, if this is a byte string holding valid UTF-8.
    pub fn as_str(&self) -> Option<&'a str> {
        self.as_bytes().and_then(|b| std::str::from_utf8(b).ok())
    }

    /// The items, if this is a list.
    pub fn as_list(&self) -> Option<&[Value<'a>]> {
        match &self.kind {
            Kind::List(l) => Some(l),
            _ => None,
        }
    }

    /// The dictionary, if this is a dictionary.
    pub fn as_dict(&self) -> Option<&Dict<'a>> {
        match &self.kind {
            Kind::Dict(d) => Some(d),
            _ => None,
        }
    }

    /// A short name of this value's type, for error messages ("integer", "string", ...).
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Int(_) => "integer",
            Kind::Bytes(_) => "string",
            Kind::List(_) => "list",
            Kind::Dict(_) => "dictionary",
        }
    }

    /// Copy into an [`crate::OwnedValue`] (e.g. to modify and re-encode).
    pub fn to_owned_value(&self) -> crate::OwnedValue {
        use crate::OwnedValue;
        match &self.kind {
            Kind::Int(i) => OwnedValue::Int(*i),
            Kind::Bytes(b) => OwnedValue::Bytes(b.to_vec()),
            Kind::List(l) => OwnedValue::List(l.iter().map(Value::to_owned_value).collect()),
            Kind::Dict(d) => OwnedValue::Dict(
                d.iter()
                    .map(|(k, v)| (k.to_vec(), v.to_owned_value()))
                    .collect(),
            ),
        }
    }

    /// Canonical encoding of this value (sorted keys, minimal numbers). Equal to
    /// [`Value::raw`] exactly when the input was canonical.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.raw.len());
        crate::encode::write_value(&mut out, self);
        out
    }
}

impl<'a> Dict<'a> {
    /// The value under `key`, if present.
    pub fn get(&self, key: &[u8]) -> Option<&Value<'a>> {
        self.entries.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The integer under `key`; `None` if absent or of another type.
    pub fn get_int(&self, key: &[u8]) -> Option<i64> {
        self.get(key).and_then(Value::as_int)
    }

    /// The byte string under `key`; `None` if absent or of another type.
    pub fn get_bytes(&self, key: &[u8]) -> Option<&'a [u8]> {
        self.get(key).and_then(Value::as_bytes)
    }

    /// The UTF-8 string under `key`; `None` if absent, of another type or not UTF-8.
    pub fn get_str(&self, key: &[u8]) -> Option<&'a str> {
        self.get(key).and_then(Value::as_str)
    }

    /// The list under `key`; `None` if absent or of another type.
    pub fn get_list(&self, key: &[u8]) -> Option<&[Value<'a>]> {
        self.get(key).and_then(Value::as_list)
    }

    /// The dictionary under `key`; `None` if absent or of another type.
    pub fn get_dict(&self, key: &[u8]) -> Option<&Dict<'a>> {
        self.get(key).and_then(Value::as_dict)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Entries in input order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a [u8], &Value<'a>)> {
        self.entries.iter().map(|(k, v)| (*k, v))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the dictionary has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Debug shows strings as text when printable, so test failures are readable.
impl fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.kind, f)
    }
}

impl fmt::Debug for Kind<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Int(i) => write!(f, "{i}"),
            Kind::Bytes(b) => write!(f, "b\"{}\"", b.escape_ascii()),
            Kind::List(l) => f.debug_list().entries(l).finish(),
            Kind::Dict(d) => fmt::Debug::fmt(d, f),
        }
    }
}

impl fmt::Debug for Dict<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in &self.entries {
            m.entry(&format_args!("b\"{}\"", k.escape_ascii()), v);
        }
        m.finish()
    }
}

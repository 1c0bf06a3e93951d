//! The parser: bytes in, a [`Value`] tree borrowing from them out.
//!
//! Limits protect against hostile input: nesting depth (recursion), the number of values
//! (memory), and every declared string length is checked against the bytes actually left
//! before anything is read, so a huge length costs nothing.

use std::collections::BTreeSet;

use crate::error::DecodeError;
use crate::value::{Dict, Kind, Value};

/// Default limit on nesting of lists and dictionaries.
pub const DEFAULT_MAX_DEPTH: usize = 100;
/// Default limit on the number of values in one input.
pub const DEFAULT_MAX_VALUES: usize = 2_000_000;

/// Decode exactly one value that spans the whole input, with default limits and
/// lenient about non-canonical forms (unsorted keys, leading zeros), as other clients are.
pub fn decode(input: &[u8]) -> Result<Value<'_>, DecodeError> {
    Decoder::new().decode(input)
}

/// Decode one value at the start of `input` and return it with the number of bytes it
/// used; anything after it is left alone (BEP 9 `ut_metadata` data follows a dictionary).
pub fn decode_prefix(input: &[u8]) -> Result<(Value<'_>, usize), DecodeError> {
    Decoder::new().decode_prefix(input)
}

/// A configurable decoder: limits and strictness.
#[derive(Debug, Clone, Copy)]
pub struct Decoder {
    max_depth: usize,
    max_values: usize,
    strict: bool,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A lenient decoder with [`DEFAULT_MAX_DEPTH`] and [`DEFAULT_MAX_VALUES`].
    pub fn new() -> Self {
        Decoder {
            max_depth: DEFAULT_MAX_DEPTH,
            max_values: DEFAULT_MAX_VALUES,
            strict: false,
        }
    }

    /// Refuse lists/dictionaries nested deeper than `depth`.
    pub fn max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }

    /// Refuse inputs holding more than `count` values in total.
    pub fn max_values(mut self, count: usize) -> Self {
        self.max_values = count;
        self
    }

    /// In strict mode only canonical bencode is accepted: sorted dictionary keys, no
    /// leading zeros, no negative zero.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Decode exactly one value spanning all of `input`.
    pub fn decode<'a>(&self, input: &'a [u8]) -> Result<Value<'a>, DecodeError> {
        let (value, used) = self.decode_prefix(input)?;
        if used != input.len() {
            return Err(DecodeError::TrailingData { offset: used });
        }
        Ok(value)
    }

    /// Decode one value at the start of `input`; returns it and the bytes it used.
    pub fn decode_prefix<'a>(&self, input: &'a [u8]) -> Result<(Value<'a>, usize), DecodeError> {
        let mut p = Parser {
            input,
            pos: 0,
            values: 0,
            cfg: *self,
        };
        let v = p.value(0)?;
        Ok((v, p.pos))
    }
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    values: usize,
    cfg: Decoder,
}

impl<'a> Parser<'a> {
    fn peek(&self, context: &'static str) -> Result<u8, DecodeError> {
        self.input
            .get(self.pos)
            .copied()
            .ok_or(DecodeError::UnexpectedEof {
                offset: self.pos,
                context,
            })
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>, DecodeError> {
        let start = self.pos;
        self.values += 1;
        if self.values > self.cfg.max_values {
            return Err(DecodeError::TooManyValues {
                offset: start,
                limit: self.cfg.max_values,
            });
        }
        let kind = match self.peek("a value")? {
            b'i' => Kind::Int(self.int()?),
            b'0'..=b'9' => Kind::Bytes(self.bytes()?),
            b'l' => Kind::List(self.list(depth + 1)?),
            b'd' => Kind::Dict(self.dict(depth + 1)?),
            byte => {
                return Err(DecodeError::UnexpectedByte {
                    offset: start,
                    byte,
                    expected: "a value ('i', 'l', 'd' or a digit)",
                })
            }
        };
        Ok(Value {
            raw: &self.input[start..self.pos],
            offset: start,
            kind,
        })
    }

    fn check_depth(&self, depth: usize) -> Result<(), DecodeError> {
        if depth > self.cfg.max_depth {
            return Err(DecodeError::TooDeep {
                offset: self.pos,
                limit: self.cfg.max_depth,
            });
        }
        Ok(())
    }

    /// `i<digits>e`, with the position on the `i`.
    fn int(&mut self) -> Result<i64, DecodeError> {
        const WHAT: &str = "integer";
        let start = self.pos;
        self.pos += 1;
        let negative = self.peek(WHAT)? == b'-';
        if negative {
            self.pos += 1;
        }
        let digits_start = self.pos;
        // Accumulate as a negative number so that i64::MIN fits.
        let mut acc: i64 = 0;
        loop {
            match self.peek(WHAT)? {
                c @ b'0'..=b'9' => {
                    acc = acc
                        .checked_mul(10)
                        .and_then(|a| a.checked_sub(i64::from(c - b'0')))
                        .ok_or(DecodeError::NumberOverflow {
                            offset: start,
                            what: WHAT,
                        })?;
                    self.pos += 1;
                }
                b'e' => break,
                byte => {
                    return Err(DecodeError::UnexpectedByte {
                        offset: self.pos,
                        byte,
                        expected: "a digit or 'e' in an integer",
                    })
                }
            }
        }
        let digits = &self.input[digits_start..self.pos];
        if digits.is_empty() {
            return Err(DecodeError::MalformedNumber {
                offset: start,
                what: WHAT,
            });
        }
        self.pos += 1; // 'e'
        if self.cfg.strict && ((digits.len() > 1 && digits[0] == b'0') || (negative && acc == 0)) {
            return Err(DecodeError::NonCanonical {
                offset: start,
                what: WHAT,
            });
        }
        if negative {
            Ok(acc)
        } else {
            acc.checked_neg().ok_or(DecodeError::NumberOverflow {
                offset: start,
                what: WHAT,
            })
        }
    }

    /// `<len>:<bytes>`, with the position on the first digit.
    fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        const WHAT: &str = "string length";
        let start = self.pos;
        let mut len: u64 = 0;
        loop {
            match self.peek(WHAT)? {
                c @ b'0'..=b'9' => {
                    len = len
                        .checked_mul(10)
                        .and_then(|l| l.checked_add(u64::from(c - b'0')))
                        .ok_or(DecodeError::NumberOverflow {
                            offset: start,
                            what: WHAT,
                        })?;
                    self.pos += 1;
                }
                b':' => break,
                byte => {
                    return Err(DecodeError::UnexpectedByte {
                        offset: self.pos,
                        byte,
                        expected: "a digit or ':' in a string length",
                    })
                }
            }
        }
        if self.cfg.strict && self.pos - start > 1 && self.input[start] == b'0' {
            return Err(DecodeError::NonCanonical {
                offset: start,
                what: WHAT,
            });
        }
        self.pos += 1; // ':'
        let available = self.input.len() - self.pos;
        let n = match usize::try_from(len) {
            Ok(n) if n <= available => n,
            _ => {
                return Err(DecodeError::LengthTooLarge {
                    offset: start,
                    declared: len,
                    available,
                })
            }
        };
        let s = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn list(&mut self, depth: usize) -> Result<Vec<Value<'a>>, DecodeError> {
        self.check_depth(depth)?;
        self.pos += 1; // 'l'
        let mut items = Vec::new();
        loop {
            if self.peek("a list")? == b'e' {
                self.pos += 1;
                return Ok(items);
            }
            items.push(self.value(depth)?);
        }
    }

    fn dict(&mut self, depth: usize) -> Result<Dict<'a>, DecodeError> {
        self.check_depth(depth)?;
        self.pos += 1; // 'd'
        let mut entries: Vec<(&'a [u8], Value<'a>)> = Vec::new();
        // While keys arrive sorted, comparing with the previous key finds duplicates;
        // after the first out-of-order key, a set of all keys does.
        let mut seen: Option<BTreeSet<&'a [u8]>> = None;
        loop {
            let key_at = self.pos;
            match self.peek("a dictionary")? {
                b'e' => {
                    self.pos += 1;
                    return Ok(Dict { entries });
                }
                b'0'..=b'9' => {}
                byte => {
                    return Err(DecodeError::UnexpectedByte {
                        offset: key_at,
                        byte,
                        expected: "a string key or 'e' in a dictionary",
                    })
                }
            }
            self.values += 1;
            let key = self.bytes()?;
            self.check_key(key, key_at, &entries, &mut seen)?;
            let value = self.value(depth)?;
            entries.push((key, value));
        }
    }

    /// Refuse a duplicate key (and, in strict mode, an out-of-order one).
    fn check_key(
        &self,
        key: &'a [u8],
        key_at: usize,
        entries: &[(&'a [u8], Value<'a>)],
        seen: &mut Option<BTreeSet<&'a [u8]>>,
    ) -> Result<(), DecodeError> {
        let key_text = || String::from_utf8_lossy(key).into_owned();
        let duplicate = || DecodeError::DuplicateKey {
            offset: key_at,
            key: key_text(),
        };
        if let Some(set) = seen {
            return if set.insert(key) {
                Ok(())
            } else {
                Err(duplicate())
            };
        }
        match entries.last() {
            Some((prev, _)) if key == *prev => Err(duplicate()),
            Some((prev, _)) if key < *prev => {
                if self.cfg.strict {
                    return Err(DecodeError::UnsortedKey {
                        offset: key_at,
                        key: key_text(),
                    });
                }
                let mut set: BTreeSet<&'a [u8]> = entries.iter().map(|(k, _)| *k).collect();
                if !set.insert(key) {
                    return Err(duplicate());
                }
                *seen = Some(set);
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

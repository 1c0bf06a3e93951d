//! A compact byte encoding for the simulation's messages: fixed-width big-endian integers,
//! length-prefixed strings, raw 32-byte hashes. It works on plain byte buffers, so the
//! messages travel unchanged over threads and MPI.

use super::hash::SegmentHash;

/// A message that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The buffer ended in the middle of a field.
    #[error("message truncated")]
    Truncated,
    /// An unknown message kind byte.
    #[error("unknown message kind {0}")]
    UnknownKind(u8),
    /// A string field is not UTF-8.
    #[error("a text field is not UTF-8")]
    BadText,
    /// A hash field is not 32 hex characters.
    #[error("a hash field is not 32 hex characters")]
    BadHash,
    /// Bytes left over after the message.
    #[error("{0} unexpected bytes after the message")]
    Trailing(usize),
}

/// Appends fields to a buffer.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn new(kind: u8) -> Self {
        Writer { buf: vec![kind] }
    }
    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    pub(crate) fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// A string of at most 65,535 bytes (longer ones are cut; ours are at most 15, or an
    /// error line).
    pub(crate) fn str(&mut self, s: &str) -> &mut Self {
        let mut end = s.len().min(u16::MAX as usize);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.u16(end as u16);
        self.buf.extend_from_slice(&s.as_bytes()[..end]);
        self
    }
    pub(crate) fn hash(&mut self, h: &SegmentHash) -> &mut Self {
        self.buf.extend_from_slice(h.as_bytes());
        self
    }
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }
}

/// Reads fields from a buffer.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { rest: buf }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(DecodeError::Truncated);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
    pub(crate) fn str(&mut self) -> Result<String, DecodeError> {
        let n = self.u16()? as usize;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| DecodeError::BadText)
    }
    pub(crate) fn hash(&mut self) -> Result<SegmentHash, DecodeError> {
        SegmentHash::from_bytes(self.take(32)?).ok_or(DecodeError::BadHash)
    }
    /// A count of items that each take at least `min_item` bytes, checked against what is
    /// left so a corrupt count cannot make us allocate much.
    pub(crate) fn count(&mut self, min_item: usize) -> Result<usize, DecodeError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_item.max(1)) > self.rest.len() {
            return Err(DecodeError::Truncated);
        }
        Ok(n)
    }
    pub(crate) fn end(&self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::Trailing(self.rest.len()))
        }
    }
}

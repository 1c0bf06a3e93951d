//! Decoding errors: each says what was wrong and the byte offset where it was found.

/// Why a byte string is not acceptable bencode. Every variant carries the byte offset
/// (from the start of the input) where the problem was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ended in the middle of a value.
    #[error("bencode: unexpected end of input at byte {offset} while reading {context}")]
    UnexpectedEof {
        /// Offset where more input was needed.
        offset: usize,
        /// What was being read.
        context: &'static str,
    },
    /// A byte that cannot start or continue a value here.
    #[error("bencode: unexpected byte 0x{byte:02x} at byte {offset}, expected {expected}")]
    UnexpectedByte {
        /// Offset of the byte.
        offset: usize,
        /// The byte found.
        byte: u8,
        /// What would have been valid.
        expected: &'static str,
    },
    /// An integer (`i...e`) or a string length that is not a valid decimal number.
    #[error("bencode: malformed {what} at byte {offset}")]
    MalformedNumber {
        /// Offset of the first byte of the number.
        offset: usize,
        /// "integer" or "string length".
        what: &'static str,
    },
    /// A number that does not fit in 64 bits.
    #[error("bencode: {what} at byte {offset} does not fit in 64 bits")]
    NumberOverflow {
        /// Offset of the first byte of the number.
        offset: usize,
        /// "integer" or "string length".
        what: &'static str,
    },
    /// A string whose declared length runs past the end of the input.
    #[error(
        "bencode: string at byte {offset} declares {declared} bytes but only {available} remain"
    )]
    LengthTooLarge {
        /// Offset of the string's length prefix.
        offset: usize,
        /// The declared length.
        declared: u64,
        /// Bytes left in the input after the `:`.
        available: usize,
    },
    /// Lists and dictionaries nested deeper than the decoder's limit.
    #[error("bencode: nesting deeper than {limit} levels at byte {offset}")]
    TooDeep {
        /// Offset of the list or dictionary that went over the limit.
        offset: usize,
        /// The limit in force.
        limit: usize,
    },
    /// More values than the decoder's limit (protects memory on hostile input).
    #[error("bencode: more than {limit} values at byte {offset}")]
    TooManyValues {
        /// Offset of the value that went over the limit.
        offset: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The same key twice in one dictionary.
    #[error("bencode: duplicate dictionary key {key:?} at byte {offset}")]
    DuplicateKey {
        /// Offset of the second occurrence.
        offset: usize,
        /// The key, lossily shown as text.
        key: String,
    },
    /// Strict mode only: keys not in ascending byte order.
    #[error("bencode: dictionary key {key:?} at byte {offset} is out of order")]
    UnsortedKey {
        /// Offset of the key.
        offset: usize,
        /// The key, lossily shown as text.
        key: String,
    },
    /// Strict mode only: a number with leading zeros or a negative zero.
    #[error("bencode: non-canonical {what} at byte {offset}")]
    NonCanonical {
        /// Offset of the number.
        offset: usize,
        /// "integer" or "string length".
        what: &'static str,
    },
    /// Bytes left over after a complete value (use [`crate::decode_prefix`] to allow them).
    #[error("bencode: trailing data at byte {offset} after the end of the value")]
    TrailingData {
        /// Offset of the first extra byte.
        offset: usize,
    },
}

impl DecodeError {
    /// Byte offset in the input where the problem was found.
    pub fn offset(&self) -> usize {
        match *self {
            DecodeError::UnexpectedEof { offset, .. }
            | DecodeError::UnexpectedByte { offset, .. }
            | DecodeError::MalformedNumber { offset, .. }
            | DecodeError::NumberOverflow { offset, .. }
            | DecodeError::LengthTooLarge { offset, .. }
            | DecodeError::TooDeep { offset, .. }
            | DecodeError::TooManyValues { offset, .. }
            | DecodeError::DuplicateKey { offset, .. }
            | DecodeError::UnsortedKey { offset, .. }
            | DecodeError::NonCanonical { offset, .. }
            | DecodeError::TrailingData { offset } => offset,
        }
    }
}

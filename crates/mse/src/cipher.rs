//! RC4 streams of an encrypted connection.

use crate::rc4::Rc4;

/// Keystream bytes discarded before use (the spec's RC4-drop1024).
pub const DISCARD: usize = 1024;

/// One direction's RC4 keystream.
pub struct Rc4Stream(Rc4);

impl std::fmt::Debug for Rc4Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rc4Stream")
    }
}

impl Rc4Stream {
    /// A stream keyed with `key`, its first 1024 bytes already discarded.
    pub fn new(key: &[u8; 20]) -> Self {
        let mut rc4 = Rc4::new(key);
        let mut discard = [0u8; DISCARD];
        rc4.apply(&mut discard);
        Rc4Stream(rc4)
    }

    /// Encrypts or decrypts `buf` in place (RC4 is its own inverse).
    pub fn apply(&mut self, buf: &mut [u8]) {
        self.0.apply(buf);
    }

    /// Writes `input` xor keystream into `output` (one pass, for buffers that cannot be
    /// changed in place). Only the shorter length of the two is processed.
    pub fn apply_to(&mut self, input: &[u8], output: &mut [u8]) {
        let n = input.len().min(output.len());
        self.0.apply_to(&input[..n], &mut output[..n]);
    }
}

/// The two RC4 streams of a connection: `encrypt` for bytes we send, `decrypt` for bytes
/// we receive. Each may move to its own task.
#[derive(Debug)]
pub struct Rc4Pair {
    /// For outgoing bytes.
    pub encrypt: Rc4Stream,
    /// For incoming bytes.
    pub decrypt: Rc4Stream,
}

//! RC4 streams of an encrypted connection.

use rc4::consts::U20;
use rc4::{KeyInit, Rc4, StreamCipher};

/// Keystream bytes discarded before use (the spec's RC4-drop1024).
pub const DISCARD: usize = 1024;

/// One direction's RC4 keystream.
pub struct Rc4Stream(Rc4<U20>);

impl std::fmt::Debug for Rc4Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rc4Stream")
    }
}

impl Rc4Stream {
    /// A stream keyed with `key`, its first 1024 bytes already discarded.
    pub fn new(key: &[u8; 20]) -> Self {
        let mut rc4 = Rc4::<U20>::new(key.into());
        let mut discard = [0u8; DISCARD];
        rc4.apply_keystream(&mut discard);
        Rc4Stream(rc4)
    }

    /// Encrypts or decrypts `buf` in place (RC4 is its own inverse).
    pub fn apply(&mut self, buf: &mut [u8]) {
        self.0.apply_keystream(buf);
    }

    /// Writes `input` xor keystream into `output`, which must be as long as `input`
    /// (one pass, for buffers that cannot be changed in place). Extra output bytes are
    /// left alone.
    pub fn apply_to(&mut self, input: &[u8], output: &mut [u8]) {
        let n = input.len().min(output.len());
        if self
            .0
            .apply_keystream_b2b(&input[..n], &mut output[..n])
            .is_err()
        {
            // Unreachable: the lengths are equal. Fall back to copy + in place.
            output[..n].copy_from_slice(&input[..n]);
            self.0.apply_keystream(&mut output[..n]);
        }
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

//! The hashed markers and RC4 keys of MSE, all `HASH(...)` = SHA-1 of the concatenation.
//!
//! - `HASH('req1', S)` marks the end of PadA;
//! - `HASH('req2', SKEY) xor HASH('req3', S)` names the torrent (SKEY is its info-hash)
//!   without revealing it;
//! - the initiator encrypts with `HASH('keyA', S, SKEY)`, the responder with
//!   `HASH('keyB', S, SKEY)`; the first 1024 bytes of each RC4 stream are discarded.

use bitswarm_proto::sha1::Sha1;

use crate::KEY_LEN;

/// SHA-1 of the concatenation of `parts`.
pub fn hash(parts: &[&[u8]]) -> [u8; 20] {
    let mut h = Sha1::new();
    for p in parts {
        h.update(p);
    }
    h.finish()
}

/// `HASH('req1', S)`.
pub fn req1(secret: &[u8; KEY_LEN]) -> [u8; 20] {
    hash(&[b"req1", secret])
}

/// `HASH('req2', SKEY)`.
pub fn req2(skey: &[u8; 20]) -> [u8; 20] {
    hash(&[b"req2", skey])
}

/// `HASH('req3', S)`.
pub fn req3(secret: &[u8; KEY_LEN]) -> [u8; 20] {
    hash(&[b"req3", secret])
}

/// `HASH('req2', SKEY) xor HASH('req3', S)`: what the initiator sends after `req1`.
pub fn skey_marker(skey: &[u8; 20], secret: &[u8; KEY_LEN]) -> [u8; 20] {
    xor(&req2(skey), &req3(secret))
}

/// The initiator's RC4 key, `HASH('keyA', S, SKEY)`.
pub fn key_a(secret: &[u8; KEY_LEN], skey: &[u8; 20]) -> [u8; 20] {
    hash(&[b"keyA", secret, skey])
}

/// The responder's RC4 key, `HASH('keyB', S, SKEY)`.
pub fn key_b(secret: &[u8; KEY_LEN], skey: &[u8; 20]) -> [u8; 20] {
    hash(&[b"keyB", secret, skey])
}

/// Byte-wise xor of two 20-byte strings.
pub fn xor(a: &[u8; 20], b: &[u8; 20]) -> [u8; 20] {
    let mut out = [0u8; 20];
    for (o, (x, y)) in out.iter_mut().zip(a.iter().zip(b)) {
        *o = x ^ y;
    }
    out
}

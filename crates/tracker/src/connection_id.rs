//! UDP connection ids (BEP 15) that need no per-connection state and cannot be forged:
//! the id is a keyed hash (SipHash-2-4 with a random 128-bit key chosen at start) of the
//! client's address and the current two-minute window. An id is accepted in its own
//! window and the two before it, so it lives between four and six minutes — longer than
//! the one minute BEP 15 asks clients to use it, so a client's clock is never a problem.
//!
//! Why it matters: without it anyone could spoof a source address in an announce and make
//! the tracker list (and reply to) a victim. A connect reply goes to the real source, so
//! only the owner of the address learns the id.

use std::hash::Hasher;
use std::net::{IpAddr, SocketAddr};

use siphasher::sip::SipHasher24;

/// Length of a window, in seconds.
pub const WINDOW_SECS: u64 = 120;
/// Windows before the current one in which an id is still valid.
const GRACE_WINDOWS: u64 = 2;

/// Issues and checks connection ids.
#[derive(Clone)]
pub struct ConnectionIds {
    k0: u64,
    k1: u64,
}

impl std::fmt::Debug for ConnectionIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectionIds { key: <secret> }")
    }
}

impl ConnectionIds {
    /// With a given 128-bit key (use [`ConnectionIds::random`] outside tests).
    pub fn with_key(key: [u8; 16]) -> ConnectionIds {
        let mut a = [0u8; 8];
        let mut b = [0u8; 8];
        a.copy_from_slice(&key[..8]);
        b.copy_from_slice(&key[8..]);
        ConnectionIds {
            k0: u64::from_le_bytes(a),
            k1: u64::from_le_bytes(b),
        }
    }

    /// With a key from the operating system's random source.
    pub fn random() -> ConnectionIds {
        ConnectionIds::with_key(rand::random())
    }

    fn id(&self, addr: &SocketAddr, window: u64) -> u64 {
        let mut h = SipHasher24::new_with_keys(self.k0, self.k1);
        match addr.ip() {
            IpAddr::V4(ip) => h.write(&ip.octets()),
            IpAddr::V6(ip) => h.write(&ip.octets()),
        }
        h.write(&addr.port().to_be_bytes());
        h.write(&window.to_le_bytes());
        h.finish()
    }

    /// The id for `addr` at `now_secs` (any monotonic count of seconds).
    pub fn issue(&self, addr: &SocketAddr, now_secs: u64) -> u64 {
        self.id(addr, now_secs / WINDOW_SECS)
    }

    /// Whether `id` was issued to `addr` in the current window or the two before it.
    pub fn check(&self, id: u64, addr: &SocketAddr, now_secs: u64) -> bool {
        let window = now_secs / WINDOW_SECS;
        (0..=GRACE_WINDOWS)
            .filter_map(|back| window.checked_sub(back))
            .any(|w| self.id(addr, w) == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_for_a_few_windows_and_only_for_its_address() {
        let ids = ConnectionIds::with_key([7; 16]);
        let a: SocketAddr = "127.0.0.1:6881".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:6882".parse().unwrap();
        let t = 10_000;
        let id = ids.issue(&a, t);
        assert!(ids.check(id, &a, t));
        assert!(ids.check(id, &a, t + 2 * WINDOW_SECS));
        assert!(!ids.check(id, &a, t + 4 * WINDOW_SECS));
        assert!(!ids.check(id, &b, t));
        assert!(!ids.check(id ^ 1, &a, t));
        let other = ConnectionIds::with_key([8; 16]);
        assert!(!other.check(id, &a, t));
    }
}

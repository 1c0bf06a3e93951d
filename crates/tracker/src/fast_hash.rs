//! A keyed hasher for the registry's maps, cheaper than std's SipHash-1-3.
//!
//! Why: the maps are keyed by 20-byte info-hashes and (peer id, IP) pairs, and hashing
//! them with SipHash was several percent of an announce (profiled under the UDP benchmark).
//! The keys are chosen by remote clients, so an unkeyed hash (or "the first 8 bytes of the
//! info-hash") would let anyone build colliding keys and turn the maps' O(1) into O(n).
//! This hasher folds every input word with a 64×64→128-bit multiply against a per-process
//! random key (the construction of foldhash/wyhash): fast, and collisions depend on a key
//! the client never sees.

use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

const C0: u64 = 0x243f_6a88_85a3_08d3;
const C1: u64 = 0x1319_8a2e_0370_7344;

#[inline(always)]
fn fold_mul(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    (full as u64) ^ ((full >> 64) as u64)
}

fn process_key() -> [u64; 2] {
    static KEY: OnceLock<[u64; 2]> = OnceLock::new();
    *KEY.get_or_init(|| [rand::random::<u64>() | 1, rand::random::<u64>() | 1])
}

/// Builds [`FastHasher`]s with a per-process random key (like std's `RandomState`).
#[derive(Clone, Copy, Debug)]
pub struct FastHashBuilder {
    key: [u64; 2],
}

impl Default for FastHashBuilder {
    fn default() -> Self {
        FastHashBuilder { key: process_key() }
    }
}

impl BuildHasher for FastHashBuilder {
    type Hasher = FastHasher;

    #[inline]
    fn build_hasher(&self) -> FastHasher {
        FastHasher {
            state: self.key[0],
            key: self.key[1],
        }
    }
}

/// The hasher itself; see the module docs.
#[derive(Clone, Copy, Debug)]
pub struct FastHasher {
    state: u64,
    key: u64,
}

impl FastHasher {
    #[inline(always)]
    fn mix(&mut self, word: u64) {
        self.state = fold_mul(self.state ^ word ^ C0, self.key ^ C1).rotate_left(23);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.mix(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            // The length goes in too, so "ab" and "ab\0" differ.
            self.mix(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i) | 0x100);
    }

    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.mix(u64::from(i) | 0x2_0000);
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.mix(u64::from(i) | 0x4_0000_0000);
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        fold_mul(self.state, self.key ^ C0)
    }
}

/// A `HashMap` with [`FastHashBuilder`].
pub type FastMap<K, V> = std::collections::HashMap<K, V, FastHashBuilder>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn distinct_keys_spread() {
        let b = FastHashBuilder::default();
        let mut seen = HashSet::new();
        for i in 0u32..10_000 {
            let mut key = [0u8; 20];
            key[16..].copy_from_slice(&i.to_le_bytes());
            seen.insert(b.hash_one(key) >> 52);
        }
        // 10,000 keys differing only in their last bytes fill most of 4,096 top-bit buckets.
        assert!(seen.len() > 3_500, "{}", seen.len());
        let other = FastHashBuilder { key: [3, 5] };
        assert_ne!(b.hash_one([1u8; 20]), other.hash_one([1u8; 20]));
    }
}

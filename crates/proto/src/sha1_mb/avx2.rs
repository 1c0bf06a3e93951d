//! The 8-lane SHA-1 compression in AVX2 registers, for CPUs without AVX-512: the same
//! layout as the AVX-512 kernel, with rotations as two shifts and an or, and the round
//! functions in plain boolean operations.

use std::arch::x86_64::*;

use super::driver::State;

const K: [u32; 4] = [0x5A82_7999, 0x6ED9_EBA1, 0x8F1B_BCDC, 0xCA62_C1D6];

/// `x` rotated left by `L` bits (`R` = 32 - `L`).
macro_rules! rol {
    ($x:expr, $l:literal, $r:literal) => {
        _mm256_or_si256(_mm256_slli_epi32::<$l>($x), _mm256_srli_epi32::<$r>($x))
    };
}

/// The round functions on (b, c, d).
macro_rules! ch {
    ($b:expr, $c:expr, $d:expr) => {
        _mm256_xor_si256(_mm256_and_si256(_mm256_xor_si256($c, $d), $b), $d)
    };
}
macro_rules! parity {
    ($b:expr, $c:expr, $d:expr) => {
        _mm256_xor_si256(_mm256_xor_si256($b, $c), $d)
    };
}
macro_rules! maj {
    ($b:expr, $c:expr, $d:expr) => {
        _mm256_or_si256(
            _mm256_and_si256($b, $c),
            _mm256_and_si256($d, _mm256_or_si256($b, $c)),
        )
    };
}

/// Apply SHA-1's compression to each lane's state over that lane's input; every input
/// holds the same whole number of 64-byte blocks.
///
/// # Safety
///
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn compress(state: &mut State<8>, inputs: &[&[u8]; 8]) {
    let blocks = inputs[0].len() / 64;
    debug_assert!(inputs.iter().all(|i| i.len() == blocks * 64));
    // SAFETY (all loads and stores below): each pointer is to 32 bytes inside a slice.
    let load_state = |w: usize| unsafe { _mm256_loadu_si256(state[w].as_ptr().cast()) };
    let mut h = [
        load_state(0),
        load_state(1),
        load_state(2),
        load_state(3),
        load_state(4),
    ];
    let bswap = _mm256_set_epi32(
        0x0c0d_0e0f,
        0x0809_0a0b,
        0x0405_0607,
        0x0001_0203,
        0x0c0d_0e0f,
        0x0809_0a0b,
        0x0405_0607,
        0x0001_0203,
    );
    for block in 0..blocks {
        let at = block * 64;
        let load = |lane: usize, half: usize| {
            let bytes = &inputs[lane][at + 32 * half..at + 32 * half + 32];
            unsafe { _mm256_loadu_si256(bytes.as_ptr().cast()) }
        };
        let lo = transpose(std::array::from_fn(|lane| load(lane, 0)));
        let hi = transpose(std::array::from_fn(|lane| load(lane, 1)));
        let mut w: [__m256i; 16] = std::array::from_fn(|j| {
            _mm256_shuffle_epi8(if j < 8 { lo[j] } else { hi[j - 8] }, bswap)
        });
        let [mut a, mut b, mut c, mut d, mut e] = h;
        macro_rules! round {
            ($t:expr, $f:ident, $k:expr) => {{
                if $t >= 16 {
                    let x = _mm256_xor_si256(
                        _mm256_xor_si256(w[($t + 13) & 15], w[($t + 8) & 15]),
                        _mm256_xor_si256(w[($t + 2) & 15], w[$t & 15]),
                    );
                    w[$t & 15] = rol!(x, 1, 31);
                }
                let f = $f!(b, c, d);
                let ekw = _mm256_add_epi32(_mm256_add_epi32(e, $k), w[$t & 15]);
                let tmp = _mm256_add_epi32(_mm256_add_epi32(rol!(a, 5, 27), f), ekw);
                e = d;
                d = c;
                c = rol!(b, 30, 2);
                b = a;
                a = tmp;
            }};
        }
        macro_rules! twenty {
            ($base:expr, $f:ident, $k:expr) => {{
                let k = _mm256_set1_epi32($k as i32);
                twenty_rounds!(round, $base, $f, k);
            }};
        }
        twenty!(0, ch, K[0]);
        twenty!(20, parity, K[1]);
        twenty!(40, maj, K[2]);
        twenty!(60, parity, K[3]);
        for (hi, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *hi = _mm256_add_epi32(*hi, v);
        }
    }
    for (w, v) in h.iter().enumerate() {
        unsafe { _mm256_storeu_si256(state[w].as_mut_ptr().cast(), *v) };
    }
}

/// 8x8 transpose of 32-bit words: `r[lane]` holds 8 words of a lane; the result's register
/// `j` holds word `j` of every lane.
#[inline]
#[target_feature(enable = "avx2")]
fn transpose(r: [__m256i; 8]) -> [__m256i; 8] {
    // Per group of 4 lanes: u[g][c] holds, in its 128-bit half q, word 4q+c of the group's
    // 4 lanes.
    let u: [[__m256i; 4]; 2] = std::array::from_fn(|g| {
        let [r0, r1, r2, r3] = [r[4 * g], r[4 * g + 1], r[4 * g + 2], r[4 * g + 3]];
        let t0 = _mm256_unpacklo_epi32(r0, r1);
        let t1 = _mm256_unpackhi_epi32(r0, r1);
        let t2 = _mm256_unpacklo_epi32(r2, r3);
        let t3 = _mm256_unpackhi_epi32(r2, r3);
        [
            _mm256_unpacklo_epi64(t0, t2),
            _mm256_unpackhi_epi64(t0, t2),
            _mm256_unpacklo_epi64(t1, t3),
            _mm256_unpackhi_epi64(t1, t3),
        ]
    });
    let mut out = [_mm256_setzero_si256(); 8];
    for c in 0..4 {
        out[c] = _mm256_permute2x128_si256::<0x20>(u[0][c], u[1][c]);
        out[4 + c] = _mm256_permute2x128_si256::<0x31>(u[0][c], u[1][c]);
    }
    out
}

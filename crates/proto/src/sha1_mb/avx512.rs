//! The 16-lane SHA-1 compression in AVX-512 registers: lane `i` of each register holds
//! message `i`'s copy of one state or message-schedule word. Rotations are `vprold`, the
//! round functions one `vpternlogd` each; the 16 words of a block are loaded one register
//! per lane and transposed (unpacks then 128-bit shuffles), then byte-swapped.

use std::arch::x86_64::*;

use super::driver::State;

const K: [u32; 4] = [0x5A82_7999, 0x6ED9_EBA1, 0x8F1B_BCDC, 0xCA62_C1D6];

/// `vpternlogd` immediates of the round functions on (b, c, d).
const CH: i32 = 0xCA;
const PARITY: i32 = 0x96;
const MAJ: i32 = 0xE8;

/// Apply SHA-1's compression to each lane's state over that lane's input; every input
/// holds the same whole number of 64-byte blocks.
///
/// # Safety
///
/// The CPU must support AVX-512F and AVX-512BW.
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) unsafe fn compress(state: &mut State<16>, inputs: &[&[u8]; 16]) {
    let blocks = inputs[0].len() / 64;
    debug_assert!(inputs.iter().all(|i| i.len() == blocks * 64));
    // SAFETY (all loads and stores below): each pointer is to 64 bytes inside a slice
    // (`state` rows are 16 u32; inputs are checked by the slicing).
    let load_state = |w: usize| unsafe { _mm512_loadu_si512(state[w].as_ptr().cast()) };
    let mut h = [
        load_state(0),
        load_state(1),
        load_state(2),
        load_state(3),
        load_state(4),
    ];
    let bswap = _mm512_set4_epi32(0x0c0d_0e0f, 0x0809_0a0b, 0x0405_0607, 0x0001_0203);
    for block in 0..blocks {
        let at = block * 64;
        let r: [__m512i; 16] = std::array::from_fn(|lane| {
            let bytes = &inputs[lane][at..at + 64];
            unsafe { _mm512_loadu_si512(bytes.as_ptr().cast()) }
        });
        let mut w = transpose(r);
        for x in &mut w {
            *x = _mm512_shuffle_epi8(*x, bswap);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        macro_rules! round {
            ($t:expr, $f:expr, $k:expr) => {{
                if $t >= 16 {
                    let x = _mm512_ternarylogic_epi32::<PARITY>(
                        w[($t + 13) & 15],
                        w[($t + 8) & 15],
                        w[($t + 2) & 15],
                    );
                    w[$t & 15] = _mm512_rol_epi32::<1>(_mm512_xor_si512(x, w[$t & 15]));
                }
                let f = _mm512_ternarylogic_epi32::<$f>(b, c, d);
                let ekw = _mm512_add_epi32(_mm512_add_epi32(e, $k), w[$t & 15]);
                let tmp = _mm512_add_epi32(_mm512_add_epi32(_mm512_rol_epi32::<5>(a), f), ekw);
                e = d;
                d = c;
                c = _mm512_rol_epi32::<30>(b);
                b = a;
                a = tmp;
            }};
        }
        macro_rules! twenty {
            ($base:expr, $f:expr, $k:expr) => {{
                let k = _mm512_set1_epi32($k as i32);
                twenty_rounds!(round, $base, $f, k);
            }};
        }
        twenty!(0, CH, K[0]);
        twenty!(20, PARITY, K[1]);
        twenty!(40, MAJ, K[2]);
        twenty!(60, PARITY, K[3]);
        for (hi, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *hi = _mm512_add_epi32(*hi, v);
        }
    }
    for (w, v) in h.iter().enumerate() {
        unsafe { _mm512_storeu_si512(state[w].as_mut_ptr().cast(), *v) };
    }
}

/// 16x16 transpose of 32-bit words: `r[lane]` holds a lane's 16 words; the result's
/// register `j` holds word `j` of every lane.
#[inline]
#[target_feature(enable = "avx512f")]
fn transpose(r: [__m512i; 16]) -> [__m512i; 16] {
    // Per group of 4 lanes: u[g][c] holds, in its 128-bit part q, word 4q+c of the group's
    // 4 lanes.
    let u: [[__m512i; 4]; 4] = std::array::from_fn(|g| {
        let [r0, r1, r2, r3] = [r[4 * g], r[4 * g + 1], r[4 * g + 2], r[4 * g + 3]];
        let t0 = _mm512_unpacklo_epi32(r0, r1);
        let t1 = _mm512_unpackhi_epi32(r0, r1);
        let t2 = _mm512_unpacklo_epi32(r2, r3);
        let t3 = _mm512_unpackhi_epi32(r2, r3);
        [
            _mm512_unpacklo_epi64(t0, t2),
            _mm512_unpackhi_epi64(t0, t2),
            _mm512_unpacklo_epi64(t1, t3),
            _mm512_unpackhi_epi64(t1, t3),
        ]
    });
    let mut out = [_mm512_setzero_si512(); 16];
    for c in 0..4 {
        let x0 = _mm512_shuffle_i32x4::<0x44>(u[0][c], u[1][c]);
        let x1 = _mm512_shuffle_i32x4::<0xEE>(u[0][c], u[1][c]);
        let x2 = _mm512_shuffle_i32x4::<0x44>(u[2][c], u[3][c]);
        let x3 = _mm512_shuffle_i32x4::<0xEE>(u[2][c], u[3][c]);
        out[c] = _mm512_shuffle_i32x4::<0x88>(x0, x2);
        out[4 + c] = _mm512_shuffle_i32x4::<0xDD>(x0, x2);
        out[8 + c] = _mm512_shuffle_i32x4::<0x88>(x1, x3);
        out[12 + c] = _mm512_shuffle_i32x4::<0xDD>(x1, x3);
    }
    out
}

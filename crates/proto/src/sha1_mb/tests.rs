use proptest::prelude::*;

use super::{digest_many, digest_many_segmented, digest_many_with, driver, Backend};
use crate::sha1::digest;

const BACKENDS: [Backend; 3] = [Backend::Avx512, Backend::Avx2, Backend::Single];

/// Deterministic filler bytes, different per lane and seed.
fn message(len: usize, lane: usize, seed: u64) -> Vec<u8> {
    let mut x = seed ^ (lane as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x2545_F491;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// `data` cut at the given points (sorted, deduplicated, clamped; empty segments kept).
fn split<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut at = 0;
    for c in cuts {
        out.push(&data[at..c]);
        at = c;
    }
    out.push(&data[at..]);
    out
}

/// Every backend this CPU runs, plus the driver over the portable kernel.
fn check(messages: &[Vec<&[u8]>]) {
    let refs: Vec<&[&[u8]]> = messages.iter().map(|m| &m[..]).collect();
    let expected: Vec<[u8; 20]> = messages.iter().map(|m| digest(&m.concat())).collect();
    for backend in BACKENDS {
        if backend.available() {
            assert_eq!(digest_many_with(backend, &refs), expected, "{backend:?}");
        }
    }
    let portable: Vec<[u8; 20]> = refs
        .chunks(16)
        .flat_map(|g| driver::hash_group::<16>(g, driver::compress_portable::<16>))
        .collect();
    assert_eq!(portable, expected, "portable kernel");
}

#[test]
fn known_vectors() {
    let million_a = vec![b'a'; 1_000_000];
    let cases: [(&[u8], &str); 4] = [
        (b"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        (b"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        (
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
        ),
        (&million_a, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"),
    ];
    let inputs: Vec<&[u8]> = cases.iter().map(|(m, _)| *m).collect();
    let segmented: Vec<[&[u8]; 1]> = inputs.iter().map(|m| [*m]).collect();
    let refs: Vec<&[&[u8]]> = segmented.iter().map(|s| &s[..]).collect();
    for backend in BACKENDS {
        let got = digest_many_with(backend, &refs);
        for ((_, want), got) in cases.iter().zip(got) {
            assert_eq!(hex::encode(got), *want, "{backend:?}");
        }
    }
    let got = digest_many(&inputs);
    assert_eq!(hex::encode(got[1]), cases[1].1);
}

#[test]
fn this_cpu_runs_what_it_detects() {
    let detected = Backend::detect();
    assert!(detected.available());
    eprintln!(
        "detected {detected:?}; avx512 {} avx2 {}",
        Backend::Avx512.available(),
        Backend::Avx2.available()
    );
}

#[test]
fn full_lanes_of_one_mebibyte() {
    for lanes in [16, 9, 3] {
        let data: Vec<Vec<u8>> = (0..lanes).map(|l| message(1 << 20, l, 7)).collect();
        // As a piece arrives: 16 KiB blocks.
        let messages: Vec<Vec<&[u8]>> = data.iter().map(|d| d.chunks(16 << 10).collect()).collect();
        check(&messages);
    }
}

#[test]
fn more_messages_than_lanes_and_unequal_lengths() {
    let data: Vec<Vec<u8>> = (0..37).map(|l| message(l * 61 % 300, l, 3)).collect();
    let messages: Vec<Vec<&[u8]>> = data.iter().map(|d| vec![&d[..]]).collect();
    check(&messages);
    let refs: Vec<&[u8]> = data.iter().map(|d| &d[..]).collect();
    let want: Vec<[u8; 20]> = data.iter().map(|d| digest(d)).collect();
    assert_eq!(digest_many(&refs), want);
    assert_eq!(digest_many_segmented(&[]), Vec::<[u8; 20]>::new());
}

fn length() -> impl Strategy<Value = usize> {
    prop_oneof![
        prop::sample::select(vec![0usize, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129]),
        0usize..3000,
        (1usize..40).prop_map(|b| b * 64),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn equal_lengths_match_single(
        lanes in 1usize..=16,
        len in length(),
        seed in any::<u64>(),
        cuts in prop::collection::vec(prop::collection::vec(any::<usize>(), 0..5), 16),
    ) {
        let data: Vec<Vec<u8>> = (0..lanes).map(|l| message(len, l, seed)).collect();
        let messages: Vec<Vec<&[u8]>> =
            data.iter().zip(&cuts).map(|(d, c)| split(d, c)).collect();
        check(&messages);
    }

    #[test]
    fn unequal_lengths_match_single(
        lens in prop::collection::vec(length(), 1..=20),
        seed in any::<u64>(),
    ) {
        let data: Vec<Vec<u8>> =
            lens.iter().enumerate().map(|(l, len)| message(*len, l, seed)).collect();
        let messages: Vec<Vec<&[u8]>> = data.iter().map(|d| split(d, &[seed as usize])).collect();
        check(&messages);
    }
}

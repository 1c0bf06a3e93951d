//! Multi-buffer SHA-1: several independent messages hashed at once, one message per 32-bit
//! SIMD lane (16 lanes with AVX-512, 8 with AVX2), so every vector instruction advances all
//! of them. One SHA-1 stream is a serial chain that even SHA-NI runs at about 2 cycles per
//! byte; independent streams have no data dependency between lanes, which is what a piece
//! verifier has (many pieces of the same length waiting to be checked).
//!
//! Hand-written because no maintained crate does multi-buffer SHA-1 (the reference design,
//! Intel isa-l_crypto's `mb_sha1`, is C and assembly and not packaged here; the Rust
//! multi-buffer crates found cover SHA-256/SHA-512 only). The only `unsafe` is the SIMD
//! loads and the calls into `#[target_feature]` kernels after runtime detection.
//!
//! - [`digest_many`] / [`digest_many_segmented`]: the dispatched entry points.
//! - [`Backend`]: which kernel runs ([`Backend::detect`]), and [`digest_many_with`] to pick
//!   one explicitly (tests and benches).
//! - `driver`: walks each lane's message (given as segments, e.g. a piece's 16 KiB blocks
//!   as they arrived) in runs of whole 64-byte blocks, builds the padding per lane, and
//!   feeds the kernel; lanes may differ in length (a finished lane is fed another lane's
//!   data and its result ignored), though equal lengths waste nothing.

/// Twenty SHA-1 rounds, `$base` to `$base + 19`, through a kernel's own `round!` macro
/// (shared by the AVX2 and AVX-512 kernels, which differ only in their register type).
#[cfg(target_arch = "x86_64")]
macro_rules! twenty_rounds {
    ($round:ident, $base:expr, $f:tt, $k:expr) => {{
        $round!($base, $f, $k);
        $round!($base + 1, $f, $k);
        $round!($base + 2, $f, $k);
        $round!($base + 3, $f, $k);
        $round!($base + 4, $f, $k);
        $round!($base + 5, $f, $k);
        $round!($base + 6, $f, $k);
        $round!($base + 7, $f, $k);
        $round!($base + 8, $f, $k);
        $round!($base + 9, $f, $k);
        $round!($base + 10, $f, $k);
        $round!($base + 11, $f, $k);
        $round!($base + 12, $f, $k);
        $round!($base + 13, $f, $k);
        $round!($base + 14, $f, $k);
        $round!($base + 15, $f, $k);
        $round!($base + 16, $f, $k);
        $round!($base + 17, $f, $k);
        $round!($base + 18, $f, $k);
        $round!($base + 19, $f, $k);
    }};
}

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod driver;

use crate::sha1;

/// The most messages any backend hashes in one pass.
pub const MAX_LANES: usize = 16;

/// A SHA-1 implementation for many messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// 16 lanes in AVX-512 registers (needs AVX-512F and AVX-512BW).
    Avx512,
    /// 8 lanes in AVX2 registers.
    Avx2,
    /// One message after the other with [`sha1::Sha1`] (OpenSSL, SHA-NI where present).
    Single,
}

impl Backend {
    /// The fastest backend this CPU runs.
    pub fn detect() -> Backend {
        [Backend::Avx512, Backend::Avx2]
            .into_iter()
            .find(|b| b.available())
            .unwrap_or(Backend::Single)
    }

    /// Whether this CPU runs this backend.
    pub fn available(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512 => {
                std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512bw")
            }
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2 => std::is_x86_feature_detected!("avx2"),
            #[cfg(not(target_arch = "x86_64"))]
            Backend::Avx512 | Backend::Avx2 => false,
            Backend::Single => true,
        }
    }

    /// The fewest messages for which one pass of this backend beats hashing them one
    /// after the other with SHA-NI: a pass costs the same however many lanes are used
    /// (measured with `cargo bench -p bitswarm-proto --bench sha1_mb`: one 16-lane AVX-512
    /// pass over 1 MiB takes about as long as 5 single SHA-NI digests of 1 MiB, an 8-lane
    /// AVX2 pass about 6.4).
    pub fn break_even(self) -> usize {
        match self {
            Backend::Avx512 => 6,
            Backend::Avx2 => 7,
            Backend::Single => 1,
        }
    }

    /// Messages hashed in one pass.
    pub fn lanes(self) -> usize {
        match self {
            Backend::Avx512 => 16,
            Backend::Avx2 => 8,
            Backend::Single => 1,
        }
    }
}

/// The SHA-1 of each message, in order, with the fastest backend.
pub fn digest_many(messages: &[&[u8]]) -> Vec<[u8; 20]> {
    let segmented: Vec<[&[u8]; 1]> = messages.iter().map(|m| [*m]).collect();
    let refs: Vec<&[&[u8]]> = segmented.iter().map(|s| &s[..]).collect();
    digest_many_segmented(&refs)
}

/// The SHA-1 of each message, in order, each given as its segments (hashed as if
/// concatenated), with the fastest backend: lanes of the widest backend this CPU runs, and
/// one by one for a group too small to pay ([`Backend::break_even`]).
pub fn digest_many_segmented(messages: &[&[&[u8]]]) -> Vec<[u8; 20]> {
    let backend = Backend::detect();
    let mut out = Vec::with_capacity(messages.len());
    for group in messages.chunks(backend.lanes()) {
        if group.len() >= backend.break_even() {
            out.extend(digest_many_with(backend, group));
        } else {
            out.extend(group.iter().map(|segments| single(segments)));
        }
    }
    out
}

/// Like [`digest_many_segmented`] with a chosen backend; one this CPU does not run
/// ([`Backend::available`]) is replaced by [`Backend::Single`].
pub fn digest_many_with(backend: Backend, messages: &[&[&[u8]]]) -> Vec<[u8; 20]> {
    let backend = if backend.available() {
        backend
    } else {
        Backend::Single
    };
    let mut out = Vec::with_capacity(messages.len());
    for group in messages.chunks(backend.lanes()) {
        match backend {
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512 => out.extend(driver::hash_group::<16>(group, |state, blocks| {
                // SAFETY: `available()` checked AVX-512F and AVX-512BW above.
                unsafe { avx512::compress(state, blocks) }
            })),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2 => out.extend(driver::hash_group::<8>(group, |state, blocks| {
                // SAFETY: `available()` checked AVX2 above.
                unsafe { avx2::compress(state, blocks) }
            })),
            _ => out.extend(group.iter().map(|segments| single(segments))),
        }
    }
    out
}

fn single(segments: &[&[u8]]) -> [u8; 20] {
    let mut h = sha1::Sha1::new();
    for s in segments {
        h.update(s);
    }
    h.finish()
}

#[cfg(test)]
mod tests;

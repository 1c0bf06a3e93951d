//! Single-stream SHA-1 (OpenSSL, SHA-NI where present) against the multi-buffer backends,
//! on one thread, for batches of pieces as the hash pool sees them (16 KiB blocks):
//! 16 x 1 MiB, 8 x 1 MiB, 16 x 256 KiB, and 1..16 x 1 MiB for the break-even lane count.
//! Criterion prints GiB/s (of all lanes' bytes together).

use bitswarm_proto::sha1_mb::{digest_many_with, Backend};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn pieces(count: usize, len: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|p| {
            (0..len)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 ^ p as u8)
                .collect()
        })
        .collect()
}

fn bench_batch(c: &mut Criterion, name: &str, count: usize, len: usize, backends: &[Backend]) {
    let data = pieces(count, len);
    let blocks: Vec<Vec<&[u8]>> = data.iter().map(|d| d.chunks(16 << 10).collect()).collect();
    let refs: Vec<&[&[u8]]> = blocks.iter().map(|b| &b[..]).collect();
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes((count * len) as u64));
    group.sample_size(10);
    for &backend in backends {
        if backend.available() {
            group.bench_function(BenchmarkId::from_parameter(format!("{backend:?}")), |b| {
                b.iter(|| digest_many_with(backend, &refs))
            });
        }
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    let all = [Backend::Single, Backend::Avx512, Backend::Avx2];
    bench_batch(c, "sha1_16x1MiB", 16, 1 << 20, &all);
    bench_batch(c, "sha1_8x1MiB", 8, 1 << 20, &all);
    bench_batch(c, "sha1_16x256KiB", 16, 256 << 10, &all);
    if std::env::var_os("SHA1_MB_LANES").is_some() {
        for lanes in [1, 2, 3, 4, 6] {
            bench_batch(
                c,
                &format!("sha1_{lanes}x1MiB"),
                lanes,
                1 << 20,
                &[Backend::Avx512, Backend::Avx2],
            );
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

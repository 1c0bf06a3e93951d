//! RC4 keystream throughput: in place (receive path) and into another buffer (send path).

use bitswarm_mse::Rc4Stream;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn rc4(c: &mut Criterion) {
    let mut g = c.benchmark_group("rc4");
    let len = 1 << 20;
    g.throughput(Throughput::Bytes(len as u64));
    let mut s = Rc4Stream::new(&[7; 20]);
    let mut buf = vec![0x5au8; len];
    g.bench_function("apply 1 MiB", |b| b.iter(|| s.apply(&mut buf)));
    let input = vec![0xa5u8; len];
    let mut out = vec![0u8; len];
    g.bench_function("apply_to 1 MiB", |b| {
        b.iter(|| s.apply_to(&input, &mut out))
    });
    g.finish();
}

criterion_group!(benches, rc4);
criterion_main!(benches);

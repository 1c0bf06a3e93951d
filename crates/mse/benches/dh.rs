//! Diffie-Hellman cost of one MSE handshake side: a key pair (G^x mod P) and the shared
//! secret (Y^x mod P), 768-bit modulus, 160-bit exponent.

use bitswarm_mse::dh::KeyPair;
use criterion::{criterion_group, criterion_main, Criterion};
use rand::SeedableRng;

fn dh(c: &mut Criterion) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let peer = KeyPair::generate(&mut rng);
    let mut g = c.benchmark_group("dh768");
    g.bench_function("generate", |b| b.iter(|| KeyPair::generate(&mut rng)));
    let ours = KeyPair::generate(&mut rng);
    g.bench_function("shared_secret", |b| {
        b.iter(|| ours.shared_secret(peer.public()))
    });
    g.finish();
}

criterion_group!(benches, dh);
criterion_main!(benches);

//! Piece picker throughput on a 50,000-piece torrent with 50 peers.

use bitswarm_engine::{
    Bitfield, BlockReceived, Geometry, PeerKey, PickFor, PickerConfig, PiecePicker,
};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const PIECES: u32 = 50_000;
const PIECE_LEN: u32 = 256 * 1024; // 16 blocks

fn peers(rng: &mut SmallRng) -> Vec<Bitfield> {
    (0..50)
        .map(|_| {
            let mut b = Bitfield::new(PIECES);
            for p in 0..PIECES {
                if rng.gen_bool(0.5) {
                    b.set(p, true);
                }
            }
            b
        })
        .collect()
}

fn setup() -> (PiecePicker, Vec<Bitfield>) {
    let mut rng = SmallRng::seed_from_u64(1);
    let g = Geometry::new(PIECE_LEN, u64::from(PIECE_LEN) * u64::from(PIECES)).unwrap();
    let mut pp = PiecePicker::new(g, PickerConfig::default());
    let peers = peers(&mut rng);
    for p in &peers {
        pp.peer_bitfield(p);
    }
    (pp, peers)
}

fn bench(c: &mut Criterion) {
    let (base, peers) = setup();
    c.bench_function("pick 64 blocks + receive them, 50k pieces", |b| {
        let mut pp = base.clone();
        let mut rng = SmallRng::seed_from_u64(2);
        let mut i = 0usize;
        b.iter(|| {
            i = (i + 1) % peers.len();
            let who = PickFor {
                peer: PeerKey(i as u32),
                has: &peers[i],
                choked: false,
                allowed_fast: &[],
                suggested: &[],
                outstanding: 0,
            };
            let got = pp.pick(&who, 64, &mut rng);
            for blk in &got {
                if let Ok(BlockReceived::New {
                    piece_complete: true,
                    ..
                }) = pp.block_received(who.peer, blk)
                {
                    // Fail the hash so the piece goes back: a steady state that never
                    // runs out of work however many iterations criterion runs.
                    pp.piece_verified(blk.piece, false);
                }
            }
            got.len()
        });
    });
    c.bench_function("have message (availability update), 50k pieces", |b| {
        let mut pp = base.clone();
        let mut p = 0u32;
        b.iter(|| {
            p = (p + 7919) % PIECES;
            pp.peer_has(p);
        });
    });
    c.bench_function("peer joins and leaves with half the pieces", |b| {
        b.iter_batched_ref(
            || base.clone(),
            |pp| {
                pp.peer_bitfield(&peers[0]);
                pp.peer_left(PeerKey(0), &peers[0]);
            },
            BatchSize::LargeInput,
        );
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

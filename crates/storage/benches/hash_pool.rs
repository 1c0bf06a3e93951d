//! Throughput of `HashPool::verify_and_write`: 256 MiB in 1 MiB pieces, hashed on one
//! thread per core and written to a tmpfs (`/dev/shm`) when there is one, else a temp dir.
//!
//! Every piece has the same content (so one hash serves all and setup stays cheap); the
//! writes still go to 256 distinct offsets of one sparse file.

use std::sync::Arc;

use bitswarm_proto::TorrentSpec;
use bitswarm_storage::{HashPool, PieceOutcome, Storage};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

const PIECE: usize = 1 << 20;
const PIECES: usize = 256;

fn bench(c: &mut Criterion) {
    let piece: Vec<u8> = (0..PIECE)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let hash = bitswarm_proto::sha1::digest(&piece);
    let spec = TorrentSpec {
        name: "bench.bin".into(),
        single_length: Some((PIECE * PIECES) as u64),
        piece_length: PIECE as u32,
        pieces: vec![hash; PIECES],
        ..Default::default()
    };
    let (_, meta) = spec.build().expect("bench torrent");
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .expect("temp dir");
    let storage = Arc::new(Storage::open(meta.info(), dir.path()).expect("open storage"));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pool = HashPool::new(threads, 2 * threads);

    let mut group = c.benchmark_group("hash_pool");
    group.throughput(Throughput::Bytes((PIECE * PIECES) as u64));
    group.sample_size(10);
    group.bench_function("verify_and_write_256MiB_1MiB_pieces", |b| {
        b.iter_batched(
            || vec![piece.clone(); PIECES],
            |pieces| {
                let (tx, rx) = crossbeam_channel::unbounded();
                for (p, data) in pieces.into_iter().enumerate() {
                    let tx = tx.clone();
                    pool.verify_and_write(Arc::clone(&storage), p as u32, data, hash, move |o| {
                        let _ = tx.send(o);
                    });
                }
                for _ in 0..PIECES {
                    match rx.recv().expect("outcome") {
                        PieceOutcome::Verified { .. } => {}
                        other => panic!("unexpected {other:?}"),
                    }
                }
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

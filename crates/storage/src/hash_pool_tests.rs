use std::sync::Arc;

use crossbeam_channel::unbounded;

use crate::test_util::mixed;
use crate::{HashPool, PieceOutcome, Storage, StorageError};

#[test]
fn good_piece_is_written_bad_piece_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let t = mixed();
    let s = Arc::new(Storage::open(&t.info, dir.path()).unwrap());
    let pool = HashPool::new(2, 4);
    let (tx, rx) = unbounded();
    let hashes = t.info.pieces();
    let tx0 = tx.clone();
    pool.verify_and_write(s.clone(), 0, t.piece(0).to_vec(), hashes[0], move |o| {
        let _ = tx0.send(o);
    });
    let mut bad = t.piece(1).to_vec();
    bad[3] ^= 0x40;
    pool.verify_and_write(s.clone(), 1, bad, hashes[1], move |o| {
        let _ = tx.send(o);
    });
    let mut outcomes: Vec<PieceOutcome> = rx.iter().take(2).collect();
    outcomes.sort_by_key(PieceOutcome::piece);
    assert!(matches!(outcomes[0], PieceOutcome::Verified { piece: 0 }));
    assert!(matches!(
        outcomes[1],
        PieceOutcome::HashMismatch { piece: 1 }
    ));
    assert!(s.check_piece(0).unwrap());
    // Nothing of the bad piece reached the disk: it still reads as the sparse zeros.
    let mut on_disk = vec![0xffu8; 16];
    s.read(1, 0, &mut on_disk).unwrap();
    assert_eq!(on_disk, vec![0u8; 16]);
}

#[test]
fn write_failure_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let t = mixed();
    Storage::open(&t.info, dir.path()).unwrap();
    let s = Arc::new(Storage::open_existing(&t.info, &dir.path().join("t")).unwrap());
    let pool = HashPool::new(1, 1);
    let (tx, rx) = unbounded();
    pool.verify_and_write(s, 2, t.piece(2).to_vec(), t.info.pieces()[2], move |o| {
        let _ = tx.send(o);
    });
    match rx.recv().unwrap() {
        PieceOutcome::WriteFailed {
            piece: 2,
            error: StorageError::ReadOnly { piece: 2 },
        } => {}
        other => panic!("unexpected {other:?}"),
    }
}

/// One thread, a queue of one: with the thread held busy and one piece queued, the queue
/// is full (`try_` hands the piece back, a blocking call waits), and everything completes
/// once the thread is released. No sleeps: the test waits on channels only.
#[test]
fn queue_is_bounded_and_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let t = mixed();
    let s = Arc::new(Storage::open(&t.info, dir.path()).unwrap());
    let pool = Arc::new(HashPool::new(1, 1));
    let hashes = t.info.pieces().to_vec();
    let (started_tx, started_rx) = unbounded::<()>();
    let (gate_tx, gate_rx) = unbounded::<()>();
    let (out_tx, out_rx) = unbounded();

    let out = out_tx.clone();
    pool.verify_and_write(s.clone(), 0, t.piece(0).to_vec(), hashes[0], move |o| {
        let _ = started_tx.send(());
        let _ = gate_rx.recv(); // hold the only thread
        let _ = out.send(o);
    });
    started_rx.recv().unwrap();
    assert_eq!(pool.queued(), 0);

    let out = out_tx.clone();
    pool.try_verify_and_write(s.clone(), 1, t.piece(1).to_vec(), hashes[1], move |o| {
        let _ = out.send(o);
    })
    .expect("one slot free");
    assert_eq!(pool.queued(), 1);

    let full = pool
        .try_verify_and_write(s.clone(), 2, t.piece(2).to_vec(), hashes[2], |_| {})
        .expect_err("queue full");
    assert_eq!(full.piece, 2);
    assert_eq!(full.data, t.piece(2));
    assert_eq!(pool.queued(), 1);

    // A blocking submission from another thread completes only after the release.
    let submitter = {
        let (pool, s, data, hash) = (pool.clone(), s.clone(), full.data, hashes[2]);
        std::thread::spawn(move || {
            pool.verify_and_write(s, 2, data, hash, move |o| {
                let _ = out_tx.send(o);
            });
        })
    };
    gate_tx.send(()).unwrap();
    submitter.join().unwrap();
    let mut done: Vec<u32> = out_rx.iter().take(3).map(|o| o.piece()).collect();
    done.sort_unstable();
    assert_eq!(done, [0, 1, 2]);
    for p in 0..3 {
        assert!(s.check_piece(p).unwrap());
    }
}

#[test]
fn panicking_callback_does_not_kill_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let t = mixed();
    let s = Arc::new(Storage::open(&t.info, dir.path()).unwrap());
    let pool = HashPool::new(1, 2);
    pool.verify_and_write(
        s.clone(),
        0,
        t.piece(0).to_vec(),
        t.info.pieces()[0],
        |_| panic!("callback bug"),
    );
    let (tx, rx) = unbounded();
    pool.verify_and_write(s, 1, t.piece(1).to_vec(), t.info.pieces()[1], move |o| {
        let _ = tx.send(o);
    });
    assert!(matches!(
        rx.recv().unwrap(),
        PieceOutcome::Verified { piece: 1 }
    ));
    assert_eq!(pool.threads(), 1);
}

#[test]
fn drop_finishes_queued_work() {
    let dir = tempfile::tempdir().unwrap();
    let t = mixed();
    let s = Arc::new(Storage::open(&t.info, dir.path()).unwrap());
    let pool = HashPool::new(1, 8);
    let (tx, rx) = unbounded();
    for p in 0..3 {
        let tx = tx.clone();
        pool.verify_and_write(
            s.clone(),
            p,
            t.piece(p).to_vec(),
            t.info.pieces()[p as usize],
            move |o| {
                let _ = tx.send(o);
            },
        );
    }
    drop(pool);
    drop(tx);
    assert_eq!(rx.iter().count(), 3);
}

#[test]
fn pool_and_outcome_cross_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<HashPool>();
    assert_send_sync::<PieceOutcome>();
}

#[test]
fn pieces_given_as_blocks_are_hashed_and_written_alike() {
    use crate::PieceData;
    use bytes::Bytes;
    let dir = tempfile::tempdir().unwrap();
    let t = mixed();
    let s = Arc::new(Storage::open(&t.info, dir.path()).unwrap());
    let pool = HashPool::new(2, 4);
    let (tx, rx) = unbounded();
    let hashes = t.info.pieces();
    let blocks =
        |p: u32| -> Vec<Bytes> { t.piece(p).chunks(5).map(Bytes::copy_from_slice).collect() };
    let mut bad = blocks(1);
    let mut b0 = bad[0].to_vec();
    b0[0] ^= 1;
    bad[0] = Bytes::from(b0);
    for (p, data) in [(0, blocks(0)), (1, bad), (2, blocks(2))] {
        let tx = tx.clone();
        pool.try_verify_and_write_data(
            s.clone(),
            p,
            PieceData::Blocks(data),
            hashes[p as usize],
            move |o, d| {
                let _ = tx.send((o, matches!(d, PieceData::Blocks(_))));
            },
        )
        .unwrap();
    }
    let mut outcomes: Vec<(PieceOutcome, bool)> = rx.iter().take(3).collect();
    outcomes.sort_by_key(|(o, _)| o.piece());
    assert!(
        outcomes.iter().all(|(_, back)| *back),
        "the blocks come back"
    );
    assert!(matches!(outcomes[0].0, PieceOutcome::Verified { piece: 0 }));
    assert!(matches!(
        outcomes[1].0,
        PieceOutcome::HashMismatch { piece: 1 }
    ));
    assert!(matches!(outcomes[2].0, PieceOutcome::Verified { piece: 2 }));
    assert!(s.check_piece(0).unwrap() && s.check_piece(2).unwrap());
    assert!(
        !s.check_piece(1).unwrap(),
        "nothing of the bad piece was written"
    );
}

/// Pieces queued behind a held thread are hashed together when it is released: one
/// corrupt piece among them fails alone, and the shorter last piece (another length) is
/// hashed on its own and verifies too.
#[test]
fn a_batch_with_one_corrupt_piece_fails_only_that_piece() {
    use crate::test_util::single;
    use crate::PieceData;
    use bitswarm_proto::sha1_mb::Backend;
    use bytes::Bytes;
    let dir = tempfile::tempdir().unwrap();
    let t = single("t", 17 * 16384 + 1000, 16384);
    let s = Arc::new(Storage::open(&t.info, dir.path()).unwrap());
    let pool = HashPool::new(1, 32);
    let hashes = t.info.pieces().to_vec();
    let (started_tx, started_rx) = unbounded::<()>();
    let (gate_tx, gate_rx) = unbounded::<()>();
    let (out_tx, out_rx) = unbounded();

    let out = out_tx.clone();
    pool.verify_and_write(s.clone(), 0, t.piece(0).to_vec(), hashes[0], move |o| {
        let _ = started_tx.send(());
        let _ = gate_rx.recv(); // hold the only thread while the others queue
        let _ = out.send(o);
    });
    started_rx.recv().unwrap();
    for p in 1..18u32 {
        let mut data = t.piece(p).to_vec();
        if p == 5 {
            data[100] ^= 1;
        }
        // Half as one buffer, half as odd-sized blocks.
        let data = if p % 2 == 0 {
            PieceData::Buffer(data)
        } else {
            PieceData::Blocks(data.chunks(1000).map(Bytes::copy_from_slice).collect())
        };
        let out = out_tx.clone();
        pool.try_verify_and_write_data(s.clone(), p, data, hashes[p as usize], move |o, _| {
            let _ = out.send(o);
        })
        .expect("room in the queue");
    }
    assert_eq!(pool.queued(), 17);
    gate_tx.send(()).unwrap();
    let mut outcomes: Vec<PieceOutcome> = out_rx.iter().take(18).collect();
    outcomes.sort_by_key(PieceOutcome::piece);
    for (p, o) in outcomes.iter().enumerate() {
        match o {
            PieceOutcome::HashMismatch { piece: 5 } => {}
            PieceOutcome::Verified { piece } if *piece == p as u32 && p != 5 => {}
            other => panic!("piece {p}: unexpected {other:?}"),
        }
    }
    for p in 0..18 {
        assert_eq!(s.check_piece(p).unwrap(), p != 5, "piece {p} on disk");
    }
    let (pieces, passes) = pool.batched();
    if Backend::detect().lanes() > 1 {
        // Pieces 1..=16 share a length: one 16-lane pass, or two 8-lane passes.
        assert_eq!(pieces, 16);
        assert_eq!(passes, 16 / Backend::detect().lanes() as u64);
    } else {
        assert_eq!((pieces, passes), (0, 0));
    }
}

/// A worker waiting for more pieces to batch gives up at the end of its linger (a lone
/// piece is still verified) and when the pool is dropped (no hang on an hour's linger).
#[test]
fn lingering_for_a_batch_ends() {
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let t = mixed();
    let s = Arc::new(Storage::open(&t.info, dir.path()).unwrap());
    let hashes = t.info.pieces().to_vec();
    let pool = HashPool::with_batching(2, 32, Duration::from_millis(20));
    let (tx, rx) = unbounded();
    let tx0 = tx.clone();
    pool.verify_and_write(s.clone(), 0, t.piece(0).to_vec(), hashes[0], move |o| {
        let _ = tx0.send(o);
    });
    assert!(matches!(
        rx.recv().unwrap(),
        PieceOutcome::Verified { piece: 0 }
    ));

    let pool = HashPool::with_batching(1, 32, Duration::from_secs(3600));
    pool.verify_and_write(s.clone(), 1, t.piece(1).to_vec(), hashes[1], move |o| {
        let _ = tx.send(o);
    });
    drop(pool);
    assert!(matches!(
        rx.recv().unwrap(),
        PieceOutcome::Verified { piece: 1 }
    ));
}

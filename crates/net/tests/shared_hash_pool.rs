//! A hashing pool shared with other work (the other torrents of a session, other
//! sessions of the swarm runner): a torrent whose pieces found the pool's queue full
//! while none of its own pieces were in the pool still gets them hashed once the queue
//! has room (issue #6: one torrent of a multi-torrent session stopped for good with
//! every remaining piece downloaded and waiting for the hash queue).

mod common;

use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::Duration;

use bitswarm_net::{HashPool, Session};
use bitswarm_storage::Storage;
use common::*;

const TIMEOUT: Duration = Duration::from_secs(60);

/// A hash pool of one thread and a queue of one piece, both taken by other work (jobs of
/// `job_len` bytes on another copy of `meta`): the thread is held by a job whose
/// completion waits for the returned sender, the queue by a second job.
fn stalled_pool(
    meta: &bitswarm_proto::Metainfo,
    dir: &std::path::Path,
    job_len: usize,
) -> (Arc<HashPool>, std_mpsc::Sender<()>) {
    let pool = Arc::new(HashPool::new(1, 1));
    std::fs::create_dir_all(dir.join("other")).unwrap();
    let other = Arc::new(Storage::open(meta.info(), &dir.join("other")).unwrap());
    let (started_tx, started_rx) = std_mpsc::channel();
    let (release_tx, release_rx) = std_mpsc::channel::<()>();
    pool.verify_and_write(other.clone(), 0, vec![0; job_len], [0; 20], move |_| {
        let _ = started_tx.send(());
        let _ = release_rx.recv();
    });
    started_rx.recv().unwrap();
    pool.try_verify_and_write(other, 1, vec![0; job_len], [0; 20], |_| {})
        .map_err(|_| "the queue should have room for one piece")
        .unwrap();
    (pool, release_tx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pieces_waiting_for_a_full_shared_hash_queue_are_hashed_later() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let (meta, data) = make_torrent(dir.path(), "one.bin", &[("", 40 * 16384)], 16384, vec![]);
    let total = meta.info().content_length();

    // One hashing thread and a queue of one piece, both taken by other work.
    let (pool, release_tx) = stalled_pool(&meta, dir.path(), 16384);

    let (seed, _seeding) = seeding(&meta, &data).await;
    let leech = Session::with_hash_pool(config(), pool.clone())
        .await
        .unwrap();
    let out = dir.path().join("out");
    let mut lh = download_from(&leech, &meta, &out, &seed).await;

    // Every block arrives while no piece can be queued for hashing.
    tokio::time::timeout(TIMEOUT, async {
        while lh.stats().downloaded < total {
            lh.changed().await.unwrap();
        }
    })
    .await
    .expect("the leecher did not receive every block");
    assert_eq!(lh.stats().pieces_have, 0, "nothing can be hashed yet");

    // The other work finishes; the pool is idle from now on.
    release_tx.send(()).unwrap();
    let stats = tokio::time::timeout(TIMEOUT, lh.wait_complete())
        .await
        .expect("pieces that waited for the hash queue were never hashed")
        .unwrap();
    assert_eq!(stats.have_bytes, total);
    assert_eq!(stats.hash_failures, 0);
    leech.shutdown().await;
    seed.shutdown().await;
    assert_same_tree(&data, &out.join("one.bin"));
}

/// While hashing is stalled, a downloader stops asking for new pieces once a few complete
/// pieces wait for the hash pool (32 MiB worth, at least 4 pieces): a fast peer cannot
/// pile up unverified data in memory. When hashing resumes, the download completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_pieces_waiting_for_hashing_are_bounded() {
    logs();
    const PIECE: usize = 8 << 20;
    const PIECES: usize = 12;
    let dir = tempfile::tempdir().unwrap();
    let (meta, data) = make_torrent(
        dir.path(),
        "big.bin",
        &[("", PIECES * PIECE)],
        PIECE as u32,
        vec![],
    );
    let total = meta.info().content_length();

    // The pool's only thread is held and its queue of one taken, as above.
    let (pool, release_tx) = stalled_pool(&meta, dir.path(), 16);

    let (seed, _seeding) = seeding(&meta, &data).await;
    let leech = Session::with_hash_pool(config(), pool.clone())
        .await
        .unwrap();
    let out = dir.path().join("out");
    let lh = download_from(&leech, &meta, &out, &seed).await;

    // Wait until the download stops growing (or gets everything, which is the failure).
    let mut last = 0;
    let mut still = 0;
    tokio::time::timeout(TIMEOUT, async {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = lh.stats().downloaded;
            if now == total {
                break;
            }
            if now > 0 && now == last {
                still += 1;
                if still == 10 {
                    break;
                }
            } else {
                still = 0;
            }
            last = now;
        }
    })
    .await
    .expect("the download neither stalled nor finished");
    let got = lh.stats().downloaded;
    // At most the 4 waiting pieces plus the pieces whose blocks were already requested.
    assert!(
        got <= 8 * PIECE as u64,
        "{got} bytes downloaded while nothing could be hashed (cap: 4 pieces waiting)"
    );
    assert_eq!(lh.stats().pieces_have, 0);

    release_tx.send(()).unwrap();
    let stats = tokio::time::timeout(TIMEOUT, lh.wait_complete())
        .await
        .expect("the download did not resume once hashing did")
        .unwrap();
    assert_eq!(stats.have_bytes, total);
    leech.shutdown().await;
    seed.shutdown().await;
    assert_same_tree(&data, &out.join("big.bin"));
}

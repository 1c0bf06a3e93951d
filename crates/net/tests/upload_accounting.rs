//! Upload accounting: payload counts as uploaded when the socket task has written it,
//! so the seed's `uploaded` matches the leecher's `downloaded`.

mod common;

use std::time::Duration;

use bitswarm_net::TorrentHandle;
use common::*;

const TIMEOUT: Duration = Duration::from_secs(60);
const BLOCK: u64 = 16 * 1024;

/// Waits until the seed's published `uploaded` stops changing.
async fn settled_uploaded(h: &TorrentHandle) -> u64 {
    let mut last = h.stats().uploaded;
    loop {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let now = h.stats().uploaded;
        if now == last {
            return now;
        }
        last = now;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_uploaded_equals_leecher_downloaded_after_a_transfer() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let len = 3 * 1024 * 1024 + 777;
    let (meta, data) = make_torrent(dir.path(), "up.bin", &[("", len)], 64 * 1024, vec![]);
    let (seed, sh) = seeding(&meta, &data).await;
    let leech = session().await;
    let lh = download_from(&leech, &meta, &dir.path().join("out"), &seed).await;
    let s = completed(&lh, TIMEOUT).await;
    leech.shutdown().await;
    let down = lh.stats().downloaded.max(s.downloaded);
    assert_eq!(down, len as u64);
    assert_eq!(settled_uploaded(&sh).await, down);
    seed.shutdown().await;
}

/// The leecher goes away mid-transfer while the seed (upload limited) has up to 2 MiB
/// of blocks queued for it: those were never written and must not count. Blocks that
/// were written but not yet read by the leecher when it closed are inherently uncounted
/// on its side, so the seed may be ahead by what one paced write carries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_queued_when_the_leecher_leaves_are_not_counted() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let len = 16 * 1024 * 1024;
    let (meta, data) = make_torrent(dir.path(), "cut.bin", &[("", len)], 256 * 1024, vec![]);
    let seed = upload_limited(2 * 1024 * 1024).await;
    let sh = add_seed(&seed, &meta, &data).await;
    let leech = session().await;
    let mut lh = download_from(&leech, &meta, &dir.path().join("out"), &seed).await;
    while lh.stats().downloaded < 3 * 1024 * 1024 {
        tokio::time::timeout(TIMEOUT, lh.changed())
            .await
            .expect("no progress")
            .unwrap();
    }
    leech.shutdown().await;
    let down = lh.stats().downloaded;
    assert!(down < len as u64, "finished before the cut");
    let up = settled_uploaded(&sh).await;
    assert!(up >= down, "seed uploaded {up} < leecher downloaded {down}");
    // One paced write is at most 64 buffers, 32 blocks.
    assert!(
        up - down <= 32 * BLOCK,
        "seed counted {} bytes the leecher never got ({up} vs {down})",
        up - down
    );
    seed.shutdown().await;
}

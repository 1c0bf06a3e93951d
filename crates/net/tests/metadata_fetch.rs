//! Magnet links in process: the metadata is fetched from a bitswarm seed (BEP 9) and
//! the download completes; a peer serving metadata with the wrong hash is refused while
//! an honest seed supplies it (and the torrent then bans it); a `metadata_size` over
//! 16 MiB is refused.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bitswarm_net::magnet::MagnetError;
use bitswarm_proto::{InfoHash, Magnet};
use bitswarm_testkit::peers::{proxy_late, serve_lying_metadata, MetadataLie};
use common::*;

const TIMEOUT: Duration = Duration::from_secs(60);

/// A peer that advertises `size` bytes of metadata and answers every request with
/// zeros (so the whole never hashes to the info-hash).
async fn lying_peer(info_hash: [u8; 20], size: u64) -> SocketAddr {
    let lie = MetadataLie {
        advertised: size,
        sent_total: size,
    };
    fake_peer(move |s| serve_lying_metadata(s, info_hash, lie)).await
}

/// A TCP proxy to `to` that waits `delay` before connecting: a peer that answers late.
async fn slow_proxy(to: SocketAddr, delay: Duration) -> SocketAddr {
    fake_peer(move |a| proxy_late(a, to, delay)).await
}

fn magnet_for(info_hash: InfoHash, peers: &[SocketAddr]) -> Magnet {
    let mut m = Magnet::new(info_hash);
    m.peers = peers.iter().map(|a| a.to_string()).collect();
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn magnet_download_from_a_bitswarm_seed() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let (meta, data) = make_torrent(
        dir.path(),
        "m",
        &[("a.bin", 300_000), ("sub/b.bin", 70_000)],
        32 * 1024,
        vec![],
    );
    let (seed, _sh) = seeding(&meta, &data).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let leech = session().await;
    let out = dir.path().join("out");
    let magnet = magnet_for(meta.info_hash(), &[addr_of(&seed)]);
    let (h, fetched) = leech.add_magnet(&magnet, &out, &[], TIMEOUT).await.unwrap();
    assert_eq!(fetched.metainfo.info_hash(), meta.info_hash());
    assert_eq!(
        bitswarm_proto::Metainfo::from_bytes(&fetched.torrent_bytes)
            .unwrap()
            .info_hash(),
        meta.info_hash()
    );
    assert!(fetched.refused.is_empty());
    completed(&h, TIMEOUT).await;
    assert_same_tree(&data, &out.join("m"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_metadata_is_refused_and_the_honest_seed_supplies_it() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let (meta, data) = make_torrent(dir.path(), "w.bin", &[("", 100_000)], 16 * 1024, vec![]);
    let (seed, _sh) = seeding(&meta, &data).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let size = meta.raw_info().len() as u64;
    let liar = lying_peer(meta.info_hash().0, size).await;
    let leech = session().await;
    // The seed answers a second late: the liar gets the requests first.
    let late_seed = slow_proxy(addr_of(&seed), Duration::from_secs(1)).await;
    let magnet = magnet_for(meta.info_hash(), &[liar]);
    let fetched = leech
        .fetch_metadata(&magnet, &[late_seed], TIMEOUT)
        .await
        .unwrap();
    assert_eq!(fetched.metainfo.info_hash(), meta.info_hash());
    assert_eq!(fetched.refused, vec![liar]);
    assert!(!fetched.peers.contains(&liar));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_sent_wrong_metadata_is_banned_by_the_torrent() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let (meta, data) = make_torrent(dir.path(), "b.bin", &[("", 100_000)], 16 * 1024, vec![]);
    let (seed, _sh) = seeding(&meta, &data).await;
    let liar = lying_peer(meta.info_hash().0, meta.raw_info().len() as u64).await;
    let leech = session().await;
    let late_seed = slow_proxy(addr_of(&seed), Duration::from_secs(1)).await;
    let magnet = magnet_for(meta.info_hash(), &[liar]);
    let out = dir.path().join("out");
    let (h, fetched) = leech
        .add_magnet(&magnet, &out, &[late_seed], TIMEOUT)
        .await
        .unwrap();
    assert_eq!(fetched.refused, vec![liar]);
    let mut h2 = h.clone();
    let banned = tokio::time::timeout(TIMEOUT, async {
        loop {
            if h2.stats().banned >= 1 {
                return true;
            }
            if h2.changed().await.is_err() {
                return false;
            }
        }
    })
    .await;
    assert_eq!(banned, Ok(true), "the liar was banned: {:?}", h.stats());
    assert!(h.stats().peer_list.iter().all(|p| p.addr != liar));
    completed(&h, TIMEOUT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_over_16_mib_is_refused() {
    logs();
    let ih = InfoHash([0x42; 20]);
    let liar = lying_peer(ih.0, (16 << 20) + 1).await;
    let leech = session().await;
    let err = leech
        .fetch_metadata(&magnet_for(ih, &[liar]), &[], Duration::from_secs(3))
        .await
        .unwrap_err();
    assert!(
        matches!(err, MagnetError::Timeout { refused: 1, .. }),
        "{err}"
    );
}

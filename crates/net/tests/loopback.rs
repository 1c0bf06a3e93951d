//! bitswarm to bitswarm over loopback, in one process: through bitswarm's own tracker
//! (HTTP and UDP) and by direct peer addresses.

mod common;

use std::time::Duration;

use bitswarm_net::{AddTorrent, TorrentState};
use common::*;

const TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_file_through_http_tracker() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let (t, http, _udp) = tracker().await;
    let (meta, data) = make_torrent(
        dir.path(),
        "one.bin",
        &[("", 3 * 1024 * 1024 + 1234)],
        256 * 1024,
        vec![http],
    );
    let (seed, sh) = seeding(&meta, &data).await;
    let leech = session().await;
    let out = dir.path().join("out");
    let lh = leech
        .add_torrent(AddTorrent::download(meta.clone(), &out))
        .await
        .unwrap();
    let stats = completed(&lh, TIMEOUT).await;
    assert_eq!(stats.have_bytes, meta.info().content_length());
    assert_eq!(stats.hash_failures, 0);
    leech.shutdown().await;
    assert_same_tree(&data, &out.join("one.bin"));
    // Statistics are refreshed a few times a second.
    let mut sh = sh;
    while sh.stats().uploaded < meta.info().content_length() {
        tokio::time::timeout(Duration::from_secs(2), sh.changed())
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(sh.stats().state, TorrentState::Seeding);
    // The leecher announced `completed`, then `stopped`: the tracker counts one
    // completed download and only the seed is left; after the seed stops, nobody.
    let ih = bitswarm_tracker::InfoHash(meta.info_hash().0);
    let counts = t.shared().scrape(&[ih])[0];
    assert_eq!((counts.complete, counts.incomplete), (1, 0), "{counts:?}");
    assert!(counts.downloaded >= 1, "{counts:?}");
    seed.shutdown().await;
    let counts = t.shared().scrape(&[ih])[0];
    assert_eq!((counts.complete, counts.incomplete), (0, 0), "{counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_file_through_udp_tracker_then_resume() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let (_t, _http, udp) = tracker().await;
    let mut files: Vec<(String, usize)> = (0..22)
        .map(|i| (format!("d{}/f{i}.dat", i % 3), (i * 37_123) % 200_000))
        .collect();
    files[3].1 = 0;
    files[4].1 = 1;
    files[5].1 = 0;
    let f: Vec<(&str, usize)> = files.iter().map(|(p, l)| (p.as_str(), *l)).collect();
    let (meta, data) = make_torrent(dir.path(), "multi", &f, 32 * 1024, vec![udp]);
    let (seed, _sh) = seeding(&meta, &data).await;
    let out = dir.path().join("out");
    let leech = session().await;
    let lh = leech
        .add_torrent(AddTorrent::download(meta.clone(), &out))
        .await
        .unwrap();
    completed(&lh, TIMEOUT).await;
    leech.shutdown().await;
    assert_same_tree(&data, &out.join("multi"));

    // A restart finds everything through resume data: complete without any peer.
    let again = session().await;
    let h = again
        .add_torrent(AddTorrent {
            no_trackers: true,
            ..AddTorrent::download(meta.clone(), &out)
        })
        .await
        .unwrap();
    let s = tokio::time::timeout(Duration::from_secs(20), h.wait_complete())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.downloaded, 0);
    again.shutdown().await;
    seed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_peer_and_file_selection() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let f = [("a.bin", 300_000), ("b.bin", 500_000), ("c.bin", 200_000)];
    let (meta, data) = make_torrent(dir.path(), "sel", &f, 64 * 1024, vec![]);
    let (seed, _sh) = seeding(&meta, &data).await;
    let leech = session().await;
    let out = dir.path().join("out");
    let add = AddTorrent {
        only_files: Some(vec![2]),
        extra_peers: vec![addr_of(&seed)],
        ..AddTorrent::download(meta.clone(), &out)
    };
    let lh = leech.add_torrent(add).await.unwrap();
    let s = completed(&lh, TIMEOUT).await;
    assert!(s.have_bytes >= 200_000 && s.downloaded < 400_000, "{s:?}");
    leech.shutdown().await;
    assert_same_tree(&data.join("c.bin"), &out.join("sel/c.bin"));
    seed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_first_tier_then_working_tracker() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let (_t, http, _udp) = tracker().await;
    // A UDP port nobody answers on, as the first tier; the real tracker second.
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("udp://{}", silent.local_addr().unwrap());
    let (meta, data) = make_torrent(
        dir.path(),
        "tiers.bin",
        &[("", 600_000)],
        64 * 1024,
        vec![dead, http],
    );
    assert_eq!(meta.tracker_tiers().len(), 2);
    let fast_udp = bitswarm_net::UdpTiming {
        base: Duration::from_millis(100),
        max_n: 8,
    };
    let cfg = || bitswarm_net::SessionConfig {
        udp_timing: fast_udp,
        ..config()
    };
    let seed = bitswarm_net::Session::new(cfg()).await.unwrap();
    let _sh = add_seed(&seed, &meta, &data).await;
    let leech = bitswarm_net::Session::new(cfg()).await.unwrap();
    let out = dir.path().join("out");
    let lh = leech
        .add_torrent(AddTorrent::download(meta.clone(), &out))
        .await
        .unwrap();
    completed(&lh, TIMEOUT).await;
    leech.shutdown().await;
    seed.shutdown().await;
    assert_same_tree(&data, &out.join("tiers.bin"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_limit_is_respected_on_loopback() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let (meta, data) = make_torrent(
        dir.path(),
        "slow.bin",
        &[("", 3 * 1024 * 1024)],
        256 * 1024,
        vec![],
    );
    let (seed, _sh) = seeding(&meta, &data).await;
    let leech = bitswarm_net::Session::new(bitswarm_net::SessionConfig {
        download_limit: Some(2 * 1024 * 1024),
        ..config()
    })
    .await
    .unwrap();
    let out = dir.path().join("out");
    let started = std::time::Instant::now();
    let lh = download_from(&leech, &meta, &out, &seed).await;
    let s = completed(&lh, TIMEOUT).await;
    let secs = started.elapsed().as_secs_f64();
    // 3 MiB at 2 MiB/s with a 0.5 MiB burst: at least about 1.2 s; and not absurdly slow.
    assert!(secs >= 1.1, "limit not applied: {secs:.2}s");
    assert!(secs < 10.0, "too slow: {secs:.2}s");
    assert!(s.peers <= 1);
    leech.shutdown().await;
    seed.shutdown().await;
    assert_same_tree(&data, &out.join("slow.bin"));
}

//! Peer exchange (BEP 11) in process, on 127.0.0.1: a leecher that knows only one peer
//! (the hub) ends up connected to the two other peers connected to the hub: the hub
//! advertises them by `ut_pex` (they dialled the hub, so under the listen port of their
//! extension handshake) and advertises the leecher to them; whichever side dials first,
//! the connection exists only through PEX. A private torrent does no PEX.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bitswarm_net::{AddTorrent, Session, TorrentHandle};
use bitswarm_proto::Metainfo;
use common::*;

const TIMEOUT: Duration = Duration::from_secs(60);

async fn pex_session() -> bitswarm_net::Session {
    bitswarm_net::Session::new(bitswarm_net::SessionConfig {
        pex: true,
        ..config()
    })
    .await
    .unwrap()
}

/// A PEX session seeding `meta` from `data` that knows (and dials) only `hub`, and the
/// torrent's handle.
async fn seed_dialling(
    hub: &Session,
    meta: &Arc<Metainfo>,
    data: &Path,
) -> (Session, TorrentHandle) {
    let s = pex_session().await;
    let h = s
        .add_torrent(AddTorrent {
            extra_peers: vec![addr_of(hub)],
            ..AddTorrent::seed(meta.clone(), data)
        })
        .await
        .unwrap();
    (s, h)
}

async fn wait_for(
    h: &TorrentHandle,
    what: &str,
    mut f: impl FnMut(&bitswarm_net::TorrentStats) -> bool,
) {
    let mut h = h.clone();
    let ok = tokio::time::timeout(TIMEOUT, async {
        loop {
            if f(&h.stats()) {
                return;
            }
            if h.changed().await.is_err() {
                return;
            }
        }
    })
    .await;
    assert!(
        ok.is_ok() && f(&h.stats()),
        "{what}: {:?}",
        h.stats().peer_list
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leecher_that_knew_one_peer_finds_the_others_by_pex() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let (meta, data) = make_torrent(dir.path(), "p.bin", &[("", 3_000_000)], 32 * 1024, vec![]);
    let hub = pex_session().await;
    let hub_h = add_seed(&hub, &meta, &data).await;
    let mut others = Vec::new();
    for _ in 0..2 {
        others.push(seed_dialling(&hub, &meta, &data).await);
    }
    wait_for(&hub_h, "the hub has both peers", |s| s.peers >= 2).await;

    let leech = pex_session().await;
    let out = dir.path().join("out");
    let add = AddTorrent {
        extra_peers: vec![addr_of(&hub)],
        seed_after: true,
        ..AddTorrent::download(meta.clone(), &out)
    };
    let lh = leech.add_torrent(add).await.unwrap();
    // Without PEX the leecher would only ever be connected to the hub (and the others
    // would not know its address either).
    wait_for(&lh, "the leecher is connected to all three peers", |s| {
        s.peers >= 3
    })
    .await;
    completed(&lh, TIMEOUT).await;
    assert_same_tree(&data, &out.join("p.bin"));
    leech.shutdown().await;
    for (s, _) in others {
        s.shutdown().await;
    }
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_torrents_do_no_pex() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let (meta, data) = private_torrent(dir.path(), "priv.bin", 300_000);
    let hub = pex_session().await;
    let hub_h = add_seed(&hub, &meta, &data).await;
    let (other, _oh) = seed_dialling(&hub, &meta, &data).await;
    wait_for(&hub_h, "the hub has the other peer", |s| s.peers >= 1).await;
    // A slow download (about 3 s): PEX, if it were done, would connect the leecher to
    // the other peer within a second or two of the handshake.
    let leech = bitswarm_net::Session::new(bitswarm_net::SessionConfig {
        download_limit: Some(100_000),
        pex: true,
        ..config()
    })
    .await
    .unwrap();
    let lh = leech
        .add_torrent(AddTorrent {
            extra_peers: vec![addr_of(&hub)],
            ..AddTorrent::download(meta.clone(), dir.path().join("out"))
        })
        .await
        .unwrap();
    let mut most = 0;
    let mut h = lh.clone();
    let _ = tokio::time::timeout(TIMEOUT, async {
        loop {
            let s = h.stats();
            most = most.max(s.peers);
            if s.completed_after_secs.is_some() || h.changed().await.is_err() {
                return;
            }
        }
    })
    .await;
    assert!(
        lh.stats().completed_after_secs.is_some(),
        "download completed"
    );
    assert_eq!(most, 1, "a private torrent's peer was learnt by PEX");
    leech.shutdown().await;
    other.shutdown().await;
    hub.shutdown().await;
}

//! The session's DHT in process, on 127.0.0.1: a magnet link with no tracker and no
//! `x.pe` is fetched and downloaded from a seed found only through a small local DHT
//! of bitswarm nodes (the seed announces into it, the leecher bootstraps from one
//! node); the node cache is written at shutdown. A DHT whose bootstrap node is dead
//! does not keep a download by `x.pe` from completing.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bitswarm_dht::{Dht, DhtConfig, DhtHandle, NodeConfig};
use bitswarm_net::{DhtSettings, Session, SessionConfig};
use bitswarm_proto::Magnet;
use common::*;

const TIMEOUT: Duration = Duration::from_secs(90);

async fn plain_node(bootstrap: Vec<String>) -> DhtHandle {
    let config = DhtConfig {
        node: NodeConfig {
            allow_local: true,
            queries_per_ip_per_sec: 10_000,
            query_burst_per_ip: 10_000,
            query_timeout: Duration::from_secs(2),
            ..NodeConfig::default()
        },
        bootstrap,
        ..DhtConfig::default()
    };
    Dht::bind("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap()
}

fn dht_config(bootstrap: &str, cache: Option<&Path>) -> SessionConfig {
    SessionConfig {
        dht: Some(DhtSettings {
            bootstrap: vec![bootstrap.to_owned()],
            node_cache: cache.map(Path::to_path_buf),
            allow_local: true,
            min_retry: Duration::from_millis(500),
            max_retry: Duration::from_secs(2),
            ..DhtSettings::default()
        }),
        ..config()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn magnet_without_tracker_or_peers_is_found_through_a_local_dht() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let (meta, data) = make_torrent(
        dir.path(),
        "dht",
        &[("a.bin", 400_000), ("b.bin", 90_000)],
        32 * 1024,
        vec![],
    );
    let router = plain_node(Vec::new()).await;
    let entry = router.local_addr().to_string();
    let mut others = Vec::new();
    for _ in 0..3 {
        others.push(plain_node(vec![entry.clone()]).await);
    }

    let seed = Session::new(dht_config(&entry, None)).await.unwrap();
    assert!(seed.dht().is_some(), "the seed runs a DHT node");
    let _sh = seed
        .add_torrent(bitswarm_net::AddTorrent::seed(meta.clone(), &data))
        .await
        .unwrap();

    let cache = dir.path().join("state").join("dht-nodes.bin");
    let leech = Session::new(dht_config(&entry, Some(&cache)))
        .await
        .unwrap();
    let magnet = Magnet::new(meta.info_hash());
    assert!(magnet.peer_addrs().is_empty() && magnet.trackers.is_empty());
    let out = dir.path().join("out");
    let (h, fetched) = leech
        .add_magnet(&magnet, &out, &[], TIMEOUT)
        .await
        .expect("metadata through the DHT");
    assert_eq!(fetched.metainfo.info_hash(), meta.info_hash());
    let seed_addr: SocketAddr = addr_of(&seed);
    assert!(
        fetched.peers.contains(&seed_addr),
        "the seed {seed_addr} was found: {:?}",
        fetched.peers
    );
    tokio::time::timeout(TIMEOUT, h.wait_complete())
        .await
        .expect("timed out")
        .unwrap();
    assert_same_tree(&data, &out.join("dht"));

    let table = leech.dht().unwrap().routing_table_size().await.unwrap();
    assert!(table >= 1, "the leecher's routing table has nodes");
    leech.shutdown().await;
    let saved = bitswarm_dht::cache::NodeCache::from_bytes(&std::fs::read(&cache).unwrap())
        .expect("a valid node cache");
    assert!(!saved.nodes.is_empty(), "the node cache holds nodes");
    seed.shutdown().await;
    for n in others.iter().chain([&router]) {
        let _ = n.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_bootstrap_node_does_not_block_a_download() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let (meta, data) = make_torrent(dir.path(), "x.bin", &[("", 200_000)], 16 * 1024, vec![]);
    let seed = session().await;
    let _sh = seed
        .add_torrent(bitswarm_net::AddTorrent::seed(meta.clone(), &data))
        .await
        .unwrap();
    // Nothing listens on UDP port 1; the name below does not resolve.
    let mut cfg = dht_config("127.0.0.1:1", None);
    if let Some(d) = cfg.dht.as_mut() {
        d.bootstrap.push("no-such-host.invalid:6881".into());
    }
    let leech = Session::new(cfg).await.unwrap();
    let mut magnet = Magnet::new(meta.info_hash());
    magnet.peers = vec![addr_of(&seed).to_string()];
    let out = dir.path().join("out");
    let (h, _) = leech.add_magnet(&magnet, &out, &[], TIMEOUT).await.unwrap();
    tokio::time::timeout(TIMEOUT, h.wait_complete())
        .await
        .expect("timed out")
        .unwrap();
    assert_same_tree(&data, &out.join("x.bin"));
    leech.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_learn_each_others_dht_node_from_the_port_message() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let (meta, data) = make_torrent(dir.path(), "p.bin", &[("", 100_000)], 16 * 1024, vec![]);
    // No bootstrap node at all: the only way to meet is the BEP 5 `port` message.
    let no_bootstrap = || SessionConfig {
        dht: Some(DhtSettings {
            bootstrap: Vec::new(),
            allow_local: true,
            ..DhtSettings::default()
        }),
        ..config()
    };
    let seed = Session::new(no_bootstrap()).await.unwrap();
    let _sh = seed
        .add_torrent(bitswarm_net::AddTorrent::seed(meta.clone(), &data))
        .await
        .unwrap();
    let leech = Session::new(no_bootstrap()).await.unwrap();
    let add = bitswarm_net::AddTorrent {
        extra_peers: vec![addr_of(&seed)],
        seed_after: true,
        ..bitswarm_net::AddTorrent::download(meta.clone(), dir.path().join("out"))
    };
    let h = leech.add_torrent(add).await.unwrap();
    tokio::time::timeout(TIMEOUT, h.wait_complete())
        .await
        .expect("timed out")
        .unwrap();
    let met = tokio::time::timeout(TIMEOUT, async {
        loop {
            let a = leech.dht().unwrap().routing_table_size().await.unwrap_or(0);
            let b = seed.dht().unwrap().routing_table_size().await.unwrap_or(0);
            if a >= 1 && b >= 1 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        met.is_ok(),
        "each DHT node learnt the other from the port message"
    );
    leech.shutdown().await;
    seed.shutdown().await;
}

//! Ten real DHT nodes (tokio driver, UDP sockets) on 127.0.0.1: bootstrap from one,
//! announce from one, find the peer from another; node cache round trip. Every wait has
//! a deadline; the nodes are shut down at the end.

use std::net::SocketAddr;
use std::time::Duration;

use bitswarm_dht::{Dht, DhtConfig, DhtHandle, NodeConfig};

fn local_config(bootstrap: Vec<String>) -> DhtConfig {
    DhtConfig {
        node: NodeConfig {
            allow_local: true,
            // Every node shares 127.0.0.1: the per-IP limit must not throttle the test.
            queries_per_ip_per_sec: 100_000,
            query_burst_per_ip: 100_000,
            query_timeout: Duration::from_secs(2),
            ..NodeConfig::default()
        },
        bootstrap,
        ..DhtConfig::default()
    }
}

async fn bind(bootstrap: Vec<String>) -> DhtHandle {
    Dht::bind("127.0.0.1:0".parse().unwrap(), local_config(bootstrap))
        .await
        .expect("bind")
}

/// Polls `f` until it holds or `limit` passes.
async fn eventually<F, Fut>(limit: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    tokio::time::timeout(limit, async {
        loop {
            if f().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_nodes_on_loopback_find_an_announced_peer() {
    let first = bind(Vec::new()).await;
    let entry = first.local_addr().to_string();
    let mut nodes = vec![first];
    for _ in 1..10 {
        nodes.push(bind(vec![entry.clone()]).await);
    }
    for (i, n) in nodes.iter().enumerate() {
        let ok = eventually(Duration::from_secs(20), || async {
            n.routing_table_size().await.unwrap_or(0) >= 3
        })
        .await;
        assert!(ok, "node {i} did not fill its routing table");
    }

    let info_hash = [0x42; 20];
    let mut announce = nodes[3].announce(info_hash, 7777).await.expect("announce");
    tokio::time::timeout(Duration::from_secs(30), async {
        while announce.recv().await.is_some() {}
    })
    .await
    .expect("announce finished in time");

    let want: SocketAddr = "127.0.0.1:7777".parse().unwrap();
    let mut found = nodes[8].get_peers(info_hash).await.expect("get_peers");
    let got = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(p) = found.recv().await {
            if p == want {
                return true;
            }
        }
        false
    })
    .await
    .expect("get_peers finished in time");
    assert!(got, "the announced peer was found");

    // Node cache: save from one node, start a new node from the cache alone.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dht-nodes");
    let saved = nodes[8].save_nodes(&path).await.expect("save");
    assert!(saved >= 3, "saved {saved}");
    let mut config = local_config(Vec::new());
    config.node_cache = Some(path.clone());
    let revived = Dht::bind("127.0.0.1:0".parse().unwrap(), config)
        .await
        .expect("bind");
    assert_eq!(revived.node_id(), nodes[8].node_id(), "cached id reused");
    let ok = eventually(Duration::from_secs(20), || async {
        revived.routing_table_size().await.unwrap_or(0) >= 3
    })
    .await;
    assert!(ok, "a node started from the cache joined");
    let mut found = revived.get_peers(info_hash).await.expect("get_peers");
    let got = tokio::time::timeout(Duration::from_secs(30), found.recv())
        .await
        .expect("in time");
    assert_eq!(got, Some(want));
    revived.shutdown().await.expect("shutdown");
    assert!(revived.stats().await.is_err(), "stopped");

    for n in nodes {
        n.shutdown().await.expect("shutdown");
    }
}

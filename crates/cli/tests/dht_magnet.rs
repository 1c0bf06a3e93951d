//! `bitswarm download MAGNET` through a small local DHT on 127.0.0.1: the magnet has no
//! tracker and no `x.pe`; three bitswarm DHT nodes run in this process, a `bitswarm
//! seed` announces into the DHT through one of them, the leecher bootstraps from the
//! same node, finds the seed, fetches the metadata and downloads. The same with a
//! libtorrent seed whose DHT bootstraps from our node (libtorrent announces itself into
//! our DHT). `--no-dht` with a magnet that names no peer exits with 2.

#[path = "support/engine.rs"]
mod engine;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use bitswarm_dht::{Dht, DhtConfig, DhtHandle, NodeConfig};
use engine::*;

/// The runtime the in-process DHT nodes run on.
fn dht_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

fn local_dht(rt: &tokio::runtime::Runtime, n: usize) -> Vec<DhtHandle> {
    rt.block_on(async {
        let mut nodes: Vec<DhtHandle> = Vec::new();
        for _ in 0..n {
            let bootstrap = nodes
                .first()
                .map(|f| vec![f.local_addr().to_string()])
                .unwrap_or_default();
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
            nodes.push(
                Dht::bind("127.0.0.1:0".parse().expect("addr"), config)
                    .await
                    .expect("bind a DHT node"),
            );
        }
        nodes
    })
}

/// Shuts the in-process DHT nodes down.
fn stop_dht(rt: &tokio::runtime::Runtime, nodes: &[DhtHandle]) {
    rt.block_on(async {
        for n in nodes {
            let _ = n.shutdown().await;
        }
    });
}

/// `bitswarm download` of `t`'s magnet (no tracker, no `x.pe`) into `out` with the DHT
/// flags `dht`; checks that it succeeds and that `out` holds the torrent's data.
fn download_magnet_via_dht(what: &str, t: &TestTorrent, out: &Path, dht: &[String]) {
    let magnet = format!("magnet:?xt=urn:btih:{}&dn={}", t.info_hash, t.name);
    let mut c = Command::new(BITSWARM);
    c.args(["download", &magnet, "-o", out.to_str().expect("utf8")])
        .args(NO_LAN_DISCOVERY)
        .args(["--port", &free_port().to_string()])
        .args(["--metadata-timeout", "60"])
        .args(dht)
        .env("RUST_LOG", "warn,bitswarm_net=info");
    let mut dl = Proc::spawn(what, &mut c);
    assert_downloaded(&mut dl, what, t, out);
}

#[test]
fn magnet_through_a_local_dht_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = single_file(
        dir.path(),
        "dht.bin",
        2 * 1024 * 1024 + 77,
        128 * 1024,
        vec![],
    );
    let rt = dht_runtime();
    let nodes = local_dht(&rt, 3);
    let entry = nodes[0].local_addr().to_string();
    let dht_args = |cache: &str| {
        vec![
            "--dht-bootstrap".to_string(),
            entry.clone(),
            "--dht-allow-local".into(),
            "--dht-cache".into(),
            dir.path().join(cache).to_str().expect("utf8").into(),
        ]
    };

    let seed_port = free_port();
    let mut seed = bitswarm_seed(&t, seed_port, &dht_args("seed-nodes.bin")).ready("seeding");

    download_magnet_via_dht(
        "bitswarm download magnet (DHT)",
        &t,
        &dir.path().join("out"),
        &dht_args("leech-nodes.bin"),
    );
    // The leecher's DHT met nodes: its node cache was written at exit.
    let cache = std::fs::read(dir.path().join("leech-nodes.bin")).expect("node cache");
    let cache = bitswarm_dht::cache::NodeCache::from_bytes(&cache).expect("valid cache");
    assert!(!cache.nodes.is_empty());
    seed.interrupt();
    seed.wait_exit(Duration::from_secs(30));
    stop_dht(&rt, &nodes);
}

#[test]
fn magnet_from_a_libtorrent_seed_found_through_the_dht() {
    require_libtorrent();
    let dir = tempfile::tempdir().expect("tempdir");
    let t = make_torrent(dir.path(), "lt-dht", &multi_files(), 64 * 1024, vec![]);
    let rt = dht_runtime();
    let nodes = local_dht(&rt, 3);
    let entry = nodes[0].local_addr().to_string();
    let lt_port = free_port();
    let mut c = Command::new(PYTHON);
    c.arg(lt_script())
        .args(["--torrent", t.torrent.to_str().expect("utf8")])
        .args(["--save", dir.path().join("src").to_str().expect("utf8")])
        .args(["--port", &lt_port.to_string(), "--timeout", "120", "--seed"])
        .args(["--dht-bootstrap", &entry]);
    let _seed = Proc::spawn("libtorrent DHT seed", &mut c).ready("checked");

    download_magnet_via_dht(
        "bitswarm download magnet (libtorrent via DHT)",
        &t,
        &dir.path().join("out"),
        &[
            "--dht-bootstrap".to_string(),
            entry.clone(),
            "--dht-allow-local".into(),
        ],
    );
    stop_dht(&rt, &nodes);
}

#[test]
fn no_dht_and_no_peer_source_is_refused() {
    let magnet = format!("magnet:?xt=urn:btih:{}", "ab".repeat(20));
    let out = Command::new(BITSWARM)
        .args(["download", &magnet, "--no-dht", "--no-lsd", "--port", "0"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--no-dht") && err.contains("--no-lsd"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

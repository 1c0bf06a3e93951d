//! Local Service Discovery (BEP 14) through the binary: `bitswarm download MAGNET` with
//! no tracker, no `x.pe`, no `--peer` and no DHT finds a `bitswarm seed` on this machine
//! by LSD alone (both on the loopback interface and a group port of the test's own) and
//! downloads; the seed was announcing before the leecher started, so this also shows
//! that a newcomer's announce is answered. (With `--no-dht` and `--no-lsd`, such a
//! magnet is refused with exit 2: `dht_magnet.rs`.)

#[path = "support/engine.rs"]
mod engine;

use std::process::Command;
use std::time::Duration;

use engine::*;

fn lsd_args(group_port: u16) -> Vec<String> {
    vec![
        "--no-dht".into(),
        "--lsd-interface".into(),
        "127.0.0.1".into(),
        "--lsd-port".into(),
        group_port.to_string(),
    ]
}

#[test]
fn magnet_from_a_seed_found_by_local_service_discovery_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = make_torrent(dir.path(), "lsd-cli", &multi_files(), 64 * 1024, vec![]);
    let group = free_port();
    // Not `bitswarm_seed`: the shared helpers turn LSD off.
    let mut c = Command::new(BITSWARM);
    c.args(["seed", t.torrent.to_str().expect("utf8")])
        .arg(&t.data)
        .args(["--port", &free_port().to_string()])
        .args(lsd_args(group))
        .env("RUST_LOG", "warn,bitswarm_net=info");
    let mut seed = Proc::spawn("bitswarm seed (LSD)", &mut c);
    seed.wait_line("seeding", Duration::from_secs(30));

    let out = dir.path().join("out");
    let magnet = format!("magnet:?xt=urn:btih:{}&dn={}", t.info_hash, t.name);
    let mut c = Command::new(BITSWARM);
    c.args(["download", &magnet, "-o", out.to_str().expect("utf8")])
        .args(["--port", &free_port().to_string()])
        .args(["--metadata-timeout", "60"])
        .args(lsd_args(group))
        .env("RUST_LOG", "warn,bitswarm_net=info");
    let mut dl = Proc::spawn("bitswarm download magnet (LSD)", &mut c);
    let st = dl.wait_exit(Duration::from_secs(90));
    assert!(st.success(), "download failed: {st}\n{}", dl.tail());
    assert_same_tree(&t.data, &out.join(&t.name));
    seed.interrupt();
    seed.wait_exit(Duration::from_secs(30));
}

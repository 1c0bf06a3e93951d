//! PEX (BEP 11) with libtorrent, through the binary on 127.0.0.1: a libtorrent leecher
//! that dials only one bitswarm seed (the hub) gets, in the hub's `ut_pex` message, the
//! second bitswarm seed connected to the hub, and connects to it too.

#[path = "support/engine.rs"]
mod engine;

use std::time::{Duration, Instant};

use engine::*;

#[test]
fn libtorrent_learns_a_second_seed_from_our_pex() {
    require_libtorrent();
    let dir = tempfile::tempdir().expect("tempdir");
    let t = single_file(dir.path(), "pex.bin", 8 * 1024 * 1024, 64 * 1024, vec![]);
    let hub_port = free_port();
    let hub = bitswarm_seed(&t, hub_port, &["--no-dht".into()]).ready("seeding");
    let other_port = free_port();
    let other = bitswarm_seed(
        &t,
        other_port,
        &[
            "--no-dht".into(),
            "--peer".into(),
            local(hub_port).to_string(),
        ],
    )
    .ready("seeding");
    // Slow download: it is still running when the hub's PEX message arrives.
    let mut c = std::process::Command::new(PYTHON);
    c.arg(lt_script())
        .args(["--torrent", t.torrent.to_str().expect("utf8")])
        .args(["--save", dir.path().join("lt").to_str().expect("utf8")])
        .args(["--port", &free_port().to_string(), "--timeout", "60"])
        .args(["--connect", &local(hub_port).to_string()])
        .args(["--download-limit", "400000"]);
    let mut lt = Proc::spawn("libtorrent leecher", &mut c);
    let end = Instant::now() + Duration::from_secs(50);
    let mut two = false;
    while Instant::now() < end && !two {
        let line = lt.wait_line("progress", Duration::from_secs(50));
        two = line.contains("peers=2");
        lt.seen.clear();
    }
    assert!(two, "libtorrent never had two peers:\n{}", lt.tail());
    hub.interrupt();
    other.interrupt();
}

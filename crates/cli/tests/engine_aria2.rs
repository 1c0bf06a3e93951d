//! bitswarm and aria2c exchange the interop torrents (64 MiB single file, 24 files) both
//! ways on 127.0.0.1: bitswarm dials an aria2c seed in plaintext; aria2c finds a
//! bitswarm seed through bitswarm's tracker and dials it (MSE first, then plaintext).

#[path = "support/engine.rs"]
mod engine;

use std::process::Command;
use std::time::Duration;

use engine::*;

const MIB: usize = 1024 * 1024;

fn torrents(dir: &std::path::Path, trackers: Vec<String>) -> Vec<TestTorrent> {
    let a = dir.join("single");
    let b = dir.join("multi");
    std::fs::create_dir_all(&a).expect("mkdir");
    std::fs::create_dir_all(&b).expect("mkdir");
    vec![
        single_file(&a, "big.bin", 64 * MIB, 1 << 20, trackers.clone()),
        make_torrent(&b, "multi", &multi_files(), 64 * 1024, trackers),
    ]
}

#[test]
fn aria2_seed_to_bitswarm() {
    require("aria2c", &["--version"], "aria2");
    let dir = tempfile::tempdir().expect("tempdir");
    for t in torrents(dir.path(), vec![]) {
        let port = free_port();
        let src = t.src_dir();
        let mut c = Command::new("aria2c");
        c.args(aria2_args(port))
            .args([
                "--check-integrity=true",
                "--seed-ratio=0.0",
                "--bt-seed-unverified=false",
            ])
            .arg(format!("--dir={}", src.display()))
            .arg(&t.torrent);
        let mut seed = Proc::spawn(&format!("aria2c seed :{port}"), &mut c);
        // aria2c hashes the data, then listens; bitswarm retries the dial with backoff,
        // so start right away.
        std::thread::sleep(Duration::from_millis(500));
        let out = t.dir().join("out");
        let mut dl = bitswarm_download(
            &t,
            &out,
            free_port(),
            &["--peer".into(), local(port).to_string()],
        );
        assert_downloaded(&mut dl, "bitswarm download", &t, &out);
        drop(seed.child.kill());
    }
}

#[test]
fn bitswarm_seed_to_aria2_via_tracker() {
    require("aria2c", &["--version"], "aria2");
    let dir = tempfile::tempdir().expect("tempdir");
    let (_tracker, http, _udp) = tracker();
    for t in torrents(dir.path(), vec![http]) {
        let _seed = bitswarm_seed(&t, free_port(), &[]).ready("seeding");
        // Let the seed's first announce land before aria2c asks the tracker.
        std::thread::sleep(Duration::from_millis(300));
        let out = t.dir().join("out");
        let port = free_port();
        let mut c = Command::new("aria2c");
        c.args(aria2_args(port))
            .args(["--seed-time=0", "--bt-stop-timeout=60"])
            .arg(format!("--dir={}", out.display()))
            .arg(&t.torrent);
        let mut leech = Proc::spawn(&format!("aria2c leech :{port}"), &mut c);
        assert_downloaded(&mut leech, "aria2c", &t, &out);
    }
}

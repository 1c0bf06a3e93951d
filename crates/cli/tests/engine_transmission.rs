//! bitswarm and Transmission 3.00 (transmission-cli) exchange the interop torrents (64
//! MiB single file, 24 files) both ways on 127.0.0.1. Transmission never dials loopback
//! peers it learns from trackers, so in both directions bitswarm dials it (`--peer`).
//! Transmission unchokes after about 10 s and serves 8–18 MB/s here: the deadlines are
//! generous.

#[path = "support/engine.rs"]
mod engine;

use std::time::Duration;

use engine::*;

const MIB: usize = 1024 * 1024;

fn torrents(dir: &std::path::Path) -> Vec<TestTorrent> {
    let a = dir.join("single");
    let b = dir.join("multi");
    std::fs::create_dir_all(&a).expect("mkdir");
    std::fs::create_dir_all(&b).expect("mkdir");
    vec![
        single_file(&a, "big.bin", 64 * MIB, 1 << 20, vec![]),
        make_torrent(&b, "multi", &multi_files(), 64 * 1024, vec![]),
    ]
}

#[test]
fn transmission_seed_to_bitswarm() {
    require("transmission-cli", &["--version"], "transmission-cli");
    let dir = tempfile::tempdir().expect("tempdir");
    for t in torrents(dir.path()) {
        let work = t.dir();
        let port = free_port();
        let src = t.src_dir();
        let _seed = transmission(&t, &src, &work, port, None, true);
        let out = work.join("out");
        let mut dl = bitswarm_download(
            &t,
            &out,
            free_port(),
            &["--peer".into(), local(port).to_string()],
        );
        assert_downloaded_within(
            &mut dl,
            "bitswarm download",
            &t,
            &out,
            Duration::from_secs(120),
        );
    }
}

#[test]
fn bitswarm_seed_to_transmission() {
    require("transmission-cli", &["--version"], "transmission-cli");
    let dir = tempfile::tempdir().expect("tempdir");
    for t in torrents(dir.path()) {
        let work = t.dir();
        let out = work.join("out");
        std::fs::create_dir_all(&out).expect("mkdir");
        let port = free_port();
        let marker = work.join("transmission-finished");
        let mut leech = transmission(&t, &out, &work, port, Some(&marker), false);
        let _seed = bitswarm_seed(&t, free_port(), &["--peer".into(), local(port).to_string()])
            .ready("seeding");
        wait_file(&marker, Duration::from_secs(120), &mut leech);
        assert_same_tree_except_empty(&t.data, &out.join(&t.name));
    }
}

//! bitswarm and libtorrent (python3-libtorrent) exchange a 64 MiB single-file torrent
//! and a 24-file torrent both ways on 127.0.0.1, directly and through bitswarm's
//! tracker; and a mixed swarm (one bitswarm seed, three bitswarm leechers, one
//! libtorrent leecher) completes.

#[path = "support/engine.rs"]
mod engine;

use std::time::Duration;

use engine::*;

const MIB: usize = 1024 * 1024;

#[test]
fn libtorrent_seed_to_bitswarm_64mib_direct() {
    require_libtorrent();
    let dir = tempfile::tempdir().expect("tempdir");
    let t = single_file(dir.path(), "big.bin", 64 * MIB, 1 << 20, vec![]);
    let lt_port = free_port();
    let _seed = lt_peer(&t, &dir.path().join("src"), lt_port, true, &[], 120).ready("checked");
    let out = dir.path().join("out");
    let mut dl = bitswarm_download(
        &t,
        &out,
        free_port(),
        &["--peer".into(), local(lt_port).to_string()],
    );
    assert_downloaded(&mut dl, "bitswarm download", &t, &out);
}

#[test]
fn libtorrent_seed_to_bitswarm_multi_file_via_tracker() {
    require_libtorrent();
    let dir = tempfile::tempdir().expect("tempdir");
    let (_tracker, http, _udp) = tracker();
    let t = make_torrent(dir.path(), "multi", &multi_files(), 64 * 1024, vec![http]);
    let _seed = lt_peer(&t, &dir.path().join("src"), free_port(), true, &[], 120).ready("checked");
    // libtorrent announces right after its check; give it a moment.
    std::thread::sleep(Duration::from_millis(500));
    let out = dir.path().join("out");
    let mut dl = bitswarm_download(&t, &out, free_port(), &[]);
    assert_downloaded_within(
        &mut dl,
        "bitswarm download",
        &t,
        &out,
        Duration::from_secs(60),
    );
}

#[test]
fn bitswarm_seed_to_libtorrent_64mib_and_multi_file() {
    require_libtorrent();
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, files, piece) in [
        ("big.bin", vec![(String::new(), 64 * MIB)], 1u32 << 20),
        ("multi", multi_files(), 64 * 1024),
    ] {
        let sub = dir.path().join(name.replace('.', "_"));
        std::fs::create_dir_all(&sub).expect("mkdir");
        let t = make_torrent(&sub, name, &files, piece, vec![]);
        let seed_port = free_port();
        let _seed = bitswarm_seed(&t, seed_port, &[]).ready("seeding");
        let out = sub.join("out");
        std::fs::create_dir_all(&out).expect("mkdir");
        let mut leech = lt_peer(&t, &out, free_port(), false, &[local(seed_port)], 90);
        let st = leech.wait_exit(Duration::from_secs(100));
        assert!(
            st.success(),
            "libtorrent did not complete: {st}\n{}",
            leech.tail()
        );
        assert_same_tree(&t.data, &out.join(&t.name));
    }
}

#[test]
fn mixed_swarm_one_seed_three_bitswarm_one_libtorrent() {
    require_libtorrent();
    let dir = tempfile::tempdir().expect("tempdir");
    let (_tracker, http, _udp) = tracker();
    let t = single_file(dir.path(), "swarm.bin", 12 * MIB, 256 * 1024, vec![http]);
    let _seed = bitswarm_seed(&t, free_port(), &[]).ready("seeding");
    let mut leechers: Vec<(Proc, std::path::PathBuf)> = (0..3)
        .map(|i| {
            let out = dir.path().join(format!("bs{i}"));
            (bitswarm_download(&t, &out, free_port(), &[]), out)
        })
        .collect();
    let lt_out = dir.path().join("lt");
    std::fs::create_dir_all(&lt_out).expect("mkdir");
    let mut lt = lt_peer(&t, &lt_out, free_port(), false, &[], 90);
    for (p, out) in &mut leechers {
        assert_downloaded(p, "bitswarm leecher", &t, out);
    }
    assert_downloaded(&mut lt, "libtorrent leecher", &t, &lt_out);
}

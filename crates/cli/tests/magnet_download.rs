//! `bitswarm download MAGNET`: the metadata is fetched (BEP 9) from a libtorrent seed
//! given only by `x.pe=` (no tracker) and from a bitswarm seed, the data follows and
//! matches, and `--save-torrent` writes a .torrent with the magnet's info-hash. An
//! invalid magnet link exits with 2.

#[path = "support/engine.rs"]
mod engine;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use engine::*;

const MIB: usize = 1024 * 1024;

fn magnet_download(t: &TestTorrent, peer_port: u16, out: &Path, saved: &Path) -> Proc {
    let magnet = format!(
        "magnet:?xt=urn:btih:{}&dn={}&x.pe=127.0.0.1:{peer_port}",
        t.info_hash, t.name
    );
    let mut c = Command::new(BITSWARM);
    c.args(["download", &magnet, "-o", out.to_str().expect("utf8")])
        .args(NO_LAN_DISCOVERY)
        .args(["--port", &free_port().to_string()])
        .args(["--save-torrent", saved.to_str().expect("utf8")])
        .args(["--metadata-timeout", "60"])
        .env("RUST_LOG", "warn,bitswarm_net=info");
    Proc::spawn("bitswarm download magnet", &mut c)
}

fn check_saved(t: &TestTorrent, saved: &Path) {
    let bytes = std::fs::read(saved).expect("saved torrent");
    let m = bitswarm_proto::Metainfo::from_bytes(&bytes).expect("valid torrent");
    assert_eq!(m.info_hash().to_hex(), t.info_hash);
    let original = bitswarm_proto::Metainfo::from_bytes(&std::fs::read(&t.torrent).unwrap())
        .expect("original");
    assert_eq!(m.raw_info(), original.raw_info());
}

/// Downloads `t` by its magnet link from the seed on `seed_port` alone, and checks the
/// data and the saved .torrent.
fn download_by_magnet_from(t: &TestTorrent, dir: &Path, seed_port: u16) {
    let out = dir.join("out");
    let saved = dir.join("saved.torrent");
    let mut dl = magnet_download(t, seed_port, &out, &saved);
    assert_downloaded(&mut dl, "bitswarm download", t, &out);
    check_saved(t, &saved);
}

#[test]
fn magnet_from_libtorrent_seed_by_x_pe_only() {
    require_libtorrent();
    let dir = tempfile::tempdir().expect("tempdir");
    let t = make_torrent(dir.path(), "lt-multi", &multi_files(), 64 * 1024, vec![]);
    let lt_port = free_port();
    let _seed = lt_peer(&t, &dir.path().join("src"), lt_port, true, &[], 120).ready("checked");
    download_by_magnet_from(&t, dir.path(), lt_port);
}

#[test]
fn magnet_from_bitswarm_seed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = single_file(dir.path(), "bs.bin", 3 * MIB + 123, 256 * 1024, vec![]);
    let seed_port = free_port();
    let _seed = bitswarm_seed(&t, seed_port, &[]).ready("listening");
    download_by_magnet_from(&t, dir.path(), seed_port);
}

/// libtorrent, given only a magnet link and the seed's address, fetches the metadata
/// from a bitswarm seed (BEP 9 served by us) and then the data.
#[test]
fn libtorrent_fetches_metadata_and_data_from_a_bitswarm_seed_by_magnet() {
    require_libtorrent();
    let dir = tempfile::tempdir().expect("tempdir");
    let t = make_torrent(dir.path(), "to-lt", &multi_files(), 64 * 1024, vec![]);
    let seed_port = free_port();
    let _seed = bitswarm_seed(&t, seed_port, &["--no-dht".into()]).ready("listening");
    let save = dir.path().join("lt");
    let magnet = format!("magnet:?xt=urn:btih:{}&dn={}", t.info_hash, t.name);
    let mut c = Command::new(PYTHON);
    c.arg(lt_script())
        .args(["--magnet", &magnet, "--save", save.to_str().expect("utf8")])
        .args(["--port", &free_port().to_string(), "--timeout", "90"])
        .args(["--connect", &local(seed_port).to_string()]);
    let mut lt = Proc::spawn("libtorrent magnet leecher", &mut c);
    lt.wait_line("metadata", Duration::from_secs(60));
    let st = lt.wait_exit(Duration::from_secs(90));
    assert!(
        st.success(),
        "libtorrent did not complete: {st}\n{}",
        lt.tail()
    );
    assert_same_tree(&t.data, &save.join(&t.name));
}

#[test]
fn invalid_magnet_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let st = Command::new(BITSWARM)
        .args(["download", "magnet:?xt=urn:btih:nothex", "-o"])
        .arg(dir.path())
        .status()
        .expect("run bitswarm");
    assert_eq!(st.code(), Some(2));
}

#[test]
fn magnet_through_a_tracker_only() {
    let (_tracker, http, _udp) = tracker();
    let dir = tempfile::tempdir().expect("tempdir");
    let t = single_file(dir.path(), "tr.bin", MIB + 7, 64 * 1024, vec![http.clone()]);
    let _seed = bitswarm_seed(&t, free_port(), &[]).ready("listening");
    let out = dir.path().join("out");
    let magnet = format!("magnet:?xt=urn:btih:{}&tr={http}", t.info_hash);
    let mut c = Command::new(BITSWARM);
    c.args(["download", &magnet, "-o", out.to_str().expect("utf8")])
        .args(NO_LAN_DISCOVERY)
        .args([
            "--port",
            &free_port().to_string(),
            "--announce-interval",
            "2",
        ])
        .env("RUST_LOG", "warn,bitswarm_net=info");
    let mut dl = Proc::spawn("bitswarm download magnet via tracker", &mut c);
    assert_downloaded(&mut dl, "bitswarm download", &t, &out);
}

#[test]
fn info_fetch_prints_the_fetched_torrent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = single_file(dir.path(), "info.bin", 200_000, 16 * 1024, vec![]);
    let seed_port = free_port();
    let _seed = bitswarm_seed(&t, seed_port, &[]).ready("listening");
    let magnet = format!("magnet:?xt=urn:btih:{}", t.info_hash);
    let out = Command::new(BITSWARM)
        .args(["info", &magnet, "--fetch", "--json", "--timeout", "30"])
        .args(["--peer", &local(seed_port).to_string()])
        .output()
        .expect("run bitswarm info");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["info_hash"], t.info_hash.as_str(), "{v}");
    assert_eq!(v["name"], "info.bin", "{v}");
}

//! Protocol encryption (MSE/PE) against real peers on 127.0.0.1: aria2c requiring RC4
//! downloads from a bitswarm seed; bitswarm downloads from libtorrent seeds that force
//! encryption (RC4 only) or plaintext; `--encryption require` refuses a plaintext-only
//! peer with a clear log line; bitswarm ↔ bitswarm with RC4 both ways.

#[path = "support/engine.rs"]
mod engine;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use engine::*;

const MIB: usize = 1024 * 1024;

fn torrent(dir: &Path, trackers: Vec<String>) -> TestTorrent {
    single_file(dir, "enc.bin", 24 * MIB, 256 * 1024, trackers)
}

/// A libtorrent seed with the given `in/out_enc_policy` and `allowed_enc_level`, and
/// its port.
fn lt_seed_encrypting(t: &TestTorrent, policy: &str, level: &str) -> (Proc, u16) {
    lt_seed(t, &["--encryption", policy, "--enc-level", level])
}

/// A seed of `t` on a free port with `--encryption mode`, once it is seeding; and its
/// port.
fn bitswarm_seed_encrypting(t: &TestTorrent, mode: &str) -> (Proc, u16) {
    let port = free_port();
    let extra = ["--encryption".into(), mode.into()];
    (bitswarm_seed(t, port, &extra).ready("seeding"), port)
}

/// Downloads `t` from the peer on `peer_port` once with each `--encryption` mode, each
/// into its own folder under `dir`, and checks the data.
fn download_in_each_mode(t: &TestTorrent, dir: &Path, peer_port: u16, modes: &[&str]) {
    for (i, mode) in modes.iter().enumerate() {
        let out = dir.join(format!("out-{i}"));
        let extra = [
            "--peer".into(),
            local(peer_port).to_string(),
            "--encryption".into(),
            mode.to_string(),
        ];
        let mut dl = bitswarm_download(t, &out, free_port(), &extra);
        assert_downloaded(&mut dl, &format!("bitswarm download ({mode})"), t, &out);
    }
}

fn out_dir(t: &TestTorrent) -> std::path::PathBuf {
    t.dir().join("out")
}

#[test]
fn aria2_requiring_rc4_downloads_from_bitswarm_seed() {
    require("aria2c", &["--version"], "aria2");
    let dir = tempfile::tempdir().expect("tempdir");
    let (_tracker, http, _udp) = tracker();
    let t = torrent(dir.path(), vec![http]);
    // The seed refuses plaintext handshakes, and aria2c offers RC4 only: the transfer
    // can only happen over an MSE handshake with RC4.
    let _seed = bitswarm_seed_encrypting(&t, "require");
    std::thread::sleep(Duration::from_millis(300));
    let out = out_dir(&t);
    let port = free_port();
    let mut c = Command::new("aria2c");
    c.args(aria2_args(port))
        .args(["--seed-time=0", "--bt-stop-timeout=60"])
        .args(["--bt-require-crypto=true", "--bt-min-crypto-level=arc4"])
        .arg(format!("--dir={}", out.display()))
        .arg(&t.torrent);
    let mut leech = Proc::spawn(&format!("aria2c leech :{port}"), &mut c);
    assert_downloaded(&mut leech, "aria2c", &t, &out);
}

#[test]
fn bitswarm_downloads_from_libtorrent_forcing_rc4() {
    require_libtorrent();
    let dir = tempfile::tempdir().expect("tempdir");
    let t = torrent(dir.path(), vec![]);
    let (_seed, lt_port) = lt_seed_encrypting(&t, "forced", "rc4");
    download_in_each_mode(&t, dir.path(), lt_port, &["prefer", "require"]);
}

#[test]
fn bitswarm_falls_back_to_plaintext_with_libtorrent_disabling_encryption() {
    require_libtorrent();
    let dir = tempfile::tempdir().expect("tempdir");
    let t = torrent(dir.path(), vec![]);
    let (_seed, lt_port) = lt_seed_encrypting(&t, "disabled", "plaintext");
    download_in_each_mode(&t, dir.path(), lt_port, &["prefer", "disable"]);
}

#[test]
fn require_refuses_a_plaintext_only_peer_with_a_clear_line() {
    require_libtorrent();
    let dir = tempfile::tempdir().expect("tempdir");
    let t = torrent(dir.path(), vec![]);
    let (_seed, lt_port) = lt_seed_encrypting(&t, "disabled", "plaintext");
    let out = out_dir(&t);
    let extra = [
        "--peer".into(),
        local(lt_port).to_string(),
        "--encryption".into(),
        "require".into(),
    ];
    let mut dl = bitswarm_download(&t, &out, free_port(), &extra);
    let line = dl.wait_line("encryption is required", Duration::from_secs(30));
    assert!(line.contains(&local(lt_port).to_string()), "{line}");
    assert!(line.contains("not connecting in plaintext"), "{line}");
    // Nothing was downloaded in plaintext.
    std::thread::sleep(Duration::from_secs(2));
    let got = std::fs::metadata(out.join(&t.name))
        .map(|m| m.len())
        .unwrap_or(0);
    let same = std::fs::read(out.join(&t.name)).ok() == std::fs::read(&t.data).ok();
    assert!(
        !same || got == 0,
        "data arrived despite --encryption require"
    );
}

#[test]
fn bitswarm_to_bitswarm_rc4_both_ways() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = torrent(dir.path(), vec![]);
    // Seed requires RC4; the downloader dials (prefer) and must end up with RC4.
    let (seed, seed_port) = bitswarm_seed_encrypting(&t, "require");
    let out = out_dir(&t);
    let extra = ["--peer".into(), local(seed_port).to_string()];
    let mut dl = bitswarm_download(&t, &out, free_port(), &extra);
    assert_downloaded(&mut dl, "download", &t, &out);

    // A seed that disables encryption refuses MSE: a `prefer` downloader falls back.
    let (_seed2, seed_port) = bitswarm_seed_encrypting(&t, "disable");
    let out2 = dir.path().join("out2");
    let extra = ["--peer".into(), local(seed_port).to_string()];
    let mut dl = bitswarm_download(&t, &out2, free_port(), &extra);
    assert_downloaded(&mut dl, "fallback download", &t, &out2);
    drop(seed);
}

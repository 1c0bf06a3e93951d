//! Client options reach every worker of `bitswarm download --workers N`: with
//! `--encryption require` the workers (and, in cooperative mode, their connections to
//! each other) use MSE/RC4 and complete from a libtorrent seed that forces RC4, and they
//! refuse a seed that speaks plaintext only (reported stalled, exit 1).
//! `--advertise-ip` is given explicitly (127.0.0.1) and bad values are refused.

#[path = "support/engine.rs"]
mod engine;

use std::process::Command;
use std::time::Duration;

use engine::*;

const MIB: usize = 1024 * 1024;

#[test]
fn workers_use_the_encryption_policy() {
    require_libtorrent();
    let dir = tempfile::tempdir().expect("tempdir");
    let t = single_file(dir.path(), "enc.bin", 6 * MIB + 999, 256 * 1024, vec![]);

    // A seed that forces RC4: cooperative workers requiring encryption complete.
    let (_rc4, rc4_port) = lt_seed(&t, &["--encryption", "forced", "--enc-level", "rc4"]);
    let out = dir.path().join("coop");
    let mut dl = Proc::spawn(
        "bitswarm download --workers 2 --encryption require",
        Command::new(BITSWARM)
            .args(["download", t.torrent.to_str().expect("utf8")])
            .args(["-o", out.to_str().expect("utf8"), "--workers", "2"])
            .args(["--mode", "cooperative", "--encryption", "require"])
            .args(["--advertise-ip", "127.0.0.1", "--port", "0", "--json"])
            .args(["--stall-timeout", "60"])
            .args(["--peer", &local(rc4_port).to_string()])
            .env("RUST_LOG", "warn"),
    );
    let st = dl.wait_exit(Duration::from_secs(180));
    assert!(st.success(), "{st}\n{}", dl.tail());
    for r in 1..=2 {
        assert_same_tree(
            &t.data,
            &out.join(format!("rank_{r}_download")).join(&t.name),
        );
    }

    // A plaintext-only seed: workers requiring encryption get nothing from it.
    let (_plain, plain_port) = lt_seed(&t, &["--plaintext"]);
    let out = dir.path().join("plain");
    let o = Command::new(BITSWARM)
        .args(["download", t.torrent.to_str().expect("utf8")])
        .args(["-o", out.to_str().expect("utf8"), "--workers", "2"])
        .args(["--mode", "independent", "--encryption", "require"])
        .args(["--port", "0", "--stall-timeout", "5"])
        .args(["--peer", &local(plain_port).to_string()])
        .output()
        .expect("run bitswarm");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("Overall: 0 succeeded, 2 failed"),
        "{stdout}"
    );
    assert!(stdout.contains("stalled"), "{stdout}");
}

#[test]
fn bad_advertise_ip_is_refused() {
    let o = Command::new(BITSWARM)
        .args(["download", "x.torrent", "--workers", "2"])
        .args(["--advertise-ip", "10.0.0"])
        .output()
        .expect("run bitswarm");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("neither an IP address nor \"auto\""),
        "{stderr}"
    );
}

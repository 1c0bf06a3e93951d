//! `bitswarm download` stops cleanly on Ctrl-C with resume data saved, continues from it
//! on restart, uses data already on disk, and `--recheck` finds a damaged piece.

#[path = "support/engine.rs"]
mod engine;

use std::time::Duration;

use engine::*;

const MIB: usize = 1024 * 1024;

/// The `have=N` of the "checked data on disk" log line.
fn checked_have(p: &mut Proc) -> u32 {
    let line = p.wait_line("checked data on disk", Duration::from_secs(30));
    line.split_whitespace()
        .find_map(|w| w.strip_prefix("have="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no have= in {line:?}"))
}

#[test]
fn interrupt_resume_existing_data_and_recheck() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = single_file(dir.path(), "r.bin", 16 * MIB, 256 * 1024, vec![]);
    let pieces = 64;
    let seed_port = free_port();
    let seed_args: Vec<String> = vec!["--upload-limit".into(), "4M".into()];
    let slow_seed = bitswarm_seed(&t, seed_port, &seed_args).ready("seeding");
    let out = dir.path().join("out");
    let peer = vec!["--peer".to_string(), local(seed_port).to_string()];

    // 1. Interrupted after a couple of seconds: exit 0, resume data saved.
    let mut dl = bitswarm_download(&t, &out, free_port(), &peer);
    assert_eq!(checked_have(&mut dl), 0);
    std::thread::sleep(Duration::from_millis(2500));
    dl.interrupt();
    let st = dl.wait_exit(Duration::from_secs(20));
    assert!(st.success(), "Ctrl-C must exit 0: {st}\n{}", dl.tail());
    let resume = out
        .join(".bitswarm")
        .join(format!("{}.resume", t.info_hash));
    assert!(resume.exists(), "no resume data at {}", resume.display());
    drop(slow_seed);

    // 2. Restart: continues from the resume data, without re-downloading.
    let seed_port = free_port();
    let _seed = bitswarm_seed(&t, seed_port, &[]).ready("seeding");
    let peer = vec!["--peer".to_string(), local(seed_port).to_string()];
    let mut dl = bitswarm_download(&t, &out, free_port(), &peer);
    let have = checked_have(&mut dl);
    assert!(
        have > 0 && have < pieces,
        "resumed with {have} of {pieces} pieces"
    );
    let st = dl.wait_exit(Duration::from_secs(60));
    assert!(st.success(), "{st}\n{}", dl.tail());
    assert_same_tree(&t.data, &out.join(&t.name));

    // 3. Damage one piece, restart with --recheck: found and fetched again.
    let file = out.join(&t.name);
    let mut bytes = std::fs::read(&file).expect("read");
    bytes[5 * 256 * 1024 + 17] ^= 0xFF;
    std::fs::write(&file, &bytes).expect("write");
    let mut args = peer.clone();
    args.push("--recheck".into());
    let mut dl = bitswarm_download(&t, &out, free_port(), &args);
    assert_eq!(checked_have(&mut dl), pieces - 1);
    let st = dl.wait_exit(Duration::from_secs(60));
    assert!(st.success(), "{st}\n{}", dl.tail());
    assert_same_tree(&t.data, &out.join(&t.name));

    // 4. Data already on disk without resume data is checked and used.
    let other = dir.path().join("copy");
    std::fs::create_dir_all(&other).expect("mkdir");
    std::fs::copy(&t.data, other.join(&t.name)).expect("copy");
    let mut dl = bitswarm_download(&t, &other, free_port(), &peer);
    assert_eq!(checked_have(&mut dl), pieces);
    let st = dl.wait_exit(Duration::from_secs(30));
    assert!(st.success(), "{st}\n{}", dl.tail());
}

#[test]
fn magnet_is_refused_with_exit_2_and_bad_rate_is_a_usage_error() {
    let out = std::process::Command::new(BITSWARM)
        .args([
            "download",
            "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567",
            "--no-dht",
            "--no-lsd",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nowhere to find peers"));
    let out = std::process::Command::new(BITSWARM)
        .args(["download", "x.torrent", "--download-limit", "fast"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid rate"));
}

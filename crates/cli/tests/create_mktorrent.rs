//! `bitswarm create` gives the same info-hash as mktorrent for the same content, piece
//! length, trackers and flags. Needs `mktorrent` (CI installs it); fails loudly without.

use std::path::{Path, PathBuf};
use std::process::Command;

use bitswarm_proto::Metainfo;

const BIN: &str = env!("CARGO_BIN_EXE_bitswarm");

fn require(tool: &str) -> PathBuf {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    found.unwrap_or_else(|| {
        panic!("`{tool}` is not installed: this test compares against it (apt-get install {tool}; scripts/install-deps.sh does it)")
    })
}

fn write(path: &Path, seed: u64, len: usize) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bitswarm_testkit::torrent::content(len, seed)).unwrap();
}

fn load(path: &Path) -> Metainfo {
    Metainfo::from_bytes(&std::fs::read(path).unwrap()).unwrap()
}

/// Run both tools with equivalent options and compare the info-hashes.
fn compare(input: &Path, piece_exp: u32, trackers: &[&str], private: bool, source: Option<&str>) {
    let mktorrent = require("mktorrent");
    let out = tempfile::tempdir().unwrap();
    let theirs = out.path().join("mktorrent.torrent");
    let ours = out.path().join("bitswarm.torrent");

    let mut m = Command::new(mktorrent);
    m.arg("-l")
        .arg(piece_exp.to_string())
        .arg("-o")
        .arg(&theirs);
    for t in trackers {
        m.arg("-a").arg(t);
    }
    if private {
        m.arg("-p");
    }
    if let Some(s) = source {
        m.arg("-s").arg(s);
    }
    let status = m.arg(input).output().unwrap();
    assert!(status.status.success(), "mktorrent failed: {status:?}");

    let mut b = Command::new(BIN);
    b.arg("create").arg(input).arg("-o").arg(&ours);
    b.arg("--piece-length").arg((1u64 << piece_exp).to_string());
    for t in trackers {
        b.arg("--tracker").arg(t);
    }
    if private {
        b.arg("--private");
    }
    if let Some(s) = source {
        b.arg("--source").arg(s);
    }
    let status = b.output().unwrap();
    assert!(
        status.status.success(),
        "bitswarm create failed: {status:?}"
    );

    let (t, o) = (load(&theirs), load(&ours));
    assert_eq!(
        o.info_hash(),
        t.info_hash(),
        "info-hash differs from mktorrent's"
    );
    assert_eq!(o.tracker_tiers(), t.tracker_tiers());
    assert_eq!(o.announce(), t.announce());
    assert_eq!(o.files(), t.files());
    let stdout = String::from_utf8_lossy(&status.stdout);
    assert!(stdout.contains(&o.info_hash().to_string()), "{stdout}");
}

#[test]
fn single_file_several_piece_lengths() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data.bin");
    write(&file, 1, 1_000_003);
    for exp in [15, 16, 18, 20] {
        compare(
            &file,
            exp,
            &["http://tracker.example/announce"],
            false,
            None,
        );
    }
}

#[test]
fn folder_with_nested_dirs_hidden_and_empty_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("folder");
    // Names chosen so that sorting by full path differs from sorting per component.
    write(&root.join("sub/B/z.bin"), 2, 70_000);
    write(&root.join("sub-x"), 3, 5);
    write(&root.join("sub.a"), 4, 40_000);
    write(&root.join("A.txt"), 5, 123);
    write(&root.join(".hidden/x"), 6, 33_333);
    write(&root.join(".dot"), 7, 1);
    write(&root.join("Ä unicode name"), 8, 16_384);
    std::fs::write(root.join("empty"), b"").unwrap();
    std::fs::create_dir_all(root.join("empty-dir")).unwrap();
    compare(&root, 15, &[], false, None);
    compare(&root, 16, &["udp://t:80"], false, None);
}

#[test]
fn private_and_source_go_inside_info() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("p");
    write(&root.join("one"), 9, 50_000);
    write(&root.join("two/three"), 10, 20_000);
    compare(&root, 15, &["http://a/announce"], true, None);
    compare(&root, 15, &["http://a/announce"], true, Some("TRACKER-SRC"));
}

#[test]
fn several_trackers_one_tier_each() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    write(&file, 11, 100_000);
    compare(
        &file,
        15,
        &["http://a/announce", "udp://b:6969", "http://c/x"],
        false,
        None,
    );
    let ours = dir.path().join("o.torrent");
    let status = Command::new(BIN)
        .args([
            "create",
            "-t",
            "http://a/",
            "-t",
            "http://b/",
            "--no-date",
            "-o",
        ])
        .arg(&ours)
        .arg(&file)
        .status()
        .unwrap();
    assert!(status.success());
    let m = load(&ours);
    assert_eq!(
        m.tracker_tiers(),
        vec![vec!["http://a/"], vec!["http://b/"]]
    );
    assert_eq!(m.creation_date(), None);
}

#[test]
fn auto_piece_length_and_web_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    write(&file, 12, 3 << 20);
    let ours = dir.path().join("o.torrent");
    let status = Command::new(BIN)
        .args([
            "create",
            "--piece-length",
            "auto",
            "-w",
            "http://ws/1",
            "-w",
            "http://ws/2",
        ])
        .args(["-c", "a comment", "-o"])
        .arg(&ours)
        .arg(&file)
        .status()
        .unwrap();
    assert!(status.success());
    let m = load(&ours);
    assert_eq!(m.geometry().piece_length(), 16 * 1024);
    assert_eq!(m.url_list(), ["http://ws/1", "http://ws/2"]);
    assert_eq!(m.comment(), Some("a comment"));
    assert!(m.creation_date().is_some());
}

#[test]
fn create_refuses_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    write(&file, 13, 10);
    let out = dir.path().join("o.torrent");
    for args in [
        vec!["--piece-length", "1000"],
        vec!["--piece-length", "lots"],
    ] {
        let o = Command::new(BIN)
            .arg("create")
            .args(&args)
            .arg("-o")
            .arg(&out)
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&o.stderr).lines().count(), 1);
    }
    let o = Command::new(BIN)
        .arg("create")
        .arg("-o")
        .arg(&out)
        .arg(dir.path().join("nope"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = Command::new(BIN)
        .arg("create")
        .arg("-o")
        .arg(&out)
        .arg(&empty)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no data"));
}

//! Our info-hash equals libtorrent's for torrents made by other tools and for hand-made
//! non-canonical ones. Needs `transmission-create` and python3-libtorrent (CI installs
//! both); fails loudly without them.

use std::path::Path;
use std::process::Command;

use bitswarm_proto::Metainfo;

const BIN: &str = env!("CARGO_BIN_EXE_bitswarm");
const PYTHON: &str = "/usr/bin/python3";

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// libtorrent's v1 info-hash of a .torrent file.
fn libtorrent_hash(torrent: &Path) -> String {
    let out = Command::new(PYTHON)
        .args([
            "-c",
            "import sys, libtorrent as lt; print(lt.torrent_info(sys.argv[1]).info_hashes().v1)",
        ])
        .arg(torrent)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {PYTHON}: {e}; install python3-libtorrent"));
    assert!(
        out.status.success(),
        "python3-libtorrent is required (apt-get install python3-libtorrent): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn our_hash(torrent: &Path) -> String {
    Metainfo::from_bytes(&std::fs::read(torrent).unwrap())
        .unwrap()
        .info_hash()
        .to_string()
}

#[test]
fn unsorted_noncanonical_info_hashes_like_libtorrent() {
    // Keys of `info` out of order, `private` written as i01e: the hash must be of the
    // original bytes, not of a canonical re-encoding.
    let t = fixture("unsorted_keys.torrent");
    let ours = our_hash(&t);
    assert_eq!(ours, libtorrent_hash(&t));
    assert_eq!(ours, "1d2dc68c1b907ccf793188b956612d4ea9f89eae");
    let out = Command::new(BIN).arg("info").arg(&t).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(&ours));
    // And the data verifies.
    let out = Command::new(BIN)
        .arg("verify")
        .arg(&t)
        .arg(fixture("unsorted_keys.txt"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn transmission_create_torrent_hashes_like_libtorrent() {
    let tc = Command::new("sh")
        .args(["-c", "command -v transmission-create"])
        .output()
        .unwrap();
    assert!(
        tc.status.success(),
        "transmission-create is required (apt-get install transmission-cli)"
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("content");
    std::fs::create_dir_all(root.join("nested/deeper")).unwrap();
    std::fs::write(root.join("a.bin"), vec![7u8; 100_000]).unwrap();
    std::fs::write(root.join("nested/deeper/b.txt"), b"transmission").unwrap();
    std::fs::write(
        root.join("nested/c"),
        (0..50_000u32).map(|i| i as u8).collect::<Vec<_>>(),
    )
    .unwrap();
    let torrent = dir.path().join("t.torrent");
    let out = Command::new("transmission-create")
        .args([
            "-p",
            "-s",
            "32",
            "-t",
            "http://tracker.example/announce",
            "-o",
        ])
        .arg(&torrent)
        .arg(&root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(our_hash(&torrent), libtorrent_hash(&torrent));
    // Our verify accepts the content transmission hashed.
    let out = Command::new(BIN)
        .arg("verify")
        .arg(&torrent)
        .arg(&root)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn our_created_torrent_hashes_like_libtorrent() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("x");
    std::fs::create_dir_all(root.join("d")).unwrap();
    std::fs::write(root.join("d/f"), vec![1u8; 70_000]).unwrap();
    std::fs::write(root.join("g"), b"g").unwrap();
    let torrent = dir.path().join("x.torrent");
    let st = Command::new(BIN)
        .args(["create", "-p", "-t", "http://t/a", "-o"])
        .arg(&torrent)
        .arg(&root)
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(our_hash(&torrent), libtorrent_hash(&torrent));
}

#[test]
fn libtorrent_padded_torrent_parses_and_verifies() {
    // libtorrent 2.0 with `canonical_files` writes v1 torrents with BEP 47 pad files
    // (`.pad/N`, attr "p"), including one after the last file.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("c");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("a"), vec![5u8; 40_000]).unwrap();
    std::fs::write(root.join("b"), vec![6u8; 30_000]).unwrap();
    std::fs::write(root.join("d"), b"tail!").unwrap();
    let torrent = dir.path().join("p.torrent");
    let script = "import sys, libtorrent as lt\n\
fs = lt.file_storage(); lt.add_files(fs, sys.argv[1])\n\
ct = lt.create_torrent(fs, 16384, flags=lt.create_torrent.v1_only | lt.create_torrent.canonical_files)\n\
lt.set_piece_hashes(ct, sys.argv[2])\n\
open(sys.argv[3], 'wb').write(lt.bencode(ct.generate()))\n";
    let out = Command::new(PYTHON)
        .arg("-c")
        .arg(script)
        .arg(&root)
        .arg(dir.path())
        .arg(&torrent)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python3-libtorrent is required: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta = Metainfo::from_bytes(&std::fs::read(&torrent).unwrap()).unwrap();
    assert!(meta.files().iter().any(|f| f.padding), "expected pad files");
    assert_eq!(meta.info().content_length(), 70_005);
    assert_eq!(meta.info_hash().to_string(), libtorrent_hash(&torrent));
    let out = Command::new(BIN)
        .arg("verify")
        .arg(&torrent)
        .arg(&root)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Corrupt the last file: only its piece is bad.
    std::fs::write(root.join("d"), b"TAIL!").unwrap();
    let out = Command::new(BIN)
        .args(["verify", "--json"])
        .arg(&torrent)
        .arg(&root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["pieces"]["bad"], serde_json::json!([5]));
}

//! create → verify: intact data passes (exit 0); corrupted, missing and truncated files
//! are reported piece by piece and file by file (exit 1); padding files are zeros.

use std::path::Path;
use std::process::{Command, Output};

use bitswarm_bencode::OwnedValue;

const BIN: &str = env!("CARGO_BIN_EXE_bitswarm");

fn create(input: &Path, torrent: &Path, piece_length: &str) {
    let out = Command::new(BIN)
        .args(["create", "--piece-length", piece_length, "-o"])
        .arg(torrent)
        .arg(input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

fn verify(torrent: &Path, data: &Path) -> (Output, serde_json::Value) {
    let text = Command::new(BIN)
        .arg("verify")
        .arg(torrent)
        .arg(data)
        .output()
        .unwrap();
    let json = Command::new(BIN)
        .args(["verify", "--json"])
        .arg(torrent)
        .arg(data)
        .output()
        .unwrap();
    assert_eq!(text.status.code(), json.status.code());
    let v = serde_json::from_slice(&json.stdout).unwrap();
    (text, v)
}

/// Three files over 16 KiB pieces: a (40000 bytes: pieces 0-2), b (30000: 2-4), c (5: 4).
fn folder(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("data");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(
        root.join("a"),
        (0..40_000u32).map(|i| (i * 7) as u8).collect::<Vec<_>>(),
    )
    .unwrap();
    std::fs::write(
        root.join("sub/b"),
        (0..30_000u32).map(|i| (i * 13) as u8).collect::<Vec<_>>(),
    )
    .unwrap();
    std::fs::write(root.join("sub/c"), b"hello").unwrap();
    root
}

#[test]
fn intact_folder_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let root = folder(dir.path());
    let t = dir.path().join("t.torrent");
    create(&root, &t, "16K");
    let (out, v) = verify(&t, &root);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("pieces: 5 good, 0 bad, 0 missing, of 5"),
        "{stdout}"
    );
    assert_eq!(v["ok"], true);
    assert_eq!(v["pieces"]["good"], 5);
}

#[test]
fn corrupted_byte_is_a_bad_piece() {
    let dir = tempfile::tempdir().unwrap();
    let root = folder(dir.path());
    let t = dir.path().join("t.torrent");
    create(&root, &t, "16K");
    let b = root.join("sub/b");
    let mut bytes = std::fs::read(&b).unwrap();
    bytes[20_000] ^= 0xff; // offset 60000 overall: piece 3
    std::fs::write(&b, bytes).unwrap();
    let (out, v) = verify(&t, &root);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("bad pieces: 3"), "{stdout}");
    assert!(
        stdout.contains("bad        sub/b (1 bad, 0 missing pieces)"),
        "{stdout}"
    );
    assert_eq!(v["ok"], false);
    assert_eq!(v["pieces"]["bad"], serde_json::json!([3]));
    assert_eq!(v["files"][0]["state"], "ok");
    assert_eq!(v["files"][1]["state"], "bad");
}

#[test]
fn missing_and_truncated_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = folder(dir.path());
    let t = dir.path().join("t.torrent");
    create(&root, &t, "16K");
    std::fs::remove_file(root.join("a")).unwrap();
    let (out, v) = verify(&t, &root);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["pieces"]["missing"], serde_json::json!([0, 1, 2]));
    assert_eq!(v["files"][0]["state"], "missing");
    assert!(String::from_utf8_lossy(&out.stdout).contains("missing pieces: 0-2"));

    // Truncate c (the last file): only the last piece is missing.
    let root2 = folder(&dir.path().join("second"));
    std::fs::write(root2.join("sub/c"), b"he").unwrap();
    let (out, v) = verify(&t, &root2);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["pieces"]["missing"], serde_json::json!([4]));
    assert_eq!(v["files"][2]["state"], "wrong size");
    assert_eq!(v["files"][2]["size_on_disk"], 2);

    // The whole folder missing: every piece missing, still exit 1, not 2.
    let (out, v) = verify(&t, &dir.path().join("nothing-here"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["pieces"]["missing"].as_array().unwrap().len(), 5);
}

#[test]
fn single_file_roundtrip_with_auto_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("one.bin");
    std::fs::write(&f, vec![9u8; 5 << 20]).unwrap();
    let t = dir.path().join("one.torrent");
    create(&f, &t, "auto");
    let (out, _) = verify(&t, &f);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    std::fs::write(&f, vec![8u8; 5 << 20]).unwrap();
    let (out, v) = verify(&t, &f);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["pieces"]["bad"].as_array().unwrap().len(), 320);
}

#[test]
fn padding_files_are_virtual_zeros() {
    // BEP 47: file a (10 bytes) + 6 bytes of padding fill piece 0; b starts piece 1.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("padded");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("a"), [1u8; 10]).unwrap();
    std::fs::write(root.join("b"), [2u8; 16]).unwrap();
    let mut piece0 = vec![1u8; 10];
    piece0.extend([0u8; 6]);
    let pieces = [
        bitswarm_proto::sha1::digest(&piece0),
        bitswarm_proto::sha1::digest(&[2u8; 16]),
    ]
    .concat();
    let file = |path: &[&str], len: i64, pad: bool| {
        let mut f = OwnedValue::dict();
        f.insert("length", len);
        f.insert(
            "path",
            OwnedValue::List(path.iter().map(|c| OwnedValue::from(*c)).collect()),
        );
        if pad {
            f.insert("attr", "p");
        }
        f
    };
    let mut info = OwnedValue::dict();
    info.insert(
        "files",
        OwnedValue::List(vec![
            file(&["a"], 10, false),
            file(&[".pad", "6"], 6, true),
            file(&["b"], 16, false),
        ]),
    );
    info.insert("name", "padded");
    info.insert("piece length", 16);
    info.insert("pieces", pieces);
    let mut root_dict = OwnedValue::dict();
    root_dict.insert("info", info);
    let t = dir.path().join("p.torrent");
    std::fs::write(&t, root_dict.to_bytes()).unwrap();
    let (out, v) = verify(&t, &root);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        v["files"].as_array().unwrap().len(),
        2,
        "padding is not listed as a file"
    );
    let info_out = Command::new(BIN).arg("info").arg(&t).output().unwrap();
    assert!(String::from_utf8_lossy(&info_out.stdout).contains("total size:   26 B"));
}

//! `bitswarm info` on torrents and magnet links, as text and JSON.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_bitswarm");

#[test]
fn torrent_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("show");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("sub/a"), vec![3u8; 40_000]).unwrap();
    std::fs::write(root.join("b"), vec![4u8; 1000]).unwrap();
    let torrent = dir.path().join("s.torrent");
    let st = Command::new(BIN)
        .args([
            "create",
            "-p",
            "-l",
            "16K",
            "-t",
            "http://t1/",
            "-t",
            "http://t2/",
            "-s",
            "SRC",
            "-o",
        ])
        .arg(&torrent)
        .arg(&root)
        .status()
        .unwrap();
    assert!(st.success());

    let out = Command::new(BIN)
        .arg("info")
        .arg(&torrent)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "name:         show",
        "private:      yes",
        "pieces:       3",
        "tier 2: http://t2/",
        "sub/a",
        "41000 bytes",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }

    let out = Command::new(BIN)
        .arg("info")
        .arg("--json")
        .arg(&torrent)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["name"], "show");
    assert_eq!(v["total_size"], 41000);
    assert_eq!(v["piece_length"], 16384);
    assert_eq!(v["piece_count"], 3);
    assert_eq!(v["private"], true);
    assert_eq!(v["source"], "SRC");
    assert_eq!(
        v["trackers"],
        serde_json::json!([["http://t1/"], ["http://t2/"]])
    );
    assert_eq!(v["files"][0]["path"], "b");
    assert_eq!(v["files"][1]["path"], "sub/a");
    assert_eq!(v["info_hash"].as_str().unwrap().len(), 40);

    // The magnet it prints describes the same torrent.
    let magnet = v["magnet"].as_str().unwrap().to_owned();
    let out = Command::new(BIN)
        .args(["info", "--json", &magnet])
        .output()
        .unwrap();
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(m["info_hash"], v["info_hash"]);
    assert_eq!(m["name"], "show");
}

#[test]
fn magnet_text_and_json() {
    let link = "magnet:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK&dn=Some%20Name&tr=udp%3A%2F%2Fa%3A1&tr=http://b/&x.pe=127.0.0.1:6881&ws=http://w/&so=0,2-3";
    let out = Command::new(BIN).args(["info", link]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "Some Name",
        "c12fe1c06bba254a9dc9f519b335aa7c1367a88a",
        "udp://a:1",
        "127.0.0.1:6881",
        "http://w/",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    let out = Command::new(BIN)
        .args(["info", "--json", link])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kind"], "magnet");
    assert_eq!(v["trackers"], serde_json::json!(["udp://a:1", "http://b/"]));
    assert_eq!(v["peers"], serde_json::json!(["127.0.0.1:6881"]));
    assert_eq!(v["select_only"], serde_json::json!([[0, 0], [2, 3]]));
}

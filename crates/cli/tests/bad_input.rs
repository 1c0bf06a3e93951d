//! Every hostile or broken torrent in fixtures/bad/ (and a few bad magnets) gets one
//! line on stderr naming the problem and exit code 2, never a panic.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_bitswarm");

fn check(what: &str, out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{what}: exit code; stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{what}: panic: {stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "{what}: not one line: {stderr:?}"
    );
    assert!(stderr.starts_with("bitswarm: error: "), "{what}: {stderr}");
}

#[test]
fn bad_torrents_exit_2_with_one_line() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad");
    let data = tempfile::tempdir().unwrap();
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "torrent") {
            continue;
        }
        count += 1;
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let info = Command::new(BIN).arg("info").arg(&path).output().unwrap();
        check(&format!("info {name}"), &info);
        let json = Command::new(BIN)
            .arg("info")
            .arg("--json")
            .arg(&path)
            .output()
            .unwrap();
        check(&format!("info --json {name}"), &json);
        let verify = Command::new(BIN)
            .arg("verify")
            .arg(&path)
            .arg(data.path())
            .output()
            .unwrap();
        check(&format!("verify {name}"), &verify);
        // The message names the file.
        assert!(
            String::from_utf8_lossy(&info.stderr).contains(&name),
            "{name}"
        );
    }
    assert!(
        count >= 30,
        "only {count} fixtures found in {}",
        dir.display()
    );
}

#[test]
fn specific_messages() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad");
    let cases = [
        ("path_traversal", "path traversal"),
        ("absolute_path", "path separator"),
        ("duplicate_file_names", "collides"),
        ("deep_nesting", "nesting deeper"),
        ("huge_declared_length", "declares 99999999999999999 bytes"),
        ("pieces_not_multiple_of_20", "not a multiple of 20"),
        ("negative_length", "negative length"),
        ("missing_length", "exactly one of 'length'"),
        ("v2_only", "v2 torrents (BEP 52) are not supported yet"),
        ("hybrid_v1_v2", "hybrid"),
        ("truncated", "at byte"),
        ("nul_in_path", "NUL"),
    ];
    for (name, expect) in cases {
        let out = Command::new(BIN)
            .arg("info")
            .arg(dir.join(format!("{name}.torrent")))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expect), "{name}: {stderr}");
    }
}

#[test]
fn bad_magnets_and_missing_files() {
    for arg in [
        "magnet:?dn=no-hash",
        "magnet:?xt=urn:btih:1234",
        "magnet:?xt=urn:btmh:1220caf1e1c30e81cb361b9ee167c4aa64228a7fa4fa9f6105232b28ad099f3a302e",
        "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&so=9-1",
        "/nonexistent/file.torrent",
    ] {
        let out = Command::new(BIN).arg("info").arg(arg).output().unwrap();
        check(arg, &out);
    }
    let out = Command::new(BIN)
        .arg("info")
        .arg("magnet:?xt=urn:btmh:1220caf1e1c30e81cb361b9ee167c4aa64228a7fa4fa9f6105232b28ad099f3a302e")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("v2 is not supported"));
}

//! `bitswarm download --workers 3` against a libtorrent seed capped at 8 MiB/s on
//! loopback, in both modes: every `rank_<r>_download` matches the source byte for byte;
//! in cooperative mode the seed uploads about one copy (not three) and the run is faster
//! than independent mode. The same from a magnet link, whose metadata every worker fetches
//! from the seed. Also: a swarm with no reachable peer is reported as stalled, not
//! waited for, and a magnet link with nowhere to fetch its metadata from is refused with
//! exit code 2.

#[path = "support/engine.rs"]
mod engine;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use engine::*;

const MIB: usize = 1024 * 1024;
const SIZE: usize = 24 * MIB;
const SEED_CAP: usize = 8 * MIB;

/// What the workers are given.
#[derive(Clone, Copy, PartialEq)]
enum Given {
    TorrentFile,
    /// A magnet link naming the seed (`x.pe`) and nothing else.
    Magnet,
}

/// One run: (wall seconds, bytes the seed uploaded, the JSON report).
fn run_mode(
    t: &TestTorrent,
    work: &Path,
    mode: &str,
    given: Given,
) -> (f64, u64, serde_json::Value) {
    let (mut seed, lt_port) = lt_seed(t, &["--upload-limit", &SEED_CAP.to_string()]);
    let out = work.join(mode);
    let input = match given {
        Given::TorrentFile => t.torrent.to_str().expect("utf8").to_owned(),
        Given::Magnet => format!(
            "magnet:?xt=urn:btih:{}&x.pe={}",
            t.info_hash,
            local(lt_port)
        ),
    };
    let started = Instant::now();
    let mut dl = Proc::spawn(
        &format!("bitswarm download --workers 3 --mode {mode}"),
        Command::new(BITSWARM)
            .args(["download", &input])
            .args([
                "-o",
                out.to_str().expect("utf8"),
                "--workers",
                "3",
                "--mode",
                mode,
            ])
            .args(["--port", "0", "--json", "--stall-timeout", "60"])
            .args(match given {
                Given::TorrentFile => vec!["--peer".to_owned(), local(lt_port).to_string()],
                Given::Magnet => Vec::new(),
            })
            .env("RUST_LOG", "warn"),
    );
    let st = dl.wait_exit(Duration::from_secs(180));
    let wall = started.elapsed().as_secs_f64();
    assert!(st.success(), "{mode}: download failed: {st}\n{}", dl.tail());
    // The helper prints libtorrent's total_payload_upload every second: take a fresh one.
    std::thread::sleep(Duration::from_millis(1500));
    let uploaded = lt_uploaded(&mut seed).expect("the seed reports its upload");
    let report = json_report(&dl);
    for r in 1..=3 {
        assert_same_tree(
            &t.data,
            &out.join(format!("rank_{r}_download")).join(&t.name),
        );
    }
    (wall, uploaded, report)
}

#[test]
fn cooperative_sends_each_piece_about_once_and_beats_independent() {
    require_libtorrent();
    let dir = tempfile::tempdir().expect("tempdir");
    let t = single_file(dir.path(), "data.bin", SIZE, 256 * 1024, vec![]);

    let (ind_wall, ind_up, ind) = run_mode(&t, dir.path(), "independent", Given::TorrentFile);
    let (coop_wall, coop_up, coop) = run_mode(&t, dir.path(), "cooperative", Given::TorrentFile);
    eprintln!(
        "independent: {ind_wall:.1} s, seed uploaded {:.1} MiB; cooperative: {coop_wall:.1} s, seed uploaded {:.1} MiB",
        ind_up as f64 / MIB as f64,
        coop_up as f64 / MIB as f64
    );
    for (name, rep) in [("independent", &ind), ("cooperative", &coop)] {
        assert_eq!(rep["mode"], name);
        assert_eq!(rep["succeeded"], 3, "{rep}");
        assert_eq!(rep["failed"], 0);
        assert_eq!(rep["rows"].as_array().map(Vec::len), Some(3));
    }
    // Independent: three full copies from the seed.
    assert!(
        ind_up as f64 > 2.5 * SIZE as f64,
        "independent seed upload {ind_up}"
    );
    // Cooperative: about one copy.
    assert!(
        (coop_up as f64) < 1.5 * SIZE as f64,
        "cooperative seed upload {coop_up}"
    );
    // Workers traded pieces: each uploaded something to the others.
    let traded: u64 = coop["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["uploaded"].as_u64())
        .sum();
    assert!(
        traded as f64 > SIZE as f64,
        "workers uploaded only {traded} bytes to each other"
    );
    assert!(
        coop_wall < ind_wall,
        "cooperative {coop_wall:.1} s, independent {ind_wall:.1} s"
    );
}

#[test]
fn workers_without_progress_are_reported_stalled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = single_file(dir.path(), "lonely.bin", MIB, 64 * 1024, vec![]);
    // A port nobody listens on: the workers never get a byte.
    let dead = free_port();
    let started = Instant::now();
    let out = Command::new(BITSWARM)
        .args(["download", t.torrent.to_str().expect("utf8")])
        .args(["-o", dir.path().join("out").to_str().expect("utf8")])
        .args(["--workers", "2", "--mode", "independent", "--port", "0"])
        .args(["--stall-timeout", "3", "--peer", &local(dead).to_string()])
        .output()
        .expect("run bitswarm");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        stdout.contains("Overall: 0 succeeded, 2 failed"),
        "{stdout}"
    );
    assert!(stdout.contains("stalled: no progress for 3 s"), "{stdout}");
    assert!(
        stderr.contains("2 of 2 workers did not complete"),
        "{stderr}"
    );
}

#[test]
fn both_modes_download_from_a_magnet_link() {
    require_libtorrent();
    let dir = tempfile::tempdir().expect("tempdir");
    let size = 8 * MIB;
    let t = single_file(dir.path(), "magnet.bin", size, 64 * 1024, vec![]);
    for (mode, most_copies) in [("independent", 3.5), ("cooperative", 1.5)] {
        let (wall, up, rep) = run_mode(&t, dir.path(), mode, Given::Magnet);
        eprintln!(
            "{mode} from a magnet: {wall:.1} s, seed uploaded {:.1} MiB",
            up as f64 / MIB as f64
        );
        assert_eq!(rep["succeeded"], 3, "{rep}");
        // The name and size come from the fetched metadata, not the link.
        assert_eq!(rep["name"], "magnet.bin", "{rep}");
        assert_eq!(rep["size"], size as u64, "{rep}");
        for row in rep["rows"].as_array().into_iter().flatten() {
            assert_eq!(row["name"], "magnet.bin", "{row}");
        }
        assert!(
            (up as f64) < most_copies * size as f64,
            "{mode}: the seed uploaded {up} bytes"
        );
    }
}

#[test]
fn magnet_links_with_nowhere_to_fetch_metadata_are_refused_before_any_worker_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(BITSWARM)
        .args([
            "download",
            "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567",
        ])
        .args(["--workers", "2", "--port", "0", "-o"])
        .arg(dir.path())
        .output()
        .expect("run bitswarm");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("nowhere to fetch its metadata"), "{stderr}");
    assert_eq!(stderr.matches("bitswarm: error:").count(), 1, "{stderr}");
    // No worker started: no rank folder.
    assert!(!dir.path().join("rank_1_download").exists());
}

#[test]
fn flags_the_workers_do_not_take_are_refused() {
    for flag in [
        &["--only", "0"][..],
        &["--seed"],
        &["--save-torrent", "x.torrent"],
    ] {
        let out = Command::new(BITSWARM)
            .args(["download", "x.torrent", "--workers", "2"])
            .args(flag)
            .output()
            .expect("run bitswarm");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag:?}: {stderr}");
        assert!(stderr.contains("not supported with --workers"), "{stderr}");
    }
}

//! `bitswarm download --workers 3` on loopback against a libtorrent seed:
//! - cooperative mode with `--shared-dir DIR`: one copy in DIR matching byte for byte,
//!   each worker downloaded (and wrote) its share, the seed uploaded about one copy;
//! - Ctrl-C against a slow, capped seed: every rank stops cleanly, the process exits by
//!   itself with code 0, resume data is saved in every `rank_<r>_download`, and a rerun
//!   does not download the verified pieces again.

#[path = "support/engine.rs"]
mod engine;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use engine::*;

const MIB: usize = 1024 * 1024;
const PIECE: u32 = 256 * 1024;

/// A libtorrent seed of `t`, capped at `cap` bytes/s (0: uncapped), ready to serve.
fn capped_seed(t: &TestTorrent, cap: usize) -> (Proc, u16) {
    lt_seed(t, &["--upload-limit", &cap.to_string()])
}

/// The latest "uploaded N" the seed printed (0 before the first).
fn seed_uploaded(seed: &mut Proc) -> u64 {
    lt_uploaded(seed).unwrap_or(0)
}

/// Starts `bitswarm download --workers 3 --json` with `extra` flags, peering with `seed`.
fn workers(t: &TestTorrent, out: &Path, seed_port: u16, extra: &[&str]) -> Proc {
    Proc::spawn(
        "bitswarm download --workers 3",
        Command::new(BITSWARM)
            .args(["download", t.torrent.to_str().expect("utf8")])
            .args(["-o", out.to_str().expect("utf8"), "--workers", "3"])
            .args(["--port", "0", "--json", "--stall-timeout", "120"])
            .args(["--peer", &local(seed_port).to_string()])
            .args(extra)
            .env("RUST_LOG", "warn"),
    )
}

fn rows(report: &serde_json::Value) -> Vec<serde_json::Value> {
    report["rows"].as_array().cloned().unwrap_or_default()
}

fn field(row: &serde_json::Value, key: &str) -> u64 {
    row[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no {key} in {row}"))
}

#[test]
fn cooperative_shared_dir_writes_one_copy_each_worker_its_share() {
    require_libtorrent();
    const SIZE: usize = 24 * MIB;
    let dir = tempfile::tempdir().expect("tempdir");
    let t = single_file(dir.path(), "shared.bin", SIZE, PIECE, vec![]);
    let (mut seed, seed_port) = capped_seed(&t, 8 * MIB);
    let out = dir.path().join("out");
    let shared = dir.path().join("shared");
    let mut dl = workers(
        &t,
        &out,
        seed_port,
        &[
            "--mode",
            "cooperative",
            "--shared-dir",
            shared.to_str().expect("utf8"),
        ],
    );
    let st = dl.wait_exit(Duration::from_secs(240));
    assert!(st.success(), "download failed: {st}\n{}", dl.tail());
    let rep = json_report(&dl);
    assert_eq!(rep["succeeded"], 3, "{rep}");
    assert_eq!(rep["failed"], 0, "{rep}");

    // One copy, in the shared folder, and no per-rank copies.
    assert_same_tree(&t.data, &shared.join(&t.name));
    for r in 1..=3 {
        assert!(
            !out.join(format!("rank_{r}_download"))
                .join(&t.name)
                .exists(),
            "rank {r} wrote a copy of its own"
        );
    }
    // Each worker fetched about its third and nobody fetched everything: their downloads
    // add up to about one copy.
    let rows = rows(&rep);
    assert_eq!(rows.len(), 3);
    let third = SIZE as u64 / 3;
    let mut total = 0;
    for row in &rows {
        let down = field(row, "downloaded");
        assert!(
            down >= third / 2 && down <= 2 * third,
            "a worker downloaded {down} bytes, its share is about {third}: {row}"
        );
        assert!(row["folder"].as_str().is_some_and(|f| f.contains("shared")));
        total += down;
    }
    assert!(
        total as f64 <= 1.2 * SIZE as f64,
        "the workers downloaded {total} bytes together"
    );
    // The outside seed sent about one copy.
    std::thread::sleep(Duration::from_millis(1500));
    let up = seed_uploaded(&mut seed);
    assert!(
        (up as f64) >= 0.5 * SIZE as f64 && (up as f64) < 1.5 * SIZE as f64,
        "the seed uploaded {up} bytes for a {SIZE}-byte torrent"
    );
}

#[test]
fn ctrl_c_stops_every_rank_saves_resume_data_and_a_rerun_continues() {
    require_libtorrent();
    const SIZE: usize = 16 * MIB;
    let dir = tempfile::tempdir().expect("tempdir");
    let t = single_file(dir.path(), "slow.bin", SIZE, PIECE, vec![]);
    let out = dir.path().join("out");

    // A seed slow enough that nobody finishes before the interrupt: 3 × 16 MiB at 1 MiB/s.
    let (mut seed, seed_port) = capped_seed(&t, MIB);
    let mut dl = workers(&t, &out, seed_port, &["--mode", "independent"]);
    // Interrupt once the seed has sent about 3 MiB to each worker: a rerun that fetched
    // everything again would then exceed the bound below.
    let end = Instant::now() + Duration::from_secs(120);
    while seed_uploaded(&mut seed) < 9 * MIB as u64 {
        assert!(Instant::now() < end, "the seed never uploaded 9 MiB");
        std::thread::sleep(Duration::from_millis(200));
    }
    dl.interrupt();
    let st = dl.wait_exit(Duration::from_secs(90));
    assert_eq!(st.code(), Some(0), "after Ctrl-C: {st}\n{}", dl.tail());
    assert!(
        dl.seen.iter().any(|l| l.contains("stopping every worker")),
        "{}",
        dl.tail()
    );
    let first = json_report(&dl);
    let first_rows = rows(&first);
    assert_eq!(first_rows.len(), 3, "{first}");
    let mut had = Vec::new();
    for row in &first_rows {
        let r = field(row, "rank");
        assert_eq!(row["outcome"]["reason"], "interrupted", "rank {r}: {row}");
        let have = field(row, "have");
        assert!(have > 0, "rank {r} had nothing when interrupted: {row}");
        assert!(have < SIZE as u64, "rank {r} finished before the interrupt");
        let resume = out.join(format!("rank_{r}_download")).join(".bitswarm");
        let saved = std::fs::read_dir(&resume)
            .map(|d| d.count())
            .unwrap_or_else(|e| panic!("rank {r}: no resume data in {}: {e}", resume.display()));
        assert!(saved > 0, "rank {r}: {} is empty", resume.display());
        had.push((r, have));
    }
    drop(seed);

    // Rerun against an uncapped seed: each rank only fetches what it did not have.
    let (_seed, seed_port) = capped_seed(&t, 0);
    let mut dl = workers(&t, &out, seed_port, &["--mode", "independent"]);
    let st = dl.wait_exit(Duration::from_secs(180));
    assert!(st.success(), "rerun failed: {st}\n{}", dl.tail());
    let second = json_report(&dl);
    assert_eq!(second["succeeded"], 3, "{second}");
    for row in rows(&second) {
        let r = field(&row, "rank");
        let (_, have) = had.iter().find(|(rank, _)| *rank == r).expect("same ranks");
        let down = field(&row, "downloaded");
        // Missing bytes, plus a little slack for blocks fetched twice in endgame.
        let missing = SIZE as u64 - have;
        assert!(
            down <= missing + 2 * u64::from(PIECE),
            "rank {r} downloaded {down} bytes, only {missing} were missing"
        );
        assert_same_tree(
            &t.data,
            &out.join(format!("rank_{r}_download")).join(&t.name),
        );
    }
}

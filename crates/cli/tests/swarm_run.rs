//! `bitswarm swarm` end to end: small scenarios run the real tracker and real sessions on
//! loopback; the JSON report is checked (everyone complete and verified, bytes conserved,
//! a corrupting client banned, a missed deadline named).

use std::path::Path;
use std::process::Output;

use serde_json::Value;

const MIB: u64 = 1024 * 1024;

/// Runs `bitswarm swarm SCENARIO --report R` with extra args; returns the output and the
/// report (if written).
fn swarm(dir: &Path, scenario: &str, extra: &[&str]) -> (Output, Option<Value>) {
    let scenario_path = dir.join("scenario.toml");
    std::fs::write(&scenario_path, scenario).expect("write scenario");
    let report = dir.join("report.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bitswarm"))
        .arg("swarm")
        .arg(&scenario_path)
        .arg("--report")
        .arg(&report)
        .args(extra)
        .output()
        .expect("run bitswarm");
    let json = std::fs::read_to_string(&report)
        .ok()
        .map(|t| serde_json::from_str(&t).expect("report is JSON"));
    (out, json)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn clients(report: &Value) -> &Vec<Value> {
    report["clients"].as_array().expect("clients array")
}

fn u(v: &Value) -> u64 {
    v.as_u64().expect("an unsigned integer")
}

#[test]
fn small_swarm_completes_with_verified_data() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let scenario = r#"
        seed = 7
        deadline_secs = 60
        ranks = 3
        files = 1
        size = "3MiB"
        seeds = 1
        peers = 3
        leechers = 6
        hold_fraction = 0.4
        upload_limit = "4MiB"
        seed_upload_limit = "4MiB"
    "#;
    let plot = tmp.path().join("plot.svg");
    let (out, report) = swarm(
        tmp.path(),
        scenario,
        &["--plot", plot.to_str().expect("utf-8")],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let r = report.expect("report written");
    assert_eq!(r["success"], true, "{err}");
    assert_eq!(r["version"], 1);
    assert_eq!(r["backend"], "local");
    assert_eq!(r["ranks"], 3);
    let cs = clients(&r);
    assert_eq!(cs.len(), 10);
    for c in cs {
        assert_eq!(c["completed"], true, "{c}");
        assert_eq!(c["verified"], true, "{c}");
        assert!(c["error"].is_null(), "{c}");
        match c["roles"][0].as_str() {
            Some("leech") => {
                assert_eq!(u(&c["needed"]), 3 * MIB, "{c}");
                assert!(u(&c["downloaded"]) >= 3 * MIB, "{c}");
            }
            Some("peer") => {
                let needed = u(&c["needed"]);
                assert!(needed < 3 * MIB && needed > MIB, "{c}");
                assert!(u(&c["downloaded"]) >= needed, "{c}");
            }
            Some("seed") => assert_eq!(u(&c["downloaded"]), 0, "{c}"),
            other => panic!("unexpected role {other:?}"),
        }
    }
    // Bytes are conserved: nothing is received that was not sent, and what was sent was
    // received up to what was still queued when receivers finished or stopped. (The
    // engine counts a block as uploaded when it is queued on the connection, whose
    // backlog may hold up to 4 MiB, so for a file this small the slack is large.)
    let down = u(&r["totals"]["downloaded"]);
    let up = u(&r["totals"]["uploaded"]);
    let sum_down: u64 = cs.iter().map(|c| u(&c["downloaded"])).sum();
    assert_eq!(sum_down, down);
    assert!(
        down as f64 <= 1.01 * up as f64,
        "downloaded {down} > uploaded {up}"
    );
    assert!(
        up as f64 <= 1.3 * down as f64,
        "uploaded {up} >> downloaded {down}"
    );
    // Timing and the bound.
    let total = r["total_seconds"].as_f64().expect("total_seconds");
    let bound = r["lower_bound_seconds"]
        .as_f64()
        .expect("lower_bound_seconds");
    assert!(total > 0.0 && total < 60.0, "{total}");
    // The token buckets start full (a quarter second of traffic), so a run this short
    // may beat the fluid bound by up to about that much.
    assert!(
        bound > 0.0 && bound <= total + 0.3,
        "bound {bound} vs measured {total}"
    );
    assert!(r["ratio_to_bound"].as_f64().expect("ratio") > 0.5);
    assert!(err.contains("lower bound T_min"), "{err}");
    let svg = std::fs::read_to_string(&plot).expect("plot written");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<polyline").count(), 9);
}

#[test]
fn corrupting_client_is_banned_and_data_stays_correct() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let scenario = r#"
        seed = 3
        deadline_secs = 90
        ranks = 3
        size = "2MiB"
        piece_length = "32KiB"
        seeds = 1
        peers = 0
        leechers = 5
        upload_limit = "2MiB"
        seed_upload_limit = "1MiB"
        [[client]]
        name = "liar"
        roles = ["seed"]
        upload_limit = "unlimited"
        corrupt = true
    "#;
    let (out, report) = swarm(tmp.path(), scenario, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let r = report.expect("report written");
    assert_eq!(r["success"], true, "{err}");
    let cs = clients(&r);
    for c in cs.iter().filter(|c| c["roles"][0] == "leech") {
        assert_eq!(c["verified"], true, "{c}");
        assert_eq!(c["completed"], true, "{c}");
    }
    let liar = cs.iter().find(|c| c["name"] == "liar").expect("liar");
    assert_eq!(liar["corrupt"], true);
    assert!(u(&liar["uploaded"]) > 0, "the liar served nobody: {liar}");
    assert!(u(&r["totals"]["hash_failures"]) > 0, "no hash failure: {r}");
    assert!(
        u(&r["totals"]["banned"]) > 0,
        "nobody banned anyone: {}",
        r["totals"]
    );
    assert!(
        u(&liar["suspected_by"]) > 0,
        "nobody blamed the liar: {liar}"
    );
}

#[test]
fn missed_deadline_fails_naming_the_client() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let scenario = r#"
        deadline_secs = 2
        size = "4MiB"
        seeds = 1
        peers = 0
        leechers = 2
        upload_limit = "128K"
        seed_upload_limit = "128K"
    "#;
    let (out, report) = swarm(tmp.path(), scenario, &["--quiet"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("leech-1") && err.contains("deadline"), "{err}");
    let r = report.expect("report written even on failure");
    assert_eq!(r["success"], false);
    assert_eq!(clients(&r)[1]["completed"], false);
}

/// Two files, sessions with two torrents each (issue #6: one torrent of a session could
/// stop for good with its last pieces waiting for the session's shared hash queue). The
/// stall showed in about one run in ten, so the scenario runs several times; the
/// deterministic check is net's `shared_hash_pool` test.
#[test]
fn two_file_swarm_completes_in_every_run() {
    let scenario = r#"
        seed = 11
        deadline_secs = 30
        files = 2
        size = "2MiB"
        seeds = 1
        peers = 0
        leechers = 3
        upload_limit = "4MiB"
        [[client]]
        name = "mixed"
        count = 2
        roles = ["seed", "leech"]
    "#;
    for run in 0..6 {
        let tmp = tempfile::tempdir().expect("temp dir");
        let (out, report) = swarm(tmp.path(), scenario, &["--quiet"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "run {run}: {err}");
        let r = report.expect("report written");
        let cs = clients(&r);
        assert_eq!(cs.len(), 6);
        for c in cs {
            assert_eq!(c["completed"], true, "run {run}: {c}");
            assert_eq!(c["verified"], true, "run {run}: {c}");
        }
        let leech = cs
            .iter()
            .find(|c| c["name"].as_str().is_some_and(|n| n.starts_with("leech")))
            .expect("a leecher");
        assert_eq!(u(&leech["needed"]), 4 * MIB, "{leech}");
    }
}

//! Tests of the report: JSON shape, totals and failures.

use super::*;
use crate::runner::bound::{Bound, FileBound};

const MIB: u64 = 1024 * 1024;

fn client(name: &str, role: Role, needed: u64, down: u64, up: u64) -> ClientReport {
    ClientReport {
        name: name.into(),
        rank: 1,
        roles: vec![role],
        upload_limit: Some(2 * MIB),
        download_limit: None,
        corrupt: false,
        needed,
        downloaded: down,
        uploaded: up,
        ratio: (down > 0).then(|| up as f64 / down as f64),
        avg_download_rate: (down > 0).then_some(down as f64 / 4.0),
        avg_upload_rate: up as f64 / 5.0,
        completed: true,
        complete_seconds: Some(if needed > 0 { 5.0 } else { 0.0 }),
        verified: true,
        from_seeds: down,
        from_peers: 0,
        from_seeds_share: (down > 0).then_some(1.0),
        hash_failures: 0,
        banned: 0,
        suspected_by: 0,
        timeline: vec![(0.0, 0.0), (5.0, 1.0)],
        error: None,
    }
}

/// A finished two-client report: a seed and a leecher of one 8 MiB file, bound 4 s.
pub(crate) fn sample_report() -> SwarmReport {
    let mut r = SwarmReport {
        version: REPORT_VERSION,
        success: false,
        failures: Vec::new(),
        backend: "local".into(),
        ranks: 2,
        total_seconds: 0.0,
        wall_seconds: 6.5,
        lower_bound_seconds: 4.0,
        ratio_to_bound: None,
        bound: Bound {
            files: vec![FileBound {
                seed_term: 4.0,
                download_term: 0.0,
                aggregate_term: 2.0,
                seconds: 4.0,
            }],
            client_download_term: 0.0,
            total_aggregate_term: 2.0,
            seconds: 4.0,
        },
        scenario: Scenario::default(),
        files: vec![FileReport {
            name: "file-1.bin".into(),
            size: 8 * MIB,
            piece_length: 65536,
            pieces: 128,
            info_hash: "00".repeat(20),
            sha1: "11".repeat(20),
        }],
        totals: Totals::default(),
        clients: vec![
            client("seed-1", Role::Seed, 0, 0, 8 * MIB),
            client("leech-1", Role::Leech, 8 * MIB, 8 * MIB, 0),
        ],
    };
    r.finish();
    r
}

#[test]
fn finish_sums_and_computes_the_ratio() {
    let r = sample_report();
    assert!(r.success, "{:?}", r.failures);
    assert_eq!(r.totals.downloaded, 8 * MIB);
    assert_eq!(r.totals.uploaded, 8 * MIB);
    assert_eq!(r.total_seconds, 5.0);
    assert_eq!(r.ratio_to_bound, Some(1.25));
}

#[test]
fn json_has_the_documented_top_level_fields() {
    let r = sample_report();
    let v: serde_json::Value = serde_json::from_str(&r.to_json()).expect("valid JSON");
    for key in [
        "version",
        "success",
        "failures",
        "backend",
        "ranks",
        "total_seconds",
        "wall_seconds",
        "lower_bound_seconds",
        "ratio_to_bound",
        "bound",
        "scenario",
        "files",
        "totals",
        "clients",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    let c = &v["clients"][1];
    assert_eq!(c["name"], "leech-1");
    assert_eq!(c["roles"][0], "leech");
    assert_eq!(c["verified"], true);
    assert_eq!(c["completed"], true);
    assert_eq!(c["download_limit"], serde_json::Value::Null);
    assert_eq!(c["timeline"][1][1], 1.0);
    // The scenario in the report reads back as a scenario.
    let s: Scenario = serde_json::from_value(v["scenario"].clone()).expect("scenario");
    assert_eq!(s, Scenario::default());
    // And the whole report reads back.
    let back: SwarmReport = serde_json::from_str(&r.to_json()).expect("report");
    assert_eq!(back, r);
}

#[test]
fn late_bad_and_failed_clients_are_failures() {
    let mut r = sample_report();
    r.clients[1].completed = false;
    r.clients[1].complete_seconds = None;
    r.finish();
    assert!(!r.success);
    assert_eq!(r.total_seconds, r.scenario.deadline_secs as f64);
    assert!(r.failures[0].contains("leech-1"), "{:?}", r.failures);

    let mut r = sample_report();
    r.clients[1].verified = false;
    r.finish();
    assert!(r.failures[0].contains("differs"), "{:?}", r.failures);

    // A corrupt client's own wrong data is expected.
    r.clients[1].corrupt = true;
    r.finish();
    assert!(r.success);

    r.clients[0].error = Some("session failed".into());
    r.finish();
    assert_eq!(
        r.failures,
        vec!["client seed-1: session failed".to_string()]
    );
}

//! Generated cases over LocalCluster: many clients, 10 files of 100 segments, clients
//! owning nothing, pure seeds, clients that are seed, peer and leecher at once.

mod sim_common;

use sim_common::*;

fn run_case(clients: &[GenClient], newline: bool) -> serde_json::Value {
    let tmp = tempfile::tempdir().expect("temp dir");
    write_case(tmp.path(), clients, newline);
    let ranks = (clients.len() + 1).to_string();
    let out = run_sim(
        tmp.path(),
        &["--ranks", &ranks, "--report", "r.json", "--quiet"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = check_outputs(tmp.path(), |f| tmp.path().join(format!("expected_{f}")));
    assert!(bad.is_empty(), "{bad}");
    let r = report(&tmp.path().join("r.json"));
    let wanted_segments: u64 = clients
        .iter()
        .flat_map(|c| &c.wanted)
        .map(|w| {
            clients
                .iter()
                .flat_map(|c| &c.owned)
                .find(|(n, _)| n == w)
                .map(|(_, n)| *n as u64)
                .unwrap_or(0)
        })
        .sum();
    let downloaded: u64 = r["clients"]
        .as_array()
        .expect("clients")
        .iter()
        .map(|c| c["downloaded"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(
        downloaded, wanted_segments,
        "every wanted segment exactly once"
    );
    r
}

fn names(k: usize) -> Vec<String> {
    (1..=k).map(|i| format!("file{i}")).collect()
}

#[test]
fn many_clients_ten_files_of_100_segments() {
    let files = names(10);
    // Clients 1..=5 are pure seeds of two files each; 6..=40 own nothing and want 3..10.
    let mut clients = Vec::new();
    for s in 0..5 {
        clients.push(GenClient {
            owned: vec![(files[2 * s].clone(), 100), (files[2 * s + 1].clone(), 100)],
            wanted: vec![],
        });
    }
    for c in 5..40 {
        let n = 3 + c % 8;
        clients.push(GenClient {
            owned: vec![],
            wanted: (0..n).map(|k| files[(c + k) % 10].clone()).collect(),
        });
    }
    let r = run_case(&clients, true);
    assert!(r["tracker"]["swarm_update"].as_u64().unwrap_or(0) > 0);
}

#[test]
fn seed_peer_and_leecher_at_once_and_no_final_newline() {
    let mut clients = vec![
        GenClient {
            owned: vec![("a".into(), 30)],
            wanted: vec!["b".into(), "c".into()],
        },
        GenClient {
            owned: vec![("b".into(), 7)],
            wanted: vec!["a".into()],
        },
        GenClient {
            owned: vec![("c".into(), 100)],
            wanted: vec![],
        },
        GenClient {
            owned: vec![],
            wanted: vec![],
        },
    ];
    for _ in 0..6 {
        clients.push(GenClient {
            owned: vec![],
            wanted: vec!["c".into(), "a".into(), "b".into()],
        });
    }
    run_case(&clients, false);
}

#[test]
fn one_segment_files_and_a_single_client() {
    run_case(
        &[GenClient {
            owned: vec![("x".into(), 1)],
            wanted: vec![],
        }],
        true,
    );
    run_case(
        &[
            GenClient {
                owned: vec![("x".into(), 1)],
                wanted: vec![],
            },
            GenClient {
                owned: vec![],
                wanted: vec!["x".into()],
            },
        ],
        true,
    );
}

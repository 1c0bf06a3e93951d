//! The course's four official tests over LocalCluster, compared like the checker
//! (`diff -w` of each client<R>_file<k> with out<k>.txt).

mod sim_common;

use sim_common::*;

fn run_official(n: usize, extra: &[&str]) -> tempfile::TempDir {
    let tmp = copy_official(n);
    let ranks = (client_count(tmp.path()) + 1).to_string();
    let mut args = vec!["--ranks", ranks.as_str(), "--report", "report.json"];
    args.extend_from_slice(extra);
    let out = run_sim(tmp.path(), &args);
    assert!(
        out.status.success(),
        "test{n} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = check_outputs(tmp.path(), |file| {
        let k = file
            .strip_prefix("file")
            .expect("official files are named file<k>");
        tmp.path().join(format!("out{k}.txt"))
    });
    assert!(bad.is_empty(), "test{n}:\n{bad}");
    tmp
}

#[test]
fn official_test1() {
    run_official(1, &[]);
}

#[test]
fn official_test2() {
    run_official(2, &[]);
}

#[test]
fn official_test3() {
    run_official(3, &[]);
}

#[test]
fn official_test4_spreads_the_load() {
    let tmp = run_official(4, &[]);
    let r = report(&tmp.path().join("report.json"));
    let clients = r["clients"].as_array().expect("clients");
    let total: u64 = clients
        .iter()
        .map(|c| c["downloaded"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(total, 4 * 80);
    for c in clients {
        let served = c["served"].as_u64().unwrap_or(0);
        assert!(
            served * 100 <= total * 40,
            "client {} served {served} of {total} segments (over 40%)",
            c["rank"]
        );
    }
    // Ranks 3..=6 are the leechers: they must have served each other.
    let leechers_served: u64 = clients
        .iter()
        .filter(|c| c["rank"].as_u64().unwrap_or(0) >= 3)
        .map(|c| c["served"].as_u64().unwrap_or(0))
        .sum();
    assert!(leechers_served > 0, "leechers served nothing to each other");
    assert!(r["tracker"]["register"].as_u64() == Some(6));
    assert!(r["wall_seconds"].as_f64().is_some());
}

#[test]
fn ranks_are_inferred_from_the_in_files() {
    let tmp = copy_official(2);
    let out = run_sim(tmp.path(), &["--quiet"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = check_outputs(tmp.path(), |file| {
        tmp.path()
            .join(format!("out{}.txt", file.trim_start_matches("file")))
    });
    assert!(bad.is_empty(), "{bad}");
}

#[cfg(unix)]
#[test]
fn runs_as_tema2_through_a_symlink() {
    let tmp = copy_official(1);
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_bitswarm"), tmp.path().join("tema2"))
        .expect("symlink");
    let out = std::process::Command::new("./tema2")
        .current_dir(tmp.path())
        .output()
        .expect("run tema2");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = check_outputs(tmp.path(), |file| {
        tmp.path()
            .join(format!("out{}.txt", file.trim_start_matches("file")))
    });
    assert!(bad.is_empty(), "{bad}");
}

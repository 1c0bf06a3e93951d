//! `bitswarm swarm` command line: the default scenario, bad scenarios and flags.

use std::process::Output;

fn bitswarm(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_bitswarm"))
        .args(args)
        .output()
        .expect("run bitswarm")
}

#[test]
fn print_default_is_a_commented_scenario() {
    let out = bitswarm(&["swarm", "--print-default"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for field in [
        "seed =",
        "deadline_secs =",
        "seeds = 2",
        "peers = 6",
        "leechers = 8",
        "size = \"64MiB\"",
        "# [[client]]",
        "corrupt",
    ] {
        assert!(text.contains(field), "missing {field}: {text}");
    }
}

#[test]
fn bad_scenarios_exit_2_with_one_line() {
    let tmp = tempfile::tempdir().expect("temp dir");
    for (toml, needle) in [
        ("seedz = 1", "seedz"),
        ("seeds = 0", "seeded by none"),
        ("size = \"big\"", "big"),
    ] {
        let path = tmp.path().join("s.toml");
        std::fs::write(&path, toml).expect("write");
        let out = bitswarm(&["swarm", path.to_str().expect("utf-8")]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{toml}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{toml}: {err}");
        assert!(err.contains(needle), "{toml}: {err}");
    }
    let out = bitswarm(&["swarm", "--upload-limit", "fast"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--upload-limit"));
    let out = bitswarm(&["swarm", "/nonexistent/scenario.toml"]);
    assert_eq!(out.status.code(), Some(2));
}

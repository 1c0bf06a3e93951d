//! Helpers shared by the `sim_*` integration tests: run the binary in a temp folder of
//! in-files and compare outputs the way the course checker does (`diff -w`).
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The folder of the official tests, `shared/tema-tests` beside the repository.
pub fn official_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tema-tests");
    assert!(
        dir.join("test1").is_dir(),
        "official tests not found at {} (shared/tema-tests must sit beside the repository)",
        dir.display()
    );
    dir
}

/// A temp copy of official test `n`.
pub fn copy_official(n: usize) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    let src = official_dir().join(format!("test{n}"));
    for e in std::fs::read_dir(&src).expect("read test dir") {
        let e = e.expect("dir entry");
        std::fs::copy(e.path(), tmp.path().join(e.file_name())).expect("copy");
    }
    tmp
}

/// How many `in<R>.txt` files a folder has.
pub fn client_count(dir: &Path) -> usize {
    (1..)
        .take_while(|r| dir.join(format!("in{r}.txt")).exists())
        .count()
}

/// Run `bitswarm sim ARGS` in `dir` (as working directory), with a timeout option.
pub fn run_sim(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bitswarm"))
        .arg("sim")
        .args(["--timeout", "60"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run bitswarm")
}

/// Words of a file (whitespace ignored, like `diff -w` on one hash per line).
pub fn words(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.split_whitespace().map(str::to_owned).collect()
}

/// The wanted file names of `in<rank>.txt` (the last lines after the wanted count).
pub fn wanted(dir: &Path, rank: usize) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join(format!("in{rank}.txt"))).expect("in-file");
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut i = 1;
    let owned: usize = lines[0].parse().expect("owned count");
    for _ in 0..owned {
        let n: usize = lines[i]
            .split_whitespace()
            .nth(1)
            .expect("count")
            .parse()
            .expect("n");
        i += 1 + n;
    }
    let w: usize = lines[i].parse().expect("wanted count");
    lines[i + 1..i + 1 + w]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Check every client's outputs against `expected(file name) -> path`, return a report of
/// mismatches (empty when all match).
pub fn check_outputs(dir: &Path, expected: impl Fn(&str) -> PathBuf) -> String {
    let mut bad = String::new();
    for rank in 1..=client_count(dir) {
        for file in wanted(dir, rank) {
            let out = dir.join(format!("client{rank}_{file}"));
            if !out.exists() {
                let _ = writeln!(bad, "missing {}", out.display());
            } else if words(&out) != words(&expected(&file)) {
                let _ = writeln!(bad, "differs: {}", out.display());
            }
        }
    }
    bad
}

/// Names of `client*` files in `dir`.
pub fn client_outputs(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("client"))
        .collect()
}

/// Read the JSON report.
pub fn report(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report")).expect("report JSON")
}

/// The generated hash of segment `i` of `file`: 32 hex characters, unique per (file, i).
pub fn gen_hash(file: &str, i: usize) -> String {
    let mut x: u128 = 0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834;
    for b in file.bytes() {
        x = x
            .wrapping_mul(0x0000_0100_0000_01b3)
            .wrapping_add(u128::from(b));
    }
    x = x
        .wrapping_mul(0x2545_f491_4f6c_dd1d)
        .wrapping_add(i as u128 * 0x1000_0000_0000_0001);
    format!("{x:032x}")
}

/// One generated client: owned (name, segment count) and wanted names.
#[derive(Debug, Clone, Default)]
pub struct GenClient {
    pub owned: Vec<(String, usize)>,
    pub wanted: Vec<String>,
}

/// Write `in<R>.txt` for each client (rank = index + 1) and `expected_<file>` for every
/// file owned by someone; `newline` chooses whether files end with a newline.
pub fn write_case(dir: &Path, clients: &[GenClient], newline: bool) {
    for (i, c) in clients.iter().enumerate() {
        let mut text = format!("{}\n", c.owned.len());
        for (name, n) in &c.owned {
            let _ = writeln!(text, "{name} {n}");
            let mut expected = String::new();
            for s in 0..*n {
                let _ = writeln!(text, "{}", gen_hash(name, s));
                let _ = writeln!(expected, "{}", gen_hash(name, s));
            }
            std::fs::write(dir.join(format!("expected_{name}")), expected).expect("write");
        }
        let _ = write!(text, "{}", c.wanted.len());
        for w in &c.wanted {
            let _ = write!(text, "\n{w}");
        }
        if newline {
            text.push('\n');
        }
        std::fs::write(dir.join(format!("in{}.txt", i + 1)), text).expect("write in-file");
    }
}

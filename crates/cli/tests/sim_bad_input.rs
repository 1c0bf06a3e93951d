//! Bad in-files: exit 2, one `inR.txt:LINE: ...` line, and no client output written.

mod sim_common;

use sim_common::*;

const H: &str = "3fcfb9d1242fdce64aee2bfe35266912";

/// Write the in-files, run with `--ranks files.len() + 1`, return stderr.
fn fails(files: &[String]) -> String {
    fails_with_ranks(files, files.len() + 1)
}

fn fails_with_ranks(files: &[String], ranks: usize) -> String {
    let tmp = tempfile::tempdir().expect("temp dir");
    for (i, text) in files.iter().enumerate() {
        std::fs::write(tmp.path().join(format!("in{}.txt", i + 1)), text).expect("write");
    }
    let out = run_sim(tmp.path(), &["--ranks", &ranks.to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected exit 2, stderr: {stderr}"
    );
    assert_eq!(
        client_outputs(tmp.path()),
        Vec::<String>::new(),
        "outputs were written"
    );
    assert_eq!(stderr.lines().count(), 1, "one line expected: {stderr}");
    stderr
}

fn seed(name: &str) -> String {
    format!("1\n{name} 2\n{H}\n{H}\n0\n")
}

fn check(stderr: &str, prefix: &str) {
    assert!(
        stderr.starts_with(&format!("bitswarm: error: {prefix}")),
        "expected '{prefix}...', got: {stderr}"
    );
}

#[test]
fn bad_hash() {
    let e = fails(&[format!("1\nf 2\n{H}\nnot-a-hash\n0\n"), "0\n1\nf\n".into()]);
    check(&e, "in1.txt:4: expected hash 2 of 2 of 'f'");
}

#[test]
fn short_hash_in_a_later_client() {
    let e = fails(&[seed("f"), format!("1\ng 1\n{}\n1\nf\n", &H[..31])]);
    check(&e, "in2.txt:3: expected hash 1 of 1 of 'g'");
}

#[test]
fn count_does_not_match_the_hashes() {
    let e = fails(&[format!("1\nf 3\n{H}\n{H}\n0\n")]);
    check(&e, "in1.txt:5: expected hash 3 of 3 of 'f'");
}

#[test]
fn too_many_files_and_segments_and_long_names() {
    check(
        &fails(&["11\n".into()]),
        "in1.txt:1: 11 owned files, at most 10 allowed",
    );
    check(
        &fails(&["1\nf 101\n".into()]),
        "in1.txt:2: segment count of 'f' must be 1 to 100",
    );
    check(
        &fails(&[seed("f"), "0\n1\nsixteen-chars-xx\n".into()]),
        "in2.txt:3: file name 'sixteen-chars-xx' is longer than 15",
    );
}

#[test]
fn duplicate_names() {
    check(
        &fails(&[format!("2\nf 1\n{H}\nf 1\n{H}\n0\n")]),
        "in1.txt:4: file 'f' is listed twice as owned",
    );
    check(
        &fails(&[seed("f"), "0\n2\nf\nf\n".into()]),
        "in2.txt:4: file 'f' is wanted twice",
    );
}

#[test]
fn wanted_file_nobody_owns() {
    check(
        &fails(&[seed("f"), "0\n2\nf\nghost\n".into()]),
        "in2.txt:4: wants 'ghost', which no client owns",
    );
}

#[test]
fn missing_in_file_is_named() {
    let e = fails_with_ranks(&[seed("f")], 3);
    check(&e, "in2.txt: cannot read it (client rank 2 needs it)");
}

#[test]
fn garbage_and_truncated_files() {
    check(
        &fails(&["hello\n".into()]),
        "in1.txt:1: expected the number of owned files",
    );
    check(
        &fails(&[seed("f"), "0\n2\nf".into()]),
        "in2.txt:3: unexpected end of file",
    );
    check(
        &fails(&[seed("f"), "0\n1\nf\nextra\n".into()]),
        "in2.txt:4: unexpected extra content",
    );
}

#[test]
fn no_in_files_at_all() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = run_sim(tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no in<R>.txt files"), "{stderr}");
}

#[test]
fn too_few_ranks() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = run_sim(tmp.path(), &["--ranks", "1"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_failing_rank_aborts_the_whole_job() {
    // Client 3 cannot write its output (a folder is in the way): the job must stop with
    // that error, not hang.
    let tmp = copy_official(1);
    std::fs::create_dir(tmp.path().join("client3_file1")).expect("mkdir");
    let out = run_sim(tmp.path(), &["--ranks", "4"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot write") && stderr.contains("client3_file1"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

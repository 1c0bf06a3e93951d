use std::fs;
use std::sync::Mutex;

use crate::check::hash_all;
use crate::test_util::{folder, mixed, set_mtime, write_all};
use crate::{initial_check, ResumeData, Storage};

fn no_progress() -> impl Fn(u32, u32) + Sync {
    |_, _| {}
}

#[test]
fn hashing_without_resume_finds_written_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let t = mixed();
    let s = Storage::open(&t.info, dir.path()).unwrap();
    s.write_piece(0, t.piece(0)).unwrap();
    s.write_piece(2, t.piece(2)).unwrap();
    let calls = Mutex::new(Vec::new());
    let progress = |done, total| calls.lock().unwrap().push((done, total));
    let good = initial_check(&s, None, false, &progress).unwrap();
    assert_eq!(good, [true, false, true]);
    assert_eq!(calls.lock().unwrap().last(), Some(&(3, 3)));
}

#[test]
fn trusted_resume_is_used_and_force_rehashes() {
    let dir = tempfile::tempdir().unwrap();
    let t = mixed();
    let s = Storage::open(&t.info, dir.path()).unwrap();
    s.write_piece(1, t.piece(1)).unwrap();
    // Resume data claiming piece 0 (not on disk): trusting it proves nothing was hashed.
    let r = ResumeData::capture(&s, t.info_hash, &[true, false, false]).unwrap();
    let s = s.with_info_hash(t.info_hash);
    assert_eq!(
        initial_check(&s, Some(&r), false, &no_progress()).unwrap(),
        [true, false, false]
    );
    assert_eq!(
        initial_check(&s, Some(&r), true, &no_progress()).unwrap(),
        [false, true, false]
    );
}

#[test]
fn stale_resume_falls_back_to_hashing() {
    let dir = tempfile::tempdir().unwrap();
    let t = mixed();
    let s = Storage::open(&t.info, dir.path()).unwrap();
    write_all(&s, &t);
    let r = ResumeData::capture(&s, t.info_hash, &[false, false, false]).unwrap();
    set_mtime(&dir.path().join("t/a"), 12345);
    assert_eq!(
        initial_check(&s, Some(&r), false, &no_progress()).unwrap(),
        [true, true, true]
    );
}

#[test]
fn missing_and_short_files_make_their_pieces_bad() {
    let dir = tempfile::tempdir().unwrap();
    let t = mixed(); // a 0..10, sub/b 10..40, one 40, c 41..48; pieces of 16
    let s = Storage::open(&t.info, dir.path()).unwrap();
    write_all(&s, &t);
    // Cut sub/b to 25 bytes (torrent bytes 35..40 gone): piece 2 only.
    fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join("t/sub/b"))
        .unwrap()
        .set_len(25)
        .unwrap();
    assert_eq!(
        initial_check(&s, None, true, &no_progress()).unwrap(),
        [true, true, false]
    );
    // Remove `a` (piece 0).
    fs::remove_file(dir.path().join("t/a")).unwrap();
    assert_eq!(
        initial_check(&s, None, true, &no_progress()).unwrap(),
        [false, true, false]
    );
}

#[test]
fn read_only_check_of_short_file() {
    let dir = tempfile::tempdir().unwrap();
    let t = folder("r", &[("x", 40, false), ("y", 8, false)], 16);
    let root = dir.path().join("r");
    fs::create_dir_all(&root).unwrap();
    fs::write(root.join("x"), &t.file_data(0)[..20]).unwrap();
    fs::write(root.join("y"), t.file_data(1)).unwrap();
    let s = Storage::open_existing(&t.info, &root).unwrap();
    assert_eq!(
        initial_check(&s, None, false, &no_progress()).unwrap(),
        [true, false, false]
    );
    // Reading the short part for upload is a "missing data" error, not a panic.
    let mut buf = [0u8; 16];
    assert!(s.read(1, 0, &mut buf).unwrap_err().is_missing_data());
}

#[test]
fn many_threads_give_the_same_answer() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..20).map(|i| format!("f{i}")).collect();
    let files: Vec<(&str, u64, bool)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), (i as u64 * 7) % 23, false))
        .collect();
    let t = folder("m", &files, 8);
    let s = Storage::open(&t.info, dir.path()).unwrap();
    let n = s.piece_count();
    let expected: Vec<bool> = (0..n).map(|p| p % 3 != 1).collect();
    for p in (0..n).filter(|p| expected[*p as usize]) {
        s.write_piece(p, t.piece(p)).unwrap();
    }
    let max_seen = Mutex::new(0);
    let progress = |done: u32, total: u32| {
        assert!(done <= total);
        let mut m = max_seen.lock().unwrap();
        *m = (*m).max(done);
    };
    for threads in [1, 3, 8] {
        assert_eq!(hash_all(&s, threads, &progress).unwrap(), expected);
    }
    assert_eq!(*max_seen.lock().unwrap(), n);
}

use std::fs;

use crate::test_util::{mixed, set_mtime, single, write_all};
use crate::{ResumeData, Storage, StorageError};

fn saved(dir: &std::path::Path) -> (crate::test_util::TestTorrent, Storage, ResumeData) {
    let t = mixed();
    let s = Storage::open(&t.info, dir).unwrap();
    write_all(&s, &t);
    let r = ResumeData::capture(&s, t.info_hash, &[true, false, true]).unwrap();
    (t, s, r)
}

#[test]
fn save_load_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let (t, s, r) = saved(dir.path());
    let path = ResumeData::path_for(dir.path(), &t.info_hash);
    assert_eq!(
        path,
        dir.path()
            .join(".bitswarm")
            .join(format!("{}.resume", t.info_hash.to_hex()))
    );
    r.save(&path).unwrap();
    let back = ResumeData::load(&path).unwrap();
    assert_eq!(back, r);
    assert_eq!(back.verified(), [true, false, true]);
    assert_eq!(back.info_hash(), &t.info_hash);
    assert_eq!(back.files().len(), 5);
    assert!(back.validate(&s).is_ok());
    // Saving again replaces the file atomically; no temporary file is left behind.
    r.save(&path).unwrap();
    let left: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(left.len(), 1);
}

#[test]
fn wrong_verified_length_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let t = mixed();
    let s = Storage::open(&t.info, dir.path()).unwrap();
    assert!(matches!(
        ResumeData::capture(&s, t.info_hash, &[true]),
        Err(StorageError::VerifiedLength {
            expected: 3,
            got: 1
        })
    ));
}

#[test]
fn corrupted_file_is_a_clean_error() {
    let dir = tempfile::tempdir().unwrap();
    let (t, _s, r) = saved(dir.path());
    let path = ResumeData::path_for(dir.path(), &t.info_hash);
    r.save(&path).unwrap();
    let good = fs::read(&path).unwrap();

    let mut flipped = good.clone();
    let at = flipped.len() - 30;
    flipped[at] ^= 0x01;
    let cases: [(&str, Vec<u8>); 4] = [
        ("bit flip", flipped),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("garbage", b"not bencode at all".to_vec()),
        ("empty", Vec::new()),
    ];
    for (what, bytes) in cases {
        fs::write(&path, bytes).unwrap();
        match ResumeData::load(&path) {
            Err(e @ StorageError::ResumeCorrupt { .. }) => {
                assert!(e.to_string().contains(".resume"), "{what}: {e}")
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    assert!(ResumeData::load_if_present(&dir.path().join("none.resume"))
        .unwrap()
        .is_none());
    assert!(ResumeData::load(&dir.path().join("none.resume"))
        .unwrap_err()
        .is_missing_data());
}

#[test]
fn changed_mtime_or_size_invalidates() {
    let dir = tempfile::tempdir().unwrap();
    let (t, s, r) = saved(dir.path());
    let b = dir.path().join("t/sub/b");
    assert!(r.validate(&s).is_ok());

    set_mtime(&b, 1_000_000);
    let err = r.validate(&s).unwrap_err();
    assert!(matches!(&err, StorageError::ResumeMismatch { reason } if reason.contains("sub/b")));

    // Recapture, then make the file longer (data kept, but resume no longer trusted).
    let r = ResumeData::capture(&s, t.info_hash, &[true; 3]).unwrap();
    assert!(r.validate(&s).is_ok());
    fs::OpenOptions::new()
        .write(true)
        .open(&b)
        .unwrap()
        .set_len(31)
        .unwrap();
    assert!(matches!(
        r.validate(&s),
        Err(StorageError::ResumeMismatch { .. })
    ));

    // A missing file.
    let r = ResumeData::capture(&s, t.info_hash, &[true; 3]).unwrap();
    fs::remove_file(dir.path().join("t/one")).unwrap();
    assert!(r.validate(&s).is_err());
}

#[test]
fn other_torrent_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (t, _s, r) = saved(dir.path());
    // Same files, but the storage knows a different info-hash.
    let other = single("x", 5, 16);
    let s = Storage::open(&t.info, dir.path())
        .unwrap()
        .with_info_hash(other.info_hash);
    assert!(matches!(
        r.validate(&s),
        Err(StorageError::ResumeMismatch { reason }) if reason.contains("torrent")
    ));
    // A different layout.
    let s2 = Storage::open(&other.info, dir.path()).unwrap();
    assert!(r.validate(&s2).is_err());
}

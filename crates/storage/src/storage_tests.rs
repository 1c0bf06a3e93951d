use std::fs;

use crate::test_util::{folder, mixed, padded, single, write_all};
use crate::{Storage, StorageError};

#[test]
fn pieces_spanning_files_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let t = mixed();
    let s = Storage::open(&t.info, dir.path()).unwrap();
    let base = dir.path().join("t");
    // Created before any write: sparse at full length, the empty file too.
    assert_eq!(fs::metadata(base.join("sub/b")).unwrap().len(), 30);
    assert_eq!(fs::metadata(base.join("empty")).unwrap().len(), 0);
    assert_eq!(fs::metadata(base.join("one")).unwrap().len(), 1);
    assert!(!s.check_piece(0).unwrap(), "zeros are not the data");

    write_all(&s, &t);
    s.sync().unwrap();
    for p in 0..s.piece_count() {
        assert!(s.check_piece(p).unwrap(), "piece {p}");
    }
    for (i, name) in ["a", "empty", "sub/b", "one", "c"].iter().enumerate() {
        assert_eq!(fs::read(base.join(name)).unwrap(), t.file_data(i), "{name}");
    }
    // A block crossing from `sub/b` into `one` and `c` (bytes 38..48 = piece 2, 6..16).
    let mut buf = [0u8; 10];
    s.read(2, 6, &mut buf).unwrap();
    assert_eq!(buf, t.data[38..48]);
    // The same without a zero-filled buffer, and every piece whole.
    assert_eq!(s.read_vec(2, 6, 10).unwrap(), &t.data[38..48]);
    for p in 0..s.piece_count() {
        let start = p as usize * 16;
        let end = (start + 16).min(t.data.len());
        let len = end - start;
        assert_eq!(
            s.read_vec(p, 0, len).unwrap(),
            &t.data[start..end],
            "piece {p}"
        );
    }
    // The short last piece (48 bytes total: 3 pieces, the last 16 bytes).
    assert_eq!(s.piece_count(), 3);
}

#[test]
fn single_file_torrent_lives_at_root_name() {
    let dir = tempfile::tempdir().unwrap();
    let t = single("file.bin", 100, 32);
    let s = Storage::open(&t.info, dir.path()).unwrap();
    write_all(&s, &t);
    assert_eq!(fs::read(dir.path().join("file.bin")).unwrap(), t.data);
    assert!(s.check_piece(3).unwrap());
    // A one-byte torrent.
    let t1 = single("tiny", 1, 16);
    let s1 = Storage::open(&t1.info, dir.path()).unwrap();
    s1.write_piece(0, t1.piece(0)).unwrap();
    assert!(s1.check_piece(0).unwrap());
    assert_eq!(fs::read(dir.path().join("tiny")).unwrap().len(), 1);
}

#[test]
fn corrupted_byte_fails_only_its_piece() {
    let dir = tempfile::tempdir().unwrap();
    let t = mixed();
    let s = Storage::open(&t.info, dir.path()).unwrap();
    write_all(&s, &t);
    let path = dir.path().join("t/sub/b");
    let mut bytes = fs::read(&path).unwrap();
    bytes[25] ^= 1; // byte 35 of the torrent: piece 2
    fs::write(&path, bytes).unwrap();
    assert!(s.check_piece(0).unwrap());
    assert!(s.check_piece(1).unwrap());
    assert!(!s.check_piece(2).unwrap());
}

#[test]
fn padding_files_are_never_created_and_read_as_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let t = padded();
    let s = Storage::open(&t.info, dir.path()).unwrap();
    assert!(!dir.path().join("p/.pad").exists());
    assert_eq!(s.file_path(1), None);
    write_all(&s, &t);
    assert!(!dir.path().join("p/.pad").exists());
    let mut piece = vec![0xffu8; 16];
    s.read(0, 0, &mut piece).unwrap();
    assert_eq!(&piece[10..], &[0u8; 6]);
    assert_eq!(s.read_vec(0, 0, 16).unwrap(), piece);
    for p in 0..s.piece_count() {
        assert!(s.check_piece(p).unwrap());
    }
    assert_eq!(fs::read(dir.path().join("p/b")).unwrap(), t.file_data(2));
}

#[test]
fn bad_requests_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let t = mixed();
    let s = Storage::open(&t.info, dir.path()).unwrap();
    assert!(matches!(
        s.write_piece(3, &[0; 16]),
        Err(StorageError::PieceOutOfRange { piece: 3, count: 3 })
    ));
    assert!(matches!(
        s.write_piece(0, &[0; 15]),
        Err(StorageError::PieceLength {
            expected: 16,
            got: 15,
            ..
        })
    ));
    let mut buf = [0u8; 8];
    assert!(matches!(
        s.read(2, 10, &mut buf),
        Err(StorageError::ReadOutOfRange { size: 16, .. })
    ));
    assert!(s.read(2, 8, &mut buf).is_ok());
    assert!(matches!(
        s.read_vec(2, 10, 8),
        Err(StorageError::ReadOutOfRange { size: 16, .. })
    ));
    assert!(matches!(
        s.read_vec(3, 0, 1),
        Err(StorageError::PieceOutOfRange { piece: 3, .. })
    ));
    assert!(s.check_piece(9).is_err());
}

#[test]
fn seeding_existing_data_is_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let t = mixed();
    write_all(&Storage::open(&t.info, dir.path()).unwrap(), &t);
    let s = Storage::open_existing(&t.info, &dir.path().join("t")).unwrap();
    assert!(s.is_read_only());
    for p in 0..s.piece_count() {
        assert!(s.check_piece(p).unwrap());
    }
    assert!(matches!(
        s.write_piece(0, t.piece(0)),
        Err(StorageError::ReadOnly { piece: 0 })
    ));
    // Single file: the path is the file itself, whatever its name.
    let one = single("orig.bin", 50, 16);
    let renamed = dir.path().join("renamed.bin");
    fs::write(&renamed, &one.data).unwrap();
    let s1 = Storage::open_existing(&one.info, &renamed).unwrap();
    assert!(s1.check_piece(3).unwrap());
}

#[test]
fn seeding_with_a_missing_file_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let t = mixed();
    write_all(&Storage::open(&t.info, dir.path()).unwrap(), &t);
    fs::remove_file(dir.path().join("t/sub/b")).unwrap();
    let err = Storage::open_existing(&t.info, &dir.path().join("t"))
        .err()
        .expect("missing file");
    assert!(matches!(&err, StorageError::MissingFile { path } if path.ends_with("sub/b")));
    assert!(err.to_string().contains("sub/b"), "{err}");
    // Nothing was created by the failed open.
    assert!(!dir.path().join("t/sub/b").exists());
    let missing_root = Storage::open_existing(&t.info, &dir.path().join("nope"));
    assert!(matches!(
        missing_root,
        Err(StorageError::MissingFile { .. })
    ));
}

#[test]
fn symlink_out_of_root_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let t = mixed();
    let root = dir.path().join("dl");
    fs::create_dir_all(root.join("t")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("t/sub")).unwrap();
    let err = Storage::open(&t.info, &root).err().expect("escape refused");
    assert!(matches!(&err, StorageError::SymlinkEscape { path } if path.ends_with("t/sub")));
    assert!(fs::read_dir(outside.path()).unwrap().next().is_none());
    // A symlink that stays inside the root is fine.
    fs::remove_file(root.join("t/sub")).unwrap();
    fs::create_dir(root.join("real")).unwrap();
    std::os::unix::fs::symlink(root.join("real"), root.join("t/sub")).unwrap();
    let s = Storage::open(&t.info, &root).unwrap();
    write_all(&s, &t);
    assert_eq!(fs::read(root.join("real/b")).unwrap(), t.file_data(2));
    // A dangling file symlink is refused too.
    std::os::unix::fs::symlink(outside.path().join("x"), root.join("t/c2")).unwrap();
    let t2 = folder("t", &[("c2", 3, false)], 16);
    assert!(matches!(
        Storage::open(&t2.info, &root),
        Err(StorageError::SymlinkEscape { .. })
    ));
}

#[test]
fn longer_existing_file_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let t = single("f", 20, 16);
    fs::write(dir.path().join("f"), vec![7u8; 40]).unwrap();
    let s = Storage::open(&t.info, dir.path()).unwrap();
    write_all(&s, &t);
    let on_disk = fs::read(dir.path().join("f")).unwrap();
    assert_eq!(on_disk.len(), 40);
    assert_eq!(&on_disk[..20], &t.data[..]);
    assert_eq!(&on_disk[20..], &[7u8; 20]);
    assert!(s.check_piece(1).unwrap());
}

#[test]
fn open_file_limit_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..12).map(|i| format!("f{i}")).collect();
    let files: Vec<(&str, u64, bool)> = names.iter().map(|n| (n.as_str(), 5, false)).collect();
    let t = folder("many", &files, 16);
    let s = Storage::open_with_limit(&t.info, dir.path(), 3).unwrap();
    assert!(s.open_handles() <= 3);
    write_all(&s, &t);
    assert!(s.open_handles() <= 3);
    s.sync().unwrap();
    for p in 0..s.piece_count() {
        assert!(s.check_piece(p).unwrap());
    }
    assert!(s.open_handles() <= 3);
}

#[test]
fn empty_torrent_of_empty_files() {
    let dir = tempfile::tempdir().unwrap();
    let t = folder("e", &[("x", 0, false), ("y/z", 0, false)], 16);
    let s = Storage::open(&t.info, dir.path()).unwrap();
    assert_eq!(s.piece_count(), 0);
    assert!(dir.path().join("e/y/z").is_file());
    s.sync().unwrap();
}

#[test]
fn storage_is_send_and_sync() {
    fn assert_both<T: Send + Sync>() {}
    assert_both::<Storage>();
}

#[test]
fn sync_reports_a_vanished_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..4).map(|i| format!("f{i}")).collect();
    let files: Vec<(&str, u64, bool)> = names.iter().map(|n| (n.as_str(), 8, false)).collect();
    let t = folder("v", &files, 8);
    // One handle: writing f0..f3 closes f0..f2, so sync must reopen them.
    let s = Storage::open_with_limit(&t.info, dir.path(), 1).unwrap();
    write_all(&s, &t);
    fs::remove_file(dir.path().join("v/f0")).unwrap();
    let err = s.sync().unwrap_err();
    assert!(matches!(&err, StorageError::MissingFile { path } if path.ends_with("v/f0")));
    s.sync().unwrap();
    // The others were flushed and are intact.
    for p in 1..4 {
        assert!(s.check_piece(p).unwrap());
    }
}

#[test]
fn read_vec_of_a_truncated_file_is_missing_data() {
    let dir = tempfile::tempdir().unwrap();
    let t = single("f", 100, 32);
    let s = Storage::open(&t.info, dir.path()).unwrap();
    write_all(&s, &t);
    assert_eq!(s.read_vec(3, 0, 4).unwrap(), &t.data[96..]);
    // Someone shortens the file under us: an error, not a short or stale block.
    fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join("f"))
        .unwrap()
        .set_len(50)
        .unwrap();
    let e = s.read_vec(1, 0, 32).unwrap_err();
    assert!(e.is_missing_data(), "{e}");
    assert_eq!(s.read_vec(0, 0, 32).unwrap(), &t.data[..32]);
}

#[test]
fn pieces_written_from_blocks_span_files_like_whole_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let t = mixed();
    let s = Storage::open(&t.info, dir.path()).unwrap();
    for p in 0..s.piece_count() {
        let piece = t.piece(p);
        // Uneven blocks, one of them empty, cutting across the file boundaries.
        let cut = piece.len().min(5);
        let blocks: Vec<&[u8]> = vec![&piece[..cut], &[], &piece[cut..]];
        s.write_piece_blocks(p, &blocks).unwrap();
        assert!(s.check_piece(p).unwrap(), "piece {p}");
    }
    let base = dir.path().join("t");
    for (i, name) in ["a", "empty", "sub/b", "one", "c"].iter().enumerate() {
        assert_eq!(fs::read(base.join(name)).unwrap(), t.file_data(i), "{name}");
    }
    assert!(matches!(
        s.write_piece_blocks(0, &[&t.piece(0)[..15]]),
        Err(StorageError::PieceLength {
            expected: 16,
            got: 15,
            ..
        })
    ));
}

#[test]
fn padding_is_skipped_when_writing_from_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let t = padded();
    let s = Storage::open(&t.info, dir.path()).unwrap();
    for p in 0..s.piece_count() {
        let piece = t.piece(p);
        let blocks: Vec<&[u8]> = piece.chunks(3).collect();
        s.write_piece_blocks(p, &blocks).unwrap();
    }
    assert!(!dir.path().join("p/.pad").exists());
    assert_eq!(fs::read(dir.path().join("p/a")).unwrap(), t.file_data(0));
    assert_eq!(fs::read(dir.path().join("p/b")).unwrap(), t.file_data(2));
}

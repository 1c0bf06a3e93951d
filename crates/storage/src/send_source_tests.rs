use std::fs;
use std::os::unix::fs::FileExt;

use crate::test_util::{mixed, padded, single, write_all};
use crate::{split_sources, SendSource, Storage};

/// The bytes the sources stand for, read back with plain reads.
fn resolve(sources: &[SendSource]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in sources {
        match s {
            SendSource::Zeros(n) => out.resize(out.len() + n, 0),
            SendSource::File(r) => {
                let mut buf = vec![0u8; r.len];
                r.file.read_exact_at(&mut buf, r.offset).unwrap();
                out.extend_from_slice(&buf);
            }
        }
    }
    out
}

#[test]
fn sources_of_every_range_are_the_torrents_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let t = mixed();
    let s = Storage::open(&t.info, dir.path()).unwrap();
    write_all(&s, &t);
    // Every (piece, offset, len) inside a piece: ranges crossing `a`, the empty file,
    // `sub/b`, the 1-byte `one` and `c`.
    for p in 0..s.piece_count() {
        let r = t.info.geometry().piece_range(p).unwrap();
        let size = (r.end - r.start) as u32;
        for off in 0..size {
            for len in 1..=(size - off) as usize {
                let src = s.send_sources(p, off, len).unwrap();
                let start = r.start as usize + off as usize;
                assert_eq!(
                    resolve(&src),
                    &t.data[start..start + len],
                    "{p} {off} {len}"
                );
                assert!(src.iter().all(|x| !x.is_empty()));
            }
        }
    }
    // Piece 2 bytes 6..16 cross three files: three sources.
    assert_eq!(s.send_sources(2, 6, 10).unwrap().len(), 3);
    assert!(s.send_sources(2, 6, 11).is_err(), "past the piece");
}

#[test]
fn padding_is_zeros_without_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let t = padded();
    let s = Storage::open(&t.info, dir.path()).unwrap();
    write_all(&s, &t);
    let src = s.send_sources(0, 4, 12).unwrap();
    assert!(matches!(
        src[..],
        [SendSource::File(_), SendSource::Zeros(6)]
    ));
    assert_eq!(resolve(&src), &t.data[4..16]);
}

#[test]
fn a_short_file_is_missing_data_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let t = single("f", 100, 32);
    let s = Storage::open(&t.info, dir.path()).unwrap();
    write_all(&s, &t);
    fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join("f"))
        .unwrap()
        .set_len(50)
        .unwrap();
    let e = s.send_sources(1, 0, 32).unwrap_err();
    assert!(e.is_missing_data(), "{e}");
    assert_eq!(resolve(&s.send_sources(0, 0, 32).unwrap()), &t.data[..32]);
}

#[test]
fn split_cuts_sources_at_block_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    let t = mixed();
    let s = Storage::open(&t.info, dir.path()).unwrap();
    write_all(&s, &t);
    // All 48 bytes of the torrent as blocks of 5 (the last 3), like adjacent blocks of
    // a run read at once.
    let mut all = Vec::new();
    for p in 0..3 {
        all.extend(s.send_sources(p, 0, 16).unwrap());
    }
    let lengths: Vec<usize> = (0..10).map(|i| if i < 9 { 5 } else { 3 }).collect();
    let blocks = split_sources(all, &lengths);
    assert_eq!(blocks.len(), 10);
    let mut at = 0;
    for (b, want) in blocks.iter().zip(&lengths) {
        assert_eq!(b.iter().map(SendSource::len).sum::<usize>(), *want);
        assert_eq!(resolve(b), &t.data[at..at + want]);
        at += want;
    }
    // Asking for more than there is: the rest is empty, not a panic.
    let blocks = split_sources(s.send_sources(0, 0, 4).unwrap(), &[3, 3, 3]);
    assert_eq!(blocks.iter().map(Vec::len).collect::<Vec<_>>(), [1, 1, 0]);
}

//! Unit tests of metainfo parsing (hand-written bencode).

use super::*;
use crate::path::PathError;

fn pieces(n: usize) -> String {
    format!("6:pieces{}:{}", n * 20, "x".repeat(n * 20))
}

fn single(extra_info: &str) -> Vec<u8> {
    format!(
        "d8:announce9:http://t/4:infod6:lengthi40000e4:name5:a.txt12:piece lengthi32768e{}{extra_info}ee",
        pieces(2)
    )
    .into_bytes()
}

fn multi(files: &str) -> Vec<u8> {
    format!(
        "d4:infod5:files{files}4:name1:d12:piece lengthi16e{}ee",
        pieces(1)
    )
    .into_bytes()
}

#[test]
fn single_file() {
    let m = Metainfo::from_bytes(&single("")).unwrap();
    assert!(m.info().is_single_file());
    assert_eq!(m.info().name(), "a.txt");
    assert_eq!(m.files()[0].path, vec!["a.txt"]);
    assert_eq!(m.geometry().piece_count(), 2);
    assert_eq!(m.geometry().last_piece_length(), 40000 - 32768);
    assert_eq!(m.trackers(), vec!["http://t/"]);
    assert!(!m.info().is_private());
    assert_eq!(m.info_hash(), InfoHash::of_info_bytes(m.raw_info()));
}

#[test]
fn optional_fields() {
    let bytes = format!(
        "d8:announce2:t113:announce-listll2:t12:t2el2:t3ee7:comment2:hi10:created by2:me\
         13:creation datei7e4:infod6:lengthi1e4:name1:a12:piece lengthi16e{}7:privatei1e\
         6:source3:SRCe8:url-list5:ws://e",
        pieces(1)
    );
    let m = Metainfo::from_bytes(bytes.as_bytes()).unwrap();
    assert_eq!(m.tracker_tiers(), vec![vec!["t1", "t2"], vec!["t3"]]);
    assert_eq!(m.trackers(), vec!["t1", "t2", "t3"]);
    assert_eq!(m.comment(), Some("hi"));
    assert_eq!(m.created_by(), Some("me"));
    assert_eq!(m.creation_date(), Some(7));
    assert!(m.info().is_private());
    assert_eq!(m.info().source(), Some("SRC"));
    assert_eq!(m.url_list(), ["ws://"]);
    let magnet = m.to_magnet();
    assert_eq!(magnet.trackers, vec!["t1", "t2", "t3"]);
}

#[test]
fn multi_file_with_padding() {
    let files = "ld6:lengthi10e4:pathl1:aeed4:attr1:p6:lengthi6e4:pathl4:.pad1:6eed4:attr1:p\
                 6:lengthi6e4:pathl4:.pad1:6eed6:lengthi10e4:pathl3:sub1:bee\
                 d4:attr2:xh6:lengthi0e4:pathl1:ceee";
    let bytes = format!(
        "d4:infod5:files{files}4:name1:d12:piece lengthi16e{}ee",
        pieces(2)
    );
    let m = Metainfo::from_bytes(bytes.as_bytes()).unwrap();
    let f = m.files();
    assert_eq!(f.len(), 5);
    assert!(f[1].padding && f[2].padding && !f[0].padding);
    assert_eq!(f[3].path, vec!["sub", "b"]);
    assert_eq!(f[3].offset, 22);
    assert!(f[4].executable && f[4].hidden);
    assert_eq!(m.info().content_length(), 20);
    assert_eq!(m.geometry().total_length(), 32);
}

#[test]
fn info_hash_uses_original_bytes_of_unsorted_info() {
    let bytes = format!(
        "d4:infod4:name1:a6:lengthi1e12:piece lengthi16e{}ee",
        pieces(1)
    );
    let m = Metainfo::from_bytes(bytes.as_bytes()).unwrap();
    let raw = &bytes.as_bytes()[7..bytes.len() - 1];
    assert_eq!(m.raw_info(), raw);
    assert_eq!(m.info_hash(), InfoHash(crate::sha1::digest(raw)));
}

#[test]
fn refuses_bad_torrents() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"d4:infod".to_vec(), "unexpected end"),
        (b"i1e".to_vec(), "not a dictionary"),
        (b"de".to_vec(), "missing the required key 'info'"),
        (single("").replace_str("i40000e", "i-5e"), "negative length"),
        (
            single("").replace_str("lengthi32768e", "lengthi0e"),
            "invalid piece length 0",
        ),
        (
            b"d4:infod6:lengthi1e4:name1:a12:piece lengthi16e6:pieces3:abcee".to_vec(),
            "not a multiple of 20",
        ),
        (
            single("").replace_str("i40000e", "i90000e"),
            "need 3 pieces",
        ),
        (multi("ld6:lengthi1e4:pathl2:..1:xeee"), "path traversal"),
        (multi("ld6:lengthi1e4:pathl4:/etceee"), "path separator"),
        (multi("ld6:lengthi1e4:pathl0:eee"), "empty path component"),
        (multi("ld6:lengthi1e4:pathl3:a\0beee"), "control character"),
        (multi("ld6:lengthi1e4:pathleee"), "empty path"),
        (
            multi("ld6:lengthi1e4:pathl1:aeed6:lengthi1e4:pathl1:aeee"),
            "collides",
        ),
        (
            multi("ld6:lengthi1e4:pathl1:aeed6:lengthi1e4:pathl1:a1:beee"),
            "collides",
        ),
        (multi("le"), "'files' list is empty"),
        (
            multi("ld4:pathl1:aeee"),
            "missing the required key 'length'",
        ),
        (
            b"d4:infod9:file treede12:meta versioni2e4:name1:a12:piece lengthi16384eee".to_vec(),
            "v2 torrents",
        ),
        (single("12:meta versioni2e"), "hybrid"),
        (b"d4:infod9:file treede4:name1:aee".to_vec(), "v2 torrents"),
    ];
    for (bytes, expect) in cases {
        let err = Metainfo::from_bytes(&bytes).unwrap_err().to_string();
        assert!(
            err.contains(expect),
            "{:?}: got {err:?}, want {expect:?}",
            bytes.escape_ascii().to_string()
        );
    }
}

#[test]
fn collision_reports_path() {
    let err = Metainfo::from_bytes(&multi("ld6:lengthi1e4:pathl1:aeed6:lengthi1e4:pathl1:aeee"))
        .unwrap_err();
    assert_eq!(
        err,
        MetainfoError::Path {
            index: 1,
            problem: PathError::Collision("a".into())
        }
    );
}

trait ReplaceStr {
    fn replace_str(&self, from: &str, to: &str) -> Vec<u8>;
}

impl ReplaceStr for Vec<u8> {
    fn replace_str(&self, from: &str, to: &str) -> Vec<u8> {
        String::from_utf8_lossy(self)
            .replacen(from, to, 1)
            .into_bytes()
    }
}

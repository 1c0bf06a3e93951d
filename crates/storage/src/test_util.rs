//! Small torrents built by hand for tests, padding files included.

use std::path::Path;

use bitswarm_bencode::OwnedValue;
use bitswarm_proto::{Info, InfoHash};

/// A test torrent and its content.
pub(crate) struct TestTorrent {
    pub info: Info,
    pub info_hash: InfoHash,
    /// The torrent's concatenated data (padding as zeros).
    pub data: Vec<u8>,
}

impl TestTorrent {
    /// The bytes of piece `p`.
    pub fn piece(&self, p: u32) -> &[u8] {
        let r = self.info.geometry().piece_range(p).expect("piece in range");
        &self.data[r.start as usize..r.end as usize]
    }

    /// The expected content of file `index`.
    pub fn file_data(&self, index: usize) -> &[u8] {
        let r = self.info.layout().file_range(index).expect("file in range");
        &self.data[r.start as usize..r.end as usize]
    }
}

/// A folder torrent `name` with files `(path "a/b", length, padding)`.
pub(crate) fn folder(name: &str, files: &[(&str, u64, bool)], piece_length: u32) -> TestTorrent {
    let list = files
        .iter()
        .map(|(path, len, pad)| {
            let mut f = OwnedValue::dict();
            f.insert("length", *len as i64);
            let comps = path.split('/').map(OwnedValue::from).collect::<Vec<_>>();
            f.insert("path", comps);
            if *pad {
                f.insert("attr", "p");
            }
            f
        })
        .collect::<Vec<_>>();
    let pads: Vec<bool> = files.iter().map(|f| f.2).collect();
    let lens: Vec<u64> = files.iter().map(|f| f.1).collect();
    build(name, Some(list), &lens, &pads, piece_length)
}

/// A single-file torrent.
pub(crate) fn single(name: &str, length: u64, piece_length: u32) -> TestTorrent {
    build(name, None, &[length], &[false], piece_length)
}

fn build(
    name: &str,
    files: Option<Vec<OwnedValue>>,
    lens: &[u64],
    pads: &[bool],
    piece_length: u32,
) -> TestTorrent {
    let mut data = Vec::new();
    for (len, pad) in lens.iter().zip(pads) {
        for _ in 0..*len {
            let i = data.len() as u32;
            data.push(if *pad {
                0
            } else {
                (i.wrapping_mul(2_654_435_761) >> 13) as u8
            });
        }
    }
    let pieces: Vec<u8> = data
        .chunks(piece_length as usize)
        .flat_map(bitswarm_proto::sha1::digest)
        .collect();
    let mut info = OwnedValue::dict();
    match files {
        Some(list) => {
            info.insert("files", list);
        }
        None => {
            info.insert("length", lens[0] as i64);
        }
    }
    info.insert("name", name);
    info.insert("piece length", piece_length);
    info.insert("pieces", pieces);
    let raw = info.to_bytes();
    TestTorrent {
        info: Info::from_bytes(&raw).expect("valid test torrent"),
        info_hash: InfoHash::of_info_bytes(&raw),
        data,
    }
}

/// A BEP 47 padded torrent "p": pieces of 16 bytes, a 10-byte file, a 6-byte padding
/// file (`.pad/6`) and a 20-byte file.
pub(crate) fn padded() -> TestTorrent {
    folder(
        "p",
        &[("a", 10, false), (".pad/6", 6, true), ("b", 20, false)],
        16,
    )
}

/// The standard multi-file test torrent: pieces of 16 bytes spanning a 10-byte file, an
/// empty one, a 30-byte file in a subfolder, a 1-byte file and a 7-byte file.
pub(crate) fn mixed() -> TestTorrent {
    folder(
        "t",
        &[
            ("a", 10, false),
            ("empty", 0, false),
            ("sub/b", 30, false),
            ("one", 1, false),
            ("c", 7, false),
        ],
        16,
    )
}

/// Write every piece of `t` to `storage`.
pub(crate) fn write_all(storage: &crate::Storage, t: &TestTorrent) {
    for p in 0..t.info.geometry().piece_count() {
        storage.write_piece(p, t.piece(p)).expect("write piece");
    }
}

/// Set the mtime of `path` to `secs` after the epoch.
pub(crate) fn set_mtime(path: &Path, secs: u64) {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open to set mtime");
    f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        .expect("set mtime");
}

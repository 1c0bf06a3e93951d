//! Deterministic content and torrents written to disk.

use std::path::Path;

use bitswarm_proto::TorrentSpec;

/// Deterministic pseudo-random bytes (xorshift), different per `seed`.
pub fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

/// What to write.
pub struct Files<'a> {
    /// The torrent's name.
    pub name: &'a str,
    /// (relative path with `/`, length); one file with an empty path is a single-file
    /// torrent.
    pub files: &'a [(&'a str, usize)],
    /// Piece length.
    pub piece_length: u32,
    /// Announce URLs, one tier each.
    pub trackers: Vec<String>,
    /// BEP 27 private flag.
    pub private: bool,
    /// File `i` holds `content(len, first_seed + i)`.
    pub first_seed: u64,
}

/// Writes the files at `data` (the single file itself, or the torrent's folder) and
/// returns the bytes of their `.torrent`.
pub fn write(data: &Path, f: &Files<'_>) -> Vec<u8> {
    let single = f.files.len() == 1 && f.files[0].0.is_empty();
    let mut all = Vec::new();
    let mut listed = Vec::new();
    for (i, (path, len)) in f.files.iter().enumerate() {
        let bytes = content(*len, f.first_seed + i as u64);
        let file = if single {
            data.to_path_buf()
        } else {
            data.join(path)
        };
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).expect("create the data folder");
        }
        std::fs::write(&file, &bytes).expect("write the data");
        all.extend_from_slice(&bytes);
        listed.push((
            path.split('/').map(str::to_owned).collect::<Vec<_>>(),
            *len as u64,
        ));
    }
    let spec = TorrentSpec {
        name: f.name.to_owned(),
        single_length: single.then_some(all.len() as u64),
        files: if single { Vec::new() } else { listed },
        piece_length: f.piece_length,
        pieces: all
            .chunks(f.piece_length as usize)
            .map(bitswarm_proto::sha1::digest)
            .collect(),
        private: f.private,
        source: None,
        trackers: f.trackers.clone(),
        web_seeds: Vec::new(),
        comment: None,
        created_by: Some("bitswarm tests".into()),
        creation_date: None,
    };
    spec.to_bytes().expect("encode the torrent")
}

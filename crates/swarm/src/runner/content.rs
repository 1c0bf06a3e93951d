//! The content of a run: files generated from the scenario's seed (or given), their
//! single-file torrents, and the data each client finds in its folder at start — the
//! pieces a peer holds, a corrupt client's damaged copy, resume data.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bitswarm_proto::{auto_piece_length, InfoHash, Metainfo, TorrentSpec, BLOCK_SIZE};
use bitswarm_storage::{ResumeData, Storage};
use rand::{Rng, RngCore, SeedableRng};

use super::error::RunnerError;
use super::scenario::{PieceLength, ResolvedFile};

/// Generated content is written in chunks of this size.
const CHUNK: usize = 1 << 20;

/// A file ready to be shared: where its content is and its torrent.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PreparedFile {
    /// Name (also the torrent's name).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// The content on disk.
    pub source: PathBuf,
    /// The `.torrent` bytes.
    pub torrent: Vec<u8>,
    /// SHA-1 of the whole content, hex.
    pub sha1: String,
}

/// A random-number generator for one purpose of one run (deterministic in `seed` and
/// `parts`).
pub fn rng_for(seed: u64, parts: &[u64]) -> rand::rngs::StdRng {
    let mut s = seed ^ 0x9E37_79B9_7F4A_7C15;
    for p in parts {
        s = s.rotate_left(17) ^ p.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    }
    rand::rngs::StdRng::seed_from_u64(s)
}

/// Writes generated files into `dir` (given paths are used where they are), hashes them
/// and builds one torrent per file announcing to `tracker`.
pub fn prepare_files(
    files: &[ResolvedFile],
    seed: u64,
    piece_length: PieceLength,
    tracker: &str,
    dir: &Path,
) -> Result<Vec<PreparedFile>, RunnerError> {
    std::fs::create_dir_all(dir).map_err(|e| RunnerError::io(dir, e))?;
    let mut out = Vec::with_capacity(files.len());
    for (index, f) in files.iter().enumerate() {
        let source = match &f.path {
            Some(p) => p.clone(),
            None => dir.join(&f.name),
        };
        let size = match &f.path {
            Some(p) => std::fs::metadata(p)
                .map_err(|e| RunnerError::io(p, e))?
                .len(),
            None => f.size,
        };
        if size == 0 {
            return Err(RunnerError::Scenario(format!(
                "{}: the file is empty",
                source.display()
            )));
        }
        let pl = match piece_length {
            PieceLength::Auto => auto_piece_length(size),
            PieceLength::Bytes(b) => b,
        };
        let mut hasher = PieceHasher::new(pl);
        if f.path.is_some() {
            let mut file = File::open(&source).map_err(|e| RunnerError::io(&source, e))?;
            let mut buf = vec![0u8; CHUNK];
            loop {
                let n = file
                    .read(&mut buf)
                    .map_err(|e| RunnerError::io(&source, e))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
            }
        } else {
            let mut rng = rng_for(seed, &[1, index as u64]);
            let mut file = File::create(&source).map_err(|e| RunnerError::io(&source, e))?;
            let mut buf = vec![0u8; CHUNK];
            let mut left = size;
            while left > 0 {
                let n = left.min(CHUNK as u64) as usize;
                rng.fill_bytes(&mut buf[..n]);
                file.write_all(&buf[..n])
                    .map_err(|e| RunnerError::io(&source, e))?;
                hasher.update(&buf[..n]);
                left -= n as u64;
            }
        }
        let (pieces, sha1) = hasher.finish();
        let spec = TorrentSpec {
            name: f.name.clone(),
            single_length: Some(size),
            piece_length: pl,
            pieces,
            trackers: vec![tracker.to_owned()],
            created_by: Some("bitswarm swarm".into()),
            ..TorrentSpec::default()
        };
        let torrent = spec.to_bytes().map_err(|e| RunnerError::Torrent {
            file: f.name.clone(),
            message: e.to_string(),
        })?;
        out.push(PreparedFile {
            name: f.name.clone(),
            size,
            source,
            torrent,
            sha1: hex(&sha1),
        });
    }
    Ok(out)
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Piece hashes and the whole-file hash in one pass.
struct PieceHasher {
    piece_length: usize,
    piece: Vec<u8>,
    pieces: Vec<[u8; 20]>,
    whole: bitswarm_proto::sha1::Sha1,
}

impl PieceHasher {
    fn new(piece_length: u32) -> Self {
        PieceHasher {
            piece_length: piece_length as usize,
            piece: Vec::with_capacity(piece_length as usize),
            pieces: Vec::new(),
            whole: bitswarm_proto::sha1::Sha1::new(),
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.whole.update(data);
        while !data.is_empty() {
            let take = (self.piece_length - self.piece.len()).min(data.len());
            self.piece.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.piece.len() == self.piece_length {
                self.pieces.push(bitswarm_proto::sha1::digest(&self.piece));
                self.piece.clear();
            }
        }
    }

    fn finish(mut self) -> (Vec<[u8; 20]>, [u8; 20]) {
        if !self.piece.is_empty() {
            self.pieces.push(bitswarm_proto::sha1::digest(&self.piece));
        }
        (self.pieces, self.whole.finish())
    }
}

/// The pieces a peer holds at start: `round(fraction × count)` pieces chosen at random,
/// deterministic in the seed, the client and the file.
pub fn held_pieces(count: u32, fraction: f64, seed: u64, client: usize, file: usize) -> Vec<bool> {
    let n = count as usize;
    let want = ((fraction * n as f64).round() as usize).min(n);
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = rng_for(seed, &[2, client as u64, file as u64]);
    // Partial Fisher–Yates: the first `want` entries are a uniform random subset.
    for i in 0..want {
        let j = rng.gen_range(i..n);
        order.swap(i, j);
    }
    let mut held = vec![false; n];
    for &i in &order[..want] {
        held[i] = true;
    }
    held
}

/// Bytes of the pieces marked in `held`.
pub fn held_bytes(meta: &Metainfo, held: &[bool]) -> u64 {
    let g = meta.geometry();
    held.iter()
        .enumerate()
        .filter(|(_, h)| **h)
        .map(|(i, _)| u64::from(g.piece_size(i as u32).unwrap_or(0)))
        .sum()
}

/// Prepares a client's download folder for one torrent: copies the `held` pieces from
/// `source` into `dir/<name>` (with a flipped byte in every block when `corrupt`) and
/// writes resume data.
///
/// Resume data is what lets a corrupt client serve its damaged pieces (the engine trusts
/// resume data whose file sizes and times match, as after a restart), and it spares
/// leechers hashing an empty file. An honest peer gets none: the engine's initial check
/// hashes its file and finds the held pieces itself.
pub fn write_start_data(
    meta: &Metainfo,
    source: &Path,
    dir: &Path,
    held: &[bool],
    corrupt: bool,
) -> Result<(), RunnerError> {
    std::fs::create_dir_all(dir).map_err(|e| RunnerError::io(dir, e))?;
    let target = dir.join(meta.info().name());
    let any_held = held.iter().any(|h| *h);
    if any_held {
        let src = File::open(source).map_err(|e| RunnerError::io(source, e))?;
        let dst = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&target)
            .map_err(|e| RunnerError::io(&target, e))?;
        dst.set_len(meta.info().content_length())
            .map_err(|e| RunnerError::io(&target, e))?;
        let g = meta.geometry();
        let mut buf = Vec::new();
        for (i, _) in held.iter().enumerate().filter(|(_, h)| **h) {
            let Some(range) = g.piece_range(i as u32) else {
                continue;
            };
            buf.resize((range.end - range.start) as usize, 0);
            src.read_exact_at(&mut buf, range.start)
                .map_err(|e| RunnerError::io(source, e))?;
            if corrupt {
                for block in buf.chunks_mut(BLOCK_SIZE as usize) {
                    block[0] ^= 0xFF;
                }
            }
            dst.write_all_at(&buf, range.start)
                .map_err(|e| RunnerError::io(&target, e))?;
        }
        dst.sync_all().map_err(|e| RunnerError::io(&target, e))?;
    }
    if corrupt || !any_held {
        let storage_err = |e: bitswarm_storage::StorageError| RunnerError::Io {
            path: target.clone(),
            source: std::io::Error::other(e.to_string()),
        };
        let info_hash: InfoHash = meta.info_hash();
        let storage = Storage::open(meta.info(), dir).map_err(storage_err)?;
        let resume = ResumeData::capture(&storage, info_hash, held).map_err(storage_err)?;
        drop(storage);
        resume
            .save(&ResumeData::path_for(dir, &info_hash))
            .map_err(storage_err)?;
    }
    Ok(())
}

/// SHA-1 of a whole file, hex.
pub fn sha1_file(path: &Path) -> Result<String, RunnerError> {
    let mut file = File::open(path).map_err(|e| RunnerError::io(path, e))?;
    let mut h = bitswarm_proto::sha1::Sha1::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = file.read(&mut buf).map_err(|e| RunnerError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::scenario::ResolvedFile;

    #[test]
    fn generated_content_is_deterministic_and_hashed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = [ResolvedFile {
            name: "a.bin".into(),
            size: 100_000,
            path: None,
        }];
        let auto = PieceLength::Bytes(16384);
        let a = prepare_files(
            &files,
            7,
            auto,
            "http://127.0.0.1:1/announce",
            &dir.path().join("a"),
        )
        .expect("prepare");
        let b = prepare_files(
            &files,
            7,
            auto,
            "http://127.0.0.1:1/announce",
            &dir.path().join("b"),
        )
        .expect("prepare");
        assert_eq!(a[0].sha1, b[0].sha1);
        assert_eq!(a[0].torrent, b[0].torrent);
        assert_eq!(sha1_file(&a[0].source).expect("hash"), a[0].sha1);
        let meta = Metainfo::from_bytes(&a[0].torrent).expect("torrent");
        assert_eq!(meta.info().content_length(), 100_000);
        assert_eq!(meta.geometry().piece_count(), 7);
        let c = prepare_files(&files, 8, auto, "http://x/announce", &dir.path().join("c"))
            .expect("prepare");
        assert_ne!(a[0].sha1, c[0].sha1);
    }

    #[test]
    fn held_pieces_have_the_fraction_and_differ_by_client() {
        let a = held_pieces(100, 0.3, 1, 0, 0);
        let b = held_pieces(100, 0.3, 1, 1, 0);
        assert_eq!(a.iter().filter(|h| **h).count(), 30);
        assert_ne!(a, b);
        assert_eq!(a, held_pieces(100, 0.3, 1, 0, 0));
        assert!(held_pieces(10, 1.0, 1, 0, 0).iter().all(|h| *h));
        assert!(!held_pieces(10, 0.0, 1, 0, 0).iter().any(|h| *h));
    }

    #[test]
    fn start_data_holds_exactly_the_held_pieces() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = [ResolvedFile {
            name: "f.bin".into(),
            size: 5 * 16384 + 10,
            path: None,
        }];
        let p = prepare_files(
            &files,
            3,
            PieceLength::Bytes(16384),
            "http://x/a",
            dir.path(),
        )
        .expect("prepare");
        let meta = Metainfo::from_bytes(&p[0].torrent).expect("torrent");
        let held = vec![true, false, true, false, false, true];
        for (corrupt, sub) in [(false, "ok"), (true, "bad")] {
            let d = dir.path().join(sub);
            write_start_data(&meta, &p[0].source, &d, &held, corrupt).expect("write");
            let storage = Storage::open(meta.info(), &d).expect("open");
            for (i, h) in held.iter().enumerate() {
                let good = storage.check_piece(i as u32).expect("check");
                assert_eq!(good, *h && !corrupt, "piece {i} corrupt={corrupt}");
            }
            let resume = ResumeData::path_for(&d, &meta.info_hash());
            assert_eq!(resume.exists(), corrupt, "{sub}");
        }
        assert_eq!(held_bytes(&meta, &held), 2 * 16384 + 10);
    }
}

//! Hashing files piece by piece on all cores: the I/O side of `create` and `verify`.
//!
//! Pieces are spread over rayon's pool in runs of consecutive pieces. Files are opened
//! once, memory-mapped read-only and shared by the workers: hashing straight from the
//! page cache avoids a copy and measured 10-15% faster than `pread` into a buffer, which
//! matters because SHA-1 is the whole cost. A file that cannot be mapped is read with
//! positioned reads (`pread`) of up to 1 MiB instead.
//!
//! A mapped file truncated by another process while we hash it would fault (SIGBUS), so
//! the file's current size is checked before each slice is hashed; what remains is a
//! race of microseconds with an unusual concurrent writer.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use bitswarm_proto::{sha1::Sha1, Layout};
use indicatif::ProgressBar;
use rayon::prelude::*;

/// Bytes read per `pread`.
const READ_CHUNK: usize = 1 << 20;
/// Roughly how many bytes one unit of parallel work covers.
const WORK_UNIT: u64 = 8 << 20;

/// Where the bytes of one torrent file come from.
#[derive(Debug)]
pub enum Source {
    /// A file on disk, opened, with its size on disk.
    File {
        /// The open file.
        file: File,
        /// Its path (for error messages).
        path: PathBuf,
        /// Its size on disk (may differ from the torrent's when verifying).
        disk_len: u64,
        /// The whole file mapped read-only, when mapping worked.
        map: Option<memmap2::Mmap>,
    },
    /// Not on disk (or not readable): pieces that need it are missing.
    Absent,
    /// A BEP 47 padding file: zeros that are never stored.
    Zeros,
}

impl Source {
    /// Open `path`; a file that does not exist becomes [`Source::Absent`].
    pub fn open(path: &Path) -> anyhow::Result<Source> {
        match File::open(path) {
            Ok(file) => {
                let meta = file
                    .metadata()
                    .with_context(|| format!("cannot stat {}", path.display()))?;
                if !meta.is_file() {
                    return Ok(Source::Absent);
                }
                // SAFETY: the map is read-only and only read as bytes; the size check before
                // each slice (see the module comment) guards against truncation.
                let map = match meta.len() {
                    0 => None,
                    _ => unsafe { memmap2::Mmap::map(&file) }.ok(),
                };
                Ok(Source::File {
                    file,
                    path: path.to_owned(),
                    disk_len: meta.len(),
                    map,
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Source::Absent),
            Err(e) => Err(e).with_context(|| format!("cannot open {}", path.display())),
        }
    }
}

/// The outcome of hashing one piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PieceHash {
    /// All bytes were available; their SHA-1.
    Hash([u8; 20]),
    /// Some bytes are in a file that is absent or too short.
    Missing,
}

/// Hash every piece of `layout`, reading file `i` of the layout from `sources[i]`.
pub fn hash_pieces(
    layout: &Layout,
    sources: &[Source],
    progress: &ProgressBar,
) -> anyhow::Result<Vec<PieceHash>> {
    let geometry = layout.geometry();
    let per_unit = (WORK_UNIT / u64::from(geometry.piece_length())).max(1) as usize;
    let buf_len = READ_CHUNK.min(geometry.piece_length() as usize);
    (0..geometry.piece_count())
        .into_par_iter()
        .with_min_len(per_unit)
        .map_init(
            || vec![0u8; buf_len],
            |buf, piece| {
                let result = hash_piece(layout, sources, piece, buf);
                if let Some(size) = geometry.piece_size(piece) {
                    progress.inc(u64::from(size));
                }
                result
            },
        )
        .collect()
}

fn hash_piece(
    layout: &Layout,
    sources: &[Source],
    piece: u32,
    buf: &mut [u8],
) -> anyhow::Result<PieceHash> {
    let mut hasher = Sha1::new();
    for slice in layout.piece_slices(piece) {
        let end = slice.offset + slice.length;
        let (file, path, map) = match &sources[slice.file_index] {
            Source::Absent => return Ok(PieceHash::Missing),
            Source::File { disk_len, .. } if end > *disk_len => return Ok(PieceHash::Missing),
            Source::File {
                file, path, map, ..
            } => (Some(file), path.as_path(), map.as_ref()),
            Source::Zeros => (None, Path::new(""), None),
        };
        if let (Some(f), Some(map)) = (file, map) {
            let now = f
                .metadata()
                .with_context(|| format!("cannot stat {}", path.display()))?;
            // Both bounds fit in usize: the map covers them.
            match map.get(slice.offset as usize..end as usize) {
                Some(bytes) if now.len() >= end => hasher.update(bytes),
                _ => return Ok(PieceHash::Missing),
            }
            continue;
        }
        let mut done = 0u64;
        while done < slice.length {
            let n = (slice.length - done).min(buf.len() as u64) as usize;
            let chunk = &mut buf[..n];
            match file {
                Some(f) => match f.read_exact_at(chunk, slice.offset + done) {
                    Ok(()) => {}
                    // The file shrank while we were reading it.
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                        return Ok(PieceHash::Missing)
                    }
                    Err(e) => {
                        return Err(e).with_context(|| format!("cannot read {}", path.display()))
                    }
                },
                None => chunk.fill(0),
            }
            hasher.update(chunk);
            done += n as u64;
        }
    }
    Ok(PieceHash::Hash(hasher.finish()))
}

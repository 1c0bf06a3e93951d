//! [`Storage`]: the files of one torrent on disk, read and written piece by piece with
//! positioned I/O.
//!
//! Where data goes is decided by `bitswarm_proto::Layout` (pieces → file slices); this file
//! only does the I/O. Padding files (BEP 47) are never created: they read as zeros and
//! writes to them are dropped.
//!
//! Files longer than the torrent says are left alone: pieces are read and written by
//! offset, so the extra bytes are never touched nor truncated (resume data treats such a
//! file as changed, see `resume.rs`). Shorter files are extended with `set_len` when opened
//! for download, which makes them sparse rather than writing zeros.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bitswarm_proto::{FileEntry, Info, InfoHash, Layout};

use crate::error::StorageError;
use crate::file_cache::{open_file, Access, FileCache, DEFAULT_OPEN_FILE_LIMIT};
use crate::paths::PathGuard;

/// Files of one torrent on disk. `Send + Sync`: share it in an `Arc`. Every method blocks
/// (positioned I/O, no lock held during I/O); async callers run them on a blocking pool or
/// the [`HashPool`](crate::HashPool).
pub struct Storage {
    layout: Layout,
    files: Vec<FileEntry>,
    hashes: Vec<[u8; 20]>,
    cache: FileCache,
    info_hash: Option<InfoHash>,
}

impl Storage {
    /// Open (creating as needed, sparse, no preallocation of data) the files of `info`
    /// under `root`: a single-file torrent is `root/<name>`, a multi-file one
    /// `root/<name>/<path...>`. Padding files (BEP 47) are never created; zero-length files
    /// are created. Keeps at most 256 files open.
    pub fn open(info: &Info, root: &Path) -> Result<Storage, StorageError> {
        Storage::open_with_limit(info, root, DEFAULT_OPEN_FILE_LIMIT)
    }

    /// [`Storage::open`] keeping at most `max_open_files` (at least 1) handles open.
    pub fn open_with_limit(
        info: &Info,
        root: &Path,
        max_open_files: usize,
    ) -> Result<Storage, StorageError> {
        let mut guard = PathGuard::new(root, true)?;
        let mut paths = Vec::with_capacity(info.files().len());
        let mut opened = Vec::new();
        for (index, file) in info.files().iter().enumerate() {
            if file.padding {
                paths.push(None);
                continue;
            }
            let path = guard.resolve(&download_components(info, file))?;
            let handle = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| StorageError::io("open or create", &path, e))?;
            let len = handle
                .metadata()
                .map_err(|e| StorageError::io("inspect", &path, e))?
                .len();
            if len < file.length {
                // Sparse: no data is written, the file system allocates blocks on write.
                handle
                    .set_len(file.length)
                    .map_err(|e| StorageError::io("set the length of", &path, e))?;
            }
            if opened.len() < max_open_files {
                opened.push((index, handle));
            }
            paths.push(Some(path));
        }
        let cache = FileCache::new(paths, Access::ReadWrite, max_open_files);
        for (index, handle) in opened {
            cache.insert(index, handle);
        }
        Ok(Storage::new(info, cache))
    }

    /// Open for seeding existing data at `path` (what `create` was given: the file itself
    /// for a single-file torrent, the folder for a multi-file one), read-only. A missing
    /// file is [`StorageError::MissingFile`] naming it; nothing is created.
    pub fn open_existing(info: &Info, path: &Path) -> Result<Storage, StorageError> {
        let mut paths = Vec::with_capacity(info.files().len());
        if info.is_single_file() {
            paths.push(Some(path.to_path_buf()));
        } else {
            let mut guard = PathGuard::new(path, false)?;
            for file in info.files() {
                paths.push(match file.padding {
                    true => None,
                    false => Some(guard.resolve(&file.path)?),
                });
            }
        }
        let cache = FileCache::new(paths, Access::ReadOnly, DEFAULT_OPEN_FILE_LIMIT);
        for index in 0..info.files().len() {
            if let Some(p) = cache.path(index) {
                let handle = open_file(p, Access::ReadOnly)?;
                if index < DEFAULT_OPEN_FILE_LIMIT {
                    cache.insert(index, handle);
                }
            }
        }
        Ok(Storage::new(info, cache))
    }

    fn new(info: &Info, cache: FileCache) -> Storage {
        Storage {
            layout: info.layout().clone(),
            files: info.files().to_vec(),
            hashes: info.pieces().to_vec(),
            cache,
            info_hash: None,
        }
    }

    /// Tell the storage its torrent's info-hash, so [`initial_check`](crate::initial_check)
    /// also compares it with the resume data's (an `Info` alone cannot give it: the hash is
    /// of the original bytes).
    pub fn with_info_hash(mut self, info_hash: InfoHash) -> Storage {
        self.info_hash = Some(info_hash);
        self
    }

    /// The info-hash given with [`Storage::with_info_hash`], if any.
    pub fn info_hash(&self) -> Option<&InfoHash> {
        self.info_hash.as_ref()
    }

    /// How pieces map to files.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The torrent's files, padding files included.
    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    /// Path of file `index` on disk (`None` for padding files).
    pub fn file_path(&self, index: usize) -> Option<&Path> {
        self.cache.path(index)
    }

    /// Whether this storage was opened read-only (seeding existing data).
    pub fn is_read_only(&self) -> bool {
        self.cache.access() == Access::ReadOnly
    }

    /// Number of pieces.
    pub fn piece_count(&self) -> u32 {
        self.layout.geometry().piece_count()
    }

    /// The expected SHA-1 of `piece`.
    pub fn piece_hash(&self, piece: u32) -> Option<&[u8; 20]> {
        self.hashes.get(piece as usize)
    }

    fn piece_size(&self, piece: u32) -> Result<u32, StorageError> {
        self.layout
            .geometry()
            .piece_size(piece)
            .ok_or(StorageError::PieceOutOfRange {
                piece,
                count: self.piece_count(),
            })
    }

    /// Where `len` bytes of `piece` at `offset` start in the torrent's data, if they are
    /// inside the piece.
    pub(crate) fn range_start(
        &self,
        piece: u32,
        offset: u32,
        len: usize,
    ) -> Result<u64, StorageError> {
        let size = self.piece_size(piece)?;
        let end = u64::from(offset) + len as u64;
        if end > u64::from(size) {
            return Err(StorageError::ReadOutOfRange {
                piece,
                offset,
                len,
                size,
            });
        }
        Ok(u64::from(piece) * u64::from(self.layout.geometry().piece_length()) + u64::from(offset))
    }

    /// The open handle of file `index` (opened if needed), for reading.
    pub(crate) fn cached_file(&self, index: usize) -> Result<Arc<std::fs::File>, StorageError> {
        self.cache.get(index, false)
    }

    pub(crate) fn path_of(&self, index: usize) -> PathBuf {
        self.cache.path(index).map_or_else(
            || PathBuf::from(format!("<file #{index}>")),
            Path::to_path_buf,
        )
    }

    /// Write a whole piece (it may span files) with one positioned write per file.
    pub fn write_piece(&self, piece: u32, data: &[u8]) -> Result<(), StorageError> {
        if self.is_read_only() {
            return Err(StorageError::ReadOnly { piece });
        }
        let size = self.piece_size(piece)?;
        if data.len() != size as usize {
            return Err(StorageError::PieceLength {
                piece,
                expected: size,
                got: data.len(),
            });
        }
        let mut pos = 0usize;
        for slice in self.layout.piece_slices(piece) {
            // A slice is part of one piece, so its length fits in the piece's u32 length.
            let len = slice.length as usize;
            let chunk = &data[pos..pos + len];
            pos += len;
            if self.files[slice.file_index].padding {
                continue;
            }
            let file = self.cache.get(slice.file_index, true)?;
            file.write_all_at(chunk, slice.offset)
                .map_err(|e| StorageError::io("write", self.path_of(slice.file_index), e))?;
            crate::writeback::start_writeback(&file, slice.offset, len);
        }
        Ok(())
    }

    /// Write a whole piece given as its blocks in order (their lengths adding up to the
    /// piece's), with one positioned vectored write per file: the blocks are never
    /// copied into one buffer.
    pub fn write_piece_blocks<B: AsRef<[u8]>>(
        &self,
        piece: u32,
        blocks: &[B],
    ) -> Result<(), StorageError> {
        if self.is_read_only() {
            return Err(StorageError::ReadOnly { piece });
        }
        let size = self.piece_size(piece)?;
        let total: usize = blocks.iter().map(|b| b.as_ref().len()).sum();
        if total != size as usize {
            return Err(StorageError::PieceLength {
                piece,
                expected: size,
                got: total,
            });
        }
        // (block index, offset in it) of the next byte to write.
        let (mut i, mut at) = (0usize, 0usize);
        let mut parts: Vec<&[u8]> = Vec::with_capacity(blocks.len() + 1);
        for slice in self.layout.piece_slices(piece) {
            let len = slice.length as usize;
            parts.clear();
            let mut need = len;
            while need > 0 {
                let Some(b) = blocks.get(i).map(AsRef::as_ref) else {
                    break;
                };
                let take = (b.len() - at).min(need);
                parts.push(&b[at..at + take]);
                need -= take;
                at += take;
                if at == b.len() {
                    i += 1;
                    at = 0;
                }
            }
            if self.files[slice.file_index].padding {
                continue;
            }
            let file = self.cache.get(slice.file_index, true)?;
            crate::vectored_write::write_all_vectored_at(&file, &mut parts, slice.offset)
                .map_err(|e| StorageError::io("write", self.path_of(slice.file_index), e))?;
            crate::writeback::start_writeback(&file, slice.offset, len);
        }
        Ok(())
    }

    /// Read `buf.len()` bytes of `piece` starting at `offset` (for uploading a block).
    /// A file shorter than the torrent says is an [`StorageError::Io`] with kind
    /// `UnexpectedEof` (see [`StorageError::is_missing_data`]).
    pub fn read(&self, piece: u32, offset: u32, buf: &mut [u8]) -> Result<(), StorageError> {
        let size = self.piece_size(piece)?;
        let end = u64::from(offset) + buf.len() as u64;
        if end > u64::from(size) {
            return Err(StorageError::ReadOutOfRange {
                piece,
                offset,
                len: buf.len(),
                size,
            });
        }
        let start =
            u64::from(piece) * u64::from(self.layout.geometry().piece_length()) + u64::from(offset);
        self.read_range(start, buf)
    }

    /// Read `len` bytes of `piece` starting at `offset` into a new buffer, like
    /// [`Storage::read`] but without zero-filling the buffer first (the read fills it):
    /// uploads read every block this way.
    pub fn read_vec(&self, piece: u32, offset: u32, len: usize) -> Result<Vec<u8>, StorageError> {
        let start = self.range_start(piece, offset, len)?;
        let mut buf = Vec::with_capacity(len);
        for slice in self.layout.slices(start..start + len as u64) {
            let n = slice.length as usize;
            if self.files[slice.file_index].padding {
                buf.resize(buf.len() + n, 0);
                continue;
            }
            let file = self.cache.get(slice.file_index, false)?;
            crate::uninit_read::read_exact_at_append(&file, &mut buf, n, slice.offset)
                .map_err(|e| StorageError::io("read", self.path_of(slice.file_index), e))?;
        }
        Ok(buf)
    }

    /// Read `buf.len()` bytes of the torrent's data starting at `start`, file by file.
    fn read_range(&self, start: u64, buf: &mut [u8]) -> Result<(), StorageError> {
        let mut pos = 0usize;
        for slice in self.layout.slices(start..start + buf.len() as u64) {
            let len = slice.length as usize;
            let chunk = &mut buf[pos..pos + len];
            pos += len;
            if self.files[slice.file_index].padding {
                chunk.fill(0);
                continue;
            }
            let file = self.cache.get(slice.file_index, false)?;
            file.read_exact_at(chunk, slice.offset)
                .map_err(|e| StorageError::io("read", self.path_of(slice.file_index), e))?;
        }
        Ok(())
    }

    /// Read a whole piece from disk and check it against the torrent's hash. A piece whose
    /// file is missing or too short is `Ok(false)`; other I/O errors are errors.
    pub fn check_piece(&self, piece: u32) -> Result<bool, StorageError> {
        let mut buf = Vec::new();
        self.check_piece_with(piece, &mut buf)
    }

    /// [`Storage::check_piece`] reusing `buf` (resized to the piece's length).
    pub(crate) fn check_piece_with(
        &self,
        piece: u32,
        buf: &mut Vec<u8>,
    ) -> Result<bool, StorageError> {
        let size = self.piece_size(piece)?;
        buf.resize(size as usize, 0);
        match self.read(piece, 0, buf) {
            Ok(()) => {}
            Err(e) if e.is_missing_data() => return Ok(false),
            Err(e) => return Err(e),
        }
        let expected = self.hashes.get(piece as usize);
        Ok(expected == Some(&bitswarm_proto::sha1::digest(buf)))
    }

    /// fsync every file written since the last sync (open or since closed by the cache).
    pub fn sync(&self) -> Result<(), StorageError> {
        self.cache.sync_all()
    }

    #[cfg(test)]
    pub(crate) fn open_handles(&self) -> usize {
        self.cache.open_count()
    }
}

/// Path components of `file` below the download root: `[name, path...]` for a folder
/// torrent, `[name]` for a single file (whose `path` is already `[name]`).
fn download_components<'a>(info: &'a Info, file: &'a FileEntry) -> Vec<&'a str> {
    let mut comps = Vec::with_capacity(file.path.len() + 1);
    if !info.is_single_file() {
        comps.push(info.name());
    }
    comps.extend(file.path.iter().map(String::as_str));
    comps
}

//! Where an upload's bytes are on disk, so a socket can send them straight from the page
//! cache (`sendfile(2)`) instead of reading them into memory first:
//! [`Storage::send_sources`] maps a range of a piece to [`SendSource`]s, one per file it
//! crosses (padding files are zeros, sent from memory).

use std::fs::File;
use std::io;
use std::sync::Arc;

use crate::error::StorageError;
use crate::storage::Storage;

/// A byte range of one open file.
#[derive(Debug, Clone)]
pub struct FileRange {
    /// The open file (kept open while the range is queued, even if the torrent's cache of
    /// open files closes it meanwhile).
    pub file: Arc<File>,
    /// Offset in the file.
    pub offset: u64,
    /// Length in bytes.
    pub len: usize,
}

impl FileRange {
    /// Drops the first `n` bytes (already sent).
    pub fn advance(&mut self, n: usize) {
        let n = n.min(self.len);
        self.offset += n as u64;
        self.len -= n;
    }
}

/// One stretch of an upload: a file's bytes, or zeros (a BEP 47 padding file).
#[derive(Debug, Clone)]
pub enum SendSource {
    /// Bytes of a file on disk.
    File(FileRange),
    /// This many zero bytes.
    Zeros(usize),
}

impl SendSource {
    /// Its length in bytes.
    pub fn len(&self) -> usize {
        match self {
            SendSource::File(r) => r.len,
            SendSource::Zeros(n) => *n,
        }
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Storage {
    /// Where the `len` bytes of `piece` starting at `offset` are: one source per file the
    /// range crosses, in order. Blocks: opens files, checks that each is long enough (a
    /// short file is an [`StorageError::Io`] of kind `UnexpectedEof`, as [`Storage::read`]
    /// reports it), and asks the kernel to bring the ranges into the page cache
    /// (`readahead(2)`), so whoever sends them later rarely waits for the disk.
    pub fn send_sources(
        &self,
        piece: u32,
        offset: u32,
        len: usize,
    ) -> Result<Vec<SendSource>, StorageError> {
        let start = self.range_start(piece, offset, len)?;
        let mut out = Vec::with_capacity(1);
        for slice in self.layout().slices(start..start + len as u64) {
            let n = slice.length as usize;
            if self.files()[slice.file_index].padding {
                out.push(SendSource::Zeros(n));
                continue;
            }
            let file = self.cached_file(slice.file_index)?;
            let size = file
                .metadata()
                .map_err(|e| StorageError::io("stat", self.path_of(slice.file_index), e))?
                .len();
            if size < slice.offset + slice.length {
                return Err(StorageError::io(
                    "read",
                    self.path_of(slice.file_index),
                    io::Error::new(io::ErrorKind::UnexpectedEof, "file ended before the piece"),
                ));
            }
            readahead(&file, slice.offset, n);
            out.push(SendSource::File(FileRange {
                file,
                offset: slice.offset,
                len: n,
            }));
        }
        Ok(out)
    }
}

/// Splits `sources` (covering consecutive blocks) into the sources of each block, by the
/// blocks' lengths, without touching the files. A source crossing a block boundary is
/// cut in two. Lengths past the end of `sources` get what is left (none, if nothing).
pub fn split_sources(sources: Vec<SendSource>, lengths: &[usize]) -> Vec<Vec<SendSource>> {
    let mut out = Vec::with_capacity(lengths.len());
    let mut it = sources.into_iter();
    let mut pending: Option<SendSource> = None;
    for &want in lengths {
        let mut block = Vec::with_capacity(1);
        let mut left = want;
        while left > 0 {
            let Some(src) = pending.take().or_else(|| it.next()) else {
                break;
            };
            let n = src.len();
            if n <= left {
                left -= n;
                if n > 0 {
                    block.push(src);
                }
                continue;
            }
            // Cut: the first `left` bytes go to this block, the rest waits.
            let (head, tail) = match src {
                SendSource::Zeros(n) => (SendSource::Zeros(left), SendSource::Zeros(n - left)),
                SendSource::File(r) => {
                    let mut rest = r.clone();
                    rest.advance(left);
                    (
                        SendSource::File(FileRange {
                            file: r.file,
                            offset: r.offset,
                            len: left,
                        }),
                        SendSource::File(rest),
                    )
                }
            };
            block.push(head);
            pending = Some(tail);
            left = 0;
        }
        out.push(block);
    }
    out
}

/// Asks the kernel to read `len` bytes of `file` at `offset` into the page cache. Best
/// effort: errors are ignored (sending reports real ones).
#[cfg(target_os = "linux")]
fn readahead(file: &File, offset: u64, len: usize) {
    use std::os::fd::AsRawFd;
    let Ok(offset) = libc::off64_t::try_from(offset) else {
        return;
    };
    // SAFETY: a plain syscall on a valid descriptor; no memory is passed.
    unsafe {
        libc::readahead(file.as_raw_fd(), offset, len);
    }
}

#[cfg(not(target_os = "linux"))]
fn readahead(_file: &File, _offset: u64, _len: usize) {}

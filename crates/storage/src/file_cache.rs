//! [`FileCache`]: open file handles of one torrent, at most `limit` at a time.
//!
//! Positioned I/O (`pread`/`pwrite`) on a shared descriptor needs no lock, so the cache
//! hands out `Arc<File>` and the caller does its I/O after the cache's lock is released.
//! Beyond the limit the least recently used handle is dropped (closed once no I/O holds
//! it). Files written since the last [`FileCache::sync_all`] are remembered even when their
//! handle was closed, so a sync reopens and flushes them.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::StorageError;

/// Default limit on open files per torrent.
pub const DEFAULT_OPEN_FILE_LIMIT: usize = 256;

/// Whether files are opened for writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Download: read and write, files already created by `Storage::open`.
    ReadWrite,
    /// Seeding existing data: read only.
    ReadOnly,
}

struct Slot {
    file: Arc<File>,
    last_used: u64,
}

#[derive(Default)]
struct CacheState {
    open: HashMap<usize, Slot>,
    dirty: HashSet<usize>,
    tick: u64,
}

/// Open handles of a torrent's files, keyed by file index.
pub(crate) struct FileCache {
    /// Path of each file by index; `None` for padding files, which have no handle.
    paths: Vec<Option<PathBuf>>,
    access: Access,
    limit: usize,
    state: Mutex<CacheState>,
}

impl FileCache {
    pub(crate) fn new(paths: Vec<Option<PathBuf>>, access: Access, limit: usize) -> Self {
        FileCache {
            paths,
            access,
            limit: limit.max(1),
            state: Mutex::new(CacheState::default()),
        }
    }

    pub(crate) fn access(&self) -> Access {
        self.access
    }

    /// Path of file `index` (`None` for padding files or a bad index).
    pub(crate) fn path(&self, index: usize) -> Option<&Path> {
        self.paths.get(index).and_then(|p| p.as_deref())
    }

    fn lock(&self) -> MutexGuard<'_, CacheState> {
        // A panic while holding this lock cannot leave the map inconsistent (each update
        // is a single insert or remove), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Put an already opened handle in the cache (used by `Storage::open`).
    pub(crate) fn insert(&self, index: usize, file: File) {
        let mut st = self.lock();
        self.insert_locked(&mut st, index, Arc::new(file));
    }

    fn insert_locked(&self, st: &mut CacheState, index: usize, file: Arc<File>) {
        st.tick += 1;
        let last_used = st.tick;
        if !st.open.contains_key(&index) && st.open.len() >= self.limit {
            // O(limit) scan, only on a miss with a full cache; cheap next to an open().
            if let Some(oldest) = st
                .open
                .iter()
                .min_by_key(|(_, s)| s.last_used)
                .map(|(i, _)| *i)
            {
                st.open.remove(&oldest);
            }
        }
        st.open.insert(index, Slot { file, last_used });
    }

    /// The handle of file `index`, opening it if needed. `for_write` marks it dirty.
    pub(crate) fn get(&self, index: usize, for_write: bool) -> Result<Arc<File>, StorageError> {
        let mut st = self.lock();
        st.tick += 1;
        let tick = st.tick;
        let file = match st.open.get_mut(&index) {
            Some(slot) => {
                slot.last_used = tick;
                Arc::clone(&slot.file)
            }
            None => {
                let path = self.path(index).ok_or_else(|| {
                    StorageError::io(
                        "open",
                        PathBuf::from(format!("<file #{index}>")),
                        io::Error::new(io::ErrorKind::InvalidInput, "no such file in the torrent"),
                    )
                })?;
                let file = Arc::new(open_file(path, self.access)?);
                self.insert_locked(&mut st, index, Arc::clone(&file));
                file
            }
        };
        if for_write {
            st.dirty.insert(index);
        }
        Ok(file)
    }

    /// fsync every file written since the last sync. All are tried; the first error is
    /// returned. A failed file is not retried by the next sync: Linux reports a writeback
    /// error to fsync once, so a retry would wrongly succeed.
    pub(crate) fn sync_all(&self) -> Result<(), StorageError> {
        let mut dirty: Vec<usize> = self.lock().dirty.drain().collect();
        dirty.sort_unstable();
        let mut first_error = None;
        for index in dirty {
            let result = self.get(index, false).and_then(|file| {
                file.sync_all().map_err(|e| {
                    StorageError::io("fsync", self.path(index).unwrap_or(Path::new("")), e)
                })
            });
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Number of handles currently open (for tests).
    #[cfg(test)]
    pub(crate) fn open_count(&self) -> usize {
        self.lock().open.len()
    }
}

/// Open an existing file of the torrent; a missing file is [`StorageError::MissingFile`].
pub(crate) fn open_file(path: &Path, access: Access) -> Result<File, StorageError> {
    let mut opts = OpenOptions::new();
    opts.read(true);
    if access == Access::ReadWrite {
        opts.write(true);
    }
    opts.open(path).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            StorageError::MissingFile {
                path: path.to_path_buf(),
            }
        } else {
            StorageError::io("open", path, e)
        }
    })
}

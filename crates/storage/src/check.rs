//! [`initial_check`]: which pieces are good when a torrent is added, from resume data when
//! it can be trusted, else by hashing what is on disk on every core.

use std::fs;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;

use crate::error::StorageError;
use crate::resume::ResumeData;
use crate::storage::Storage;

/// Decide which pieces are good at start: trust resume data whose info-hash matches and
/// whose file sizes and mtimes match the disk (see [`ResumeData::validate`]); otherwise
/// (or with `force`, the `--recheck` flag) hash what is on disk with one thread per core.
/// Pieces whose files are missing or short are not good and are not read.
/// `progress(done_pieces, total)` is called now and then, and once at the end.
///
/// Errors are real I/O failures (not a missing or short file). Callers that want to log
/// why resume data was not trusted call [`ResumeData::validate`] themselves.
pub fn initial_check(
    storage: &Storage,
    resume: Option<&ResumeData>,
    force: bool,
    progress: &(dyn Fn(u32, u32) + Sync),
) -> Result<Vec<bool>, StorageError> {
    let total = storage.piece_count();
    if !force {
        if let Some(r) = resume {
            if r.validate(storage).is_ok() {
                progress(total, total);
                return Ok(r.verified());
            }
        }
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    hash_all(storage, threads, progress)
}

/// Hash every readable piece with `threads` threads.
pub(crate) fn hash_all(
    storage: &Storage,
    threads: usize,
    progress: &(dyn Fn(u32, u32) + Sync),
) -> Result<Vec<bool>, StorageError> {
    let total = storage.piece_count();
    let readable = readable_pieces(storage);
    let good: Vec<AtomicBool> = (0..total).map(|_| AtomicBool::new(false)).collect();
    let next = AtomicU32::new(0);
    let done = AtomicU32::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<StorageError>> = Mutex::new(None);
    // About 100 progress calls per check, at least one every 64 pieces.
    let step = (total / 100).clamp(1, 64);

    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, total.max(1) as usize) {
            s.spawn(|| {
                let mut buf = Vec::new();
                while !failed.load(Ordering::Relaxed) {
                    let piece = next.fetch_add(1, Ordering::Relaxed);
                    if piece >= total {
                        break;
                    }
                    if readable[piece as usize] {
                        match storage.check_piece_with(piece, &mut buf) {
                            Ok(ok) => good[piece as usize].store(ok, Ordering::Relaxed),
                            Err(e) => {
                                failed.store(true, Ordering::Relaxed);
                                let mut slot =
                                    first_error.lock().unwrap_or_else(|p| p.into_inner());
                                slot.get_or_insert(e);
                                break;
                            }
                        }
                    }
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if n % step == 0 && n < total {
                        progress(n, total);
                    }
                }
            });
        }
    });

    if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    progress(total, total);
    Ok(good.into_iter().map(AtomicBool::into_inner).collect())
}

/// For each piece, whether every file it touches exists and is long enough to hold it.
fn readable_pieces(storage: &Storage) -> Vec<bool> {
    let layout = storage.layout();
    let piece_length = u64::from(layout.geometry().piece_length());
    let mut readable = vec![true; storage.piece_count() as usize];
    for (index, file) in storage.files().iter().enumerate() {
        let Some(path) = storage.file_path(index) else {
            continue; // padding: always readable (zeros)
        };
        let on_disk = match fs::metadata(path) {
            Ok(m) if m.is_file() => m.len(),
            _ => 0,
        };
        if on_disk >= file.length {
            continue;
        }
        let Some(range) = layout.file_range(index) else {
            continue;
        };
        // Bytes [range.start + on_disk, range.end) are missing: their pieces are not good.
        let first = (range.start + on_disk) / piece_length;
        let last = (range.end - 1) / piece_length;
        for p in first..=last {
            if let Some(r) = readable.get_mut(p as usize) {
                *r = false;
            }
        }
    }
    readable
}

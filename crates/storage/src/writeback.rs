//! Starting write-back of a piece as soon as it is written, so the data reaches the disk
//! while the download goes on instead of all at once in the `fsync` that resume data
//! needs at completion (for 1 GiB that final flush took about a third of a second here).

use std::fs::File;

/// Asks the kernel to start writing `len` bytes of `file` at `offset` to disk, without
/// waiting for it. Best effort: errors are ignored (the later `fsync` reports real ones).
#[cfg(target_os = "linux")]
pub(crate) fn start_writeback(file: &File, offset: u64, len: usize) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (
        libc::off64_t::try_from(offset),
        libc::off64_t::try_from(len),
    ) else {
        return;
    };
    // SAFETY: a plain syscall on a valid descriptor; no memory is passed.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

/// Elsewhere the final `fsync` does all the work.
#[cfg(not(target_os = "linux"))]
pub(crate) fn start_writeback(_file: &File, _offset: u64, _len: usize) {}

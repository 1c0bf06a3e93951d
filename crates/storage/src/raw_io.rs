//! What the positioned `libc` calls of [`crate::uninit_read`] and
//! [`crate::vectored_write`] share: the offset conversion and the retry on `EINTR`.

use std::io;

/// `offset` as the kernel's `off_t` (an error past `i64::MAX`).
pub(crate) fn file_offset(offset: u64) -> io::Result<libc::off_t> {
    libc::off_t::try_from(offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset out of range"))
}

/// Runs `call` (a syscall returning a byte count or -1) again while it is interrupted;
/// returns the count or the OS error.
pub(crate) fn retry_interrupted(mut call: impl FnMut() -> isize) -> io::Result<usize> {
    loop {
        let n = call();
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

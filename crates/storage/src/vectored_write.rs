//! Positioned vectored writes: a piece written straight from its blocks (one `pwritev`
//! per file slice), so they need not be copied into one buffer first.

use std::fs::File;
use std::io::{self, IoSlice};
use std::os::fd::AsRawFd;

use crate::raw_io::{file_offset, retry_interrupted};

/// Most buffers per `pwritev` call (Linux's `IOV_MAX`).
const MAX_IOV: usize = 1024;

/// Writes all of `parts`, one after the other, to `file` at `offset`.
pub(crate) fn write_all_vectored_at(
    file: &File,
    mut parts: &mut [&[u8]],
    mut offset: u64,
) -> io::Result<()> {
    loop {
        while parts.first().is_some_and(|p| p.is_empty()) {
            parts = &mut parts[1..];
        }
        if parts.is_empty() {
            return Ok(());
        }
        let iov: Vec<IoSlice<'_>> = parts
            .iter()
            .take(MAX_IOV)
            .map(|p| IoSlice::new(p))
            .collect();
        let pos = file_offset(offset)?;
        // SAFETY: `IoSlice` is ABI-compatible with `iovec` on Unix; the slices borrow
        // `parts`, which outlives the call; at most MAX_IOV (fits a c_int) entries.
        let n = retry_interrupted(|| unsafe {
            libc::pwritev(
                file.as_raw_fd(),
                iov.as_ptr().cast::<libc::iovec>(),
                iov.len() as libc::c_int,
                pos,
            )
        })?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        let mut left = n;
        offset += left as u64;
        while left > 0 {
            let first = &mut parts[0];
            if first.len() <= left {
                left -= first.len();
                parts = &mut parts[1..];
            } else {
                *first = &first[left..];
                left = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    #[test]
    fn writes_every_part_in_order_at_the_offset() {
        let f = tempfile::tempfile().unwrap();
        let a = vec![1u8; 5000];
        let b: Vec<u8> = Vec::new();
        let c: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
        // More parts than one call takes.
        let many: Vec<Vec<u8>> = (0..1500u32).map(|i| vec![i as u8; 3]).collect();
        let mut parts: Vec<&[u8]> = vec![&a, &b, &c];
        parts.extend(many.iter().map(Vec::as_slice));
        let expected: Vec<u8> = parts.concat();
        write_all_vectored_at(&f, &mut parts, 100).unwrap();
        let mut got = vec![0u8; expected.len()];
        f.read_exact_at(&mut got, 100).unwrap();
        assert_eq!(got, expected);
        assert_eq!(f.metadata().unwrap().len(), 100 + expected.len() as u64);
    }
}

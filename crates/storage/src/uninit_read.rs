//! Positioned reads into a `Vec`'s spare capacity, so upload buffers are not zero-filled
//! before the read overwrites them (that memset cost the seed about a tenth of its CPU).

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

use crate::raw_io::{file_offset, retry_interrupted};

/// Appends exactly `len` bytes read from `file` at `offset` to `buf`. A file that ends
/// first is an `UnexpectedEof` error; on any error `buf` keeps what it had plus whatever
/// was read.
pub(crate) fn read_exact_at_append(
    file: &File,
    buf: &mut Vec<u8>,
    len: usize,
    mut offset: u64,
) -> io::Result<()> {
    buf.reserve(len);
    let mut left = len;
    while left > 0 {
        let spare = buf.spare_capacity_mut();
        let want = left.min(spare.len());
        let pos = file_offset(offset)?;
        // SAFETY: `spare` is writable, unaliased memory of at least `want` bytes owned by
        // `buf`; pread writes at most `want` bytes into it and reports how many.
        let n = retry_interrupted(|| unsafe {
            libc::pread(file.as_raw_fd(), spare.as_mut_ptr().cast(), want, pos)
        })?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file ended before the piece",
            ));
        }
        // SAFETY: pread initialised the first `n` (<= `want` <= spare length) bytes.
        unsafe { buf.set_len(buf.len() + n) };
        left -= n;
        offset += n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn appends_exactly_and_reports_a_short_file() {
        let mut f = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        f.write_all(&data).unwrap();
        let mut buf = vec![7u8; 3];
        read_exact_at_append(&f, &mut buf, 50_000, 1234).unwrap();
        assert_eq!(buf.len(), 50_003);
        assert_eq!(&buf[..3], &[7, 7, 7]);
        assert_eq!(&buf[3..], &data[1234..51_234]);
        let mut buf = Vec::new();
        let e = read_exact_at_append(&f, &mut buf, 10, 99_995).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(buf, &data[99_995..]);
    }
}

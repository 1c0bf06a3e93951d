//! Zero-copy upload: a block's bytes go from the page cache to the socket with
//! `sendfile(2)`, never through a user-space buffer (a plain read and write copies every
//! byte twice; that was most of a seed's CPU). Used for plaintext connections only (RC4
//! must see the bytes).
//!
//! The socket is tokio's (non-blocking): a send that finds the socket buffer full gets
//! `EAGAIN`, and the caller waits for writability through tokio before trying again, so
//! partial sends are normal and resume where they stopped. The file side reads from the
//! page cache; the disk job that queued the range already asked the kernel to read it
//! ahead (`Storage::send_sources`).
//!
//! While a batch of blocks goes out, the socket is corked (`TCP_CORK`): each block is a
//! 13-byte header write and a `sendfile`, and corking lets the kernel pack them into full
//! segments instead of pushing every small header on its own (the connection runs with
//! `TCP_NODELAY`). The writer uncorks once its queue is empty, which sends the tail.

use std::io;
use std::os::fd::AsRawFd;

use bitswarm_storage::FileRange;
use tokio::io::Interest;
use tokio::net::TcpStream;

/// Sends as much of `range` as the socket takes now, waiting for writability first if
/// it takes nothing. Returns the bytes sent (at least 1). A file that ends before the
/// range does (it shrank after the range was queued) is an `UnexpectedEof` error: the
/// peer already has part of the message, so the connection cannot go on.
pub(crate) async fn send_range(sock: &TcpStream, range: &FileRange) -> io::Result<usize> {
    loop {
        sock.writable().await?;
        match sock.try_io(Interest::WRITABLE, || sendfile_once(sock, range)) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

/// One `sendfile` call; `WouldBlock` when the socket buffer is full.
fn sendfile_once(sock: &TcpStream, range: &FileRange) -> io::Result<usize> {
    if range.len == 0 {
        return Ok(0);
    }
    let mut offset = libc::off_t::try_from(range.offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file offset out of range"))?;
    loop {
        // SAFETY: both descriptors are open for the call (the socket is borrowed, the
        // file is held by `range`); `offset` is a valid, exclusively borrowed off_t.
        let n = unsafe {
            libc::sendfile(
                sock.as_raw_fd(),
                range.file.as_raw_fd(),
                &mut offset,
                range.len,
            )
        };
        if n > 0 {
            return Ok(n as usize);
        }
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file ended before the block (shortened while seeding?)",
            ));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Sets or clears `TCP_CORK` (best effort: a failure only costs smaller segments).
pub(crate) fn set_cork(sock: &TcpStream, on: bool) {
    let _ = socket2::SockRef::from(sock).set_tcp_cork(on);
}

//! Receive buffers that go back to a pool instead of to the allocator.
//!
//! A socket read lands in a large buffer whose blocks the driver keeps (without copying)
//! until their piece is hashed and written on the hash pool. Freed to the allocator, such
//! buffers came back as fresh memory: at 1 GB/s the leecher spent 10-14% of its CPU in
//! page faults on first touch of new receive buffers. Here the buffer's memory returns to
//! the pool when the last [`Bytes`] sharing it is dropped (never earlier: the pool only
//! gets it from the owner's `Drop`), and the next read reuses it, still mapped and often
//! still in cache. The pool keeps at most `max_free` idle buffers; more are freed.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use bytes::Bytes;

/// Bytes per receive buffer (and so the most one socket read takes).
pub const RECV_BUF_LEN: usize = 256 * 1024;
/// Idle buffers the process-wide pool keeps (32 MiB): about what a download at full
/// speed has in flight (`max_unhashed_pieces` in `torrent_peer.rs`, plus pieces in
/// assembly).
const GLOBAL_MAX_FREE: usize = 128;

/// A pool of equally sized receive buffers.
#[derive(Debug)]
pub struct RecvPool {
    free: Mutex<Vec<Box<[u8]>>>,
    buf_len: usize,
    max_free: usize,
}

impl RecvPool {
    /// A pool of `buf_len`-byte buffers keeping at most `max_free` idle ones.
    pub fn new(buf_len: usize, max_free: usize) -> Arc<RecvPool> {
        Arc::new(RecvPool {
            free: Mutex::new(Vec::new()),
            buf_len,
            max_free,
        })
    }

    /// The process-wide pool of [`RECV_BUF_LEN`] buffers every connection reads into.
    pub fn global() -> &'static Arc<RecvPool> {
        static POOL: OnceLock<Arc<RecvPool>> = OnceLock::new();
        POOL.get_or_init(|| RecvPool::new(RECV_BUF_LEN, GLOBAL_MAX_FREE))
    }

    /// A buffer no [`Bytes`] refers to: an idle one, or a new one.
    pub fn take(&self) -> Box<[u8]> {
        let reused = self
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        reused.unwrap_or_else(|| vec![0u8; self.buf_len].into_boxed_slice())
    }

    /// The first `len` bytes of `buf` as shared [`Bytes`]; the buffer comes back to the
    /// pool when the last of them (and of their slices) is dropped.
    pub fn freeze(self: &Arc<Self>, buf: Box<[u8]>, len: usize) -> Bytes {
        let len = len.min(buf.len());
        Bytes::from_owner(Pooled {
            buf,
            len,
            pool: self.clone(),
        })
    }

    /// Idle buffers in the pool.
    pub fn idle(&self) -> usize {
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Returns a buffer taken with [`RecvPool::take`] and never frozen (kept if the pool
    /// has room and it is of the pool's size).
    pub fn put(&self, buf: Box<[u8]>) {
        if buf.len() != self.buf_len {
            return;
        }
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        if free.len() < self.max_free {
            free.push(buf);
        }
    }
}

/// The owner behind a frozen buffer's [`Bytes`].
struct Pooled {
    buf: Box<[u8]>,
    len: usize,
    pool: Arc<RecvPool>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        self.pool.put(std::mem::take(&mut self.buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_returns_only_when_its_last_slice_is_dropped() {
        let pool = RecvPool::new(64, 4);
        let mut buf = pool.take();
        buf[..5].copy_from_slice(b"hello");
        let addr = buf.as_ptr() as usize;
        let whole = pool.freeze(buf, 5);
        assert_eq!(&whole[..], b"hello");
        let part = whole.slice(1..3);
        drop(whole);
        assert_eq!(pool.idle(), 0, "a slice still refers to it");
        // Meanwhile a take gets another buffer, never the one still referred to.
        let other = pool.take();
        assert_ne!(other.as_ptr() as usize, addr);
        assert_eq!(&part[..], b"el");
        drop(part);
        assert_eq!(pool.idle(), 1);
        let again = pool.take();
        assert_eq!(again.as_ptr() as usize, addr, "reused, not reallocated");
        assert_eq!(pool.idle(), 0);
    }

    #[test]
    fn the_pool_keeps_at_most_max_free_buffers() {
        let pool = RecvPool::new(16, 2);
        let frozen: Vec<Bytes> = (0..5).map(|_| pool.freeze(pool.take(), 16)).collect();
        drop(frozen);
        assert_eq!(pool.idle(), 2);
        // A buffer of another size is not taken in.
        let _taken = pool.take();
        drop(pool.freeze(vec![0u8; 8].into_boxed_slice(), 8));
        assert_eq!(pool.idle(), 1);
    }
}

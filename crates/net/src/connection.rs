//! One peer connection's socket task: dials (or takes an accepted stream), reads into a
//! large `BytesMut` and forwards the bytes to the torrent driver, and writes what the
//! driver queues with vectored writes. It keeps no protocol state: the `PeerSession` in
//! the driver owns that.
//!
//! Backpressure: reads wait on a bounded channel to the driver (a fast peer cannot
//! flood memory); the write queue is unbounded as a channel but the driver only queues
//! blocks while [`ConnHandle::backlog`] is under its limit, and the writer tells the
//! driver when the backlog drains below it.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bitswarm_engine::PeerKey;
use bitswarm_mse::Rc4Stream;
use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

use crate::encryption::{Encryption, PeerStream};
use crate::rate_limit::RateLimiter;

/// Bytes read from a socket per read call (at most).
const READ_CHUNK: usize = 64 * 1024;
/// Reads smaller than this are copied out of the read buffer.
const SMALL_READ: usize = 16 * 1024;
/// Upload bytes queued (or being read from disk) per peer before we stop serving it.
pub const UPLOAD_BACKLOG_LIMIT: usize = 2 * 1024 * 1024;
/// How long a dial may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a connection task reports to its torrent driver.
#[derive(Debug)]
pub enum ConnEvent {
    /// Bytes arrived.
    Data(PeerKey, Bytes),
    /// The outgoing connection is established.
    Connected(PeerKey),
    /// The write backlog dropped below [`UPLOAD_BACKLOG_LIMIT`].
    Drained(PeerKey),
    /// The connection is over (EOF, error, or the driver dropped its handle).
    Closed(PeerKey, Option<String>),
}

/// The driver's side of a connection task.
#[derive(Debug)]
pub struct ConnHandle {
    tx: mpsc::UnboundedSender<Vec<Bytes>>,
    backlog: Arc<AtomicUsize>,
    task: tokio::task::AbortHandle,
}

impl ConnHandle {
    /// Queues buffers to write, in order.
    pub fn send(&self, bufs: Vec<Bytes>) {
        if bufs.is_empty() {
            return;
        }
        let len: usize = bufs.iter().map(Bytes::len).sum();
        self.backlog.fetch_add(len, Ordering::Relaxed);
        let _ = self.tx.send(bufs);
    }

    /// Bytes queued and not yet written.
    pub fn backlog(&self) -> usize {
        self.backlog.load(Ordering::Relaxed)
    }

    /// Stops the task at once (the driver already decided to drop the peer).
    pub fn abort(&self) {
        self.task.abort();
    }
}

/// Where the socket comes from.
#[derive(Debug)]
pub enum Socket {
    /// Dial this address for this torrent, encrypted or not as `encryption` says.
    Dial {
        /// The peer.
        addr: SocketAddr,
        /// The torrent (the MSE handshake names it).
        info_hash: [u8; 20],
        /// The session's encryption settings.
        encryption: Arc<Encryption>,
    },
    /// An accepted stream, after its handshake.
    Accepted(PeerStream),
}

/// Shared limits of a session.
#[derive(Debug, Clone)]
pub struct Limiters {
    /// Download token bucket.
    pub download: Arc<RateLimiter>,
    /// Upload token bucket.
    pub upload: Arc<RateLimiter>,
}

/// Starts the socket task of peer `key`.
pub fn spawn_connection(
    key: PeerKey,
    socket: Socket,
    events: mpsc::Sender<ConnEvent>,
    limiters: Limiters,
) -> ConnHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    let backlog = Arc::new(AtomicUsize::new(0));
    let b = backlog.clone();
    let task = tokio::spawn(async move {
        let reason = run(key, socket, rx, &events, limiters, b).await;
        let _ = events.send(ConnEvent::Closed(key, reason)).await;
    });
    ConnHandle {
        tx,
        backlog,
        task: task.abort_handle(),
    }
}

async fn run(
    key: PeerKey,
    socket: Socket,
    rx: mpsc::UnboundedReceiver<Vec<Bytes>>,
    events: &mpsc::Sender<ConnEvent>,
    limiters: Limiters,
    backlog: Arc<AtomicUsize>,
) -> Option<String> {
    let peer = match socket {
        Socket::Accepted(s) => s,
        Socket::Dial {
            addr,
            info_hash,
            encryption,
        } => {
            let d = match crate::encryption::dial(addr, info_hash, &encryption, CONNECT_TIMEOUT)
                .await
            {
                Ok(d) => d,
                Err(e) => return Some(e),
            };
            if events.send(ConnEvent::Connected(key)).await.is_err() {
                return None;
            }
            if !d.received.is_empty()
                && events
                    .send(ConnEvent::Data(key, d.received.into()))
                    .await
                    .is_err()
            {
                return None;
            }
            d.peer
        }
    };
    let _ = peer.stream.set_nodelay(true);
    let (r, w) = peer.stream.into_split();
    let (dec, enc) = match peer.cipher {
        Some(c) => {
            let c = *c;
            (Some(c.decrypt), Some(c.encrypt))
        }
        None => (None, None),
    };
    tokio::select! {
        res = read_loop(key, r, dec, events, &limiters.download) => res,
        res = write_loop(key, w, enc, rx, events, &limiters.upload, &backlog) => res,
    }
}

async fn read_loop(
    key: PeerKey,
    mut r: OwnedReadHalf,
    mut decrypt: Option<Rc4Stream>,
    events: &mpsc::Sender<ConnEvent>,
    limiter: &RateLimiter,
) -> Option<String> {
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    loop {
        let start = buf.len();
        let n = match r.read_buf(&mut buf).await {
            Ok(0) => return Some("connection closed by peer".into()),
            Ok(n) => n,
            Err(e) => return Some(format!("read: {e}")),
        };
        if let Some(d) = decrypt.as_mut() {
            d.apply(&mut buf[start..]);
        }
        limiter.acquire(n).await;
        // A large read is handed over whole, as the only owner of its buffer, so the
        // session decodes it in place; a small one is copied out and the buffer reused.
        let chunk = if n >= SMALL_READ {
            std::mem::replace(&mut buf, BytesMut::with_capacity(READ_CHUNK)).freeze()
        } else {
            let c = Bytes::copy_from_slice(&buf);
            buf.clear();
            c
        };
        if events.send(ConnEvent::Data(key, chunk)).await.is_err() {
            return None;
        }
    }
}

async fn write_loop(
    key: PeerKey,
    mut w: OwnedWriteHalf,
    mut encrypt: Option<Rc4Stream>,
    mut rx: mpsc::UnboundedReceiver<Vec<Bytes>>,
    events: &mpsc::Sender<ConnEvent>,
    limiter: &RateLimiter,
    backlog: &AtomicUsize,
) -> Option<String> {
    let mut queue: VecDeque<Bytes> = VecDeque::new();
    loop {
        if queue.is_empty() {
            match rx.recv().await {
                Some(bufs) => queue_bufs(&mut queue, bufs, encrypt.as_mut()),
                None => {
                    // The driver dropped us: everything it queued is written.
                    let _ = w.shutdown().await;
                    return None;
                }
            }
        }
        while let Ok(bufs) = rx.try_recv() {
            queue_bufs(&mut queue, bufs, encrypt.as_mut());
            if queue.len() > 256 {
                break;
            }
        }
        let written = match write_some(&mut w, &mut queue).await {
            Ok(n) => n,
            Err(e) => return Some(format!("write: {e}")),
        };
        limiter.acquire(written).await;
        let before = backlog.fetch_sub(written, Ordering::Relaxed);
        if before >= UPLOAD_BACKLOG_LIMIT && before - written < UPLOAD_BACKLOG_LIMIT {
            let _ = events.try_send(ConnEvent::Drained(key));
        }
    }
}

/// Queues `bufs` for writing; with a cipher, encrypted into one new buffer (the
/// driver's buffers may be shared, so they are not changed in place).
fn queue_bufs(queue: &mut VecDeque<Bytes>, bufs: Vec<Bytes>, encrypt: Option<&mut Rc4Stream>) {
    let Some(enc) = encrypt else {
        queue.extend(bufs);
        return;
    };
    let total: usize = bufs.iter().map(Bytes::len).sum();
    let mut out = vec![0u8; total];
    let mut at = 0;
    for b in &bufs {
        enc.apply_to(b, &mut out[at..at + b.len()]);
        at += b.len();
    }
    queue.push_back(Bytes::from(out));
}

/// One vectored write of up to 64 buffers; consumes what was written.
async fn write_some(w: &mut OwnedWriteHalf, queue: &mut VecDeque<Bytes>) -> std::io::Result<usize> {
    let n = {
        let slices: Vec<IoSlice<'_>> = queue.iter().take(64).map(|b| IoSlice::new(b)).collect();
        w.write_vectored(&slices).await?
    };
    if n == 0 {
        return Err(std::io::ErrorKind::WriteZero.into());
    }
    let mut left = n;
    while left > 0 {
        let Some(front) = queue.front_mut() else {
            break;
        };
        if front.len() <= left {
            left -= front.len();
            queue.pop_front();
        } else {
            front.advance(left);
            left = 0;
        }
    }
    Ok(n)
}

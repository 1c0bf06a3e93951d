//! One peer connection's socket task: dials (or takes an accepted stream), reads into a
//! large `BytesMut` and forwards the bytes to the torrent driver, and writes what the
//! driver queues with vectored writes. It keeps no protocol state: the `PeerSession` in
//! the driver owns that.
//!
//! Backpressure: reads wait on a bounded channel to the driver (a fast peer cannot
//! flood memory); the write queue is unbounded as a channel but the driver only queues
//! blocks while [`ConnHandle::backlog`] is under its limit, and the writer tells the
//! driver when the backlog drains below it.
//!
//! Upload accounting: block payload queued with [`ConnHandle::send_payload`] is counted
//! in [`ConnHandle::take_uploaded`] only once the socket write of the whole buffer has
//! completed; what is still queued when the task is aborted or the socket fails is
//! never counted.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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
/// Reads smaller than this are copied out of the read buffer. Larger ones are handed
/// over with the buffer, whose memory the blocks in it keep until their piece is hashed
/// and written: at most twice the bytes read.
const SMALL_READ: usize = READ_CHUNK / 2;
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

/// A buffer to write, and how many block payload bytes it carries (counted as uploaded
/// once the buffer is written whole).
#[derive(Debug, Clone)]
pub struct OutBuf {
    /// The bytes.
    pub data: Bytes,
    /// Block payload in `data` (0: protocol bytes only).
    pub payload: u32,
}

impl OutBuf {
    /// Protocol bytes (not counted as uploaded payload).
    pub fn protocol(data: Bytes) -> OutBuf {
        OutBuf { data, payload: 0 }
    }

    /// A block's payload, all of `data`.
    pub fn payload(data: Bytes) -> OutBuf {
        let payload = data.len() as u32;
        OutBuf { data, payload }
    }
}

/// The driver's side of a connection task.
#[derive(Debug)]
pub struct ConnHandle {
    tx: mpsc::UnboundedSender<Vec<OutBuf>>,
    backlog: Arc<AtomicUsize>,
    uploaded: Arc<AtomicU64>,
    task: tokio::task::AbortHandle,
}

impl ConnHandle {
    /// Queues buffers to write, in order (protocol bytes: not counted as uploaded).
    pub fn send(&self, bufs: Vec<Bytes>) {
        self.send_payload(bufs.into_iter().map(OutBuf::protocol).collect());
    }

    /// Queues buffers to write, in order; their payload is counted in
    /// [`ConnHandle::take_uploaded`] once written.
    pub fn send_payload(&self, bufs: Vec<OutBuf>) {
        if bufs.is_empty() {
            return;
        }
        let len: usize = bufs.iter().map(|b| b.data.len()).sum();
        self.backlog.fetch_add(len, Ordering::Relaxed);
        let _ = self.tx.send(bufs);
    }

    /// Payload bytes written since the last call.
    pub fn take_uploaded(&self) -> u64 {
        self.uploaded.swap(0, Ordering::AcqRel)
    }

    /// The counter behind [`ConnHandle::take_uploaded`], for payload written after the
    /// handle is dropped (the task writes what was queued, then closes).
    pub fn uploaded_counter(&self) -> Arc<AtomicU64> {
        self.uploaded.clone()
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
    let uploaded = Arc::new(AtomicU64::new(0));
    let counters = Counters {
        backlog: backlog.clone(),
        uploaded: uploaded.clone(),
    };
    let task = tokio::spawn(async move {
        let reason = run(key, socket, rx, &events, limiters, counters).await;
        let _ = events.send(ConnEvent::Closed(key, reason)).await;
    });
    ConnHandle {
        tx,
        backlog,
        uploaded,
        task: task.abort_handle(),
    }
}

/// What the writer shares with the [`ConnHandle`].
struct Counters {
    /// Bytes queued, not yet written.
    backlog: Arc<AtomicUsize>,
    /// Payload bytes written, not yet taken by the driver.
    uploaded: Arc<AtomicU64>,
}

async fn run(
    key: PeerKey,
    socket: Socket,
    rx: mpsc::UnboundedReceiver<Vec<OutBuf>>,
    events: &mpsc::Sender<ConnEvent>,
    limiters: Limiters,
    counters: Counters,
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
        res = write_loop(key, w, enc, rx, events, &limiters.upload, &counters) => res,
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
    mut rx: mpsc::UnboundedReceiver<Vec<OutBuf>>,
    events: &mpsc::Sender<ConnEvent>,
    limiter: &RateLimiter,
    counters: &Counters,
) -> Option<String> {
    let mut queue: VecDeque<OutBuf> = VecDeque::new();
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
        let (written, payload) = match write_some(&mut w, &mut queue).await {
            Ok(n) => n,
            Err(e) => return Some(format!("write: {e}")),
        };
        if payload > 0 {
            counters.uploaded.fetch_add(payload, Ordering::AcqRel);
        }
        limiter.acquire(written).await;
        let before = counters.backlog.fetch_sub(written, Ordering::Relaxed);
        if before >= UPLOAD_BACKLOG_LIMIT && before - written < UPLOAD_BACKLOG_LIMIT {
            let _ = events.try_send(ConnEvent::Drained(key));
        }
    }
}

/// Queues `bufs` for writing; with a cipher, encrypted into one new allocation (the
/// driver's buffers may be shared, so they are not changed in place), split again into
/// one buffer per original so each keeps its payload count.
fn queue_bufs(queue: &mut VecDeque<OutBuf>, bufs: Vec<OutBuf>, encrypt: Option<&mut Rc4Stream>) {
    let Some(enc) = encrypt else {
        queue.extend(bufs);
        return;
    };
    let total: usize = bufs.iter().map(|b| b.data.len()).sum();
    let mut out = vec![0u8; total];
    let mut at = 0;
    for b in &bufs {
        enc.apply_to(&b.data, &mut out[at..at + b.data.len()]);
        at += b.data.len();
    }
    let mut out = Bytes::from(out);
    for b in bufs {
        let data = out.split_to(b.data.len());
        queue.push_back(OutBuf {
            data,
            payload: b.payload,
        });
    }
}

/// One vectored write of up to 64 buffers; consumes what was written. Returns the bytes
/// written and the payload of the buffers it finished.
async fn write_some(
    w: &mut OwnedWriteHalf,
    queue: &mut VecDeque<OutBuf>,
) -> std::io::Result<(usize, u64)> {
    let n = {
        let slices: Vec<IoSlice<'_>> = queue
            .iter()
            .take(64)
            .map(|b| IoSlice::new(&b.data))
            .collect();
        w.write_vectored(&slices).await?
    };
    if n == 0 {
        return Err(std::io::ErrorKind::WriteZero.into());
    }
    let mut left = n;
    let mut payload = 0u64;
    while left > 0 {
        let Some(front) = queue.front_mut() else {
            break;
        };
        if front.data.len() <= left {
            left -= front.data.len();
            payload += u64::from(front.payload);
            queue.pop_front();
        } else {
            front.data.advance(left);
            left = 0;
        }
    }
    Ok((n, payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitswarm_mse::Rc4Pair;
    use tokio::net::{TcpListener, TcpStream};

    async fn pair(cipher: bool) -> (ConnHandle, TcpStream, mpsc::Receiver<ConnEvent>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let far = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (near, _) = l.accept().await.unwrap();
        let cipher = cipher.then(|| {
            Box::new(Rc4Pair {
                encrypt: Rc4Stream::new(&[1; 20]),
                decrypt: Rc4Stream::new(&[2; 20]),
            })
        });
        let (tx, rx) = mpsc::channel(64);
        let limiters = Limiters {
            download: RateLimiter::new(None),
            upload: RateLimiter::new(None),
        };
        let socket = Socket::Accepted(PeerStream {
            stream: near,
            cipher,
        });
        (spawn_connection(PeerKey(1), socket, tx, limiters), far, rx)
    }

    /// `n` blocks of 16 KiB, each a 13-byte header and its payload.
    fn blocks(n: usize) -> Vec<OutBuf> {
        (0..n)
            .flat_map(|i| {
                [
                    OutBuf::protocol(Bytes::from(vec![i as u8; 13])),
                    OutBuf::payload(Bytes::from(vec![i as u8; 16 * 1024])),
                ]
            })
            .collect()
    }

    #[tokio::test]
    async fn payload_is_counted_once_written_whole_and_encrypted_alike() {
        for cipher in [false, true] {
            let (h, mut far, _rx) = pair(cipher).await;
            h.send(vec![Bytes::from_static(b"protocol only")]);
            h.send_payload(blocks(40));
            let total = 13 + 40 * (13 + 16 * 1024);
            let mut got = vec![0u8; total];
            far.read_exact(&mut got).await.unwrap();
            // Everything arrived, so everything was written: exactly the payload.
            let mut up = 0;
            for _ in 0..100 {
                up += h.take_uploaded();
                if up == 40 * 16 * 1024 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert_eq!(up, 40 * 16 * 1024, "cipher {cipher}");
            assert_eq!(h.take_uploaded(), 0);
            if !cipher {
                assert_eq!(&got[..13], b"protocol only");
                assert_eq!(&got[13..26], &[0u8; 13]);
            }
        }
    }

    #[tokio::test]
    async fn payload_not_written_when_the_task_is_aborted_is_not_counted() {
        // The peer reads nothing: the socket buffers fill and most blocks stay queued.
        let (h, far, mut rx) = pair(false).await;
        let n = 2048; // 32 MiB: more than loopback socket buffers hold.
        h.send_payload(blocks(n));
        tokio::time::sleep(Duration::from_millis(300)).await;
        let counter = h.uploaded_counter();
        h.abort();
        while let Some(ev) = rx.recv().await {
            if matches!(ev, ConnEvent::Closed(..)) {
                break;
            }
        }
        drop(far);
        let up = counter.load(Ordering::Acquire);
        assert!(
            up < (n * 16 * 1024) as u64 / 2,
            "counted {up} of queued blocks"
        );
        assert_eq!(up % (16 * 1024), 0, "only whole blocks are counted: {up}");
    }
}

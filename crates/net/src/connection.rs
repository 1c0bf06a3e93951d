//! One peer connection's socket task: dials (or takes an accepted stream), reads into
//! pooled receive buffers and forwards whole messages to the torrent driver, and writes what the
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
//!
//! Zero-copy: on a plaintext connection the driver may queue a block's bytes as a file
//! range ([`OutData::File`]) instead of a buffer; the writer sends it with `sendfile(2)`
//! (`send_file.rs`). [`ConnHandle::plaintext`] tells the driver when that is allowed.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bitswarm_engine::PeerKey;
use bitswarm_mse::Rc4Stream;
use bitswarm_storage::FileRange;
use bytes::{Buf, Bytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

use crate::encryption::{Encryption, PeerStream};
use crate::frames::FrameScan;
use crate::rate_limit::RateLimiter;
use crate::recv_pool::{RecvPool, RECV_BUF_LEN};

/// Whole messages shorter than this are copied out of the receive buffer, which is kept
/// for the next read. Longer runs are handed over with the buffer, whose memory the
/// blocks in it keep until their piece is hashed and written: at most twice the bytes
/// handed over.
const SMALL_READ: usize = RECV_BUF_LEN / 2;
/// A connection reads into a small buffer of its own until one read fills it (the peer
/// sends fast): then into pooled [`RECV_BUF_LEN`] buffers, until [`SLOW_RUNS`] runs in a
/// row shorter than this are copied out of one (slow again). Thousands of slow
/// connections (the swarm runner) so keep 32 KiB each, not 256 KiB.
const SMALL_BUF: usize = 32 * 1024;
/// Short runs in a row that move a connection back to a small buffer (a fast one has a
/// short read now and then; moving back and forth would cost copies and page faults).
const SLOW_RUNS: u32 = 16;
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

/// What to write: bytes in memory, or a range of a file sent with `sendfile(2)`
/// (plaintext connections only).
#[derive(Debug, Clone)]
pub enum OutData {
    /// Bytes in memory.
    Bytes(Bytes),
    /// Bytes of a file, sent from the page cache.
    File(FileRange),
}

impl OutData {
    /// Bytes left to write.
    pub fn len(&self) -> usize {
        match self {
            OutData::Bytes(b) => b.len(),
            OutData::File(r) => r.len,
        }
    }

    /// Whether nothing is left to write.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn advance(&mut self, n: usize) {
        match self {
            OutData::Bytes(b) => b.advance(n),
            OutData::File(r) => r.advance(n),
        }
    }
}

/// A buffer to write, and how many block payload bytes it carries (counted as uploaded
/// once the buffer is written whole).
#[derive(Debug, Clone)]
pub struct OutBuf {
    /// The bytes.
    pub data: OutData,
    /// Block payload in `data` (0: protocol bytes only).
    pub payload: u32,
}

impl OutBuf {
    /// Protocol bytes (not counted as uploaded payload).
    pub fn protocol(data: Bytes) -> OutBuf {
        OutBuf {
            data: OutData::Bytes(data),
            payload: 0,
        }
    }

    /// A block's payload, all of `data`.
    pub fn payload(data: Bytes) -> OutBuf {
        let payload = data.len() as u32;
        OutBuf {
            data: OutData::Bytes(data),
            payload,
        }
    }

    /// A block's payload (or part of it) in a file, sent with `sendfile(2)`: only for a
    /// connection whose [`ConnHandle::plaintext`] is true.
    pub fn file(range: FileRange) -> OutBuf {
        let payload = range.len as u32;
        OutBuf {
            data: OutData::File(range),
            payload,
        }
    }
}

/// The driver's side of a connection task.
#[derive(Debug)]
pub struct ConnHandle {
    tx: mpsc::UnboundedSender<Vec<OutBuf>>,
    backlog: Arc<AtomicUsize>,
    uploaded: Arc<AtomicU64>,
    plaintext: Arc<AtomicBool>,
    sent_from_file: Arc<AtomicU64>,
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

    /// Bytes sent straight from files (`sendfile`) since the last call.
    pub fn take_sent_from_file(&self) -> u64 {
        self.sent_from_file.swap(0, Ordering::AcqRel)
    }

    /// Whether the connection is established without encryption (the payload is not
    /// RC4-encrypted), so file ranges ([`OutBuf::file`]) may be queued. False until a
    /// dialled connection's handshake is done, which is before the peer can send a
    /// request.
    pub fn plaintext(&self) -> bool {
        self.plaintext.load(Ordering::Acquire)
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
    /// An accepted stream, and the (plaintext) bytes read from it so far: the peer's
    /// handshake and whatever followed it.
    Accepted(PeerStream, Bytes),
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
    let plain = matches!(&socket, Socket::Accepted(s, _) if s.cipher.is_none());
    let plaintext = Arc::new(AtomicBool::new(plain));
    let sent_from_file = Arc::new(AtomicU64::new(0));
    let counters = Counters {
        backlog: backlog.clone(),
        uploaded: uploaded.clone(),
        plaintext: plaintext.clone(),
        sent_from_file: sent_from_file.clone(),
    };
    let task = tokio::spawn(async move {
        let reason = run(key, socket, rx, &events, limiters, counters).await;
        let _ = events.send(ConnEvent::Closed(key, reason)).await;
    });
    ConnHandle {
        tx,
        backlog,
        uploaded,
        plaintext,
        sent_from_file,
        task: task.abort_handle(),
    }
}

/// What the writer shares with the [`ConnHandle`].
struct Counters {
    /// Bytes queued, not yet written.
    backlog: Arc<AtomicUsize>,
    /// Payload bytes written, not yet taken by the driver.
    uploaded: Arc<AtomicU64>,
    /// Whether the payload goes unencrypted (set once the stream is established).
    plaintext: Arc<AtomicBool>,
    /// Bytes sent with `sendfile`, not yet taken by the driver.
    sent_from_file: Arc<AtomicU64>,
}

async fn run(
    key: PeerKey,
    socket: Socket,
    rx: mpsc::UnboundedReceiver<Vec<OutBuf>>,
    events: &mpsc::Sender<ConnEvent>,
    limiters: Limiters,
    counters: Counters,
) -> Option<String> {
    let (peer, received) = match socket {
        Socket::Accepted(s, received) => (s, received.to_vec()),
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
            // Before the driver hears of the connection, so before any request.
            counters
                .plaintext
                .store(d.peer.cipher.is_none(), Ordering::Release);
            if events.send(ConnEvent::Connected(key)).await.is_err() {
                return None;
            }
            (d.peer, d.received)
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
        res = read_loop(key, r, dec, received, events, &limiters.download) => res,
        res = write_loop(key, w, enc, rx, events, &limiters.upload, &counters) => res,
    }
}

/// Reads into pooled receive buffers (`recv_pool.rs`; a small buffer of its own while
/// the peer is slow, see [`SMALL_BUF`]) and hands the driver whole
/// messages (`frames.rs`): the start of an unfinished one moves to the front of the next
/// buffer, so a block is never split across two hand-overs and the session decodes every
/// block in place. `received` are the stream's first bytes, read before (plaintext).
async fn read_loop(
    key: PeerKey,
    mut r: OwnedReadHalf,
    mut decrypt: Option<Rc4Stream>,
    received: Vec<u8>,
    events: &mpsc::Sender<ConnEvent>,
    limiter: &RateLimiter,
) -> Option<String> {
    let pool = RecvPool::global();
    let mut scan = FrameScan::new();
    let mut buf = small_buf();
    // What was read before goes through the scan like any read.
    let mut rest = &received[..];
    while rest.len() > buf.len() {
        let cut = scan.cut(rest, true);
        let chunk = Bytes::copy_from_slice(&rest[..cut]);
        rest = &rest[cut..];
        if events.send(ConnEvent::Data(key, chunk)).await.is_err() {
            return None;
        }
    }
    buf[..rest.len()].copy_from_slice(rest);
    let mut filled = rest.len();
    let mut read_first = filled == 0;
    let mut short_runs = 0u32;
    loop {
        if read_first {
            let n = match r.read(&mut buf[filled..]).await {
                Ok(0) => return Some("connection closed by peer".into()),
                Ok(n) => n,
                Err(e) => return Some(format!("read: {e}")),
            };
            if let Some(d) = decrypt.as_mut() {
                d.apply(&mut buf[filled..filled + n]);
            }
            limiter.acquire(n).await;
            filled += n;
        }
        read_first = true;
        if buf.len() < RECV_BUF_LEN && filled == buf.len() {
            // The peer sends fast: on to pooled buffers.
            let mut big = pool.take();
            big[..filled].copy_from_slice(&buf[..filled]);
            buf = big;
        }
        let pooled = buf.len() == RECV_BUF_LEN;
        let cut = scan.cut(&buf[..filled], filled == buf.len());
        if cut == 0 {
            continue;
        }
        // A long run is handed over with its (pooled) buffer, whose tail (an unfinished
        // message) starts the next one; a short one is copied out and the buffer kept.
        let chunk = if pooled && cut >= SMALL_READ {
            short_runs = 0;
            let mut next = pool.take();
            next[..filled - cut].copy_from_slice(&buf[cut..filled]);
            pool.freeze(std::mem::replace(&mut buf, next), cut)
        } else {
            let c = Bytes::copy_from_slice(&buf[..cut]);
            buf.copy_within(cut..filled, 0);
            short_runs = if cut < SMALL_BUF { short_runs + 1 } else { 0 };
            if pooled && short_runs >= SLOW_RUNS && filled - cut <= SMALL_BUF {
                // Slow again: back to a small buffer.
                let mut small = small_buf();
                small[..filled - cut].copy_from_slice(&buf[..filled - cut]);
                pool.put(std::mem::replace(&mut buf, small));
                short_runs = 0;
            }
            c
        };
        filled -= cut;
        if events.send(ConnEvent::Data(key, chunk)).await.is_err() {
            return None;
        }
    }
}

/// A connection's own small receive buffer (see [`SMALL_BUF`]).
fn small_buf() -> Box<[u8]> {
    vec![0u8; SMALL_BUF].into_boxed_slice()
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
    let mut corked = false;
    loop {
        if queue.is_empty() {
            if corked {
                // Nothing more to pack: send the tail now.
                crate::send_file::set_cork(w.as_ref(), false);
                corked = false;
            }
            match rx.recv().await {
                Some(bufs) => {
                    if let Err(e) = queue_bufs(&mut queue, bufs, encrypt.as_mut()) {
                        return Some(e);
                    }
                }
                None => {
                    // The driver dropped us: everything it queued is written.
                    let _ = w.shutdown().await;
                    return None;
                }
            }
        }
        while let Ok(bufs) = rx.try_recv() {
            if let Err(e) = queue_bufs(&mut queue, bufs, encrypt.as_mut()) {
                return Some(e);
            }
            if queue.len() > 256 {
                break;
            }
        }
        // Nothing to write for an empty buffer (its payload is 0).
        while queue.front().is_some_and(|b| b.data.is_empty()) {
            queue.pop_front();
        }
        let from_file = matches!(
            queue.front(),
            Some(OutBuf {
                data: OutData::File(_),
                ..
            })
        );
        let (written, payload) = match write_some(&mut w, &mut queue, &mut corked).await {
            Ok(n) => n,
            Err(e) => return Some(format!("write: {e}")),
        };
        if from_file {
            counters
                .sent_from_file
                .fetch_add(written as u64, Ordering::Relaxed);
        }
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
/// one buffer per original so each keeps its payload count. A file range cannot be
/// encrypted without reading it: the driver never queues one on an encrypted
/// connection, and doing so is an error that closes it.
fn queue_bufs(
    queue: &mut VecDeque<OutBuf>,
    bufs: Vec<OutBuf>,
    encrypt: Option<&mut Rc4Stream>,
) -> Result<(), String> {
    let Some(enc) = encrypt else {
        queue.extend(bufs);
        return Ok(());
    };
    let total: usize = bufs.iter().map(|b| b.data.len()).sum();
    let mut out = vec![0u8; total];
    let mut at = 0;
    for b in &bufs {
        let OutData::Bytes(data) = &b.data else {
            return Err("internal: a file range was queued on an encrypted connection".into());
        };
        enc.apply_to(data, &mut out[at..at + data.len()]);
        at += data.len();
    }
    let mut out = Bytes::from(out);
    for b in bufs {
        let data = out.split_to(b.data.len());
        queue.push_back(OutBuf {
            data: OutData::Bytes(data),
            payload: b.payload,
        });
    }
    Ok(())
}

/// One write: a vectored write of up to 64 buffers in memory, or one `sendfile` of the
/// file range at the front; consumes what was written. Corks the socket before a write
/// that a file range follows or is (see `send_file.rs`). Returns the bytes written and
/// the payload of the buffers it finished.
async fn write_some(
    w: &mut OwnedWriteHalf,
    queue: &mut VecDeque<OutBuf>,
    corked: &mut bool,
) -> std::io::Result<(usize, u64)> {
    if queue.is_empty() {
        return Ok((0, 0));
    }
    let n = match queue.front().map(|b| &b.data) {
        Some(OutData::File(range)) => {
            if !*corked {
                crate::send_file::set_cork(w.as_ref(), true);
                *corked = true;
            }
            crate::send_file::send_range(w.as_ref(), range).await?
        }
        _ => {
            let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(queue.len().min(64));
            let mut file_follows = false;
            for b in queue.iter().take(64) {
                match &b.data {
                    OutData::Bytes(data) => slices.push(IoSlice::new(data)),
                    OutData::File(_) => {
                        file_follows = true;
                        break;
                    }
                }
            }
            if file_follows && !*corked {
                crate::send_file::set_cork(w.as_ref(), true);
                *corked = true;
            }
            w.write_vectored(&slices).await?
        }
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
        pair_with(cipher, None).await
    }

    /// A connection task on one end of a loopback pair (its send buffer `sndbuf` bytes,
    /// if given), and the other end.
    async fn pair_with(
        cipher: bool,
        sndbuf: Option<usize>,
    ) -> (ConnHandle, TcpStream, mpsc::Receiver<ConnEvent>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let far = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (near, _) = l.accept().await.unwrap();
        if let Some(n) = sndbuf {
            socket2::SockRef::from(&near)
                .set_send_buffer_size(n)
                .unwrap();
        }
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
        let socket = Socket::Accepted(
            PeerStream {
                stream: near,
                cipher,
            },
            Bytes::new(),
        );
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

    /// What the peer sends arrives as whole messages, however the writes cut it: the
    /// start of an unfinished message waits for its rest, so every hand-over ends on a
    /// message boundary and the session can decode every block in place.
    #[tokio::test]
    async fn reads_are_handed_over_as_whole_messages() {
        let (_h, mut far, mut rx) = pair(false).await;
        let mut stream = Vec::new();
        let mut bounds = vec![0usize];
        for i in 0..200u32 {
            let len = if i % 3 == 0 { 5 } else { 9 + 16384 };
            stream.extend_from_slice(&(len as u32).to_be_bytes());
            stream.extend(std::iter::repeat_n(i as u8, len));
            bounds.push(stream.len());
        }
        let writer = {
            let stream = stream.clone();
            tokio::spawn(async move {
                for part in stream.chunks(7919) {
                    far.write_all(part).await.unwrap();
                }
                far
            })
        };
        let mut got = Vec::new();
        while got.len() < stream.len() {
            match rx.recv().await {
                Some(ConnEvent::Data(_, chunk)) => {
                    got.extend_from_slice(&chunk);
                    assert!(bounds.contains(&got.len()), "cut at {}", got.len());
                }
                Some(_) => {}
                None => panic!("closed at {}", got.len()),
            }
        }
        assert!(got == stream, "bytes differ");
        drop(writer.await.unwrap());
    }

    /// A connection moves to pooled buffers when its peer sends fast, and back to a
    /// small buffer of its own (its pooled one returns to the pool) after a run of short
    /// reads, so slow connections do not hold 256 KiB each.
    #[tokio::test]
    async fn a_slow_connection_gives_its_pooled_buffer_back() {
        let (_h, mut far, mut rx) = pair(false).await;
        let frame = |len: usize, fill: u8| {
            let mut m = (len as u32).to_be_bytes().to_vec();
            m.extend(std::iter::repeat_n(fill, len));
            m
        };
        let burst: Vec<u8> = (0..64).flat_map(|i| frame(9 + 16384, i as u8)).collect();
        far.write_all(&burst).await.unwrap();
        let mut got = 0;
        while got < burst.len() {
            match rx.recv().await {
                Some(ConnEvent::Data(_, chunk)) => got += chunk.len(),
                Some(_) => {}
                None => panic!("closed"),
            }
        }
        // Every chunk is dropped: only the connection's own buffer is out of the pool.
        let idle = RecvPool::global().idle();
        for i in 0..SLOW_RUNS + 2 {
            far.write_all(&frame(5, i as u8)).await.unwrap();
            match rx.recv().await {
                Some(ConnEvent::Data(_, chunk)) => assert_eq!(chunk.len(), 9),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(RecvPool::global().idle(), idle + 1);
    }

    /// Two files with known bytes; a range of one of them.
    fn files() -> (tempfile::TempDir, Vec<Arc<std::fs::File>>, Vec<Vec<u8>>) {
        let dir = tempfile::tempdir().unwrap();
        let mut handles = Vec::new();
        let mut contents = Vec::new();
        for (i, len) in [(0u8, 100_000usize), (1, 70_001)].into_iter() {
            let data: Vec<u8> = (0..len)
                .map(|j| (j as u32 * 7 + u32::from(i) * 13) as u8)
                .collect();
            let path = dir.path().join(format!("f{i}"));
            std::fs::write(&path, &data).unwrap();
            handles.push(Arc::new(std::fs::File::open(&path).unwrap()));
            contents.push(data);
        }
        (dir, handles, contents)
    }

    fn range(file: &Arc<std::fs::File>, offset: u64, len: usize) -> OutBuf {
        OutBuf::file(FileRange {
            file: file.clone(),
            offset,
            len,
        })
    }

    /// Blocks sent from files (one crossing from the end of one file into the next, one
    /// of zeros in memory between them) through a socket whose send buffer is tiny and a
    /// reader that takes a few KiB at a time: every `sendfile` is partial or finds the
    /// buffer full, and the bytes still arrive in order, exactly.
    #[tokio::test]
    async fn file_ranges_survive_partial_sends_byte_for_byte() {
        let (_dir, f, data) = files();
        let (h, mut far, _rx) = pair_with(false, Some(4096)).await;
        assert!(h.plaintext());
        let mut expected = Vec::new();
        let mut payload = 0u64;
        for round in 0..3u64 {
            let header = Bytes::from(vec![round as u8; 13]);
            let a_off = 100_000 - 10_000 - round * 7;
            let mut bufs = vec![
                OutBuf::protocol(header.clone()),
                range(&f[0], a_off, (100_000 - a_off) as usize),
                range(&f[1], round, 6_384),
                OutBuf::protocol(header.clone()),
                OutBuf::payload(Bytes::from(vec![0u8; 5000])),
                range(&f[1], 49_000 + round, 20_001),
            ];
            bufs.push(range(&f[0], 0, 0)); // empty: skipped
            expected.extend_from_slice(&header);
            expected.extend_from_slice(&data[0][a_off as usize..]);
            expected.extend_from_slice(&data[1][round as usize..round as usize + 6_384]);
            expected.extend_from_slice(&header);
            expected.extend(std::iter::repeat_n(0u8, 5000));
            let at = 49_000 + round as usize;
            expected.extend_from_slice(&data[1][at..at + 20_001]);
            payload += (100_000 - a_off) + 6_384 + 5000 + 20_001;
            h.send_payload(bufs);
        }
        let mut got = Vec::new();
        let mut chunk = [0u8; 3000];
        while got.len() < expected.len() {
            let n = tokio::time::timeout(Duration::from_secs(20), far.read(&mut chunk))
                .await
                .unwrap_or_else(|_| panic!("stalled at {} of {}", got.len(), expected.len()))
                .unwrap();
            assert!(n > 0, "closed early at {}", got.len());
            got.extend_from_slice(&chunk[..n]);
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        assert_eq!(got.len(), expected.len());
        assert!(got == expected, "bytes differ");
        let mut up = 0;
        for _ in 0..100 {
            up += h.take_uploaded();
            if up == payload {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(up, payload);
        let from_file = payload - 3 * 5000;
        assert_eq!(h.take_sent_from_file(), from_file);
        // Nothing more comes (the socket is uncorked with nothing left to send).
        h.send(vec![Bytes::from_static(b"end")]);
        let mut end = [0u8; 3];
        far.read_exact(&mut end).await.unwrap();
        assert_eq!(&end, b"end");
    }

    /// A file that ends before its queued range (shortened while seeding) closes the
    /// connection with an error instead of sending a short message or spinning.
    #[tokio::test]
    async fn a_file_shorter_than_its_range_closes_the_connection() {
        let (_dir, f, _) = files();
        let (h, mut far, mut rx) = pair(false).await;
        h.send_payload(vec![
            OutBuf::protocol(Bytes::from_static(b"hdr")),
            range(&f[1], 70_000, 2),
        ]);
        let reason = loop {
            match rx.recv().await {
                Some(ConnEvent::Closed(_, r)) => break r,
                Some(_) => {}
                None => panic!("no close"),
            }
        };
        let reason = reason.unwrap_or_default();
        assert!(reason.contains("file ended"), "{reason}");
        let mut got = Vec::new();
        far.read_to_end(&mut got).await.unwrap_or_default();
        assert_eq!(&got[..3], b"hdr");
        assert!(got.len() <= 4, "at most the byte the file had: {got:?}");
    }

    /// An encrypted connection never sends a file range in the clear: queuing one is an
    /// error that closes it, and `plaintext` told the driver not to.
    #[tokio::test]
    async fn an_encrypted_connection_refuses_file_ranges() {
        let (_dir, f, _) = files();
        let (h, _far, mut rx) = pair(true).await;
        assert!(!h.plaintext());
        h.send_payload(vec![range(&f[0], 0, 100)]);
        let reason = loop {
            match rx.recv().await {
                Some(ConnEvent::Closed(_, r)) => break r,
                Some(_) => {}
                None => panic!("no close"),
            }
        };
        assert!(reason.unwrap_or_default().contains("encrypted"));
        assert_eq!(h.take_sent_from_file(), 0);
    }
}

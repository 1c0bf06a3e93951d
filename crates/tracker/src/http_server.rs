//! The HTTP front end: blocking accept threads bounded by a connection semaphore that
//! answer one-shot connections themselves ([`run_accept_thread`] says why) and hand the
//! others to a tokio task with keep-alive and pipelining; a deadline per request head (slow
//! clients cannot hold a socket) and a size limit per head.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::{timeout, timeout_at, Instant};

use crate::http_parse::{parse_request, HttpRequest};
use crate::http_query::{parse_announce, parse_scrape};
use crate::http_response::{failure_body, scrape_body, write_announce_body, write_http};
use crate::registry::{canonical_ip, AnnounceRequest};
use crate::server::Shared;
use crate::stats::Counters;
use crate::swarm::PeerSample;

const TEXT: &str = "text/plain";

/// Buffers reused across requests, so answering an announce allocates nothing.
#[derive(Debug, Default)]
pub struct Scratch {
    body: Vec<u8>,
    peers: PeerSample,
}

/// Answers one parsed request from `peer` by appending a full HTTP response to `out`.
pub fn handle_request(
    shared: &Shared,
    req: &HttpRequest<'_>,
    peer: SocketAddr,
    out: &mut Vec<u8>,
    scratch: &mut Scratch,
) {
    let c = &shared.counters;
    let keep_alive = req.keep_alive;
    let body = &mut scratch.body;
    body.clear();
    let fail = |reason: &str, body: &mut Vec<u8>| {
        Counters::bump(&c.http_failures);
        failure_body(reason, body);
    };
    match req.path {
        b"/announce" => {
            Counters::bump(&c.http_announces);
            match parse_announce(req.query) {
                Err(e) => fail(&e.to_string(), body),
                Ok(a) => {
                    let ip = match a.ip {
                        Some(ip) if shared.config.allow_ip_param => ip,
                        _ => canonical_ip(peer.ip()),
                    };
                    let request = AnnounceRequest {
                        info_hash: a.info_hash,
                        peer_id: a.peer_id,
                        addr: SocketAddr::new(ip, a.port),
                        event: a.event,
                        left: a.left,
                        uploaded: a.uploaded,
                        downloaded: a.downloaded,
                        numwant: a.numwant,
                    };
                    let peers = &mut scratch.peers;
                    peers.reset(!a.compact && !a.no_peer_id);
                    match shared.announce_into(&request, peers) {
                        Ok(r) => write_announce_body(
                            &r,
                            peers,
                            a.compact,
                            a.no_peer_id,
                            Some(shared.tracker_id.as_bytes()),
                            body,
                        ),
                        Err(e) => fail(&e.to_string(), body),
                    }
                }
            }
            write_http("200 OK", TEXT, body, keep_alive, out);
        }
        b"/scrape" => {
            Counters::bump(&c.http_scrapes);
            match parse_scrape(req.query, shared.config.max_scrape_hashes) {
                Ok(hashes) => scrape_body(&hashes, &shared.scrape(&hashes), body),
                Err(e) => fail(&e.to_string(), body),
            }
            write_http("200 OK", TEXT, body, keep_alive, out);
        }
        b"/stats" if shared.config.stats_enabled => {
            Counters::bump(&c.http_other);
            write_http(
                "200 OK",
                "application/json",
                shared.report().to_json().as_bytes(),
                keep_alive,
                out,
            );
        }
        b"/metrics" if shared.config.stats_enabled => {
            Counters::bump(&c.http_other);
            let text = shared.report().to_prometheus();
            write_http(
                "200 OK",
                "text/plain; version=0.0.4",
                text.as_bytes(),
                keep_alive,
                out,
            );
        }
        _ => {
            Counters::bump(&c.http_other);
            fail("unknown path (try /announce or /scrape)", body);
            write_http("404 Not Found", TEXT, body, keep_alive, out);
        }
    }
}

/// Accepts connections on a blocking thread until `stop` is set (the listener's read
/// timeout bounds how long that takes to be seen).
///
/// Why a blocking accept loop: most tracker clients open a connection, send one announce
/// and close (opentracker closes after every reply, so clients expect it). For those the
/// whole exchange is accept → read → write → close, four system calls on this thread; a
/// tokio task per connection added an epoll registration, a task and cross-thread wake-ups,
/// and was slower than opentracker's single epoll loop (profiled). Accepted sockets are
/// corked (inherited from the listener), so the reply leaves with the FIN in one segment
/// when the socket is closed. The listener defers
/// accept until the request has arrived (`TCP_DEFER_ACCEPT`), so the first read rarely
/// waits; it never blocks (`MSG_DONTWAIT`). A connection whose first read does not hold a
/// complete request, or that asks for keep-alive, is handed to a tokio task with what was
/// read so far, under the same request deadline, so slow clients cannot hold this thread.
pub fn run_accept_thread(
    shared: Arc<Shared>,
    listener: std::net::TcpListener,
    permits: Arc<Semaphore>,
    stop: Arc<AtomicBool>,
    runtime: tokio::runtime::Handle,
    shutdown: watch::Receiver<bool>,
) {
    use std::io::Write;
    let max = shared.config.http_max_request_bytes;
    let mut out: Vec<u8> = Vec::with_capacity(1024);
    let mut scratch = Scratch::default();
    let mut buf: Vec<u8> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let (mut stream, peer) = match listener.accept() {
            Ok(s) => s,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                        | std::io::ErrorKind::ConnectionAborted
                ) =>
            {
                continue
            }
            Err(_) => {
                // Out of file descriptors and the like: back off instead of spinning.
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            Counters::bump(&shared.counters.http_connections_refused);
            continue;
        };
        Counters::bump(&shared.counters.http_connections);
        let started = std::time::Instant::now();
        if buf.capacity() < max {
            buf.reserve(max);
        }
        buf.clear();
        let n = recv_now(&stream, &mut buf, max);
        if n == Some(0) {
            continue; // closed before sending anything
        }
        if n.is_some() {
            out.clear();
            match parse_request(&buf, max) {
                Ok(Some((req, _))) if !req.keep_alive => {
                    handle_request(&shared, &req, peer, &mut out, &mut scratch);
                    let _ = stream.write_all(&out);
                    // Dropping the stream closes it: the whole request was read, so the
                    // close is a FIN, not a reset.
                    continue;
                }
                Err(e) => {
                    Counters::bump(&shared.counters.http_bad_requests);
                    bad_request(&e.to_string(), &mut out, &mut scratch);
                    let _ = stream.write_all(&out);
                    continue;
                }
                // Keep-alive, or not complete yet: the async loop takes over.
                Ok(_) => {}
            }
        }
        if stream.set_nonblocking(true).is_err()
            || set_tcp_option(&stream, libc::TCP_CORK, 0).is_err()
        {
            continue;
        }
        let initial = std::mem::take(&mut buf);
        let (shared, shutdown) = (shared.clone(), shutdown.clone());
        runtime.spawn(async move {
            if let Ok(stream) = TcpStream::from_std(stream) {
                serve_connection(shared, stream, peer, permit, shutdown, initial, started).await;
            }
        });
    }
}

/// Reads what has already arrived (up to `max` bytes) without waiting: `Some(0)` means
/// the peer closed, `None` that nothing is there yet (or an error the async path will see
/// again).
fn recv_now(stream: &std::net::TcpStream, buf: &mut Vec<u8>, max: usize) -> Option<usize> {
    use std::os::fd::AsRawFd;
    let spare = max - buf.len();
    // SAFETY: the kernel writes at most `spare` bytes into the vector's spare capacity
    // (reserved by the caller), and only the bytes it reports are marked initialised.
    let r = unsafe {
        libc::recv(
            stream.as_raw_fd(),
            buf.as_mut_ptr().add(buf.len()).cast(),
            spare,
            libc::MSG_DONTWAIT,
        )
    };
    if r < 0 {
        return None;
    }
    let r = r as usize;
    // SAFETY: see above.
    unsafe { buf.set_len(buf.len() + r) };
    Some(r)
}

/// Sets an integer `IPPROTO_TCP` socket option (`TCP_CORK`, `TCP_DEFER_ACCEPT`).
pub fn set_tcp_option(
    socket: &impl std::os::fd::AsRawFd,
    option: libc::c_int,
    value: libc::c_int,
) -> std::io::Result<()> {
    // SAFETY: a valid socket and a c_int option value of the right size.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            option,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn bad_request(reason: &str, out: &mut Vec<u8>, scratch: &mut Scratch) {
    scratch.body.clear();
    failure_body(reason, &mut scratch.body);
    write_http("400 Bad Request", TEXT, &scratch.body, false, out);
}

/// Serves one connection until it closes, times out or the tracker shuts down: keep-alive
/// and pipelining, a deadline per request head (counted from `started` for the first),
/// `initial` holding bytes already read.
async fn serve_connection(
    shared: Arc<Shared>,
    mut stream: TcpStream,
    peer: SocketAddr,
    _permit: OwnedSemaphorePermit,
    mut shutdown: watch::Receiver<bool>,
    initial: Vec<u8>,
    started: std::time::Instant,
) {
    // No TCP_NODELAY: every reply goes out in one write, so Nagle never delays it, and the
    // saved system call counts when each connection carries a single announce.
    let max = shared.config.http_max_request_bytes;
    let limit = Duration::from_secs(shared.config.http_request_timeout_secs);
    let mut buf = initial;
    let mut out: Vec<u8> = Vec::with_capacity(1024);
    let mut scratch = Scratch::default();
    // The deadline covers a whole request head, not each read: a client trickling bytes
    // cannot extend it.
    let mut deadline = Instant::from_std(started) + limit;
    loop {
        let mut close = false;
        let mut consumed = 0;
        loop {
            match parse_request(&buf[consumed..], max) {
                Ok(Some((req, used))) => {
                    handle_request(&shared, &req, peer, &mut out, &mut scratch);
                    consumed += used;
                    deadline = Instant::now() + limit;
                    if !req.keep_alive {
                        close = true;
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    Counters::bump(&shared.counters.http_bad_requests);
                    bad_request(&e.to_string(), &mut out, &mut scratch);
                    close = true;
                    break;
                }
            }
        }
        buf.drain(..consumed);
        if !out.is_empty() {
            match timeout(limit, stream.write_all(&out)).await {
                Ok(Ok(())) => out.clear(),
                _ => return,
            }
        }
        if close {
            // Dropping the stream closes it; a separate shutdown call would cost a syscall.
            return;
        }
        if buf.len() >= max {
            return;
        }
        tokio::select! {
            r = timeout_at(deadline, stream.read_buf(&mut buf)) => match r {
                Ok(Ok(0)) | Ok(Err(_)) => return,
                Ok(Ok(_)) => {}
                Err(_) => {
                    Counters::bump(&shared.counters.http_timeouts);
                    return;
                }
            },
            _ = shutdown.changed() => return,
        }
    }
}

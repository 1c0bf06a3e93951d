//! The HTTP front end: an accept loop bounded by a connection semaphore, one task per
//! connection with keep-alive and pipelining, a deadline per request head (slow clients
//! cannot hold a socket) and a size limit per head.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::{timeout, timeout_at, Instant};

use crate::http_parse::{parse_request, HttpRequest};
use crate::http_query::{parse_announce, parse_scrape};
use crate::http_response::{announce_body, failure_body, scrape_body, write_http};
use crate::registry::{canonical_ip, AnnounceRequest};
use crate::server::Shared;
use crate::stats::Counters;

const TEXT: &str = "text/plain";

/// Answers one parsed request from `peer` by appending a full HTTP response to `out`.
pub fn handle_request(shared: &Shared, req: &HttpRequest<'_>, peer: SocketAddr, out: &mut Vec<u8>) {
    let c = &shared.counters;
    let keep_alive = req.keep_alive;
    let mut body = Vec::with_capacity(512);
    let fail = |reason: &str, body: &mut Vec<u8>| {
        Counters::bump(&c.http_failures);
        failure_body(reason, body);
    };
    match req.path {
        b"/announce" => {
            Counters::bump(&c.http_announces);
            match parse_announce(req.query) {
                Err(e) => fail(&e.to_string(), &mut body),
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
                    match shared.announce(&request) {
                        Ok(r) => announce_body(&r, a.compact, a.no_peer_id, &mut body),
                        Err(e) => fail(&e.to_string(), &mut body),
                    }
                }
            }
            write_http("200 OK", TEXT, &body, keep_alive, out);
        }
        b"/scrape" => {
            Counters::bump(&c.http_scrapes);
            match parse_scrape(req.query, shared.config.max_scrape_hashes) {
                Ok(hashes) => scrape_body(&hashes, &shared.scrape(&hashes), &mut body),
                Err(e) => fail(&e.to_string(), &mut body),
            }
            write_http("200 OK", TEXT, &body, keep_alive, out);
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
            fail("unknown path (try /announce or /scrape)", &mut body);
            write_http("404 Not Found", TEXT, &body, keep_alive, out);
        }
    }
}

/// Accepts connections until shutdown.
pub async fn run_accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    permits: Arc<Semaphore>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            r = listener.accept() => {
                let Ok((stream, peer)) = r else {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                match permits.clone().try_acquire_owned() {
                    Ok(permit) => {
                        Counters::bump(&shared.counters.http_connections);
                        let shared = shared.clone();
                        let shutdown = shutdown.clone();
                        tokio::spawn(serve_connection(shared, stream, peer, permit, shutdown));
                    }
                    Err(_) => {
                        Counters::bump(&shared.counters.http_connections_refused);
                        drop(stream);
                    }
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

async fn serve_connection(
    shared: Arc<Shared>,
    mut stream: TcpStream,
    peer: SocketAddr,
    _permit: OwnedSemaphorePermit,
    mut shutdown: watch::Receiver<bool>,
) {
    // No TCP_NODELAY: every reply goes out in one write, so Nagle never delays it, and the
    // saved system call counts when each connection carries a single announce.
    let max = shared.config.http_max_request_bytes;
    let limit = Duration::from_secs(shared.config.http_request_timeout_secs);
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut out: Vec<u8> = Vec::with_capacity(1024);
    // The deadline covers a whole request head, not each read: a client trickling bytes
    // cannot extend it.
    let mut deadline = Instant::now() + limit;
    loop {
        let mut close = false;
        let mut consumed = 0;
        loop {
            match parse_request(&buf[consumed..], max) {
                Ok(Some((req, used))) => {
                    handle_request(&shared, &req, peer, &mut out);
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
                    let mut body = Vec::new();
                    failure_body(&e.to_string(), &mut body);
                    write_http("400 Bad Request", TEXT, &body, false, &mut out);
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

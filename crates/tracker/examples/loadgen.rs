//! Load generator for the benchmark (scripts/bench-tracker.sh): many concurrent clients
//! announce with distinct peers over many info-hashes, and the rate of answered announces
//! is printed. Works against any BEP 15 / BEP 3 tracker (bitswarm, opentracker).
//!
//! Usage:
//!   loadgen udp  ADDR [--seconds N] [--concurrency C] [--hashes H]
//!   loadgen http ADDR [--seconds N] [--concurrency C] [--hashes H] [--keep-alive]
//!   loadgen hashes H          (print the info-hashes used, hex, one a line: a whitelist)

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitswarm_tracker::http_client_codec::announce_target;
use bitswarm_tracker::http_query::HttpAnnounce;
use bitswarm_tracker::udp_codec::{Request, Response, UdpAnnounce};
use bitswarm_tracker::{Event, InfoHash, PeerId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

fn hash(i: u64) -> InfoHash {
    let mut h = [0u8; 20];
    let mut x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xdead_beef;
    for chunk in h.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    InfoHash(h)
}

fn peer(task: u64, n: u64) -> PeerId {
    let mut p = *b"-LG0001-000000000000";
    let v = task << 32 | (n % 100_000);
    p[8..16].copy_from_slice(&v.to_be_bytes());
    PeerId(p)
}

struct Opts {
    mode: String,
    addr: SocketAddr,
    seconds: u64,
    concurrency: u64,
    hashes: u64,
    keep_alive: bool,
}

fn parse_opts() -> Result<Opts, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args
        .first()
        .cloned()
        .ok_or("missing mode (udp, http, hashes)")?;
    if mode == "hashes" {
        let n: u64 = args.get(1).and_then(|s| s.parse().ok()).ok_or("hashes N")?;
        for i in 0..n {
            println!("{}", hash(i).to_hex());
        }
        std::process::exit(0);
    }
    let addr = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .ok_or("missing or bad ADDR")?;
    let mut o = Opts {
        mode,
        addr,
        seconds: 5,
        concurrency: 64,
        hashes: 1000,
        keep_alive: false,
    };
    let mut i = 2;
    while i < args.len() {
        let val = || {
            args.get(i + 1)
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or(format!("{} needs a number", args[i]))
        };
        match args[i].as_str() {
            "--seconds" => o.seconds = val()?,
            "--concurrency" => o.concurrency = val()?,
            "--hashes" => o.hashes = val()?,
            "--keep-alive" => {
                o.keep_alive = true;
                i -= 1;
            }
            other => return Err(format!("unknown option {other}")),
        }
        i += 2;
    }
    Ok(o)
}

async fn udp_client(
    o: Arc<Opts>,
    task: u64,
    end: Instant,
    ok: Arc<AtomicU64>,
    lost: Arc<AtomicU64>,
) {
    let bind = if o.addr.is_ipv4() {
        "127.0.0.1:0"
    } else {
        "[::1]:0"
    };
    let Ok(sock) = UdpSocket::bind(bind).await else {
        return;
    };
    let mut buf = Vec::with_capacity(128);
    let mut rx = vec![0u8; 4096];
    let mut connection_id = None;
    let mut n: u64 = 0;
    while Instant::now() < end {
        n += 1;
        buf.clear();
        let txid = n as u32;
        match connection_id {
            None => Request::Connect {
                transaction_id: txid,
            }
            .write(&mut buf),
            Some(cid) => Request::Announce(UdpAnnounce {
                connection_id: cid,
                transaction_id: txid,
                info_hash: hash((task * 7919 + n) % o.hashes),
                peer_id: peer(task, n),
                downloaded: 0,
                left: if n & 3 == 0 { 0 } else { 1000 },
                uploaded: 0,
                event: Event::None,
                ip: 0,
                key: 0,
                num_want: 50,
                port: (n % 60000) as u16 + 1024,
            })
            .write(&mut buf),
        }
        if sock.send_to(&buf, o.addr).await.is_err() {
            lost.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        match tokio::time::timeout(Duration::from_millis(500), sock.recv(&mut rx)).await {
            Ok(Ok(len)) => match Response::parse(&rx[..len], o.addr.is_ipv6()) {
                Ok(Response::Connect {
                    connection_id: cid, ..
                }) => connection_id = Some(cid),
                Ok(Response::Announce { .. }) => {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Response::Error { message, .. }) => {
                    lost.fetch_add(1, Ordering::Relaxed);
                    report_error(&message);
                    connection_id = None;
                }
                _ => connection_id = None,
            },
            _ => {
                lost.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

async fn http_client(
    o: Arc<Opts>,
    task: u64,
    end: Instant,
    ok: Arc<AtomicU64>,
    lost: Arc<AtomicU64>,
) {
    let mut conn: Option<TcpStream> = None;
    let mut rx = Vec::with_capacity(4096);
    let mut n: u64 = 0;
    while Instant::now() < end {
        n += 1;
        let a = HttpAnnounce {
            info_hash: hash((task * 7919 + n) % o.hashes),
            peer_id: peer(task, n),
            port: (n % 60000) as u16 + 1024,
            uploaded: 0,
            downloaded: 0,
            left: if n & 3 == 0 { 0 } else { 1000 },
            event: Event::None,
            compact: true,
            no_peer_id: true,
            numwant: Some(50),
            ip: None,
        };
        let close = if o.keep_alive {
            ""
        } else {
            "Connection: close\r\n"
        };
        let req = format!(
            "GET {} HTTP/1.1\r\nHost: t\r\n{close}\r\n",
            announce_target(&a)
        );
        let stream = match conn.take() {
            Some(s) => s,
            None => match TcpStream::connect(o.addr).await {
                Ok(s) => s,
                Err(_) => {
                    lost.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        match tokio::time::timeout(
            Duration::from_secs(2),
            exchange(stream, req.as_bytes(), &mut rx),
        )
        .await
        {
            Ok(Some(stream)) => {
                ok.fetch_add(1, Ordering::Relaxed);
                if o.keep_alive {
                    conn = Some(stream);
                }
            }
            _ => {
                lost.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Sends one request and reads one full response (by Content-Length, or to EOF).
async fn exchange(mut s: TcpStream, req: &[u8], rx: &mut Vec<u8>) -> Option<TcpStream> {
    s.write_all(req).await.ok()?;
    rx.clear();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).await.ok()?;
        rx.extend_from_slice(&chunk[..n]);
        if let Some(head_end) = rx.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&rx[..head_end]).to_ascii_lowercase();
            if !head.starts_with("http/1.") || !head.contains(" 200") {
                return None;
            }
            if let Some(at) = rx.windows(14).position(|w| w == b"failure reason") {
                report_error(&String::from_utf8_lossy(&rx[at..rx.len().min(at + 80)]));
                return None;
            }
            if let Some(len) = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
            {
                if rx.len() >= head_end + 4 + len {
                    return Some(s);
                }
            } else if n == 0 {
                return Some(s);
            }
        }
        if n == 0 {
            return None;
        }
    }
}

/// Prints the first tracker error seen, so a misconfigured run is obvious.
fn report_error(message: &str) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| eprintln!("loadgen: tracker error: {message}"));
}

#[tokio::main]
async fn main() {
    let o = match parse_opts() {
        Ok(o) => Arc::new(o),
        Err(e) => {
            eprintln!("loadgen: {e}\nusage: loadgen udp|http ADDR [--seconds N] [--concurrency C] [--hashes H] [--keep-alive] | loadgen hashes N");
            std::process::exit(2);
        }
    };
    let ok = Arc::new(AtomicU64::new(0));
    let lost = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + Duration::from_secs(o.seconds);
    let mut tasks = Vec::new();
    for task in 0..o.concurrency {
        let (o2, ok2, lost2) = (o.clone(), ok.clone(), lost.clone());
        tasks.push(match o.mode.as_str() {
            "udp" => tokio::spawn(udp_client(o2, task, end, ok2, lost2)),
            "http" => tokio::spawn(http_client(o2, task, end, ok2, lost2)),
            other => {
                eprintln!("loadgen: unknown mode {other}");
                std::process::exit(2);
            }
        });
    }
    for t in tasks {
        let _ = t.await;
    }
    let secs = start.elapsed().as_secs_f64();
    let done = ok.load(Ordering::Relaxed);
    println!(
        "{} {} announces={} failed_or_lost={} seconds={:.2} announces_per_sec={:.0}",
        o.mode,
        o.addr,
        done,
        lost.load(Ordering::Relaxed),
        secs,
        done as f64 / secs
    );
}

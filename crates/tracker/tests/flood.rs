//! A bounded malformed flood on loopback — 50,000 garbage or hostile UDP packets and 2,000
//! garbage HTTP requests — leaves the server answering, with its registry held at the
//! configured limits. Bounded in count and in time (each phase has a deadline).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bitswarm_tracker::http_client_codec::{announce_target, parse_announce_reply};
use bitswarm_tracker::http_query::HttpAnnounce;
use bitswarm_tracker::udp_codec::{Request, Response, UdpAnnounce};
use bitswarm_tracker::{Config, Event, InfoHash, PeerId, TrackerServer};
use rand::{rngs::StdRng, Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;

const MAX_TORRENTS: usize = 100;
const MAX_PEERS_TOTAL: usize = 1000;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn udp_connect(sock: &UdpSocket, to: SocketAddr) -> u64 {
    let mut buf = Vec::new();
    Request::Connect { transaction_id: 1 }.write(&mut buf);
    for _ in 0..20 {
        sock.send_to(&buf, to).await.unwrap();
        let mut rx = [0u8; 64];
        if let Ok(Ok(n)) = timeout(Duration::from_millis(500), sock.recv(&mut rx)).await {
            if let Ok(Response::Connect {
                transaction_id: 1,
                connection_id,
            }) = Response::parse(&rx[..n], false)
            {
                return connection_id;
            }
        }
    }
    panic!("the UDP tracker no longer answers connect");
}

fn hostile_udp_packet(rng: &mut StdRng, cid: u64, i: u64) -> Vec<u8> {
    let mut buf = Vec::new();
    match i % 5 {
        // Pure garbage, 0..200 bytes.
        0 | 1 => buf.extend((0..rng.gen_range(0..200)).map(|_| rng.gen::<u8>())),
        // Announces with forged connection ids.
        2 => Request::Announce(announce(rng.gen(), rng.gen(), rng.gen())).write(&mut buf),
        // Valid announces over many torrents and peers: pushes the registry to its limits.
        3 => Request::Announce(announce(cid, rng.gen_range(0..10_000), i)).write(&mut buf),
        // Truncated announces and scrapes.
        _ => {
            Request::Scrape {
                connection_id: cid,
                transaction_id: 9,
                info_hashes: vec![InfoHash([1; 20]); 80],
            }
            .write(&mut buf);
            buf.truncate(rng.gen_range(0..buf.len()));
        }
    }
    buf
}

fn announce(cid: u64, torrent: u64, peer: u64) -> UdpAnnounce {
    let mut h = [0u8; 20];
    h[..8].copy_from_slice(&torrent.to_be_bytes());
    let mut p = [0u8; 20];
    p[..8].copy_from_slice(&peer.to_be_bytes());
    UdpAnnounce {
        connection_id: cid,
        transaction_id: 5,
        info_hash: InfoHash(h),
        peer_id: PeerId(p),
        downloaded: 0,
        left: 1,
        uploaded: 0,
        event: Event::Started,
        ip: 0,
        key: 0,
        num_want: -1,
        port: 1000,
    }
}

fn hostile_http_request(rng: &mut StdRng, i: u64) -> Vec<u8> {
    match i % 6 {
        0 => (0..rng.gen_range(1..3000))
            .map(|_| rng.gen::<u8>())
            .collect(),
        1 => format!("GET /announce?{} HTTP/1.1\r\n\r\n", "x".repeat(20_000)).into_bytes(),
        2 => b"GET /announce?info_hash=%ZZ&peer_id=1 HTTP/1.1\r\n\r\n".to_vec(),
        3 => b"POST /announce HTTP/1.1\r\nContent-Length: 100000\r\n\r\n".to_vec(),
        4 => b"GET /announce HTTP/1.1\r\nHost: a\r\n".to_vec(), // never finished
        _ => {
            let a = HttpAnnounce {
                info_hash: InfoHash(rng.gen()),
                peer_id: PeerId(rng.gen()),
                port: 1,
                uploaded: 0,
                downloaded: 0,
                left: 1,
                event: Event::None,
                compact: true,
                no_peer_id: false,
                numwant: None,
                ip: None,
            };
            format!("GET {} HTTP/1.1\r\n\r\n", announce_target(&a)).into_bytes()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_flood_leaves_server_answering_within_limits() {
    let config = Config {
        http_addr: "127.0.0.1:0".parse().unwrap(),
        udp_addr: "127.0.0.1:0".parse().unwrap(),
        max_torrents: MAX_TORRENTS,
        max_peers_per_torrent: 50,
        max_peers_total: MAX_PEERS_TOTAL,
        http_max_connections: 64,
        http_request_timeout_secs: 1,
        ..Config::default()
    };
    let server = TrackerServer::bind(config).await.unwrap();
    let (http, udp) = (server.http_addr().unwrap(), server.udp_addr().unwrap());
    let rss_before = rss_kib();
    let started = Instant::now();

    // UDP: 50,000 packets from 4 sockets, replies drained without waiting for them.
    let mut senders = Vec::new();
    for s in 0..4u64 {
        senders.push(tokio::spawn(async move {
            let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let cid = udp_connect(&sock, udp).await;
            let mut rng = StdRng::seed_from_u64(s);
            let mut rx = [0u8; 2048];
            for i in 0..12_500u64 {
                let _ = sock
                    .send_to(&hostile_udp_packet(&mut rng, cid, s * 1_000_000 + i), udp)
                    .await;
                while sock.try_recv(&mut rx).is_ok() {}
                if i % 256 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        }));
    }
    for s in senders {
        timeout(Duration::from_secs(60), s)
            .await
            .expect("UDP flood took too long")
            .unwrap();
    }
    let udp_secs = started.elapsed();

    // HTTP: 2,000 hostile requests, 16 connections at a time. Most clients half-close
    // after sending; every 50th holds its connection open and is cut off by the request
    // timeout (the slowloris case).
    let mut rng = StdRng::seed_from_u64(99);
    let requests: Vec<(Vec<u8>, bool)> = (0..2000)
        .map(|i| (hostile_http_request(&mut rng, i), i % 50 != 0))
        .collect();
    let mut chunks = requests.chunks(16);
    let http_started = Instant::now();
    let mut held = Vec::new();
    for chunk in &mut chunks {
        let mut conns = Vec::new();
        for (req, half_close) in chunk.iter().cloned() {
            conns.push((
                tokio::spawn(async move {
                    let Ok(mut s) = TcpStream::connect(http).await else {
                        return;
                    };
                    let _ = s.write_all(&req).await;
                    if half_close {
                        let _ = s.shutdown().await;
                    }
                    let mut sink = Vec::new();
                    // The server closes (reply, 400, or request timeout) within its limits.
                    let _ = timeout(Duration::from_secs(5), s.read_to_end(&mut sink)).await;
                }),
                half_close,
            ));
        }
        for (c, half_close) in conns {
            if half_close {
                c.await.unwrap();
            } else {
                held.push(c);
            }
        }
    }
    for c in held {
        c.await.unwrap();
    }
    assert!(
        http_started.elapsed() < Duration::from_secs(90),
        "HTTP flood took too long"
    );

    // Still answering, over both protocols.
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    udp_connect(&sock, udp).await;
    let a = HttpAnnounce {
        info_hash: InfoHash([7; 20]),
        peer_id: PeerId([7; 20]),
        port: 7,
        uploaded: 0,
        downloaded: 0,
        left: 0,
        event: Event::None,
        compact: true,
        no_peer_id: false,
        numwant: None,
        ip: None,
    };
    let mut s = TcpStream::connect(http).await.unwrap();
    s.write_all(
        format!(
            "GET {} HTTP/1.1\r\nConnection: close\r\n\r\n",
            announce_target(&a)
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut raw = Vec::new();
    timeout(Duration::from_secs(5), s.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let body_at = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let reply = parse_announce_reply(&raw[body_at..]);
    // Either answered, or refused because the torrent limit is reached: both are answers.
    assert!(
        reply.is_ok() || matches!(&reply, Err(e) if e.to_string().contains("too many torrents")),
        "{reply:?}"
    );

    // Held at the limits.
    let (torrents, peers) = server.shared().sizes();
    assert!(
        torrents <= MAX_TORRENTS && peers <= MAX_PEERS_TOTAL,
        "{torrents} torrents, {peers} peers"
    );
    assert_eq!(
        torrents, MAX_TORRENTS,
        "the flood should have filled the torrent limit"
    );
    let c = server.shared().counters.values();
    // The kernel drops part of a flood; what arrived was handled (dropped, refused, served).
    let udp_seen = c.udp_dropped + c.udp_errors + c.udp_announces + c.udp_scrapes + c.udp_connects;
    assert!(
        udp_seen > 5_000 && c.udp_dropped > 0 && c.udp_errors > 0,
        "{c:?}"
    );
    assert!(c.http_bad_requests > 300 && c.http_timeouts > 0, "{c:?}");
    let rss_growth_mib = rss_kib().saturating_sub(rss_before) / 1024;
    assert!(rss_growth_mib < 200, "memory grew by {rss_growth_mib} MiB");
    eprintln!(
        "flood: udp {:?}, http {:?}, {torrents} torrents, {peers} peers, rss +{rss_growth_mib} MiB, counters {c:?}",
        udp_secs,
        http_started.elapsed()
    );
    server.shutdown().await;
}

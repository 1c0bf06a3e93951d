//! End-to-end through the real sockets with the crate's own client codecs: UDP request
//! builder → server → response parser, and the same over HTTP.

use std::net::SocketAddr;
use std::time::Duration;

use bitswarm_tracker::http_client_codec::{
    announce_target, parse_announce_reply, parse_scrape_reply, scrape_target, ReplyError,
};
use bitswarm_tracker::http_query::HttpAnnounce;
use bitswarm_tracker::udp_codec::{Request, Response, UdpAnnounce};
use bitswarm_tracker::{Config, Event, InfoHash, PeerId, TrackerServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;

fn local_config() -> Config {
    Config {
        http_addr: "127.0.0.1:0".parse().unwrap(),
        udp_addr: "127.0.0.1:0".parse().unwrap(),
        interval_secs: 60,
        ..Config::default()
    }
}

async fn http_get(addr: SocketAddr, target: &str) -> (String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!("GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut raw = Vec::new();
    timeout(Duration::from_secs(5), s.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no head end")
        + 4;
    (
        String::from_utf8_lossy(&raw[..end]).into_owned(),
        raw[end..].to_vec(),
    )
}

async fn udp_roundtrip(sock: &UdpSocket, to: SocketAddr, req: &Request) -> Response {
    let mut buf = Vec::new();
    req.write(&mut buf);
    sock.send_to(&buf, to).await.unwrap();
    let mut rx = [0u8; 2048];
    let (n, _) = timeout(Duration::from_secs(5), sock.recv_from(&mut rx))
        .await
        .unwrap()
        .unwrap();
    Response::parse(&rx[..n], false).unwrap()
}

fn http_announce(hash: InfoHash, peer: u8, port: u16, left: u64, event: Event) -> HttpAnnounce {
    HttpAnnounce {
        info_hash: hash,
        peer_id: PeerId([peer; 20]),
        port,
        uploaded: 0,
        downloaded: 0,
        left,
        event,
        compact: true,
        no_peer_id: false,
        numwant: None,
        ip: None,
    }
}

#[tokio::test]
async fn udp_and_http_clients_see_each_other() {
    let server = TrackerServer::bind(local_config()).await.unwrap();
    let (http, udp) = (server.http_addr().unwrap(), server.udp_addr().unwrap());
    let hash = InfoHash([0x42; 20]);

    // A seeder over UDP.
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let Response::Connect {
        transaction_id: 7,
        connection_id,
    } = udp_roundtrip(&sock, udp, &Request::Connect { transaction_id: 7 }).await
    else {
        panic!("no connect reply")
    };
    let announce = UdpAnnounce {
        connection_id,
        transaction_id: 8,
        info_hash: hash,
        peer_id: PeerId([1; 20]),
        downloaded: 0,
        left: 0,
        uploaded: 0,
        event: Event::Started,
        ip: 0,
        key: 1,
        num_want: -1,
        port: 5001,
    };
    let r = udp_roundtrip(&sock, udp, &Request::Announce(announce.clone())).await;
    assert_eq!(
        r,
        Response::Announce {
            transaction_id: 8,
            interval: 60,
            leechers: 0,
            seeders: 1,
            peers: vec![]
        }
    );

    // A leecher over HTTP gets the seeder.
    let (head, body) = http_get(
        http,
        &announce_target(&http_announce(hash, 2, 5002, 10, Event::Started)),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    let reply = parse_announce_reply(&body).unwrap();
    assert_eq!(
        (reply.complete, reply.incomplete, reply.interval),
        (1, 1, 60)
    );
    assert_eq!(
        reply.peers,
        vec!["127.0.0.1:5001".parse::<SocketAddr>().unwrap()]
    );

    // The seeder re-announcing over UDP gets the leecher.
    let r = udp_roundtrip(
        &sock,
        udp,
        &Request::Announce(UdpAnnounce {
            transaction_id: 9,
            event: Event::None,
            ..announce.clone()
        }),
    )
    .await;
    assert_eq!(
        r,
        Response::Announce {
            transaction_id: 9,
            interval: 60,
            leechers: 1,
            seeders: 1,
            peers: vec!["127.0.0.1:5002".parse().unwrap()]
        }
    );

    // The leecher completes; scrape both ways.
    http_get(
        http,
        &announce_target(&http_announce(hash, 2, 5002, 0, Event::Completed)),
    )
    .await;
    let (_, body) = http_get(http, &scrape_target(&[hash, InfoHash([0; 20])])).await;
    let files = parse_scrape_reply(&body).unwrap();
    assert_eq!(files.len(), 2);
    let counts = files.iter().find(|(h, _)| *h == hash).unwrap().1;
    assert_eq!(
        (counts.complete, counts.downloaded, counts.incomplete),
        (2, 1, 0)
    );
    let r = udp_roundtrip(
        &sock,
        udp,
        &Request::Scrape {
            connection_id,
            transaction_id: 10,
            info_hashes: vec![hash],
        },
    )
    .await;
    assert_eq!(
        r,
        Response::Scrape {
            transaction_id: 10,
            counts: vec![(2, 1, 0)]
        }
    );

    // A forged connection id gets an error reply.
    let r = udp_roundtrip(
        &sock,
        udp,
        &Request::Announce(UdpAnnounce {
            connection_id: connection_id ^ 1,
            ..announce
        }),
    )
    .await;
    assert!(
        matches!(r, Response::Error { transaction_id: 8, ref message } if message.contains("connection id")),
        "{r:?}"
    );

    // Stats and metrics.
    let (head, body) = http_get(http, "/stats").await;
    assert!(head.contains("application/json"));
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["registry"]["torrents"], 1);
    assert_eq!(json["registry"]["seeders"], 2);
    assert_eq!(json["counters"]["udp_announces"], 3);
    let (_, body) = http_get(http, "/metrics").await;
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains("bitswarm_tracker_seeders 2\n"), "{text}");
    server.shutdown().await;
}

#[tokio::test]
async fn bad_http_requests_get_failure_reasons() {
    let server = TrackerServer::bind(local_config()).await.unwrap();
    let http = server.http_addr().unwrap();
    let (head, body) = http_get(http, "/announce?info_hash=short").await;
    assert!(head.starts_with("HTTP/1.1 200 OK"));
    assert_eq!(
        parse_announce_reply(&body),
        Err(ReplyError::Failure("invalid parameter info_hash".into()))
    );
    let (_, body) = http_get(http, "/scrape").await;
    assert!(matches!(
        parse_scrape_reply(&body),
        Err(ReplyError::Failure(_))
    ));
    let (head, body) = http_get(http, "/nope").await;
    assert!(head.starts_with("HTTP/1.1 404"));
    assert!(matches!(
        parse_announce_reply(&body),
        Err(ReplyError::Failure(_))
    ));
    // A broken request line: 400 and closed.
    let mut s = TcpStream::connect(http).await.unwrap();
    s.write_all(b"HELLO\r\n\r\n").await.unwrap();
    let mut raw = Vec::new();
    timeout(Duration::from_secs(5), s.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    assert!(raw.starts_with(b"HTTP/1.1 400"));
    server.shutdown().await;
}

#[tokio::test]
async fn keep_alive_pipelining_and_slow_clients() {
    let config = Config {
        http_request_timeout_secs: 1,
        ..local_config()
    };
    let server = TrackerServer::bind(config).await.unwrap();
    let http = server.http_addr().unwrap();
    let mut s = TcpStream::connect(http).await.unwrap();
    let target = announce_target(&http_announce(InfoHash([1; 20]), 1, 1, 1, Event::None));
    let two = format!("GET {target} HTTP/1.1\r\n\r\nGET {target} HTTP/1.1\r\n\r\n");
    s.write_all(two.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.windows(8).filter(|w| w == b"HTTP/1.1").count() < 2 || !got.ends_with(b"e") {
        let n = timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed early");
        got.extend_from_slice(&buf[..n]);
    }
    // A client that trickles a request is cut off after the request timeout.
    let mut slow = TcpStream::connect(http).await.unwrap();
    let started = std::time::Instant::now();
    let closed = async {
        for _ in 0..20 {
            if slow.write_all(b"G").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            let mut b = [0u8; 16];
            if let Ok(Ok(0)) = timeout(Duration::from_millis(1), slow.read(&mut b)).await {
                return;
            }
        }
    };
    timeout(Duration::from_secs(4), closed).await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(3000));
    server.shutdown().await;
}

#[test]
fn blocking_start_for_non_async_callers() {
    let tracker = TrackerServer::start_blocking(local_config()).unwrap();
    let udp = tracker.udp_addr().unwrap();
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = Vec::new();
    Request::Connect { transaction_id: 3 }.write(&mut buf);
    sock.send_to(&buf, udp).unwrap();
    let mut rx = [0u8; 64];
    let (n, _) = sock.recv_from(&mut rx).unwrap();
    assert!(matches!(
        Response::parse(&rx[..n], false),
        Ok(Response::Connect {
            transaction_id: 3,
            ..
        })
    ));
    tracker.shutdown();
}

#[tokio::test]
async fn whitelist_and_bind_errors() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("whitelist.txt");
    std::fs::write(&list, format!("# allowed\n{}\n", "11".repeat(20))).unwrap();
    let server = TrackerServer::bind(Config {
        whitelist_file: Some(list.clone()),
        ..local_config()
    })
    .await
    .unwrap();
    let http = server.http_addr().unwrap();
    let (_, body) = http_get(
        http,
        &announce_target(&http_announce(InfoHash([0x11; 20]), 1, 1, 1, Event::None)),
    )
    .await;
    assert!(parse_announce_reply(&body).is_ok());
    let (_, body) = http_get(
        http,
        &announce_target(&http_announce(InfoHash([0x12; 20]), 1, 1, 1, Event::None)),
    )
    .await;
    assert_eq!(
        parse_announce_reply(&body),
        Err(ReplyError::Failure(
            "torrent not registered with this tracker".into()
        ))
    );
    // Binding the same port again fails with a clear error.
    let taken = Config {
        http_addr: http,
        udp_enabled: false,
        ..local_config()
    };
    let err = TrackerServer::bind(taken).await.unwrap_err().to_string();
    assert!(err.starts_with("cannot bind HTTP on 127.0.0.1:"), "{err}");
    std::fs::write(&list, "nothex\n").unwrap();
    let err = TrackerServer::bind(Config {
        whitelist_file: Some(list),
        ..local_config()
    })
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("line 1"), "{err}");
    server.shutdown().await;
}

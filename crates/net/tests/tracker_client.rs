//! The tracker client against bitswarm's own tracker: HTTP and UDP announces see each
//! other's peers; UDP scrape counts them; a stopped announce removes the peer.

mod common;

use std::time::Duration;

use bitswarm_net::tracker_http;
use bitswarm_net::tracker_types::AnnounceParams;
use bitswarm_net::tracker_udp::{UdpTiming, UdpTracker};
use bitswarm_tracker::Event;
use common::tracker;

fn params(id: u8, port: u16, left: u64, event: Event) -> AnnounceParams {
    AnnounceParams {
        info_hash: [0x5A; 20],
        peer_id: [id; 20],
        port,
        uploaded: 0,
        downloaded: 0,
        left,
        event,
        numwant: 50,
        key: u32::from(id),
        tracker_id: None,
    }
}

#[tokio::test]
async fn http_and_udp_announce_scrape_and_stop() {
    let (_t, http, udp) = tracker().await;
    let timeout = Duration::from_secs(5);
    let r = tracker_http::announce(&http, &params(1, 7001, 0, Event::Started), timeout)
        .await
        .unwrap();
    assert!(r.interval >= Duration::from_secs(1));
    let mut u = UdpTracker::new(
        &udp,
        UdpTiming {
            base: Duration::from_millis(200),
            max_n: 3,
        },
    )
    .unwrap();
    let r = u
        .announce(&params(2, 7002, 100, Event::Started), 3)
        .await
        .unwrap();
    assert!(r.peers.iter().any(|p| p.port() == 7001), "{r:?}");
    assert_eq!((r.seeders, r.leechers), (1, 1));
    let (seeders, _completed, leechers) = u.scrape([0x5A; 20]).await.unwrap();
    assert_eq!((seeders, leechers), (1, 1));
    // The HTTP peer sees the UDP one.
    let r = tracker_http::announce(&http, &params(1, 7001, 0, Event::None), timeout)
        .await
        .unwrap();
    assert!(r.peers.iter().any(|p| p.port() == 7002), "{r:?}");
    // Stopped: gone from the counts.
    u.announce(&params(2, 7002, 100, Event::Stopped), 3)
        .await
        .unwrap();
    let (seeders, _, leechers) = u.scrape([0x5A; 20]).await.unwrap();
    assert_eq!((seeders, leechers), (1, 0));
}

#[tokio::test]
async fn http_failure_reason_and_unsupported_urls() {
    let timeout = Duration::from_secs(2);
    let p = params(1, 1, 0, Event::Started);
    assert!(matches!(
        tracker_http::announce("https://example.invalid/announce", &p, timeout).await,
        Err(bitswarm_net::tracker_types::TrackerError::UnsupportedUrl(_))
    ));
    // A server that answers with a failure reason.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf).await;
        let body = b"d14:failure reason15:not whitelistede";
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
        let _ = s.write_all(head.as_bytes()).await;
        let _ = s.write_all(body).await;
    });
    let r = tracker_http::announce(&format!("http://{addr}/announce"), &p, timeout).await;
    assert!(
        matches!(&r, Err(bitswarm_net::tracker_types::TrackerError::Failure(m)) if m == "not whitelisted"),
        "{r:?}"
    );
}

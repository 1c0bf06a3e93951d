//! The tracker client against bitswarm's own tracker: HTTP and UDP announces see each
//! other's peers; UDP and HTTP scrapes count them; a stopped announce removes the peer;
//! a torrent's handle scrapes all its trackers; a leecher that stops right after
//! completing is still counted as completed.

mod common;

use std::time::Duration;

use bitswarm_net::tracker_http;
use bitswarm_net::tracker_types::{AnnounceParams, ScrapeResult, TrackerError};
use bitswarm_net::tracker_udp::{UdpTiming, UdpTracker};
use bitswarm_net::AddTorrent;
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

/// A UDP tracker client of `url` with short retry timing (a loopback tracker answers at once).
fn udp_client(url: &str) -> UdpTracker {
    UdpTracker::new(
        url,
        UdpTiming {
            base: Duration::from_millis(200),
            max_n: 3,
        },
    )
    .unwrap()
}

#[tokio::test]
async fn http_and_udp_announce_scrape_and_stop() {
    let (_t, http, udp) = tracker().await;
    let timeout = Duration::from_secs(5);
    let r = tracker_http::announce(&http, &params(1, 7001, 0, Event::Started), timeout)
        .await
        .unwrap();
    assert!(r.interval >= Duration::from_secs(1));
    let mut u = udp_client(&udp);
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

#[tokio::test]
async fn http_scrape_counts_like_udp_scrape() {
    let (_t, http, udp) = tracker().await;
    let timeout = Duration::from_secs(5);
    tracker_http::announce(&http, &params(1, 7001, 0, Event::Started), timeout)
        .await
        .unwrap();
    tracker_http::announce(&http, &params(2, 7002, 10, Event::Started), timeout)
        .await
        .unwrap();
    tracker_http::announce(&http, &params(2, 7002, 0, Event::Completed), timeout)
        .await
        .unwrap();
    tracker_http::announce(&http, &params(3, 7003, 10, Event::Started), timeout)
        .await
        .unwrap();
    let over_http = tracker_http::scrape(&http, [0x5A; 20], timeout)
        .await
        .unwrap();
    assert_eq!(
        over_http,
        ScrapeResult {
            seeders: 2,
            completed: 1,
            leechers: 1
        }
    );
    let mut u = udp_client(&udp);
    let (seeders, completed, leechers) = u.scrape([0x5A; 20]).await.unwrap();
    assert_eq!(
        ScrapeResult {
            seeders,
            completed,
            leechers
        },
        over_http
    );
    // A torrent the tracker does not know: zeros.
    let none = tracker_http::scrape(&http, [0x11; 20], timeout)
        .await
        .unwrap();
    assert_eq!(none, ScrapeResult::default());
}

/// A leecher that completes and stops at once still announces `completed` (before
/// `stopped`), and the seed's handle scrapes every tracker of the torrent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handle_scrapes_every_tracker_and_completed_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (_t, http, udp) = tracker().await;
    let no_scrape = "http://127.0.0.1:9/tracker".to_owned();
    let (meta, data) = common::make_torrent(
        dir.path(),
        "scraped.bin",
        &[("", 1024 * 1024 + 77)],
        64 * 1024,
        vec![http.clone(), udp.clone(), no_scrape.clone()],
    );
    let seed = common::session().await;
    let sh = seed
        .add_torrent(AddTorrent::seed(meta.clone(), &data))
        .await
        .unwrap();
    assert_eq!(sh.trackers().len(), 3);
    for i in 0..2 {
        let leech = common::session().await;
        let lh = leech
            .add_torrent(AddTorrent::download(
                meta.clone(),
                dir.path().join(format!("out{i}")),
            ))
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(60), lh.wait_complete())
            .await
            .expect("download timed out")
            .unwrap();
        // Stop right away: the announcer owes the tracker `completed`.
        leech.shutdown().await;
    }
    let results = sh.scrape().await;
    let urls: Vec<&str> = results.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(urls, [http.as_str(), udp.as_str(), no_scrape.as_str()]);
    let want = ScrapeResult {
        seeders: 1,
        completed: 2,
        leechers: 0,
    };
    for (url, r) in &results[..2] {
        assert_eq!(r.as_ref().ok(), Some(&want), "{url}: {r:?}");
    }
    assert!(
        matches!(&results[2].1, Err(TrackerError::NoScrape(u)) if *u == no_scrape),
        "{:?}",
        results[2]
    );
    seed.shutdown().await;
}

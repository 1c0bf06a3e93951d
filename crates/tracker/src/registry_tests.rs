//! Unit tests of the registry: counts, events, limits, expiry, whitelist.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use rand::{rngs::StdRng, SeedableRng};

use crate::registry::*;
use crate::types::{InfoHash, PeerId};

fn req(hash: u8, peer: u8, left: u64, event: Event) -> AnnounceRequest {
    AnnounceRequest {
        info_hash: InfoHash([hash; 20]),
        peer_id: PeerId([peer; 20]),
        addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 6000 + peer as u16),
        event,
        left,
        uploaded: 0,
        downloaded: 0,
        numwant: None,
    }
}

fn small() -> RegistryConfig {
    RegistryConfig {
        interval: Duration::from_secs(100),
        peer_timeout: Duration::from_secs(250),
        max_torrents: 3,
        max_peers_per_torrent: 5,
        max_peers_total: 8,
        ..RegistryConfig::default()
    }
}

#[test]
fn seeders_leechers_completed() {
    let mut r = Registry::new(small(), None);
    let mut rng = StdRng::seed_from_u64(1);
    let t = Instant::now();
    let a = r
        .announce(&req(1, 1, 0, Event::Started), t, &mut rng)
        .unwrap();
    assert_eq!((a.complete, a.incomplete, a.peers.len()), (1, 0, 0));
    let b = r
        .announce(&req(1, 2, 100, Event::Started), t, &mut rng)
        .unwrap();
    assert_eq!((b.complete, b.incomplete), (1, 1));
    assert_eq!(b.peers.len(), 1);
    assert_eq!(b.peers[0].id, PeerId([1; 20]));
    assert_eq!(b.peers[0].addr.port(), 6001);
    // Completed counts once, even if sent twice.
    for _ in 0..2 {
        let c = r
            .announce(&req(1, 2, 0, Event::Completed), t, &mut rng)
            .unwrap();
        assert_eq!((c.complete, c.incomplete, c.downloaded), (2, 0, 1));
        // A seeder is offered only leechers: there are none.
        assert!(c.peers.is_empty());
    }
    assert_eq!(
        r.scrape(&[InfoHash([1; 20]), InfoHash([9; 20])]),
        vec![
            ScrapeCounts {
                complete: 2,
                downloaded: 1,
                incomplete: 0
            },
            ScrapeCounts::default()
        ]
    );
    let totals = r.totals();
    assert_eq!(
        (
            totals.torrents,
            totals.seeders,
            totals.leechers,
            totals.completed
        ),
        (1, 2, 0, 1)
    );
    r.announce(&req(1, 1, 0, Event::Stopped), t, &mut rng)
        .unwrap();
    assert_eq!(r.scrape(&[InfoHash([1; 20])])[0].complete, 1);
    assert_eq!(r.sizes(), (1, 1));
}

#[test]
fn stopped_unknown_creates_nothing() {
    let mut r = Registry::new(small(), None);
    let mut rng = StdRng::seed_from_u64(1);
    let a = r
        .announce(&req(1, 1, 5, Event::Stopped), Instant::now(), &mut rng)
        .unwrap();
    assert!(a.peers.is_empty());
    assert_eq!(r.sizes(), (0, 0));
}

#[test]
fn limits_refuse_torrents_and_do_not_store_peers() {
    let mut r = Registry::new(small(), None);
    let mut rng = StdRng::seed_from_u64(1);
    let t = Instant::now();
    for h in 0..3 {
        r.announce(&req(h, 0, 1, Event::Started), t, &mut rng)
            .unwrap();
    }
    assert_eq!(
        r.announce(&req(3, 0, 1, Event::Started), t, &mut rng),
        Err(AnnounceError::TooManyTorrents)
    );
    // Per torrent: 5 peers at most; the 6th still gets an answer.
    for p in 1..10 {
        let a = r.announce(&req(0, p, 1, Event::None), t, &mut rng).unwrap();
        assert!(a.incomplete <= 5);
    }
    assert_eq!(r.scrape(&[InfoHash([0; 20])])[0].incomplete, 5);
    // Overall: 8 peers at most (5 + 1 + 1 so far, one more fits).
    for p in 1..10 {
        r.announce(&req(1, p, 1, Event::None), t, &mut rng).unwrap();
    }
    assert_eq!(r.sizes(), (3, 8));
    assert!(r.totals().peers_refused > 0);
    assert_eq!(r.totals().torrents_refused, 1);
}

#[test]
fn expiry_drops_silent_peers_and_empty_torrents() {
    let mut r = Registry::new(small(), None);
    let mut rng = StdRng::seed_from_u64(1);
    let t = Instant::now();
    r.announce(&req(1, 1, 0, Event::Started), t, &mut rng)
        .unwrap();
    r.announce(&req(1, 2, 9, Event::Started), t, &mut rng)
        .unwrap();
    r.announce(&req(2, 3, 9, Event::Started), t, &mut rng)
        .unwrap();
    r.announce(
        &req(1, 2, 9, Event::None),
        t + Duration::from_secs(200),
        &mut rng,
    )
    .unwrap();
    r.expire(t + Duration::from_secs(300));
    assert_eq!(r.sizes(), (1, 1));
    let totals = r.totals();
    assert_eq!((totals.seeders, totals.leechers), (0, 1));
    r.expire(t + Duration::from_secs(1000));
    assert_eq!(r.sizes(), (0, 0));
}

#[test]
fn whitelist_refuses_unknown_hashes() {
    let list: HashSet<InfoHash> = [InfoHash([1; 20])].into_iter().collect();
    let mut r = Registry::new(small(), Some(list));
    let mut rng = StdRng::seed_from_u64(1);
    let t = Instant::now();
    assert!(r
        .announce(&req(1, 1, 0, Event::Started), t, &mut rng)
        .is_ok());
    assert_eq!(
        r.announce(&req(2, 1, 0, Event::Started), t, &mut rng),
        Err(AnnounceError::NotWhitelisted)
    );
    r.set_whitelist(Some(HashSet::new()));
    assert_eq!(r.sizes(), (0, 0));
}

#[test]
fn families_are_separate_and_mapped_v4_is_v4() {
    let mut r = Registry::new(small(), None);
    let mut rng = StdRng::seed_from_u64(1);
    let t = Instant::now();
    let mut a = req(1, 1, 0, Event::Started);
    a.addr = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 7000);
    r.announce(&a, t, &mut rng).unwrap();
    let mut b = req(1, 2, 5, Event::Started);
    b.addr = SocketAddr::new(
        IpAddr::V6(Ipv4Addr::new(127, 0, 0, 1).to_ipv6_mapped()),
        7001,
    );
    let rb = r.announce(&b, t, &mut rng).unwrap();
    assert_eq!((rb.complete, rb.incomplete), (1, 1));
    assert!(rb.peers.is_empty(), "an IPv4 peer gets no IPv6 peers");
    let mut c = req(1, 3, 5, Event::Started);
    c.addr = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 7002);
    let rc = r.announce(&c, t, &mut rng).unwrap();
    assert_eq!(rc.peers.len(), 1);
    assert_eq!(
        rc.peers[0].addr,
        SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 7000)
    );
}

#[test]
fn numwant_is_capped() {
    let cfg = RegistryConfig {
        max_numwant: 3,
        ..RegistryConfig::default()
    };
    let mut r = Registry::new(cfg, None);
    let mut rng = StdRng::seed_from_u64(1);
    let t = Instant::now();
    for p in 0..10 {
        r.announce(&req(1, p, 1, Event::None), t, &mut rng).unwrap();
    }
    let mut q = req(1, 50, 1, Event::None);
    q.numwant = Some(1000);
    assert_eq!(r.announce(&q, t, &mut rng).unwrap().peers.len(), 3);
    q.numwant = Some(0);
    assert_eq!(r.announce(&q, t, &mut rng).unwrap().peers.len(), 0);
}

#[test]
fn leecher_leaving_finished_counts_as_completed_once() {
    let mut r = Registry::new(small(), None);
    let mut rng = StdRng::seed_from_u64(1);
    let t = Instant::now();
    r.announce(&req(1, 1, 0, Event::Started), t, &mut rng)
        .unwrap();
    r.announce(&req(1, 2, 9, Event::Started), t, &mut rng)
        .unwrap();
    // Finished without `completed`, then leaves: counted once.
    r.announce(&req(1, 2, 0, Event::None), t, &mut rng).unwrap();
    r.announce(&req(1, 2, 0, Event::Completed), t, &mut rng)
        .unwrap();
    r.announce(&req(1, 2, 0, Event::Stopped), t, &mut rng)
        .unwrap();
    assert_eq!(
        r.scrape(&[InfoHash([1; 20])])[0],
        ScrapeCounts {
            complete: 1,
            downloaded: 1,
            incomplete: 0
        }
    );
    // Leaves with `stopped`, left=0 directly (aria2c --seed-time=0).
    r.announce(&req(1, 3, 9, Event::Started), t, &mut rng)
        .unwrap();
    r.announce(&req(1, 3, 0, Event::Stopped), t, &mut rng)
        .unwrap();
    assert_eq!(r.scrape(&[InfoHash([1; 20])])[0].downloaded, 2);
    // A seeder stopping is not a download.
    r.announce(&req(1, 1, 0, Event::Stopped), t, &mut rng)
        .unwrap();
    assert_eq!(r.totals().completed, 2);
}

#[test]
fn a_peer_is_counted_once_across_stopped_and_started() {
    let mut r = Registry::new(small(), None);
    let mut rng = StdRng::seed_from_u64(1);
    let t = Instant::now();
    let downloaded = |r: &Registry| r.scrape(&[InfoHash([1; 20])])[0].downloaded;
    r.announce(&req(1, 1, 0, Event::Started), t, &mut rng)
        .unwrap();
    r.announce(&req(1, 2, 9, Event::Started), t, &mut rng)
        .unwrap();
    r.announce(&req(1, 2, 0, Event::Completed), t, &mut rng)
        .unwrap();
    assert_eq!(downloaded(&r), 1);
    r.announce(&req(1, 2, 0, Event::Stopped), t, &mut rng)
        .unwrap();
    // Back as a leecher (new session), finishing again, leaving with left=0.
    r.announce(&req(1, 2, 9, Event::Started), t, &mut rng)
        .unwrap();
    r.announce(&req(1, 2, 0, Event::Completed), t, &mut rng)
        .unwrap();
    r.announce(&req(1, 2, 0, Event::Stopped), t, &mut rng)
        .unwrap();
    r.announce(&req(1, 2, 9, Event::Started), t, &mut rng)
        .unwrap();
    r.announce(&req(1, 2, 0, Event::Stopped), t, &mut rng)
        .unwrap();
    assert_eq!(downloaded(&r), 1);
    // `stopped` with left=0 overtaking `completed` (reordered UDP or parallel HTTP).
    r.announce(&req(1, 3, 9, Event::Started), t, &mut rng)
        .unwrap();
    r.announce(&req(1, 3, 0, Event::Stopped), t, &mut rng)
        .unwrap();
    r.announce(&req(1, 3, 0, Event::Completed), t, &mut rng)
        .unwrap();
    assert_eq!(downloaded(&r), 2);
    assert_eq!(r.totals().completed, 2);
}

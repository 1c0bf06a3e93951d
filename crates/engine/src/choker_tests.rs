//! Tests of the choker.

use super::*;
use rand::rngs::SmallRng;
use rand::SeedableRng;

fn peer(key: u32, rate: u64, t0: Instant) -> ChokerPeer {
    ChokerPeer {
        key: PeerKey(key),
        interested: true,
        snubbed: false,
        is_seed: false,
        download_rate: rate,
        upload_rate: 0,
        connected_at: t0,
        unchoked: false,
        idle: false,
        queued: false,
    }
}

fn apply(peers: &mut [ChokerPeer], d: &ChokeDecision) {
    for p in peers.iter_mut() {
        if d.unchoke.contains(&p.key) {
            p.unchoked = true;
        }
        if d.choke.contains(&p.key) {
            p.unchoked = false;
        }
    }
}

fn unchoked(peers: &[ChokerPeer]) -> Vec<u32> {
    peers
        .iter()
        .filter(|p| p.unchoked)
        .map(|p| p.key.0)
        .collect()
}

#[test]
fn four_fastest_plus_one_optimistic() {
    let t0 = Instant::now();
    let mut peers: Vec<ChokerPeer> = (0..10).map(|i| peer(i, u64::from(i) * 100, t0)).collect();
    let mut c = Choker::new(ChokerConfig::default());
    let mut rng = SmallRng::seed_from_u64(1);
    let d = c.rechoke(&peers, false, t0, &mut rng);
    apply(&mut peers, &d);
    let on = unchoked(&peers);
    assert_eq!(on.len(), 5);
    for k in [6, 7, 8, 9] {
        assert!(on.contains(&k));
    }
    let opt = d.optimistic.unwrap();
    assert!(opt.0 < 6);
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(10)));
}

#[test]
fn seeding_ranks_by_upload_rate() {
    let t0 = Instant::now();
    let mut peers: Vec<ChokerPeer> = (0..6)
        .map(|i| ChokerPeer {
            upload_rate: 1000 - u64::from(i) * 100,
            download_rate: u64::from(i) * 100,
            ..peer(i, 0, t0)
        })
        .collect();
    let mut c = Choker::new(ChokerConfig {
        regular_slots: 2,
        ..ChokerConfig::default()
    });
    let d = c.rechoke(&peers, true, t0, &mut SmallRng::seed_from_u64(3));
    apply(&mut peers, &d);
    let on = unchoked(&peers);
    assert!(on.contains(&0) && on.contains(&1));
}

#[test]
fn uninterested_seeds_and_snubbed_get_no_regular_slot() {
    let t0 = Instant::now();
    let mut peers = vec![
        ChokerPeer {
            interested: false,
            ..peer(0, 9000, t0)
        },
        ChokerPeer {
            is_seed: true,
            ..peer(1, 9000, t0)
        },
        ChokerPeer {
            snubbed: true,
            ..peer(2, 9000, t0)
        },
        peer(3, 10, t0),
    ];
    let mut c = Choker::new(ChokerConfig::default());
    let d = c.rechoke(&peers, false, t0, &mut SmallRng::seed_from_u64(3));
    apply(&mut peers, &d);
    let on = unchoked(&peers);
    assert!(on.contains(&3));
    assert!(!on.contains(&0) && !on.contains(&1));
    // The snubbed peer can only be the optimistic unchoke.
    assert_eq!(d.optimistic, Some(PeerKey(2)));
}

#[test]
fn optimistic_rotates_every_30_seconds_not_every_10() {
    let t0 = Instant::now();
    let old = t0 - Duration::from_secs(1000).min(t0.elapsed());
    let mut peers: Vec<ChokerPeer> = (0..8).map(|i| peer(i, 0, old)).collect();
    for p in peers.iter_mut().take(4) {
        p.download_rate = 1000;
    }
    let mut c = Choker::new(ChokerConfig::default());
    let mut rng = SmallRng::seed_from_u64(5);
    let first = c.rechoke(&peers, false, t0, &mut rng).optimistic;
    for s in [10, 20] {
        let d = c.rechoke(&peers, false, t0 + Duration::from_secs(s), &mut rng);
        assert_eq!(d.optimistic, first, "kept at {s}s");
    }
    let d = c.rechoke(&peers, false, t0 + Duration::from_secs(30), &mut rng);
    assert!(d.optimistic.is_some());
    assert_ne!(
        d.optimistic, first,
        "rotated at 30s (there are 4 candidates)"
    );
}

#[test]
fn changes_are_relative_to_current_state() {
    let t0 = Instant::now();
    let mut peers: Vec<ChokerPeer> = (0..3).map(|i| peer(i, 100, t0)).collect();
    let mut c = Choker::new(ChokerConfig {
        regular_slots: 1,
        ..ChokerConfig::default()
    });
    let mut rng = SmallRng::seed_from_u64(9);
    let d = c.rechoke(&peers, false, t0, &mut rng);
    assert_eq!(d.unchoke.len(), 2);
    assert!(d.choke.is_empty());
    apply(&mut peers, &d);
    // Peer 0 becomes uninterested: it gets choked.
    let was = peers[0].unchoked;
    peers[0].interested = false;
    let d = c.rechoke(&peers, false, t0 + Duration::from_secs(10), &mut rng);
    if was {
        assert!(d.choke.contains(&PeerKey(0)));
    }
    apply(&mut peers, &d);
    assert!(!peers[0].unchoked);
}

#[test]
fn new_peers_are_favoured_for_optimistic() {
    let t0 = Instant::now() + Duration::from_secs(1000);
    let old = t0 - Duration::from_secs(500);
    // 1 new peer vs 3 old ones: weight 3 vs 3, so about half of the draws.
    let mut peers: Vec<ChokerPeer> = (0..4).map(|i| peer(i, 0, old)).collect();
    peers[0].connected_at = t0;
    let config = ChokerConfig {
        regular_slots: 0,
        ..ChokerConfig::default()
    };
    let mut rng = SmallRng::seed_from_u64(11);
    let mut new_wins = 0;
    for _ in 0..1000 {
        let mut c = Choker::new(config);
        if c.rechoke(&peers, false, t0, &mut rng).optimistic == Some(PeerKey(0)) {
            new_wins += 1;
        }
    }
    assert!(
        (400..600).contains(&new_wins),
        "new peer drawn {new_wins}/1000"
    );
}

#[test]
fn no_interested_peer_no_unchoke() {
    let t0 = Instant::now();
    let peers = vec![ChokerPeer {
        interested: false,
        ..peer(0, 0, t0)
    }];
    let mut c = Choker::new(ChokerConfig::default());
    let d = c.rechoke(&peers, false, t0, &mut SmallRng::seed_from_u64(1));
    assert_eq!(d, ChokeDecision::default());
    assert!(!c.is_due(t0));
    assert!(c.is_due(t0 + Duration::from_secs(10)));
}

#[test]
fn fill_gives_a_lost_interest_slot_to_another_peer_at_once() {
    let t0 = Instant::now();
    let mut peers: Vec<ChokerPeer> = (0..10).map(|i| peer(i, u64::from(i) * 100, t0)).collect();
    let mut c = Choker::new(ChokerConfig::default());
    let mut rng = SmallRng::seed_from_u64(4);
    let d = c.rechoke(&peers, false, t0, &mut rng);
    apply(&mut peers, &d);
    let before = unchoked(&peers);
    // Peer 9 (a regular slot) got everything we have; rates changed meanwhile.
    peers[9].interested = false;
    peers[1].download_rate = 5000;
    let later = t0 + Duration::from_secs(1);
    let d = c.fill(&peers, false, later, &mut rng);
    assert_eq!(d.choke, vec![PeerKey(9)]);
    assert_eq!(d.unchoke.len(), 1, "{d:?}");
    apply(&mut peers, &d);
    // The others keep their slots; the best interested choked peer takes the free one.
    let after = unchoked(&peers);
    assert_eq!(after.len(), 5);
    for k in before.iter().filter(|k| **k != 9) {
        assert!(after.contains(k));
    }
    assert!(after.contains(&1) || before.contains(&1));
    // The 10 s timer is not restarted.
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(10)));
}

#[test]
fn fill_displaces_nobody_when_the_slots_are_taken() {
    let t0 = Instant::now();
    let mut peers: Vec<ChokerPeer> = (0..6).map(|i| peer(i, 100, t0)).collect();
    peers[5].interested = false;
    let mut c = Choker::new(ChokerConfig::default());
    let mut rng = SmallRng::seed_from_u64(5);
    let d = c.rechoke(&peers, false, t0, &mut rng);
    apply(&mut peers, &d);
    assert_eq!(unchoked(&peers).len(), 5);
    // A fast peer becomes interested: it waits for the next re-evaluation.
    peers[5].interested = true;
    peers[5].download_rate = 10_000;
    let d = c.fill(&peers, false, t0, &mut rng);
    assert!(d.unchoke.is_empty() && d.choke.is_empty(), "{d:?}");
}

#[test]
fn fill_takes_free_slots_and_a_vacant_optimistic_slot() {
    let t0 = Instant::now();
    let mut peers: Vec<ChokerPeer> = (0..8).map(|i| peer(i, 0, t0)).collect();
    for p in peers.iter_mut() {
        p.interested = false;
    }
    let mut c = Choker::new(ChokerConfig::default());
    let mut rng = SmallRng::seed_from_u64(6);
    let d = c.rechoke(&peers, false, t0, &mut rng);
    assert!(d.unchoke.is_empty() && d.optimistic.is_none());
    // Peers become interested one by one: each takes a free slot, up to 4 + 1.
    for i in 0..8 {
        peers[i].interested = true;
        let d = c.fill(&peers, false, t0, &mut rng);
        apply(&mut peers, &d);
        assert_eq!(unchoked(&peers).len(), (i + 1).min(5));
    }
    let opt = c.optimistic().unwrap();
    // The optimistic peer loses interest: another is drawn, the regulars stay.
    let regulars: Vec<u32> = unchoked(&peers)
        .into_iter()
        .filter(|k| *k != opt.0)
        .collect();
    peers[opt.0 as usize].interested = false;
    let d = c.fill(&peers, false, t0, &mut rng);
    apply(&mut peers, &d);
    assert_eq!(d.choke, vec![opt]);
    let new_opt = c.optimistic().unwrap();
    assert_ne!(new_opt, opt);
    let now_on = unchoked(&peers);
    assert_eq!(now_on.len(), 5);
    for k in regulars {
        assert!(now_on.contains(&k));
    }
    assert!(now_on.contains(&new_opt.0));
}

#[test]
fn fill_gives_idle_slots_to_waiting_peers_one_for_one() {
    let t0 = Instant::now();
    let mut peers: Vec<ChokerPeer> = (0..7)
        .map(|i| ChokerPeer {
            upload_rate: 1000 - u64::from(i) * 100,
            ..peer(i, 0, t0)
        })
        .collect();
    let mut c = Choker::new(ChokerConfig::default());
    let mut rng = SmallRng::seed_from_u64(7);
    let d = c.rechoke(&peers, true, t0, &mut rng);
    apply(&mut peers, &d);
    let before = unchoked(&peers);
    assert_eq!(before.len(), 5);
    let waiting: Vec<u32> = (0..7).filter(|k| !before.contains(k)).collect();
    assert_eq!(waiting.len(), 2);
    // Three unchoked peers ask for nothing any more: two of them make way for the two
    // waiting peers; the third keeps its slot (nobody else wants one).
    let idle: Vec<u32> = before[..3].to_vec();
    for p in peers.iter_mut() {
        p.idle = idle.contains(&p.key.0);
    }
    let d = c.fill(&peers, true, t0 + Duration::from_secs(2), &mut rng);
    assert_eq!(d.choke.len(), 2, "{d:?}");
    assert!(d.choke.iter().all(|k| idle.contains(&k.0)));
    apply(&mut peers, &d);
    let after = unchoked(&peers);
    assert_eq!(after.len(), 5);
    for k in &waiting {
        assert!(after.contains(k), "{after:?}");
    }
    for k in &before[3..] {
        assert!(after.contains(k));
    }
    // Nobody waits now (the peers choked for idling lost interest): idle peers keep
    // their slots.
    for p in peers.iter_mut() {
        p.idle = p.unchoked;
        p.interested = p.unchoked;
    }
    let d = c.fill(&peers, true, t0 + Duration::from_secs(3), &mut rng);
    assert!(d.choke.is_empty() && d.unchoke.is_empty(), "{d:?}");
}

#[test]
fn rechoke_ranks_idle_peers_last() {
    let t0 = Instant::now();
    let mut peers: Vec<ChokerPeer> = (0..6).map(|i| peer(i, 1000 + u64::from(i), t0)).collect();
    for p in peers.iter_mut().take(5) {
        p.unchoked = true;
    }
    // The fastest peer idles in its slot: a waiting peer gets a regular slot instead,
    // and the idle one is not drawn as the optimistic unchoke either.
    peers[4].idle = true;
    let mut c = Choker::new(ChokerConfig {
        regular_slots: 4,
        ..ChokerConfig::default()
    });
    let d = c.rechoke(&peers, false, t0, &mut SmallRng::seed_from_u64(8));
    apply(&mut peers, &d);
    let on = unchoked(&peers);
    for k in [0, 1, 2, 3, 5] {
        assert!(on.contains(&k), "{on:?}");
    }
}

const MIB: u64 = 1 << 20;

fn capped(rate: u64) -> UploadUse {
    UploadUse {
        rate,
        limit: Some(2 * MIB),
    }
}

#[test]
fn an_unsaturated_capped_upload_opens_slots_for_waiting_peers() {
    let t0 = Instant::now();
    let mut peers: Vec<ChokerPeer> = (0..20).map(|i| peer(i, 0, t0)).collect();
    let mut c = Choker::new(ChokerConfig::default());
    let mut rng = SmallRng::seed_from_u64(9);
    c.resize(capped(2 * MIB), &peers, true, t0);
    let d = c.rechoke(&peers, true, t0, &mut rng);
    apply(&mut peers, &d);
    assert_eq!(unchoked(&peers).len(), 5);
    // The five unchoked peers use a quarter of the cap (they are nearly done): the
    // unused 75% at a fifth of the cap per slot is four more slots (3.75 rounded up).
    let t1 = t0 + Duration::from_millis(500);
    c.resize(capped(2 * MIB / 4), &peers, true, t1);
    assert_eq!(c.regular_slots(), 8);
    let d = c.fill(&peers, true, t1, &mut rng);
    assert_eq!(d.unchoke.len(), 4, "{d:?}");
    assert!(d.choke.is_empty());
    apply(&mut peers, &d);
    assert_eq!(unchoked(&peers).len(), 9);
    // Within a second of a change the rate does not show it yet: no change.
    c.resize(capped(0), &peers, true, t1 + Duration::from_millis(500));
    assert_eq!(c.regular_slots(), 8);
    // Still unsaturated a second later: more again, never more than peers wait.
    let t2 = t1 + Duration::from_secs(1);
    for (i, p) in peers.iter_mut().filter(|p| !p.unchoked).enumerate() {
        p.interested = i < 2;
    }
    c.resize(capped(0), &peers, true, t2);
    assert_eq!(c.regular_slots(), 10);
    // At most `max_extra_slots` above the regular slots.
    for p in peers.iter_mut() {
        p.unchoked = p.key.0 < 5;
        p.interested = true;
    }
    let mut small = Choker::new(ChokerConfig {
        max_extra_slots: 2,
        ..ChokerConfig::default()
    });
    small.resize(capped(0), &peers, true, t0);
    assert_eq!(small.regular_slots(), 6);
}

#[test]
fn a_saturated_upload_closes_opened_slots_one_at_a_time() {
    let t0 = Instant::now();
    let mut peers: Vec<ChokerPeer> = (0..20).map(|i| peer(i, 0, t0)).collect();
    for p in peers.iter_mut().take(5) {
        p.unchoked = true;
    }
    let mut c = Choker::new(ChokerConfig::default());
    c.resize(capped(0), &peers, true, t0);
    assert_eq!(c.regular_slots(), 9);
    for p in peers.iter_mut() {
        p.unchoked = false;
    }
    // Saturated (at or over 90% of the cap): one fewer per second.
    let mut t = t0;
    for want in [8, 7, 6, 5, 4, 4] {
        t += Duration::from_secs(1);
        c.resize(capped(2 * MIB * 95 / 100), &peers, true, t);
        assert_eq!(c.regular_slots(), want);
    }
    // A regular re-evaluation unchokes no more than the slots.
    let mut rng = SmallRng::seed_from_u64(10);
    let mut all_on = peers.clone();
    for p in all_on.iter_mut() {
        p.unchoked = true;
    }
    let d = c.rechoke(&all_on, true, t, &mut rng);
    apply(&mut all_on, &d);
    assert_eq!(unchoked(&all_on).len(), 5);
}

#[test]
fn slots_stay_four_uncapped_or_with_nobody_waiting() {
    let t0 = Instant::now();
    let mut peers: Vec<ChokerPeer> = (0..20).map(|i| peer(i, 0, t0)).collect();
    let mut c = Choker::new(ChokerConfig::default());
    // No cap: an idle upload says nothing about what the link could carry.
    c.resize(
        UploadUse {
            rate: 0,
            limit: None,
        },
        &peers,
        true,
        t0,
    );
    assert_eq!(c.regular_slots(), 4);
    // Capped and idle, but every interested peer is unchoked already.
    for p in peers.iter_mut() {
        p.interested = p.key.0 < 5;
        p.unchoked = p.key.0 < 5;
    }
    c.resize(capped(0), &peers, true, t0 + Duration::from_secs(1));
    assert_eq!(c.regular_slots(), 4);
    // Choked snubbed peers wait only for a seed (a downloader gives them no slot).
    for p in peers.iter_mut().skip(5).take(3) {
        p.interested = true;
        p.snubbed = true;
    }
    c.resize(capped(0), &peers, false, t0 + Duration::from_secs(2));
    assert_eq!(c.regular_slots(), 4);
    c.resize(capped(0), &peers, true, t0 + Duration::from_secs(3));
    assert_eq!(c.regular_slots(), 7);
}

#[test]
fn no_slots_open_while_every_unchoked_peer_has_something_queued() {
    let t0 = Instant::now();
    let mut peers: Vec<ChokerPeer> = (0..20).map(|i| peer(i, 0, t0)).collect();
    for p in peers.iter_mut().take(5) {
        p.unchoked = true;
        p.queued = true;
    }
    let mut c = Choker::new(ChokerConfig::default());
    // Far below the cap, peers waiting, but every slot has blocks waiting to go: the
    // shortfall is not for want of requests (the CPU, the disk or the receivers are
    // slower), and more slots would only queue more.
    c.resize(capped(0), &peers, true, t0);
    assert_eq!(c.regular_slots(), 4);
    // Two slots go unused: at most two more open.
    peers[0].queued = false;
    peers[1].queued = false;
    c.resize(capped(0), &peers, true, t0 + Duration::from_secs(1));
    assert_eq!(c.regular_slots(), 6);
}

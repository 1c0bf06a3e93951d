//! Tests of the piece picker.

use super::*;
use rand::rngs::SmallRng;
use rand::SeedableRng;

const B: u32 = crate::geometry::BLOCK_LEN;

fn picker(pieces: u32, blocks_per_piece: u32) -> PiecePicker {
    let g = Geometry::new(
        B * blocks_per_piece,
        u64::from(B * blocks_per_piece) * u64::from(pieces),
    )
    .unwrap();
    PiecePicker::new(g, PickerConfig::default())
}

fn bits(len: u32, ones: &[u32]) -> Bitfield {
    let mut b = Bitfield::new(len);
    for &p in ones {
        b.set(p, true);
    }
    b
}

fn unchoked(peer: u32, has: &Bitfield) -> PickFor<'_> {
    PickFor {
        peer: PeerKey(peer),
        has,
        choked: false,
        allowed_fast: &[],
        suggested: &[],
        outstanding: 0,
    }
}

fn rng() -> SmallRng {
    SmallRng::seed_from_u64(7)
}

#[test]
fn picks_rarest_piece_first() {
    let mut pp = picker(4, 2);
    // piece 2 is held by one peer, the others by three.
    for _ in 0..3 {
        pp.peer_bitfield(&bits(4, &[0, 1, 3]));
    }
    pp.peer_bitfield(&bits(4, &[2]));
    let all = Bitfield::full(4);
    let got = pp.pick(&unchoked(1, &all), 2, &mut rng());
    assert_eq!(got.iter().map(|b| b.piece).collect::<Vec<_>>(), vec![2, 2]);
    assert_eq!(got[1].offset, B);
}

#[test]
fn random_tie_break_spreads_first_pieces() {
    let all = Bitfield::full(64);
    let mut firsts = std::collections::BTreeSet::new();
    for seed in 0..20 {
        let mut pp = picker(64, 1);
        pp.peer_bitfield(&all);
        let got = pp.pick(&unchoked(1, &all), 1, &mut SmallRng::seed_from_u64(seed));
        firsts.insert(got[0].piece);
    }
    assert!(firsts.len() > 5, "tie-break is not random: {firsts:?}");
}

#[test]
fn same_seed_same_picks() {
    let all = Bitfield::full(100);
    let run = || {
        let mut pp = picker(100, 2);
        pp.peer_bitfield(&all);
        pp.pick(&unchoked(1, &all), 30, &mut rng())
    };
    assert_eq!(run(), run());
}

#[test]
fn partial_pieces_come_first() {
    let mut pp = picker(10, 4);
    let all = Bitfield::full(10);
    pp.peer_bitfield(&all);
    let first = pp.pick(&unchoked(1, &all), 2, &mut rng());
    let piece = first[0].piece;
    assert!(first.iter().all(|b| b.piece == piece));
    // Another peer continues the same piece before starting a new one.
    let second = pp.pick(&unchoked(2, &all), 2, &mut rng());
    assert!(second.iter().all(|b| b.piece == piece));
    assert_eq!(second[0].offset, 2 * B);
}

#[test]
fn piece_affinity_keeps_peers_on_their_own_pieces() {
    let g = Geometry::new(B * 4, u64::from(B * 4) * 10).unwrap();
    let config = PickerConfig {
        piece_affinity: true,
        ..PickerConfig::default()
    };
    let mut pp = PiecePicker::new(g, config);
    let all = Bitfield::full(10);
    pp.peer_bitfield(&all);
    let first = pp.pick(&unchoked(1, &all), 2, &mut rng());
    let piece = first[0].piece;
    // Another peer starts a fresh piece instead of joining peer 1's.
    let second = pp.pick(&unchoked(2, &all), 2, &mut rng());
    assert!(second.iter().all(|b| b.piece != piece));
    // Peer 1 continues its own piece.
    let third = pp.pick(&unchoked(1, &all), 2, &mut rng());
    assert!(third.iter().all(|b| b.piece == piece));
    // With no fresh piece left, others' partials are shared again (then endgame).
    let other = second[0].piece;
    let rest = pp.pick(&unchoked(3, &all), 34, &mut rng());
    assert_eq!(rest.len(), 34);
    assert!(rest.iter().any(|b| b.piece == other && b.offset == 2 * B));
}

#[test]
fn only_pieces_the_peer_has() {
    let mut pp = picker(8, 1);
    let has = bits(8, &[5]);
    pp.peer_bitfield(&has);
    let got = pp.pick(&unchoked(1, &has), 10, &mut rng());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].piece, 5);
    assert!(pp.pick(&unchoked(1, &has), 10, &mut rng()).len() <= 1);
}

#[test]
fn choked_peer_only_gives_allowed_fast_pieces() {
    let mut pp = picker(8, 1);
    let all = Bitfield::full(8);
    pp.peer_bitfield(&all);
    let peer = PickFor {
        peer: PeerKey(1),
        has: &all,
        choked: true,
        allowed_fast: &[6, 3],
        suggested: &[],
        outstanding: 0,
    };
    let got = pp.pick(&peer, 10, &mut rng());
    let mut pieces: Vec<u32> = got.iter().map(|b| b.piece).collect();
    pieces.sort_unstable();
    assert_eq!(pieces, vec![3, 6]);
    let none = PickFor {
        allowed_fast: &[],
        ..peer
    };
    assert!(pp.pick(&none, 10, &mut rng()).is_empty());
}

#[test]
fn suggestion_breaks_ties() {
    let mut pp = picker(50, 1);
    let all = Bitfield::full(50);
    pp.peer_bitfield(&all);
    let peer = PickFor {
        suggested: &[42],
        ..unchoked(1, &all)
    };
    assert_eq!(pp.pick(&peer, 1, &mut rng())[0].piece, 42);
    // A suggestion does not beat rarity.
    let mut pp = picker(50, 1);
    pp.peer_bitfield(&all);
    pp.peer_bitfield(&bits(50, &[42]));
    assert_ne!(pp.pick(&peer, 1, &mut rng())[0].piece, 42);
}

#[test]
fn unwanted_pieces_are_not_picked() {
    let mut pp = picker(4, 1);
    let all = Bitfield::full(4);
    pp.peer_bitfield(&all);
    // files: piece 0 | pieces 1-2 | piece 3 ; only the middle file is wanted
    pp.set_wanted_files(&[
        (u64::from(B), false),
        (u64::from(2 * B), true),
        (u64::from(B), false),
    ]);
    let mut got: Vec<u32> = pp
        .pick(&unchoked(1, &all), 10, &mut rng())
        .iter()
        .map(|b| b.piece)
        .collect();
    got.sort_unstable();
    assert_eq!(got, vec![1, 2]);
    assert!(!pp.is_interesting(&bits(4, &[0, 3])));
    assert!(pp.is_interesting(&bits(4, &[2])));
}

#[test]
fn file_boundary_inside_piece_keeps_piece_wanted() {
    let mut pp = picker(2, 2);
    // first file ends in the middle of piece 0 and is skipped; second is wanted
    pp.set_wanted_files(&[(u64::from(B), false), (u64::from(3 * B), true)]);
    assert!(pp.wanted().get(0) && pp.wanted().get(1));
    pp.set_wanted_files(&[(u64::from(B), true), (u64::from(3 * B), false)]);
    assert!(pp.wanted().get(0) && !pp.wanted().get(1));
}

#[test]
fn complete_piece_then_verified() {
    let mut pp = picker(2, 2);
    let all = Bitfield::full(2);
    pp.peer_bitfield(&all);
    let got = pp.pick(&unchoked(1, &all), 2, &mut rng());
    let r0 = pp.block_received(PeerKey(1), &got[0]).unwrap();
    assert_eq!(
        r0,
        BlockReceived::New {
            cancel: vec![],
            piece_complete: false
        }
    );
    let r1 = pp.block_received(PeerKey(1), &got[1]).unwrap();
    assert_eq!(
        r1,
        BlockReceived::New {
            cancel: vec![],
            piece_complete: true
        }
    );
    assert_eq!(
        pp.block_received(PeerKey(1), &got[1]).unwrap(),
        BlockReceived::Duplicate
    );
    pp.piece_verified(got[0].piece, true);
    assert!(pp.have().get(got[0].piece));
    assert_eq!(
        pp.block_received(PeerKey(1), &got[0]).unwrap(),
        BlockReceived::Duplicate
    );
    assert!(!pp.is_complete());
}

#[test]
fn failed_hash_resets_the_piece() {
    let mut pp = picker(1, 2);
    let all = Bitfield::full(1);
    pp.peer_bitfield(&all);
    let got = pp.pick(&unchoked(1, &all), 2, &mut rng());
    for b in &got {
        pp.block_received(PeerKey(1), b).unwrap();
    }
    assert!(pp.pick(&unchoked(2, &all), 2, &mut rng()).is_empty());
    pp.piece_verified(0, false);
    assert!(!pp.have().get(0));
    assert_eq!(pp.pick(&unchoked(2, &all), 2, &mut rng()), got);
}

#[test]
fn released_blocks_are_picked_again() {
    let mut pp = picker(1, 4);
    let all = Bitfield::full(1);
    pp.peer_bitfield(&all);
    let got = pp.pick(&unchoked(1, &all), 4, &mut rng());
    pp.block_received(PeerKey(1), &got[0]).unwrap();
    pp.release(PeerKey(1), &got[1]);
    assert_eq!(pp.pick(&unchoked(2, &all), 1, &mut rng()), vec![got[1]]);
    pp.release_peer(PeerKey(1));
    let again = pp.pick(&unchoked(3, &all), 4, &mut rng());
    // The freed blocks; no endgame copy of peer 2's request for a peer that has
    // requests in flight (strict endgame).
    assert_eq!(again, vec![got[2], got[3]]);
}

#[test]
fn disconnect_returns_untouched_piece_to_the_order() {
    let mut pp = picker(3, 2);
    let all = Bitfield::full(3);
    pp.peer_bitfield(&all);
    pp.pick(&unchoked(1, &all), 2, &mut rng());
    assert_eq!(pp.partial_count(), 1);
    pp.peer_left(PeerKey(1), &all);
    assert_eq!(pp.partial_count(), 0);
    assert_eq!(pp.availability(0), 0);
}

fn loose_endgame_picker(pieces: u32, blocks_per_piece: u32) -> PiecePicker {
    let g = picker(pieces, blocks_per_piece).geometry;
    PiecePicker::new(
        g,
        PickerConfig {
            strict_endgame: false,
            ..PickerConfig::default()
        },
    )
}

#[test]
fn strict_endgame_copies_one_block_for_idle_peers_only() {
    let mut pp = picker(2, 4);
    let all = Bitfield::full(2);
    pp.peer_has_all();
    let a = pp.pick(&unchoked(1, &all), 8, &mut rng());
    assert_eq!(a.len(), 8);
    assert!(pp.in_endgame());
    // Peer 1 delivered most of piece 1 but none of piece 0.
    let p1: Vec<BlockInfo> = a.iter().filter(|b| b.piece == 1).copied().collect();
    for b in &p1[..3] {
        pp.block_received(PeerKey(1), b).unwrap();
    }
    // A peer with requests in flight gets no copies.
    let busy = PickFor {
        outstanding: 3,
        ..unchoked(2, &all)
    };
    assert!(pp.pick(&busy, 8, &mut rng()).is_empty());
    // An idle one gets a single block: the one closest to completing its piece.
    let idle = unchoked(2, &all);
    assert_eq!(pp.pick(&idle, 8, &mut rng()), vec![p1[3]]);
    // The next idle peer takes a block nobody else copied yet (fewest requesters).
    let next = pp.pick(&unchoked(3, &all), 8, &mut rng());
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].piece, 0);
    // Arrival of the copy cancels the original.
    let r = pp.block_received(PeerKey(2), &p1[3]).unwrap();
    assert_eq!(
        r,
        BlockReceived::New {
            cancel: vec![PeerKey(1)],
            piece_complete: true
        }
    );
}

#[test]
fn endgame_duplicates_and_cancels() {
    let mut pp = loose_endgame_picker(1, 2);
    let all = Bitfield::full(1);
    pp.peer_bitfield(&all);
    pp.peer_bitfield(&all);
    let a = pp.pick(&unchoked(1, &all), 2, &mut rng());
    assert_eq!(a.len(), 2);
    assert!(pp.in_endgame());
    let b = pp.pick(&unchoked(2, &all), 2, &mut rng());
    assert_eq!(
        b, a,
        "endgame requests the same blocks from the second peer"
    );
    // The same peer never gets a block twice.
    assert!(pp.pick(&unchoked(2, &all), 2, &mut rng()).is_empty());
    let r = pp.block_received(PeerKey(2), &a[0]).unwrap();
    assert_eq!(
        r,
        BlockReceived::New {
            cancel: vec![PeerKey(1)],
            piece_complete: false
        }
    );
}

#[test]
fn endgame_respects_max_requesters() {
    let mut pp = loose_endgame_picker(1, 1);
    let all = Bitfield::full(1);
    pp.peer_has_all();
    for peer in 0..10 {
        pp.pick(&unchoked(peer, &all), 1, &mut rng());
    }
    let r = pp
        .block_received(PeerKey(0), &pp.geometry().block(0, 0))
        .unwrap();
    let BlockReceived::New { cancel, .. } = r else {
        panic!()
    };
    assert_eq!(
        cancel.len(),
        PickerConfig::default().endgame_max_requesters - 1
    );
}

#[test]
fn have_all_counts_without_bitfield() {
    let mut pp = picker(5, 1);
    pp.peer_has_all();
    pp.peer_has(2);
    assert_eq!(pp.availability(2), 2);
    assert_eq!(pp.availability(1), 1);
    pp.seed_left(PeerKey(9));
    assert_eq!(pp.availability(1), 0);
}

#[test]
fn invalid_block_is_an_error_and_unrequested_data_is_kept() {
    let mut pp = picker(2, 2);
    let bad = BlockInfo {
        piece: 0,
        offset: 1,
        length: 10,
    };
    assert!(pp.block_received(PeerKey(1), &bad).is_err());
    let good = pp.geometry().block(1, 1);
    assert!(matches!(
        pp.block_received(PeerKey(1), &good),
        Ok(BlockReceived::New { .. })
    ));
    pp.set_wanted(0, false);
    assert_eq!(
        pp.block_received(PeerKey(1), &pp.geometry().block(0, 0))
            .unwrap(),
        BlockReceived::Unwanted
    );
}

#[test]
fn set_have_and_is_complete() {
    let mut pp = picker(3, 1);
    pp.set_have(0);
    pp.set_have(1);
    pp.set_wanted(2, false);
    assert!(pp.is_complete());
    let all = Bitfield::full(3);
    pp.peer_bitfield(&all);
    assert!(pp.pick(&unchoked(1, &all), 5, &mut rng()).is_empty());
}

#[test]
fn wrong_length_bitfield_picks_nothing() {
    let mut pp = picker(3, 1);
    let other = Bitfield::full(4);
    assert!(pp.pick(&unchoked(1, &other), 5, &mut rng()).is_empty());
}

#[test]
fn full_download_simulation_terminates_with_every_piece() {
    // Three peers with different pieces; deliver everything that is requested.
    let n = 40;
    let mut pp = picker(n, 3);
    let peers: Vec<Bitfield> = vec![
        Bitfield::full(n),
        bits(n, &(0..n).step_by(2).collect::<Vec<_>>()),
        bits(n, &(0..20).collect::<Vec<_>>()),
    ];
    for p in &peers {
        pp.peer_bitfield(p);
    }
    let mut r = rng();
    let mut rounds = 0;
    while !pp.is_complete() {
        rounds += 1;
        assert!(rounds < 1000);
        for (i, has) in peers.iter().enumerate() {
            let got = pp.pick(&unchoked(i as u32, has), 8, &mut r);
            for b in got {
                if let BlockReceived::New {
                    piece_complete: true,
                    ..
                } = pp.block_received(PeerKey(i as u32), &b).unwrap()
                {
                    pp.piece_verified(b.piece, true);
                }
            }
        }
    }
    assert!(pp.have().is_full());
    assert_eq!(pp.partial_count(), 0);
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    #[derive(Debug, Clone)]
    enum Op {
        Pick { peer: u32, n: usize, choked: bool },
        Receive { peer: u32, nth: usize },
        Release { peer: u32, nth: usize },
        Leave { peer: u32 },
        Verify { ok: bool },
        Want { piece: u32, on: bool },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u32..4, 1usize..12, any::<bool>()).prop_map(|(peer, n, choked)| Op::Pick {
                peer,
                n,
                choked
            }),
            (0u32..4, any::<usize>()).prop_map(|(peer, nth)| Op::Receive { peer, nth }),
            (0u32..4, any::<usize>()).prop_map(|(peer, nth)| Op::Release { peer, nth }),
            (0u32..4).prop_map(|peer| Op::Leave { peer }),
            any::<bool>().prop_map(|ok| Op::Verify { ok }),
            (0u32..12, any::<bool>()).prop_map(|(piece, on)| Op::Want { piece, on }),
        ]
    }

    proptest! {
        #[test]
        fn picks_are_always_valid(seed in any::<u64>(), masks in proptest::collection::vec(any::<u16>(), 4), ops in proptest::collection::vec(op(), 1..120)) {
            let n = 12;
            let mut pp = picker(n, 3);
            let has: Vec<Bitfield> = masks.iter().map(|m| bits(n, &(0..n).filter(|p| m & (1 << p) != 0).collect::<Vec<_>>())).collect();
            for h in &has {
                pp.peer_bitfield(h);
            }
            let mut r = SmallRng::seed_from_u64(seed);
            // What each peer has been asked for and not yet answered.
            let mut asked: BTreeMap<u32, Vec<BlockInfo>> = BTreeMap::new();
            let mut complete: BTreeSet<u32> = BTreeSet::new();
            for op in ops {
                match op {
                    Op::Pick { peer, n: count, choked } => {
                        let who = PickFor { peer: PeerKey(peer), has: &has[peer as usize], choked, allowed_fast: &[1, 5], suggested: &[2], outstanding: 0 };
                        let got = pp.pick(&who, count, &mut r);
                        prop_assert!(got.len() <= count);
                        let mine = asked.entry(peer).or_default();
                        for b in &got {
                            prop_assert!(has[peer as usize].get(b.piece));
                            prop_assert!(!pp.have().get(b.piece));
                            prop_assert!(pp.wanted().get(b.piece));
                            prop_assert!(!choked || [1, 5].contains(&b.piece));
                            prop_assert!(!mine.contains(b), "same block twice to one peer");
                            mine.push(*b);
                        }
                    }
                    Op::Receive { peer, nth } => {
                        let mine = asked.entry(peer).or_default();
                        if !mine.is_empty() {
                            let b = mine.remove(nth % mine.len());
                            if let BlockReceived::New { cancel, piece_complete } = pp.block_received(PeerKey(peer), &b).unwrap() {
                                prop_assert!(!cancel.contains(&PeerKey(peer)));
                                for c in cancel {
                                    asked.entry(c.0).or_default().retain(|x| *x != b);
                                    pp.release(c, &b);
                                }
                                if piece_complete {
                                    complete.insert(b.piece);
                                }
                            }
                        }
                    }
                    Op::Release { peer, nth } => {
                        let mine = asked.entry(peer).or_default();
                        if !mine.is_empty() {
                            let b = mine.remove(nth % mine.len());
                            pp.release(PeerKey(peer), &b);
                        }
                    }
                    Op::Leave { peer } => {
                        asked.remove(&peer);
                        pp.release_peer(PeerKey(peer));
                    }
                    Op::Verify { ok } => {
                        if let Some(p) = complete.pop_first() {
                            pp.piece_verified(p, ok);
                            for list in asked.values_mut() {
                                list.retain(|b| b.piece != p);
                            }
                        }
                    }
                    Op::Want { piece, on } => {
                        pp.set_wanted(piece, on);
                        if !on {
                            complete.remove(&piece);
                            for list in asked.values_mut() {
                                list.retain(|b| b.piece != piece);
                            }
                        }
                    }
                }
                pp.rarity.check_invariants();
            }
        }
    }
}

#[test]
fn hash_failure_blames_every_peer_that_sent_a_block_of_the_piece() {
    let mut pp = picker(1, 4);
    let all = Bitfield::full(1);
    pp.peer_bitfield(&all);
    pp.peer_bitfield(&all);
    pp.peer_bitfield(&all);
    let first = pp.pick(&unchoked(1, &all), 2, &mut rng());
    let second = pp.pick(&unchoked(2, &all), 2, &mut rng());
    assert_eq!((first.len(), second.len()), (2, 2));
    // Endgame: peer 3 is asked for a block peer 1 or 2 still owes.
    let third = pp.pick(&unchoked(3, &all), 1, &mut rng());
    assert_eq!(third.len(), 1);
    assert!(first.contains(&third[0]) || second.contains(&third[0]));
    // Peer 3 delivers the shared block first: the other copy is a duplicate (not used,
    // so not counted), the owner's other block is.
    assert!(matches!(
        pp.block_received(PeerKey(3), &third[0]),
        Ok(BlockReceived::New { .. })
    ));
    for (peer, blocks) in [(1, &first), (2, &second)] {
        for b in blocks {
            let got = pp.block_received(PeerKey(peer), b).unwrap();
            if *b == third[0] {
                assert_eq!(got, BlockReceived::Duplicate);
            } else {
                assert!(matches!(got, BlockReceived::New { .. }));
            }
        }
    }
    let mut blamed = pp.piece_verified(0, false);
    blamed.sort();
    assert_eq!(blamed, vec![PeerKey(1), PeerKey(2), PeerKey(3)]);
    assert!(!pp.have().get(0));

    // Downloaded again from peer 1 alone: only peer 1 contributed this time.
    let again = pp.pick(&unchoked(1, &all), 4, &mut rng());
    assert_eq!(again.len(), 4);
    for b in &again {
        pp.block_received(PeerKey(1), b).unwrap();
    }
    assert_eq!(pp.piece_verified(0, true), vec![PeerKey(1)]);
    assert!(pp.have().get(0));
}

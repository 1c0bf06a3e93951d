//! Two sessions talking to each other in memory, on a virtual clock.

use std::time::Duration;

use bitswarm_wire::{ExtensionHandshake, Reserved};

use super::*;
use crate::geometry::BLOCK_LEN;
use crate::request_queue::RequestQueueConfig;

const N: u32 = 20;
const IH: [u8; 20] = [7; 20];

fn config(role: Role, id: u8) -> SessionConfig {
    let mut c = SessionConfig::new(role, IH, [id; 20], N);
    c.extension_handshake = Some(ExtensionHandshake {
        reqq: Some(100),
        ..Default::default()
    });
    c
}

/// Moves every queued byte from `from` to `to`.
fn pump(from: &mut PeerSession, to: &mut PeerSession, now: Instant) {
    while let Some(bytes) = from.poll_transmit() {
        to.handle_bytes(&bytes, now);
    }
}

fn events(s: &mut PeerSession) -> Vec<SessionEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

/// Handshakes done, no pieces announced yet.
fn handshaken_pair(now: Instant) -> (PeerSession, PeerSession) {
    let mut a = PeerSession::new(config(Role::Outgoing, 1), now);
    let mut b = PeerSession::new(config(Role::Incoming, 2), now);
    pump(&mut a, &mut b, now);
    pump(&mut b, &mut a, now);
    (a, b)
}

/// Handshakes done, both announced `have_none` and their extension handshakes.
fn connected_pair(now: Instant) -> (PeerSession, PeerSession) {
    let (mut a, mut b) = handshaken_pair(now);
    a.send_pieces(&Bitfield::new(N), now);
    b.send_pieces(&Bitfield::new(N), now);
    pump(&mut a, &mut b, now);
    pump(&mut b, &mut a, now);
    (a, b)
}

fn block(piece: u32) -> BlockInfo {
    BlockInfo {
        piece,
        offset: 0,
        length: BLOCK_LEN,
    }
}

#[test]
fn handshake_negotiates_fast_and_extensions() {
    let t0 = Instant::now();
    let (mut a, mut b) = connected_pair(t0);
    assert!(a.is_connected() && b.is_connected());
    assert!(a.fast() && b.fast());
    let ea = events(&mut a);
    assert!(matches!(ea[0], SessionEvent::Connected { peer_id, .. } if peer_id == [2; 20]));
    assert!(ea
        .iter()
        .any(|e| matches!(e, SessionEvent::ExtensionHandshake(h) if h.reqq == Some(100))));
    assert!(matches!(events(&mut b)[0], SessionEvent::Connected { .. }));
}

#[test]
fn fast_is_off_unless_both_set_it() {
    let t0 = Instant::now();
    let mut a = PeerSession::new(config(Role::Outgoing, 1), t0);
    let mut cb = config(Role::Incoming, 2);
    cb.reserved = Reserved::NONE;
    let mut b = PeerSession::new(cb, t0);
    pump(&mut a, &mut b, t0);
    pump(&mut b, &mut a, t0);
    assert!(!a.fast() && !b.fast());
}

#[test]
fn wrong_info_hash_closes() {
    let t0 = Instant::now();
    let mut a = PeerSession::new(config(Role::Outgoing, 1), t0);
    let mut cb = config(Role::Incoming, 2);
    cb.info_hash = [9; 20];
    let mut b = PeerSession::new(cb, t0);
    pump(&mut a, &mut b, t0);
    assert_eq!(
        events(&mut b),
        vec![SessionEvent::Closed(CloseReason::WrongInfoHash)]
    );
    assert!(b.poll_transmit().is_none(), "no handshake sent back");
}

#[test]
fn have_all_request_piece_flow() {
    let t0 = Instant::now();
    let (mut a, mut b) = handshaken_pair(t0);
    events(&mut a);
    events(&mut b);
    b.send_pieces(&Bitfield::full(N), t0);
    a.send_pieces(&Bitfield::new(N), t0);
    pump(&mut b, &mut a, t0);
    pump(&mut a, &mut b, t0);
    // have_all / have_none, then the extension handshake.
    let ea = events(&mut a);
    assert_eq!(ea[0], SessionEvent::PeerPieces(Bitfield::full(N)));
    assert!(matches!(ea[1], SessionEvent::ExtensionHandshake(_)));
    assert_eq!(
        events(&mut b)[0],
        SessionEvent::PeerPieces(Bitfield::new(N))
    );

    a.set_interested(true, t0);
    pump(&mut a, &mut b, t0);
    assert_eq!(events(&mut b), vec![SessionEvent::Interest(true)]);
    b.set_choking(false, t0);
    pump(&mut b, &mut a, t0);
    assert_eq!(events(&mut a), vec![SessionEvent::Unchoked]);

    assert_eq!(a.request_slots(t0), 2);
    a.request(block(3), t0);
    pump(&mut a, &mut b, t0);
    assert_eq!(events(&mut b), vec![SessionEvent::Request(block(3))]);
    let data = Bytes::from(vec![5u8; BLOCK_LEN as usize]);
    assert!(b.send_block(block(3), data.clone(), t0));
    assert!(!b.send_block(block(3), data.clone(), t0), "answered once");
    let t1 = t0 + Duration::from_millis(100);
    pump(&mut b, &mut a, t1);
    assert_eq!(
        events(&mut a),
        vec![SessionEvent::Block {
            block: block(3),
            data
        }]
    );
    assert!(a.requests().is_empty());
    a.handle_piece_verified(3, t1);
    pump(&mut a, &mut b, t1);
    assert_eq!(events(&mut b), vec![SessionEvent::Have(3)]);
}

/// Requests in flight: the initial depth while the peer's rate is not measured (its
/// first second), then a second's worth of its rate (the last second's when higher than
/// the average), at least the floor: a peer that sends little is not asked for a deep
/// queue that would only wait at its end.
#[test]
fn request_depth_is_initial_for_a_second_then_follows_the_rate() {
    let t0 = Instant::now();
    let queue = RequestQueueConfig {
        initial_depth: 64,
        min_depth: 4,
        max_depth: 1000,
        target_latency: Duration::from_secs(1),
        ..RequestQueueConfig::default()
    };
    let mut ca = config(Role::Outgoing, 1);
    ca.request_queue = queue;
    let mut a = PeerSession::new(ca, t0);
    let mut b = PeerSession::new(config(Role::Incoming, 2), t0);
    pump(&mut a, &mut b, t0);
    pump(&mut b, &mut a, t0);
    b.send_pieces(&Bitfield::full(N), t0);
    a.send_pieces(&Bitfield::new(N), t0);
    a.set_interested(true, t0);
    b.set_choking(false, t0);
    pump(&mut b, &mut a, t0);
    pump(&mut a, &mut b, t0);
    events(&mut a);
    events(&mut b);
    assert_eq!(a.request_slots(t0), 64);
    // A second passed and nothing came: the floor.
    let t1 = t0 + Duration::from_millis(1500);
    assert_eq!(a.request_slots(t1), 4);
    // 16 blocks (256 KiB) arrive in second 1: 128 KiB/s over the two completed
    // seconds, but 256 KiB in the last one, which 16 blocks cover.
    for i in 0..16 {
        a.request(block(i), t1);
    }
    pump(&mut a, &mut b, t1);
    events(&mut b);
    for i in 0..16 {
        assert!(b.send_block(block(i), Bytes::from(vec![1u8; BLOCK_LEN as usize]), t1));
    }
    pump(&mut b, &mut a, t1);
    assert_eq!(events(&mut a).len(), 16);
    assert!(a.requests().is_empty());
    assert_eq!(a.request_slots(t0 + Duration::from_millis(2500)), 16);
    // A second later with nothing more: the average, 256 KiB over three seconds, which
    // 6 blocks cover.
    assert_eq!(a.request_slots(t0 + Duration::from_millis(3500)), 6);
}

/// The header-only form: what `poll_transmit` yields followed by the block's bytes
/// (sent by the caller, e.g. from a file) is the same `piece` message as `send_block`'s.
#[test]
fn block_header_then_caller_payload_is_the_piece_message() {
    let t0 = Instant::now();
    let (mut a, mut b) = handshaken_pair(t0);
    b.send_pieces(&Bitfield::full(N), t0);
    a.send_pieces(&Bitfield::new(N), t0);
    pump(&mut b, &mut a, t0);
    pump(&mut a, &mut b, t0);
    a.set_interested(true, t0);
    pump(&mut a, &mut b, t0);
    b.set_choking(false, t0);
    pump(&mut b, &mut a, t0);
    let short = BlockInfo {
        piece: 4,
        offset: BLOCK_LEN,
        length: 1000,
    };
    a.request(block(3), t0);
    a.request(short, t0);
    pump(&mut a, &mut b, t0);
    events(&mut a);
    events(&mut b);
    assert!(!b.send_block_header(block(9), t0), "never requested");
    assert!(b.poll_transmit().is_none());
    let mut wire = Vec::new();
    for (blk, byte) in [(block(3), 5u8), (short, 6u8)] {
        assert!(b.send_block_header(blk, t0));
        assert!(!b.send_block_header(blk, t0), "answered once");
        let before = wire.len();
        while let Some(buf) = b.poll_transmit() {
            wire.extend_from_slice(&buf);
        }
        assert_eq!(wire.len() - before, 13, "the header only");
        wire.extend(std::iter::repeat_n(byte, blk.length as usize));
    }
    assert!(
        b.upload_rate(t0 + Duration::from_secs(2)) > 0,
        "counted as upload"
    );
    a.handle_bytes(&wire, t0);
    assert_eq!(
        events(&mut a),
        vec![
            SessionEvent::Block {
                block: block(3),
                data: Bytes::from(vec![5u8; BLOCK_LEN as usize])
            },
            SessionEvent::Block {
                block: short,
                data: Bytes::from(vec![6u8; 1000])
            }
        ]
    );
    assert!(a.requests().is_empty());
}

#[test]
fn unrequested_piece_closes_under_fast() {
    let t0 = Instant::now();
    let (mut a, mut b) = connected_pair(t0);
    events(&mut a);
    b.incoming.push(block(1)); // pretend a asked
    b.send_block(block(1), Bytes::from(vec![0; BLOCK_LEN as usize]), t0);
    pump(&mut b, &mut a, t0);
    assert_eq!(
        events(&mut a),
        vec![SessionEvent::Closed(CloseReason::Protocol(
            "piece that was never requested"
        ))]
    );
}

#[test]
fn choked_peer_requests_are_rejected_except_allowed_fast() {
    let t0 = Instant::now();
    let (mut a, mut b) = connected_pair(t0);
    events(&mut a);
    events(&mut b);
    b.send_allowed_fast(&[4], t0);
    pump(&mut b, &mut a, t0);
    assert_eq!(events(&mut a), vec![SessionEvent::AllowedFast(4)]);
    a.request(block(4), t0);
    a.request(block(5), t0);
    pump(&mut a, &mut b, t0);
    assert_eq!(events(&mut b), vec![SessionEvent::Request(block(4))]);
    pump(&mut b, &mut a, t0);
    assert_eq!(events(&mut a), vec![SessionEvent::Rejected(block(5))]);
    assert_eq!(a.requests().len(), 1);
}

#[test]
fn request_past_a_piece_end_is_a_protocol_error_even_when_choked() {
    let t0 = Instant::now();
    let mut a = PeerSession::new(config(Role::Outgoing, 1), t0);
    let mut cb = config(Role::Incoming, 2);
    cb.piece_sizes = Some((2 * BLOCK_LEN, BLOCK_LEN));
    let mut b = PeerSession::new(cb, t0);
    pump(&mut a, &mut b, t0);
    pump(&mut b, &mut a, t0);
    a.send_pieces(&Bitfield::new(N), t0);
    b.send_pieces(&Bitfield::new(N), t0);
    pump(&mut a, &mut b, t0);
    pump(&mut b, &mut a, t0);
    events(&mut a);
    events(&mut b);
    // Inside a piece: only rejected (b chokes a).
    let inside = BlockInfo {
        piece: 0,
        offset: BLOCK_LEN,
        length: BLOCK_LEN,
    };
    a.request(inside, t0);
    pump(&mut a, &mut b, t0);
    assert!(!b.is_closed());
    // Past the end of the last, shorter piece.
    let past = BlockInfo {
        piece: N - 1,
        offset: BLOCK_LEN,
        length: BLOCK_LEN,
    };
    a.request(past, t0);
    pump(&mut a, &mut b, t0);
    assert!(b.is_closed());
}

#[test]
fn suggestions_reach_the_peer_and_out_of_range_ones_are_not_sent() {
    let t0 = Instant::now();
    let (mut a, mut b) = connected_pair(t0);
    events(&mut a);
    events(&mut b);
    b.send_suggest(3, t0);
    b.send_suggest(u32::MAX, t0);
    b.send_suggest(6, t0);
    pump(&mut b, &mut a, t0);
    assert_eq!(
        events(&mut a),
        vec![SessionEvent::Suggest(3), SessionEvent::Suggest(6)]
    );
    assert!(!a.is_closed());
}

#[test]
fn cancel_is_answered_with_reject_under_fast() {
    let t0 = Instant::now();
    let (mut a, mut b) = connected_pair(t0);
    b.set_choking(false, t0);
    pump(&mut b, &mut a, t0);
    a.request(block(2), t0);
    pump(&mut a, &mut b, t0);
    events(&mut a);
    events(&mut b);
    a.cancel(block(2), t0);
    assert_eq!(a.requests().len(), 1, "still tracked until answered");
    pump(&mut a, &mut b, t0);
    assert_eq!(events(&mut b), vec![SessionEvent::Cancelled(block(2))]);
    pump(&mut b, &mut a, t0);
    assert_eq!(events(&mut a), vec![SessionEvent::Rejected(block(2))]);
    assert!(a.requests().is_empty());
}

#[test]
fn bad_bitfield_closes_and_late_bitfield_adds_haves() {
    let t0 = Instant::now();
    let (mut a, mut b) = handshaken_pair(t0);
    events(&mut a);
    // spare bits set: N = 20 -> 3 bytes, last nibble must be zero
    let bad = Message::Bitfield(Bytes::from_static(&[0xFF, 0xFF, 0xFF]));
    a.handle_bytes(&bad.to_bytes(), t0);
    assert!(matches!(
        events(&mut a)[..],
        [SessionEvent::Closed(CloseReason::Bitfield(_))]
    ));

    let _ = &mut b;
    let (mut a, _b) = connected_pair(t0);
    events(&mut a);
    a.handle_bytes(&Message::Have(1).to_bytes(), t0);
    a.handle_bytes(&Message::HaveAll.to_bytes(), t0);
    let ev = events(&mut a);
    assert_eq!(ev[0], SessionEvent::Have(1));
    // A late piece set (aria2 sends have_none, then a bitfield) adds the new pieces as
    // `have`s instead of closing.
    assert_eq!(ev.len(), 20);
    assert!(ev[1..]
        .iter()
        .all(|e| matches!(e, SessionEvent::Have(p) if *p != 1)));
    assert!(!a.is_closed());
}

#[test]
fn oversized_message_closes() {
    let t0 = Instant::now();
    let (mut a, _b) = connected_pair(t0);
    events(&mut a);
    a.handle_bytes(&[0x00, 0x10, 0x00, 0x00, 7], t0);
    assert!(matches!(
        events(&mut a)[..],
        [SessionEvent::Closed(CloseReason::Decode(_))]
    ));
    assert!(a.is_closed());
    assert_eq!(a.poll_timeout(), None);
}

#[test]
fn timers_keep_alive_request_timeout_idle() {
    let t0 = Instant::now();
    let (mut a, mut b) = connected_pair(t0);
    events(&mut a);
    while a.poll_transmit().is_some() {}
    b.set_choking(false, t0);
    pump(&mut b, &mut a, t0);
    events(&mut a);
    a.request(block(1), t0);
    while a.poll_transmit().is_some() {}
    // Request timeout (60 s) comes first.
    let t = a.poll_timeout().unwrap();
    assert_eq!(t, t0 + Duration::from_secs(60));
    a.handle_timeout(t);
    assert_eq!(events(&mut a), vec![SessionEvent::TimedOut(vec![block(1)])]);
    assert!(a.requests().is_snubbed());
    // Keep-alive at 120 s.
    let t = a.poll_timeout().unwrap();
    assert_eq!(t, t0 + Duration::from_secs(120));
    a.handle_timeout(t);
    assert_eq!(a.poll_transmit().as_deref(), Some(&[0u8, 0, 0, 0][..]));
    // Idle close at 180 s after the last byte received.
    let t = a.poll_timeout().unwrap();
    assert_eq!(t, t0 + Duration::from_secs(180));
    a.handle_timeout(t);
    assert_eq!(
        events(&mut a),
        vec![SessionEvent::Closed(CloseReason::Idle)]
    );
}

#[test]
fn handshake_timeout() {
    let t0 = Instant::now();
    let mut a = PeerSession::new(config(Role::Outgoing, 1), t0);
    let t = a.poll_timeout().unwrap();
    assert_eq!(t, t0 + Duration::from_secs(20));
    a.handle_timeout(t);
    assert_eq!(
        events(&mut a),
        vec![SessionEvent::Closed(CloseReason::HandshakeTimeout)]
    );
}

#[test]
fn choke_without_fast_drops_requests() {
    let t0 = Instant::now();
    let mut ca = config(Role::Outgoing, 1);
    ca.reserved = Reserved::NONE;
    let mut a = PeerSession::new(ca, t0);
    let mut b = PeerSession::new(config(Role::Incoming, 2), t0);
    pump(&mut a, &mut b, t0);
    pump(&mut b, &mut a, t0);
    b.set_choking(false, t0);
    pump(&mut b, &mut a, t0);
    events(&mut a);
    a.request(block(1), t0);
    a.request(block(2), t0);
    a.handle_bytes(&Message::Choke.to_bytes(), t0);
    assert_eq!(
        events(&mut a),
        vec![SessionEvent::Choked {
            dropped: vec![block(1), block(2)]
        }]
    );
    // A late block for a dropped request is discarded, not fatal.
    let late = Message::Piece {
        piece: 1,
        offset: 0,
        data: Bytes::from(vec![0; BLOCK_LEN as usize]),
    };
    a.handle_bytes(&late.to_bytes(), t0);
    assert!(events(&mut a).is_empty());
    assert!(!a.is_closed());
}

#[test]
fn byte_at_a_time_delivery_works() {
    let t0 = Instant::now();
    let mut a = PeerSession::new(config(Role::Outgoing, 1), t0);
    let mut b = PeerSession::new(config(Role::Incoming, 2), t0);
    let mut wire = Vec::new();
    while let Some(x) = a.poll_transmit() {
        wire.extend_from_slice(&x);
    }
    for byte in wire {
        b.handle_bytes(&[byte], t0);
    }
    assert!(b.is_connected());
}

#[test]
fn chunks_split_anywhere_decode_like_one_buffer() {
    let t0 = Instant::now();
    let (mut a, mut b) = connected_pair(t0);
    events(&mut a);
    events(&mut b);
    let mut stream = Vec::new();
    for i in 0..5u32 {
        stream.extend_from_slice(&Message::Have(i).to_bytes());
    }
    stream.extend_from_slice(&Message::KeepAlive.to_bytes());
    stream.extend_from_slice(&Message::Have(7).to_bytes());
    // Cut the stream at every position into two chunks.
    for cut in 0..stream.len() {
        let (mut a, _b) = connected_pair(t0);
        events(&mut a);
        a.handle_chunk(Bytes::copy_from_slice(&stream[..cut]), t0);
        a.handle_chunk(Bytes::copy_from_slice(&stream[cut..]), t0);
        let haves: Vec<_> = events(&mut a);
        assert_eq!(haves.len(), 6, "cut at {cut}: {haves:?}");
        assert!(!a.is_closed());
    }
}

/// Blocks are decoded in place from a chunk someone else also holds (the socket task's
/// pooled receive buffer): their data points into the chunk's memory, no copy.
#[test]
fn blocks_share_a_chunk_that_others_hold_too() {
    let t0 = Instant::now();
    let (mut a, mut b) = connected_pair(t0);
    b.set_choking(false, t0);
    pump(&mut b, &mut a, t0);
    a.set_interested(true, t0);
    a.request(block(3), t0);
    a.request(block(4), t0);
    events(&mut a);
    let mut wire = Vec::new();
    for (p, fill) in [(3, 5u8), (4, 6u8)] {
        wire.extend_from_slice(
            &Message::Piece {
                piece: p,
                offset: 0,
                data: Bytes::from(vec![fill; BLOCK_LEN as usize]),
            }
            .to_bytes(),
        );
    }
    let chunk = Bytes::from(wire);
    let held = chunk.clone();
    a.handle_chunk(chunk, t0);
    let blocks: Vec<Bytes> = events(&mut a)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::Block { data, .. } => Some(data),
            _ => None,
        })
        .collect();
    assert_eq!(blocks.len(), 2);
    let base = held.as_ptr() as usize;
    assert_eq!(blocks[0].as_ptr() as usize, base + 13);
    assert_eq!(
        blocks[1].as_ptr() as usize,
        base + 2 * 13 + BLOCK_LEN as usize
    );
    assert!(blocks[1].iter().all(|&x| x == 6));
}

#[test]
fn chunks_through_the_handshake() {
    let t0 = Instant::now();
    let mut a = PeerSession::new(config(Role::Outgoing, 1), t0);
    let mut stream = Vec::new();
    while let Some(b) = a.poll_transmit() {
        stream.extend_from_slice(&b);
    }
    stream.extend_from_slice(&Message::Bitfield(Bytes::from_static(&[0x80, 0, 0])).to_bytes());
    stream.extend_from_slice(&Message::Have(3).to_bytes());
    for cut in 0..stream.len() {
        let mut b = PeerSession::new(config(Role::Incoming, 2), t0);
        b.handle_chunk(Bytes::copy_from_slice(&stream[..cut]), t0);
        b.handle_chunk(Bytes::copy_from_slice(&stream[cut..]), t0);
        let ev = events(&mut b);
        assert!(matches!(ev[0], SessionEvent::Connected { .. }), "cut {cut}");
        assert!(matches!(ev[1], SessionEvent::PeerPieces(_)), "cut {cut}");
        assert_eq!(ev[2], SessionEvent::Have(3), "cut {cut}");
    }
}

#[test]
fn a_repeated_request_is_served_once_and_may_come_again_once_served() {
    let t0 = Instant::now();
    let (mut a, mut b) = connected_pair(t0);
    b.set_choking(false, t0);
    pump(&mut b, &mut a, t0);
    events(&mut b);
    let data = Bytes::from(vec![1; BLOCK_LEN as usize]);
    for p in [3, 4, 3, 3] {
        b.handle_bytes(&Message::Request(block(p)).to_bytes(), t0);
    }
    assert_eq!(
        events(&mut b),
        vec![
            SessionEvent::Request(block(3)),
            SessionEvent::Request(block(4))
        ],
        "the duplicates are dropped"
    );
    assert!(
        b.send_block(block(4), data.clone(), t0),
        "served out of order"
    );
    assert!(b.send_block(block(3), data.clone(), t0));
    assert!(!b.send_block(block(3), data.clone(), t0), "answered once");
    b.handle_bytes(&Message::Request(block(3)).to_bytes(), t0);
    assert_eq!(events(&mut b), vec![SessionEvent::Request(block(3))]);
    assert!(b.send_block(block(3), data, t0));
}

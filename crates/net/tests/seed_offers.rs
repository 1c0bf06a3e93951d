//! A seed talking to downloaders that support the fast extension (BEP 6): it grants no
//! allowed-fast pieces (peers on one address would all get the same set and ask the seed
//! for the same pieces), and it keeps each unchoked, interested peer supplied with
//! `suggest piece` offers of the pieces it has offered least, so two peers are offered
//! different pieces (`seed_offer.rs`).

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use bitswarm_wire::{Handshake, Limits, Message, MessageDecoder, Reserved, HANDSHAKE_LEN};
use bytes::BytesMut;
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What a raw downloader saw from the seed.
struct Seen {
    stream: TcpStream,
    allowed_fast: Vec<u32>,
    suggested: BTreeSet<u32>,
    unchoked: bool,
}

/// Connects as a fast-extension downloader with no pieces, says it is interested, and
/// reads until it was unchoked and offered `want` distinct pieces (or 20 s passed).
async fn downloader(
    target: SocketAddr,
    info_hash: [u8; 20],
    pieces: u32,
    id: u8,
    want: usize,
) -> Seen {
    let mut s = TcpStream::connect(target).await.unwrap();
    let mut peer_id = *b"-XX0001-offerpeer000";
    peer_id[19] = id;
    let mut out = BytesMut::new();
    out.extend_from_slice(
        &Handshake::new(Reserved::NONE.with_fast(true), info_hash, peer_id).encode(),
    );
    Message::HaveNone.encode(&mut out);
    Message::Interested.encode(&mut out);
    s.write_all(&out).await.unwrap();
    let mut hs = [0u8; HANDSHAKE_LEN];
    s.read_exact(&mut hs).await.unwrap();
    let decoder = MessageDecoder::new(Limits::for_pieces(pieces));
    let mut buf = BytesMut::new();
    let mut seen = Seen {
        stream: s,
        allowed_fast: Vec::new(),
        suggested: BTreeSet::new(),
        unchoked: false,
    };
    let end = tokio::time::Instant::now() + Duration::from_secs(20);
    while !(seen.unchoked && seen.suggested.len() >= want) {
        match tokio::time::timeout_at(end, seen.stream.read_buf(&mut buf)).await {
            Err(_) | Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(_)) => {}
        }
        while let Ok(Some(msg)) = decoder.decode(&mut buf) {
            match msg {
                Message::AllowedFast(p) => seen.allowed_fast.push(p),
                Message::SuggestPiece(p) => {
                    seen.suggested.insert(p);
                }
                Message::Unchoke => seen.unchoked = true,
                Message::Choke => seen.unchoked = false,
                _ => {}
            }
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_grants_no_allowed_fast_and_offers_each_peer_different_pieces() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    // 128 pieces of 64 KiB: a seed offers 2 MiB (32 pieces) per peer at a time.
    let (meta, data) = make_torrent(dir.path(), "o.bin", &[("", 8 << 20)], 64 * 1024, vec![]);
    let (seed, mut h) = seeding(&meta, &data).await;
    // Seeding once its check is done (before that it is a downloader with nothing).
    until_seeding(&mut h).await;
    let ih = meta.info_hash().0;
    let pieces = meta.info().geometry().piece_count();
    let target = addr_of(&seed);
    let a = downloader(target, ih, pieces, b'a', 32).await;
    let b = downloader(target, ih, pieces, b'b', 32).await;
    for (name, p) in [("a", &a), ("b", &b)] {
        assert!(p.unchoked, "peer {name} was not unchoked");
        assert!(
            p.allowed_fast.is_empty(),
            "seed granted peer {name} allowed-fast pieces {:?}",
            p.allowed_fast
        );
        assert_eq!(
            p.suggested.len(),
            32,
            "peer {name} offers: {:?}",
            p.suggested
        );
        assert!(p.suggested.iter().all(|&x| x < pieces));
    }
    let common: Vec<_> = a.suggested.intersection(&b.suggested).collect();
    assert!(common.is_empty(), "both peers were offered {common:?}");
    seed.shutdown().await;
}

//! Hostile peers: a peer serving wrong data is banned while the download completes
//! from an honest seed; peers sending garbage, oversized lengths or out-of-range
//! indexes are disconnected without harming the session.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bitswarm_net::AddTorrent;
use bitswarm_wire::{Handshake, Limits, Message, MessageDecoder, Reserved};
use bytes::{Bytes, BytesMut};
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TIMEOUT: Duration = Duration::from_secs(60);

/// A peer that claims every piece, unchokes, and answers each request with garbage.
async fn corrupting_peer(info_hash: [u8; 20], pieces: u32) -> SocketAddr {
    fake_peer(move |s| serve_garbage(s, info_hash, pieces)).await
}

async fn serve_garbage(mut s: TcpStream, info_hash: [u8; 20], pieces: u32) {
    if read_plaintext_handshake(&mut s).await.is_none() {
        return;
    }
    let reserved = Reserved::NONE.with_fast(true);
    let mut out = BytesMut::new();
    out.extend_from_slice(&Handshake::new(reserved, info_hash, *b"-XX0001-corruptpeer!").encode());
    Message::HaveAll.encode(&mut out);
    Message::Unchoke.encode(&mut out);
    if s.write_all(&out).await.is_err() {
        return;
    }
    let decoder = MessageDecoder::new(Limits::for_pieces(pieces));
    let mut buf = BytesMut::new();
    loop {
        match s.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut out = BytesMut::new();
        while let Ok(Some(msg)) = decoder.decode(&mut buf) {
            if let Message::Request(b) = msg {
                let data = Bytes::from(vec![0xA5u8; b.length as usize]);
                Message::Piece {
                    piece: b.piece,
                    offset: b.offset,
                    data,
                }
                .encode(&mut out);
            }
        }
        if s.write_all(&out).await.is_err() {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupting_peer_is_banned_and_download_completes() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let (meta, data) = make_torrent(
        dir.path(),
        "c.bin",
        &[("", 8 * 1024 * 1024)],
        64 * 1024,
        vec![],
    );
    let bad = corrupting_peer(meta.info_hash().0, meta.info().geometry().piece_count()).await;
    // The honest seed is slowed down so that the peer check (every second) runs while
    // the corrupting peer is still connected.
    let seed = upload_limited(3 * 1024 * 1024).await;
    let _sh = add_seed(&seed, &meta, &data).await;
    let leech = session().await;
    let out = dir.path().join("out");
    let add = AddTorrent {
        extra_peers: vec![bad, addr_of(&seed)],
        ..AddTorrent::download(meta.clone(), &out)
    };
    let h = leech.add_torrent(add).await.unwrap();
    let s = completed(&h, TIMEOUT).await;
    assert!(s.hash_failures >= 1, "the bad peer sent something: {s:?}");
    // The peer check runs every second in tests.
    let mut h = h;
    let end = tokio::time::Instant::now() + Duration::from_secs(5);
    while h.stats().banned == 0 && tokio::time::Instant::now() < end {
        let _ = tokio::time::timeout(Duration::from_secs(1), h.changed()).await;
    }
    assert_eq!(
        h.stats().banned,
        1,
        "only the corrupting peer is banned: {:?}",
        h.stats()
    );
    leech.shutdown().await;
    assert_same_tree(&data, &out.join("c.bin"));
    seed.shutdown().await;
}

/// Connects to `target`, handshakes for `info_hash`, sends `junk`, and reports whether
/// the other side closed the connection within a few seconds.
async fn closes_after(target: SocketAddr, info_hash: [u8; 20], junk: &[u8]) -> bool {
    let mut s = TcpStream::connect(target).await.unwrap();
    let hs = Handshake::new(
        Reserved::NONE.with_fast(true),
        info_hash,
        *b"-XX0001-garbagepeer!",
    );
    s.write_all(&hs.encode()).await.unwrap();
    let _ = s.write_all(junk).await;
    closed_within(&mut s, Duration::from_secs(5)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_oversized_and_out_of_range_peers_are_disconnected() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let (meta, data) = make_torrent(dir.path(), "g.bin", &[("", 1024 * 1024)], 64 * 1024, vec![]);
    let (seed, _sh) = seeding(&meta, &data).await;
    // Let the seed finish its check.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ih = meta.info_hash().0;
    let target = addr_of(&seed);
    let pieces = meta.info().geometry().piece_count();
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "oversized length",
            vec![0xFF, 0xFF, 0xFF, 0xF0, 7, 0, 0, 0, 0],
        ),
        ("unknown message id", vec![0, 0, 0, 1, 0xEE]),
        (
            "have out of range",
            Message::Have(pieces + 5).to_bytes().to_vec(),
        ),
        (
            "bitfield too long",
            Message::Bitfield(Bytes::from(vec![0xFF; 64]))
                .to_bytes()
                .to_vec(),
        ),
    ];
    let req = |piece: u32, offset: u32, length: u32| {
        let mut v = Message::Interested.to_bytes().to_vec();
        v.extend_from_slice(
            &Message::Request(bitswarm_wire::BlockInfo {
                piece,
                offset,
                length,
            })
            .to_bytes(),
        );
        v
    };
    cases.push(("request piece out of range", req(pieces + 1, 0, 16384)));
    cases.push(("request past the piece end", req(0, 60 * 1024, 16384)));
    cases.push(("request too large", req(0, 0, 1 << 20)));
    for (what, junk) in cases {
        assert!(
            closes_after(target, ih, &junk).await,
            "seed did not disconnect a peer sending {what}"
        );
    }
    // Random bytes instead of a handshake: more than an MSE handshake may hold before
    // its synchronisation marker (96 + 512 + 20 bytes), so neither protocol fits.
    let mut s = TcpStream::connect(target).await.unwrap();
    let _ = s.write_all(&content(2048, 99)).await;
    let dropped = closed_within(&mut s, Duration::from_secs(15)).await;
    assert!(dropped, "random bytes not dropped");

    // The seed still serves an honest leecher.
    let leech = session().await;
    let out = dir.path().join("out");
    let add = AddTorrent {
        extra_peers: vec![target],
        ..AddTorrent::download(meta.clone(), &out)
    };
    let h = leech.add_torrent(add).await.unwrap();
    completed(&h, TIMEOUT).await;
    leech.shutdown().await;
    assert_same_tree(&data, &out.join("g.bin"));
    seed.shutdown().await;
}

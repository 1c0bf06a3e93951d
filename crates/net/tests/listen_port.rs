//! A peer that dialled us and told its listen port in its extension handshake (BEP 10
//! `p`) is not dialled again when a tracker (or anyone) hands us that listen address:
//! in a swarm where everyone learns everyone from the tracker, that second connection
//! (and its encryption handshake) was made for about every pair, then dropped.

mod common;

use std::time::Duration;

use bitswarm_wire::{
    ExtensionHandshake, Handshake, Limits, Message, MessageDecoder, Reserved, HANDSHAKE_LEN,
};
use bytes::{Bytes, BytesMut};
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_that_dialled_us_is_not_dialled_at_its_listen_port() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let (meta, data) = make_torrent(dir.path(), "l.bin", &[("", 1 << 20)], 64 * 1024, vec![]);
    let (seed, mut h) = seeding(&meta, &data).await;
    until_seeding(&mut h).await;
    let ih = meta.info_hash().0;
    let pieces = meta.info().geometry().piece_count();

    // Our "listen" socket, and a control peer that never connected to the seed.
    let listen = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let control = TcpListener::bind("127.0.0.1:0").await.unwrap();

    // Dial the seed from another port and tell it where we listen.
    let mut s = TcpStream::connect(addr_of(&seed)).await.unwrap();
    let reserved = Reserved::NONE.with_fast(true).with_extension_protocol(true);
    let mut out = BytesMut::new();
    out.extend_from_slice(&Handshake::new(reserved, ih, *b"-XX0001-listenport00").encode());
    let ext = ExtensionHandshake {
        port: Some(listen.local_addr().unwrap().port()),
        ..ExtensionHandshake::default()
    };
    Message::Extended {
        id: 0,
        payload: Bytes::from(ext.encode()),
    }
    .encode(&mut out);
    Message::HaveNone.encode(&mut out);
    Message::Interested.encode(&mut out);
    s.write_all(&out).await.unwrap();
    let mut hs = [0u8; HANDSHAKE_LEN];
    s.read_exact(&mut hs).await.unwrap();
    // The seed handles our messages in order: its unchoke means it read our port.
    let decoder = MessageDecoder::new(Limits::for_pieces(pieces));
    let mut buf = BytesMut::new();
    'unchoke: loop {
        let n = tokio::time::timeout(Duration::from_secs(20), s.read_buf(&mut buf))
            .await
            .expect("no unchoke from the seed")
            .unwrap();
        assert!(n > 0, "seed closed the connection");
        while let Ok(Some(msg)) = decoder.decode(&mut buf) {
            if msg == Message::Unchoke {
                break 'unchoke;
            }
        }
    }

    // Both addresses arrive together; the seed dials the control peer only.
    h.add_peers(vec![
        listen.local_addr().unwrap(),
        control.local_addr().unwrap(),
    ])
    .await
    .unwrap();
    tokio::time::timeout(Duration::from_secs(20), control.accept())
        .await
        .expect("the seed never dialled the control peer")
        .unwrap();
    let again = tokio::time::timeout(Duration::from_secs(2), listen.accept()).await;
    assert!(
        again.is_err(),
        "the seed dialled the listen port of a peer it is connected to"
    );
    drop(s);
    seed.shutdown().await;
}

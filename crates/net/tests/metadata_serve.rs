//! BEP 9 served by a bitswarm seed: a fake peer built with bitswarm-wire fetches the
//! info dictionary in 16 KiB pieces, checks its SHA-1 against the info-hash, and gets a
//! reject for a piece out of range.

mod common;

use std::time::Duration;

use bitswarm_wire::metadata::METADATA_PIECE_LEN;
use bitswarm_wire::{
    ExtensionHandshake, Handshake, Limits, Message, MessageDecoder, MetadataMessage, Reserved,
    UT_METADATA,
};
use bytes::{Bytes, BytesMut};
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Our id for ut_metadata in the fake peer's `m`.
const OUR_ID: u8 = 9;

async fn next_message(s: &mut TcpStream, dec: &MessageDecoder, buf: &mut BytesMut) -> Message {
    loop {
        if let Some(m) = dec.decode(buf).unwrap() {
            return m;
        }
        assert!(s.read_buf(buf).await.unwrap() > 0, "seed closed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_peer_fetches_metadata_from_a_seed() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    // Many files with long names: an info dictionary of more than one metadata piece.
    let names: Vec<String> = (0..300)
        .map(|i| format!("{i:03}-a-rather-long-file-name-to-grow-the-info-dictionary.bin"))
        .collect();
    let files: Vec<(&str, usize)> = names.iter().map(|n| (n.as_str(), 100)).collect();
    let (meta, data) = make_torrent(dir.path(), "many", &files, 16 * 1024, vec![]);
    let raw_len = meta.raw_info().len();
    assert!(raw_len > METADATA_PIECE_LEN, "info is {raw_len} bytes");
    let (seed, _h) = seeding(&meta, &data).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let work = async {
        let mut s = TcpStream::connect(addr_of(&seed)).await.unwrap();
        let reserved = Reserved::NONE.with_extension_protocol(true);
        let mut out = BytesMut::new();
        out.extend_from_slice(
            &Handshake::new(reserved, meta.info_hash().0, *b"-XX0001-metadatapeer").encode(),
        );
        ExtensionHandshake {
            m: [(UT_METADATA.to_owned(), OUR_ID)].into(),
            ..ExtensionHandshake::default()
        }
        .to_message()
        .encode(&mut out);
        s.write_all(&out).await.unwrap();
        let mut hs = [0u8; 68];
        s.read_exact(&mut hs).await.unwrap();
        let dec = MessageDecoder::new(Limits::default());
        let mut buf = BytesMut::new();
        let theirs = loop {
            if let Message::Extended { id: 0, payload } = next_message(&mut s, &dec, &mut buf).await
            {
                break ExtensionHandshake::decode(&payload).unwrap();
            }
        };
        assert_eq!(theirs.metadata_size, Some(raw_len as u64));
        let their_id = theirs
            .id_of(UT_METADATA)
            .expect("seed advertises ut_metadata");
        let pieces = raw_len.div_ceil(METADATA_PIECE_LEN) as u32;
        let mut out = BytesMut::new();
        for piece in 0..=pieces {
            Message::Extended {
                id: their_id,
                payload: Bytes::from(MetadataMessage::Request { piece }.encode()),
            }
            .encode(&mut out);
        }
        s.write_all(&out).await.unwrap();
        let mut got = vec![None; pieces as usize];
        let mut rejected = false;
        while got.iter().any(Option::is_none) || !rejected {
            let Message::Extended { id, payload } = next_message(&mut s, &dec, &mut buf).await
            else {
                continue;
            };
            assert_eq!(id, OUR_ID);
            match MetadataMessage::decode(&payload).unwrap() {
                MetadataMessage::Data {
                    piece,
                    total_size,
                    data,
                } => {
                    assert_eq!(total_size, raw_len as u64);
                    got[piece as usize] = Some(data);
                }
                MetadataMessage::Reject { piece } => {
                    assert_eq!(piece, pieces);
                    rejected = true;
                }
                MetadataMessage::Request { .. } => panic!("seed asked for metadata"),
            }
        }
        let all: Vec<u8> = got.into_iter().flatten().flatten().collect();
        assert_eq!(bitswarm_proto::sha1::digest(&all), meta.info_hash().0);
    };
    tokio::time::timeout(Duration::from_secs(30), work)
        .await
        .expect("timed out");
}

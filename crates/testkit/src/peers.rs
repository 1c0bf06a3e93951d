//! Hand-written peers that misbehave on purpose: one that lies about a torrent's
//! metadata (BEP 9), and a proxy that answers late.

use std::net::SocketAddr;
use std::time::Duration;

use bitswarm_wire::metadata::METADATA_PIECE_LEN;
use bitswarm_wire::{
    ExtensionHandshake, Handshake, Limits, Message, MessageDecoder, MetadataMessage, Reserved,
    HANDSHAKE_LEN, UT_METADATA,
};
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads a plaintext BitTorrent handshake; `None` for anything else (an MSE handshake
/// is refused this way, and the dialler falls back to plaintext).
pub async fn read_plaintext_handshake(s: &mut TcpStream) -> Option<[u8; HANDSHAKE_LEN]> {
    let mut hs = [0u8; HANDSHAKE_LEN];
    if s.read_exact(&mut hs[..20]).await.is_err() || &hs[..20] != b"\x13BitTorrent protocol" {
        return None;
    }
    s.read_exact(&mut hs[20..]).await.ok()?;
    Some(hs)
}

/// What a lying metadata peer says.
#[derive(Clone, Copy, Debug)]
pub struct MetadataLie {
    /// The `metadata_size` of its extension handshake.
    pub advertised: u64,
    /// The `total_size` of the pieces it sends (zeros, so they never hash right).
    pub sent_total: u64,
}

/// Serves one connection as a peer that has the torrent `info_hash` and answers every
/// metadata request with zeros, sized as `lie` says. Returns when the other side closes.
pub async fn serve_lying_metadata(mut s: TcpStream, info_hash: [u8; 20], lie: MetadataLie) {
    if read_plaintext_handshake(&mut s).await.is_none() {
        return;
    }
    let reserved = Reserved::NONE.with_extension_protocol(true);
    let mut out = BytesMut::new();
    out.extend_from_slice(&Handshake::new(reserved, info_hash, *b"-XX0001-lyingpeer!!!").encode());
    ExtensionHandshake {
        m: [(UT_METADATA.to_owned(), 3)].into(),
        metadata_size: Some(lie.advertised),
        ..ExtensionHandshake::default()
    }
    .to_message()
    .encode(&mut out);
    if s.write_all(&out).await.is_err() {
        return;
    }
    let dec = MessageDecoder::new(Limits::default());
    let mut buf = BytesMut::new();
    let mut their = None;
    loop {
        match s.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut out = BytesMut::new();
        while let Ok(Some(msg)) = dec.decode(&mut buf) {
            let Message::Extended { id, payload } = msg else {
                continue;
            };
            if id == 0 {
                their = ExtensionHandshake::decode(&payload)
                    .ok()
                    .and_then(|h| h.id_of(UT_METADATA));
                continue;
            }
            let (Some(their), Ok(MetadataMessage::Request { piece })) =
                (their, MetadataMessage::decode(&payload))
            else {
                continue;
            };
            let start = piece as u64 * METADATA_PIECE_LEN as u64;
            let len = lie
                .sent_total
                .saturating_sub(start)
                .min(METADATA_PIECE_LEN as u64) as usize;
            Message::Extended {
                id: their,
                payload: Bytes::from(
                    MetadataMessage::Data {
                        piece,
                        total_size: lie.sent_total,
                        data: Bytes::from(vec![0u8; len]),
                    }
                    .encode(),
                ),
            }
            .encode(&mut out);
        }
        if s.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// Serves one connection as a TCP proxy to `to` that connects only after `delay`: a
/// peer that answers late.
pub async fn proxy_late(mut a: TcpStream, to: SocketAddr, delay: Duration) {
    tokio::time::sleep(delay).await;
    if let Ok(mut b) = TcpStream::connect(to).await {
        let _ = tokio::io::copy_bidirectional(&mut a, &mut b).await;
    }
}

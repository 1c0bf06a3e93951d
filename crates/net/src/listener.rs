//! The session's TCP listener: accepts connections, reads the 68-byte handshake with a
//! timeout, and routes the stream to the torrent named by its info-hash.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitswarm_wire::{Handshake, HANDSHAKE_LEN};
use bytes::Bytes;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tracing::debug;

use crate::torrent::TorrentCommand;

/// Info-hash → the torrent driver's command channel. Locked only for lookups and
/// inserts, never across `.await`.
pub type Routes = Arc<Mutex<HashMap<[u8; 20], mpsc::Sender<TorrentCommand>>>>;

/// How long an incoming peer has to send its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections until the listener task is aborted.
pub async fn run_listener(listener: TcpListener, routes: Routes) {
    loop {
        let (stream, addr) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                debug!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let routes = routes.clone();
        tokio::spawn(async move {
            let Ok(Ok((stream, hs))) =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, read_handshake(stream)).await
            else {
                debug!(peer = %addr, "no valid handshake (encrypted or not BitTorrent?)");
                return;
            };
            let route = match routes.lock() {
                Ok(r) => r.get(&hs.1).cloned(),
                Err(_) => None,
            };
            match route {
                Some(tx) => {
                    let cmd = TorrentCommand::Incoming {
                        stream,
                        addr,
                        handshake: hs.0,
                    };
                    if tx.try_send(cmd).is_err() {
                        debug!(peer = %addr, "torrent busy or gone: dropping incoming peer");
                    }
                }
                None => debug!(peer = %addr, "handshake for an unknown torrent"),
            }
        });
    }
}

/// Reads exactly the handshake; returns its bytes and info-hash.
async fn read_handshake(mut stream: TcpStream) -> std::io::Result<(TcpStream, (Bytes, [u8; 20]))> {
    let mut buf = [0u8; HANDSHAKE_LEN];
    // Check the first byte and protocol string before waiting for the rest, so an
    // encrypted (MSE) or foreign connection is dropped early.
    stream.read_exact(&mut buf[..20]).await?;
    if &buf[..20] != b"\x13BitTorrent protocol" {
        return Err(std::io::ErrorKind::InvalidData.into());
    }
    stream.read_exact(&mut buf[20..]).await?;
    match Handshake::decode(&buf) {
        Ok(Some(h)) => Ok((stream, (Bytes::copy_from_slice(&buf), h.info_hash))),
        _ => Err(std::io::ErrorKind::InvalidData.into()),
    }
}

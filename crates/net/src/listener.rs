//! The session's TCP listener: accepts connections, reads the handshake (plaintext, or
//! MSE then the encrypted one: see [`crate::encryption`]) with a timeout, and routes the
//! stream to the torrent named by its info-hash.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tracing::debug;

use crate::encryption::{accept, Encryption};
use crate::torrent::TorrentCommand;

/// Info-hash → the torrent driver's command channel. Locked only for lookups and
/// inserts, never across `.await`.
pub type Routes = Arc<Mutex<HashMap<[u8; 20], mpsc::Sender<TorrentCommand>>>>;

/// Most handshakes in progress at once: a flood of idle connections costs at most this
/// many tasks and sockets (each lives until its handshake timeout).
const MAX_PENDING_HANDSHAKES: usize = 256;

/// Accepts connections until the listener task is aborted.
pub async fn run_listener(listener: TcpListener, routes: Routes, encryption: Arc<Encryption>) {
    let pending = Arc::new(tokio::sync::Semaphore::new(MAX_PENDING_HANDSHAKES));
    loop {
        let (stream, addr) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                debug!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = pending.clone().try_acquire_owned() else {
            debug!(peer = %addr, "too many handshakes in progress: dropping connection");
            continue;
        };
        let routes = routes.clone();
        let encryption = encryption.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let served = || match routes.lock() {
                Ok(r) => r.keys().copied().collect(),
                Err(_) => Vec::new(),
            };
            let hs = match tokio::time::timeout(
                encryption.handshake_timeout,
                accept(stream, &encryption, served),
            )
            .await
            {
                Ok(Ok(hs)) => hs,
                Ok(Err(e)) => {
                    debug!(peer = %addr, "incoming handshake failed: {e}");
                    return;
                }
                Err(_) => {
                    debug!(peer = %addr, "incoming handshake timed out");
                    return;
                }
            };
            let (stream, handshake, info_hash) = hs;
            let route = match routes.lock() {
                Ok(r) => r.get(&info_hash).cloned(),
                Err(_) => None,
            };
            match route {
                Some(tx) => {
                    let cmd = TorrentCommand::Incoming {
                        stream,
                        addr,
                        handshake,
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

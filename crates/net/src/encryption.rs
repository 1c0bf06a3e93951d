//! Protocol encryption (MSE/PE) at the socket edge: the [`EncryptionPolicy`], the
//! handshakes of `bitswarm-mse` driven over a `TcpStream` for accepted and dialled
//! connections, and the per-address memory of what worked.
//!
//! Incoming: the first 20 bytes tell a plaintext handshake (`19` + "BitTorrent
//! protocol") from an MSE one; the torrent of an MSE handshake is found from its
//! `req2 xor req3` marker among the info-hashes the listener routes. Outgoing: `prefer`
//! tries MSE (offering plaintext or RC4) and reconnects in plaintext when that fails,
//! `require` offers RC4 only and never falls back, `disable` never tries MSE.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use bitswarm_mse::{CryptoSet, Established, Initiator, MseError, Rc4Pair, Responder, Status};
use bitswarm_wire::{Handshake, HANDSHAKE_LEN};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::{debug, warn};

/// The plaintext handshake's first 20 bytes.
const PLAIN_PREFIX: &[u8; 20] = b"\x13BitTorrent protocol";
/// Bytes read per call during a handshake.
const HANDSHAKE_READ: usize = 4096;
/// Most peer addresses remembered (the map is cleared when full).
const MAX_REMEMBERED: usize = 4096;

/// Whether connections are encrypted (MSE/PE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EncryptionPolicy {
    /// Dial with MSE (offering plaintext and RC4) and fall back to plaintext; accept
    /// both. As libtorrent's default, a peer offering both gets plaintext for the
    /// payload (the handshake is still obfuscated).
    #[default]
    Prefer,
    /// MSE with RC4 only, in both directions; plaintext peers are refused.
    Require,
    /// Plaintext only, in both directions.
    Disable,
}

impl EncryptionPolicy {
    /// What we offer when dialling, and accept when answering (`None`: no MSE).
    pub fn methods(self) -> Option<CryptoSet> {
        match self {
            EncryptionPolicy::Prefer => Some(CryptoSet::BOTH),
            EncryptionPolicy::Require => Some(CryptoSet::RC4),
            EncryptionPolicy::Disable => None,
        }
    }

    /// Whether an answering side selects RC4 over plaintext when the peer offers both:
    /// only under `require` (which allows RC4 alone anyway).
    pub fn prefer_rc4(self) -> bool {
        matches!(self, EncryptionPolicy::Require)
    }
}

impl FromStr for EncryptionPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "prefer" => Ok(EncryptionPolicy::Prefer),
            "require" => Ok(EncryptionPolicy::Require),
            "disable" => Ok(EncryptionPolicy::Disable),
            _ => Err(format!(
                "unknown encryption policy {s:?}: use prefer, require or disable"
            )),
        }
    }
}

impl std::fmt::Display for EncryptionPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EncryptionPolicy::Prefer => "prefer",
            EncryptionPolicy::Require => "require",
            EncryptionPolicy::Disable => "disable",
        })
    }
}

/// A connected stream and, when RC4 was selected, its ciphers.
#[derive(Debug)]
pub struct PeerStream {
    /// The socket.
    pub stream: TcpStream,
    /// RC4 streams for everything after the handshake (`None`: plaintext).
    pub cipher: Option<Box<Rc4Pair>>,
}

/// Session-wide encryption settings and the memory of what worked per address.
#[derive(Debug)]
pub struct Encryption {
    /// The policy.
    pub policy: EncryptionPolicy,
    /// How long a peer has for the whole handshake (MSE and BitTorrent).
    pub handshake_timeout: Duration,
    /// Address → whether MSE worked (`false`: it failed and plaintext is used).
    memory: Mutex<HashMap<SocketAddr, bool>>,
}

impl Encryption {
    /// Settings with an empty memory.
    pub fn new(policy: EncryptionPolicy, handshake_timeout: Duration) -> Self {
        Encryption {
            policy,
            handshake_timeout,
            memory: Mutex::new(HashMap::new()),
        }
    }

    fn remember(&self, addr: SocketAddr, mse_works: bool) {
        if let Ok(mut m) = self.memory.lock() {
            if m.len() >= MAX_REMEMBERED && !m.contains_key(&addr) {
                m.clear();
            }
            m.insert(addr, mse_works);
        }
    }

    fn recall(&self, addr: &SocketAddr) -> Option<bool> {
        self.memory.lock().ok().and_then(|m| m.get(addr).copied())
    }
}

/// Why an incoming connection was dropped during its handshake.
#[derive(Debug, thiserror::Error)]
pub enum IncomingError {
    /// Socket error or early close.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The MSE handshake failed.
    #[error("encrypted handshake: {0}")]
    Mse(#[from] MseError),
    /// Not a BitTorrent handshake (or one for another torrent than the MSE one).
    #[error("not a BitTorrent handshake")]
    NotBitTorrent,
    /// The policy refuses this kind of connection.
    #[error("{0}")]
    Refused(&'static str),
}

/// Reads an incoming connection's handshake, plaintext or MSE. Returns the stream, the
/// plaintext bytes from the BitTorrent handshake on (at least 68), and the info-hash.
/// `info_hashes` is asked for the torrents served only when the peer speaks MSE.
pub async fn accept(
    mut stream: TcpStream,
    enc: &Encryption,
    info_hashes: impl FnOnce() -> Vec<[u8; 20]>,
) -> Result<(PeerStream, Bytes, [u8; 20]), IncomingError> {
    let mut first = [0u8; 20];
    stream.read_exact(&mut first).await?;
    if &first == PLAIN_PREFIX {
        if enc.policy == EncryptionPolicy::Require {
            return Err(IncomingError::Refused(
                "plaintext handshake refused (encryption required)",
            ));
        }
        let mut buf = [0u8; HANDSHAKE_LEN];
        buf[..20].copy_from_slice(&first);
        stream.read_exact(&mut buf[20..]).await?;
        let ih = handshake_info_hash(&buf)?;
        return Ok((
            PeerStream {
                stream,
                cipher: None,
            },
            Bytes::copy_from_slice(&buf),
            ih,
        ));
    }
    let Some(allowed) = enc.policy.methods() else {
        return Err(IncomingError::Refused(
            "encrypted handshake refused (encryption disabled)",
        ));
    };
    let mut responder = Responder::new(&mut rand::thread_rng(), info_hashes(), allowed)
        .prefer_rc4(enc.policy.prefer_rc4());
    let status = responder.handle_bytes(&first)?;
    let mut est = drive(&mut stream, status, &mut responder).await?;
    let mut plain = std::mem::take(&mut est.initial_payload);
    plain.append(&mut est.remaining_bytes);
    let mut cipher = est.cipher.map(Box::new);
    let mut buf = vec![0u8; HANDSHAKE_READ];
    while plain.len() < HANDSHAKE_LEN {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
        }
        if let Some(c) = cipher.as_mut() {
            c.decrypt.apply(&mut buf[..n]);
        }
        plain.extend_from_slice(&buf[..n]);
    }
    let ih = handshake_info_hash(&plain[..HANDSHAKE_LEN])?;
    if ih != est.info_hash {
        return Err(IncomingError::NotBitTorrent);
    }
    Ok((PeerStream { stream, cipher }, Bytes::from(plain), ih))
}

fn handshake_info_hash(buf: &[u8]) -> Result<[u8; 20], IncomingError> {
    if &buf[..20] != PLAIN_PREFIX {
        return Err(IncomingError::NotBitTorrent);
    }
    match Handshake::decode(buf) {
        Ok(Some(h)) => Ok(h.info_hash),
        _ => Err(IncomingError::NotBitTorrent),
    }
}

/// The two handshake machines, as [`drive`] uses them.
trait Machine {
    fn handle(&mut self, data: &[u8]) -> Result<Status, MseError>;
    fn transmit(&mut self) -> Vec<u8>;
}

impl Machine for Initiator {
    fn handle(&mut self, data: &[u8]) -> Result<Status, MseError> {
        self.handle_bytes(data)
    }
    fn transmit(&mut self) -> Vec<u8> {
        self.poll_transmit()
    }
}

impl Machine for Responder {
    fn handle(&mut self, data: &[u8]) -> Result<Status, MseError> {
        self.handle_bytes(data)
    }
    fn transmit(&mut self) -> Vec<u8> {
        self.poll_transmit()
    }
}

/// Sends and receives until the handshake is established.
async fn drive(
    stream: &mut TcpStream,
    mut status: Status,
    machine: &mut impl Machine,
) -> Result<Established, IncomingError> {
    let mut buf = vec![0u8; HANDSHAKE_READ];
    loop {
        let out = machine.transmit();
        if !out.is_empty() {
            stream.write_all(&out).await?;
        }
        if let Status::Established(e) = status {
            return Ok(*e);
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
        }
        status = machine.handle(&buf[..n])?;
    }
}

/// A dialled connection: the stream, its ciphers, and plaintext bytes the peer sent
/// right after the MSE handshake.
#[derive(Debug)]
pub struct Dialled {
    /// The stream and ciphers.
    pub peer: PeerStream,
    /// Payload bytes already received (decrypted).
    pub received: Vec<u8>,
}

/// Dials `addr` for torrent `info_hash` following the policy: MSE first unless disabled
/// or known not to work with this address; with `prefer`, a failed MSE handshake is
/// followed by a plaintext reconnect.
pub async fn dial(
    addr: SocketAddr,
    info_hash: [u8; 20],
    enc: &Encryption,
    connect_timeout: Duration,
) -> Result<Dialled, String> {
    let connect = || async move {
        match tokio::time::timeout(connect_timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => Ok(s),
            Ok(Err(e)) => Err(format!("connect: {e}")),
            Err(_) => Err("connect timed out".to_string()),
        }
    };
    let plain = |stream| Dialled {
        peer: PeerStream {
            stream,
            cipher: None,
        },
        received: Vec::new(),
    };
    let Some(provide) = enc.policy.methods() else {
        return Ok(plain(connect().await?));
    };
    if enc.policy == EncryptionPolicy::Prefer && enc.recall(&addr) == Some(false) {
        return Ok(plain(connect().await?));
    }
    let mut stream = connect().await?;
    let attempt = tokio::time::timeout(
        enc.handshake_timeout,
        initiate(&mut stream, info_hash, provide),
    );
    let err = match attempt.await {
        Ok(Ok(est)) => {
            enc.remember(addr, true);
            debug!(peer = %addr, method = ?est.method, "encrypted handshake done");
            return Ok(Dialled {
                peer: PeerStream {
                    stream,
                    cipher: est.cipher.map(Box::new),
                },
                received: est.remaining_bytes,
            });
        }
        Ok(Err(e)) => e.to_string(),
        Err(_) => "timed out".to_string(),
    };
    drop(stream);
    if enc.policy == EncryptionPolicy::Require {
        warn!(peer = %addr, "encrypted handshake failed ({err}); encryption is required (--encryption require): not connecting in plaintext");
        return Err(format!(
            "encrypted handshake failed ({err}); plaintext not allowed"
        ));
    }
    debug!(peer = %addr, "encrypted handshake failed ({err}): reconnecting in plaintext");
    enc.remember(addr, false);
    Ok(plain(connect().await?))
}

async fn initiate(
    stream: &mut TcpStream,
    info_hash: [u8; 20],
    provide: CryptoSet,
) -> Result<Established, IncomingError> {
    // The BitTorrent handshake follows as ordinary (encrypted) payload: IA stays empty.
    let mut initiator = Initiator::new(&mut rand::thread_rng(), info_hash, provide, Vec::new());
    drive(stream, Status::InProgress, &mut initiator).await
}

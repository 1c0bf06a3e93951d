//! What a handshake step yields: [`Status`] and [`Established`].

use crate::{CryptoSet, Rc4Pair};

/// Progress after `handle_bytes`.
#[derive(Debug)]
pub enum Status {
    /// More bytes are needed (send what `poll_transmit` returns first).
    InProgress,
    /// The handshake is done. Send what `poll_transmit` still returns before anything
    /// else.
    Established(Box<Established>),
}

/// A finished handshake.
#[derive(Debug)]
pub struct Established {
    /// The RC4 streams when RC4 was selected (`None`: plaintext from now on). Their
    /// state is positioned after every byte the handshake sent and received, including
    /// `remaining_bytes`.
    pub cipher: Option<Rc4Pair>,
    /// The method selected.
    pub method: CryptoSet,
    /// The initiator's initial payload (IA), decrypted (empty on the initiator's side).
    pub initial_payload: Vec<u8>,
    /// Bytes received after the handshake, already decrypted: the start of the payload
    /// stream.
    pub remaining_bytes: Vec<u8>,
    /// The torrent's info-hash (SKEY).
    pub info_hash: [u8; 20],
}

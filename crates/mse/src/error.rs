//! [`MseError`]: why a handshake failed.

use thiserror::Error;

/// Why an MSE handshake failed. The connection should be closed (or, for an initiator,
/// retried in plaintext if the policy allows it).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MseError {
    /// The peer's Diffie-Hellman public key is out of range (0, 1, P-1 or ≥ P).
    #[error("peer's Diffie-Hellman key is out of range")]
    BadPublicKey,
    /// The responder found no `HASH('req1', S)` within the padding window after `Ya`.
    #[error("no req1 marker within {scanned} bytes after the peer's key (padding over 512 bytes, or not MSE)")]
    Req1NotFound {
        /// Bytes searched.
        scanned: usize,
    },
    /// The initiator found no encrypted verification constant within the padding window
    /// after `Yb`.
    #[error("no verification constant within {scanned} bytes after the peer's key (padding over 512 bytes, or wrong keys)")]
    VcNotFound {
        /// Bytes searched.
        scanned: usize,
    },
    /// `HASH('req2', SKEY) xor HASH('req3', S)` names no torrent we serve.
    #[error("the peer asked for a torrent we do not serve")]
    UnknownInfoHash,
    /// The decrypted verification constant is not eight zero bytes.
    #[error("wrong verification constant (not eight zero bytes after decryption)")]
    BadVerification,
    /// A padding length field is over 512.
    #[error("padding length {len} is over the 512-byte limit")]
    PaddingTooLong {
        /// The announced length.
        len: usize,
    },
    /// The peer provides no crypto method we allow.
    #[error("no common crypto method: peer provides {provided:#x}, we allow {allowed:#x}")]
    NoCommonMethod {
        /// The peer's `crypto_provide`.
        provided: u32,
        /// Ours.
        allowed: u32,
    },
    /// The responder selected a method we did not provide, or more than one.
    #[error("peer selected crypto {select:#x}, we provided {provided:#x}")]
    BadSelect {
        /// The peer's `crypto_select`.
        select: u32,
        /// Our `crypto_provide`.
        provided: u32,
    },
    /// The handshake already finished (or failed): no more input is taken.
    #[error("the handshake is already over")]
    Finished,
}

//! bitswarm-mse: BitTorrent Message Stream Encryption (MSE, also called Protocol
//! Encryption or PE). It owns the Diffie-Hellman key exchange, the hashed markers
//! (`req1`, `req2 xor req3`), the verification constant, the crypto negotiation
//! (`crypto_provide` / `crypto_select`), padding and the initial payload, as two sans-I/O
//! state machines: [`Initiator`] (the side that dials) and [`Responder`] (the side that
//! accepts). It also owns the RC4 stream ciphers ([`Rc4Pair`]) that carry an encrypted
//! connection after the handshake.
//!
//! It does no I/O: the caller feeds received bytes with `handle_bytes`, sends what
//! `poll_transmit` returns, and supplies randomness (the private key and the padding) at
//! construction. Every buffer is bounded by the protocol: padding is at most
//! [`MAX_PAD`] bytes, and a marker not found within its padding window fails the
//! handshake.
//!
//! # Layout
//! - [`dh`] — the 768-bit group, key pairs and the shared secret.
//! - [`keys`] — `HASH(...)` markers and the RC4 key derivation.
//! - [`cipher`] — [`Rc4Stream`], [`Rc4Pair`].
//! - [`crypto_set`] — [`CryptoSet`]: the `crypto_provide`/`crypto_select` bit field.
//! - [`initiator`], [`responder`] — the two handshakes.
//! - [`outcome`] — [`Status`], [`Established`].
//! - [`error`] — [`MseError`].
#![warn(missing_docs)]

pub mod cipher;
pub mod crypto_set;
pub mod dh;
pub mod error;
pub mod initiator;
pub mod keys;
pub mod outcome;
mod rc4;
pub mod responder;
mod scan;

#[cfg(test)]
mod tests;

pub use cipher::{Rc4Pair, Rc4Stream};
pub use crypto_set::CryptoSet;
pub use error::MseError;
pub use initiator::Initiator;
pub use outcome::{Established, Status};
pub use responder::Responder;

/// Longest padding (PadA, PadB, PadC, PadD) the protocol allows, in bytes.
pub const MAX_PAD: usize = 512;
/// Length of a Diffie-Hellman public key on the wire (768 bits).
pub const KEY_LEN: usize = 96;
/// Length of the verification constant (`VC`, all zero bytes).
pub const VC_LEN: usize = 8;

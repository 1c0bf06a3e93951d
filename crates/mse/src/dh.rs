//! The Diffie-Hellman group of MSE and key pairs.
//!
//! The spec fixes a 768-bit prime P and the generator G = 2; public keys travel as 96
//! big-endian bytes. The private key is 160 random bits (the spec asks for at least 128
//! and says more than 180 adds nothing but time).

use std::sync::OnceLock;

use num_bigint::BigUint;
use rand::RngCore;

use crate::{MseError, KEY_LEN};

/// The MSE prime P, big-endian hexadecimal.
pub const PRIME_HEX: &str = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563";
/// The generator G.
pub const GENERATOR: u32 = 2;
/// Bytes of a private key.
const PRIVATE_LEN: usize = 20;

fn prime() -> &'static BigUint {
    static P: OnceLock<BigUint> = OnceLock::new();
    P.get_or_init(|| {
        BigUint::parse_bytes(PRIME_HEX.as_bytes(), 16).unwrap_or_else(|| BigUint::from(0u32))
    })
}

/// A private key and its public key `G^x mod P`.
pub struct KeyPair {
    private: BigUint,
    public: [u8; KEY_LEN],
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair").finish_non_exhaustive()
    }
}

impl KeyPair {
    /// A fresh key pair from `rng`.
    pub fn generate(rng: &mut impl RngCore) -> Self {
        let mut x = [0u8; PRIVATE_LEN];
        rng.fill_bytes(&mut x);
        x[0] |= 0x80; // a full 160-bit exponent, never zero
        let private = BigUint::from_bytes_be(&x);
        let public = to_key_bytes(&BigUint::from(GENERATOR).modpow(&private, prime()));
        KeyPair { private, public }
    }

    /// The public key as sent on the wire.
    pub fn public(&self) -> &[u8; KEY_LEN] {
        &self.public
    }

    /// The shared secret `S = Y^x mod P` with the peer's public key `Y`, as 96 bytes.
    pub fn shared_secret(&self, peer_public: &[u8]) -> Result<[u8; KEY_LEN], MseError> {
        let p = prime();
        let y = BigUint::from_bytes_be(peer_public);
        let one = BigUint::from(1u32);
        if y <= one || &y >= p || y == p - &one {
            return Err(MseError::BadPublicKey);
        }
        Ok(to_key_bytes(&y.modpow(&self.private, p)))
    }
}

/// `n` (< P) as 96 big-endian bytes, left-padded with zeros.
fn to_key_bytes(n: &BigUint) -> [u8; KEY_LEN] {
    let bytes = n.to_bytes_be();
    let mut out = [0u8; KEY_LEN];
    let start = KEY_LEN.saturating_sub(bytes.len());
    let from = bytes.len().saturating_sub(KEY_LEN);
    out[start..].copy_from_slice(&bytes[from..]);
    out
}

//! `get_peers` tokens (BEP 5): SHA-1 of the querier's IP and a secret that changes every
//! [`ROTATE_EVERY`]; tokens made with the previous secret are still accepted, so a token
//! lives 5 to 10 minutes.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use sha1::{Digest, Sha1};

/// How often the secret changes.
pub const ROTATE_EVERY: Duration = Duration::from_secs(5 * 60);
/// Length of the tokens we hand out.
pub const TOKEN_LEN: usize = 8;

/// Makes and checks tokens.
#[derive(Debug, Clone)]
pub struct TokenSecret {
    current: [u8; 16],
    previous: [u8; 16],
    rotated_at: Instant,
}

impl TokenSecret {
    /// Starts with two random secrets from `rng`.
    pub fn new(rng: &mut impl rand::Rng, now: Instant) -> Self {
        TokenSecret {
            current: rng.gen(),
            previous: rng.gen(),
            rotated_at: now,
        }
    }

    /// Rotates the secret when [`ROTATE_EVERY`] has passed.
    pub fn maybe_rotate(&mut self, rng: &mut impl rand::Rng, now: Instant) {
        if now.saturating_duration_since(self.rotated_at) >= ROTATE_EVERY {
            self.previous = self.current;
            self.current = rng.gen();
            self.rotated_at = now;
        }
    }

    /// When the next rotation is due.
    pub fn next_rotation(&self) -> Instant {
        self.rotated_at + ROTATE_EVERY
    }

    /// The token for `ip`.
    pub fn token_for(&self, ip: IpAddr) -> Vec<u8> {
        make(&self.current, ip)
    }

    /// Whether `token` was made for `ip` with the current or the previous secret.
    pub fn is_valid(&self, ip: IpAddr, token: &[u8]) -> bool {
        token == make(&self.current, ip).as_slice() || token == make(&self.previous, ip).as_slice()
    }
}

fn make(secret: &[u8; 16], ip: IpAddr) -> Vec<u8> {
    let mut h = Sha1::new();
    match ip {
        IpAddr::V4(v4) => h.update(v4.octets()),
        IpAddr::V6(v6) => h.update(v6.octets()),
    }
    h.update(secret);
    h.finalize()[..TOKEN_LEN].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn tokens_survive_one_rotation_not_two() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let t0 = Instant::now();
        let mut s = TokenSecret::new(&mut rng, t0);
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        let other: IpAddr = "10.1.2.4".parse().unwrap();
        let tok = s.token_for(ip);
        assert!(s.is_valid(ip, &tok));
        assert!(!s.is_valid(other, &tok));
        s.maybe_rotate(&mut rng, t0 + Duration::from_secs(60));
        assert!(s.is_valid(ip, &tok), "no rotation before 5 minutes");
        s.maybe_rotate(&mut rng, t0 + ROTATE_EVERY);
        assert!(s.is_valid(ip, &tok), "previous secret accepted");
        s.maybe_rotate(&mut rng, t0 + ROTATE_EVERY * 2);
        assert!(!s.is_valid(ip, &tok), "two rotations later it expired");
    }
}

//! The BEP 6 allowed-fast set: the pieces a peer may request from us while choked.
//!
//! BEP 6 specifies the generator precisely:
//!
//! ```text
//! x = 0xFFFFFF00 & ip
//! x.append(infohash)
//! while |a| < k:
//!   x = SHA1(x)
//!   for i in [0:5] and |a| < k:
//!     j = i*4
//!     y = x[j:j+4]
//!     index = y % sz
//!     if index not in a:
//!       add index to a
//! ```
//!
//! with the IP in network byte order and `y` read big-endian. The BEP defines it for IPv4
//! only ("Step (1) selects the most significant octets in peer P's ip address").

use std::net::Ipv4Addr;

use sha1::{Digest, Sha1};

/// Generates the allowed-fast set of `k` pieces for a peer at `ip`.
///
/// `k` is capped at `piece_count` (otherwise the loop could never finish); an empty
/// torrent yields an empty set. The order is the generation order of the BEP.
pub fn allowed_fast_set(
    ip: Ipv4Addr,
    info_hash: &[u8; 20],
    piece_count: u32,
    k: usize,
) -> Vec<u32> {
    let k = k.min(piece_count as usize);
    let mut set: Vec<u32> = Vec::with_capacity(k);
    if k == 0 {
        return set;
    }
    let masked = u32::from(ip) & 0xFFFF_FF00;
    let mut x: Vec<u8> = Vec::with_capacity(24);
    x.extend_from_slice(&masked.to_be_bytes());
    x.extend_from_slice(info_hash);
    while set.len() < k {
        let digest = Sha1::digest(&x);
        for chunk in digest.chunks_exact(4) {
            if set.len() >= k {
                break;
            }
            let y = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            let index = y % piece_count;
            // k is small (libtorrent and the BEP use ~10), so a linear scan is fine.
            if !set.contains(&index) {
                set.push(index);
            }
        }
        x.clear();
        x.extend_from_slice(&digest);
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: Ipv4Addr = Ipv4Addr::new(80, 4, 4, 200);

    #[test]
    fn bep6_vector_seven_pieces() {
        assert_eq!(
            allowed_fast_set(IP, &[0xAA; 20], 1313, 7),
            vec![1059, 431, 808, 1217, 287, 376, 1188]
        );
    }

    #[test]
    fn bep6_vector_nine_pieces() {
        assert_eq!(
            allowed_fast_set(IP, &[0xAA; 20], 1313, 9),
            vec![1059, 431, 808, 1217, 287, 376, 1188, 353, 508]
        );
    }

    #[test]
    fn same_slash_24_gives_same_set() {
        let other = Ipv4Addr::new(80, 4, 4, 1);
        assert_eq!(
            allowed_fast_set(other, &[0xAA; 20], 1313, 9),
            allowed_fast_set(IP, &[0xAA; 20], 1313, 9)
        );
    }

    #[test]
    fn k_is_capped_by_piece_count_and_empty_torrent_terminates() {
        let mut set = allowed_fast_set(IP, &[0xAA; 20], 3, 10);
        set.sort_unstable();
        assert_eq!(set, vec![0, 1, 2]);
        assert!(allowed_fast_set(IP, &[0xAA; 20], 0, 10).is_empty());
        assert!(allowed_fast_set(IP, &[0xAA; 20], 100, 0).is_empty());
    }
}

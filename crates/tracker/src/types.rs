//! Identifiers the tracker keys its maps by: the 20-byte info-hash and peer id, the
//! protocol crate's types (re-exported so the front ends and tests name them from here).

pub use bitswarm_proto::{InfoHash, PeerId};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let h = InfoHash([0xab; 20]);
        assert_eq!(InfoHash::from_hex(&h.to_hex()).ok(), Some(h));
        assert!(InfoHash::from_hex("zz").is_err());
        assert_eq!(InfoHash::from_hex(&"AB".repeat(20)).ok(), Some(h));
    }
}

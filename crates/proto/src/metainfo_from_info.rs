//! A `.torrent` built from an info dictionary fetched from peers (BEP 9) and the
//! trackers of a magnet link.

use crate::metainfo::{Metainfo, MetainfoError};

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(s.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(s);
}

/// The bytes of a `.torrent` file holding `raw_info` verbatim (so its info-hash is the
/// SHA-1 of `raw_info`), with `announce` set to the first tracker and `announce-list`
/// giving every tracker its own tier (BEP 12), as magnet `tr` parameters have no tiers.
pub fn torrent_bytes_from_info(raw_info: &[u8], trackers: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw_info.len() + 64);
    out.push(b'd');
    if let Some(first) = trackers.first() {
        put_str(&mut out, b"announce");
        put_str(&mut out, first.as_bytes());
        put_str(&mut out, b"announce-list");
        out.push(b'l');
        for t in trackers {
            out.push(b'l');
            put_str(&mut out, t.as_bytes());
            out.push(b'e');
        }
        out.push(b'e');
    }
    put_str(&mut out, b"info");
    out.extend_from_slice(raw_info);
    out.push(b'e');
    out
}

impl Metainfo {
    /// Builds a torrent from raw info bytes and tracker URLs (see
    /// [`torrent_bytes_from_info`]); the info dictionary is validated as in a file.
    pub fn from_info_bytes(
        raw_info: &[u8],
        trackers: &[String],
    ) -> Result<Metainfo, MetainfoError> {
        Metainfo::from_bytes(&torrent_bytes_from_info(raw_info, trackers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InfoHash;

    const INFO: &[u8] =
        b"d6:lengthi5e4:name1:a12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaae";

    #[test]
    fn keeps_the_info_bytes_and_the_trackers() {
        let trackers = vec!["http://t1/announce".to_owned(), "udp://t2:80".to_owned()];
        let m = Metainfo::from_info_bytes(INFO, &trackers).unwrap();
        assert_eq!(m.raw_info(), INFO);
        assert_eq!(m.info_hash(), InfoHash::of_info_bytes(INFO));
        assert_eq!(m.announce(), Some("http://t1/announce"));
        assert_eq!(m.trackers(), trackers);
        let again = Metainfo::from_bytes(&torrent_bytes_from_info(INFO, &trackers)).unwrap();
        assert_eq!(again, m);
    }

    #[test]
    fn no_trackers_and_bad_info() {
        let m = Metainfo::from_info_bytes(INFO, &[]).unwrap();
        assert_eq!(m.announce(), None);
        assert!(m.trackers().is_empty());
        assert!(Metainfo::from_info_bytes(b"i3e", &[]).is_err());
        assert!(Metainfo::from_info_bytes(b"d4:name1:ae", &[]).is_err());
    }
}

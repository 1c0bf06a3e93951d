//! Magnet URIs (BEP 9): `xt=urn:btih:` (hex or base32), `dn`, `tr` (several), `x.pe`
//! peer addresses, `ws` web seeds (BEP 19), `so` select-only (BEP 53). `xt=urn:btmh:`
//! (v2, BEP 52) is recognized and kept, but a v2-only magnet is refused for now.

use std::fmt;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::str::FromStr;

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

use crate::id::{InfoHash, ParseIdError};

/// Characters escaped when writing a magnet value. `:` and `/` stay readable.
const VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b']')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Why a string is not a usable magnet link.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MagnetError {
    /// Does not start with `magnet:?`.
    #[error("not a magnet link (expected it to start with 'magnet:?')")]
    NotMagnet,
    /// No `xt=urn:btih:` (and no v2 `btmh` either).
    #[error("magnet link has no info-hash (xt=urn:btih:...)")]
    MissingInfoHash,
    /// The `btih` value is malformed.
    #[error("magnet link has a bad info-hash: {0}")]
    BadInfoHash(ParseIdError),
    /// Only a v2 (`urn:btmh:`) hash.
    #[error("magnet link has only a BitTorrent v2 hash (urn:btmh); v2 is not supported yet")]
    V2NotSupported,
    /// A malformed `so` (select-only) value.
    #[error("magnet link has a bad 'so' (select-only) value {0:?}")]
    BadSelectOnly(String),
}

/// A parsed magnet link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Magnet {
    /// The v1 info-hash.
    pub info_hash: InfoHash,
    /// The v2 multihash (`urn:btmh:` value, hex) when the link also carries one.
    pub btmh: Option<String>,
    /// `dn`: display name.
    pub display_name: Option<String>,
    /// `tr`: tracker URLs, in order.
    pub trackers: Vec<String>,
    /// `x.pe`: peer addresses (`host:port`), as given.
    pub peers: Vec<String>,
    /// `ws`: web seed URLs.
    pub web_seeds: Vec<String>,
    /// `so`: indices of files to download (BEP 53), as inclusive ranges.
    pub select_only: Vec<RangeInclusive<u32>>,
}

impl Magnet {
    /// A magnet with only an info-hash.
    pub fn new(info_hash: InfoHash) -> Self {
        Magnet {
            info_hash,
            btmh: None,
            display_name: None,
            trackers: Vec::new(),
            peers: Vec::new(),
            web_seeds: Vec::new(),
            select_only: Vec::new(),
        }
    }

    /// Parse a magnet URI.
    pub fn parse(s: &str) -> Result<Magnet, MagnetError> {
        let s = s.trim();
        let query = s
            .get(..8)
            .filter(|p| p.eq_ignore_ascii_case("magnet:?"))
            .map(|_| &s[8..])
            .ok_or(MagnetError::NotMagnet)?;
        let mut info_hash = None;
        let mut m = Magnet::new(InfoHash([0; 20]));
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode_str(raw).decode_utf8_lossy().into_owned();
            match base_key(key) {
                "xt" => {
                    if let Some(h) = strip_prefix_ci(&value, "urn:btih:") {
                        // The first v1 hash wins; later ones are ignored.
                        if info_hash.is_none() {
                            info_hash =
                                Some(InfoHash::from_str(h).map_err(MagnetError::BadInfoHash)?);
                        }
                    } else if let Some(h) = strip_prefix_ci(&value, "urn:btmh:") {
                        m.btmh.get_or_insert_with(|| h.to_owned());
                    }
                }
                "dn" => m.display_name = Some(value),
                "tr" if !value.is_empty() => m.trackers.push(value),
                "ws" if !value.is_empty() => m.web_seeds.push(value),
                "x.pe" if !value.is_empty() => m.peers.push(value),
                "so" => m.select_only.extend(parse_select_only(&value)?),
                _ => {}
            }
        }
        m.info_hash = match (info_hash, &m.btmh) {
            (Some(h), _) => h,
            (None, Some(_)) => return Err(MagnetError::V2NotSupported),
            (None, None) => return Err(MagnetError::MissingInfoHash),
        };
        Ok(m)
    }

    /// The `x.pe` peers that are literal IP socket addresses (host names are skipped).
    pub fn peer_addrs(&self) -> Vec<SocketAddr> {
        self.peers.iter().filter_map(|p| p.parse().ok()).collect()
    }
}

/// `tr.1` → `tr`; `x.pe` stays `x.pe`.
fn base_key(key: &str) -> &str {
    match key.rsplit_once('.') {
        Some((base, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => key,
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    s.get(..prefix.len())
        .filter(|p| p.eq_ignore_ascii_case(prefix))
        .map(|_| &s[prefix.len()..])
}

/// `0,2,4-6` → [0..=0, 2..=2, 4..=6].
fn parse_select_only(v: &str) -> Result<Vec<RangeInclusive<u32>>, MagnetError> {
    let bad = || MagnetError::BadSelectOnly(v.to_owned());
    v.split(',')
        .map(|item| {
            let (a, b) = item.split_once('-').unwrap_or((item, item));
            let a: u32 = a.trim().parse().map_err(|_| bad())?;
            let b: u32 = b.trim().parse().map_err(|_| bad())?;
            if a > b {
                return Err(bad());
            }
            Ok(a..=b)
        })
        .collect()
}

impl FromStr for Magnet {
    type Err = MagnetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Magnet::parse(s)
    }
}

/// Writes a magnet URI that [`Magnet::parse`] reads back to the same value.
impl fmt::Display for Magnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "magnet:?xt=urn:btih:{}", self.info_hash)?;
        if let Some(h) = &self.btmh {
            write!(f, "&xt=urn:btmh:{}", utf8_percent_encode(h, VALUE))?;
        }
        if let Some(dn) = &self.display_name {
            write!(f, "&dn={}", utf8_percent_encode(dn, VALUE))?;
        }
        let lists = [
            ("tr", &self.trackers),
            ("ws", &self.web_seeds),
            ("x.pe", &self.peers),
        ];
        for (key, values) in lists {
            for v in values {
                write!(f, "&{key}={}", utf8_percent_encode(v, VALUE))?;
            }
        }
        if !self.select_only.is_empty() {
            let items: Vec<String> = self
                .select_only
                .iter()
                .map(|r| match r.start() == r.end() {
                    true => r.start().to_string(),
                    false => format!("{}-{}", r.start(), r.end()),
                })
                .collect();
            write!(f, "&so={}", items.join(","))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";

    #[test]
    fn full_link() {
        let s = format!(
            "magnet:?xt=urn:btih:{HEX}&dn=Big%20Buck+Bunny&tr=udp%3A%2F%2Ft1%3A80&tr.1=http://t2/a?x=1\
             &x.pe=10.0.0.1:6881&x.pe=host:1&ws=https%3A%2F%2Fws%2Ff&so=0,2,4-6&foo=bar"
        );
        let m = Magnet::parse(&s).unwrap();
        assert_eq!(m.info_hash.to_string(), HEX);
        assert_eq!(m.display_name.as_deref(), Some("Big Buck+Bunny"));
        assert_eq!(m.trackers, vec!["udp://t1:80", "http://t2/a?x=1"]);
        assert_eq!(m.peers, vec!["10.0.0.1:6881", "host:1"]);
        assert_eq!(m.peer_addrs(), vec!["10.0.0.1:6881".parse().unwrap()]);
        assert_eq!(m.web_seeds, vec!["https://ws/f"]);
        assert_eq!(m.select_only, vec![0..=0, 2..=2, 4..=6]);
        assert_eq!(Magnet::parse(&m.to_string()).unwrap(), m);
    }

    #[test]
    fn base32_and_case() {
        let m = Magnet::parse("MAGNET:?xt=URN:BTIH:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK").unwrap();
        assert_eq!(m.info_hash.to_string(), HEX);
    }

    #[test]
    fn v2() {
        let btmh = "1220caf1e1c30e81cb361b9ee167c4aa64228a7fa4fa9f6105232b28ad099f3a302e";
        assert_eq!(
            Magnet::parse(&format!("magnet:?xt=urn:btmh:{btmh}")),
            Err(MagnetError::V2NotSupported)
        );
        let hybrid =
            Magnet::parse(&format!("magnet:?xt=urn:btih:{HEX}&xt=urn:btmh:{btmh}")).unwrap();
        assert_eq!(hybrid.btmh.as_deref(), Some(btmh));
        assert_eq!(Magnet::parse(&hybrid.to_string()).unwrap(), hybrid);
    }

    #[test]
    fn errors() {
        assert_eq!(Magnet::parse("http://x"), Err(MagnetError::NotMagnet));
        assert_eq!(
            Magnet::parse("magnet:?dn=x"),
            Err(MagnetError::MissingInfoHash)
        );
        assert!(matches!(
            Magnet::parse("magnet:?xt=urn:btih:123"),
            Err(MagnetError::BadInfoHash(_))
        ));
        assert!(matches!(
            Magnet::parse(&format!("magnet:?xt=urn:btih:{HEX}&so=3-1")),
            Err(MagnetError::BadSelectOnly(_))
        ));
        assert!(Magnet::parse("").is_err());
        assert!(Magnet::parse("magnet:?").is_err());
    }

    proptest::proptest! {
        #[test]
        fn display_then_parse_is_identity(
            hash in proptest::array::uniform20(0u8..),
            dn in proptest::option::of(".*"),
            trackers in proptest::collection::vec(".+", 0..4),
            peers in proptest::collection::vec(".+", 0..3),
            so in proptest::collection::vec((0u32..100, 0u32..5), 0..4),
        ) {
            let mut m = Magnet::new(InfoHash(hash));
            m.display_name = dn;
            m.trackers = trackers;
            m.peers = peers;
            m.select_only = so.into_iter().map(|(a, n)| a..=a + n).collect();
            let parsed = Magnet::parse(&m.to_string()).unwrap();
            proptest::prop_assert_eq!(parsed, m);
        }

        #[test]
        fn arbitrary_input_never_panics(s in ".*") {
            let _ = Magnet::parse(&s);
            let _ = Magnet::parse(&format!("magnet:?{s}"));
        }
    }
}

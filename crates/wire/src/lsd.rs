//! Local Service Discovery (BEP 14): the `BT-SEARCH` announce, an HTTP-like request sent
//! over UDP multicast to 239.192.152.143:6771, saying "I take part in these swarms and
//! listen on this port".
//!
//! ```text
//! BT-SEARCH * HTTP/1.1\r\n
//! Host: 239.192.152.143:6771\r\n
//! Port: <port>\r\n
//! Infohash: <40 hex digits>\r\n      (one or more, consecutive)
//! cookie: <opaque>\r\n               (optional: lets a client drop its own announces)
//! \r\n
//! \r\n
//! ```
//!
//! Parsing is tolerant where real clients differ (header names in any case, `\n` without
//! `\r`, unknown headers ignored) and strict where a remote could abuse it: the datagram,
//! the cookie and the number of info-hashes are bounded, and a port of 0 is refused.

use std::net::{Ipv4Addr, SocketAddrV4};

use thiserror::Error;

/// The IPv4 multicast group and port of BEP 14.
pub const LSD_GROUP_V4: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(239, 192, 152, 143), 6771);
/// Largest announce accepted or sent (one unfragmented datagram on any LAN).
pub const MAX_LSD_DATAGRAM: usize = 1400;
/// Most info-hashes in one announce (each line is 51 bytes: 25 fit in 1400 bytes with
/// the other headers).
pub const MAX_LSD_HASHES: usize = 20;
/// Longest cookie accepted or sent.
pub const MAX_LSD_COOKIE: usize = 64;

/// One LSD announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LsdAnnounce {
    /// The TCP port the sender listens on.
    pub port: u16,
    /// The swarms announced (at most [`MAX_LSD_HASHES`]).
    pub info_hashes: Vec<[u8; 20]>,
    /// The sender's cookie, if any.
    pub cookie: Option<String>,
}

/// Why a datagram is not an LSD announce.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LsdError {
    /// Larger than [`MAX_LSD_DATAGRAM`].
    #[error("LSD datagram of {0} bytes is over the limit")]
    TooLong(usize),
    /// Not text, or the request line is not `BT-SEARCH * HTTP/1.1`.
    #[error("not a BT-SEARCH announce")]
    NotAnnounce,
    /// No `Port` header, or one that is not a port from 1 to 65535.
    #[error("LSD announce without a valid Port")]
    BadPort,
    /// No valid `Infohash` header.
    #[error("LSD announce without a valid Infohash")]
    NoInfoHash,
    /// More than [`MAX_LSD_HASHES`] info-hashes.
    #[error("LSD announce with too many info-hashes")]
    TooManyHashes,
    /// A cookie longer than [`MAX_LSD_COOKIE`].
    #[error("LSD cookie too long")]
    CookieTooLong,
}

impl LsdAnnounce {
    /// The datagram announcing `self` to the group `host` (as in the `Host` header, for
    /// example `239.192.152.143:6771`). At most [`MAX_LSD_HASHES`] hashes and a cookie of
    /// at most [`MAX_LSD_COOKIE`] bytes without control characters are written (the rest are
    /// left out: callers split longer lists over several announces).
    pub fn encode(&self, host: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + 51 * self.info_hashes.len());
        out.extend_from_slice(b"BT-SEARCH * HTTP/1.1\r\nHost: ");
        out.extend_from_slice(host.as_bytes());
        out.extend_from_slice(format!("\r\nPort: {}\r\n", self.port).as_bytes());
        for h in self.info_hashes.iter().take(MAX_LSD_HASHES) {
            out.extend_from_slice(b"Infohash: ");
            for b in h {
                out.extend_from_slice(format!("{b:02x}").as_bytes());
            }
            out.extend_from_slice(b"\r\n");
        }
        if let Some(c) = &self.cookie {
            if c.len() <= MAX_LSD_COOKIE && !c.chars().any(char::is_control) {
                out.extend_from_slice(b"cookie: ");
                out.extend_from_slice(c.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
        out.extend_from_slice(b"\r\n\r\n");
        out
    }

    /// Parses a received datagram. Info-hashes that are not 40 hex digits are skipped;
    /// the announce is refused when none is left.
    pub fn parse(datagram: &[u8]) -> Result<LsdAnnounce, LsdError> {
        if datagram.len() > MAX_LSD_DATAGRAM {
            return Err(LsdError::TooLong(datagram.len()));
        }
        let text = std::str::from_utf8(datagram).map_err(|_| LsdError::NotAnnounce)?;
        let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let request = lines.next().unwrap_or("");
        let mut words = request.split_ascii_whitespace();
        if words.next() != Some("BT-SEARCH")
            || words.next() != Some("*")
            || !words.next().is_some_and(|v| v.starts_with("HTTP/1."))
        {
            return Err(LsdError::NotAnnounce);
        }
        let mut port = None;
        let mut info_hashes = Vec::new();
        let mut cookie = None;
        for line in lines {
            if line.is_empty() {
                break;
            }
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("port") {
                port = value.parse::<u16>().ok().filter(|p| *p != 0);
                if port.is_none() {
                    return Err(LsdError::BadPort);
                }
            } else if name.eq_ignore_ascii_case("infohash") {
                if let Some(h) = parse_hex20(value) {
                    if info_hashes.len() == MAX_LSD_HASHES {
                        return Err(LsdError::TooManyHashes);
                    }
                    if !info_hashes.contains(&h) {
                        info_hashes.push(h);
                    }
                }
            } else if name.eq_ignore_ascii_case("cookie") {
                if value.len() > MAX_LSD_COOKIE {
                    return Err(LsdError::CookieTooLong);
                }
                // A cookie with control characters is not one we could have sent.
                if !value.chars().any(char::is_control) {
                    cookie = Some(value.to_owned());
                }
            }
        }
        let port = port.ok_or(LsdError::BadPort)?;
        if info_hashes.is_empty() {
            return Err(LsdError::NoInfoHash);
        }
        Ok(LsdAnnounce {
            port,
            info_hashes,
            cookie,
        })
    }
}

/// 40 hex digits (either case) as 20 bytes.
fn parse_hex20(s: &str) -> Option<[u8; 20]> {
    let b = s.as_bytes();
    if b.len() != 40 {
        return None;
    }
    let mut out = [0u8; 20];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HOST: &str = "239.192.152.143:6771";

    #[test]
    fn encodes_the_bep_layout() {
        let a = LsdAnnounce {
            port: 6881,
            info_hashes: vec![[0xab; 20]],
            cookie: Some("c00k1e".into()),
        };
        let text = String::from_utf8(a.encode(HOST)).unwrap();
        assert_eq!(
            text,
            format!(
                "BT-SEARCH * HTTP/1.1\r\nHost: {HOST}\r\nPort: 6881\r\nInfohash: {}\r\ncookie: c00k1e\r\n\r\n\r\n",
                "ab".repeat(20)
            )
        );
    }

    #[test]
    fn parses_what_libtorrent_sends() {
        // libtorrent's layout: upper-case hex, a cookie, and the trailing blank lines.
        let d = format!(
            "BT-SEARCH * HTTP/1.1\r\nHost: {HOST}\r\nPort: 51413\r\nInfohash: {}\r\ncookie: 3f2a\r\n\r\n\r\n",
            "0123456789ABCDEF0123456789ABCDEF01234567"
        );
        let a = LsdAnnounce::parse(d.as_bytes()).unwrap();
        assert_eq!(a.port, 51413);
        assert_eq!(a.info_hashes.len(), 1);
        assert_eq!(a.info_hashes[0][0], 0x01);
        assert_eq!(a.info_hashes[0][19], 0x67);
        assert_eq!(a.cookie.as_deref(), Some("3f2a"));
    }

    #[test]
    fn tolerates_bare_newlines_and_header_case() {
        let d = format!(
            "BT-SEARCH * HTTP/1.1\nhost: {HOST}\nPORT: 7000\nINFOHASH: {}\nX-Other: 1\n\n",
            "00".repeat(20)
        );
        let a = LsdAnnounce::parse(d.as_bytes()).unwrap();
        assert_eq!((a.port, a.info_hashes.len(), a.cookie), (7000, 1, None));
    }

    #[test]
    fn refuses_what_is_not_an_announce() {
        let ok_hash = format!("Infohash: {}\r\n", "11".repeat(20));
        let cases: Vec<(String, LsdError)> = vec![
            (
                format!("M-SEARCH * HTTP/1.1\r\nPort: 1\r\n{ok_hash}\r\n"),
                LsdError::NotAnnounce,
            ),
            (
                format!("BT-SEARCH * HTTP/1.1\r\n{ok_hash}\r\n"),
                LsdError::BadPort,
            ),
            (
                format!("BT-SEARCH * HTTP/1.1\r\nPort: 0\r\n{ok_hash}\r\n"),
                LsdError::BadPort,
            ),
            (
                format!("BT-SEARCH * HTTP/1.1\r\nPort: 70000\r\n{ok_hash}\r\n"),
                LsdError::BadPort,
            ),
            (
                "BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: xyz\r\n\r\n".into(),
                LsdError::NoInfoHash,
            ),
            (
                format!(
                    "BT-SEARCH * HTTP/1.1\r\nPort: 1\r\n{ok_hash}cookie: {}\r\n\r\n",
                    "c".repeat(65)
                ),
                LsdError::CookieTooLong,
            ),
        ];
        for (d, want) in cases {
            assert_eq!(LsdAnnounce::parse(d.as_bytes()), Err(want), "{d:?}");
        }
        assert_eq!(
            LsdAnnounce::parse(&[b' '; MAX_LSD_DATAGRAM + 1]),
            Err(LsdError::TooLong(MAX_LSD_DATAGRAM + 1))
        );
        assert_eq!(
            LsdAnnounce::parse(&[0xff, 0xfe]),
            Err(LsdError::NotAnnounce)
        );
        let many: String = (0..=MAX_LSD_HASHES)
            .map(|i| format!("Infohash: {:040x}\r\n", i + 1))
            .collect();
        let d = format!("BT-SEARCH * HTTP/1.1\r\nPort: 1\r\n{many}\r\n");
        assert_eq!(
            LsdAnnounce::parse(d.as_bytes()),
            Err(LsdError::TooManyHashes)
        );
    }

    proptest! {
        #[test]
        fn encode_then_parse_is_identity(
            port in 1u16..,
            hashes in proptest::collection::vec(any::<[u8; 20]>(), 1..=MAX_LSD_HASHES),
            cookie in proptest::option::of("[a-zA-Z0-9]{0,64}"),
        ) {
            let mut uniq: Vec<[u8; 20]> = Vec::new();
            for h in hashes {
                if !uniq.contains(&h) {
                    uniq.push(h);
                }
            }
            let a = LsdAnnounce { port, info_hashes: uniq, cookie };
            let bytes = a.encode(HOST);
            prop_assert!(bytes.len() <= MAX_LSD_DATAGRAM);
            prop_assert_eq!(LsdAnnounce::parse(&bytes), Ok(a));
        }

        #[test]
        fn parse_never_panics(d in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let _ = LsdAnnounce::parse(&d);
        }
    }
}

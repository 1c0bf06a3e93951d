//! Tracker requests from an HTTP query string, byte-exact: `info_hash` and `peer_id` are
//! 20 raw bytes percent-encoded, so the query is split and decoded by hand rather than by a
//! UTF-8 URL parser. A literal `+` stays `+` (a client that meant a space sends `%20`).

use std::net::IpAddr;

use crate::registry::Event;
use crate::types::{InfoHash, PeerId};

/// An HTTP announce's parameters (BEP 3, 7, 23).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnnounce {
    /// `info_hash`.
    pub info_hash: InfoHash,
    /// `peer_id`.
    pub peer_id: PeerId,
    /// `port`.
    pub port: u16,
    /// `uploaded` (0 if absent).
    pub uploaded: u64,
    /// `downloaded` (0 if absent).
    pub downloaded: u64,
    /// `left`; required.
    pub left: u64,
    /// `event` (absent, empty or `paused` mean a regular announce).
    pub event: Event,
    /// `compact`; compact unless the client sends `compact=0`.
    pub compact: bool,
    /// `no_peer_id=1`: leave peer ids out of the dictionary model.
    pub no_peer_id: bool,
    /// `numwant`.
    pub numwant: Option<u32>,
    /// `ip` (or `ipv4`/`ipv6`), used only if the config allows it.
    pub ip: Option<IpAddr>,
}

/// Why a query was refused; `Display` is the bencoded `failure reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// A required parameter is absent.
    #[error("missing parameter {0}")]
    Missing(&'static str),
    /// A parameter's value is malformed.
    #[error("invalid parameter {0}")]
    Invalid(&'static str),
    /// A scrape names more torrents than allowed.
    #[error("too many info_hash parameters (at most {0})")]
    TooManyHashes(usize),
}

/// Iterates over `key=value` pairs, both still percent-encoded.
pub fn pairs(query: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    query
        .split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.iter().position(|&b| b == b'=') {
            Some(eq) => (&p[..eq], &p[eq + 1..]),
            None => (p, &b""[..]),
        })
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes into `out` (cleared first); `None` on a broken `%` escape or if the
/// result would exceed `max` bytes.
pub fn percent_decode(raw: &[u8], max: usize, out: &mut Vec<u8>) -> Option<()> {
    out.clear();
    let mut i = 0;
    while i < raw.len() {
        let b = if raw[i] == b'%' {
            let hi = hex_val(*raw.get(i + 1)?)?;
            let lo = hex_val(*raw.get(i + 2)?)?;
            i += 3;
            hi << 4 | lo
        } else {
            i += 1;
            raw[i - 1]
        };
        if out.len() == max {
            return None;
        }
        out.push(b);
    }
    Some(())
}

fn twenty(raw: &[u8], name: &'static str, buf: &mut Vec<u8>) -> Result<[u8; 20], QueryError> {
    percent_decode(raw, 20, buf).ok_or(QueryError::Invalid(name))?;
    buf.as_slice()
        .try_into()
        .map_err(|_| QueryError::Invalid(name))
}

fn number<T: std::str::FromStr>(raw: &[u8], name: &'static str) -> Result<T, QueryError> {
    std::str::from_utf8(raw)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(QueryError::Invalid(name))
}

/// Parses an announce query.
pub fn parse_announce(query: &[u8]) -> Result<HttpAnnounce, QueryError> {
    let mut buf = Vec::with_capacity(64);
    let (mut info_hash, mut peer_id, mut port, mut left) = (None, None, None, None);
    let mut a = HttpAnnounce {
        info_hash: InfoHash([0; 20]),
        peer_id: PeerId([0; 20]),
        port: 0,
        uploaded: 0,
        downloaded: 0,
        left: 0,
        event: Event::None,
        compact: true,
        no_peer_id: false,
        numwant: None,
        ip: None,
    };
    for (k, v) in pairs(query) {
        match k {
            b"info_hash" => info_hash = Some(twenty(v, "info_hash", &mut buf)?),
            b"peer_id" => peer_id = Some(twenty(v, "peer_id", &mut buf)?),
            b"port" => port = Some(number::<u16>(v, "port")?),
            b"left" => left = Some(number::<u64>(v, "left")?),
            b"uploaded" => a.uploaded = number(v, "uploaded")?,
            b"downloaded" => a.downloaded = number(v, "downloaded")?,
            b"numwant" | b"num_want" => {
                // Some clients send -1 for "default".
                let n: i64 = number(v, "numwant")?;
                a.numwant = u32::try_from(n).ok();
            }
            b"compact" => a.compact = v != b"0",
            b"no_peer_id" => a.no_peer_id = v != b"0",
            b"event" => {
                a.event = match v {
                    b"started" => Event::Started,
                    b"completed" => Event::Completed,
                    b"stopped" => Event::Stopped,
                    b"" | b"empty" | b"paused" => Event::None,
                    _ => return Err(QueryError::Invalid("event")),
                }
            }
            b"ip" | b"ipv4" | b"ipv6" => {
                percent_decode(v, 64, &mut buf).ok_or(QueryError::Invalid("ip"))?;
                // A host name or junk is ignored rather than refused: the socket address
                // is the fallback either way.
                a.ip = std::str::from_utf8(&buf)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .or(a.ip);
            }
            // `key` and `trackerid` are accepted and not needed: peers are identified by
            // (peer id, IP), and the tracker id this tracker sends (one per run, BEP 3)
            // carries no state a client must return.
            _ => {}
        }
    }
    a.info_hash = InfoHash(info_hash.ok_or(QueryError::Missing("info_hash"))?);
    a.peer_id = PeerId(peer_id.ok_or(QueryError::Missing("peer_id"))?);
    a.port = port.ok_or(QueryError::Missing("port"))?;
    a.left = left.ok_or(QueryError::Missing("left"))?;
    if a.port == 0 && a.event != Event::Stopped {
        return Err(QueryError::Invalid("port"));
    }
    Ok(a)
}

/// Parses a scrape query: every `info_hash` parameter, in order (BEP 48).
pub fn parse_scrape(query: &[u8], max_hashes: usize) -> Result<Vec<InfoHash>, QueryError> {
    let mut buf = Vec::with_capacity(64);
    let mut hashes = Vec::new();
    for (k, v) in pairs(query) {
        if k == b"info_hash" {
            if hashes.len() == max_hashes {
                return Err(QueryError::TooManyHashes(max_hashes));
            }
            hashes.push(InfoHash(twenty(v, "info_hash", &mut buf)?));
        }
    }
    if hashes.is_empty() {
        // A full scrape of every torrent is not offered.
        return Err(QueryError::Missing("info_hash"));
    }
    Ok(hashes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &[u8] = b"%124Vx%9A%BC%DE%F1%23Eg%89%AB%CD%EF%124Vx%9A";

    #[test]
    fn announce_byte_exact() {
        let q = [
            b"info_hash=".as_slice(),
            HASH,
            b"&peer_id=-lt2080-%00%01%02%ff%FE+~.-_ab&port=6881&uploaded=1&downloaded=2&left=3&event=started&compact=1&numwant=-1&key=xyz&no_peer_id=1",
        ]
        .concat();
        let a = parse_announce(&q).unwrap();
        assert_eq!(
            a.info_hash.0,
            [
                0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf1, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd,
                0xef, 0x12, 0x34, 0x56, 0x78, 0x9a
            ]
        );
        assert_eq!(&a.peer_id.0, b"-lt2080-\x00\x01\x02\xff\xfe+~.-_ab");
        assert_eq!((a.port, a.uploaded, a.downloaded, a.left), (6881, 1, 2, 3));
        assert_eq!(a.event, Event::Started);
        assert!(a.compact && a.no_peer_id);
        assert_eq!(a.numwant, None);
    }

    #[test]
    fn announce_errors_name_the_parameter() {
        let base = [b"info_hash=".as_slice(), HASH, b"&peer_id=", HASH].concat();
        assert_eq!(parse_announce(&base), Err(QueryError::Missing("port")));
        let q = [base.as_slice(), b"&port=1&left=x"].concat();
        assert_eq!(parse_announce(&q), Err(QueryError::Invalid("left")));
        let q = [b"info_hash=%1".as_slice()].concat();
        assert_eq!(parse_announce(&q), Err(QueryError::Invalid("info_hash")));
        let q = [b"info_hash=abc".as_slice()].concat();
        assert_eq!(parse_announce(&q), Err(QueryError::Invalid("info_hash")));
        assert_eq!(parse_announce(b""), Err(QueryError::Missing("info_hash")));
        assert_eq!(
            QueryError::Missing("port").to_string(),
            "missing parameter port"
        );
    }

    #[test]
    fn scrape_takes_repeated_hashes() {
        let q = [b"info_hash=".as_slice(), HASH, b"&info_hash=", &[b'a'; 20]].concat();
        let h = parse_scrape(&q, 10).unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(h[1].0, [b'a'; 20]);
        assert_eq!(parse_scrape(&q, 1), Err(QueryError::TooManyHashes(1)));
        assert_eq!(parse_scrape(b"", 1), Err(QueryError::Missing("info_hash")));
    }
}

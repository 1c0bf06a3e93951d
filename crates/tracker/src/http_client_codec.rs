//! The client side of the HTTP tracker protocol: build announce/scrape request targets
//! (percent-encoding raw bytes) and parse bencoded replies. Used by the tests and the
//! load generator; a client engine can use it too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::http_query::HttpAnnounce;
use crate::registry::{Event, ScrapeCounts};
use crate::types::InfoHash;

/// Appends `b` percent-encoded: unreserved characters (RFC 3986) as they are, all other
/// bytes as `%XX`.
pub fn percent_encode(b: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &c in b {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~') {
            out.push(c as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(c >> 4)] as char);
            out.push(HEX[usize::from(c & 15)] as char);
        }
    }
}

/// The request target (`/announce?...`) for an announce.
pub fn announce_target(a: &HttpAnnounce) -> String {
    let mut t = String::from("/announce?info_hash=");
    percent_encode(&a.info_hash.0, &mut t);
    t.push_str("&peer_id=");
    percent_encode(&a.peer_id.0, &mut t);
    t.push_str(&format!(
        "&port={}&uploaded={}&downloaded={}&left={}&compact={}",
        a.port,
        a.uploaded,
        a.downloaded,
        a.left,
        u8::from(a.compact)
    ));
    if a.no_peer_id {
        t.push_str("&no_peer_id=1");
    }
    if let Some(n) = a.numwant {
        t.push_str(&format!("&numwant={n}"));
    }
    match a.event {
        Event::Started => t.push_str("&event=started"),
        Event::Completed => t.push_str("&event=completed"),
        Event::Stopped => t.push_str("&event=stopped"),
        Event::None => {}
    }
    if let Some(ip) = a.ip {
        t.push_str(&format!("&ip={ip}"));
    }
    t
}

/// The request target (`/scrape?...`) for a scrape.
pub fn scrape_target(hashes: &[InfoHash]) -> String {
    let mut t = String::from("/scrape?");
    for (i, h) in hashes.iter().enumerate() {
        if i > 0 {
            t.push('&');
        }
        t.push_str("info_hash=");
        percent_encode(&h.0, &mut t);
    }
    t
}

/// A parsed announce reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceReply {
    /// `interval`.
    pub interval: i64,
    /// `complete` (seeders).
    pub complete: i64,
    /// `incomplete` (leechers).
    pub incomplete: i64,
    /// Peers from `peers` (compact or dictionary model) and `peers6`.
    pub peers: Vec<SocketAddr>,
}

/// Why a reply could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// The tracker sent a `failure reason`.
    #[error("tracker failure: {0}")]
    Failure(String),
    /// Not bencode, or required keys missing.
    #[error("malformed tracker reply: {0}")]
    Malformed(String),
}

fn malformed(what: &str) -> ReplyError {
    ReplyError::Malformed(what.to_owned())
}

fn compact(b: &[u8], size: usize) -> Vec<SocketAddr> {
    b.chunks_exact(size)
        .map(|c| {
            let port = u16::from_be_bytes([c[size - 2], c[size - 1]]);
            let ip = if size == 6 {
                IpAddr::V4(Ipv4Addr::new(c[0], c[1], c[2], c[3]))
            } else {
                let mut o = [0u8; 16];
                o.copy_from_slice(&c[..16]);
                IpAddr::V6(Ipv6Addr::from(o))
            };
            SocketAddr::new(ip, port)
        })
        .collect()
}

/// Parses an announce reply body.
pub fn parse_announce_reply(body: &[u8]) -> Result<AnnounceReply, ReplyError> {
    let v = bitswarm_bencode::decode(body).map_err(|e| ReplyError::Malformed(e.to_string()))?;
    let d = v.as_dict().ok_or_else(|| malformed("not a dictionary"))?;
    if let Some(reason) = d.get_bytes(b"failure reason") {
        return Err(ReplyError::Failure(
            String::from_utf8_lossy(reason).into_owned(),
        ));
    }
    let mut peers = match d.get(b"peers") {
        Some(p) if p.as_bytes().is_some() => compact(p.as_bytes().unwrap_or_default(), 6),
        Some(p) => {
            let list = p.as_list().ok_or_else(|| malformed("peers"))?;
            let mut out = Vec::new();
            for e in list {
                let e = e.as_dict().ok_or_else(|| malformed("peer entry"))?;
                let ip: IpAddr = e
                    .get_str(b"ip")
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| malformed("peer ip"))?;
                let port = e
                    .get_int(b"port")
                    .and_then(|p| u16::try_from(p).ok())
                    .ok_or_else(|| malformed("peer port"))?;
                out.push(SocketAddr::new(ip, port));
            }
            out
        }
        None => Vec::new(),
    };
    if let Some(p6) = d.get_bytes(b"peers6") {
        peers.extend(compact(p6, 18));
    }
    Ok(AnnounceReply {
        interval: d
            .get_int(b"interval")
            .ok_or_else(|| malformed("interval"))?,
        complete: d.get_int(b"complete").unwrap_or(0),
        incomplete: d.get_int(b"incomplete").unwrap_or(0),
        peers,
    })
}

/// Parses a scrape reply body into (info-hash, counts) pairs.
pub fn parse_scrape_reply(body: &[u8]) -> Result<Vec<(InfoHash, ScrapeCounts)>, ReplyError> {
    let v = bitswarm_bencode::decode(body).map_err(|e| ReplyError::Malformed(e.to_string()))?;
    let d = v.as_dict().ok_or_else(|| malformed("not a dictionary"))?;
    if let Some(reason) = d.get_bytes(b"failure reason") {
        return Err(ReplyError::Failure(
            String::from_utf8_lossy(reason).into_owned(),
        ));
    }
    let files = d.get_dict(b"files").ok_or_else(|| malformed("files"))?;
    let mut out = Vec::new();
    for (k, v) in files.iter() {
        let hash: [u8; 20] = k.try_into().map_err(|_| malformed("files key"))?;
        let e = v.as_dict().ok_or_else(|| malformed("files entry"))?;
        let n = |key: &[u8]| {
            e.get_int(key)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0)
        };
        out.push((
            InfoHash(hash),
            ScrapeCounts {
                complete: n(b"complete"),
                downloaded: n(b"downloaded"),
                incomplete: n(b"incomplete"),
            },
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http_query::{parse_announce, parse_scrape};
    use crate::types::PeerId;

    #[test]
    fn build_then_parse_is_identity() {
        let a = HttpAnnounce {
            info_hash: InfoHash(std::array::from_fn(|i| (i * 13) as u8)),
            peer_id: PeerId(*b"-BS0001-\x00\xff%&=+ abc?#"),
            port: 6881,
            uploaded: 1,
            downloaded: 2,
            left: 3,
            event: Event::Completed,
            compact: false,
            no_peer_id: true,
            numwant: Some(7),
            ip: Some("::1".parse().unwrap()),
        };
        let target = announce_target(&a);
        let query = target.split_once('?').unwrap().1;
        assert_eq!(parse_announce(query.as_bytes()), Ok(a));
        let hashes = [InfoHash([0; 20]), InfoHash([255; 20])];
        let target = scrape_target(&hashes);
        assert_eq!(
            parse_scrape(target.split_once('?').unwrap().1.as_bytes(), 10).unwrap(),
            hashes
        );
    }
}

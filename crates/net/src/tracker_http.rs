//! HTTP tracker client: a minimal HTTP/1.1 GET over a tokio `TcpStream`, with the query
//! and reply codecs of `bitswarm-tracker`. Only `http://` URLs; replies are bounded.

use std::time::Duration;

use bitswarm_tracker::http_client_codec::ReplyError;
use bitswarm_tracker::http_client_codec::{
    parse_announce_reply, parse_scrape_reply, percent_encode,
};
use bitswarm_tracker::Event;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::tracker_types::{AnnounceParams, AnnounceResult, ScrapeResult, TrackerError};

/// Largest reply we read.
const MAX_REPLY: usize = 1 << 20;

/// A parsed `http://host[:port]/path[?query]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// `host:port` to connect to.
    pub authority: String,
    /// Host (for the `Host` header).
    pub host: String,
    /// Path and query.
    pub target: String,
}

impl HttpUrl {
    /// Parses an `http://` URL.
    pub fn parse(url: &str) -> Result<HttpUrl, TrackerError> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| TrackerError::UnsupportedUrl(url.to_owned()))?;
        let (hostport, target) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if hostport.is_empty() {
            return Err(TrackerError::UnsupportedUrl(url.to_owned()));
        }
        let has_port = hostport
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
            && !hostport.ends_with(']');
        let authority = if has_port {
            hostport.to_owned()
        } else {
            format!("{hostport}:80")
        };
        let host = hostport.to_owned();
        Ok(HttpUrl {
            authority,
            host,
            target: target.to_owned(),
        })
    }
}

/// The request target of an announce: the URL's path and query plus our parameters.
pub fn announce_target(url: &HttpUrl, p: &AnnounceParams) -> String {
    let mut t = url.target.clone();
    t.push(if t.contains('?') { '&' } else { '?' });
    t.push_str("info_hash=");
    percent_encode(&p.info_hash, &mut t);
    t.push_str("&peer_id=");
    percent_encode(&p.peer_id, &mut t);
    t.push_str(&format!(
        "&port={}&uploaded={}&downloaded={}&left={}&compact=1&numwant={}&key={:08x}",
        p.port, p.uploaded, p.downloaded, p.left, p.numwant, p.key
    ));
    match p.event {
        Event::Started => t.push_str("&event=started"),
        Event::Completed => t.push_str("&event=completed"),
        Event::Stopped => t.push_str("&event=stopped"),
        Event::None => {}
    }
    if let Some(id) = &p.tracker_id {
        t.push_str("&trackerid=");
        percent_encode(id.as_bytes(), &mut t);
    }
    t
}

/// Announces to an `http://` tracker.
pub async fn announce(
    url: &str,
    params: &AnnounceParams,
    timeout: Duration,
) -> Result<AnnounceResult, TrackerError> {
    let url = HttpUrl::parse(url)?;
    let target = announce_target(&url, params);
    let body = tokio::time::timeout(timeout, get(&url, &target))
        .await
        .map_err(|_| TrackerError::Timeout)??;
    parse_reply(&body)
}

/// The scrape URL of an HTTP announce URL, by the convention of BEP 48: the last path
/// segment must start with `announce`, which becomes `scrape` (`/announce` →
/// `/scrape`, `/x/announce.php?k=1` → `/x/scrape.php?k=1`). `None` when it does not.
pub fn scrape_url(announce_url: &str) -> Option<String> {
    let url = HttpUrl::parse(announce_url).ok()?;
    let (path, query) = match url.target.find('?') {
        Some(i) => url.target.split_at(i),
        None => (url.target.as_str(), ""),
    };
    let slash = path.rfind('/')?;
    let rest = path[slash + 1..].strip_prefix("announce")?;
    Some(format!(
        "http://{}{}scrape{rest}{query}",
        url.host,
        &path[..=slash]
    ))
}

/// Scrapes one torrent from the HTTP tracker of `announce_url` (BEP 48). A tracker that
/// does not list the torrent knows no peer of it: all counts 0.
pub async fn scrape(
    announce_url: &str,
    info_hash: [u8; 20],
    timeout: Duration,
) -> Result<ScrapeResult, TrackerError> {
    let scrape =
        scrape_url(announce_url).ok_or_else(|| TrackerError::NoScrape(announce_url.to_owned()))?;
    let url = HttpUrl::parse(&scrape)?;
    let mut target = url.target.clone();
    target.push(if target.contains('?') { '&' } else { '?' });
    target.push_str("info_hash=");
    percent_encode(&info_hash, &mut target);
    let body = tokio::time::timeout(timeout, get(&url, &target))
        .await
        .map_err(|_| TrackerError::Timeout)??;
    parse_scrape(&body, info_hash)
}

/// Parses a scrape reply body and picks the counts of `info_hash`.
pub fn parse_scrape(body: &[u8], info_hash: [u8; 20]) -> Result<ScrapeResult, TrackerError> {
    let files = parse_scrape_reply(body).map_err(|e| match e {
        ReplyError::Failure(r) => TrackerError::Failure(r),
        ReplyError::Malformed(m) => TrackerError::Malformed(m),
    })?;
    Ok(files
        .iter()
        .find(|(h, _)| h.0 == info_hash)
        .map(|(_, c)| ScrapeResult {
            seeders: c.complete,
            completed: c.downloaded,
            leechers: c.incomplete,
        })
        .unwrap_or_default())
}

/// Parses an announce reply body, including the optional keys the shared codec skips
/// (`min interval`, `warning message`, `tracker id`).
pub fn parse_reply(body: &[u8]) -> Result<AnnounceResult, TrackerError> {
    let reply = parse_announce_reply(body).map_err(|e| match e {
        ReplyError::Failure(r) => TrackerError::Failure(r),
        ReplyError::Malformed(m) => TrackerError::Malformed(m),
    })?;
    let mut out = AnnounceResult {
        interval: Duration::from_secs(reply.interval.clamp(1, 24 * 3600) as u64),
        peers: reply.peers,
        seeders: u32::try_from(reply.complete.max(0)).unwrap_or(u32::MAX),
        leechers: u32::try_from(reply.incomplete.max(0)).unwrap_or(u32::MAX),
        ..AnnounceResult::default()
    };
    if let Some(d) = bitswarm_bencode::decode(body)
        .ok()
        .as_ref()
        .and_then(|v| v.as_dict())
    {
        out.min_interval = d
            .get_int(b"min interval")
            .filter(|s| *s > 0)
            .map(|s| Duration::from_secs(s.min(24 * 3600) as u64));
        out.warning = d
            .get_bytes(b"warning message")
            .map(|w| String::from_utf8_lossy(w).into_owned());
        out.tracker_id = d
            .get_bytes(b"tracker id")
            .map(|w| String::from_utf8_lossy(w).into_owned());
    }
    Ok(out)
}

async fn get(url: &HttpUrl, target: &str) -> Result<Vec<u8>, TrackerError> {
    let mut stream = TcpStream::connect(&url.authority)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidInput => TrackerError::Resolve(url.authority.clone()),
            _ => TrackerError::Io(e),
        })?;
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {}\r\nUser-Agent: bitswarm/{}\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n",
        url.host,
        env!("CARGO_PKG_VERSION")
    );
    stream.write_all(request.as_bytes()).await?;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > MAX_REPLY {
            return Err(TrackerError::Malformed("reply larger than 1 MiB".into()));
        }
        if let Some(body) = complete_body(&buf)? {
            return Ok(body);
        }
    }
    complete_body(&buf)?
        .or_else(|| split_head(&buf).map(|(_, b)| b.to_vec()))
        .ok_or_else(|| TrackerError::Malformed("connection closed before the reply ended".into()))
}

fn split_head(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    Some((&buf[..i], &buf[i + 4..]))
}

/// The body once the head and `Content-Length` bytes (or every chunk) are in.
fn complete_body(buf: &[u8]) -> Result<Option<Vec<u8>>, TrackerError> {
    let Some((head, body)) = split_head(buf) else {
        return Ok(None);
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| TrackerError::Malformed("bad HTTP status line".into()))?;
    if status != 200 {
        return Err(TrackerError::HttpStatus(status));
    }
    let mut length = None;
    let mut chunked = false;
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            if k == "content-length" {
                length = v.trim().parse::<usize>().ok();
            } else if k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked") {
                chunked = true;
            }
        }
    }
    if chunked {
        return Ok(dechunk(body));
    }
    Ok(length
        .filter(|l| body.len() >= *l)
        .map(|l| body[..l].to_vec()))
}

fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let i = body.windows(2).position(|w| w == b"\r\n")?;
        let size_str = std::str::from_utf8(&body[..i]).ok()?;
        let size = usize::from_str_radix(size_str.split(';').next()?.trim(), 16).ok()?;
        body = &body[i + 2..];
        if size == 0 {
            return Some(out);
        }
        if body.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let u = HttpUrl::parse("http://127.0.0.1:6969/announce").unwrap();
        assert_eq!(u.authority, "127.0.0.1:6969");
        assert_eq!(u.target, "/announce");
        let u = HttpUrl::parse("http://tracker.example/a?x=1").unwrap();
        assert_eq!(u.authority, "tracker.example:80");
        assert_eq!(u.target, "/a?x=1");
        assert!(HttpUrl::parse("https://x/announce").is_err());
    }

    #[test]
    fn reply_with_optional_keys() {
        let body = b"d8:completei1e10:incompletei2e8:intervali1800e12:min intervali60e5:peers6:\x7f\x00\x00\x01\x1a\xe110:tracker id3:abc15:warning message4:slowe";
        let r = parse_reply(body).unwrap();
        assert_eq!(r.interval, Duration::from_secs(1800));
        assert_eq!(r.min_interval, Some(Duration::from_secs(60)));
        assert_eq!(r.peers, vec!["127.0.0.1:6881".parse().unwrap()]);
        assert_eq!(r.tracker_id.as_deref(), Some("abc"));
        assert_eq!(r.warning.as_deref(), Some("slow"));
        assert_eq!((r.seeders, r.leechers), (1, 2));
        let fail = parse_reply(b"d14:failure reason6:nope!!e");
        assert!(matches!(fail, Err(TrackerError::Failure(r)) if r == "nope!!"));
    }

    #[test]
    fn scrape_urls_follow_bep_48() {
        let s = |u: &str| scrape_url(u);
        assert_eq!(
            s("http://127.0.0.1:6969/announce").as_deref(),
            Some("http://127.0.0.1:6969/scrape")
        );
        assert_eq!(
            s("http://t.example/x/announce.php?passkey=ab/announce").as_deref(),
            Some("http://t.example/x/scrape.php?passkey=ab/announce")
        );
        assert_eq!(
            s("http://t.example/announce?a=1").as_deref(),
            Some("http://t.example/scrape?a=1")
        );
        // BEP 48's examples of announce URLs without a scrape URL.
        assert_eq!(s("http://example.com/a"), None);
        assert_eq!(
            s("http://example.com/announce?x2%0644"),
            Some("http://example.com/scrape?x2%0644".into())
        );
        assert_eq!(s("http://example.com/x%064announce"), None);
        assert_eq!(s("http://example.com"), None);
        assert_eq!(s("udp://example.com:80/announce"), None);
    }

    #[test]
    fn scrape_replies() {
        let mut body = b"d5:filesd20:".to_vec();
        body.extend_from_slice(&[7; 20]);
        body.extend_from_slice(b"d8:completei3e10:downloadedi5e10:incompletei2eeee");
        let r = parse_scrape(&body, [7; 20]).unwrap();
        assert_eq!(
            r,
            ScrapeResult {
                seeders: 3,
                completed: 5,
                leechers: 2
            }
        );
        // Another torrent's entry only: this one has no peers.
        assert_eq!(
            parse_scrape(&body, [8; 20]).unwrap(),
            ScrapeResult::default()
        );
        assert!(matches!(
            parse_scrape(b"d14:failure reason4:nopee", [7; 20]),
            Err(TrackerError::Failure(r)) if r == "nope"
        ));
        assert!(matches!(
            parse_scrape(b"d5:filesi3ee", [7; 20]),
            Err(TrackerError::Malformed(_))
        ));
    }

    #[test]
    fn bodies_by_length_and_chunks() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
        assert_eq!(complete_body(r).unwrap(), Some(b"abc".to_vec()));
        let r =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n1\r\nd\r\n0\r\n\r\n";
        assert_eq!(complete_body(r).unwrap(), Some(b"abcd".to_vec()));
        let r = b"HTTP/1.1 404 Not Found\r\n\r\n";
        assert!(matches!(
            complete_body(r),
            Err(TrackerError::HttpStatus(404))
        ));
    }
}

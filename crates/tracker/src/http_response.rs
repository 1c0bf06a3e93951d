//! HTTP tracker replies: bencoded announce (compact BEP 23 / BEP 7 `peers6`, or the
//! dictionary model), scrape (BEP 48) and failure bodies, and the HTTP/1.1 framing around
//! them. Dictionary keys are written in sorted order by hand: this is the hot path, so no
//! intermediate value tree is built.

use std::net::IpAddr;

use bitswarm_bencode::{write_bytes, write_int};

use crate::registry::{AnnounceResponse, ScrapeCounts};
use crate::types::InfoHash;

/// Appends the bencoded reply to an announce.
pub fn announce_body(r: &AnnounceResponse, compact: bool, no_peer_id: bool, out: &mut Vec<u8>) {
    out.push(b'd');
    write_bytes(out, b"complete");
    write_int(out, i64::from(r.complete));
    write_bytes(out, b"downloaded");
    write_int(out, i64::from(r.downloaded));
    write_bytes(out, b"incomplete");
    write_int(out, i64::from(r.incomplete));
    write_bytes(out, b"interval");
    write_int(out, i64::from(r.interval));
    write_bytes(out, b"min interval");
    write_int(out, i64::from(r.min_interval));
    write_bytes(out, b"peers");
    if compact {
        let mut v4 = Vec::with_capacity(6 * r.peers.len());
        let mut v6 = Vec::new();
        for p in &r.peers {
            match p.addr.ip() {
                IpAddr::V4(ip) => {
                    v4.extend_from_slice(&ip.octets());
                    v4.extend_from_slice(&p.addr.port().to_be_bytes());
                }
                IpAddr::V6(ip) => {
                    v6.extend_from_slice(&ip.octets());
                    v6.extend_from_slice(&p.addr.port().to_be_bytes());
                }
            }
        }
        write_bytes(out, &v4);
        if !v6.is_empty() {
            write_bytes(out, b"peers6");
            write_bytes(out, &v6);
        }
    } else {
        out.push(b'l');
        for p in &r.peers {
            out.push(b'd');
            write_bytes(out, b"ip");
            write_bytes(out, p.addr.ip().to_string().as_bytes());
            if !no_peer_id {
                write_bytes(out, b"peer id");
                write_bytes(out, &p.id.0);
            }
            write_bytes(out, b"port");
            write_int(out, i64::from(p.addr.port()));
            out.push(b'e');
        }
        out.push(b'e');
    }
    out.push(b'e');
}

/// Appends the bencoded reply to a scrape: `files` keyed by raw info-hash. Keys must be
/// sorted and unique, so duplicates in the request are answered once.
pub fn scrape_body(hashes: &[InfoHash], counts: &[ScrapeCounts], out: &mut Vec<u8>) {
    let mut entries: Vec<(&InfoHash, &ScrapeCounts)> = hashes.iter().zip(counts).collect();
    entries.sort_by_key(|(h, _)| **h);
    entries.dedup_by_key(|(h, _)| **h);
    out.push(b'd');
    write_bytes(out, b"files");
    out.push(b'd');
    for (h, c) in entries {
        write_bytes(out, &h.0);
        out.push(b'd');
        write_bytes(out, b"complete");
        write_int(out, i64::from(c.complete));
        write_bytes(out, b"downloaded");
        write_int(out, i64::from(c.downloaded));
        write_bytes(out, b"incomplete");
        write_int(out, i64::from(c.incomplete));
        out.push(b'e');
    }
    out.push(b'e');
    out.push(b'e');
}

/// Appends `d14:failure reason<len>:<reason>e`.
pub fn failure_body(reason: &str, out: &mut Vec<u8>) {
    out.push(b'd');
    write_bytes(out, b"failure reason");
    write_bytes(out, reason.as_bytes());
    out.push(b'e');
}

/// Appends a complete HTTP/1.1 response.
pub fn write_http(
    status: &str,
    content_type: &str,
    body: &[u8],
    keep_alive: bool,
    out: &mut Vec<u8>,
) {
    use std::io::Write;
    // Writing into a Vec cannot fail.
    let _ = write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{}\r\n",
        body.len(),
        if keep_alive {
            ""
        } else {
            "Connection: close\r\n"
        }
    );
    out.extend_from_slice(body);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::ResponsePeer;
    use crate::types::PeerId;

    fn resp() -> AnnounceResponse {
        AnnounceResponse {
            interval: 1800,
            min_interval: 60,
            complete: 1,
            incomplete: 2,
            downloaded: 3,
            peers: vec![
                ResponsePeer {
                    id: PeerId([b'a'; 20]),
                    addr: "1.2.3.4:258".parse().unwrap(),
                },
                ResponsePeer {
                    id: PeerId([b'b'; 20]),
                    addr: "[::1]:1".parse().unwrap(),
                },
            ],
        }
    }

    #[test]
    fn compact_announce() {
        let mut out = Vec::new();
        announce_body(&resp(), true, false, &mut out);
        let mut want = b"d8:completei1e10:downloadedi3e10:incompletei2e8:intervali1800e12:min intervali60e5:peers6:\x01\x02\x03\x04\x01\x02".to_vec();
        want.extend_from_slice(b"6:peers618:");
        want.extend_from_slice(&[0; 15]);
        want.extend_from_slice(&[1, 0, 1]);
        want.push(b'e');
        assert_eq!(out, want);
        assert!(bitswarm_bencode::decode(&out).is_ok());
    }

    #[test]
    fn dictionary_model() {
        let mut out = Vec::new();
        announce_body(&resp(), false, true, &mut out);
        let s = String::from_utf8_lossy(&out);
        assert!(
            s.contains("5:peersld2:ip7:1.2.3.44:porti258eed2:ip3:::14:porti1eee"),
            "{s}"
        );
        out.clear();
        announce_body(&resp(), false, false, &mut out);
        assert!(String::from_utf8_lossy(&out).contains("7:peer id20:aaaaaaaaaaaaaaaaaaaa"));
        assert!(bitswarm_bencode::decode(&out).is_ok());
    }

    #[test]
    fn scrape_and_failure() {
        let mut out = Vec::new();
        let h = [InfoHash([2; 20]), InfoHash([1; 20]), InfoHash([2; 20])];
        let c = [
            ScrapeCounts {
                complete: 5,
                downloaded: 6,
                incomplete: 7,
            },
            ScrapeCounts::default(),
            ScrapeCounts::default(),
        ];
        scrape_body(&h, &c, &mut out);
        assert!(bitswarm_bencode::decode(&out).is_ok());
        let mut want = b"d5:filesd20:".to_vec();
        want.extend_from_slice(&[1; 20]);
        want.extend_from_slice(b"d8:completei0e10:downloadedi0e10:incompletei0ee20:");
        want.extend_from_slice(&[2; 20]);
        want.extend_from_slice(b"d8:completei5e10:downloadedi6e10:incompletei7eeee");
        assert_eq!(out, want);
        out.clear();
        failure_body("nope", &mut out);
        assert_eq!(out, b"d14:failure reason4:nopee");
    }
}

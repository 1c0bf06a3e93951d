//! HTTP tracker replies: bencoded announce (compact BEP 23 / BEP 7 `peers6`, or the
//! dictionary model), scrape (BEP 48) and failure bodies, and the HTTP/1.1 framing around
//! them. Dictionary keys are written in sorted order by hand: this is the hot path, so no
//! intermediate value tree is built.

use bitswarm_bencode::{write_bytes, write_int};

use crate::registry::{AnnounceCounts, AnnounceResponse, ScrapeCounts};
use crate::swarm::PeerSample;
use crate::types::InfoHash;

/// Appends the bencoded reply to an announce (for callers holding an
/// [`AnnounceResponse`]; the server uses [`write_announce_body`]).
pub fn announce_body(r: &AnnounceResponse, compact: bool, no_peer_id: bool, out: &mut Vec<u8>) {
    let mut sample = PeerSample::new(true);
    for p in &r.peers {
        sample.push_addr(p.addr, p.id);
    }
    let counts = AnnounceCounts {
        interval: r.interval,
        min_interval: r.min_interval,
        complete: r.complete,
        incomplete: r.incomplete,
        downloaded: r.downloaded,
    };
    write_announce_body(&counts, &sample, compact, no_peer_id, None, out);
}

/// Appends the bencoded reply to an announce: counts, the peers (compact BEP 23 / BEP 7
/// `peers6`, or the dictionary model, which needs `peers` to hold ids unless
/// `no_peer_id`), and `tracker id` if given (BEP 3: clients send it back as `trackerid`).
pub fn write_announce_body(
    c: &AnnounceCounts,
    peers: &PeerSample,
    compact: bool,
    no_peer_id: bool,
    tracker_id: Option<&[u8]>,
    out: &mut Vec<u8>,
) {
    out.push(b'd');
    write_bytes(out, b"complete");
    write_int(out, i64::from(c.complete));
    write_bytes(out, b"downloaded");
    write_int(out, i64::from(c.downloaded));
    write_bytes(out, b"incomplete");
    write_int(out, i64::from(c.incomplete));
    write_bytes(out, b"interval");
    write_int(out, i64::from(c.interval));
    write_bytes(out, b"min interval");
    write_int(out, i64::from(c.min_interval));
    write_bytes(out, b"peers");
    if compact {
        write_bytes(out, &peers.compact_v4);
        if !peers.compact_v6.is_empty() {
            write_bytes(out, b"peers6");
            write_bytes(out, &peers.compact_v6);
        }
    } else {
        out.push(b'l');
        for i in 0..peers.len() {
            let addr = peers.addr(i);
            out.push(b'd');
            write_bytes(out, b"ip");
            write_bytes(out, addr.ip().to_string().as_bytes());
            if !no_peer_id {
                if let Some(id) = peers.ids.get(i) {
                    write_bytes(out, b"peer id");
                    write_bytes(out, &id.0);
                }
            }
            write_bytes(out, b"port");
            write_int(out, i64::from(addr.port()));
            out.push(b'e');
        }
        out.push(b'e');
    }
    if let Some(id) = tracker_id {
        write_bytes(out, b"tracker id");
        write_bytes(out, id);
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
    // Pieces appended by hand: this runs once per announce, and `write!` formatting showed
    // in the profile.
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_bytes());
    out.extend_from_slice(b"\r\nContent-Type: ");
    out.extend_from_slice(content_type.as_bytes());
    out.extend_from_slice(b"\r\nContent-Length: ");
    let mut digits = [0u8; 20];
    let mut n = body.len();
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
    out.extend_from_slice(if keep_alive {
        b"\r\n\r\n".as_slice()
    } else {
        b"\r\nConnection: close\r\n\r\n".as_slice()
    });
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
    fn tracker_id_is_last_key() {
        let mut out = Vec::new();
        let c = AnnounceCounts {
            interval: 1,
            min_interval: 1,
            complete: 0,
            incomplete: 0,
            downloaded: 0,
        };
        write_announce_body(
            &c,
            &PeerSample::new(false),
            true,
            true,
            Some(b"bs1"),
            &mut out,
        );
        assert!(out.ends_with(b"5:peers0:10:tracker id3:bs1e"), "{out:?}");
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

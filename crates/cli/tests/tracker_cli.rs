//! The real `bitswarm tracker` binary on 127.0.0.1 (ports picked by the kernel): the
//! printed default config parses back with `--config`; HTTP announce and scrape answers
//! and their counts (`completed`, `stopped`); bencoded `failure reason`s for bad requests
//! and for a full scrape; a UDP connect/announce/scrape round trip; `--whitelist` (HTTP
//! and UDP); `/stats` and `/metrics`; SIGINT and SIGTERM make it exit 0; a bad config
//! file gives one line and exit code 2.
//!
//! The requests are written by hand here (not with the tracker crate's client codecs), so
//! the test checks the wire format itself.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bitswarm_bencode::OwnedValue;

const BITSWARM: &str = env!("CARGO_BIN_EXE_bitswarm");

/// A running `bitswarm tracker`, killed when dropped.
struct Tracker {
    child: Child,
    http: SocketAddr,
    udp: SocketAddr,
}

impl Tracker {
    /// Starts the tracker on 127.0.0.1:0 (HTTP and UDP) with `extra` flags and reads the
    /// bound addresses from its first line.
    fn start(extra: &[&str]) -> Tracker {
        let mut child = Command::new(BITSWARM)
            .args(["tracker", "--http", "127.0.0.1:0", "--udp", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bitswarm tracker");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the address line");
        // "bitswarm tracker: http=127.0.0.1:P udp=127.0.0.1:Q"
        let field = |key: &str| -> SocketAddr {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .and_then(|a| a.parse().ok())
                .unwrap_or_else(|| panic!("no {key} address in {line:?}"))
        };
        let (http, udp) = (field("http="), field("udp="));
        Tracker { child, http, udp }
    }

    /// Sends `signal` and waits (generously) for the process to exit by itself.
    fn stop_with(mut self, signal: &str) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args([signal, &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill {signal} {pid}");
        let end = Instant::now() + Duration::from_secs(30);
        while Instant::now() < end {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the tracker did not exit after {signal}");
    }

    /// GET `target` over a fresh connection; returns (status line, body).
    fn get(&self, target: &str) -> (String, Vec<u8>) {
        let mut s = TcpStream::connect(self.http).expect("connect to the tracker");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        write!(
            s,
            "GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        )
        .expect("send request");
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).expect("read reply");
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("end of the reply head");
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let status = head.lines().next().unwrap_or_default().to_owned();
        (status, raw[split + 4..].to_vec())
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn hash(n: u8) -> [u8; 20] {
    [n; 20]
}

fn peer_id(n: u8) -> [u8; 20] {
    let mut id = *b"-XX0000-000000000000";
    id[19] = b'a' + n;
    id
}

fn pct(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

fn announce_target(h: &[u8; 20], peer: u8, port: u16, left: u64, event: &str) -> String {
    let mut t = format!(
        "/announce?info_hash={}&peer_id={}&port={port}&uploaded=0&downloaded=0&left={left}&compact=1",
        pct(h),
        pct(&peer_id(peer))
    );
    if !event.is_empty() {
        t.push_str("&event=");
        t.push_str(event);
    }
    t
}

fn decode(body: &[u8]) -> OwnedValue {
    bitswarm_bencode::decode(body)
        .unwrap_or_else(|e| panic!("not bencode ({e}): {}", String::from_utf8_lossy(body)))
        .to_owned_value()
}

fn int(v: &OwnedValue, key: &[u8]) -> Option<i64> {
    match v.get(key) {
        Some(OwnedValue::Int(n)) => Some(*n),
        _ => None,
    }
}

fn bytes<'a>(v: &'a OwnedValue, key: &[u8]) -> Option<&'a [u8]> {
    match v.get(key) {
        Some(OwnedValue::Bytes(b)) => Some(b),
        _ => None,
    }
}

/// The `failure reason` of a bencoded body (panics if there is none).
fn failure(body: &[u8]) -> String {
    let v = decode(body);
    let reason = bytes(&v, b"failure reason")
        .unwrap_or_else(|| panic!("no failure reason in {}", String::from_utf8_lossy(body)));
    String::from_utf8_lossy(reason).into_owned()
}

/// (complete, downloaded, incomplete) of `h` in a scrape reply.
fn scrape_counts(body: &[u8], h: &[u8; 20]) -> (i64, i64, i64) {
    let v = decode(body);
    let file = v
        .get(b"files")
        .and_then(|f| f.get(&h[..]))
        .unwrap_or_else(|| panic!("no entry in {}", String::from_utf8_lossy(body)));
    let n = |k: &[u8]| int(file, k).expect("count");
    (n(b"complete"), n(b"downloaded"), n(b"incomplete"))
}

/// The compact IPv4 peers of an announce reply.
fn compact_peers(body: &[u8]) -> Vec<SocketAddr> {
    let v = decode(body);
    let peers = bytes(&v, b"peers").expect("compact peers");
    assert_eq!(peers.len() % 6, 0);
    peers
        .chunks(6)
        .map(|c| SocketAddr::from(([c[0], c[1], c[2], c[3]], u16::from_be_bytes([c[4], c[5]]))))
        .collect()
}

#[test]
fn print_config_parses_back_with_config() {
    let out = Command::new(BITSWARM)
        .args(["tracker", "--print-config"])
        .output()
        .expect("run bitswarm");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf8");
    assert!(text.contains("interval_secs = 1800"), "{text}");
    // Change one value, so the reply shows the file was read.
    let edited = text.replace("interval_secs = 1800", "interval_secs = 1234");
    assert_ne!(edited, text);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tracker.toml");
    std::fs::write(&path, edited).expect("write config");
    let t = Tracker::start(&["--config", path.to_str().expect("utf8")]);
    let (status, body) = t.get(&announce_target(&hash(1), 1, 7001, 10, "started"));
    assert!(status.contains("200"), "{status}");
    assert_eq!(int(&decode(&body), b"interval"), Some(1234));
    assert!(t.stop_with("-TERM").success());
}

#[test]
fn http_announce_and_scrape_counts() {
    let t = Tracker::start(&[]);
    let h = hash(2);
    let a = |peer: u8, port: u16, left: u64, event: &str| {
        let (status, body) = t.get(&announce_target(&h, peer, port, left, event));
        assert!(status.contains("200"), "{status}");
        let v = decode(&body);
        assert!(
            v.get(b"failure reason").is_none(),
            "{}",
            String::from_utf8_lossy(&body)
        );
        body
    };
    a(1, 7001, 100, "started"); // leecher
    a(2, 7002, 0, "started"); // seeder
    a(3, 7003, 100, "started"); // leecher, then completes
    a(3, 7003, 0, "completed");
    a(4, 7004, 100, "started"); // leaves again
    a(4, 7004, 100, "stopped");

    let (status, body) = t.get(&format!("/scrape?info_hash={}", pct(&h)));
    assert!(status.contains("200"), "{status}");
    assert_eq!(scrape_counts(&body, &h), (2, 1, 1));

    // Peer 1's reply lists the two others, not itself and not the stopped one.
    let body = a(1, 7001, 100, "");
    let mut peers = compact_peers(&body);
    peers.sort();
    let local = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
    assert_eq!(peers, vec![local(7002), local(7003)]);
    let v = decode(&body);
    assert_eq!(int(&v, b"complete"), Some(2));
    assert_eq!(int(&v, b"incomplete"), Some(1));

    // An unknown torrent scrapes as zeros.
    let (_, body) = t.get(&format!("/scrape?info_hash={}", pct(&hash(9))));
    assert_eq!(scrape_counts(&body, &hash(9)), (0, 0, 0));
}

#[test]
fn bad_http_requests_get_a_bencoded_failure_reason() {
    let t = Tracker::start(&[]);
    let cases = [
        // No info_hash.
        format!("/announce?peer_id={}&port=1&left=0", pct(&peer_id(1))),
        // info_hash of the wrong length.
        format!(
            "/announce?info_hash=%01%02&peer_id={}&port=1&left=0",
            pct(&peer_id(1))
        ),
        // Port not a number.
        announce_target(&hash(3), 1, 1, 0, "").replace("port=1", "port=x"),
        // Unknown event.
        announce_target(&hash(3), 1, 1, 0, "exploded"),
        // Full scrape (no info_hash): refused (opentracker serves one; a list of every
        // torrent is unbounded work for one request).
        "/scrape".to_owned(),
        "/nothing-here".to_owned(),
    ];
    for target in &cases {
        let (status, body) = t.get(target);
        let reason = failure(&body);
        assert!(!reason.is_empty(), "{target}: {status}");
    }
    let (_, body) = t.get("/scrape");
    assert!(failure(&body).contains("info_hash"), "full scrape");
    // A request that is not HTTP at all still gets a reply with a failure reason.
    let mut s = TcpStream::connect(t.http).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.write_all(b"\x00\x01garbage\r\n\r\n").expect("send");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("failure reason"), "{text}");
    // Still serving.
    let (status, _) = t.get(&announce_target(&hash(3), 1, 1, 0, "started"));
    assert!(status.contains("200"), "{status}");
}

/// One UDP request/reply with a deadline.
fn udp_call(sock: &UdpSocket, to: SocketAddr, packet: &[u8]) -> Vec<u8> {
    sock.send_to(packet, to).expect("send");
    let mut buf = [0u8; 2048];
    let (n, from) = sock.recv_from(&mut buf).expect("UDP reply");
    assert_eq!(from, to);
    buf[..n].to_vec()
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn udp_announce(conn: &[u8], txid: u32, h: &[u8; 20], peer: u8, left: u64, event: u32) -> Vec<u8> {
    let mut p = Vec::with_capacity(98);
    p.extend_from_slice(conn);
    p.extend_from_slice(&1u32.to_be_bytes()); // announce
    p.extend_from_slice(&txid.to_be_bytes());
    p.extend_from_slice(h);
    p.extend_from_slice(&peer_id(peer));
    p.extend_from_slice(&0u64.to_be_bytes()); // downloaded
    p.extend_from_slice(&left.to_be_bytes());
    p.extend_from_slice(&0u64.to_be_bytes()); // uploaded
    p.extend_from_slice(&event.to_be_bytes());
    p.extend_from_slice(&0u32.to_be_bytes()); // ip
    p.extend_from_slice(&7u32.to_be_bytes()); // key
    p.extend_from_slice(&(-1i32).to_be_bytes()); // num_want
    p.extend_from_slice(&(7100 + u16::from(peer)).to_be_bytes());
    p
}

#[test]
fn udp_connect_announce_scrape_round_trip() {
    let t = Tracker::start(&[]);
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    // connect
    let mut p = Vec::new();
    p.extend_from_slice(&0x41727101980u64.to_be_bytes());
    p.extend_from_slice(&0u32.to_be_bytes());
    p.extend_from_slice(&0x1111u32.to_be_bytes());
    let r = udp_call(&sock, t.udp, &p);
    assert_eq!(r.len(), 16);
    assert_eq!((be32(&r, 0), be32(&r, 4)), (0, 0x1111));
    let conn = r[8..16].to_vec();

    // announce: a seeder (event started = 2), then a leecher, who gets the seeder.
    let h = hash(5);
    let r = udp_call(&sock, t.udp, &udp_announce(&conn, 0x2222, &h, 1, 0, 2));
    assert_eq!((be32(&r, 0), be32(&r, 4)), (1, 0x2222), "{r:?}");
    assert_eq!(be32(&r, 8), 1800, "interval");
    assert_eq!(r.len(), 20, "no other peer yet");
    let r = udp_call(&sock, t.udp, &udp_announce(&conn, 0x3333, &h, 2, 50, 2));
    assert_eq!((be32(&r, 0), be32(&r, 4)), (1, 0x3333));
    assert_eq!((be32(&r, 12), be32(&r, 16)), (1, 1), "leechers, seeders");
    assert_eq!(
        &r[20..],
        &[127, 0, 0, 1, 0x1b, 0xBD][..],
        "the seeder, port 7101"
    );

    // scrape
    let mut p = conn.clone();
    p.extend_from_slice(&2u32.to_be_bytes());
    p.extend_from_slice(&0x4444u32.to_be_bytes());
    p.extend_from_slice(&h);
    p.extend_from_slice(&hash(6));
    let r = udp_call(&sock, t.udp, &p);
    assert_eq!((be32(&r, 0), be32(&r, 4)), (2, 0x4444));
    assert_eq!(r.len(), 8 + 2 * 12);
    // seeders, completed, leechers
    assert_eq!((be32(&r, 8), be32(&r, 12), be32(&r, 16)), (1, 0, 1));
    assert_eq!((be32(&r, 20), be32(&r, 24), be32(&r, 28)), (0, 0, 0));

    // A forged connection id gets an error reply (action 3) with a message.
    let r = udp_call(&sock, t.udp, &udp_announce(&[9; 8], 0x5555, &h, 3, 0, 2));
    assert_eq!((be32(&r, 0), be32(&r, 4)), (3, 0x5555));
    assert!(String::from_utf8_lossy(&r[8..]).contains("connection id"));
    assert!(t.stop_with("-INT").success());
}

#[test]
fn whitelist_refuses_unknown_info_hashes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let list = dir.path().join("whitelist.txt");
    std::fs::write(&list, format!("# allowed\n{}\n", hex::encode(hash(7))))
        .expect("write whitelist");
    let t = Tracker::start(&["--whitelist", list.to_str().expect("utf8")]);
    let (_, body) = t.get(&announce_target(&hash(8), 1, 7001, 10, "started"));
    assert!(!failure(&body).is_empty());
    let (_, body) = t.get(&announce_target(&hash(7), 1, 7001, 10, "started"));
    assert!(decode(&body).get(b"failure reason").is_none());
    assert_eq!(int(&decode(&body), b"incomplete"), Some(1));
    // Over UDP too: an error reply (action 3) for the unknown torrent.
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut p = 0x41727101980u64.to_be_bytes().to_vec();
    p.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
    let r = udp_call(&sock, t.udp, &p);
    let conn = r[8..16].to_vec();
    let r = udp_call(&sock, t.udp, &udp_announce(&conn, 9, &hash(8), 1, 0, 2));
    assert_eq!((be32(&r, 0), be32(&r, 4)), (3, 9), "{r:?}");
    let r = udp_call(&sock, t.udp, &udp_announce(&conn, 10, &hash(7), 2, 0, 2));
    assert_eq!((be32(&r, 0), be32(&r, 4)), (1, 10), "{r:?}");

    let (_, body) = t.get(&format!("/scrape?info_hash={}", pct(&hash(8))));
    let v = decode(&body);
    let unknown_listed = v.get(b"files").and_then(|f| f.get(&hash(8)[..])).is_some();
    assert!(
        !unknown_listed || scrape_counts(&body, &hash(8)) == (0, 0, 0),
        "an unknown torrent shows no peers"
    );
}

#[test]
fn stats_and_metrics_respond() {
    let t = Tracker::start(&[]);
    for peer in 0..3 {
        t.get(&announce_target(
            &hash(10),
            peer,
            7000 + u16::from(peer),
            5,
            "started",
        ));
    }
    t.get(&format!("/scrape?info_hash={}", pct(&hash(10))));
    let (status, body) = t.get("/stats");
    assert!(status.contains("200"), "{status}");
    let stats: serde_json::Value = serde_json::from_slice(&body).expect("JSON /stats");
    assert_eq!(stats["registry"]["torrents"], 1, "{stats}");
    assert_eq!(stats["registry"]["leechers"], 3, "{stats}");
    assert_eq!(stats["counters"]["http_announces"], 3, "{stats}");
    assert_eq!(stats["counters"]["http_scrapes"], 1, "{stats}");
    let (status, body) = t.get("/metrics");
    assert!(status.contains("200"), "{status}");
    let text = String::from_utf8(body).expect("utf8 metrics");
    // Prometheus text: "# TYPE" lines and "name value" samples, one of them the announces.
    assert!(text.lines().any(|l| l.starts_with("# TYPE ")), "{text}");
    let announces = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.contains("announce") && l.contains("http"))
        .unwrap_or_else(|| panic!("no HTTP announce sample in\n{text}"));
    let value: f64 = announces
        .rsplit(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .expect("a number");
    assert_eq!(value, 3.0, "{announces}");
}

#[test]
fn sigint_and_sigterm_stop_it_with_exit_0() {
    for signal in ["-INT", "-TERM"] {
        let t = Tracker::start(&[]);
        // It serves before the signal.
        let (status, _) = t.get("/stats");
        assert!(status.contains("200"), "{status}");
        let st = t.stop_with(signal);
        assert_eq!(st.code(), Some(0), "{signal}: {st}");
    }
}

/// A signal sent the moment the address line is read still stops it cleanly: every
/// handler is in place before the line is printed (a lazily registered one once let such
/// a signal kill the process under load).
#[test]
fn a_signal_right_after_the_address_line_still_exits_0() {
    for round in 0..20 {
        let signal = if round % 2 == 0 { "-INT" } else { "-TERM" };
        let st = Tracker::start(&[]).stop_with(signal);
        assert_eq!(st.code(), Some(0), "round {round}, {signal}: {st}");
    }
}

fn run_with_config(dir: &Path, text: &str) -> (Option<i32>, String) {
    let path = dir.join("bad.toml");
    std::fs::write(&path, text).expect("write config");
    let out = Command::new(BITSWARM)
        .args(["tracker", "--config", path.to_str().expect("utf8")])
        .args(["--http", "127.0.0.1:0", "--udp", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .output()
        .expect("run bitswarm");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_config_files_give_one_line_and_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (text, expect) in [
        ("interval_secs = \"soon\"\n", "interval_secs"),
        ("intervall_secs = 5\n", "intervall_secs"),
        ("interval_secs = 0\n", "interval_secs"),
        ("this is not toml", "line 1"),
    ] {
        let (code, stderr) = run_with_config(dir.path(), text);
        assert_eq!(code, Some(2), "{text:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{text:?}: {stderr}");
        assert!(stderr.starts_with("bitswarm: error: "), "{stderr}");
        assert!(stderr.contains(expect), "{text:?}: {stderr}");
    }
    let out = Command::new(BITSWARM)
        .args(["tracker", "--config"])
        .arg(dir.path().join("missing.toml"))
        .output()
        .expect("run bitswarm");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("missing.toml"), "{stderr}");
}

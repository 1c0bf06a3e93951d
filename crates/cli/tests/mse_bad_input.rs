//! Bad handshakes against a bitswarm seed on 127.0.0.1: a peer stalling mid-handshake
//! is closed at the handshake deadline, over-long padding and junk are closed at once,
//! and a normal download from the same seed is not affected meanwhile.

#[path = "support/engine.rs"]
mod engine;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use engine::*;

/// Waits until the seed closes `s`; returns how long that took (panics after `limit`).
fn closed_within(mut s: TcpStream, limit: Duration) -> Duration {
    let start = Instant::now();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut buf = [0u8; 4096];
    while start.elapsed() < limit {
        match s.read(&mut buf) {
            Ok(0) => return start.elapsed(),
            Ok(_) => {} // Yb and PadB: the seed answers a well-formed Ya
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return start.elapsed(),
        }
    }
    panic!("connection still open after {limit:?}");
}

fn junk(len: usize, seed: u64) -> Vec<u8> {
    content(len, seed)
}

#[test]
fn bad_handshakes_are_closed_and_do_not_disturb_others() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = single_file(dir.path(), "bad.bin", 8 << 20, 256 * 1024, vec![]);
    let port = free_port();
    let _seed =
        bitswarm_seed(&t, port, &["--handshake-timeout".into(), "2".into()]).ready("seeding");
    let connect = || TcpStream::connect(local(port)).expect("connect to seed");

    // A peer that stalls in the middle of its Diffie-Hellman key.
    let mut stall = connect();
    stall.write_all(&junk(50, 1)).expect("write");
    // A peer that stalls after a full key and some padding (no req1 yet).
    let mut stall2 = connect();
    stall2.write_all(&junk(96 + 100, 2)).expect("write");
    // A truncated plaintext handshake.
    let mut trunc = connect();
    trunc
        .write_all(b"\x13BitTorrent protocol\0\0\0")
        .expect("write");

    // Meanwhile a real download from the same seed works.
    let out = dir.path().join("out");
    let extra = ["--peer".into(), local(port).to_string()];
    let mut dl = bitswarm_download(&t, &out, free_port(), &extra);

    // Over-long padding (700 bytes after the key, no req1): closed at once.
    let mut pad = connect();
    pad.write_all(&junk(96 + 700, 3)).expect("write");
    let took = closed_within(pad, Duration::from_secs(10));
    assert!(
        took < Duration::from_millis(1500),
        "over-long padding closed after {took:?}"
    );

    // A plaintext handshake for a torrent the seed does not serve: closed at once.
    let mut other = connect();
    let mut hs = b"\x13BitTorrent protocol".to_vec();
    hs.extend([0u8; 8]);
    hs.extend([0xab; 20]);
    hs.extend([0x11; 20]);
    other.write_all(&hs).expect("write");
    let took = closed_within(other, Duration::from_secs(10));
    assert!(
        took < Duration::from_millis(1500),
        "unknown torrent closed after {took:?}"
    );

    // The stalled ones are closed at the 2 s deadline (with slack for a busy machine).
    for s in [stall, stall2, trunc] {
        let took = closed_within(s, Duration::from_secs(15));
        assert!(
            took < Duration::from_secs(8),
            "stalled handshake closed after {took:?}"
        );
    }

    assert_downloaded_within(&mut dl, "download", &t, &out, Duration::from_secs(60));
}

//! Bad input around magnet links, through the binary: malformed links exit 2 with one
//! line; peers in this process that lie about the metadata (a size that does not match
//! what they send, a size over 16 MiB, data that does not hash to the info-hash) are
//! refused, and the download either fails with one line (no honest peer) or completes
//! from an honest seed with the liar banned. Never a panic.

#[path = "support/engine.rs"]
mod engine;

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::time::Duration;

use bitswarm_testkit::peers::{proxy_late, serve_lying_metadata, MetadataLie};
use engine::*;
use tokio::net::{TcpListener, TcpStream};

fn one_line_error(what: &str, out: &Output, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{what}: {stderr}");
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("bitswarm: error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{what}: one error line: {stderr:?}");
    errors[0].to_owned()
}

#[test]
fn malformed_magnet_links_exit_2_with_one_line() {
    for (link, expect) in [
        ("magnet:?dn=no-xt", "no info-hash"),
        (
            "magnet:?xt=urn:sha1:c12fe1c06bba254a9dc9f519b335aa7c1367a88a",
            "no info-hash",
        ),
        (
            "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88",
            "neither 40 hex digits nor 32 base32",
        ),
        (
            "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a00",
            "neither 40 hex digits nor 32 base32",
        ),
        (
            "magnet:?xt=urn:btih:g12fe1c06bba254a9dc9f519b335aa7c1367a88a",
            "not valid hex",
        ),
        (
            "magnet:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKE1",
            "not valid base32",
        ),
        (
            "magnet:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKE",
            "neither 40 hex digits nor 32 base32",
        ),
        ("magnet:?xt=urn:btih:", "neither 40 hex digits"),
        ("magnet:?xt=urn:btih:%zz", "bad info-hash"),
        ("magnet:", "not a magnet link"),
    ] {
        let out = Command::new(BITSWARM)
            .args(["download", link, "--port", "0", "--no-dht"])
            .args(NO_LAN_DISCOVERY)
            .output()
            .expect("run");
        let line = one_line_error(link, &out, 2);
        assert!(line.contains("invalid magnet link"), "{link}: {line}");
        assert!(line.contains(expect), "{link}: {line}");
    }
}

/// How a fake peer lies about the metadata.
#[derive(Clone, Copy)]
enum Lie {
    /// Advertises `size` but sends pieces saying the total is one byte more.
    Size,
    /// Advertises more than 16 MiB.
    Huge,
    /// Advertises the right size and sends zeros (wrong hash).
    Hash,
}

/// Runs `serve` on every connection to a loopback listener, on a thread with its own
/// runtime; returns the listener's address.
fn serve_on_thread<F, Fut>(serve: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let _ = tx.send(l.local_addr().expect("addr"));
            loop {
                let Ok((s, _)) = l.accept().await else { return };
                tokio::spawn(serve(s));
            }
        });
    });
    rx.recv().expect("listener address")
}

/// Starts a peer that lies in this way.
fn liar(info_hash: [u8; 20], size: u64, lie: Lie) -> SocketAddr {
    let lie = match lie {
        Lie::Size => MetadataLie {
            advertised: size,
            sent_total: size + 1,
        },
        Lie::Huge => MetadataLie {
            advertised: (16 << 20) + 1,
            sent_total: (16 << 20) + 1,
        },
        Lie::Hash => MetadataLie {
            advertised: size,
            sent_total: size,
        },
    };
    serve_on_thread(move |s| serve_lying_metadata(s, info_hash, lie))
}

/// A TCP proxy to `to` that waits `delay` before connecting: a peer that answers late.
fn slow_proxy(to: SocketAddr, delay: Duration) -> SocketAddr {
    serve_on_thread(move |a| proxy_late(a, to, delay))
}

fn info_hash_bytes(t: &TestTorrent) -> [u8; 20] {
    let mut ih = [0u8; 20];
    for (i, b) in ih.iter_mut().enumerate() {
        *b = u8::from_str_radix(&t.info_hash[2 * i..2 * i + 2], 16).expect("hex");
    }
    ih
}

fn raw_info_len(t: &TestTorrent) -> u64 {
    let m = bitswarm_proto::Metainfo::from_bytes(&std::fs::read(&t.torrent).expect("torrent"))
        .expect("valid");
    m.raw_info().len() as u64
}

#[test]
fn lying_peers_alone_end_in_one_line_and_exit_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = single_file(dir.path(), "l.bin", 300_000, 16 * 1024, vec![]);
    let ih = info_hash_bytes(&t);
    let size = raw_info_len(&t);
    for (name, lie) in [
        ("lying size", Lie::Size),
        ("over 16 MiB", Lie::Huge),
        ("wrong hash", Lie::Hash),
    ] {
        let peer = liar(ih, size, lie);
        let magnet = format!("magnet:?xt=urn:btih:{}&x.pe={peer}", t.info_hash);
        let out = Command::new(BITSWARM)
            .args(["download", &magnet, "--port", "0", "--no-dht"])
            .args(NO_LAN_DISCOVERY)
            .args(["--metadata-timeout", "4"])
            .args(["-o", dir.path().join("out").to_str().expect("utf8")])
            .output()
            .expect("run");
        let line = one_line_error(name, &out, 1);
        assert!(line.contains("no metadata"), "{name}: {line}");
        assert!(line.contains("1 refused"), "{name}: {line}");
    }
}

#[test]
fn a_liar_next_to_an_honest_seed_is_refused_and_banned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = single_file(dir.path(), "h.bin", 500_000, 16 * 1024, vec![]);
    let ih = info_hash_bytes(&t);
    let peer = liar(ih, raw_info_len(&t), Lie::Hash);
    let seed_port = free_port();
    let mut seed = bitswarm_seed(&t, seed_port, &["--no-dht".to_string()]).ready("seeding");
    // The liar answers at once; the seed only after a second (through a slow proxy),
    // so the liar's pieces arrive first and fail the hash.
    let late_seed = slow_proxy(local(seed_port), Duration::from_secs(1));
    let magnet = format!("magnet:?xt=urn:btih:{}&x.pe={peer}", t.info_hash);
    let out = dir.path().join("out");
    let mut c = Command::new(BITSWARM);
    c.args(["download", &magnet, "--port", "0", "--no-dht"])
        .args(NO_LAN_DISCOVERY)
        .args(["--peer", &late_seed.to_string(), "--encryption", "disable"])
        .args(["-o", out.to_str().expect("utf8")]);
    let mut dl = Proc::spawn("bitswarm download (liar + seed)", &mut c);
    let st = dl.wait_exit(Duration::from_secs(90));
    let all = dl.seen.join("\n");
    assert!(st.success(), "{st}\n{all}");
    assert!(!all.contains("panicked"), "{all}");
    assert_same_tree(&t.data, &out.join(&t.name));
    assert!(
        all.contains(&format!("refused metadata from {peer}")),
        "{all}"
    );
    assert!(all.contains("1 peers banned"), "{all}");
    seed.interrupt();
    seed.wait_exit(Duration::from_secs(30));
}

//! bitswarm's tracker client against opentracker (the Debian package) on 127.0.0.1, over
//! HTTP and over UDP: a bitswarm seed and a bitswarm leecher find each other through it
//! and the leecher completes, then a libtorrent leecher does too; bitswarm's scrape
//! (BEP 48 over HTTP, BEP 15 over UDP) reads opentracker's counts, `completed` included.
//!
//! Debian's opentracker accepts only whitelisted info-hashes and chroots into `-d DIR`,
//! so the whitelist is written there (INTEROP.md).

#[path = "support/engine.rs"]
mod engine;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use bitswarm_net::tracker_types::{ScrapeResult, TrackerError};
use bitswarm_net::UdpTiming;
use engine::*;

const MIB: usize = 1024 * 1024;

/// opentracker on 127.0.0.1:`port` (TCP and UDP) tracking only `hashes`.
fn opentracker(dir: &Path, port: u16, hashes: &[&str]) -> Proc {
    require("sh", &["-c", "command -v opentracker"], "opentracker");
    let root = dir.join("opentracker");
    std::fs::create_dir_all(&root).expect("mkdir");
    std::fs::write(root.join("whitelist.txt"), hashes.join("\n") + "\n").expect("whitelist");
    let port = port.to_string();
    Proc::spawn(
        &format!("opentracker :{port}"),
        Command::new("opentracker")
            .args(["-i", "127.0.0.1", "-p", &port, "-P", &port])
            .args(["-d", root.to_str().expect("utf8"), "-w", "/whitelist.txt"])
            .args(["-A", "127.0.0.1"]),
    )
}

fn hash_bytes(hex_hash: &str) -> [u8; 20] {
    hex::decode(hex_hash)
        .expect("hex")
        .try_into()
        .expect("20 bytes")
}

fn scrape(url: &str, info_hash: [u8; 20]) -> Result<ScrapeResult, TrackerError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let timing = UdpTiming {
        base: Duration::from_millis(500),
        max_n: 2,
    };
    rt.block_on(bitswarm_net::announce::scrape(
        url,
        info_hash,
        timing,
        Duration::from_secs(10),
    ))
}

/// Scrapes `url` until `ok` holds for the counts (or panics at the deadline).
fn scrape_until(url: &str, info_hash: [u8; 20], what: &str, ok: impl Fn(&ScrapeResult) -> bool) {
    let end = Instant::now() + Duration::from_secs(60);
    let mut last = None;
    while Instant::now() < end {
        match scrape(url, info_hash) {
            Ok(r) if ok(&r) => return,
            r => last = Some(r),
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("{url}: never {what}; last scrape: {last:?}");
}

fn seed_and_leech_through(scheme: &str) {
    require_libtorrent();
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let url = match scheme {
        "http" => format!("http://127.0.0.1:{port}/announce"),
        _ => format!("udp://127.0.0.1:{port}/announce"),
    };
    let t = single_file(
        dir.path(),
        &format!("ot-{scheme}.bin"),
        8 * MIB + 12_345,
        256 * 1024,
        vec![url.clone()],
    );
    let ih = hash_bytes(&t.info_hash);
    let _tracker = opentracker(dir.path(), port, &[&t.info_hash]);
    // opentracker is up and knows nobody yet (the same port serves HTTP and UDP).
    let http = format!("http://127.0.0.1:{port}/announce");
    scrape_until(&http, ih, "answered", |r| *r == ScrapeResult::default());

    let mut seed = bitswarm_seed(&t, free_port(), &[]);
    scrape_until(&url, ih, "listed the seed", |r| r.seeders >= 1);

    // The leecher knows only the tracker.
    let out = dir.path().join("bitswarm-leecher");
    let mut dl = bitswarm_download(&t, &out, free_port(), &[]);
    assert_downloaded_within(
        &mut dl,
        &format!("{scheme}: the leecher"),
        &t,
        &out,
        Duration::from_secs(180),
    );

    // A libtorrent leecher, which also knows only the tracker.
    let save = dir.path().join("lt-leecher");
    std::fs::create_dir_all(&save).expect("mkdir");
    // It lingers after completing and stays alive until the scrape below: time to
    // announce `completed`.
    let mut lt = Proc::spawn(
        "libtorrent leecher",
        Command::new(PYTHON)
            .arg(lt_script())
            .args(["--torrent", t.torrent.to_str().expect("utf8")])
            .args(["--save", save.to_str().expect("utf8")])
            .args(["--port", &free_port().to_string()])
            .args(["--timeout", "180", "--linger", "10"]),
    );
    lt.wait_line("complete", Duration::from_secs(180));
    assert_same_tree(&t.data, &save.join(&t.name));

    // Scrape over the torrent's own scheme: every completed download is counted, and the
    // seed is still there.
    scrape_until(&url, ih, "counted the completed downloads", |r| {
        r.completed >= 2 && r.seeders >= 1
    });
    // Killed, libtorrent says nothing more: it stays listed until it expires.
    drop(lt);
    let before = scrape(&url, ih).expect("scrape").seeders;
    seed.interrupt();
    let st = seed.wait_exit(Duration::from_secs(60));
    assert!(st.success(), "seed after Ctrl-C: {st}\n{}", seed.tail());
    // Its `stopped` announce removed it, and only it.
    scrape_until(&url, ih, "dropped the stopped seed", |r| {
        r.seeders + 1 == before
    });
}

#[test]
fn bitswarm_peers_meet_through_opentracker_over_http() {
    seed_and_leech_through("http");
}

#[test]
fn bitswarm_peers_meet_through_opentracker_over_udp() {
    seed_and_leech_through("udp");
}

#[test]
fn http_scrape_failures_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let _tracker = opentracker(dir.path(), port, &[&"ab".repeat(20)]);
    let http = format!("http://127.0.0.1:{port}/announce");
    // A whitelisted torrent nobody announced: zeros.
    scrape_until(&http, [0xAB; 20], "answered", |r| {
        *r == ScrapeResult::default()
    });
    // An announce URL without a scrape convention (BEP 48) is refused before any I/O.
    let r = scrape(&format!("http://127.0.0.1:{port}/tracker"), [0xAB; 20]);
    assert!(matches!(r, Err(TrackerError::NoScrape(_))), "{r:?}");
}

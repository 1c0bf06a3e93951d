//! Real BitTorrent programs announce to bitswarm's tracker on 127.0.0.1 and find each
//! other: a libtorrent seed and an aria2c leecher complete a transfer through it over HTTP
//! and over UDP, and Transmission announces and is listed.
//!
//! Needs: mktorrent, aria2c, transmission-cli and python3-libtorrent (Debian's
//! /usr/bin/python3). A missing tool fails the test with the package to install.
//! Every process is killed when its guard drops; every wait has a deadline.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bitswarm_tracker::{BlockingTracker, Config, InfoHash, TrackerServer};

const PYTHON: &str = "/usr/bin/python3";

const LT_SEED: &str = r#"
import sys, time
import libtorrent as lt
torrent, save, port, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
s = lt.session({
    'listen_interfaces': '127.0.0.1:%d' % port,
    'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
    'allow_multiple_connections_per_ip': True,
    'enable_outgoing_utp': False, 'enable_incoming_utp': False,
    'upload_rate_limit': 0, 'download_rate_limit': 0,
    'alert_mask': lt.alert.category_t.tracker_notification | lt.alert.category_t.error_notification,
})
h = s.add_torrent({'ti': lt.torrent_info(torrent), 'save_path': save})
end = time.time() + secs
while time.time() < end:
    for a in s.pop_alerts():
        print('alert:', a.message(), flush=True)
    st = h.status()
    if st.is_seeding:
        print('seeding', flush=True)
    time.sleep(0.5)
"#;

/// Kills the child when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn require(tool: &str, args: &[&str], package: &str) {
    let ok = Command::new(tool)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    assert!(
        ok.is_ok_and(|s| s.success()),
        "`{tool}` is missing or broken: install the Debian package `{package}` (apt-get install -y {package})"
    );
}

fn require_all() {
    require("mktorrent", &["-h"], "mktorrent");
    require("aria2c", &["--version"], "aria2");
    require(PYTHON, &["-c", "import libtorrent"], "python3-libtorrent");
}

/// A port free right now (bound then released; the kernel does not hand it out again
/// immediately).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

fn start_tracker() -> BlockingTracker {
    let config = Config {
        http_addr: "127.0.0.1:0".parse().unwrap(),
        udp_addr: "127.0.0.1:0".parse().unwrap(),
        interval_secs: 5,
        min_interval_secs: 1,
        ..Config::default()
    };
    TrackerServer::start_blocking(config).expect("tracker start")
}

fn make_payload(dir: &Path, name: &str, len: usize) -> PathBuf {
    let mut data = vec![0u8; len];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for b in data.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path
}

fn mktorrent(announce: &str, payload: &Path, out: &Path) -> InfoHash {
    let status = Command::new("mktorrent")
        .args(["-a", announce, "-l", "18", "-o"])
        .arg(out)
        .arg(payload)
        .stdout(Stdio::null())
        .status()
        .expect("mktorrent");
    assert!(status.success(), "mktorrent failed");
    info_hash_of(out)
}

fn info_hash_of(torrent: &Path) -> InfoHash {
    info_hash_from_torrent_bytes(&std::fs::read(torrent).unwrap())
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while !f() {
        assert!(
            Instant::now() < end,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn seed_and_leech(udp: bool, announce_for: impl Fn(&BlockingTracker) -> String) {
    require_all();
    let tracker = start_tracker();
    let dir = tempfile::tempdir().unwrap();
    let (seed_dir, leech_dir) = (dir.path().join("seed"), dir.path().join("leech"));
    std::fs::create_dir_all(&seed_dir).unwrap();
    std::fs::create_dir_all(&leech_dir).unwrap();
    let payload = make_payload(&seed_dir, "payload.bin", 8 << 20);
    let torrent = dir.path().join("t.torrent");
    let hash = mktorrent(&announce_for(&tracker), &payload, &torrent);
    let script = dir.path().join("seed.py");
    std::fs::write(&script, LT_SEED).unwrap();

    let seed_log = std::fs::File::create(dir.path().join("seed.log")).unwrap();
    let _seed = Proc(
        Command::new(PYTHON)
            .arg(&script)
            .arg(&torrent)
            .arg(&seed_dir)
            .arg(free_port().to_string())
            .arg("90")
            .stdout(seed_log)
            .stderr(Stdio::null())
            .spawn()
            .expect("start libtorrent seed"),
    );
    let counts = || tracker.shared().scrape(&[hash])[0];
    let seed_log_text = || std::fs::read_to_string(dir.path().join("seed.log")).unwrap_or_default();
    let end = Instant::now() + Duration::from_secs(30);
    while counts().complete < 1 {
        assert!(
            Instant::now() < end,
            "libtorrent never announced as a seeder; its log:\n{}",
            seed_log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // aria2c speaks UDP tracker only through its DHT socket ("udp is not supported yet"
    // otherwise): for UDP, enable DHT with an empty routing table of its own.
    let dht: Vec<String> = if udp {
        vec![
            "--enable-dht=true".into(),
            format!("--dht-listen-port={}", free_port()),
            format!("--dht-file-path={}", dir.path().join("dht.dat").display()),
        ]
    } else {
        vec!["--enable-dht=false".into()]
    };
    let leech = Command::new("aria2c")
        .arg(format!("--dir={}", leech_dir.display()))
        .args(&dht)
        .args([
            "--interface=127.0.0.1",
            &format!("--listen-port={}", free_port()),
            "--enable-dht6=false",
            "--bt-enable-lpd=false",
            "--enable-peer-exchange=false",
            "--file-allocation=none",
            "--seed-time=0",
            "--bt-stop-timeout=60",
            "--summary-interval=0",
            "--console-log-level=warn",
        ])
        .arg(&torrent)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start aria2c");
    let mut leech = Proc(leech);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = leech.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "aria2c did not finish within 90 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        status.success(),
        "aria2c failed: {status}; seed log:\n{}",
        seed_log_text()
    );
    assert_eq!(
        std::fs::read(leech_dir.join("payload.bin")).unwrap(),
        std::fs::read(&payload).unwrap(),
        "payload differs"
    );
    // aria2c (--seed-time=0) announced `stopped` with left=0, never `completed`; the registry
    // counts that as a download: one seeder (libtorrent) left, one download.
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let c = counts();
        if (c.complete, c.incomplete, c.downloaded) == (1, 0, 1) {
            break;
        }
        assert!(
            Instant::now() < end,
            "scrape counts after the transfer: {c:?}, want 1 seeder, 0 leechers, 1 download"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn libtorrent_seed_to_aria2c_over_http() {
    seed_and_leech(false, |t| {
        format!("http://{}/announce", t.http_addr().unwrap())
    });
}

#[test]
fn libtorrent_seed_to_aria2c_over_udp() {
    seed_and_leech(true, |t| {
        format!("udp://{}/announce", t.udp_addr().unwrap())
    });
}

fn transmission_is_listed(announce_for: impl Fn(&BlockingTracker) -> String) {
    require("mktorrent", &["-h"], "mktorrent");
    require("transmission-cli", &["--version"], "transmission-cli");
    let tracker = start_tracker();
    let dir = tempfile::tempdir().unwrap();
    let payload = make_payload(dir.path(), "payload.bin", 1 << 20);
    let torrent = dir.path().join("t.torrent");
    std::fs::create_dir_all(dir.path().join("dl")).unwrap();
    let status = Command::new("mktorrent")
        .args(["-a", &announce_for(&tracker), "-l", "18", "-o"])
        .arg(&torrent)
        .arg(&payload)
        .stdout(Stdio::null())
        .status()
        .expect("mktorrent");
    assert!(status.success());
    let config_dir = dir.path().join("tr-config");
    std::fs::create_dir_all(&config_dir).unwrap();
    let port = free_port();
    std::fs::write(
        config_dir.join("settings.json"),
        serde_json::json!({
            "dht-enabled": false, "lpd-enabled": false, "pex-enabled": false, "utp-enabled": false,
            "port-forwarding-enabled": false, "bind-address-ipv4": "127.0.0.1", "peer-port": port,
        })
        .to_string(),
    )
    .unwrap();
    let _transmission = Proc(
        Command::new("transmission-cli")
            .arg("-g")
            .arg(&config_dir)
            .arg("-w")
            .arg(dir.path().join("dl"))
            .args(["-p", &port.to_string()])
            .arg(&torrent)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start transmission-cli"),
    );
    let registry = tracker.shared().clone();
    wait_until("Transmission's announce", Duration::from_secs(30), || {
        registry.sizes().1 == 1
    });
    // Another peer asking the tracker is handed Transmission's address.
    let me = bitswarm_tracker::AnnounceRequest {
        info_hash: info_hash_from_torrent_bytes(&std::fs::read(&torrent).unwrap()),
        peer_id: bitswarm_tracker::PeerId([9; 20]),
        addr: SocketAddr::from(([127, 0, 0, 1], 1)),
        event: bitswarm_tracker::Event::Started,
        left: 1,
        uploaded: 0,
        downloaded: 0,
        numwant: None,
    };
    let reply = registry.announce(&me).unwrap();
    assert_eq!(reply.incomplete, 2);
    assert_eq!(reply.peers.len(), 1);
    assert_eq!(
        reply.peers[0].addr,
        SocketAddr::from(([127, 0, 0, 1], port))
    );
    assert!(
        reply.peers[0].id.0.starts_with(b"-TR3"),
        "peer id {:?}",
        reply.peers[0].id
    );
}

/// SHA-1 of the `info` dictionary's original bytes, via the workspace bencode crate and
/// python's hashlib (no SHA-1 dependency needed here).
fn info_hash_from_torrent_bytes(bytes: &[u8]) -> InfoHash {
    let v = bitswarm_bencode::decode(bytes).expect("torrent is bencode");
    let info = v
        .as_dict()
        .and_then(|d| d.get(b"info"))
        .expect("info dict")
        .raw();
    let mut child = Command::new(PYTHON)
        .args([
            "-c",
            "import sys, hashlib; print(hashlib.sha1(sys.stdin.buffer.read()).hexdigest())",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), info).unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    InfoHash::from_hex(String::from_utf8_lossy(&out.stdout).trim()).expect("sha1 hex")
}

#[test]
fn transmission_announces_over_http_and_is_listed() {
    transmission_is_listed(|t| format!("http://{}/announce", t.http_addr().unwrap()));
}

#[test]
fn transmission_announces_over_udp_and_is_listed() {
    transmission_is_listed(|t| format!("udp://{}/announce", t.udp_addr().unwrap()));
}

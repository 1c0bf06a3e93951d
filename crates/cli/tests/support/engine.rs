//! Shared harness of the engine interop tests (`engine_*.rs`): free ports, torrents
//! with deterministic content, child processes that die with the test, tool checks,
//! an in-process bitswarm tracker, and runners for bitswarm, libtorrent, aria2c and
//! Transmission with the loopback settings of INTEROP.md.
#![allow(dead_code, unused_imports)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const PYTHON: &str = "/usr/bin/python3";
pub const BITSWARM: &str = env!("CARGO_BIN_EXE_bitswarm");

/// The libtorrent helper script.
pub fn lt_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/lt_peer.py")
}

/// A TCP and UDP port free on 127.0.0.1 right now (distinct across calls in a run).
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static LAST: AtomicU16 = AtomicU16::new(0);
    loop {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let port = l.local_addr().expect("local addr").port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok()
            && LAST.swap(port, Ordering::Relaxed) != port
        {
            return port;
        }
    }
}

/// Fails the test with the package to install when a tool is missing.
pub fn require(tool: &str, args: &[&str], package: &str) {
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

/// Requires python3-libtorrent.
pub fn require_libtorrent() {
    require(PYTHON, &["-c", "import libtorrent"], "python3-libtorrent");
}

/// A child process killed (and its output echoed) when dropped.
pub struct Proc {
    pub name: String,
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Proc {
    /// Starts `cmd` with stdout and stderr captured line by line.
    pub fn spawn(name: &str, cmd: &mut Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let (tx, rx) = mpsc::channel();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Proc {
            name: name.to_owned(),
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    fn drain(&mut self) {
        while let Ok(l) = self.lines.try_recv() {
            self.seen.push(l);
        }
    }

    /// Waits (up to 30 s) for a line containing `pat`, as a started peer says it is
    /// ready, and gives the process back.
    pub fn ready(mut self, pat: &str) -> Proc {
        self.wait_line(pat, Duration::from_secs(30));
        self
    }

    /// Waits for a line containing `pat`; panics with the output at the deadline.
    pub fn wait_line(&mut self, pat: &str, timeout: Duration) -> String {
        let end = Instant::now() + timeout;
        if let Some(l) = self.seen.iter().find(|l| l.contains(pat)) {
            return l.clone();
        }
        while Instant::now() < end {
            match self.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if l.contains(pat) {
                        return l;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        self.drain();
        panic!(
            "{}: no line with {pat:?} within {timeout:?}; output:\n{}",
            self.name,
            self.tail()
        );
    }

    /// Waits for the process to exit; panics (killing it) at the deadline.
    pub fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            self.drain();
            if let Ok(Some(st)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(50));
                self.drain();
                return st;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        self.drain();
        panic!(
            "{} did not finish within {timeout:?}; output:\n{}",
            self.name,
            self.tail()
        );
    }

    /// Sends SIGINT (Ctrl-C).
    pub fn interrupt(&self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
    }

    /// The last lines of output.
    pub fn tail(&self) -> String {
        let n = self.seen.len();
        self.seen[n.saturating_sub(40)..].join("\n")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            self.drain();
            eprintln!("--- {} output ---\n{}", self.name, self.tail());
        }
    }
}

pub use bitswarm_testkit::torrent::content;
use bitswarm_testkit::torrent::{self as kit, Files};

/// A torrent written to disk: `.torrent` path, data path (file or folder), info-hash hex.
pub struct TestTorrent {
    pub torrent: PathBuf,
    pub data: PathBuf,
    pub name: String,
    pub info_hash: String,
}

impl TestTorrent {
    /// The folder the torrent was made in (`make_torrent`'s `dir`).
    pub fn dir(&self) -> PathBuf {
        self.src_dir().parent().expect("parent").to_path_buf()
    }

    /// The folder holding the data (`dir/src`): a seed's save path.
    pub fn src_dir(&self) -> PathBuf {
        self.data.parent().expect("parent").to_path_buf()
    }
}

/// Writes `files` (relative path, length; one file with an empty path = single-file
/// torrent) under `dir/src/name` and the torrent as `dir/name.torrent`.
pub fn make_torrent(
    dir: &Path,
    name: &str,
    files: &[(String, usize)],
    piece_length: u32,
    trackers: Vec<String>,
) -> TestTorrent {
    let data = dir.join("src").join(name);
    let files: Vec<(&str, usize)> = files.iter().map(|(p, len)| (p.as_str(), *len)).collect();
    let bytes = kit::write(
        &data,
        &Files {
            name,
            files: &files,
            piece_length,
            trackers,
            private: false,
            first_seed: 7,
        },
    );
    let meta = bitswarm_proto::Metainfo::from_bytes(&bytes).expect("parse torrent");
    let torrent = dir.join(format!("{name}.torrent"));
    std::fs::write(&torrent, &bytes).expect("write torrent");
    TestTorrent {
        torrent,
        data,
        name: name.to_owned(),
        info_hash: meta.info_hash().to_hex(),
    }
}

/// A single-file torrent of `len` bytes: [`make_torrent`] with one file.
pub fn single_file(
    dir: &Path,
    name: &str,
    len: usize,
    piece_length: u32,
    trackers: Vec<String>,
) -> TestTorrent {
    make_torrent(dir, name, &[(String::new(), len)], piece_length, trackers)
}

/// Waits (up to 90 s) for the download process `p` to exit, and checks that it
/// succeeded (else panics with `what` and its output) and that `out` holds the
/// torrent's data.
pub fn assert_downloaded(p: &mut Proc, what: &str, t: &TestTorrent, out: &Path) {
    assert_downloaded_within(p, what, t, out, Duration::from_secs(90));
}

/// [`assert_downloaded`] with another deadline.
pub fn assert_downloaded_within(
    p: &mut Proc,
    what: &str,
    t: &TestTorrent,
    out: &Path,
    within: Duration,
) {
    let st = p.wait_exit(within);
    assert!(st.success(), "{what} failed: {st}\n{}", p.tail());
    assert_same_tree(&t.data, &out.join(&t.name));
}

/// The multi-file layout of the interop tests: 24 files, empty and 1-byte ones among
/// them, sizes that make pieces span several files.
pub fn multi_files() -> Vec<(String, usize)> {
    (0..24)
        .map(|i| {
            let len = match i {
                2 | 9 => 0,
                3 | 15 => 1,
                _ => (i * 91_733 + 12_345) % 400_000,
            };
            (format!("dir{}/file{i:02}.bin", i % 4), len)
        })
        .collect()
}

/// Compares two files or folders byte for byte (files of `a` must exist in `b`).
pub fn assert_same_tree(a: &Path, b: &Path) {
    if a.is_dir() {
        for e in std::fs::read_dir(a).expect("read dir") {
            let n = e.expect("entry").file_name();
            assert_same_tree(&a.join(&n), &b.join(&n));
        }
    } else {
        let x = std::fs::read(a).expect("read source");
        let y = std::fs::read(b).unwrap_or_else(|e| panic!("{}: {e}", b.display()));
        assert!(x == y, "{} and {} differ", a.display(), b.display());
    }
}

/// bitswarm's tracker in-process on free loopback ports: (tracker, http url, udp url).
pub fn tracker() -> (bitswarm_tracker::BlockingTracker, String, String) {
    let c = bitswarm_tracker::Config {
        http_addr: "127.0.0.1:0".parse().expect("addr"),
        udp_addr: "127.0.0.1:0".parse().expect("addr"),
        interval_secs: 2,
        min_interval_secs: 1,
        ..Default::default()
    };
    let t = bitswarm_tracker::TrackerServer::start_blocking(c).expect("start tracker");
    let http = format!("http://{}/announce", t.http_addr().expect("http"));
    let udp = format!("udp://{}", t.udp_addr().expect("udp"));
    (t, http, udp)
}

/// Tests pick their peers: Local Service Discovery would let tests running at once that
/// share a torrent (the same generated content) meet, so the helpers turn it off.
pub const NO_LAN_DISCOVERY: &[&str] = &["--no-lsd"];

/// `bitswarm download` with test-friendly settings.
pub fn bitswarm_download(t: &TestTorrent, out: &Path, port: u16, extra: &[String]) -> Proc {
    let mut c = Command::new(BITSWARM);
    c.args([
        "download",
        t.torrent.to_str().expect("utf8"),
        "-o",
        out.to_str().expect("utf8"),
    ])
    .args(["--port", &port.to_string(), "--announce-interval", "2"])
    .args(NO_LAN_DISCOVERY)
    .args(extra)
    .env("RUST_LOG", "warn,bitswarm_net=info");
    Proc::spawn(&format!("bitswarm download :{port}"), &mut c)
}

/// `bitswarm seed`.
pub fn bitswarm_seed(t: &TestTorrent, port: u16, extra: &[String]) -> Proc {
    let mut c = Command::new(BITSWARM);
    c.args([
        "seed",
        t.torrent.to_str().expect("utf8"),
        t.data.to_str().expect("utf8"),
    ])
    .args(["--port", &port.to_string(), "--announce-interval", "2"])
    .args(NO_LAN_DISCOVERY)
    .args(extra)
    .env("RUST_LOG", "warn,bitswarm_net=info");
    Proc::spawn(&format!("bitswarm seed :{port}"), &mut c)
}

/// The libtorrent helper; `save` is the folder holding (or receiving) the data.
pub fn lt_peer(
    t: &TestTorrent,
    save: &Path,
    port: u16,
    seed: bool,
    connect: &[SocketAddr],
    timeout_secs: u32,
) -> Proc {
    let mut c = Command::new(PYTHON);
    c.arg(lt_script())
        .args([
            "--torrent",
            t.torrent.to_str().expect("utf8"),
            "--save",
            save.to_str().expect("utf8"),
        ])
        .args([
            "--port",
            &port.to_string(),
            "--timeout",
            &timeout_secs.to_string(),
        ]);
    if seed {
        c.arg("--seed");
    }
    for a in connect {
        c.args(["--connect", &a.to_string()]);
    }
    Proc::spawn(&format!("libtorrent :{port}"), &mut c)
}

/// A libtorrent seed of `t` (its data folder as the save path) on a free port, with
/// `extra` flags of the helper (an upload cap, an encryption policy), once it has checked
/// the data; and its port.
pub fn lt_seed(t: &TestTorrent, extra: &[&str]) -> (Proc, u16) {
    let port = free_port();
    let save = t.data.parent().expect("parent");
    let mut c = Command::new(PYTHON);
    c.arg(lt_script())
        .args(["--torrent", t.torrent.to_str().expect("utf8")])
        .args(["--save", save.to_str().expect("utf8")])
        .args(["--port", &port.to_string(), "--seed", "--timeout", "300"])
        .args(extra);
    let seed = Proc::spawn(&format!("libtorrent seed :{port}"), &mut c).ready("checked");
    (seed, port)
}

/// The latest "uploaded N" a libtorrent seed printed (the helper prints
/// libtorrent's total payload upload every second).
pub fn lt_uploaded(seed: &mut Proc) -> Option<u64> {
    seed.drain_public();
    seed.seen
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("uploaded ")?.trim().parse::<u64>().ok())
}

/// The JSON report a `--json` run printed on stdout: the lines from the first `{` to the
/// last `}`.
pub fn json_report(p: &Proc) -> serde_json::Value {
    let start = p
        .seen
        .iter()
        .position(|l| l == "{")
        .unwrap_or_else(|| panic!("no JSON report; output:\n{}", p.tail()));
    let end = p
        .seen
        .iter()
        .rposition(|l| l == "}")
        .expect("end of the JSON report");
    serde_json::from_str(&p.seen[start..=end].join("\n")).expect("valid JSON")
}

/// Loopback address of a port.
pub fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Like [`assert_same_tree`], but files empty in `a` may be missing in `b`
/// (Transmission does not create zero-byte files).
pub fn assert_same_tree_except_empty(a: &Path, b: &Path) {
    if a.is_dir() {
        for e in std::fs::read_dir(a).expect("read dir") {
            let n = e.expect("entry").file_name();
            assert_same_tree_except_empty(&a.join(&n), &b.join(&n));
        }
    } else if std::fs::metadata(a).map(|m| m.len()).unwrap_or(0) > 0 || b.exists() {
        assert_same_tree(a, b);
    }
}

/// aria2c's loopback flags (INTEROP.md).
pub fn aria2_args(port: u16) -> Vec<String> {
    [
        "--interface=127.0.0.1",
        "--enable-dht=false",
        "--enable-dht6=false",
        "--bt-enable-lpd=false",
        "--enable-peer-exchange=false",
        "--file-allocation=none",
        "--console-log-level=warn",
        "--summary-interval=0",
        "--allow-overwrite=true",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--listen-port={port}")])
    .collect()
}

/// Writes a Transmission config folder with DHT, LPD, PEX and uTP off, bound to
/// 127.0.0.1 on `port`, plaintext preferred.
pub fn transmission_config(dir: &Path, port: u16) -> PathBuf {
    let cfg = dir.join(format!("transmission-{port}"));
    std::fs::create_dir_all(&cfg).expect("mkdir");
    let settings = format!(
        r#"{{
    "dht-enabled": false,
    "lpd-enabled": false,
    "pex-enabled": false,
    "utp-enabled": false,
    "port-forwarding-enabled": false,
    "bind-address-ipv4": "127.0.0.1",
    "peer-port": {port},
    "peer-port-random-on-start": false,
    "encryption": 0,
    "speed-limit-down-enabled": false,
    "speed-limit-up-enabled": false,
    "ratio-limit-enabled": false,
    "message-level": 1
}}
"#
    );
    std::fs::write(cfg.join("settings.json"), settings).expect("write settings");
    cfg
}

/// `transmission-cli` on `torrent` with data folder `dir`; with `finish_marker`, a
/// finish script creates that file when the download completes.
pub fn transmission(
    t: &TestTorrent,
    dir: &Path,
    work: &Path,
    port: u16,
    finish_marker: Option<&Path>,
    verify: bool,
) -> Proc {
    let cfg = transmission_config(work, port);
    let mut c = Command::new("transmission-cli");
    c.args([
        "-w",
        dir.to_str().expect("utf8"),
        "-g",
        cfg.to_str().expect("utf8"),
    ])
    .args(["-p", &port.to_string(), "-et", "-M", "-U", "-D"]);
    if verify {
        c.arg("-v");
    }
    if let Some(marker) = finish_marker {
        let script = work.join(format!("finished-{port}.sh"));
        std::fs::write(
            &script,
            format!("#!/bin/sh\ntouch '{}'\n", marker.display()),
        )
        .expect("script");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        c.args(["-f", script.to_str().expect("utf8")]);
    }
    c.arg(&t.torrent);
    Proc::spawn(&format!("transmission :{port}"), &mut c)
}

/// Waits for a file to appear.
pub fn wait_file(p: &Path, timeout: Duration, who: &mut Proc) {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if p.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    who.drain_public();
    panic!(
        "{} did not finish within {timeout:?}; output:\n{}",
        who.name,
        who.tail()
    );
}

impl Proc {
    /// Collects pending output lines.
    pub fn drain_public(&mut self) {
        self.drain();
    }
}

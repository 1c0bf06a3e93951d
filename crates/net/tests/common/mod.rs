//! Shared helpers of the network tests: deterministic content, torrents built in
//! memory, sessions on loopback (seeding, waiting for a download), an in-process
//! tracker, and the plumbing of hand-written peers (listener, handshake, close check).
#![allow(dead_code, unused_imports)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bitswarm_net::{AddTorrent, Session, SessionConfig, TorrentHandle, TorrentStats};
use bitswarm_proto::Metainfo;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

pub use bitswarm_testkit::peers::read_plaintext_handshake;
pub use bitswarm_testkit::torrent::content;
use bitswarm_testkit::torrent::{self as kit, Files};

/// Writes files under `root/name/...` (or `root/name` for one file without a path) and
/// builds their torrent. `files`: (relative path, length). Returns the metainfo and the
/// data path (file or folder) to seed from.
pub fn make_torrent(
    root: &Path,
    name: &str,
    files: &[(&str, usize)],
    piece_length: u32,
    trackers: Vec<String>,
) -> (Arc<Metainfo>, PathBuf) {
    write_torrent(root, name, files, piece_length, trackers, false)
}

/// A one-file private torrent (BEP 27) of `len` bytes written under `root/name`.
pub fn private_torrent(root: &Path, name: &str, len: usize) -> (Arc<Metainfo>, PathBuf) {
    let (meta, data) = write_torrent(root, name, &[("", len)], 32 * 1024, vec![], true);
    assert!(meta.info().is_private());
    (meta, data)
}

fn write_torrent(
    root: &Path,
    name: &str,
    files: &[(&str, usize)],
    piece_length: u32,
    trackers: Vec<String>,
    private: bool,
) -> (Arc<Metainfo>, PathBuf) {
    let data = root.join(name);
    let bytes = kit::write(
        &data,
        &Files {
            name,
            files,
            piece_length,
            trackers,
            private,
            first_seed: 1,
        },
    );
    (Arc::new(Metainfo::from_bytes(&bytes).unwrap()), data)
}

/// Session settings for loopback tests.
pub fn config() -> SessionConfig {
    SessionConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        max_announce_interval: Some(Duration::from_secs(1)),
        peer_check_interval: Duration::from_secs(1),
        ..SessionConfig::default()
    }
}

/// A session on a free loopback port.
pub async fn session() -> Session {
    Session::new(config()).await.unwrap()
}

/// A session on a free loopback port whose uploads are capped at `bytes_per_sec`.
pub async fn upload_limited(bytes_per_sec: u64) -> Session {
    Session::new(SessionConfig {
        upload_limit: Some(bytes_per_sec),
        ..config()
    })
    .await
    .unwrap()
}

/// Adds `meta` to `session` as a seed of the data at `data`.
pub async fn add_seed(session: &Session, meta: &Arc<Metainfo>, data: &Path) -> TorrentHandle {
    session
        .add_torrent(AddTorrent::seed(meta.clone(), data))
        .await
        .unwrap()
}

/// A session on a free loopback port seeding `meta` from `data`, and the torrent's
/// handle (keep it: the torrent lives as long as the session).
pub async fn seeding(meta: &Arc<Metainfo>, data: &Path) -> (Session, TorrentHandle) {
    let seed = session().await;
    let handle = add_seed(&seed, meta, data).await;
    (seed, handle)
}

/// Adds `meta` to `leech` as a download into `out` that dials `seed`.
pub async fn download_from(
    leech: &Session,
    meta: &Arc<Metainfo>,
    out: &Path,
    seed: &Session,
) -> TorrentHandle {
    let add = AddTorrent {
        extra_peers: vec![addr_of(seed)],
        ..AddTorrent::download(meta.clone(), out)
    };
    leech.add_torrent(add).await.unwrap()
}

/// Waits until `h` seeds (its check of the data is done).
pub async fn until_seeding(h: &mut TorrentHandle) {
    while h.stats().state != bitswarm_net::TorrentState::Seeding {
        tokio::time::timeout(Duration::from_secs(10), h.changed())
            .await
            .unwrap()
            .unwrap();
    }
}

/// Waits for `h` to complete; panics after `within` or if the torrent failed.
pub async fn completed(h: &TorrentHandle, within: Duration) -> TorrentStats {
    tokio::time::timeout(within, h.wait_complete())
        .await
        .expect("download timed out")
        .unwrap()
}

/// A hand-written peer: a loopback listener that runs `serve` on every connection.
pub async fn fake_peer<F, Fut>(serve: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = l.accept().await else { return };
            tokio::spawn(serve(s));
        }
    });
    addr
}

/// Whether the other side closes `s` (or the stream fails) within `within`; what it
/// sends meanwhile is read and dropped.
pub async fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let mut buf = vec![0u8; 1 << 16];
    let end = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(end, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// Starts bitswarm's own tracker on free loopback ports: (handle, http url, udp url).
pub async fn tracker() -> (bitswarm_tracker::TrackerHandle, String, String) {
    let c = bitswarm_tracker::Config {
        http_addr: "127.0.0.1:0".parse().unwrap(),
        udp_addr: "127.0.0.1:0".parse().unwrap(),
        interval_secs: 2,
        min_interval_secs: 1,
        ..Default::default()
    };
    let t = bitswarm_tracker::TrackerServer::bind(c).await.unwrap();
    let http = format!("http://{}/announce", t.http_addr().unwrap());
    let udp = format!("udp://{}", t.udp_addr().unwrap());
    (t, http, udp)
}

/// Compares two files or folders byte for byte.
pub fn assert_same_tree(a: &Path, b: &Path) {
    if a.is_dir() {
        let mut names: Vec<_> = std::fs::read_dir(a)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        for n in names {
            assert_same_tree(&a.join(&n), &b.join(&n));
        }
    } else {
        let x = std::fs::read(a).unwrap();
        let y = std::fs::read(b).unwrap_or_else(|e| panic!("{}: {e}", b.display()));
        assert!(x == y, "{} and {} differ", a.display(), b.display());
    }
}

/// The address to dial a session on loopback.
pub fn addr_of(s: &Session) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], s.local_addr().port()))
}

/// Installs a test log subscriber (RUST_LOG) once.
pub fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

//! Interop with libtorrent's DHT (python3-libtorrent) on loopback: libtorrent finds a
//! peer announced in our DHT, and we find a peer libtorrent announced. Skipped (with a
//! note) when `/usr/bin/python3` cannot import libtorrent.

use std::process::Stdio;
use std::time::Duration;

use bitswarm_dht::{Dht, DhtConfig, DhtHandle, NodeConfig};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

const PYTHON: &str = "/usr/bin/python3";

fn libtorrent_available() -> bool {
    std::process::Command::new(PYTHON)
        .args(["-c", "import libtorrent"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

async fn bind(bootstrap: Vec<String>) -> DhtHandle {
    let config = DhtConfig {
        node: NodeConfig {
            allow_local: true,
            queries_per_ip_per_sec: 100_000,
            query_burst_per_ip: 100_000,
            query_timeout: Duration::from_secs(2),
            ..NodeConfig::default()
        },
        bootstrap,
        ..DhtConfig::default()
    };
    Dht::bind("127.0.0.1:0".parse().unwrap(), config)
        .await
        .expect("bind")
}

fn free_port() -> u16 {
    // UDP and TCP on the same port; a short race with other tests is acceptable here.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    udp.local_addr().expect("addr").port()
}

fn spawn_lt(args: &[String]) -> Child {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/lt_dht.py");
    Command::new(PYTHON)
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn python3")
}

/// Reads the child's lines until one equals `want` (true) or it ends (false).
async fn wait_line(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    want: &str,
    limit: Duration,
) -> bool {
    tokio::time::timeout(limit, async {
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("libtorrent: {line}");
            if line == want {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libtorrent_and_bitswarm_find_each_others_peers() {
    if !libtorrent_available() {
        eprintln!(
            "skipped: {PYTHON} cannot import libtorrent (apt-get install python3-libtorrent)"
        );
        return;
    }
    let first = bind(Vec::new()).await;
    let entry = first.local_addr().to_string();
    let ours = vec![
        first,
        bind(vec![entry.clone()]).await,
        bind(vec![entry.clone()]).await,
    ];
    for n in &ours {
        let ok = tokio::time::timeout(Duration::from_secs(10), async {
            while n.routing_table_size().await.unwrap_or(0) < 2 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        assert!(ok.is_ok(), "our nodes know each other");
    }

    // 1. We announce; libtorrent looks the info-hash up through our nodes.
    let h1 = [0x11u8; 20];
    let mut announce = ours[1].announce(h1, 7777).await.expect("announce");
    tokio::time::timeout(Duration::from_secs(20), async {
        while announce.recv().await.is_some() {}
    })
    .await
    .expect("announce finished");
    let hex1: String = h1.iter().map(|b| format!("{b:02x}")).collect();
    let mut lt = spawn_lt(&[
        "--port".into(),
        free_port().to_string(),
        "--bootstrap".into(),
        entry.clone(),
        "--get-peers".into(),
        hex1,
        "--want-peer".into(),
        "127.0.0.1:7777".into(),
        "--timeout".into(),
        "40".into(),
    ]);
    let mut lines = BufReader::new(lt.stdout.take().expect("stdout")).lines();
    let found = wait_line(&mut lines, "peer 127.0.0.1:7777", Duration::from_secs(45)).await;
    let _ = lt.kill().await;
    assert!(found, "libtorrent found the peer announced in our DHT");

    // 2. libtorrent announces; we look the info-hash up.
    let h2 = [0x22u8; 20];
    let hex2: String = h2.iter().map(|b| format!("{b:02x}")).collect();
    let lt_port = free_port();
    let mut lt = spawn_lt(&[
        "--port".into(),
        lt_port.to_string(),
        "--bootstrap".into(),
        entry.clone(),
        "--announce".into(),
        hex2,
        "--timeout".into(),
        "60".into(),
    ]);
    let mut stdin = lt.stdin.take().expect("stdin");
    let mut lines = BufReader::new(lt.stdout.take().expect("stdout")).lines();
    assert!(
        wait_line(&mut lines, "announced", Duration::from_secs(45)).await,
        "libtorrent added the torrent"
    );
    // Keep reading (and echoing) libtorrent's output meanwhile.
    let echo =
        tokio::spawn(async move { wait_line(&mut lines, "done", Duration::from_secs(90)).await });
    let want = std::net::SocketAddr::from(([127, 0, 0, 1], lt_port));
    // libtorrent announces on its own schedule: look again until it shows up.
    let found = tokio::time::timeout(Duration::from_secs(40), async {
        loop {
            let mut peers = ours[2].get_peers(h2).await.expect("get_peers");
            while let Some(p) = peers.recv().await {
                if p == want {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
    .await
    .is_ok();
    let _ = stdin.write_all(b"quit\n").await;
    let _ = tokio::time::timeout(Duration::from_secs(5), lt.wait()).await;
    let _ = lt.kill().await;
    echo.abort();
    assert!(found, "we found the peer libtorrent announced");

    for n in ours {
        n.shutdown().await.expect("shutdown");
    }
}

//! Two sessions dialling each other at the same moment for a torrent: both sides must
//! keep the same one of the two connections (the one dialled by the lower peer id), so
//! exactly one survives and the transfer completes.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bitswarm_net::{AddTorrent, TorrentHandle};
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Two one-shot relays, to `a` and to `b`. Each accepts one connection and holds it
/// until both have one, then connects to its target and relays, the answers (target to
/// dialler) held back for a while during the first second: the two dials reach their
/// targets at the same moment, and on each side the accepted connection's handshake
/// completes before the dialled one's. Later dials are refused (the listeners are
/// closed), so a pair that loses both connections never recovers.
async fn simultaneous_relays(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    let la = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let lb = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addrs = (la.local_addr().unwrap(), lb.local_addr().unwrap());
    tokio::spawn(async move {
        let (ia, ib) = tokio::join!(la.accept(), lb.accept());
        let (ia, ib) = (ia.unwrap().0, ib.unwrap().0);
        drop((la, lb));
        let (oa, ob) = tokio::join!(TcpStream::connect(a), TcpStream::connect(b));
        relay(ia, oa.unwrap());
        relay(ib, ob.unwrap());
    });
    addrs
}

/// Copies both ways; target-to-dialler chunks wait 200 ms during the first second.
fn relay(dialler: TcpStream, target: TcpStream) {
    let (mut dr, mut dw) = dialler.into_split();
    let (mut tr, mut tw) = target.into_split();
    tokio::spawn(async move {
        let _ = tokio::io::copy(&mut dr, &mut tw).await;
        let _ = tw.shutdown().await;
    });
    tokio::spawn(async move {
        let start = tokio::time::Instant::now();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match tr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if start.elapsed() < Duration::from_secs(1) {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            if dw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = dw.shutdown().await;
    });
}

async fn one_peer_each(x: &TorrentHandle, y: &TorrentHandle) -> bool {
    let (sx, sy) = (x.stats(), y.stats());
    sx.peers == 1 && sy.peers == 1 && sx.peer_list[0].outgoing != sy.peer_list[0].outgoing
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_dials_keep_one_connection_on_both_sides() {
    logs();
    for round in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let len = 4 * 1024 * 1024;
        let (meta, data) = make_torrent(dir.path(), "sim.bin", &[("", len)], 64 * 1024, vec![]);
        // Paced, so the transfer is still running when the connections are checked.
        let seed = upload_limited(2 * 1024 * 1024).await;
        let sh = add_seed(&seed, &meta, &data).await;
        let leech = session().await;
        let lh = leech
            .add_torrent(AddTorrent::download(meta.clone(), dir.path().join("out")))
            .await
            .unwrap();
        let (to_seed, to_leech) = simultaneous_relays(addr_of(&seed), addr_of(&leech)).await;
        let (a, b) = tokio::join!(sh.add_peers(vec![to_leech]), lh.add_peers(vec![to_seed]));
        a.unwrap();
        b.unwrap();

        // Exactly one connection on each side, the same one (dialled by one side,
        // accepted by the other), and it stays.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !one_peer_each(&sh, &lh).await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "round {round}: seed {} peers, leecher {} peers",
                sh.stats().peers,
                lh.stats().peers
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(one_peer_each(&sh, &lh).await, "round {round}: not stable");

        let s = tokio::time::timeout(Duration::from_secs(30), lh.wait_complete())
            .await
            .unwrap_or_else(|_| panic!("round {round}: transfer stalled"))
            .unwrap();
        assert_eq!(s.have_bytes, len as u64);
        leech.shutdown().await;
        seed.shutdown().await;
        assert_same_tree(&data, &dir.path().join("out/sim.bin"));
    }
}

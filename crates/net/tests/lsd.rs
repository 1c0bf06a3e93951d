//! Local Service Discovery (BEP 14) in process, on the loopback interface: two sessions
//! that know no tracker, no peer address and no DHT find each other through the
//! multicast group and complete the download; hostile datagrams on the group change
//! nothing; a private torrent is not announced. Each test uses its own group port, so
//! tests running at once do not hear each other.

mod common;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::time::Duration;

use bitswarm_net::{AddTorrent, LsdSettings, Session, SessionConfig};
use bitswarm_wire::LsdAnnounce;
use common::*;

const TIMEOUT: Duration = Duration::from_secs(60);
const GROUP: Ipv4Addr = Ipv4Addr::new(239, 192, 152, 143);

/// A UDP port nobody uses now, for this test's group.
fn group_port() -> u16 {
    let s = UdpSocket::bind("0.0.0.0:0").unwrap();
    s.local_addr().unwrap().port()
}

fn settings(port: u16) -> LsdSettings {
    LsdSettings {
        group: SocketAddrV4::new(GROUP, port),
        interface: Ipv4Addr::LOCALHOST,
    }
}

async fn lsd_session(port: u16) -> Session {
    Session::new(SessionConfig {
        lsd: Some(settings(port)),
        ..config()
    })
    .await
    .unwrap()
}

/// A socket sending to the group through the loopback interface.
fn sender() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sock = socket2::SockRef::from(&s);
    sock.set_multicast_if_v4(&Ipv4Addr::LOCALHOST).unwrap();
    sock.set_multicast_loop_v4(true).unwrap();
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_without_tracker_or_peers_find_each_other_by_lsd() {
    logs();
    let port = group_port();
    let dir = tempfile::tempdir().unwrap();
    let (meta, data) = make_torrent(dir.path(), "l.bin", &[("", 2_000_000)], 32 * 1024, vec![]);
    let seed = lsd_session(port).await;
    seed.add_torrent(AddTorrent::seed(meta.clone(), &data))
        .await
        .unwrap();

    // Noise on the group first: garbage, an announce for a swarm nobody serves, an
    // oversized datagram. None of it may stop the sessions from hearing real announces.
    let noise = sender();
    let to = SocketAddr::from((GROUP, port));
    for i in 0..200u32 {
        let _ = noise.send_to(&i.to_le_bytes().repeat(i as usize % 50), to);
    }
    let stranger = LsdAnnounce {
        port: 9,
        info_hashes: vec![[0x5a; 20]],
        cookie: None,
    };
    let _ = noise.send_to(&stranger.encode("x"), to);
    let _ = noise.send_to(&[b'B'; 4000], to);

    let leech = lsd_session(port).await;
    let out = dir.path().join("out");
    let h = leech
        .add_torrent(AddTorrent::download(meta.clone(), &out))
        .await
        .unwrap();
    completed(&h, TIMEOUT).await;
    assert_same_tree(&data, &out.join("l.bin"));
    let peers = h.stats().peer_list;
    assert!(
        peers.iter().all(|p| p.addr.port() != 9),
        "dialled the stranger's announce for another swarm: {peers:?}"
    );
    leech.shutdown().await;
    seed.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_torrent_is_not_announced() {
    logs();
    let port = group_port();
    // Listen on the group ourselves (sharing the port, as LSD clients do): an announce
    // of any torrent would arrive here.
    let sock = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )
    .unwrap();
    sock.set_reuse_address(true).unwrap();
    sock.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)).into())
        .unwrap();
    sock.join_multicast_v4(&GROUP, &Ipv4Addr::LOCALHOST)
        .unwrap();
    let listener: UdpSocket = sock.into();
    listener
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (public, public_data) =
        make_torrent(dir.path(), "pub.bin", &[("", 100_000)], 32 * 1024, vec![]);
    let (private, private_data) = private_torrent(dir.path(), "priv.bin", 100_000);
    let s = lsd_session(port).await;
    s.add_torrent(AddTorrent::seed(private.clone(), &private_data))
        .await
        .unwrap();
    // The public torrent is added after the private one, so once its announce is heard,
    // any announce of the private one would have been sent already.
    s.add_torrent(AddTorrent::seed(public.clone(), &public_data))
        .await
        .unwrap();
    let mut heard = Vec::new();
    let deadline = std::time::Instant::now() + TIMEOUT;
    let mut buf = [0u8; 2048];
    while std::time::Instant::now() < deadline {
        if let Ok((n, _)) = listener.recv_from(&mut buf) {
            if let Ok(a) = LsdAnnounce::parse(&buf[..n]) {
                heard.extend(a.info_hashes);
                if heard.contains(&public.info_hash().0) {
                    break;
                }
            }
        }
    }
    assert!(
        heard.contains(&public.info_hash().0),
        "the public torrent was never announced"
    );
    assert!(
        !heard.contains(&private.info_hash().0),
        "the private torrent was announced"
    );
    s.shutdown().await;
}

//! Property tests: for every UDP packet type, write then parse is the identity; and
//! parsing arbitrary bytes never panics.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use proptest::prelude::*;

use crate::registry::Event;
use crate::types::{InfoHash, PeerId};
use crate::udp_codec::*;

fn hash() -> impl Strategy<Value = InfoHash> {
    any::<[u8; 20]>().prop_map(InfoHash)
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        Just(Event::None),
        Just(Event::Completed),
        Just(Event::Started),
        Just(Event::Stopped)
    ]
}

fn announce() -> impl Strategy<Value = UdpAnnounce> {
    (
        (any::<u64>(), any::<u32>(), hash(), any::<[u8; 20]>()),
        (any::<u64>(), any::<u64>(), any::<u64>(), event()),
        (any::<u32>(), any::<u32>(), any::<i32>(), any::<u16>()),
    )
        .prop_map(
            |((c, t, h, p), (d, l, u, e), (ip, key, n, port))| UdpAnnounce {
                connection_id: c,
                transaction_id: t,
                info_hash: h,
                peer_id: PeerId(p),
                downloaded: d,
                left: l,
                uploaded: u,
                event: e,
                ip,
                key,
                num_want: n,
                port,
            },
        )
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        any::<u32>().prop_map(|t| Request::Connect { transaction_id: t }),
        announce().prop_map(Request::Announce),
        (
            any::<u64>(),
            any::<u32>(),
            prop::collection::vec(hash(), 1..=MAX_SCRAPE_HASHES)
        )
            .prop_map(|(c, t, h)| Request::Scrape {
                connection_id: c,
                transaction_id: t,
                info_hashes: h
            }),
    ]
}

fn v4_peer() -> impl Strategy<Value = SocketAddr> {
    (any::<[u8; 4]>(), any::<u16>())
        .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port))
}

fn v6_peer() -> impl Strategy<Value = SocketAddr> {
    (any::<[u8; 16]>(), any::<u16>())
        .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port))
}

fn announce_response(peer: BoxedStrategy<SocketAddr>) -> impl Strategy<Value = Response> {
    (any::<[u32; 4]>(), prop::collection::vec(peer, 0..100)).prop_map(|(n, peers)| {
        Response::Announce {
            transaction_id: n[0],
            interval: n[1],
            leechers: n[2],
            seeders: n[3],
            peers,
        }
    })
}

fn response() -> impl Strategy<Value = (Response, bool)> {
    prop_oneof![
        (any::<u32>(), any::<u64>()).prop_map(|(t, c)| (
            Response::Connect {
                transaction_id: t,
                connection_id: c
            },
            false
        )),
        announce_response(v4_peer().boxed()).prop_map(|r| (r, false)),
        announce_response(v6_peer().boxed()).prop_map(|r| (r, true)),
        (
            any::<u32>(),
            prop::collection::vec(any::<(u32, u32, u32)>(), 0..=MAX_SCRAPE_HASHES)
        )
            .prop_map(|(t, counts)| (
                Response::Scrape {
                    transaction_id: t,
                    counts
                },
                false
            )),
        (any::<u32>(), ".{0,100}").prop_map(|(t, message)| (
            Response::Error {
                transaction_id: t,
                message
            },
            false
        )),
    ]
}

proptest! {
    #[test]
    fn request_write_parse_is_identity(req in request()) {
        let mut buf = Vec::new();
        req.write(&mut buf);
        prop_assert_eq!(Request::parse(&buf), Ok(req));
    }

    #[test]
    fn response_write_parse_is_identity((resp, v6) in response()) {
        let mut buf = Vec::new();
        resp.write(&mut buf);
        prop_assert_eq!(Response::parse(&buf, v6), Ok(resp));
    }

    #[test]
    fn parsing_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        let _ = Request::parse(&bytes);
        let _ = Response::parse(&bytes, false);
        let _ = Response::parse(&bytes, true);
    }
}

#[test]
fn short_and_unknown_packets_are_dropped_not_answered() {
    assert_eq!(Request::parse(&[0; 15]).unwrap_err().reply_to(), None);
    let mut unknown = Vec::new();
    unknown.extend_from_slice(&1u64.to_be_bytes());
    unknown.extend_from_slice(&9u32.to_be_bytes());
    unknown.extend_from_slice(&5u32.to_be_bytes());
    assert_eq!(Request::parse(&unknown).unwrap_err().reply_to(), None);
    let mut bad_connect = unknown.clone();
    bad_connect[8..12].copy_from_slice(&0u32.to_be_bytes());
    assert_eq!(
        Request::parse(&bad_connect),
        Err(RequestParseError::BadProtocolId)
    );
    let mut short_announce = unknown;
    short_announce[8..12].copy_from_slice(&1u32.to_be_bytes());
    assert_eq!(
        Request::parse(&short_announce).unwrap_err().reply_to(),
        Some(5)
    );
}

#[test]
fn scrape_is_capped_at_74_hashes() {
    let req = Request::Scrape {
        connection_id: 1,
        transaction_id: 2,
        info_hashes: vec![InfoHash([3; 20]); 100],
    };
    let mut buf = Vec::new();
    req.write(&mut buf);
    match Request::parse(&buf) {
        Ok(Request::Scrape { info_hashes, .. }) => assert_eq!(info_hashes.len(), MAX_SCRAPE_HASHES),
        other => panic!("unexpected {other:?}"),
    }
}

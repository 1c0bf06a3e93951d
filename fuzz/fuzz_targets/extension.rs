//! Extension messages (BEP 10 handshake, BEP 9 `ut_metadata`, BEP 11 `ut_pex`) from a
//! peer: decoding never panics, a decoded message encodes to a payload that decodes to
//! the same message, and a decoded PEX message fed to `PexState` yields only usable,
//! bounded addresses. Also the LSD announce (BEP 14, a UDP datagram anyone on the LAN
//! can send): parsing never panics, a parsed announce re-encodes to itself, and
//! `LsdState` takes peers only for torrents it serves. The first byte picks the parser,
//! the rest is the payload.
#![no_main]

use std::time::{Duration, Instant};

use bitswarm_engine::pex::{usable, MAX_TAKEN_PER_MESSAGE};
use bitswarm_engine::{LsdReceived, LsdState, PexState};
use bitswarm_wire::{ExtensionHandshake, LsdAnnounce, MetadataMessage, PexMessage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, payload)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(h) = ExtensionHandshake::decode(payload) {
                let again = ExtensionHandshake::decode(&h.encode()).expect("re-decodes");
                assert_eq!(again, h);
            }
        }
        1 => {
            let payload = bytes::Bytes::copy_from_slice(payload);
            if let Ok(m) = MetadataMessage::decode(&payload) {
                let again =
                    MetadataMessage::decode(&bytes::Bytes::from(m.encode())).expect("re-decodes");
                assert_eq!(again, m);
            }
        }
        3 => {
            if let Ok(a) = LsdAnnounce::parse(payload) {
                let again = LsdAnnounce::parse(&a.encode("239.192.152.143:6771"));
                assert_eq!(again.as_ref(), Ok(&a));
            }
            let mut state = LsdState::new(6881, "fuzz".into());
            let served = [0x11u8; 20];
            let t0 = Instant::now();
            state.add(served, t0);
            let from = std::net::SocketAddr::from(([10, 0, 0, 2], 6771));
            if let LsdReceived::Peers(p) = state.on_datagram(from, payload, t0) {
                assert!(p.iter().all(|(h, a)| *h == served && a.port() != 0));
            }
        }
        _ => {
            if let Ok(m) = PexMessage::decode(payload) {
                let again = PexMessage::decode(&m.encode()).expect("re-decodes");
                assert_eq!(again, m);
                let mut state = PexState::new();
                let t0 = Instant::now();
                let own = |a: &std::net::SocketAddr| a.port() == 6881;
                for round in 0..3u32 {
                    let got = state.on_receive(&m, t0 + Duration::from_secs(60) * round, &own);
                    assert!(got.len() <= MAX_TAKEN_PER_MESSAGE);
                    assert!(got.iter().all(|a| usable(a) && !own(a)));
                }
            }
        }
    }
});

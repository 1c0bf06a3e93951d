//! Decoding a KRPC packet (DHT, BEP 5) never panics, and a decoded message encodes to a
//! packet that decodes to the same message.
#![no_main]

use bitswarm_dht::krpc::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::decode(data) {
        let again = Message::decode(&m.encode()).expect("encoded message must decode");
        assert_eq!(again, m);
    }
});

//! Decoding never panics; whatever decodes re-encodes to something that decodes to the
//! same value, and canonical input re-encodes byte for byte.
#![no_main]

use bitswarm_bencode::{decode, Decoder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = decode(data) {
        let re = v.encode();
        let again = decode(&re).expect("canonical re-encoding must decode");
        assert_eq!(again.to_owned_value(), v.to_owned_value());
        assert_eq!(again.encode(), re);
        if Decoder::new().strict(true).decode(data).is_ok() {
            assert_eq!(re, data);
        }
    }
});

//! Parsing a magnet link never panics, and printing then parsing gives the same link.
#![no_main]

use bitswarm_proto::Magnet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(m) = Magnet::parse(s) {
            let again = Magnet::parse(&m.to_string()).expect("printed magnet must parse");
            assert_eq!(again, m);
        }
    }
});

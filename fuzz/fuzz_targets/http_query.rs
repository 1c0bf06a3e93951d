//! Fuzz target: the HTTP request head parser and the announce/scrape query parsers.
//!
//! Checks: no panic on any input; a parsed announce re-encoded by the client codec parses
//! back to the same value.
#![no_main]

use bitswarm_tracker::http_client_codec::{announce_target, scrape_target};
use bitswarm_tracker::http_parse::parse_request;
use bitswarm_tracker::http_query::{parse_announce, parse_scrape};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((req, used))) = parse_request(data, 8192) {
        assert!(used <= data.len());
        let _ = parse_announce(req.query);
        let _ = parse_scrape(req.query, 74);
    }
    if let Ok(a) = parse_announce(data) {
        let target = announce_target(&a);
        let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
        assert_eq!(parse_announce(query.as_bytes()), Ok(a));
    }
    if let Ok(hashes) = parse_scrape(data, 74) {
        let target = scrape_target(&hashes);
        let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
        assert_eq!(parse_scrape(query.as_bytes(), 74), Ok(hashes));
    }
});

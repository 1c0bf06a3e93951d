//! Parsing a .torrent never panics, and a parsed torrent's geometry is consistent.
#![no_main]

use bitswarm_proto::Metainfo;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Metainfo::from_bytes(data) {
        let g = m.geometry();
        assert_eq!(g.piece_count() as usize, m.info().pieces().len());
        for p in [0, g.piece_count().saturating_sub(1)] {
            let slices = m.info().layout().piece_slices(p);
            let sum: u64 = slices.iter().map(|s| s.length).sum();
            assert_eq!(sum, u64::from(g.piece_size(p).unwrap_or(0)));
        }
        for f in m.files() {
            assert!(f
                .path
                .iter()
                .all(|c| !c.is_empty() && c != ".." && !c.contains('/')));
        }
        let _ = m.to_magnet().to_string();
    }
});

//! Reading a `.torrent` from disk with a size cap, so a hostile path (a huge file, a
//! device) cannot exhaust memory before parsing even starts.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context};
use bitswarm_proto::Metainfo;

/// Largest `.torrent` accepted (real ones are kilobytes to a few megabytes).
pub const MAX_TORRENT_FILE: u64 = 64 * 1024 * 1024;

/// Read and parse a `.torrent`; errors name the file and the problem on one line.
pub fn load(path: &Path) -> anyhow::Result<Metainfo> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_TORRENT_FILE + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() as u64 > MAX_TORRENT_FILE {
        bail!(
            "{}: larger than {MAX_TORRENT_FILE} bytes, not a torrent file",
            path.display()
        );
    }
    Metainfo::from_bytes(&bytes).with_context(|| path.display().to_string())
}

//! `bitswarm create`: make a `.torrent` from a file or a folder, with the same info-hash
//! as mktorrent for the same content and options.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use bitswarm_proto::{auto_piece_length, Layout, TorrentSpec};

use crate::hashing::{hash_pieces, PieceHash, Source};
use crate::progress::bytes_bar;
use crate::walk::{scan, torrent_name, Input};

/// Smallest piece length `--piece-length` accepts.
const MIN_PIECE_LENGTH: u64 = 16 * 1024;
/// Largest piece length `--piece-length` accepts.
const MAX_PIECE_LENGTH: u64 = 256 * 1024 * 1024;

/// Arguments of `bitswarm create`.
#[derive(clap::Args, Debug)]
pub struct CreateArgs {
    /// File or folder to share.
    pub path: PathBuf,
    /// Where to write the .torrent.
    #[arg(short = 'o', long = "output", value_name = "OUT.torrent")]
    pub output: PathBuf,
    /// Tracker announce URL; repeat for more (the first is `announce`, each one its own
    /// tier in `announce-list`).
    #[arg(
        short = 't',
        short_alias = 'a',
        long = "tracker",
        alias = "announce",
        value_name = "URL"
    )]
    pub trackers: Vec<String>,
    /// Piece length in bytes (a power of two from 16 KiB to 256 MiB; suffixes K and M
    /// allowed, e.g. 256K), or `auto` for about 1000-2000 pieces.
    #[arg(
        short = 'l',
        long = "piece-length",
        value_name = "BYTES|auto",
        default_value = "auto"
    )]
    pub piece_length: String,
    /// Mark the torrent private (BEP 27): peers only from its trackers.
    #[arg(short = 'p', long)]
    pub private: bool,
    /// Free-text comment.
    #[arg(short = 'c', long, value_name = "TEXT")]
    pub comment: Option<String>,
    /// Source tag stored inside `info` (changes the info-hash; private trackers use it).
    #[arg(short = 's', long, value_name = "TEXT")]
    pub source: Option<String>,
    /// Do not write the creation date.
    #[arg(short = 'd', long)]
    pub no_date: bool,
    /// Web seed URL (BEP 19); repeat for more.
    #[arg(short = 'w', long = "web-seed", value_name = "URL")]
    pub web_seeds: Vec<String>,
}

/// `auto`, or a power of two with an optional K/M (KiB/MiB) suffix.
fn parse_piece_length(s: &str, total: u64) -> anyhow::Result<u32> {
    if s.eq_ignore_ascii_case("auto") {
        return Ok(auto_piece_length(total));
    }
    let upper = s.to_ascii_uppercase();
    let trimmed = upper.trim_end_matches("IB").trim_end_matches('B');
    let (digits, unit) = match trimmed.chars().last() {
        Some('K') => (&trimmed[..trimmed.len() - 1], 1024),
        Some('M') => (&trimmed[..trimmed.len() - 1], 1024 * 1024),
        _ => (trimmed, 1),
    };
    let n = digits
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .with_context(|| {
            format!("invalid piece length {s:?}: give bytes (e.g. 262144 or 256K) or 'auto'")
        })?;
    if !n.is_power_of_two() || !(MIN_PIECE_LENGTH..=MAX_PIECE_LENGTH).contains(&n) {
        bail!("invalid piece length {s:?}: must be a power of two from 16K to 256M");
    }
    Ok(n as u32)
}

/// Run `bitswarm create`.
pub fn run(args: CreateArgs) -> anyhow::Result<ExitCode> {
    let name = torrent_name(&args.path)?;
    let input = scan(&args.path)?;
    let (sources, lengths, files) = match &input {
        Input::File(len) => (vec![Source::open(&args.path)?], vec![*len], Vec::new()),
        Input::Folder(found) => {
            let mut sources = Vec::with_capacity(found.len());
            for f in found {
                sources.push(Source::open(&f.path)?);
            }
            let lengths = found.iter().map(|f| f.length).collect();
            let files = found.iter().map(|f| (f.rel.clone(), f.length)).collect();
            (sources, lengths, files)
        }
    };
    let total: u64 = lengths.iter().sum();
    if total == 0 {
        bail!(
            "{} holds no data (a torrent needs at least one byte)",
            args.path.display()
        );
    }
    let piece_length = parse_piece_length(&args.piece_length, total)?;
    let layout = Layout::new(&lengths, piece_length).context("input is too large")?;

    let bar = bytes_bar(total, "hashing");
    let hashes = hash_pieces(&layout, &sources, &bar)?;
    bar.finish_and_clear();
    let pieces = hashes
        .into_iter()
        .map(|h| match h {
            PieceHash::Hash(h) => Ok(h),
            PieceHash::Missing => bail!(
                "a file under {} changed while it was hashed",
                args.path.display()
            ),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;

    let creation_date = match args.no_date {
        true => None,
        false => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_secs()).ok()),
    };
    let spec = TorrentSpec {
        name,
        single_length: matches!(input, Input::File(_)).then_some(total),
        files,
        piece_length,
        pieces,
        private: args.private,
        source: args.source,
        trackers: args.trackers,
        web_seeds: args.web_seeds,
        comment: args.comment,
        created_by: Some(format!("bitswarm {}", env!("CARGO_PKG_VERSION"))),
        creation_date,
    };
    let (bytes, meta) = spec.build().context("cannot build the torrent")?;
    std::fs::write(&args.output, &bytes)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    println!("created {}", args.output.display());
    println!("info-hash: {}", meta.info_hash());
    println!(
        "{} file(s), {} bytes, {} pieces of {} bytes",
        meta.files().len(),
        total,
        meta.geometry().piece_count(),
        piece_length
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::parse_piece_length;

    #[test]
    fn piece_length_forms() {
        assert_eq!(parse_piece_length("262144", 0).unwrap(), 262144);
        assert_eq!(parse_piece_length("256K", 0).unwrap(), 262144);
        assert_eq!(parse_piece_length("1MiB", 0).unwrap(), 1 << 20);
        assert_eq!(parse_piece_length("auto", 1 << 30).unwrap(), 1 << 20);
        assert!(parse_piece_length("1000", 0).is_err());
        assert!(parse_piece_length("8K", 0).is_err());
        assert!(parse_piece_length("x", 0).is_err());
    }
}

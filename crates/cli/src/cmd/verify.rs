//! `bitswarm verify`: hash data on disk against a `.torrent`, piece by piece, and report
//! good, bad and missing pieces and files. Exit 1 when any piece is not good.

use std::path::PathBuf;
use std::process::ExitCode;

use bitswarm_proto::Metainfo;
use serde_json::json;

use crate::hashing::{hash_pieces, PieceHash, Source};
use crate::progress::bytes_bar;

/// Arguments of `bitswarm verify`.
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The .torrent file.
    pub torrent: PathBuf,
    /// The data: the file (single-file torrent) or the folder (what `create` was given).
    pub path: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// State of one piece after hashing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PieceState {
    Good,
    Bad,
    Missing,
}

/// State of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FileState {
    Ok,
    Missing,
    WrongSize(u64),
    Bad { bad: u32, missing: u32 },
}

impl FileState {
    fn label(&self) -> &'static str {
        match self {
            FileState::Ok => "ok",
            FileState::Missing => "missing",
            FileState::WrongSize(_) => "wrong size",
            FileState::Bad { .. } => "bad",
        }
    }
}

/// `1-3, 7, 9-10`.
fn ranges(indices: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < indices.len() {
        let start = indices[i];
        let mut end = start;
        while i + 1 < indices.len() && indices[i + 1] == end + 1 {
            i += 1;
            end += 1;
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    out.join(", ")
}

/// Run `bitswarm verify`.
pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let meta = crate::torrent_file::load(&args.torrent)?;
    let info = meta.info();
    let mut sources = Vec::with_capacity(info.files().len());
    for f in info.files() {
        sources.push(match (f.padding, info.is_single_file()) {
            (true, _) => Source::Zeros,
            (false, true) => Source::open(&args.path)?,
            (false, false) => {
                Source::open(&f.path.iter().fold(args.path.clone(), |p, c| p.join(c)))?
            }
        });
    }
    let bar = bytes_bar(meta.geometry().total_length(), "verifying");
    let hashes = hash_pieces(info.layout(), &sources, &bar)?;
    bar.finish_and_clear();
    let states: Vec<PieceState> = hashes
        .iter()
        .zip(info.pieces())
        .map(|(h, want)| match h {
            PieceHash::Hash(got) if got == want => PieceState::Good,
            PieceHash::Hash(_) => PieceState::Bad,
            PieceHash::Missing => PieceState::Missing,
        })
        .collect();
    let file_states = file_states(&meta, &sources, &states);
    let pick = |s: PieceState| -> Vec<u32> {
        (0u32..)
            .zip(&states)
            .filter(|(_, st)| **st == s)
            .map(|(i, _)| i)
            .collect()
    };
    let (good, bad, missing) = (
        pick(PieceState::Good),
        pick(PieceState::Bad),
        pick(PieceState::Missing),
    );
    let all_good = bad.is_empty() && missing.is_empty();

    if args.json {
        let files: Vec<_> = file_states
            .iter()
            .map(|(path, st)| {
                let mut v = json!({"path": path, "state": st.label()});
                match st {
                    FileState::WrongSize(n) => v["size_on_disk"] = json!(n),
                    FileState::Bad { bad, missing } => {
                        v["bad_pieces"] = json!(bad);
                        v["missing_pieces"] = json!(missing);
                    }
                    _ => {}
                }
                v
            })
            .collect();
        let out = json!({
            "info_hash": meta.info_hash().to_string(),
            "ok": all_good,
            "pieces": {"total": states.len(), "good": good.len(), "bad": bad, "missing": missing},
            "files": files,
        });
        println!("{out}");
    } else {
        println!("torrent {} ({})", info.name(), meta.info_hash());
        println!(
            "pieces: {} good, {} bad, {} missing, of {}",
            good.len(),
            bad.len(),
            missing.len(),
            states.len()
        );
        if !bad.is_empty() {
            println!("bad pieces: {}", ranges(&bad));
        }
        if !missing.is_empty() {
            println!("missing pieces: {}", ranges(&missing));
        }
        let ok_files = file_states
            .iter()
            .filter(|(_, s)| *s == FileState::Ok)
            .count();
        println!(
            "files: {} ok, {} with problems",
            ok_files,
            file_states.len() - ok_files
        );
        for (path, st) in file_states.iter().filter(|(_, s)| *s != FileState::Ok) {
            let detail = match st {
                FileState::WrongSize(n) => format!(" (size on disk {n})"),
                FileState::Bad { bad, missing } => {
                    format!(" ({bad} bad, {missing} missing pieces)")
                }
                _ => String::new(),
            };
            println!("  {:<10} {}{}", st.label(), path, detail);
        }
        println!(
            "{}",
            if all_good {
                "all pieces good"
            } else {
                "verification FAILED"
            }
        );
    }
    Ok(if all_good {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Per real file: missing on disk, wrong size, touched by bad/missing pieces, or ok.
fn file_states(
    meta: &Metainfo,
    sources: &[Source],
    states: &[PieceState],
) -> Vec<(String, FileState)> {
    let layout = meta.info().layout();
    meta.files()
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.padding)
        .map(|(i, f)| {
            let path = f.path.join("/");
            let state = match &sources[i] {
                Source::Absent => FileState::Missing,
                Source::File { disk_len, .. } if *disk_len != f.length => {
                    FileState::WrongSize(*disk_len)
                }
                _ => {
                    let range = layout.file_pieces(i);
                    let touched = &states[range.start as usize..range.end as usize];
                    let bad = touched.iter().filter(|s| **s == PieceState::Bad).count() as u32;
                    let missing = touched
                        .iter()
                        .filter(|s| **s == PieceState::Missing)
                        .count() as u32;
                    match bad + missing {
                        0 => FileState::Ok,
                        _ => FileState::Bad { bad, missing },
                    }
                }
            };
            (path, state)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ranges_compress() {
        assert_eq!(super::ranges(&[1, 2, 3, 7, 9, 10]), "1-3, 7, 9-10");
        assert_eq!(super::ranges(&[]), "");
    }
}

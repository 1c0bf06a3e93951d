//! Listing the files of a `create` input the way mktorrent does: every regular file
//! (hidden ones included, symlinks followed), sorted by full path in byte order
//! (mktorrent inserts paths with `strcmp`), so both tools hash the same byte stream.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// Nested folders deeper than this are refused (it is almost surely a symlink loop).
const MAX_DEPTH: usize = 64;

/// One file found under the input folder.
#[derive(Debug, Clone)]
pub struct FoundFile {
    /// Path components below the input folder.
    pub rel: Vec<String>,
    /// Where it is on disk.
    pub path: PathBuf,
    /// Size in bytes.
    pub length: u64,
}

/// What `create` was given.
#[derive(Debug, Clone)]
pub enum Input {
    /// A single file of this many bytes.
    File(u64),
    /// A folder and its files, in mktorrent order.
    Folder(Vec<FoundFile>),
}

/// Name of the torrent for an input path: its last component (after resolving `.`).
pub fn torrent_name(path: &Path) -> anyhow::Result<String> {
    let resolved;
    let named = match path.file_name() {
        Some(_) => path,
        None => {
            resolved = fs::canonicalize(path)
                .with_context(|| format!("cannot resolve {}", path.display()))?;
            &resolved
        }
    };
    let name = named
        .file_name()
        .with_context(|| format!("{} has no file name to use as torrent name", path.display()))?;
    match name.to_str() {
        Some(s) => Ok(s.to_owned()),
        None => bail!("name of {} is not valid UTF-8", path.display()),
    }
}

/// Look at `path`: a file, or a folder whose files are listed recursively.
pub fn scan(path: &Path) -> anyhow::Result<Input> {
    let meta = fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.is_file() {
        return Ok(Input::File(meta.len()));
    }
    if !meta.is_dir() {
        bail!("{} is neither a file nor a folder", path.display());
    }
    let mut files = Vec::new();
    walk(path, &mut Vec::new(), &mut files)?;
    files.sort_by_cached_key(|f| f.rel.join("/"));
    Ok(Input::Folder(files))
}

fn walk(dir: &Path, rel: &mut Vec<String>, out: &mut Vec<FoundFile>) -> anyhow::Result<()> {
    if rel.len() > MAX_DEPTH {
        bail!("{} is nested too deeply (a symlink loop?)", dir.display());
    }
    let entries = fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            bail!("file name {} is not valid UTF-8", path.display());
        };
        // Follow symlinks, as mktorrent does; skip sockets, fifos and devices.
        let meta =
            fs::metadata(&path).with_context(|| format!("cannot read {}", path.display()))?;
        rel.push(name);
        if meta.is_dir() {
            walk(&path, rel, out)?;
        } else if meta.is_file() {
            out.push(FoundFile {
                rel: rel.clone(),
                path,
                length: meta.len(),
            });
        }
        rel.pop();
    }
    Ok(())
}

//! The info-hash whitelist of a private tracker: a text file of 40-digit hex info-hashes,
//! one a line; `#` starts a comment; blank lines are ignored.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::types::InfoHash;

/// Why a whitelist could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum WhitelistError {
    /// The file could not be read.
    #[error("cannot read whitelist {path}: {error}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        error: std::io::Error,
    },
    /// A line is not an info-hash.
    #[error("whitelist {path}, line {line}: expected 40 hex digits")]
    BadLine {
        /// File.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
}

/// Parses whitelist text; on error returns the 1-based number of the bad line.
pub fn parse_whitelist(text: &str) -> Result<HashSet<InfoHash>, usize> {
    let mut set = HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let content = line.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let hash = InfoHash::from_hex(content).map_err(|_| n + 1)?;
        set.insert(hash);
    }
    Ok(set)
}

/// Reads and parses a whitelist file.
pub fn load_whitelist(path: &Path) -> Result<HashSet<InfoHash>, WhitelistError> {
    let text = std::fs::read_to_string(path).map_err(|error| WhitelistError::Io {
        path: path.to_owned(),
        error,
    })?;
    parse_whitelist(&text).map_err(|line| WhitelistError::BadLine {
        path: path.to_owned(),
        line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_blank_lines_and_case() {
        let text = format!(
            "# private\n\n{}  # one\n{}\n",
            "AB".repeat(20),
            "01".repeat(20)
        );
        let set = parse_whitelist(&text).unwrap();
        assert!(set.contains(&InfoHash([0xab; 20])));
        assert!(set.contains(&InfoHash([1; 20])));
        assert_eq!(parse_whitelist("abc\n"), Err(1));
        assert_eq!(parse_whitelist("# x\nzz\n"), Err(2));
    }
}

//! The `in<R>.txt` parser: what client R owns (names and hashes) and wants.
//!
//! Format (the course's): the number of owned files; for each, `<name> <segment count>`
//! then that many 32-character hex hashes, one per line; then the number of wanted files
//! and one name per line. Blank lines are ignored (so a final newline, or none, is fine).
//! Limits: at most [`MAX_FILES`] owned and [`MAX_FILES`] wanted files, names of at most
//! [`MAX_NAME_LEN`] characters, 1 to [`MAX_SEGMENTS`] segments per file; names are unique
//! within a client, and a client does not want a file it owns.

use std::path::Path;

use bitswarm_cluster::Rank;

use super::hash::SegmentHash;
use super::message::OwnedFile;

/// At most this many owned files, and this many wanted files, per client.
pub const MAX_FILES: usize = 10;
/// At most this many characters in a file name.
pub const MAX_NAME_LEN: usize = 15;
/// At most this many segments per file.
pub const MAX_SEGMENTS: usize = 100;

/// An owned file and the line of its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedEntry {
    /// Name and hashes.
    pub file: OwnedFile,
    /// 1-based line of `<name> <count>`.
    pub line: usize,
}

/// A wanted file name and its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedEntry {
    /// File name.
    pub name: String,
    /// 1-based line.
    pub line: usize,
}

/// One client's in-file, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInput {
    /// The client's rank (R of `in<R>.txt`).
    pub rank: Rank,
    /// Files it owns completely.
    pub owned: Vec<OwnedEntry>,
    /// Files it wants, in the order listed.
    pub wanted: Vec<WantedEntry>,
}

/// Why an in-file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be read (missing, unreadable).
    #[error("{file}: cannot read it (client rank {rank} needs it)")]
    Read {
        /// `in<R>.txt`.
        file: String,
        /// The client rank.
        rank: Rank,
        /// The OS error.
        source: std::io::Error,
    },
    /// The content is wrong at a line.
    #[error("{file}:{line}: {what}")]
    Malformed {
        /// `in<R>.txt`.
        file: String,
        /// 1-based line.
        line: usize,
        /// What is wrong there.
        what: String,
    },
}

/// The in-file name of client `rank`.
pub fn in_file_name(rank: Rank) -> String {
    format!("in{rank}.txt")
}

/// The output file name of client `rank` for `file`.
pub fn out_file_name(rank: Rank, file: &str) -> String {
    format!("client{rank}_{file}")
}

/// Read and parse `dir/in<rank>.txt`.
pub fn read_client_input(dir: &Path, rank: Rank) -> Result<ClientInput, InputError> {
    let file = in_file_name(rank);
    let bytes = std::fs::read(dir.join(&file)).map_err(|source| InputError::Read {
        file: file.clone(),
        rank,
        source,
    })?;
    parse_client_input(&file, rank, &bytes)
}

/// Lines with their numbers, blank ones skipped.
struct Lines<'a> {
    file: &'a str,
    lines: Vec<(usize, &'a str)>,
    next: usize,
    /// The last non-blank line (where "unexpected end of file" is reported).
    last_line: usize,
}

impl<'a> Lines<'a> {
    fn new(file: &'a str, bytes: &'a [u8]) -> Result<Self, InputError> {
        let mut lines = Vec::new();
        let mut last_line = 0;
        for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
            let text = std::str::from_utf8(raw).map_err(|_| InputError::Malformed {
                file: file.to_owned(),
                line: i + 1,
                what: "not UTF-8 text".into(),
            })?;
            let text = text.trim();
            if !text.is_empty() {
                last_line = i + 1;
                lines.push((i + 1, text));
            }
        }
        Ok(Lines {
            file,
            lines,
            next: 0,
            last_line,
        })
    }

    fn error(&self, line: usize, what: impl Into<String>) -> InputError {
        InputError::Malformed {
            file: self.file.to_owned(),
            line,
            what: what.into(),
        }
    }

    fn next(&mut self, expected: &str) -> Result<(usize, &'a str), InputError> {
        match self.lines.get(self.next) {
            Some(&l) => {
                self.next += 1;
                Ok(l)
            }
            None => Err(self.error(
                self.last_line.max(1),
                format!("unexpected end of file, expected {expected}"),
            )),
        }
    }

    fn count(&mut self, what: &str, max: usize) -> Result<(usize, usize), InputError> {
        let expected = format!("the number of {what} (0 to {max})");
        let (line, text) = self.next(&expected)?;
        match text.parse::<usize>() {
            Ok(n) if n <= max => Ok((line, n)),
            Ok(n) => Err(self.error(line, format!("{n} {what}, at most {max} allowed"))),
            Err(_) => Err(self.error(line, format!("expected {expected}, found '{text}'"))),
        }
    }

    fn name(&self, line: usize, name: &str) -> Result<String, InputError> {
        if name.chars().count() > MAX_NAME_LEN {
            return Err(self.error(
                line,
                format!("file name '{name}' is longer than {MAX_NAME_LEN} characters"),
            ));
        }
        if name.contains('/') || name == "." || name == ".." {
            return Err(self.error(line, format!("file name '{name}' is not a plain name")));
        }
        Ok(name.to_owned())
    }
}

/// Parse the content of one in-file; `file` is its name for error messages.
pub fn parse_client_input(file: &str, rank: Rank, bytes: &[u8]) -> Result<ClientInput, InputError> {
    let mut lines = Lines::new(file, bytes)?;
    let (_, owned_count) = lines.count("owned files", MAX_FILES)?;
    let mut owned: Vec<OwnedEntry> = Vec::with_capacity(owned_count);
    for i in 0..owned_count {
        let (line, text) =
            lines.next(&format!("owned file {} as '<name> <segment count>'", i + 1))?;
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [name, count] = parts[..] else {
            return Err(lines.error(
                line,
                format!("expected '<name> <segment count>', found '{text}'"),
            ));
        };
        let name = lines.name(line, name)?;
        let count = match count.parse::<usize>() {
            Ok(n) if (1..=MAX_SEGMENTS).contains(&n) => n,
            _ => {
                return Err(lines.error(
                    line,
                    format!(
                        "segment count of '{name}' must be 1 to {MAX_SEGMENTS}, found '{count}'"
                    ),
                ))
            }
        };
        if owned.iter().any(|o| o.file.name == name) {
            return Err(lines.error(line, format!("file '{name}' is listed twice as owned")));
        }
        let mut hashes = Vec::with_capacity(count);
        for s in 0..count {
            let expected = format!("hash {} of {count} of '{name}'", s + 1);
            let (hline, htext) = lines.next(&expected)?;
            let hash = SegmentHash::parse(htext).ok_or_else(|| {
                lines.error(
                    hline,
                    format!("expected {expected} (32 hex characters), found '{htext}'"),
                )
            })?;
            hashes.push(hash);
        }
        owned.push(OwnedEntry {
            file: OwnedFile { name, hashes },
            line,
        });
    }
    let (_, wanted_count) = lines.count("wanted files", MAX_FILES)?;
    let mut wanted: Vec<WantedEntry> = Vec::with_capacity(wanted_count);
    for i in 0..wanted_count {
        let (line, text) = lines.next(&format!("wanted file name {} of {wanted_count}", i + 1))?;
        if text.split_whitespace().count() != 1 {
            return Err(lines.error(line, format!("expected one file name, found '{text}'")));
        }
        let name = lines.name(line, text)?;
        if wanted.iter().any(|w| w.name == name) {
            return Err(lines.error(line, format!("file '{name}' is wanted twice")));
        }
        if owned.iter().any(|o| o.file.name == name) {
            return Err(lines.error(
                line,
                format!("wants '{name}', which this client already owns"),
            ));
        }
        wanted.push(WantedEntry { name, line });
    }
    if let Some(&(line, text)) = lines.lines.get(lines.next) {
        return Err(lines.error(
            line,
            format!("unexpected extra content '{text}' after the wanted files"),
        ));
    }
    Ok(ClientInput {
        rank,
        owned,
        wanted,
    })
}

#[cfg(test)]
#[path = "input_tests.rs"]
mod tests;

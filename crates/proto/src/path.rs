//! File paths from torrents are a security boundary: a hostile torrent must not be able
//! to write outside the download folder, hide a file behind another or smuggle control
//! characters into a terminal. Components are refused, never silently rewritten.

use std::collections::{BTreeSet, HashSet};

/// Why a path from a torrent is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// A file with no path components.
    #[error("empty path")]
    EmptyPath,
    /// An empty component (`a//b`).
    #[error("empty path component")]
    EmptyComponent,
    /// `.` or `..`.
    #[error("path component {0:?} is not allowed (path traversal)")]
    Traversal(String),
    /// `/` or `\` inside a component (an absolute or nested path in disguise).
    #[error("path component {0:?} contains a path separator")]
    Separator(String),
    /// NUL or another control character.
    #[error("path component \"{0}\" contains a NUL or control character")]
    ControlChar(String),
    /// Not valid UTF-8.
    #[error("path component {0:?} is not valid UTF-8")]
    NotUtf8(String),
    /// Two files with the same path, or a file that is also a folder of another file.
    #[error("file path {0:?} collides with another file in the torrent")]
    Collision(String),
}

/// Check one path component (or the torrent name) and return it as text.
pub fn check_component(raw: &[u8]) -> Result<String, PathError> {
    let s = std::str::from_utf8(raw)
        .map_err(|_| PathError::NotUtf8(String::from_utf8_lossy(raw).into_owned()))?;
    if s.is_empty() {
        return Err(PathError::EmptyComponent);
    }
    if s == "." || s == ".." {
        return Err(PathError::Traversal(s.to_owned()));
    }
    if s.contains(['/', '\\']) {
        return Err(PathError::Separator(s.to_owned()));
    }
    if s.chars().any(char::is_control) {
        return Err(PathError::ControlChar(s.escape_debug().to_string()));
    }
    Ok(s.to_owned())
}

/// Refuse duplicate paths and a file that is a prefix folder of another. `paths` yields
/// the checked components of every real (non-padding) file.
pub fn check_collisions<'a>(
    paths: impl IntoIterator<Item = &'a [String]>,
) -> Result<(), PathError> {
    let mut files: HashSet<&'a [String]> = HashSet::new();
    let mut dirs: BTreeSet<&'a [String]> = BTreeSet::new();
    let mut all = Vec::new();
    for path in paths {
        if !files.insert(path) {
            return Err(PathError::Collision(path.join("/")));
        }
        for n in 1..path.len() {
            dirs.insert(&path[..n]);
        }
        all.push(path);
    }
    for path in all {
        if dirs.contains(path) {
            return Err(PathError::Collision(path.join("/")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components() {
        assert_eq!(check_component(b"ok name.txt").unwrap(), "ok name.txt");
        assert_eq!(
            check_component(b"..").unwrap_err(),
            PathError::Traversal("..".into())
        );
        assert!(matches!(
            check_component(b"."),
            Err(PathError::Traversal(_))
        ));
        assert!(matches!(
            check_component(b""),
            Err(PathError::EmptyComponent)
        ));
        assert!(matches!(
            check_component(b"/etc"),
            Err(PathError::Separator(_))
        ));
        assert!(matches!(
            check_component(b"a\\b"),
            Err(PathError::Separator(_))
        ));
        assert!(matches!(
            check_component(b"a\0b"),
            Err(PathError::ControlChar(_))
        ));
        assert!(matches!(
            check_component(b"a\x1b[31m"),
            Err(PathError::ControlChar(_))
        ));
        assert!(matches!(
            check_component(b"\xff"),
            Err(PathError::NotUtf8(_))
        ));
        assert!(check_component("..hidden...".as_bytes()).is_ok());
    }

    #[test]
    fn collisions() {
        let p = |s: &str| s.split('/').map(String::from).collect::<Vec<_>>();
        let ok = [p("a/b"), p("a/c"), p("b")];
        assert!(check_collisions(ok.iter().map(Vec::as_slice)).is_ok());
        let dup = [p("a/b"), p("a/b")];
        assert!(check_collisions(dup.iter().map(Vec::as_slice)).is_err());
        let prefix = [p("a/b/c"), p("a/b")];
        assert_eq!(
            check_collisions(prefix.iter().map(Vec::as_slice)).unwrap_err(),
            PathError::Collision("a/b".into())
        );
    }
}

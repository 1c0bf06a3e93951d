//! [`PathGuard`]: turns a torrent file's validated path components into a path under the
//! download folder, creating folders as needed and refusing symlinks that lead outside.
//!
//! The components come from `bitswarm_proto` (already refused if they hold `..`, separators
//! or control characters); this guard adds the one check proto cannot make without a file
//! system: a folder or file that already exists as a symlink pointing out of the root.
//! It is a cheap check at open time, not a defence against a concurrent attacker swapping
//! folders for symlinks afterwards.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::StorageError;

/// Resolves paths below one root folder.
pub(crate) struct PathGuard {
    /// The root as the caller gave it (used in the paths we return and report).
    root: PathBuf,
    /// The root with symlinks resolved, for containment checks.
    canonical_root: PathBuf,
    /// Create missing folders (download) or not (seeding).
    create: bool,
    /// Folders already checked, so deep trees cost one stat per folder.
    checked: HashSet<PathBuf>,
}

impl PathGuard {
    /// A guard for `root`; with `create`, the root folder is created if missing.
    pub(crate) fn new(root: &Path, create: bool) -> Result<Self, StorageError> {
        if create {
            fs::create_dir_all(root).map_err(|e| StorageError::io("create folder", root, e))?;
        }
        let canonical_root = fs::canonicalize(root).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                StorageError::MissingFile {
                    path: root.to_path_buf(),
                }
            } else {
                StorageError::io("resolve", root, e)
            }
        })?;
        if !canonical_root.is_dir() {
            return Err(StorageError::NotAFolder {
                path: root.to_path_buf(),
            });
        }
        Ok(PathGuard {
            root: root.to_path_buf(),
            canonical_root,
            create,
            checked: HashSet::new(),
        })
    }

    /// The path of a file with `components` below the root. Every existing component that
    /// is a symlink must resolve inside the root; missing folders are created when the
    /// guard creates. The file itself is neither created nor required to exist.
    pub(crate) fn resolve<S: AsRef<str>>(
        &mut self,
        components: &[S],
    ) -> Result<PathBuf, StorageError> {
        let mut cur = self.root.clone();
        for (i, comp) in components.iter().enumerate() {
            cur.push(comp.as_ref());
            let is_file = i + 1 == components.len();
            if !is_file && self.checked.contains(&cur) {
                continue;
            }
            match fs::symlink_metadata(&cur) {
                Ok(meta) if meta.file_type().is_symlink() => self.check_symlink(&cur)?,
                Ok(meta) => {
                    if !is_file && !meta.is_dir() {
                        return Err(StorageError::NotAFolder { path: cur });
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    if !is_file && self.create {
                        match fs::create_dir(&cur) {
                            Ok(()) => {}
                            // Another thread or process made it meanwhile: fine.
                            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                            Err(e) => return Err(StorageError::io("create folder", &cur, e)),
                        }
                    }
                }
                Err(e) => return Err(StorageError::io("inspect", &cur, e)),
            }
            if !is_file {
                self.checked.insert(cur.clone());
            }
        }
        Ok(cur)
    }

    /// A symlink is fine only if it resolves to something inside the root; a dangling one
    /// is refused too (creating the file would create it wherever the link points).
    fn check_symlink(&self, link: &Path) -> Result<(), StorageError> {
        match fs::canonicalize(link) {
            Ok(target) if target.starts_with(&self.canonical_root) => Ok(()),
            _ => Err(StorageError::SymlinkEscape {
                path: link.to_path_buf(),
            }),
        }
    }
}

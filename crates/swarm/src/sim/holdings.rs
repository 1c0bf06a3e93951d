//! [`Holdings`]: which segments a client holds, shared by its download thread (writes)
//! and upload thread (reads).

use std::collections::HashMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::hash::SegmentHash;
use super::message::OwnedFile;

/// Per file, the hash held for each segment (`None`: not yet).
#[derive(Debug, Default)]
pub(crate) struct Holdings {
    files: RwLock<HashMap<String, Vec<Option<SegmentHash>>>>,
}

impl Holdings {
    fn read(&self) -> RwLockReadGuard<'_, HashMap<String, Vec<Option<SegmentHash>>>> {
        self.files.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<String, Vec<Option<SegmentHash>>>> {
        self.files.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Hold a whole file (an owned one).
    pub(crate) fn add_complete(&self, file: &OwnedFile) {
        self.write().insert(
            file.name.clone(),
            file.hashes.iter().copied().map(Some).collect(),
        );
    }

    /// Start holding a file of `segments` segments, none held yet.
    pub(crate) fn start(&self, name: &str, segments: usize) {
        self.write().insert(name.to_owned(), vec![None; segments]);
    }

    /// Record a received segment.
    pub(crate) fn set(&self, name: &str, index: usize, hash: SegmentHash) {
        if let Some(slot) = self.write().get_mut(name).and_then(|v| v.get_mut(index)) {
            *slot = Some(hash);
        }
    }

    /// The hash held for a segment, if any.
    pub(crate) fn get(&self, name: &str, index: usize) -> Option<SegmentHash> {
        self.read()
            .get(name)
            .and_then(|v| v.get(index).copied().flatten())
    }
}

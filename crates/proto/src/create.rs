//! Building a `.torrent` from a description and piece hashes computed elsewhere.
//!
//! The `info` dictionary holds exactly what mktorrent puts there (`files`/`length`,
//! `name`, `piece length`, `pieces`, `private` when set, `source` when set), encoded
//! canonically, so the same content and options give the same info-hash as mktorrent.

use bitswarm_bencode::OwnedValue;

use crate::metainfo::{Metainfo, MetainfoError};

/// Smallest piece length [`auto_piece_length`] picks (16 KiB).
pub const MIN_AUTO_PIECE_LENGTH: u32 = 16 * 1024;
/// Largest piece length [`auto_piece_length`] picks (16 MiB).
pub const MAX_AUTO_PIECE_LENGTH: u32 = 16 * 1024 * 1024;

/// A power of two between 16 KiB and 16 MiB giving at most 2000 pieces where possible
/// (so between 1000 and 2000 pieces for anything from 32 MiB to 32 GiB).
pub fn auto_piece_length(total_length: u64) -> u32 {
    let mut pl = MIN_AUTO_PIECE_LENGTH;
    while pl < MAX_AUTO_PIECE_LENGTH && total_length.div_ceil(u64::from(pl)) > 2000 {
        pl *= 2;
    }
    pl
}

/// What a new torrent holds. Files are in torrent order; for a folder torrent each path
/// is relative to the folder (without the folder name).
#[derive(Debug, Clone, Default)]
pub struct TorrentSpec {
    /// File or folder name (`info.name`).
    pub name: String,
    /// `None`: a single file of this many bytes. `Some`: a folder's files.
    pub single_length: Option<u64>,
    /// Folder torrents: (path components, length) in order.
    pub files: Vec<(Vec<String>, u64)>,
    /// Piece length in bytes.
    pub piece_length: u32,
    /// One SHA-1 per piece.
    pub pieces: Vec<[u8; 20]>,
    /// BEP 27 private flag.
    pub private: bool,
    /// `info.source`.
    pub source: Option<String>,
    /// Trackers: the first becomes `announce`; with more than one, each is its own tier
    /// in `announce-list` (as mktorrent does with several `-a`).
    pub trackers: Vec<String>,
    /// BEP 19 `url-list`.
    pub web_seeds: Vec<String>,
    /// `comment`.
    pub comment: Option<String>,
    /// `created by`.
    pub created_by: Option<String>,
    /// `creation date` (Unix seconds); the caller reads the clock.
    pub creation_date: Option<i64>,
}

fn len_i64(n: u64) -> Result<i64, MetainfoError> {
    i64::try_from(n).map_err(|_| MetainfoError::TooLarge)
}

impl TorrentSpec {
    /// The `info` dictionary.
    pub fn info_value(&self) -> Result<OwnedValue, MetainfoError> {
        let mut info = OwnedValue::dict();
        match self.single_length {
            Some(len) => {
                info.insert("length", len_i64(len)?);
            }
            None => {
                let mut files = Vec::with_capacity(self.files.len());
                for (path, len) in &self.files {
                    let mut f = OwnedValue::dict();
                    f.insert("length", len_i64(*len)?);
                    let comps = path.iter().map(|c| OwnedValue::from(c.as_str())).collect();
                    f.insert("path", OwnedValue::List(comps));
                    files.push(f);
                }
                info.insert("files", OwnedValue::List(files));
            }
        }
        info.insert("name", self.name.as_str());
        info.insert("piece length", self.piece_length);
        info.insert("pieces", self.pieces.concat());
        if self.private {
            info.insert("private", 1);
        }
        if let Some(s) = &self.source {
            info.insert("source", s.as_str());
        }
        Ok(info)
    }

    /// The whole `.torrent` file, encoded.
    pub fn to_bytes(&self) -> Result<Vec<u8>, MetainfoError> {
        let mut root = OwnedValue::dict();
        if let Some(first) = self.trackers.first() {
            root.insert("announce", first.as_str());
        }
        if self.trackers.len() > 1 {
            let tiers = self
                .trackers
                .iter()
                .map(|t| OwnedValue::List(vec![t.as_str().into()]))
                .collect();
            root.insert("announce-list", OwnedValue::List(tiers));
        }
        if let Some(c) = &self.comment {
            root.insert("comment", c.as_str());
        }
        if let Some(c) = &self.created_by {
            root.insert("created by", c.as_str());
        }
        if let Some(d) = self.creation_date {
            root.insert("creation date", d);
        }
        root.insert("info", self.info_value()?);
        if !self.web_seeds.is_empty() {
            let urls = self.web_seeds.iter().map(|u| u.as_str().into()).collect();
            root.insert("url-list", OwnedValue::List(urls));
        }
        Ok(root.to_bytes())
    }

    /// Encode and parse back: the same validation as any torrent read from disk (paths,
    /// piece count), and the info-hash.
    pub fn build(&self) -> Result<(Vec<u8>, Metainfo), MetainfoError> {
        let bytes = self.to_bytes()?;
        let meta = Metainfo::from_bytes(&bytes)?;
        Ok((bytes, meta))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_piece_length_rule() {
        assert_eq!(auto_piece_length(0), 16 * 1024);
        assert_eq!(auto_piece_length(1 << 20), 16 * 1024);
        assert_eq!(auto_piece_length(1 << 30), 1 << 20);
        assert_eq!(auto_piece_length(1 << 50), 16 << 20);
        for shift in 25..35 {
            let n = (1u64 << shift).div_ceil(u64::from(auto_piece_length(1 << shift)));
            assert!((1000..=2000).contains(&n), "{shift}: {n}");
        }
    }

    #[test]
    fn build_folder_torrent() {
        let spec = TorrentSpec {
            name: "d".into(),
            files: vec![(vec!["a".into()], 3), (vec!["s".into(), "b".into()], 20)],
            piece_length: 16,
            pieces: vec![[1; 20], [2; 20]],
            private: true,
            source: Some("SRC".into()),
            trackers: vec!["http://a/".into(), "http://b/".into()],
            web_seeds: vec!["http://w/".into()],
            ..Default::default()
        };
        let (bytes, meta) = spec.build().unwrap();
        assert!(bytes.windows(23).any(|w| w == b"7:privatei1e6:source3:S"));
        assert_eq!(meta.files().len(), 2);
        assert!(meta.info().is_private());
        assert_eq!(meta.announce(), Some("http://a/"));
        assert_eq!(
            meta.tracker_tiers(),
            vec![vec!["http://a/"], vec!["http://b/"]]
        );
        assert_eq!(meta.url_list(), ["http://w/"]);
        let bad = TorrentSpec {
            pieces: vec![[1; 20]],
            ..spec
        };
        assert!(matches!(
            bad.build(),
            Err(MetainfoError::PieceCountMismatch { .. })
        ));
    }
}

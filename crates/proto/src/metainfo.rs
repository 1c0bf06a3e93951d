//! `.torrent` files (BEP 3 v1 metainfo) with BEP 12 tracker tiers, BEP 19 web seeds,
//! BEP 27 private flag and BEP 47 padding files. BitTorrent v2 and hybrid torrents
//! (BEP 52) are recognized and refused with [`MetainfoError::V2NotSupported`] /
//! [`MetainfoError::HybridNotSupported`] rather than misread.

use bitswarm_bencode::{DecodeError, Dict, Value};

use crate::geometry::{Layout, PieceGeometry};
use crate::id::InfoHash;
use crate::path::{check_collisions, check_component, PathError};

/// Largest piece length accepted when reading (512 MiB); anything bigger is hostile.
pub const MAX_PIECE_LENGTH: u32 = 512 * 1024 * 1024;

/// Why a `.torrent` (or an `info` dictionary) is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetainfoError {
    /// Not bencode at all, or broken bencode.
    #[error("not a valid torrent file: {0}")]
    Bencode(DecodeError),
    /// The top level (or `info`) is not a dictionary.
    #[error("not a valid torrent file: '{0}' is not a dictionary")]
    NotADictionary(&'static str),
    /// A required key is absent.
    #[error("torrent is missing the required key '{0}'")]
    Missing(&'static str),
    /// A key holds the wrong kind of value.
    #[error("torrent key '{key}' should be {expected} but is {found}")]
    WrongType {
        /// The key.
        key: &'static str,
        /// What it should be.
        expected: &'static str,
        /// What it is.
        found: &'static str,
    },
    /// A text field that is not valid UTF-8.
    #[error("torrent key '{0}' is not valid UTF-8")]
    NotUtf8(&'static str),
    /// Piece length zero, negative or larger than [`MAX_PIECE_LENGTH`].
    #[error("invalid piece length {0} (must be between 1 and {MAX_PIECE_LENGTH} bytes)")]
    InvalidPieceLength(i64),
    /// `pieces` is not a whole number of 20-byte hashes.
    #[error("'pieces' is {0} bytes long, which is not a multiple of 20")]
    PiecesNotMultipleOf20(usize),
    /// The number of hashes does not match the total length.
    #[error("torrent has {found} piece hashes but its files need {expected} pieces")]
    PieceCountMismatch {
        /// Pieces required by total length and piece length.
        expected: u64,
        /// Hashes present.
        found: usize,
    },
    /// A negative file length.
    #[error("file {index} has a negative length ({length})")]
    NegativeLength {
        /// File index (0 for a single-file torrent).
        index: usize,
        /// The length found.
        length: i64,
    },
    /// File lengths that add up to more than 2^63 bytes.
    #[error("file lengths add up to more than the largest supported size")]
    TooLarge,
    /// Both `length` and `files`, or neither.
    #[error("torrent must have exactly one of 'length' (single file) and 'files' (folder)")]
    LengthAndFiles,
    /// An empty `files` list.
    #[error("torrent 'files' list is empty")]
    NoFiles,
    /// An unsafe or colliding file path.
    #[error("unsafe file path in torrent (file {index}): {problem}")]
    Path {
        /// File index (problems with the torrent name are reported as file 0).
        index: usize,
        /// What is wrong with it.
        problem: PathError,
    },
    /// A BitTorrent v2-only torrent.
    #[error("BitTorrent v2 torrents (BEP 52) are not supported yet")]
    V2NotSupported,
    /// A hybrid v1+v2 torrent.
    #[error("hybrid BitTorrent v1/v2 torrents (BEP 52) are not supported yet")]
    HybridNotSupported,
    /// A `meta version` other than 1 or 2.
    #[error("unknown torrent 'meta version' {0}")]
    UnknownMetaVersion(i64),
}

// The message already includes the decoding error, so it is not also a `source()`
// (that would print it twice in a one-line error chain).
impl From<DecodeError> for MetainfoError {
    fn from(e: DecodeError) -> Self {
        MetainfoError::Bencode(e)
    }
}

/// One file of a torrent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Path components below the torrent's root. For a single-file torrent this is
    /// `[name]`; for a folder torrent it excludes the folder `name`.
    pub path: Vec<String>,
    /// Length in bytes.
    pub length: u64,
    /// Offset of the file's first byte in the torrent's concatenated data.
    pub offset: u64,
    /// A BEP 47 padding file (`attr` contains `p`): virtual zeros, never stored.
    pub padding: bool,
    /// BEP 47 `attr` contains `x`.
    pub executable: bool,
    /// BEP 47 `attr` contains `h`.
    pub hidden: bool,
}

/// The `info` dictionary of a v1 torrent, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    name: String,
    pieces: Vec<[u8; 20]>,
    files: Vec<FileEntry>,
    single_file: bool,
    private: bool,
    source: Option<String>,
    layout: Layout,
}

/// A parsed `.torrent` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metainfo {
    info: Info,
    info_hash: InfoHash,
    raw_info: Vec<u8>,
    announce: Option<String>,
    announce_list: Vec<Vec<String>>,
    url_list: Vec<String>,
    creation_date: Option<i64>,
    comment: Option<String>,
    created_by: Option<String>,
}

fn type_err(key: &'static str, expected: &'static str, v: &Value<'_>) -> MetainfoError {
    MetainfoError::WrongType {
        key,
        expected,
        found: v.type_name(),
    }
}

/// An optional text field; the `.utf-8` variant wins when present and valid.
fn opt_text(
    d: &Dict<'_>,
    key: &'static str,
    utf8_key: Option<&str>,
) -> Result<Option<String>, MetainfoError> {
    if let Some(s) = utf8_key.and_then(|k| d.get_str(k.as_bytes())) {
        return Ok(Some(s.to_owned()));
    }
    match d.get(key.as_bytes()) {
        None => Ok(None),
        Some(v) => {
            let b = v.as_bytes().ok_or_else(|| type_err(key, "a string", v))?;
            Ok(Some(String::from_utf8_lossy(b).into_owned()))
        }
    }
}

fn req_int(d: &Dict<'_>, key: &'static str) -> Result<i64, MetainfoError> {
    let v = d.get(key.as_bytes()).ok_or(MetainfoError::Missing(key))?;
    v.as_int().ok_or_else(|| type_err(key, "an integer", v))
}

fn file_length(d: &Dict<'_>, index: usize) -> Result<u64, MetainfoError> {
    let length = req_int(d, "length")?;
    u64::try_from(length).map_err(|_| MetainfoError::NegativeLength { index, length })
}

/// The path of a file entry: `path.utf-8` if present, else `path`.
fn file_path(d: &Dict<'_>, index: usize) -> Result<Vec<String>, MetainfoError> {
    let v = d
        .get(b"path.utf-8")
        .filter(|v| v.as_list().is_some())
        .or_else(|| d.get(b"path"))
        .ok_or(MetainfoError::Missing("path"))?;
    let list = v.as_list().ok_or_else(|| type_err("path", "a list", v))?;
    let path_err = |problem| MetainfoError::Path { index, problem };
    if list.is_empty() {
        return Err(path_err(PathError::EmptyPath));
    }
    list.iter()
        .map(|c| {
            let b = c
                .as_bytes()
                .ok_or_else(|| type_err("path", "a list of strings", c))?;
            check_component(b).map_err(path_err)
        })
        .collect()
}

impl Info {
    /// Parse and validate the raw bytes of an `info` dictionary (e.g. received through
    /// BEP 9 metadata exchange). Hash them with [`InfoHash::of_info_bytes`].
    pub fn from_bytes(raw_info: &[u8]) -> Result<Info, MetainfoError> {
        Info::from_value(&bitswarm_bencode::decode(raw_info)?)
    }

    /// Parse and validate a decoded `info` dictionary.
    pub fn from_value(v: &Value<'_>) -> Result<Info, MetainfoError> {
        let d = v.as_dict().ok_or(MetainfoError::NotADictionary("info"))?;
        if let Some(mv) = d.get(b"meta version") {
            match mv.as_int() {
                Some(1) => {}
                Some(2) if d.contains_key(b"pieces") => {
                    return Err(MetainfoError::HybridNotSupported)
                }
                Some(2) => return Err(MetainfoError::V2NotSupported),
                Some(n) => return Err(MetainfoError::UnknownMetaVersion(n)),
                None => return Err(type_err("meta version", "an integer", mv)),
            }
        } else if d.contains_key(b"file tree") && !d.contains_key(b"pieces") {
            return Err(MetainfoError::V2NotSupported);
        }

        let name_raw = d
            .get(b"name.utf-8")
            .and_then(Value::as_bytes)
            .or_else(|| d.get_bytes(b"name"));
        let name_raw = match (name_raw, d.get(b"name")) {
            (Some(b), _) => b,
            (None, Some(v)) => return Err(type_err("name", "a string", v)),
            (None, None) => return Err(MetainfoError::Missing("name")),
        };
        let name = check_component(name_raw)
            .map_err(|problem| MetainfoError::Path { index: 0, problem })?;

        let pl = req_int(d, "piece length")?;
        let piece_length = u32::try_from(pl)
            .ok()
            .filter(|p| (1..=MAX_PIECE_LENGTH).contains(p))
            .ok_or(MetainfoError::InvalidPieceLength(pl))?;

        let pieces_v = d.get(b"pieces").ok_or(MetainfoError::Missing("pieces"))?;
        let pieces_raw = pieces_v
            .as_bytes()
            .ok_or_else(|| type_err("pieces", "a string", pieces_v))?;
        if pieces_raw.len() % 20 != 0 {
            return Err(MetainfoError::PiecesNotMultipleOf20(pieces_raw.len()));
        }

        let (files, single_file) = match (d.get(b"length"), d.get(b"files")) {
            (Some(_), None) => {
                let length = file_length(d, 0)?;
                let file = FileEntry {
                    path: vec![name.clone()],
                    length,
                    offset: 0,
                    padding: false,
                    executable: false,
                    hidden: false,
                };
                (vec![file], true)
            }
            (None, Some(fv)) => (parse_files(fv)?, false),
            _ => return Err(MetainfoError::LengthAndFiles),
        };

        let lengths: Vec<u64> = files.iter().map(|f| f.length).collect();
        let layout = match Layout::new(&lengths, piece_length) {
            Some(l) if l.geometry().total_length() <= i64::MAX as u64 => l,
            _ => return Err(MetainfoError::TooLarge),
        };
        let found = pieces_raw.len() / 20;
        if u64::from(layout.geometry().piece_count()) != found as u64 {
            return Err(MetainfoError::PieceCountMismatch {
                expected: layout
                    .geometry()
                    .total_length()
                    .div_ceil(u64::from(piece_length)),
                found,
            });
        }
        let pieces = pieces_raw
            .chunks_exact(20)
            .map(|c| {
                let mut h = [0u8; 20];
                h.copy_from_slice(c);
                h
            })
            .collect();

        let source = opt_text(d, "source", None)?;
        Ok(Info {
            name,
            pieces,
            files,
            single_file,
            private: d.get_int(b"private") == Some(1),
            source,
            layout,
        })
    }

    /// The suggested name of the file (single-file) or folder.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Piece hashes, one per piece.
    pub fn pieces(&self) -> &[[u8; 20]] {
        &self.pieces
    }

    /// Files in torrent order, padding files included (see [`FileEntry::padding`]).
    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    /// Whether this is a single-file torrent (`length`) rather than a folder (`files`).
    pub fn is_single_file(&self) -> bool {
        self.single_file
    }

    /// BEP 27 private flag.
    pub fn is_private(&self) -> bool {
        self.private
    }

    /// The `source` tag (private trackers use it to make info-hashes unique).
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// Piece geometry.
    pub fn geometry(&self) -> &PieceGeometry {
        self.layout.geometry()
    }

    /// Mapping between pieces and files.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Total size of the real files (padding excluded).
    pub fn content_length(&self) -> u64 {
        self.files
            .iter()
            .filter(|f| !f.padding)
            .map(|f| f.length)
            .sum()
    }
}

fn parse_files(fv: &Value<'_>) -> Result<Vec<FileEntry>, MetainfoError> {
    let list = fv
        .as_list()
        .ok_or_else(|| type_err("files", "a list", fv))?;
    if list.is_empty() {
        return Err(MetainfoError::NoFiles);
    }
    let mut files = Vec::with_capacity(list.len());
    let mut offset: u64 = 0;
    for (index, item) in list.iter().enumerate() {
        let fd = item
            .as_dict()
            .ok_or_else(|| type_err("files", "a list of dictionaries", item))?;
        let length = file_length(fd, index)?;
        let path = file_path(fd, index)?;
        let attr = fd.get_bytes(b"attr").unwrap_or_default();
        files.push(FileEntry {
            path,
            length,
            offset,
            padding: attr.contains(&b'p'),
            executable: attr.contains(&b'x'),
            hidden: attr.contains(&b'h'),
        });
        offset = offset.checked_add(length).ok_or(MetainfoError::TooLarge)?;
    }
    // Padding files are never written, and BEP 47 lets them share a path (".pad/N").
    let real = files
        .iter()
        .filter(|f| !f.padding)
        .map(|f| f.path.as_slice());
    check_collisions(real).map_err(|problem| {
        let index = match &problem {
            PathError::Collision(p) => files
                .iter()
                .rposition(|f| f.path.join("/") == *p)
                .unwrap_or(0),
            _ => 0,
        };
        MetainfoError::Path { index, problem }
    })?;
    Ok(files)
}

/// Strings of a list, skipping entries that are not UTF-8 strings.
fn string_list(v: &Value<'_>) -> Vec<String> {
    v.as_list()
        .unwrap_or_default()
        .iter()
        .filter_map(|x| x.as_str().map(str::to_owned))
        .filter(|s| !s.is_empty())
        .collect()
}

impl Metainfo {
    /// Parse and validate a `.torrent` file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Metainfo, MetainfoError> {
        let root = bitswarm_bencode::decode(bytes)?;
        let d = root
            .as_dict()
            .ok_or(MetainfoError::NotADictionary("torrent"))?;
        let info_v = d.get(b"info").ok_or(MetainfoError::Missing("info"))?;
        if d.contains_key(b"piece layers")
            && info_v.as_dict().is_some_and(|i| !i.contains_key(b"pieces"))
        {
            return Err(MetainfoError::V2NotSupported);
        }
        let info = Info::from_value(info_v)?;
        let raw_info = info_v.raw().to_vec();

        let announce = match d.get(b"announce") {
            None => None,
            Some(v) => {
                let s = v
                    .as_bytes()
                    .ok_or_else(|| type_err("announce", "a string", v))?;
                let s = std::str::from_utf8(s).map_err(|_| MetainfoError::NotUtf8("announce"))?;
                Some(s.to_owned()).filter(|s| !s.is_empty())
            }
        };
        // BEP 12: a list of tiers, each a list of URLs. Clients skip malformed entries.
        let announce_list = d
            .get_list(b"announce-list")
            .unwrap_or_default()
            .iter()
            .map(string_list)
            .filter(|tier| !tier.is_empty())
            .collect();
        // BEP 19: a single URL or a list of them.
        let url_list = match d.get(b"url-list") {
            Some(v) if v.as_str().is_some() => v
                .as_str()
                .map(str::to_owned)
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect(),
            Some(v) => string_list(v),
            None => Vec::new(),
        };
        Ok(Metainfo {
            info_hash: InfoHash::of_info_bytes(&raw_info),
            info,
            raw_info,
            announce,
            announce_list,
            url_list,
            creation_date: d.get_int(b"creation date"),
            comment: opt_text(d, "comment", Some("comment.utf-8")).ok().flatten(),
            created_by: opt_text(d, "created by", None).ok().flatten(),
        })
    }

    /// SHA-1 of the original bytes of `info`.
    pub fn info_hash(&self) -> InfoHash {
        self.info_hash
    }

    /// The `info` dictionary, validated.
    pub fn info(&self) -> &Info {
        &self.info
    }

    /// The exact bytes of `info` as they appear in the file (for BEP 9 metadata exchange).
    pub fn raw_info(&self) -> &[u8] {
        &self.raw_info
    }

    /// Files in torrent order (shortcut for `info().files()`).
    pub fn files(&self) -> &[FileEntry] {
        self.info.files()
    }

    /// Piece geometry (shortcut for `info().geometry()`).
    pub fn geometry(&self) -> &PieceGeometry {
        self.info.geometry()
    }

    /// The `announce` URL.
    pub fn announce(&self) -> Option<&str> {
        self.announce.as_deref()
    }

    /// The BEP 12 `announce-list` as given (tiers of URLs).
    pub fn announce_list(&self) -> &[Vec<String>] {
        &self.announce_list
    }

    /// Tracker tiers to use: `announce-list` if present (BEP 12 says it then replaces
    /// `announce`), else `announce` as a single tier.
    pub fn tracker_tiers(&self) -> Vec<Vec<String>> {
        if !self.announce_list.is_empty() {
            return self.announce_list.clone();
        }
        self.announce.iter().map(|a| vec![a.clone()]).collect()
    }

    /// All tracker URLs, in tier order, without duplicates.
    pub fn trackers(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let announce = self.announce.iter().cloned();
        for url in self.tracker_tiers().into_iter().flatten().chain(announce) {
            if !out.contains(&url) {
                out.push(url);
            }
        }
        out
    }

    /// BEP 19 web seed URLs (`url-list`).
    pub fn url_list(&self) -> &[String] {
        &self.url_list
    }

    /// `creation date` (seconds since the Unix epoch).
    pub fn creation_date(&self) -> Option<i64> {
        self.creation_date
    }

    /// `comment`.
    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }

    /// `created by`.
    pub fn created_by(&self) -> Option<&str> {
        self.created_by.as_deref()
    }

    /// A magnet link for this torrent (info-hash, name, trackers, web seeds).
    pub fn to_magnet(&self) -> crate::Magnet {
        crate::Magnet {
            info_hash: self.info_hash,
            btmh: None,
            display_name: Some(self.info.name.clone()),
            trackers: self.trackers(),
            peers: Vec::new(),
            web_seeds: self.url_list.clone(),
            select_only: Vec::new(),
        }
    }
}

#[cfg(test)]
#[path = "metainfo_tests.rs"]
mod tests;

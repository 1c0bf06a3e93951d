//! Piece geometry in one place: piece sizes (the last one is shorter), 16 KiB blocks, and
//! the mapping between pieces and byte ranges of files.

use std::ops::Range;

/// Size of a block, the unit of peer requests (BEP 3 convention, 16 KiB).
pub const BLOCK_SIZE: u32 = 16 * 1024;

/// Total length and piece length of a torrent, and everything derived from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PieceGeometry {
    total_length: u64,
    piece_length: u32,
    piece_count: u32,
}

impl PieceGeometry {
    /// Geometry for `total_length` bytes cut into pieces of `piece_length` bytes. `None` if
    /// `piece_length` is zero or the piece count does not fit in a `u32`.
    pub fn new(total_length: u64, piece_length: u32) -> Option<Self> {
        if piece_length == 0 {
            return None;
        }
        let count = total_length.div_ceil(u64::from(piece_length));
        Some(PieceGeometry {
            total_length,
            piece_length,
            piece_count: u32::try_from(count).ok()?,
        })
    }

    /// Total bytes of the torrent (padding files included).
    pub fn total_length(&self) -> u64 {
        self.total_length
    }

    /// Nominal piece length (every piece but possibly the last).
    pub fn piece_length(&self) -> u32 {
        self.piece_length
    }

    /// Number of pieces.
    pub fn piece_count(&self) -> u32 {
        self.piece_count
    }

    /// Length of the last piece (0 for an empty torrent).
    pub fn last_piece_length(&self) -> u32 {
        match self.piece_count {
            0 => 0,
            n => self.piece_size(n - 1).unwrap_or(0),
        }
    }

    /// Length of piece `index`, or `None` if out of range.
    pub fn piece_size(&self, index: u32) -> Option<u32> {
        let range = self.piece_range(index)?;
        // A piece is never longer than piece_length, which is a u32.
        u32::try_from(range.end - range.start).ok()
    }

    /// Byte range of piece `index` within the torrent's concatenated data.
    pub fn piece_range(&self, index: u32) -> Option<Range<u64>> {
        if index >= self.piece_count {
            return None;
        }
        let start = u64::from(index) * u64::from(self.piece_length);
        let end = (start + u64::from(self.piece_length)).min(self.total_length);
        Some(start..end)
    }

    /// Number of 16 KiB blocks in piece `index` (the last block may be shorter).
    pub fn block_count(&self, index: u32) -> Option<u32> {
        Some(self.piece_size(index)?.div_ceil(BLOCK_SIZE))
    }

    /// Length of block `block` of piece `piece`, or `None` if either is out of range.
    pub fn block_size(&self, piece: u32, block: u32) -> Option<u32> {
        let size = self.piece_size(piece)?;
        let start = block.checked_mul(BLOCK_SIZE)?;
        if start >= size {
            return None;
        }
        Some((size - start).min(BLOCK_SIZE))
    }

    /// Whether a request (piece, offset in piece, length) lies inside the piece and is at
    /// most one block long, as peers must ask.
    pub fn is_valid_request(&self, piece: u32, begin: u32, length: u32) -> bool {
        match self.piece_size(piece) {
            Some(size) => {
                length > 0
                    && length <= BLOCK_SIZE
                    && u64::from(begin) + u64::from(length) <= u64::from(size)
            }
            None => false,
        }
    }
}

/// A byte range of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSlice {
    /// Index into the torrent's file list.
    pub file_index: usize,
    /// Offset inside that file.
    pub offset: u64,
    /// Number of bytes.
    pub length: u64,
}

/// How the torrent's byte stream is split over files: geometry plus each file's start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    geometry: PieceGeometry,
    /// Start offset of each file in the concatenated data, then the total at the end.
    bounds: Vec<u64>,
}

impl Layout {
    /// A layout for files of the given lengths, in order. `None` if the lengths overflow,
    /// or as for [`PieceGeometry::new`].
    pub fn new(file_lengths: &[u64], piece_length: u32) -> Option<Self> {
        let mut bounds = Vec::with_capacity(file_lengths.len() + 1);
        let mut total: u64 = 0;
        for len in file_lengths {
            bounds.push(total);
            total = total.checked_add(*len)?;
        }
        bounds.push(total);
        Some(Layout {
            geometry: PieceGeometry::new(total, piece_length)?,
            bounds,
        })
    }

    /// The piece geometry.
    pub fn geometry(&self) -> &PieceGeometry {
        &self.geometry
    }

    /// Number of files.
    pub fn file_count(&self) -> usize {
        self.bounds.len() - 1
    }

    /// Byte range of file `index` in the concatenated data.
    pub fn file_range(&self, index: usize) -> Option<Range<u64>> {
        Some(*self.bounds.get(index)?..*self.bounds.get(index + 1)?)
    }

    /// The file slices covering `range` of the concatenated data, in order. Empty files
    /// are skipped; bytes past the end are ignored.
    pub fn slices(&self, range: Range<u64>) -> Vec<FileSlice> {
        let end = range.end.min(self.geometry.total_length);
        let mut out = Vec::new();
        if range.start >= end {
            return out;
        }
        // First file whose end is past range.start.
        let mut i = self.bounds[1..].partition_point(|&file_end| file_end <= range.start);
        let mut pos = range.start;
        while pos < end && i < self.file_count() {
            let (fstart, fend) = (self.bounds[i], self.bounds[i + 1]);
            let take = fend.min(end) - pos;
            if take > 0 {
                out.push(FileSlice {
                    file_index: i,
                    offset: pos - fstart,
                    length: take,
                });
            }
            pos += take;
            i += 1;
        }
        out
    }

    /// The file slices making up piece `index`.
    pub fn piece_slices(&self, index: u32) -> Vec<FileSlice> {
        match self.geometry.piece_range(index) {
            Some(r) => self.slices(r),
            None => Vec::new(),
        }
    }

    /// The pieces that hold at least one byte of file `index` (empty for an empty file).
    pub fn file_pieces(&self, index: usize) -> Range<u32> {
        let Some(r) = self.file_range(index) else {
            return 0..0;
        };
        if r.is_empty() {
            return 0..0;
        }
        let pl = u64::from(self.geometry.piece_length);
        // Both fit in u32: they are at most piece_count.
        let first = u32::try_from(r.start / pl).unwrap_or(u32::MAX);
        let last = u32::try_from((r.end - 1) / pl).unwrap_or(u32::MAX);
        first..last.saturating_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_piece_and_blocks() {
        let g = PieceGeometry::new(100_000, 32768).unwrap();
        assert_eq!(g.piece_count(), 4);
        assert_eq!(g.last_piece_length(), 100_000 - 3 * 32768);
        assert_eq!(g.block_count(0), Some(2));
        assert_eq!(g.block_count(3), Some(1));
        assert_eq!(g.block_size(3, 0), Some(1696));
        assert_eq!(g.block_size(3, 1), None);
        assert_eq!(g.piece_size(4), None);
        assert!(g.is_valid_request(0, 16384, 16384));
        assert!(!g.is_valid_request(0, 16385, 16384));
        assert!(!g.is_valid_request(3, 0, 1697));
        let exact = PieceGeometry::new(65536, 32768).unwrap();
        assert_eq!(exact.last_piece_length(), 32768);
        assert_eq!(PieceGeometry::new(0, 16384).unwrap().piece_count(), 0);
        assert!(PieceGeometry::new(1, 0).is_none());
    }

    #[test]
    fn files_spanning_pieces() {
        // files: 10, 0, 30, 5 bytes; pieces of 16.
        let l = Layout::new(&[10, 0, 30, 5], 16).unwrap();
        assert_eq!(l.geometry().piece_count(), 3);
        assert_eq!(
            l.piece_slices(0),
            vec![
                FileSlice {
                    file_index: 0,
                    offset: 0,
                    length: 10
                },
                FileSlice {
                    file_index: 2,
                    offset: 0,
                    length: 6
                },
            ]
        );
        assert_eq!(
            l.piece_slices(2),
            vec![
                FileSlice {
                    file_index: 2,
                    offset: 22,
                    length: 8
                },
                FileSlice {
                    file_index: 3,
                    offset: 0,
                    length: 5
                },
            ]
        );
        assert_eq!(l.file_pieces(0), 0..1);
        assert_eq!(l.file_pieces(1), 0..0);
        assert_eq!(l.file_pieces(2), 0..2 + 1);
        assert_eq!(l.file_pieces(3), 2..3);
        assert_eq!(l.slices(40..100).len(), 1);
    }

    proptest::proptest! {
        #[test]
        fn slices_cover_each_piece_exactly(
            lens in proptest::collection::vec(0u64..100, 1..10),
            pl in 1u32..64,
        ) {
            let l = Layout::new(&lens, pl).unwrap();
            let g = *l.geometry();
            let mut covered = 0u64;
            for p in 0..g.piece_count() {
                let s = l.piece_slices(p);
                let sum: u64 = s.iter().map(|x| x.length).sum();
                proptest::prop_assert_eq!(sum, u64::from(g.piece_size(p).unwrap()));
                for x in &s {
                    proptest::prop_assert!(x.offset + x.length <= lens[x.file_index]);
                    proptest::prop_assert!(l.file_pieces(x.file_index).contains(&p));
                }
                covered += sum;
            }
            proptest::prop_assert_eq!(covered, lens.iter().sum::<u64>());
        }
    }
}

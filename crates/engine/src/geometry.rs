//! Minimal torrent geometry: piece count, piece lengths and 16 KiB blocks.
//!
//! Self-contained on purpose; `bitswarm-proto` will own the full geometry type and this
//! one can be replaced by it later.

use bitswarm_wire::BlockInfo;
use thiserror::Error;

/// Block size requested from peers: 16 KiB (the de-facto standard; larger requests are
/// refused by most clients).
pub const BLOCK_LEN: u32 = 16 * 1024;

/// Why a geometry cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GeometryError {
    /// Piece length is zero or not a multiple of the block length.
    #[error("piece length {0} must be a non-zero multiple of 16 KiB")]
    BadPieceLength(u32),
    /// The torrent has more pieces than a u32 index can name.
    #[error("too many pieces")]
    TooManyPieces,
}

/// Piece and block layout of a torrent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    piece_length: u32,
    total_length: u64,
    piece_count: u32,
}

impl Geometry {
    /// Geometry of a torrent of `total_length` bytes in pieces of `piece_length` bytes.
    pub fn new(piece_length: u32, total_length: u64) -> Result<Self, GeometryError> {
        if piece_length == 0 || piece_length % BLOCK_LEN != 0 {
            return Err(GeometryError::BadPieceLength(piece_length));
        }
        let count = total_length.div_ceil(u64::from(piece_length));
        let piece_count = u32::try_from(count).map_err(|_| GeometryError::TooManyPieces)?;
        Ok(Geometry {
            piece_length,
            total_length,
            piece_count,
        })
    }

    /// Nominal piece length.
    pub fn piece_length(&self) -> u32 {
        self.piece_length
    }

    /// Total payload length in bytes.
    pub fn total_length(&self) -> u64 {
        self.total_length
    }

    /// Number of pieces.
    pub fn piece_count(&self) -> u32 {
        self.piece_count
    }

    /// Length of piece `piece` (the last one may be shorter); 0 if out of range.
    pub fn piece_len(&self, piece: u32) -> u32 {
        if piece >= self.piece_count {
            return 0;
        }
        let start = u64::from(piece) * u64::from(self.piece_length);
        (self.total_length - start).min(u64::from(self.piece_length)) as u32
    }

    /// Number of blocks in piece `piece`.
    pub fn blocks_in_piece(&self, piece: u32) -> u32 {
        self.piece_len(piece).div_ceil(BLOCK_LEN)
    }

    /// The `index`-th block of `piece`.
    pub fn block(&self, piece: u32, index: u32) -> BlockInfo {
        let offset = index * BLOCK_LEN;
        let length = self.piece_len(piece).saturating_sub(offset).min(BLOCK_LEN);
        BlockInfo {
            piece,
            offset,
            length,
        }
    }

    /// The block index of `block` if it is exactly one of this torrent's blocks.
    pub fn block_index(&self, block: &BlockInfo) -> Option<u32> {
        if block.offset % BLOCK_LEN != 0 || block.piece >= self.piece_count {
            return None;
        }
        let index = block.offset / BLOCK_LEN;
        (index < self.blocks_in_piece(block.piece) && self.block(block.piece, index) == *block)
            .then_some(index)
    }

    /// The pieces overlapping bytes `[start, start + len)`, as a half-open range.
    pub fn pieces_in_range(&self, start: u64, len: u64) -> std::ops::Range<u32> {
        if len == 0 {
            return 0..0;
        }
        let pl = u64::from(self.piece_length);
        let first = (start / pl).min(u64::from(self.piece_count)) as u32;
        let last = (start + len).div_ceil(pl).min(u64::from(self.piece_count)) as u32;
        first..last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_piece_and_block_are_short() {
        let g = Geometry::new(32768, 32768 * 2 + 100).unwrap();
        assert_eq!(g.piece_count(), 3);
        assert_eq!(g.piece_len(0), 32768);
        assert_eq!(g.piece_len(2), 100);
        assert_eq!(g.piece_len(3), 0);
        assert_eq!(g.blocks_in_piece(0), 2);
        assert_eq!(g.blocks_in_piece(2), 1);
        assert_eq!(
            g.block(2, 0),
            BlockInfo {
                piece: 2,
                offset: 0,
                length: 100
            }
        );
    }

    #[test]
    fn rejects_bad_piece_length() {
        assert!(Geometry::new(0, 10).is_err());
        assert!(Geometry::new(1000, 10).is_err());
        assert_eq!(Geometry::new(16384, 0).unwrap().piece_count(), 0);
    }

    #[test]
    fn block_index_validates_exact_blocks() {
        let g = Geometry::new(32768, 40000).unwrap();
        assert_eq!(g.block_index(&g.block(0, 1)), Some(1));
        assert_eq!(g.block_index(&g.block(1, 0)), Some(0));
        let bad = BlockInfo {
            piece: 1,
            offset: 0,
            length: 16384,
        };
        assert_eq!(g.block_index(&bad), None);
        let bad = BlockInfo {
            piece: 0,
            offset: 100,
            length: 16384,
        };
        assert_eq!(g.block_index(&bad), None);
    }

    #[test]
    fn pieces_in_range_covers_boundaries() {
        let g = Geometry::new(16384, 16384 * 4).unwrap();
        assert_eq!(g.pieces_in_range(0, 1), 0..1);
        assert_eq!(g.pieces_in_range(16383, 2), 0..2);
        assert_eq!(g.pieces_in_range(16384, 16384), 1..2);
        assert_eq!(g.pieces_in_range(0, 0), 0..0);
    }
}

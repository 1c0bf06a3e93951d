//! Feeding up to `L` messages, each given as segments, to an `L`-lane compression kernel.
//!
//! Each round of the loop asks every unfinished lane for its next run of whole 64-byte
//! blocks: straight from a segment when one holds at least a block at the lane's position,
//! else from the lane's scratch buffer (a block straddling two segments, copied; or the
//! final one or two blocks with the padding and the length). The kernel then compresses
//! the shortest run's count of blocks in every lane. Lanes without a message, or already
//! finished, are fed a copy of a running lane's input and their state ignored.

/// SHA-1's initial state.
const H0: [u32; 5] = [
    0x6745_2301,
    0xEFCD_AB89,
    0x98BA_DCFE,
    0x1032_5476,
    0xC3D2_E1F0,
];

/// The state of `L` lanes, word-major: `state[w][lane]`.
pub(super) type State<const L: usize> = [[u32; L]; 5];

/// Where one lane stands in its message.
struct Cursor<'a> {
    segments: &'a [&'a [u8]],
    /// Current segment and offset in it.
    segment: usize,
    offset: usize,
    /// Whole 64-byte blocks of the message not yet handed to the kernel.
    body_blocks: u64,
    /// Bytes past the last whole block.
    rest: usize,
    /// Total length in bytes.
    length: u64,
    /// The padded final blocks once built: how many, and how many are consumed.
    tail: Option<(usize, usize)>,
    done: bool,
}

/// Where a lane's next run comes from.
#[derive(Clone, Copy)]
enum Source<'a> {
    Data(&'a [u8]),
    /// The lane's scratch buffer, from this byte offset.
    Scratch(usize),
}

impl<'a> Cursor<'a> {
    fn new(segments: &'a [&'a [u8]]) -> Self {
        let length: u64 = segments.iter().map(|s| s.len() as u64).sum();
        Cursor {
            segments,
            segment: 0,
            offset: 0,
            body_blocks: length / 64,
            rest: (length % 64) as usize,
            length,
            tail: None,
            done: false,
        }
    }

    /// Skip exhausted segments.
    fn settle(&mut self) {
        while self.segment < self.segments.len() && self.offset == self.segments[self.segment].len()
        {
            self.segment += 1;
            self.offset = 0;
        }
    }

    /// Copy the next `out.len()` message bytes into `out`, advancing.
    fn copy_into(&mut self, out: &mut [u8]) {
        let mut filled = 0;
        while filled < out.len() {
            self.settle();
            let seg = self.segments[self.segment];
            let n = (seg.len() - self.offset).min(out.len() - filled);
            out[filled..filled + n].copy_from_slice(&seg[self.offset..self.offset + n]);
            self.offset += n;
            filled += n;
        }
    }

    /// The next run of blocks: its source and its length in blocks (at least 1).
    fn next_run(&mut self, scratch: &mut [u8; 128]) -> (Source<'a>, usize) {
        if self.body_blocks > 0 {
            self.settle();
            let seg: &'a [u8] = self.segments[self.segment];
            let whole = ((seg.len() - self.offset) / 64) as u64;
            if whole > 0 {
                let blocks = whole.min(self.body_blocks) as usize;
                return (
                    Source::Data(&seg[self.offset..self.offset + blocks * 64]),
                    blocks,
                );
            }
            // A block straddling segments: copy it (consumed now).
            self.copy_into(&mut scratch[..64]);
            self.body_blocks -= 1;
            return (Source::Scratch(0), 1);
        }
        let (count, used) = match self.tail {
            Some(tail) => tail,
            None => {
                let rest = self.rest;
                scratch.fill(0);
                self.copy_into(&mut scratch[..rest]);
                scratch[rest] = 0x80;
                let count = if rest < 56 { 1 } else { 2 };
                let bits = self.length.wrapping_mul(8).to_be_bytes();
                scratch[count * 64 - 8..count * 64].copy_from_slice(&bits);
                self.tail = Some((count, 0));
                (count, 0)
            }
        };
        (Source::Scratch(used * 64), count - used)
    }

    /// `blocks` blocks of the run from [`Cursor::next_run`] were compressed.
    fn advance(&mut self, source: Source<'a>, blocks: usize) {
        match source {
            Source::Data(_) => {
                self.offset += blocks * 64;
                self.body_blocks -= blocks as u64;
            }
            Source::Scratch(_) => {
                if let Some((count, used)) = &mut self.tail {
                    *used += blocks;
                    self.done = *used == *count;
                }
                // else: a copied straddling block, consumed when copied.
            }
        }
    }
}

/// The digests of `messages` (at most `L`), compressed by `compress`, which must apply
/// SHA-1's compression to each lane's state over that lane's blocks (all inputs the same
/// whole number of 64-byte blocks).
pub(super) fn hash_group<const L: usize>(
    messages: &[&[&[u8]]],
    mut compress: impl FnMut(&mut State<L>, &[&[u8]; L]),
) -> Vec<[u8; 20]> {
    assert!(messages.len() <= L, "more messages than lanes");
    let mut state: State<L> = H0.map(|h| [h; L]);
    let mut cursors: Vec<Cursor> = messages.iter().map(|m| Cursor::new(m)).collect();
    let mut scratch = vec![[0u8; 128]; messages.len()];
    let mut digests = vec![[0u8; 20]; messages.len()];
    let mut runs: Vec<Option<(Source, usize)>> = vec![None; messages.len()];
    loop {
        let mut shortest = usize::MAX;
        for ((cursor, scratch), run) in cursors.iter_mut().zip(&mut scratch).zip(&mut runs) {
            *run = (!cursor.done).then(|| cursor.next_run(scratch));
            if let Some((_, blocks)) = run {
                shortest = shortest.min(*blocks);
            }
        }
        if shortest == usize::MAX {
            return digests;
        }
        let bytes = shortest * 64;
        let slice = |lane: usize| -> Option<&[u8]> {
            match runs[lane]? {
                (Source::Data(d), _) => Some(&d[..bytes]),
                (Source::Scratch(at), _) => Some(&scratch[lane][at..at + bytes]),
            }
        };
        let filler = (0..messages.len()).find_map(slice).unwrap_or(&[]);
        let inputs: [&[u8]; L] = std::array::from_fn(|lane| {
            if lane < messages.len() {
                slice(lane)
            } else {
                None
            }
            .unwrap_or(filler)
        });
        compress(&mut state, &inputs);
        for (lane, (cursor, run)) in cursors.iter_mut().zip(&runs).enumerate() {
            if let Some((source, _)) = run {
                cursor.advance(*source, shortest);
                if cursor.done {
                    for (w, word) in state.iter().enumerate() {
                        digests[lane][w * 4..w * 4 + 4].copy_from_slice(&word[lane].to_be_bytes());
                    }
                }
            }
        }
    }
}

/// SHA-1's compression of one lane, in plain Rust: the reference the kernels are tested
/// against through the driver.
#[cfg(test)]
pub(super) fn compress_portable<const L: usize>(state: &mut State<L>, inputs: &[&[u8]; L]) {
    for (lane, input) in inputs.iter().enumerate() {
        for block in input.chunks_exact(64) {
            let mut w = [0u32; 80];
            for (t, word) in block.chunks_exact(4).enumerate() {
                w[t] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
            }
            for t in 16..80 {
                w[t] = (w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]).rotate_left(1);
            }
            let [mut a, mut b, mut c, mut d, mut e] = [0, 1, 2, 3, 4].map(|i| state[i][lane]);
            for (t, wt) in w.iter().enumerate() {
                let (f, k) = match t / 20 {
                    0 => ((b & c) | (!b & d), 0x5A82_7999),
                    1 => (b ^ c ^ d, 0x6ED9_EBA1),
                    2 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                    _ => (b ^ c ^ d, 0xCA62_C1D6),
                };
                let tmp = a
                    .rotate_left(5)
                    .wrapping_add(f)
                    .wrapping_add(e)
                    .wrapping_add(k)
                    .wrapping_add(*wt);
                e = d;
                d = c;
                c = b.rotate_left(30);
                b = a;
                a = tmp;
            }
            for (i, v) in [a, b, c, d, e].into_iter().enumerate() {
                state[i][lane] = state[i][lane].wrapping_add(v);
            }
        }
    }
}

//! The driver's data path: blocks arriving into per-piece buffers, complete pieces to
//! the hash pool, results back (have to every peer, or blame), and the peers' requests
//! served from disk in batches on the blocking pool: read into memory, or (plaintext
//! connections without an upload limit) only located on disk and sent with `sendfile`
//! by the connection task.

use std::net::SocketAddr;
use std::time::Instant;

use bitswarm_engine::BLOCK_LEN;
use bitswarm_engine::{BlockReceived, Fault, PeerKey};
use bitswarm_storage::{split_sources, PieceData, PieceOutcome, SendSource, Storage};
use bitswarm_wire::BlockInfo;
use bytes::Bytes;
use tracing::{info, warn};

use crate::connection::{OutBuf, UPLOAD_BACKLOG_LIMIT};
use crate::stats::TorrentState;
use crate::torrent::{Internal, Torrent};
use crate::torrent_peer::max_unhashed_pieces;

/// Most blocks read from disk in one blocking job.
const READ_BATCH: usize = 64;

/// Zeros for padding files' bytes in a zero-copy upload (at most a block at a time).
static ZEROS: [u8; BLOCK_LEN as usize] = [0; BLOCK_LEN as usize];

/// A block ready to upload: its bytes, or where they are on disk.
#[derive(Debug)]
pub enum UploadBlock {
    /// Read into memory.
    Bytes(Bytes),
    /// Located on disk, one source per file the block crosses (zero-copy).
    Sources(Vec<SendSource>),
}

impl Torrent {
    pub(crate) fn on_block(&mut self, key: PeerKey, block: BlockInfo, data: Bytes, now: Instant) {
        self.down.record(data.len() as u64, now);
        if let Some(p) = self.peers.get_mut(&key) {
            p.down.record(data.len() as u64, now);
        }
        match self.picker.block_received(key, &block) {
            Err(_) => {
                if let Some(p) = self.peers.get_mut(&key) {
                    p.session
                        .close_protocol("block outside the torrent's geometry");
                }
                if let Some(addr) = self.addr_of(key) {
                    self.scores
                        .entry(addr)
                        .or_default()
                        .record(Fault::ProtocolError);
                }
            }
            Ok(BlockReceived::New {
                cancel,
                piece_complete,
            }) => {
                // The block is kept as received (it shares the socket read's buffer):
                // no copy into a piece buffer; the hash pool hashes and writes the
                // blocks in order.
                let blocks = self.geometry.blocks_in_piece(block.piece) as usize;
                let slots = self
                    .buffers
                    .entry(block.piece)
                    .or_insert_with(|| vec![None; blocks]);
                if let Some(slot) = slots.get_mut((block.offset / BLOCK_LEN) as usize) {
                    *slot = Some(data);
                }
                for other in cancel {
                    if let Some(p) = self.peers.get_mut(&other) {
                        p.session.cancel(block, now);
                        self.touch(other);
                    }
                }
                if piece_complete {
                    if let Some(slots) = self.buffers.remove(&block.piece) {
                        // Every block arrived (the picker says so); a missing one would
                        // make the piece short, and its hash fail.
                        let blocks = slots.into_iter().flatten().collect();
                        self.submit_hash(block.piece, PieceData::Blocks(blocks));
                    }
                }
            }
            Ok(BlockReceived::Duplicate) | Ok(BlockReceived::Unwanted) => {}
        }
    }

    /// Hands a complete piece to the hash pool, behind any pieces already waiting.
    fn submit_hash(&mut self, piece: u32, data: PieceData) {
        self.hash_backlog.push_back((piece, data));
        self.drain_hash_backlog();
    }

    /// Hands waiting pieces to the hash pool while its queue takes them. The pool (and
    /// its bounded queue) is shared by every torrent of the session, so a full queue may
    /// hold only other torrents' pieces: this torrent then has no result of its own
    /// coming to retry on, and the tick retries instead (`torrent_admin.rs`).
    pub(crate) fn drain_hash_backlog(&mut self) {
        while let Some((piece, data)) = self.hash_backlog.pop_front() {
            let Some(expected) = self
                .setup
                .metainfo
                .info()
                .pieces()
                .get(piece as usize)
                .copied()
            else {
                continue;
            };
            let tx = self.internal_tx.clone();
            let res = self.setup.hash_pool.try_verify_and_write_data(
                self.setup.storage.clone(),
                piece,
                data,
                expected,
                move |outcome, data| {
                    // The blocks' memory (the receive buffers) is freed here, on the pool.
                    drop(data);
                    let _ = tx.send(Internal::Hashed(outcome));
                },
            );
            match res {
                Ok(()) => self.hashing += 1,
                Err(full) => {
                    self.hash_backlog.push_front((full.piece, full.data));
                    break;
                }
            }
        }
    }

    pub(crate) fn on_hashed(&mut self, outcome: PieceOutcome) {
        self.hashing = self.hashing.saturating_sub(1);
        self.drain_hash_backlog();
        let now = Instant::now();
        let max_unhashed = max_unhashed_pieces(self.geometry.piece_length());
        if self.hash_limited && self.hash_backlog.len() + self.hashing < max_unhashed {
            // Room again for pieces held back (`fill_requests`).
            self.hash_limited = false;
            let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
            for k in keys {
                self.fill_requests(k, now);
                self.touch(k);
            }
        }
        match outcome {
            PieceOutcome::Verified { piece } => self.on_piece_good(piece, now),
            PieceOutcome::HashMismatch { piece } => self.on_piece_bad(piece),
            PieceOutcome::WriteFailed { piece, error } => {
                self.picker.piece_verified(piece, false);
                self.fail(format!("writing piece {piece} failed: {error}"));
            }
        }
    }

    fn on_piece_good(&mut self, piece: u32, now: Instant) {
        let contributors = self.picker.piece_verified(piece, true);
        if let Some(v) = self.verified.get_mut(piece as usize) {
            *v = true;
        }
        self.resume_dirty = true;
        // A peer blamed for an earlier failure of this piece that now delivered all of it
        // alone was most likely not the culprit: forgive that failure.
        if let Some(blamed) = self.failed_by.remove(&piece) {
            if let [only] = contributors.as_slice() {
                if let Some(addr) = self.addr_of(*only) {
                    if blamed.contains(&addr) {
                        if let Some(s) = self.scores.get_mut(&addr) {
                            s.hash_failures = s.hash_failures.saturating_sub(1);
                        }
                    }
                }
            }
        }
        // The `have` is queued, not flushed: it goes out with the peer's next write (its
        // next event, or the driver's tick within 100 ms), batched with others, instead
        // of a send call (and a wake-up and read at the peer) per piece per peer: a
        // downloader of 32 KiB pieces at 2 MiB/s verifies 64 pieces a second.
        let complete = self.picker.is_complete();
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for k in keys {
            let Some(p) = self.peers.get_mut(&k) else {
                continue;
            };
            p.session.handle_piece_verified(piece, now);
            // Only our interest in a peer that has this piece can change (to none).
            if p.session.am_interested() && (complete || p.session.peer_pieces().get(piece)) {
                self.update_interest(k, now);
            }
        }
        if complete && self.completed_at.is_none() {
            self.on_complete(now);
        }
    }

    fn on_piece_bad(&mut self, piece: u32) {
        self.hash_failures += 1;
        let contributors = self.picker.piece_verified(piece, false);
        let addrs: Vec<SocketAddr> = contributors
            .iter()
            .filter_map(|k| self.addr_of(*k))
            .collect();
        warn!(piece, peers = ?addrs, "piece failed its hash check; every peer that sent a block of it gets a failure");
        for a in &addrs {
            self.scores
                .entry(*a)
                .or_default()
                .record(Fault::HashFailure);
        }
        self.failed_by.insert(piece, addrs);
        // The piece is wanted again: peers may be interesting again.
        let now = Instant::now();
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for k in keys {
            self.update_interest(k, now);
            self.fill_requests(k, now);
            self.touch(k);
        }
    }

    fn on_complete(&mut self, now: Instant) {
        self.completed_at = Some(now);
        let secs = now.duration_since(self.started).as_secs_f64();
        info!(torrent = %self.setup.metainfo.info().name(), secs, "download complete");
        self.state = if self.setup.seed_after {
            TorrentState::Seeding
        } else {
            TorrentState::Complete
        };
        self.announce_tx.send_modify(|s| {
            s.completed = true;
            s.left = 0;
        });
        self.save_resume_soon();
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for k in keys {
            let Some(p) = self.peers.get_mut(&k) else {
                continue;
            };
            // Seeds have nothing for us and want nothing from us; without seeding, nobody
            // needs us.
            if !self.setup.seed_after || p.is_seed() {
                p.session.close();
                self.touch(k);
            }
        }
        // Seeding ranks peers differently (by upload rate): re-evaluate now rather than
        // at the next 10 s turn.
        if self.accepting() {
            self.rechoke(now);
        }
        self.publish_stats();
    }

    pub(crate) fn on_request(&mut self, key: PeerKey, b: BlockInfo, now: Instant) {
        let valid = self
            .setup
            .metainfo
            .info()
            .geometry()
            .is_valid_request(b.piece, b.offset, b.length);
        let have = self
            .verified
            .get(b.piece as usize)
            .copied()
            .unwrap_or(false);
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        if !valid {
            p.session
                .close_protocol("request outside the torrent's geometry");
            return;
        }
        if !have {
            p.session.reject(b, now);
            return;
        }
        p.pending_uploads.push_back(b);
    }

    /// Starts disk reads for a peer's pending requests while its backlog allows.
    pub(crate) fn serve_uploads(&mut self, key: PeerKey) {
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        self.uploaded_zero_copy += p.conn.take_sent_from_file();
        let written = p.conn.take_uploaded();
        if written > 0 {
            let now = Instant::now();
            p.up.record(written, now);
            self.up.record(written, now);
        }
        let zero_copy = self.setup.config.zero_copy_upload
            && p.conn.plaintext()
            && self.setup.limiters.upload.rate().is_none();
        while !p.pending_uploads.is_empty() && p.conn.backlog() + p.reading < UPLOAD_BACKLOG_LIMIT {
            let n = p.pending_uploads.len().min(READ_BATCH);
            let batch: Vec<BlockInfo> = p.pending_uploads.drain(..n).collect();
            let bytes: usize = batch.iter().map(|b| b.length as usize).sum();
            p.reading += bytes;
            let storage = self.setup.storage.clone();
            let tx = self.internal_tx.clone();
            tokio::task::spawn_blocking(move || {
                let (blocks, error) = if zero_copy {
                    locate_blocks(&storage, &batch)
                } else {
                    read_blocks(&storage, &batch)
                };
                let _ = tx.send(Internal::DiskRead {
                    key,
                    blocks,
                    bytes,
                    error,
                });
            });
        }
    }

    pub(crate) fn on_disk_read(
        &mut self,
        key: PeerKey,
        blocks: Vec<(BlockInfo, UploadBlock)>,
        bytes: usize,
        error: Option<String>,
    ) {
        if let Some(e) = error {
            warn!(error = %e, "reading blocks for upload failed");
        }
        let now = Instant::now();
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        p.reading = p.reading.saturating_sub(bytes);
        // The blocks go out now, tagged as payload: the connection task counts them as
        // uploaded once written (not here, where they are only queued).
        let mut out = Vec::new();
        for (b, data) in blocks {
            match data {
                UploadBlock::Bytes(data) => {
                    let (ptr, len) = (data.as_ptr(), data.len());
                    if p.session.send_block(b, data, now) {
                        while let Some(buf) = p.session.poll_transmit() {
                            out.push(if buf.as_ptr() == ptr && buf.len() == len {
                                OutBuf::payload(buf)
                            } else {
                                OutBuf::protocol(buf)
                            });
                        }
                    }
                }
                UploadBlock::Sources(sources) => {
                    // The header (and whatever the session queued before it), then the
                    // block's bytes from the file(s).
                    if p.session.send_block_header(b, now) {
                        while let Some(buf) = p.session.poll_transmit() {
                            out.push(OutBuf::protocol(buf));
                        }
                        out.extend(sources.into_iter().map(|s| match s {
                            SendSource::File(range) => OutBuf::file(range),
                            SendSource::Zeros(n) => {
                                OutBuf::payload(
                                    ZEROS.get(..n).map_or_else(
                                        || Bytes::from(vec![0; n]),
                                        Bytes::from_static,
                                    ),
                                )
                            }
                        }));
                    }
                }
            }
        }
        p.conn.send_payload(out);
        self.serve_uploads(key);
        self.touch(key);
    }
}

/// A blocking job's result: the blocks ready, and the error that stopped it early.
type Prepared = (Vec<(BlockInfo, UploadBlock)>, Option<String>);

/// The runs of adjacent blocks of one piece in `batch`: index ranges.
fn runs(batch: &[BlockInfo]) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let first = *batch.get(i)?;
        let mut j = i + 1;
        let mut end = first.offset + first.length;
        while j < batch.len() && batch[j].piece == first.piece && batch[j].offset == end {
            end += batch[j].length;
            j += 1;
        }
        let run = i..j;
        i = j;
        Some(run)
    })
}

/// Reads blocks, one positioned read per run of adjacent blocks of a piece; the run's
/// buffer is split into the blocks without copying.
fn read_blocks(storage: &Storage, batch: &[BlockInfo]) -> Prepared {
    let mut out = Vec::with_capacity(batch.len());
    for r in runs(batch) {
        let blocks = &batch[r];
        let (first, len) = run_span(blocks);
        let mut run = match storage.read_vec(first.piece, first.offset, len) {
            Ok(v) => Bytes::from(v),
            Err(e) => return (out, Some(e.to_string())),
        };
        for b in blocks {
            out.push((*b, UploadBlock::Bytes(run.split_to(b.length as usize))));
        }
    }
    (out, None)
}

/// Locates blocks on disk for a zero-copy upload, one lookup (and read-ahead) per run of
/// adjacent blocks of a piece, split into the blocks' sources.
fn locate_blocks(storage: &Storage, batch: &[BlockInfo]) -> Prepared {
    let mut out = Vec::with_capacity(batch.len());
    for r in runs(batch) {
        let blocks = &batch[r];
        let (first, len) = run_span(blocks);
        let sources = match storage.send_sources(first.piece, first.offset, len) {
            Ok(s) => s,
            Err(e) => return (out, Some(e.to_string())),
        };
        let lengths: Vec<usize> = blocks.iter().map(|b| b.length as usize).collect();
        for (b, s) in blocks.iter().zip(split_sources(sources, &lengths)) {
            out.push((*b, UploadBlock::Sources(s)));
        }
    }
    (out, None)
}

/// The first block of a run and the run's length in bytes.
fn run_span(blocks: &[BlockInfo]) -> (BlockInfo, usize) {
    let first = blocks[0];
    let len = blocks.iter().map(|b| b.length as usize).sum();
    (first, len)
}

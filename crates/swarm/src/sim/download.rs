//! A client's download thread: for each wanted file, ask the tracker for its hashes and
//! swarm, fetch every segment from swarm members, check it, write the output file.
//!
//! Load spreading: holders are tried in rotation (a cursor that moves past each holder
//! that served us), starting at a rank-dependent position, so no holder, seed or peer, is
//! drained. Each client also walks the segments starting at a rank-dependent offset
//! (golden-ratio spacing), so leechers hold different segments early and can serve each
//! other instead of all asking the seeds for the same ones.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use bitswarm_cluster::{Comm, Rank, Source};

use super::error::SimError;
use super::hash::SegmentHash;
use super::holdings::Holdings;
use super::input::{out_file_name, WantedEntry};
use super::message::{
    Message, SwarmMember, TAG_FROM_TRACKER, TAG_SEGMENT_REPLY, TAG_TO_TRACKER, TAG_UPLOAD,
};

/// Ask the tracker for a fresh swarm after every this many received segments.
pub const SWARM_REFRESH_EVERY: usize = 10;

/// What the download thread did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct DownloadCounts {
    pub(crate) downloaded: u32,
    pub(crate) not_ok_received: u32,
    pub(crate) rejected: u32,
    pub(crate) from: BTreeMap<Rank, u32>,
}

/// The first segment a client fetches of a file of `n` segments: spread over the file by
/// the golden ratio, so any set of consecutive ranks starts far apart.
pub(crate) fn start_offset(rank: Rank, n: usize) -> usize {
    const PHI_FRACTION: f64 = 0.618_033_988_749_894_9;
    if n == 0 {
        return 0;
    }
    (((rank as f64) * PHI_FRACTION).fract() * n as f64) as usize % n
}

/// Holders of a file other than ourselves, tried in rotation.
#[derive(Debug)]
pub(crate) struct HolderRotation {
    holders: Vec<Rank>,
    cursor: usize,
}

impl HolderRotation {
    pub(crate) fn new(me: Rank, swarm: &[SwarmMember]) -> Self {
        let mut r = HolderRotation {
            holders: Vec::new(),
            cursor: me,
        };
        r.update(me, swarm);
        r
    }

    /// Replace the members, keeping the cursor's position.
    pub(crate) fn update(&mut self, me: Rank, swarm: &[SwarmMember]) {
        self.holders = swarm.iter().map(|m| m.rank).filter(|&r| r != me).collect();
        if !self.holders.is_empty() {
            self.cursor %= self.holders.len();
        }
    }

    /// How many holders there are.
    pub(crate) fn len(&self) -> usize {
        self.holders.len()
    }

    /// The holder to try at step `i` (0-based) for the next segment.
    pub(crate) fn nth(&self, i: usize) -> Rank {
        self.holders[(self.cursor + i) % self.holders.len()]
    }

    /// The holders in the order to try them for the next segment.
    #[cfg(test)]
    pub(crate) fn order(&self) -> impl Iterator<Item = Rank> + '_ {
        (0..self.len()).map(move |i| self.nth(i))
    }

    /// `rank` served us: the next segment starts with the holder after it.
    pub(crate) fn served_by(&mut self, rank: Rank) {
        if let Some(p) = self.holders.iter().position(|&r| r == rank) {
            self.cursor = (p + 1) % self.holders.len();
        }
    }
}

/// The download side of one client.
pub(crate) struct Downloader<'a, C: Comm + ?Sized> {
    pub(crate) comm: &'a C,
    pub(crate) holdings: &'a Holdings,
    pub(crate) dir: &'a Path,
    pub(crate) deadline: Instant,
    pub(crate) counts: DownloadCounts,
}

impl<C: Comm + ?Sized> Downloader<'_, C> {
    fn rank(&self) -> Rank {
        self.comm.rank()
    }

    fn decode(&self, from: Rank, payload: &[u8]) -> Result<Message, SimError> {
        Message::decode(payload).map_err(|source| SimError::Decode { from, source })
    }

    fn unexpected(&self, from: Rank, msg: &Message) -> SimError {
        SimError::Unexpected {
            rank: self.rank(),
            from,
            what: format!("{msg:?}"),
        }
    }

    /// Send to the tracker and wait for its reply.
    fn ask_tracker(&self, msg: Message) -> Result<Message, SimError> {
        self.comm.send(0, TAG_TO_TRACKER, msg.encode())?;
        let env =
            self.comm
                .recv_deadline(Source::Rank(0), TAG_FROM_TRACKER, Some(self.deadline))?;
        self.decode(0, &env.payload)
    }

    fn ask_swarm(
        &self,
        file: &str,
        update: bool,
    ) -> Result<(Vec<SegmentHash>, Vec<SwarmMember>), SimError> {
        let msg = if update {
            Message::SwarmUpdate {
                file: file.to_owned(),
            }
        } else {
            Message::FileRequest {
                file: file.to_owned(),
            }
        };
        match self.ask_tracker(msg)? {
            Message::FileInfo {
                file: f,
                hashes,
                swarm,
            } if f == file => Ok((hashes, swarm)),
            Message::Swarm { file: f, swarm } if f == file && update => Ok((Vec::new(), swarm)),
            Message::UnknownFile { .. } => Err(SimError::UnknownFile {
                rank: self.rank(),
                file: file.to_owned(),
            }),
            other => Err(self.unexpected(0, &other)),
        }
    }

    /// Download every wanted file, then tell the tracker we are done.
    pub(crate) fn run(&mut self, wanted: &[WantedEntry]) -> Result<(), SimError> {
        for w in wanted {
            self.download_file(&w.name)?;
        }
        self.comm
            .send(0, TAG_TO_TRACKER, Message::AllDone.encode())?;
        Ok(())
    }

    fn download_file(&mut self, file: &str) -> Result<(), SimError> {
        let me = self.rank();
        let (hashes, swarm) = self.ask_swarm(file, false)?;
        let n = hashes.len();
        self.holdings.start(file, n);
        let mut holders = HolderRotation::new(me, &swarm);
        let first = start_offset(me, n);
        for k in 0..n {
            let index = (first + k) % n;
            self.fetch_segment(file, index, hashes[index], &mut holders)?;
            let received = k + 1;
            if received % SWARM_REFRESH_EVERY == 0 && received < n {
                // The first update also registers us as a peer of the file.
                let (_, swarm) = self.ask_swarm(file, true)?;
                holders.update(me, &swarm);
            }
        }
        self.write_output(file, &hashes)?;
        self.comm.send(
            0,
            TAG_TO_TRACKER,
            Message::FileDone {
                file: file.to_owned(),
            }
            .encode(),
        )?;
        Ok(())
    }

    /// Ask holders in rotation until one gives the segment with the expected hash; if
    /// every holder refuses, refresh the swarm once and go round again.
    fn fetch_segment(
        &mut self,
        file: &str,
        index: usize,
        expected: SegmentHash,
        holders: &mut HolderRotation,
    ) -> Result<(), SimError> {
        let index32 = index as u32;
        for round in 0..2 {
            if round == 1 {
                let (_, swarm) = self.ask_swarm(file, false)?;
                holders.update(self.rank(), &swarm);
            }
            for step in 0..holders.len() {
                let holder = holders.nth(step);
                let request = Message::SegmentRequest {
                    file: file.to_owned(),
                    index: index32,
                };
                self.comm.send(holder, TAG_UPLOAD, request.encode())?;
                let env = self.comm.recv_deadline(
                    Source::Rank(holder),
                    TAG_SEGMENT_REPLY,
                    Some(self.deadline),
                )?;
                match self.decode(holder, &env.payload)? {
                    Message::SegmentReply {
                        file: f,
                        index: i,
                        hash,
                    } if f == file && i == index32 => match hash {
                        Some(h) if h == expected => {
                            self.holdings.set(file, index, h);
                            self.counts.downloaded += 1;
                            *self.counts.from.entry(holder).or_default() += 1;
                            holders.served_by(holder);
                            return Ok(());
                        }
                        Some(_) => self.counts.rejected += 1,
                        None => self.counts.not_ok_received += 1,
                    },
                    other => return Err(self.unexpected(holder, &other)),
                }
            }
        }
        Err(SimError::NoHolder {
            rank: self.rank(),
            file: file.to_owned(),
            index: index32,
        })
    }

    fn write_output(&self, file: &str, hashes: &[SegmentHash]) -> Result<(), SimError> {
        let path = self.dir.join(out_file_name(self.rank(), file));
        let mut text = Vec::with_capacity(hashes.len() * 33);
        for (i, expected) in hashes.iter().enumerate() {
            // Written from what we hold, which was checked against `hashes`.
            let h = self.holdings.get(file, i).unwrap_or(*expected);
            text.extend_from_slice(h.as_bytes());
            text.push(b'\n');
        }
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(&text))
            .map_err(|source| SimError::Output { path, source })
    }
}

#[cfg(test)]
#[path = "download_tests.rs"]
mod tests;

//! The simulation's messages, their tags and their byte encoding.

use bitswarm_cluster::{Rank, Tag};

use super::codec::{DecodeError, Reader, Writer};
use super::hash::SegmentHash;

/// Client → tracker (received by the tracker from any rank).
pub const TAG_TO_TRACKER: Tag = 1;
/// Tracker → a client's download thread.
pub const TAG_FROM_TRACKER: Tag = 2;
/// → a client's upload thread: segment requests from peers, `Stop` from the tracker.
pub const TAG_UPLOAD: Tag = 3;
/// Upload thread → the requesting client's download thread.
pub const TAG_SEGMENT_REPLY: Tag = 4;

/// A file a client owns completely: its name and segment hashes in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedFile {
    /// File name (at most 15 characters).
    pub name: String,
    /// Segment hashes in segment order.
    pub hashes: Vec<SegmentHash>,
}

/// What a swarm member is for one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Holds the whole file.
    Seed,
    /// Holds part of it (registered after its first 10 segments).
    Peer,
}

/// One holder of a file, as the tracker lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwarmMember {
    /// The holder's rank.
    pub rank: Rank,
    /// Seed or peer.
    pub role: Role,
}

/// A client's counters, gathered by rank 0 at the end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Segments received and accepted.
    pub downloaded: u32,
    /// Segments served (OK replies sent).
    pub served: u32,
    /// Requests answered NOT-OK (segment not held).
    pub refused: u32,
    /// NOT-OK replies received.
    pub not_ok_received: u32,
    /// Replies whose hash did not match the tracker's (rejected and re-asked elsewhere).
    pub rejected: u32,
    /// Segments received from each rank, by rank.
    pub from: Vec<(Rank, u32)>,
}

/// Every message of the simulation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Broadcast by rank 0 before anything else: every in-file is valid.
    InputOk,
    /// Broadcast by rank 0: an in-file is invalid; nobody starts.
    InputRejected {
        /// The error line, `inR.txt:LINE: ...`.
        reason: String,
    },
    /// Broadcast by the tracker once every client has registered.
    Ack,
    /// Client → tracker: the files I own.
    Register {
        /// Owned files with their hashes.
        files: Vec<OwnedFile>,
    },
    /// Client → tracker: I want this file (reply: `FileInfo`).
    FileRequest {
        /// File name.
        file: String,
    },
    /// Client → tracker: I hold some segments of this file now (I am a peer); send me the
    /// current swarm (reply: `Swarm`).
    SwarmUpdate {
        /// File name.
        file: String,
    },
    /// Client → tracker: I hold this file completely (I am a seed of it).
    FileDone {
        /// File name.
        file: String,
    },
    /// Client → tracker: I have every file I wanted.
    AllDone,
    /// Tracker → client: a file's hashes and swarm.
    FileInfo {
        /// File name.
        file: String,
        /// Segment hashes in order.
        hashes: Vec<SegmentHash>,
        /// Its holders.
        swarm: Vec<SwarmMember>,
    },
    /// Tracker → client: a file's current swarm.
    Swarm {
        /// File name.
        file: String,
        /// Its holders.
        swarm: Vec<SwarmMember>,
    },
    /// Tracker → client: no client owns this file.
    UnknownFile {
        /// File name.
        file: String,
    },
    /// Download thread → a holder's upload thread: send me this segment.
    SegmentRequest {
        /// File name.
        file: String,
        /// Segment index.
        index: u32,
    },
    /// Upload thread → download thread: the segment (OK, with the hash the uploader holds)
    /// or `hash: None` (NOT-OK).
    SegmentReply {
        /// File name.
        file: String,
        /// Segment index.
        index: u32,
        /// The hash held, or `None` for NOT-OK.
        hash: Option<SegmentHash>,
    },
    /// Tracker → upload threads: everyone is done, stop serving.
    Stop,
    /// Client → rank 0 (gather): my counters.
    Stats(ClientStats),
}

mod kind {
    pub const INPUT_OK: u8 = 1;
    pub const INPUT_REJECTED: u8 = 2;
    pub const ACK: u8 = 3;
    pub const REGISTER: u8 = 4;
    pub const FILE_REQUEST: u8 = 5;
    pub const SWARM_UPDATE: u8 = 6;
    pub const FILE_DONE: u8 = 7;
    pub const ALL_DONE: u8 = 8;
    pub const FILE_INFO: u8 = 9;
    pub const SWARM: u8 = 10;
    pub const UNKNOWN_FILE: u8 = 11;
    pub const SEGMENT_REQUEST: u8 = 12;
    pub const SEGMENT_REPLY: u8 = 13;
    pub const STOP: u8 = 14;
    pub const STATS: u8 = 15;
}

fn write_hashes(w: &mut Writer, hashes: &[SegmentHash]) {
    w.u32(hashes.len() as u32);
    for h in hashes {
        w.hash(h);
    }
}

fn read_hashes(r: &mut Reader<'_>) -> Result<Vec<SegmentHash>, DecodeError> {
    let n = r.count(32)?;
    (0..n).map(|_| r.hash()).collect()
}

fn write_swarm(w: &mut Writer, swarm: &[SwarmMember]) {
    w.u32(swarm.len() as u32);
    for m in swarm {
        w.u32(m.rank as u32).u8(match m.role {
            Role::Seed => 0,
            Role::Peer => 1,
        });
    }
}

fn read_swarm(r: &mut Reader<'_>) -> Result<Vec<SwarmMember>, DecodeError> {
    let n = r.count(5)?;
    (0..n)
        .map(|_| {
            let rank = r.u32()? as Rank;
            let role = if r.u8()? == 0 { Role::Seed } else { Role::Peer };
            Ok(SwarmMember { rank, role })
        })
        .collect()
}

impl Message {
    /// Encode to bytes.
    pub fn encode(&self) -> Vec<u8> {
        use kind::*;
        match self {
            Message::InputOk => Writer::new(INPUT_OK).finish(),
            Message::InputRejected { reason } => Writer::new(INPUT_REJECTED).str(reason).finish(),
            Message::Ack => Writer::new(ACK).finish(),
            Message::Register { files } => {
                let mut w = Writer::new(REGISTER);
                w.u32(files.len() as u32);
                for f in files {
                    w.str(&f.name);
                    write_hashes(&mut w, &f.hashes);
                }
                w.finish()
            }
            Message::FileRequest { file } => Writer::new(FILE_REQUEST).str(file).finish(),
            Message::SwarmUpdate { file } => Writer::new(SWARM_UPDATE).str(file).finish(),
            Message::FileDone { file } => Writer::new(FILE_DONE).str(file).finish(),
            Message::AllDone => Writer::new(ALL_DONE).finish(),
            Message::FileInfo {
                file,
                hashes,
                swarm,
            } => {
                let mut w = Writer::new(FILE_INFO);
                w.str(file);
                write_hashes(&mut w, hashes);
                write_swarm(&mut w, swarm);
                w.finish()
            }
            Message::Swarm { file, swarm } => {
                let mut w = Writer::new(SWARM);
                w.str(file);
                write_swarm(&mut w, swarm);
                w.finish()
            }
            Message::UnknownFile { file } => Writer::new(UNKNOWN_FILE).str(file).finish(),
            Message::SegmentRequest { file, index } => {
                Writer::new(SEGMENT_REQUEST).str(file).u32(*index).finish()
            }
            Message::SegmentReply { file, index, hash } => {
                let mut w = Writer::new(SEGMENT_REPLY);
                w.str(file).u32(*index);
                match hash {
                    Some(h) => w.u8(1).hash(h),
                    None => w.u8(0),
                };
                w.finish()
            }
            Message::Stop => Writer::new(STOP).finish(),
            Message::Stats(s) => {
                let mut w = Writer::new(STATS);
                w.u32(s.downloaded)
                    .u32(s.served)
                    .u32(s.refused)
                    .u32(s.not_ok_received)
                    .u32(s.rejected)
                    .u32(s.from.len() as u32);
                for (rank, n) in &s.from {
                    w.u64(*rank as u64).u32(*n);
                }
                w.finish()
            }
        }
    }

    /// Decode from bytes.
    pub fn decode(buf: &[u8]) -> Result<Message, DecodeError> {
        use kind::*;
        let mut r = Reader::new(buf);
        let msg = match r.u8()? {
            INPUT_OK => Message::InputOk,
            INPUT_REJECTED => Message::InputRejected { reason: r.str()? },
            ACK => Message::Ack,
            REGISTER => {
                let n = r.count(6)?;
                let mut files = Vec::with_capacity(n);
                for _ in 0..n {
                    let name = r.str()?;
                    let hashes = read_hashes(&mut r)?;
                    files.push(OwnedFile { name, hashes });
                }
                Message::Register { files }
            }
            FILE_REQUEST => Message::FileRequest { file: r.str()? },
            SWARM_UPDATE => Message::SwarmUpdate { file: r.str()? },
            FILE_DONE => Message::FileDone { file: r.str()? },
            ALL_DONE => Message::AllDone,
            FILE_INFO => Message::FileInfo {
                file: r.str()?,
                hashes: read_hashes(&mut r)?,
                swarm: read_swarm(&mut r)?,
            },
            SWARM => Message::Swarm {
                file: r.str()?,
                swarm: read_swarm(&mut r)?,
            },
            UNKNOWN_FILE => Message::UnknownFile { file: r.str()? },
            SEGMENT_REQUEST => Message::SegmentRequest {
                file: r.str()?,
                index: r.u32()?,
            },
            SEGMENT_REPLY => {
                let file = r.str()?;
                let index = r.u32()?;
                let hash = if r.u8()? == 0 { None } else { Some(r.hash()?) };
                Message::SegmentReply { file, index, hash }
            }
            STOP => Message::Stop,
            STATS => {
                let mut s = ClientStats {
                    downloaded: r.u32()?,
                    served: r.u32()?,
                    refused: r.u32()?,
                    not_ok_received: r.u32()?,
                    rejected: r.u32()?,
                    from: Vec::new(),
                };
                let n = r.count(12)?;
                for _ in 0..n {
                    s.from.push((r.u64()? as Rank, r.u32()?));
                }
                Message::Stats(s)
            }
            other => return Err(DecodeError::UnknownKind(other)),
        };
        r.end()?;
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(c: char) -> SegmentHash {
        SegmentHash::parse(&c.to_string().repeat(32)).unwrap()
    }

    #[test]
    fn every_message_round_trips() {
        let swarm = vec![
            SwarmMember {
                rank: 1,
                role: Role::Seed,
            },
            SwarmMember {
                rank: 700,
                role: Role::Peer,
            },
        ];
        let all = vec![
            Message::InputOk,
            Message::InputRejected {
                reason: "in3.txt:4: bad".into(),
            },
            Message::Ack,
            Message::Register {
                files: vec![OwnedFile {
                    name: "file1".into(),
                    hashes: vec![h('a'), h('B')],
                }],
            },
            Message::Register { files: vec![] },
            Message::FileRequest { file: "f".into() },
            Message::SwarmUpdate { file: "f".into() },
            Message::FileDone { file: "f".into() },
            Message::AllDone,
            Message::FileInfo {
                file: "f".into(),
                hashes: vec![h('1')],
                swarm: swarm.clone(),
            },
            Message::Swarm {
                file: "f".into(),
                swarm,
            },
            Message::UnknownFile { file: "zz".into() },
            Message::SegmentRequest {
                file: "f".into(),
                index: 99,
            },
            Message::SegmentReply {
                file: "f".into(),
                index: 3,
                hash: Some(h('c')),
            },
            Message::SegmentReply {
                file: "f".into(),
                index: 3,
                hash: None,
            },
            Message::Stop,
            Message::Stats(ClientStats {
                downloaded: 5,
                served: 6,
                refused: 1,
                not_ok_received: 2,
                rejected: 0,
                from: vec![(1, 3), (2, 2)],
            }),
        ];
        for m in all {
            assert_eq!(Message::decode(&m.encode()).unwrap(), m);
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert_eq!(Message::decode(&[]), Err(DecodeError::Truncated));
        assert_eq!(Message::decode(&[200]), Err(DecodeError::UnknownKind(200)));
        assert_eq!(Message::decode(&[3, 0]), Err(DecodeError::Trailing(1)));
        // A huge count with no data behind it must not allocate.
        assert_eq!(
            Message::decode(&[4, 255, 255, 255, 255]),
            Err(DecodeError::Truncated)
        );
        let mut m = Message::SegmentReply {
            file: "f".into(),
            index: 3,
            hash: Some(h('c')),
        }
        .encode();
        let last = m.len() - 1;
        m[last] = b'x';
        assert_eq!(Message::decode(&m), Err(DecodeError::BadHash));
    }
}

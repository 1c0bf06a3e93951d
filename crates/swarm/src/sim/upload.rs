//! A client's upload thread: answers segment requests until the tracker says stop.

use std::time::Instant;

use bitswarm_cluster::{Comm, Source};

use super::error::SimError;
use super::holdings::Holdings;
use super::message::{Message, TAG_SEGMENT_REPLY, TAG_UPLOAD};

/// What the upload thread did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UploadCounts {
    /// OK replies.
    pub(crate) served: u32,
    /// NOT-OK replies.
    pub(crate) refused: u32,
}

/// Serve segment requests (OK with the held hash, or NOT-OK) until rank 0 sends `Stop`.
pub(crate) fn serve_uploads<C: Comm + ?Sized>(
    comm: &C,
    holdings: &Holdings,
    deadline: Instant,
) -> Result<UploadCounts, SimError> {
    let mut counts = UploadCounts::default();
    loop {
        let env = comm.recv_deadline(Source::Any, TAG_UPLOAD, Some(deadline))?;
        let msg = Message::decode(&env.payload).map_err(|source| SimError::Decode {
            from: env.source,
            source,
        })?;
        match msg {
            Message::SegmentRequest { file, index } => {
                let hash = holdings.get(&file, index as usize);
                if hash.is_some() {
                    counts.served += 1;
                } else {
                    counts.refused += 1;
                }
                let reply = Message::SegmentReply { file, index, hash };
                comm.send(env.source, TAG_SEGMENT_REPLY, reply.encode())?;
            }
            Message::Stop if env.source == 0 => return Ok(counts),
            other => {
                return Err(SimError::Unexpected {
                    rank: comm.rank(),
                    from: env.source,
                    what: format!("{other:?} on the upload tag"),
                })
            }
        }
    }
}

//! The tracker as a plain state machine: [`Tracker::handle`] takes one client message and
//! returns what to send. No threads, no cluster: the loop that drives it is
//! [`run_tracker`](super::run::run_tracker).

use std::collections::{BTreeMap, BTreeSet};

use bitswarm_cluster::Rank;
use serde::Serialize;

use super::hash::SegmentHash;
use super::message::{Message, Role, SwarmMember};

/// What the tracker wants sent after a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackerOutput {
    /// Send this message to this client's download thread.
    Reply(Rank, Message),
    /// Every client registered: broadcast the ACK so they start.
    StartAll,
    /// Every client is done: tell every upload thread to stop.
    StopAll,
}

/// A message the tracker cannot accept from that client at that moment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tracker: unexpected {what} from rank {from}")]
pub struct TrackerProtocolError {
    /// The sender.
    pub from: Rank,
    /// What was wrong.
    pub what: String,
}

/// How many messages of each kind the tracker received.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TrackerCounts {
    /// Owned-file registrations.
    pub register: u64,
    /// File requests (hashes + swarm).
    pub file_request: u64,
    /// Swarm updates.
    pub swarm_update: u64,
    /// "File done" notices.
    pub file_done: u64,
    /// "All done" notices.
    pub all_done: u64,
    /// Replies sent (file info, swarms) plus ACK and stop messages.
    pub sent: u64,
}

impl TrackerCounts {
    /// Messages received in total.
    pub fn received(&self) -> u64 {
        self.register + self.file_request + self.swarm_update + self.file_done + self.all_done
    }
}

#[derive(Debug, Default)]
struct FileEntry {
    hashes: Vec<SegmentHash>,
    holders: BTreeMap<Rank, Role>,
}

/// The tracker's state.
#[derive(Debug)]
pub struct Tracker {
    clients: usize,
    files: BTreeMap<String, FileEntry>,
    registered: BTreeSet<Rank>,
    done: BTreeSet<Rank>,
    counts: TrackerCounts,
}

impl Tracker {
    /// A tracker for clients `1..=clients`.
    pub fn new(clients: usize) -> Self {
        Tracker {
            clients,
            files: BTreeMap::new(),
            registered: BTreeSet::new(),
            done: BTreeSet::new(),
            counts: TrackerCounts::default(),
        }
    }

    /// The counters so far.
    pub fn counts(&self) -> &TrackerCounts {
        &self.counts
    }

    /// Whether every client has said "all done" (the tracker's work is over).
    pub fn finished(&self) -> bool {
        self.done.len() == self.clients
    }

    fn swarm(&self, file: &str) -> Vec<SwarmMember> {
        self.files
            .get(file)
            .map(|f| {
                f.holders
                    .iter()
                    .map(|(&rank, &role)| SwarmMember { rank, role })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn reply(&mut self, to: Rank, msg: Message) -> TrackerOutput {
        self.counts.sent += 1;
        TrackerOutput::Reply(to, msg)
    }

    /// Handle one message from client `from`.
    pub fn handle(
        &mut self,
        from: Rank,
        msg: Message,
    ) -> Result<Vec<TrackerOutput>, TrackerProtocolError> {
        let bad = |what: &str| TrackerProtocolError {
            from,
            what: what.to_owned(),
        };
        if from == 0 || from > self.clients {
            return Err(bad("message from a rank that is not a client"));
        }
        let started = self.registered.len() == self.clients;
        match msg {
            Message::Register { files } => {
                self.counts.register += 1;
                if started || !self.registered.insert(from) {
                    return Err(bad("second registration"));
                }
                for f in files {
                    let entry = self.files.entry(f.name).or_default();
                    if entry.hashes.is_empty() {
                        entry.hashes = f.hashes;
                    } else if entry.hashes != f.hashes {
                        return Err(bad(
                            "registration with hashes that differ from another owner's",
                        ));
                    }
                    entry.holders.insert(from, Role::Seed);
                }
                if self.registered.len() == self.clients {
                    self.counts.sent += (self.clients) as u64;
                    return Ok(vec![TrackerOutput::StartAll]);
                }
                Ok(vec![])
            }
            _ if !started => Err(bad("message before every client registered")),
            Message::FileRequest { file } => {
                self.counts.file_request += 1;
                let reply = match self.files.get(&file) {
                    Some(entry) => Message::FileInfo {
                        hashes: entry.hashes.clone(),
                        swarm: self.swarm(&file),
                        file,
                    },
                    None => Message::UnknownFile { file },
                };
                Ok(vec![self.reply(from, reply)])
            }
            Message::SwarmUpdate { file } => {
                self.counts.swarm_update += 1;
                let Some(entry) = self.files.get_mut(&file) else {
                    return Ok(vec![self.reply(from, Message::UnknownFile { file })]);
                };
                entry.holders.entry(from).or_insert(Role::Peer);
                let swarm = self.swarm(&file);
                Ok(vec![self.reply(from, Message::Swarm { file, swarm })])
            }
            Message::FileDone { file } => {
                self.counts.file_done += 1;
                let Some(entry) = self.files.get_mut(&file) else {
                    return Err(bad("'file done' for an unknown file"));
                };
                entry.holders.insert(from, Role::Seed);
                Ok(vec![])
            }
            Message::AllDone => {
                self.counts.all_done += 1;
                if !self.done.insert(from) {
                    return Err(bad("second 'all done'"));
                }
                if self.finished() {
                    self.counts.sent += self.clients as u64;
                    return Ok(vec![TrackerOutput::StopAll]);
                }
                Ok(vec![])
            }
            other => Err(bad(&format!("message {other:?}"))),
        }
    }
}

#[cfg(test)]
#[path = "tracker_tests.rs"]
mod tests;

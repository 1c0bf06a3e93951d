//! [`SimReport`]: what rank 0 knows at the end (per client counters, tracker counts, wall
//! time), as JSON and as a short text summary.

use std::collections::BTreeMap;
use std::fmt::Write;

use bitswarm_cluster::Rank;
use serde::Serialize;

use super::message::ClientStats;
use super::tracker::TrackerCounts;

/// One client's line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientReport {
    /// The client's rank.
    pub rank: Rank,
    /// Segments it received.
    pub downloaded: u32,
    /// Segments it served.
    pub served: u32,
    /// Requests it answered NOT-OK.
    pub refused: u32,
    /// NOT-OK replies it got.
    pub not_ok_received: u32,
    /// Replies it rejected for a wrong hash.
    pub rejected: u32,
    /// Segments received from each rank (keys are ranks).
    pub from: BTreeMap<Rank, u32>,
}

impl ClientReport {
    pub(crate) fn new(rank: Rank, s: ClientStats) -> Self {
        ClientReport {
            rank,
            downloaded: s.downloaded,
            served: s.served,
            refused: s.refused,
            not_ok_received: s.not_ok_received,
            rejected: s.rejected,
            from: s.from.into_iter().collect(),
        }
    }
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimReport {
    /// Ranks in the cluster (tracker + clients).
    pub ranks: usize,
    /// Which back end ran it ("local" or "mpi"); set by the caller.
    pub backend: String,
    /// Per client, by rank.
    pub clients: Vec<ClientReport>,
    /// The tracker's message counts.
    pub tracker: TrackerCounts,
    /// Segment requests plus their replies.
    pub segment_messages: u64,
    /// Every message of the protocol (tracker traffic, segments, ACKs, stops).
    pub total_messages: u64,
    /// Wall time in seconds (rank 0's view; the caller may widen it).
    pub wall_seconds: f64,
}

impl SimReport {
    pub(crate) fn new(
        ranks: usize,
        clients: Vec<ClientReport>,
        tracker: TrackerCounts,
        wall: f64,
    ) -> Self {
        let requests: u64 = clients
            .iter()
            .map(|c| u64::from(c.downloaded) + u64::from(c.not_ok_received) + u64::from(c.rejected))
            .sum();
        let segment_messages = 2 * requests;
        let total_messages = segment_messages + tracker.received() + tracker.sent;
        SimReport {
            ranks,
            backend: String::new(),
            clients,
            tracker,
            segment_messages,
            total_messages,
            wall_seconds: wall,
        }
    }

    /// Segments downloaded by all clients together.
    pub fn total_downloaded(&self) -> u64 {
        self.clients.iter().map(|c| u64::from(c.downloaded)).sum()
    }

    /// A few lines for a terminal; at most `max_rows` client rows.
    pub fn summary(&self, max_rows: usize) -> String {
        let mut s = String::new();
        let total = self.total_downloaded();
        let _ = writeln!(
            s,
            "sim: {} ranks ({}), {} segments transferred, {} messages, {:.3} s",
            self.ranks, self.backend, total, self.total_messages, self.wall_seconds
        );
        let t = &self.tracker;
        let _ = writeln!(
            s,
            "tracker: {} register, {} file request, {} swarm update, {} file done, {} all done, {} sent",
            t.register, t.file_request, t.swarm_update, t.file_done, t.all_done, t.sent
        );
        let _ = writeln!(
            s,
            "{:>6} {:>10} {:>7} {:>6}  from",
            "client", "downloaded", "served", "share"
        );
        for c in self.clients.iter().take(max_rows) {
            let share = if total == 0 {
                0.0
            } else {
                100.0 * f64::from(c.served) / total as f64
            };
            let from: Vec<String> = c.from.iter().map(|(r, n)| format!("{r}:{n}")).collect();
            let _ = writeln!(
                s,
                "{:>6} {:>10} {:>7} {:>5.1}%  {}",
                c.rank,
                c.downloaded,
                c.served,
                share,
                from.join(" ")
            );
        }
        if self.clients.len() > max_rows {
            let _ = writeln!(
                s,
                "... {} more clients (see --report)",
                self.clients.len() - max_rows
            );
        }
        s
    }
}

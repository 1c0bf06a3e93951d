//! The end of a parallel download: each worker's [`WorkerSummary`], the whole run's
//! [`ParallelReport`], its text table and its JSON form.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::messages::Mode;

/// The reason of a worker stopped by Ctrl-C (or SIGTERM) before it completed.
pub const INTERRUPTED: &str = "interrupted";

/// How a worker ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "reason", rename_all = "lowercase")]
pub enum Outcome {
    /// It has every wanted piece, verified.
    Complete,
    /// It did not finish (the reason: stalled, interrupted, an error).
    Failed(String),
}

impl Outcome {
    /// Whether the worker finished its download.
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Complete)
    }
}

/// One worker's final report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerSummary {
    /// The worker's rank.
    pub rank: usize,
    /// How it ended.
    pub outcome: Outcome,
    /// Bytes it had to have.
    pub wanted: u64,
    /// Of those, verified at the end.
    pub have: u64,
    /// Payload received.
    pub downloaded: u64,
    /// Payload sent.
    pub uploaded: u64,
    /// Seconds to completion (or until it stopped).
    pub seconds: f64,
    /// Seconds the session ran (uploads continue after completion in cooperative mode).
    pub running_seconds: f64,
    /// Distinct peer addresses it was connected to.
    pub peers_seen: usize,
    /// Peers the peer check banned.
    pub peers_dropped: usize,
    /// Pieces that failed their hash check.
    pub hash_failures: u64,
    /// Where its data is.
    pub folder: String,
    /// The torrent's name, when this worker fetched it from a magnet link's peers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl WorkerSummary {
    /// A worker that never reported (crashed, unreachable, failed at start).
    pub fn missing(rank: usize, reason: impl Into<String>) -> WorkerSummary {
        WorkerSummary {
            rank,
            outcome: Outcome::Failed(reason.into()),
            wanted: 0,
            have: 0,
            downloaded: 0,
            uploaded: 0,
            seconds: 0.0,
            running_seconds: 0.0,
            peers_seen: 0,
            peers_dropped: 0,
            hash_failures: 0,
            folder: String::new(),
            name: None,
        }
    }

    /// Uploaded / downloaded (0 when nothing was downloaded).
    pub fn ratio(&self) -> f64 {
        if self.downloaded == 0 {
            0.0
        } else {
            self.uploaded as f64 / self.downloaded as f64
        }
    }

    /// Average download rate over the time to completion, bytes/s.
    pub fn avg_down(&self) -> f64 {
        per_second(self.downloaded, self.seconds)
    }

    /// Average upload rate over the whole session, bytes/s.
    pub fn avg_up(&self) -> f64 {
        per_second(self.uploaded, self.running_seconds.max(self.seconds))
    }
}

fn per_second(bytes: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        bytes as f64 / secs
    } else {
        0.0
    }
}

/// The whole run, as rank 0 prints it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParallelReport {
    /// The torrent's name.
    pub name: String,
    /// Independent or cooperative.
    pub mode: Mode,
    /// `"local"` or `"mpi"`.
    pub backend: String,
    /// Number of workers.
    pub workers: usize,
    /// Bytes of the torrent's content.
    pub size: u64,
    /// Wall time of the run on rank 0, seconds.
    pub wall_seconds: f64,
    /// Every worker, by rank.
    pub rows: Vec<WorkerSummary>,
    /// Workers that completed.
    pub succeeded: usize,
    /// Workers that did not.
    pub failed: usize,
}

impl ParallelReport {
    /// Assembles a report and counts the outcomes.
    pub fn new(
        name: String,
        mode: Mode,
        backend: &str,
        size: u64,
        wall_seconds: f64,
        mut rows: Vec<WorkerSummary>,
    ) -> ParallelReport {
        rows.sort_by_key(|r| r.rank);
        let succeeded = rows.iter().filter(|r| r.outcome.is_success()).count();
        ParallelReport {
            name,
            mode,
            backend: backend.to_owned(),
            workers: rows.len(),
            size,
            wall_seconds,
            failed: rows.len() - succeeded,
            succeeded,
            rows,
        }
    }

    /// Whether every worker completed.
    pub fn success(&self) -> bool {
        self.failed == 0 && self.succeeded > 0
    }

    /// Whether the run was cut short by the user and nothing else went wrong: some
    /// workers were interrupted, none failed for another reason. (Their resume data is
    /// saved; a rerun continues.)
    pub fn only_interrupted(&self) -> bool {
        self.failed > 0
            && self.rows.iter().all(|r| match &r.outcome {
                Outcome::Complete => true,
                Outcome::Failed(why) => why == INTERRUPTED,
            })
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// The table: one row per worker, then `Overall: X succeeded, Y failed`.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} ({} mode, {} workers, {}, {:.1} s)",
            self.name,
            self.mode,
            self.workers,
            mib(self.size),
            self.wall_seconds
        );
        let _ = writeln!(
            s,
            "{:>4}  {:<10} {:>10} {:>10} {:>6} {:>12} {:>12} {:>5} {:>7} {:>8}",
            "rank",
            "status",
            "down MiB",
            "up MiB",
            "ratio",
            "avg down",
            "avg up",
            "peers",
            "dropped",
            "time s"
        );
        let mut reasons = Vec::new();
        for r in &self.rows {
            let status = match &r.outcome {
                Outcome::Complete => "ok",
                Outcome::Failed(why) => {
                    reasons.push(format!("rank {}: {why}", r.rank));
                    "FAILED"
                }
            };
            let _ = writeln!(
                s,
                "{:>4}  {:<10} {:>10.1} {:>10.1} {:>6.2} {:>12} {:>12} {:>5} {:>7} {:>8.1}",
                r.rank,
                status,
                r.downloaded as f64 / MIB,
                r.uploaded as f64 / MIB,
                r.ratio(),
                rate(r.avg_down()),
                rate(r.avg_up()),
                r.peers_seen,
                r.peers_dropped,
                r.seconds
            );
        }
        for why in reasons {
            let _ = writeln!(s, "  {why}");
        }
        let _ = writeln!(
            s,
            "Overall: {} succeeded, {} failed",
            self.succeeded, self.failed
        );
        s
    }
}

const MIB: f64 = 1024.0 * 1024.0;

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / MIB)
}

/// `12.3 MiB/s`.
pub fn rate(bytes_per_sec: f64) -> String {
    format!("{:.1} MiB/s", bytes_per_sec / MIB)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(rank: usize, outcome: Outcome) -> WorkerSummary {
        WorkerSummary {
            rank,
            outcome,
            wanted: 32 << 20,
            have: 32 << 20,
            downloaded: 32 << 20,
            uploaded: 16 << 20,
            seconds: 4.0,
            running_seconds: 8.0,
            peers_seen: 3,
            peers_dropped: 1,
            hash_failures: 0,
            folder: format!("out/rank_{rank}_download"),
            name: None,
        }
    }

    #[test]
    fn table_has_a_row_per_worker_and_the_overall_line() {
        let report = ParallelReport::new(
            "data.bin".into(),
            Mode::Cooperative,
            "local",
            32 << 20,
            9.25,
            vec![
                row(2, Outcome::Failed("stalled: no progress for 60 s".into())),
                row(1, Outcome::Complete),
            ],
        );
        let t = report.table();
        let lines: Vec<&str> = t.lines().collect();
        assert!(
            lines[0].starts_with("data.bin (cooperative mode, 2 workers, 32.0 MiB, 9.2 s)"),
            "{t}"
        );
        assert!(
            lines[1].contains("rank") && lines[1].contains("ratio") && lines[1].contains("dropped")
        );
        // Sorted by rank; 32 MiB down in 4 s = 8 MiB/s; 16 MiB up over 8 s = 2 MiB/s.
        let r1: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(r1[..5], ["1", "ok", "32.0", "16.0", "0.50"]);
        assert!(
            lines[2].contains("8.0 MiB/s") && lines[2].contains("2.0 MiB/s"),
            "{}",
            lines[2]
        );
        assert!(lines[3].contains("FAILED"));
        assert!(t.contains("rank 2: stalled: no progress for 60 s"));
        assert_eq!(*lines.last().unwrap(), "Overall: 1 succeeded, 1 failed");
        assert!(!report.success());
    }

    #[test]
    fn json_has_the_same_numbers() {
        let report = ParallelReport::new(
            "d".into(),
            Mode::Independent,
            "mpi",
            1,
            1.0,
            vec![row(1, Outcome::Complete)],
        );
        assert!(report.success());
        let v: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(v["mode"], "independent");
        assert_eq!(v["succeeded"], 1);
        assert_eq!(v["rows"][0]["outcome"]["status"], "complete");
        assert_eq!(v["rows"][0]["downloaded"], 32u64 << 20);
        let back: ParallelReport = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(back, report);
    }

    #[test]
    fn only_interrupted_needs_every_failure_to_be_an_interrupt() {
        let report = |outcomes: Vec<Outcome>| {
            let rows = outcomes
                .into_iter()
                .enumerate()
                .map(|(i, o)| row(i + 1, o))
                .collect();
            ParallelReport::new("d".into(), Mode::Cooperative, "local", 1, 1.0, rows)
        };
        let stopped = || Outcome::Failed(INTERRUPTED.into());
        assert!(report(vec![stopped(), stopped()]).only_interrupted());
        assert!(report(vec![Outcome::Complete, stopped()]).only_interrupted());
        assert!(!report(vec![Outcome::Complete, Outcome::Complete]).only_interrupted());
        let stalled = Outcome::Failed("stalled: no progress for 60 s".into());
        assert!(!report(vec![stalled, stopped()]).only_interrupted());
    }

    #[test]
    fn zero_times_and_bytes_do_not_divide_by_zero() {
        let m = WorkerSummary::missing(4, "no summary");
        assert_eq!((m.ratio(), m.avg_down(), m.avg_up()), (0.0, 0.0, 0.0));
        assert!(!m.outcome.is_success());
    }
}

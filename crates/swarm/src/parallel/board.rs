//! [`Board`]: rank 0's view of the workers — latest status, stall detector and verdict
//! of each — from which it decides whom to stop and when the run is over, and builds
//! the progress snapshots. Pure state: statuses and the time come in as arguments.

use std::time::{Duration, Instant};

use super::messages::{Status, WorkerState};
use super::progress::{ParallelProgress, WorkerLine};
use super::stall::StallDetector;

/// What rank 0 has decided about a worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Still working.
    Running,
    /// It reported completion.
    Complete,
    /// It failed, stalled or was interrupted (why).
    Failed(String),
}

#[derive(Debug)]
struct Slot {
    status: Status,
    stall: StallDetector,
    verdict: Verdict,
}

/// Every worker's latest state.
#[derive(Debug)]
pub struct Board {
    slots: Vec<Slot>,
    started: Instant,
    stall_timeout: Duration,
}

impl Board {
    /// Workers `ranks`, watched from `now`.
    pub fn new(
        ranks: impl IntoIterator<Item = usize>,
        stall_timeout: Duration,
        now: Instant,
    ) -> Board {
        Board {
            slots: ranks
                .into_iter()
                .map(|rank| Slot {
                    status: Status::starting(rank),
                    stall: StallDetector::new(stall_timeout, now),
                    verdict: Verdict::Running,
                })
                .collect(),
            started: now,
            stall_timeout,
        }
    }

    fn slot(&mut self, rank: usize) -> Option<&mut Slot> {
        self.slots.iter_mut().find(|s| s.status.rank == rank)
    }

    /// A status arrived. Statuses from unknown ranks are ignored.
    pub fn on_status(&mut self, status: Status, now: Instant) {
        let Some(slot) = self.slot(status.rank) else {
            return;
        };
        slot.stall
            .observe(status.have.saturating_add(status.downloaded), now);
        if slot.verdict == Verdict::Running {
            match &status.state {
                WorkerState::Complete => slot.verdict = Verdict::Complete,
                WorkerState::Failed(why) => slot.verdict = Verdict::Failed(why.clone()),
                WorkerState::Starting | WorkerState::Downloading => {}
            }
        }
        slot.status = status;
    }

    /// Marks running workers without progress for the stall timeout as failed and
    /// returns their ranks (to be stopped).
    pub fn take_stalled(&mut self, now: Instant) -> Vec<usize> {
        let secs = self.stall_timeout.as_secs();
        let mut out = Vec::new();
        for s in &mut self.slots {
            if s.verdict == Verdict::Running && s.stall.is_stalled(now) {
                s.verdict = Verdict::Failed(format!("stalled: no progress for {secs} s"));
                out.push(s.status.rank);
            }
        }
        out
    }

    /// Marks every running worker failed with `why` (Ctrl-C).
    pub fn fail_running(&mut self, why: &str) {
        for s in &mut self.slots {
            if s.verdict == Verdict::Running {
                s.verdict = Verdict::Failed(why.to_owned());
            }
        }
    }

    /// Whether no worker is running any more.
    pub fn all_resolved(&self) -> bool {
        self.slots.iter().all(|s| s.verdict != Verdict::Running)
    }

    /// The verdict on `rank`.
    pub fn verdict(&self, rank: usize) -> Option<&Verdict> {
        self.slots
            .iter()
            .find(|s| s.status.rank == rank)
            .map(|s| &s.verdict)
    }

    /// A progress snapshot.
    pub fn snapshot(&self, now: Instant) -> ParallelProgress {
        ParallelProgress {
            elapsed: now.saturating_duration_since(self.started).as_secs_f64(),
            workers: self
                .slots
                .iter()
                .map(|s| WorkerLine {
                    rank: s.status.rank,
                    state: match &s.verdict {
                        Verdict::Complete => "done".into(),
                        Verdict::Failed(_) => "FAILED".into(),
                        Verdict::Running => match s.status.state {
                            WorkerState::Starting => "starting".into(),
                            _ => "down".into(),
                        },
                    },
                    have: s.status.have,
                    wanted: s.status.wanted,
                    down_rate: s.status.down_rate,
                    down_avg: s.status.down_avg,
                    up_rate: s.status.up_rate,
                    up_avg: s.status.up_avg,
                    peers: s.status.peers,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(rank: usize, state: WorkerState, have: u64) -> Status {
        Status {
            state,
            have,
            wanted: 100,
            ..Status::starting(rank)
        }
    }

    #[test]
    fn completion_failure_and_stall_resolve_workers() {
        let t0 = Instant::now();
        let s = |n| t0 + Duration::from_secs(n);
        let mut b = Board::new([1, 2, 3], Duration::from_secs(10), t0);
        b.on_status(status(1, WorkerState::Downloading, 10), s(1));
        b.on_status(status(2, WorkerState::Failed("disk".into()), 0), s(1));
        b.on_status(status(3, WorkerState::Downloading, 5), s(2));
        assert_eq!(b.verdict(2), Some(&Verdict::Failed("disk".into())));
        assert!(b.take_stalled(s(9)).is_empty());
        b.on_status(status(1, WorkerState::Downloading, 50), s(8));
        // Rank 3 last progressed at 2 s: stalled at 12 s; rank 1 (8 s) is not.
        assert_eq!(b.take_stalled(s(12)), vec![3]);
        assert!(b.take_stalled(s(13)).is_empty(), "reported once");
        assert!(!b.all_resolved());
        b.on_status(status(1, WorkerState::Complete, 100), s(14));
        assert!(b.all_resolved());
        assert_eq!(b.verdict(1), Some(&Verdict::Complete));
        // A late status does not undo a verdict.
        b.on_status(status(3, WorkerState::Complete, 100), s(15));
        assert!(matches!(b.verdict(3), Some(Verdict::Failed(w)) if w.contains("stalled")));
        let snap = b.snapshot(s(15));
        assert_eq!(snap.workers.len(), 3);
        assert_eq!(snap.workers[0].state, "done");
        assert_eq!(snap.workers[2].state, "FAILED");
    }

    #[test]
    fn interrupt_fails_only_running_workers() {
        let t0 = Instant::now();
        let mut b = Board::new([1, 2], Duration::from_secs(60), t0);
        b.on_status(status(1, WorkerState::Complete, 100), t0);
        b.on_status(status(9, WorkerState::Complete, 100), t0);
        b.fail_running("interrupted");
        assert_eq!(b.verdict(1), Some(&Verdict::Complete));
        assert_eq!(b.verdict(2), Some(&Verdict::Failed("interrupted".into())));
        assert_eq!(b.verdict(9), None);
    }
}

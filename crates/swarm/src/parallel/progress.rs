//! Live progress on rank 0: the snapshot built from the workers' statuses
//! ([`ParallelProgress`]) and its indicatif renderer [`Bars`] (one bar per worker, for a
//! terminal). [`Lines`] (a one-line table every few seconds, for logs and pipes) and
//! [`NoProgress`] come from [`crate::live`].

use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::summary::rate;
pub use crate::live::{Lines, NoProgress, ProgressSink, Snapshot};

/// One worker in a snapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerLine {
    /// Its rank.
    pub rank: usize,
    /// `starting`, `down`, `done` or `FAILED`.
    pub state: String,
    /// Verified bytes.
    pub have: u64,
    /// Bytes wanted.
    pub wanted: u64,
    /// Download rate, last second.
    pub down_rate: u64,
    /// Download rate, rolling average.
    pub down_avg: u64,
    /// Upload rate, last second.
    pub up_rate: u64,
    /// Upload rate, rolling average.
    pub up_avg: u64,
    /// Connected peers.
    pub peers: usize,
}

impl WorkerLine {
    /// Percent done.
    pub fn percent(&self) -> f64 {
        if self.wanted == 0 {
            0.0
        } else {
            100.0 * self.have.min(self.wanted) as f64 / self.wanted as f64
        }
    }
}

/// Every worker at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct ParallelProgress {
    /// Seconds since the run started.
    pub elapsed: f64,
    /// Workers by rank.
    pub workers: Vec<WorkerLine>,
}

impl ParallelProgress {}

impl Snapshot for ParallelProgress {
    /// One line: `12.0 s | r1 45% 8.0 MiB/s 3p | r2 done | ...`.
    fn line(&self) -> String {
        let mut s = format!("bitswarm: {:.1} s", self.elapsed);
        for w in &self.workers {
            match w.state.as_str() {
                "down" | "starting" => s.push_str(&format!(
                    " | r{} {:.0}% {} (avg {}) up {} {}p",
                    w.rank,
                    w.percent(),
                    rate(w.down_rate as f64),
                    rate(w.down_avg as f64),
                    rate(w.up_rate as f64),
                    w.peers
                )),
                other => s.push_str(&format!(" | r{} {other}", w.rank)),
            }
        }
        s
    }
}

/// Where the coordinator's snapshots go.
pub type ParallelSink = dyn ProgressSink<ParallelProgress>;

/// indicatif bars on stderr, one per worker.
pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<Vec<ProgressBar>>,
}

impl Default for Bars {
    fn default() -> Self {
        Self::new()
    }
}

impl Bars {
    /// Bars drawn on stderr.
    pub fn new() -> Self {
        Bars::with_target(ProgressDrawTarget::stderr_with_hz(4))
    }

    /// Bars drawn to `target` (hidden for tests).
    pub fn with_target(target: ProgressDrawTarget) -> Self {
        Bars {
            multi: MultiProgress::with_draw_target(target),
            bars: Mutex::new(Vec::new()),
        }
    }
}

impl ProgressSink<ParallelProgress> for Bars {
    fn update(&self, p: &ParallelProgress) {
        let Ok(mut bars) = self.bars.lock() else {
            return;
        };
        while bars.len() < p.workers.len() {
            let bar = self.multi.add(ProgressBar::new(1));
            let style = ProgressStyle::with_template(
                "rank {prefix:>3} [{bar:30}] {bytes:>10}/{total_bytes:<10} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bars.push(bar);
        }
        for (bar, w) in bars.iter().zip(&p.workers) {
            bar.set_prefix(w.rank.to_string());
            bar.set_length(w.wanted.max(1));
            bar.set_position(w.have.min(w.wanted));
            bar.set_message(match w.state.as_str() {
                "down" | "starting" => format!(
                    "down {} (avg {}) up {} (avg {}) {} peers",
                    rate(w.down_rate as f64),
                    rate(w.down_avg as f64),
                    rate(w.up_rate as f64),
                    rate(w.up_avg as f64),
                    w.peers
                ),
                other => other.to_owned(),
            });
        }
    }

    fn finish(&self, _: &ParallelProgress) {
        if let Ok(bars) = self.bars.lock() {
            for b in bars.iter() {
                b.finish_and_clear();
            }
        }
        let _ = self.multi.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> ParallelProgress {
        let w = |rank, state: &str, have| WorkerLine {
            rank,
            state: state.into(),
            have,
            wanted: 200,
            down_rate: 1 << 20,
            down_avg: 2 << 20,
            up_rate: 0,
            up_avg: 0,
            peers: 3,
        };
        ParallelProgress {
            elapsed: 4.0,
            workers: vec![w(1, "down", 100), w(2, "done", 200)],
        }
    }

    #[test]
    fn line_shows_each_worker() {
        let l = snapshot().line();
        assert_eq!(
            l,
            "bitswarm: 4.0 s | r1 50% 1.0 MiB/s (avg 2.0 MiB/s) up 0.0 MiB/s 3p | r2 done"
        );
    }

    #[test]
    fn bars_render_hidden() {
        let p = snapshot();
        let bars = Bars::with_target(ProgressDrawTarget::hidden());
        bars.update(&p);
        bars.finish(&p);
        assert_eq!(bars.bars.lock().map(|b| b.len()).unwrap_or(0), 2);
    }
}

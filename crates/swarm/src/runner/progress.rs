//! Live progress: the snapshot rank 0 builds from the client ranks' messages
//! ([`SwarmProgress`]) and its indicatif renderer [`Bars`] (one bar per downloader, for a
//! terminal). [`Lines`] (a short line every few seconds, for logs and pipes) and
//! [`NoProgress`] come from [`crate::live`]. The library never picks one itself.

use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::summary::{bytes, rate};
pub use crate::live::{Lines, NoProgress, ProgressSink, Snapshot};

/// One client in a snapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientStatus {
    /// Name.
    pub name: String,
    /// Bytes it must download.
    pub needed: u64,
    /// Of those, verified.
    pub have: u64,
    /// Download rate, bytes/s.
    pub download_rate: u64,
    /// Upload rate, bytes/s.
    pub upload_rate: u64,
    /// Complete.
    pub complete: bool,
    /// Failed.
    pub failed: bool,
    /// Reported at least once.
    pub seen: bool,
}

/// The whole swarm at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct SwarmProgress {
    /// Seconds since the clients started.
    pub elapsed: f64,
    /// The deadline, seconds.
    pub deadline: f64,
    /// Every client, in scenario order.
    pub clients: Vec<ClientStatus>,
}

impl SwarmProgress {
    /// (complete downloaders, downloaders).
    pub fn downloaders_done(&self) -> (usize, usize) {
        let d = self.clients.iter().filter(|c| c.needed > 0);
        let total = d.clone().count();
        (d.filter(|c| c.complete).count(), total)
    }

    /// Σ have / Σ needed over downloaders.
    pub fn fraction(&self) -> f64 {
        let needed: u64 = self.clients.iter().map(|c| c.needed).sum();
        let have: u64 = self.clients.iter().map(|c| c.have.min(c.needed)).sum();
        if needed == 0 {
            // Nobody reported yet (or nobody downloads): nothing done.
            0.0
        } else {
            have as f64 / needed as f64
        }
    }

    /// Σ download rates.
    pub fn download_rate(&self) -> u64 {
        self.clients.iter().map(|c| c.download_rate).sum()
    }
}

impl Snapshot for SwarmProgress {
    /// One status line: `12.5 s  9/14 complete  61.2%  down 40.1 MiB/s`.
    fn line(&self) -> String {
        let (done, total) = self.downloaders_done();
        let failed = self.clients.iter().filter(|c| c.failed).count();
        let mut s = format!(
            "swarm: {:.1} s  {done}/{total} downloaders complete  {:.1}%  down {}",
            self.elapsed,
            self.fraction() * 100.0,
            rate(Some(self.download_rate() as f64))
        );
        if failed > 0 {
            s.push_str(&format!("  {failed} failed"));
        }
        s
    }
}

/// Where the runner's snapshots go.
pub type SwarmSink = dyn ProgressSink<SwarmProgress>;

/// Most per-client bars; beyond that only the slowest downloaders get one.
pub const MAX_BARS: usize = 16;

/// indicatif bars on stderr: one overall bar and one per downloader (at most
/// [`MAX_BARS`], the least advanced ones).
pub struct Bars {
    multi: MultiProgress,
    state: Mutex<BarState>,
}

struct BarState {
    overall: Option<ProgressBar>,
    bars: Vec<ProgressBar>,
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

    /// Bars drawn to `target` (hidden targets for tests).
    pub fn with_target(target: ProgressDrawTarget) -> Self {
        Bars {
            multi: MultiProgress::with_draw_target(target),
            state: Mutex::new(BarState {
                overall: None,
                bars: Vec::new(),
            }),
        }
    }

    fn style(template: &str) -> ProgressStyle {
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ")
    }
}

impl ProgressSink<SwarmProgress> for Bars {
    fn update(&self, p: &SwarmProgress) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        let overall = st.overall.get_or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new(1000));
            bar.set_style(Bars::style("{msg:<44} [{bar:30}] {percent:>3}%"));
            bar
        });
        overall.set_position((p.fraction() * 1000.0) as u64);
        let (done, total) = p.downloaders_done();
        overall.set_message(format!(
            "swarm {:.1} s, {done}/{total} done, down {}",
            p.elapsed,
            rate(Some(p.download_rate() as f64))
        ));
        // The downloaders furthest from done get the bars.
        let mut shown: Vec<&ClientStatus> = p.clients.iter().filter(|c| c.needed > 0).collect();
        shown.sort_by(|a, b| {
            let fa = a.have as f64 / a.needed as f64;
            let fb = b.have as f64 / b.needed as f64;
            fa.total_cmp(&fb)
        });
        shown.truncate(MAX_BARS);
        shown.sort_by_key(|c| p.clients.iter().position(|x| x.name == c.name));
        while st.bars.len() < shown.len() {
            let bar = self.multi.add(ProgressBar::new(1));
            bar.set_style(Bars::style(
                "  {prefix:<14} [{bar:30}] {bytes:>10}/{total_bytes:<10} {msg}",
            ));
            st.bars.push(bar);
        }
        for (bar, c) in st.bars.iter().zip(&shown) {
            bar.set_prefix(c.name.clone());
            bar.set_length(c.needed.max(1));
            bar.set_position(c.have.min(c.needed));
            let what = if c.failed {
                "FAILED".to_owned()
            } else if c.complete {
                "done".to_owned()
            } else {
                format!(
                    "down {} up {}",
                    bytes(c.download_rate),
                    bytes(c.upload_rate)
                )
            };
            bar.set_message(what);
        }
    }

    fn finish(&self, _: &SwarmProgress) {
        if let Ok(st) = self.state.lock() {
            for b in st.bars.iter().chain(&st.overall) {
                b.finish_and_clear();
            }
        }
        let _ = self.multi.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> SwarmProgress {
        let c = |name: &str, needed, have, complete| ClientStatus {
            name: name.into(),
            needed,
            have,
            download_rate: 1024,
            upload_rate: 0,
            complete,
            failed: false,
            seen: true,
        };
        SwarmProgress {
            elapsed: 2.5,
            deadline: 120.0,
            clients: vec![
                c("seed-1", 0, 0, true),
                c("leech-1", 100, 50, false),
                c("leech-2", 100, 100, true),
            ],
        }
    }

    #[test]
    fn line_says_time_done_and_fraction() {
        let p = snapshot();
        assert_eq!(p.downloaders_done(), (1, 2));
        assert!((p.fraction() - 0.75).abs() < 1e-9);
        assert_eq!(
            p.line(),
            "swarm: 2.5 s  1/2 downloaders complete  75.0%  down 3.0 KiB/s"
        );
    }

    #[test]
    fn bars_render_without_a_terminal() {
        let bars = Bars::with_target(ProgressDrawTarget::hidden());
        let p = snapshot();
        bars.update(&p);
        bars.update(&p);
        bars.finish(&p);
        let st = bars.state.lock().expect("lock");
        assert_eq!(st.bars.len(), 2);
    }
}

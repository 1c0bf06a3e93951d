//! Live progress: the snapshot rank 0 builds from the client ranks' messages
//! ([`SwarmProgress`]), the [`ProgressSink`] that receives it, and two renderers the binary
//! can choose from — [`Bars`] (indicatif, one bar per downloader, for a terminal) and
//! [`Lines`] (a short line every few seconds, for logs and pipes). The library never picks
//! one itself.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::summary::{bytes, rate};

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

    /// One status line: `12.5 s  9/14 complete  61.2%  down 40.1 MiB/s`.
    pub fn line(&self) -> String {
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

/// Receives snapshots on rank 0 (a few per second) and the end of the run.
pub trait ProgressSink: Sync {
    /// A new snapshot.
    fn update(&self, progress: &SwarmProgress);
    /// The run is over (clear bars, print a last line).
    fn finish(&self, _progress: &SwarmProgress) {}
}

/// Shows nothing.
#[derive(Debug, Default)]
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn update(&self, _: &SwarmProgress) {}
}

/// A short line to a writer at most every `every`.
pub struct Lines {
    every: Duration,
    state: Mutex<(Option<Instant>, Box<dyn Write + Send>)>,
}

impl Lines {
    /// Lines to `out` at most every `every`.
    pub fn new(out: Box<dyn Write + Send>, every: Duration) -> Self {
        Lines {
            every,
            state: Mutex::new((None, out)),
        }
    }
}

impl ProgressSink for Lines {
    fn update(&self, p: &SwarmProgress) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        let due = match st.0 {
            Some(last) => last.elapsed() >= self.every,
            None => true,
        };
        if due {
            st.0 = Some(Instant::now());
            let _ = writeln!(st.1, "{}", p.line());
        }
    }

    fn finish(&self, p: &SwarmProgress) {
        if let Ok(mut st) = self.state.lock() {
            let _ = writeln!(st.1, "{}", p.line());
        }
    }
}

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

impl ProgressSink for Bars {
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

    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_are_rate_limited() {
        let out = Shared::default();
        let lines = Lines::new(Box::new(out.clone()), Duration::from_secs(3600));
        let p = snapshot();
        lines.update(&p);
        lines.update(&p);
        lines.finish(&p);
        let text = String::from_utf8(out.0.lock().map(|v| v.clone()).unwrap_or_default())
            .unwrap_or_default();
        assert_eq!(text.lines().count(), 2, "{text}");
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

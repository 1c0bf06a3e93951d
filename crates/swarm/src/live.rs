//! Live progress plumbing shared by the swarm runner and the parallel downloader: the
//! [`ProgressSink`] trait over a snapshot type, [`NoProgress`], and [`Lines`] (a
//! snapshot's [`Snapshot::line`] to a writer at most every so often, for logs and pipes).
//! Each job brings its own snapshot type and its own indicatif renderer.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A progress snapshot that sums itself up in one line.
pub trait Snapshot {
    /// The one-line summary.
    fn line(&self) -> String;
}

/// Receives snapshots of type `P` on rank 0 (a few per second) and the end of the run.
pub trait ProgressSink<P>: Sync {
    /// A new snapshot.
    fn update(&self, progress: &P);
    /// The run is over (clear bars, print a last line).
    fn finish(&self, _progress: &P) {}
}

/// Shows nothing.
#[derive(Debug, Default)]
pub struct NoProgress;

impl<P> ProgressSink<P> for NoProgress {
    fn update(&self, _: &P) {}
}

/// A snapshot's line to a writer at most every `every`, and always at the end.
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

impl<P: Snapshot> ProgressSink<P> for Lines {
    fn update(&self, p: &P) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        if st.0.is_none_or(|last| last.elapsed() >= self.every) {
            st.0 = Some(Instant::now());
            let _ = writeln!(st.1, "{}", p.line());
        }
    }

    fn finish(&self, p: &P) {
        if let Ok(mut st) = self.state.lock() {
            let _ = writeln!(st.1, "{}", p.line());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    struct Counter(u32);

    impl Snapshot for Counter {
        fn line(&self) -> String {
            format!("at {}", self.0)
        }
    }

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_are_rate_limited_but_the_last_one_is_always_written() {
        let out = Shared::default();
        let sink = Lines::new(Box::new(out.clone()), Duration::from_secs(3600));
        sink.update(&Counter(1));
        sink.update(&Counter(2));
        sink.finish(&Counter(3));
        let text = String::from_utf8(out.0.lock().expect("lock").clone()).expect("utf8");
        assert_eq!(text, "at 1\nat 3\n");
    }
}

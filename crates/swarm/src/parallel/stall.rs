//! Stall detection: a worker that makes no progress for a configurable time is failed,
//! not waited for forever. Time is passed in, so the rule is tested without sleeping.

use std::time::{Duration, Instant};

/// Watches one worker's progress counter.
#[derive(Debug, Clone)]
pub struct StallDetector {
    timeout: Duration,
    last_value: u64,
    last_change: Instant,
}

impl StallDetector {
    /// Starts watching at `now`; a worker that never reports counts as stalled after
    /// `timeout` too.
    pub fn new(timeout: Duration, now: Instant) -> Self {
        StallDetector {
            timeout,
            last_value: 0,
            last_change: now,
        }
    }

    /// A report: `progress` is any counter that grows while the worker does useful work
    /// (verified plus received bytes).
    pub fn observe(&mut self, progress: u64, now: Instant) {
        if progress > self.last_value {
            self.last_value = progress;
            self.last_change = now;
        }
    }

    /// Whether nothing changed for the timeout.
    pub fn is_stalled(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.last_change) >= self.timeout
    }

    /// How long since the last progress.
    pub fn idle(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.last_change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_resets_the_clock() {
        let t0 = Instant::now();
        let s = |n| t0 + Duration::from_secs(n);
        let mut d = StallDetector::new(Duration::from_secs(60), t0);
        d.observe(100, s(10));
        d.observe(100, s(50));
        assert!(!d.is_stalled(s(69)));
        assert_eq!(d.idle(s(69)), Duration::from_secs(59));
        assert!(d.is_stalled(s(70)));
        d.observe(101, s(71));
        assert!(!d.is_stalled(s(130)));
        assert!(d.is_stalled(s(131)));
    }

    #[test]
    fn a_silent_worker_stalls_and_a_counter_going_back_is_no_progress() {
        let t0 = Instant::now();
        let mut d = StallDetector::new(Duration::from_secs(5), t0);
        assert!(!d.is_stalled(t0 + Duration::from_secs(4)));
        assert!(d.is_stalled(t0 + Duration::from_secs(5)));
        let mut d2 = StallDetector::new(Duration::from_secs(5), t0);
        d2.observe(10, t0 + Duration::from_secs(1));
        d2.observe(3, t0 + Duration::from_secs(4));
        assert!(d2.is_stalled(t0 + Duration::from_secs(6)));
        // An earlier instant than the last change is not a panic.
        d.observe(1, t0 + Duration::from_secs(3));
        assert!(!d.is_stalled(t0 + Duration::from_secs(1)));
    }
}

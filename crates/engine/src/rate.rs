//! Transfer rates over passed-in time: last full second and a 10-second rolling average.
//!
//! Time is an input (`Instant`), so the meter is deterministic: it keeps one byte counter
//! per whole second since its origin in a ring of ten slots.

use std::time::{Duration, Instant};

/// Width of the rolling-average window, in seconds.
pub const WINDOW_SECS: u64 = 10;

/// Measures one direction of transfer (e.g. payload downloaded from one peer).
#[derive(Debug, Clone)]
pub struct RateMeter {
    origin: Instant,
    /// Bytes of completed second `s` live in `history[s % WINDOW_SECS]`.
    history: [u64; WINDOW_SECS as usize],
    current_sec: u64,
    current_bytes: u64,
    total: u64,
}

impl RateMeter {
    /// A meter whose seconds are counted from `origin`.
    pub fn new(origin: Instant) -> Self {
        RateMeter {
            origin,
            history: [0; WINDOW_SECS as usize],
            current_sec: 0,
            current_bytes: 0,
            total: 0,
        }
    }

    fn sec(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.origin).as_secs()
    }

    fn advance(&mut self, now: Instant) {
        let sec = self.sec(now);
        if sec <= self.current_sec {
            return;
        }
        self.history[(self.current_sec % WINDOW_SECS) as usize] = self.current_bytes;
        let gap_end = sec.min(self.current_sec + WINDOW_SECS + 1);
        for s in self.current_sec + 1..gap_end {
            self.history[(s % WINDOW_SECS) as usize] = 0;
        }
        self.current_sec = sec;
        self.current_bytes = 0;
    }

    /// Records `bytes` transferred at `now`. Times earlier than the latest one recorded
    /// count towards the current second.
    pub fn record(&mut self, bytes: u64, now: Instant) {
        self.advance(now);
        self.current_bytes = self.current_bytes.saturating_add(bytes);
        self.total = self.total.saturating_add(bytes);
    }

    /// Bytes of completed second `s`, as seen at second `now_sec`.
    fn completed(&self, s: u64, now_sec: u64) -> u64 {
        if s >= now_sec || now_sec - s > WINDOW_SECS {
            return 0;
        }
        if s == self.current_sec {
            self.current_bytes
        } else if s < self.current_sec && self.current_sec - s <= WINDOW_SECS {
            self.history[(s % WINDOW_SECS) as usize]
        } else {
            0
        }
    }

    /// Instantaneous rate in bytes/s: the bytes of the last completed second.
    pub fn rate(&self, now: Instant) -> u64 {
        let now_sec = self.sec(now);
        match now_sec.checked_sub(1) {
            Some(s) => self.completed(s, now_sec),
            None => 0,
        }
    }

    /// Average rate in bytes/s over the last [`WINDOW_SECS`] completed seconds (or over
    /// the completed seconds since the origin, if fewer).
    pub fn average(&self, now: Instant) -> u64 {
        let now_sec = self.sec(now);
        let span = now_sec.min(WINDOW_SECS);
        if span == 0 {
            return 0;
        }
        let sum: u64 = (now_sec - span..now_sec)
            .map(|s| self.completed(s, now_sec))
            .sum();
        sum / span
    }

    /// [`RateMeter::average`] once a second has completed since the origin; `None`
    /// before (no rate is measured yet).
    pub fn measured_average(&self, now: Instant) -> Option<u64> {
        (self.sec(now) > 0).then(|| self.average(now))
    }

    /// Total bytes recorded.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Time since the origin.
    pub fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn steady_rate_is_measured_exactly() {
        let t0 = Instant::now();
        let mut m = RateMeter::new(t0);
        for s in 0..20 {
            m.record(1000, at(t0, s * 1000 + 500));
        }
        let now = at(t0, 20_000);
        assert_eq!(m.rate(now), 1000);
        assert_eq!(m.average(now), 1000);
        assert_eq!(m.total(), 20_000);
    }

    #[test]
    fn no_measured_average_before_a_second_completed() {
        let t0 = Instant::now();
        let mut m = RateMeter::new(t0);
        m.record(5000, at(t0, 300));
        assert_eq!(m.measured_average(at(t0, 999)), None);
        assert_eq!(m.measured_average(at(t0, 1000)), Some(5000));
        assert_eq!(m.measured_average(at(t0, 2000)), Some(2500));
    }

    #[test]
    fn instantaneous_follows_the_last_second_average_smooths() {
        let t0 = Instant::now();
        let mut m = RateMeter::new(t0);
        m.record(10_000, at(t0, 100));
        let now = at(t0, 10_000);
        assert_eq!(m.rate(now), 0);
        assert_eq!(m.average(now), 1000);
        assert_eq!(m.rate(at(t0, 1_000)), 10_000);
        assert_eq!(m.average(at(t0, 1_000)), 10_000);
        assert_eq!(m.average(at(t0, 2_000)), 5_000);
    }

    #[test]
    fn old_data_leaves_the_window() {
        let t0 = Instant::now();
        let mut m = RateMeter::new(t0);
        m.record(5000, at(t0, 0));
        assert_eq!(m.average(at(t0, 11_000)), 0);
        m.record(100, at(t0, 30_000));
        assert_eq!(m.average(at(t0, 31_000)), 10);
        assert_eq!(m.rate(at(t0, 31_000)), 100);
        assert_eq!(m.total(), 5100);
    }

    #[test]
    fn nothing_before_the_first_second() {
        let t0 = Instant::now();
        let mut m = RateMeter::new(t0);
        m.record(7, t0);
        assert_eq!(m.rate(t0), 0);
        assert_eq!(m.average(t0), 0);
        // time going backwards does not panic
        m.record(1, t0 - Duration::from_secs(1).min(t0.elapsed()));
        assert_eq!(m.total(), 8);
    }
}

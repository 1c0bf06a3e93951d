//! Session-wide token buckets for `--download-limit` / `--upload-limit`, and rate parsing.
//!
//! One bucket per direction is shared by every connection of a session. The lock is a
//! plain `std::sync::Mutex` held for a few arithmetic operations, never across `.await`:
//! a caller takes its bytes (the bucket may go into debt) and sleeps outside the lock
//! until the debt is paid back, so large writes never starve.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::RateParseError;

/// A token bucket; `None` rate means unlimited.
#[derive(Debug)]
pub struct RateLimiter {
    rate: Option<u64>,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    /// Available bytes; negative while in debt.
    tokens: f64,
    last: Instant,
    /// Bytes taken since the limiter was made.
    taken: u64,
}

impl RateLimiter {
    /// A limiter of `rate` bytes per second (`None` or `Some(0)`: unlimited).
    pub fn new(rate: Option<u64>) -> Arc<Self> {
        let rate = rate.filter(|r| *r > 0);
        Arc::new(RateLimiter {
            rate,
            state: Mutex::new(Bucket {
                tokens: rate.map_or(0.0, burst),
                last: Instant::now(),
                taken: 0,
            }),
        })
    }

    /// The configured rate, bytes/s.
    pub fn rate(&self) -> Option<u64> {
        self.rate
    }

    /// Bytes taken from a limited bucket so far (0 when unlimited): how much of the cap
    /// is used, over an interval the caller picks.
    pub fn taken(&self) -> u64 {
        self.state.lock().map_or(0, |b| b.taken)
    }

    /// Takes `bytes` from the bucket and returns how long to wait before using them.
    pub fn take(&self, bytes: usize, now: Instant) -> Duration {
        let Some(rate) = self.rate else {
            return Duration::ZERO;
        };
        let Ok(mut b) = self.state.lock() else {
            return Duration::ZERO;
        };
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.last = now.max(b.last);
        b.tokens = (b.tokens + elapsed * rate as f64).min(burst(rate));
        b.tokens -= bytes as f64;
        b.taken = b.taken.saturating_add(bytes as u64);
        if b.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-b.tokens / rate as f64)
        }
    }

    /// Takes `bytes` and sleeps until they are paid for.
    pub async fn acquire(&self, bytes: usize) {
        let wait = self.take(bytes, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Burst size: a quarter second of traffic, at least 32 KiB (two blocks).
fn burst(rate: u64) -> f64 {
    (rate as f64 / 4.0).max(32.0 * 1024.0)
}

/// Parses a rate in bytes per second: a number with an optional unit. `K`, `M`, `G`,
/// `KiB`, `MiB`, `GiB` are powers of 1024 (as aria2 and Transmission read them); `kB`,
/// `KB`, `MB`, `GB` are powers of 1000; a trailing `/s` is allowed. `0` means unlimited
/// (returned as `None`).
pub fn parse_rate(s: &str) -> Result<Option<u64>, RateParseError> {
    let err = || RateParseError(s.to_owned());
    let t = s.trim();
    let t = t.strip_suffix("/s").unwrap_or(t);
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| err())?;
    let mult: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "K" | "k" | "KiB" | "Ki" => 1024.0,
        "M" | "m" | "MiB" | "Mi" => 1024.0 * 1024.0,
        "G" | "g" | "GiB" | "Gi" => 1024.0 * 1024.0 * 1024.0,
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        _ => return Err(err()),
    };
    let bytes = value * mult;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(err());
    }
    let bytes = bytes.round() as u64;
    Ok((bytes > 0).then_some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_rate("8M"), Ok(Some(8 * 1024 * 1024)));
        assert_eq!(parse_rate("512K"), Ok(Some(512 * 1024)));
        assert_eq!(parse_rate("1.5MiB"), Ok(Some(1_572_864)));
        assert_eq!(parse_rate("2MB"), Ok(Some(2_000_000)));
        assert_eq!(parse_rate("100"), Ok(Some(100)));
        assert_eq!(parse_rate("0"), Ok(None));
        assert_eq!(parse_rate("1M/s"), Ok(Some(1 << 20)));
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("1X").is_err());
        assert!(parse_rate("").is_err());
    }

    #[test]
    fn bucket_goes_into_debt_and_asks_to_wait() {
        let l = RateLimiter::new(Some(100 * 1024));
        let t0 = Instant::now();
        // The burst (32 KiB) is free, the rest is debt at 100 KiB/s.
        assert_eq!(l.take(32 * 1024, t0), Duration::ZERO);
        let wait = l.take(50 * 1024, t0);
        assert!(wait >= Duration::from_millis(450) && wait <= Duration::from_millis(550));
        assert_eq!(l.taken(), 82 * 1024);
        let unlimited = RateLimiter::new(None);
        assert_eq!(unlimited.take(1 << 30, t0), Duration::ZERO);
        assert_eq!(unlimited.taken(), 0);
    }
}

//! Per-IP rate limit on incoming queries: a token bucket per source IP, in a bounded map.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

/// Most source IPs tracked; when full, idle entries are purged and, if still full,
/// queries from new IPs are refused until some go idle.
pub const MAX_TRACKED_IPS: usize = 10_000;

/// Token buckets by source IP.
#[derive(Debug, Clone)]
pub struct QueryRateLimit {
    per_second: f64,
    burst: f64,
    buckets: HashMap<IpAddr, (f64, Instant)>,
}

impl QueryRateLimit {
    /// `per_second` queries sustained, `burst` at once, per IP.
    pub fn new(per_second: u32, burst: u32) -> Self {
        QueryRateLimit {
            per_second: f64::from(per_second),
            burst: f64::from(burst.max(1)),
            buckets: HashMap::new(),
        }
    }

    /// Whether a query from `ip` may be answered now (takes one token if so).
    pub fn allow(&mut self, ip: IpAddr, now: Instant) -> bool {
        if !self.buckets.contains_key(&ip) && self.buckets.len() >= MAX_TRACKED_IPS {
            let (rate, burst) = (self.per_second, self.burst);
            self.buckets.retain(|_, (tokens, at)| {
                *tokens + now.saturating_duration_since(*at).as_secs_f64() * rate < burst
            });
            if self.buckets.len() >= MAX_TRACKED_IPS {
                return false;
            }
        }
        let (tokens, at) = self.buckets.entry(ip).or_insert((self.burst, now));
        let refill = now.saturating_duration_since(*at).as_secs_f64() * self.per_second;
        *tokens = (*tokens + refill).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_refill() {
        let now = Instant::now();
        let mut r = QueryRateLimit::new(10, 5);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        assert!((0..5).all(|_| r.allow(ip, now)));
        assert!(!r.allow(ip, now));
        assert!(r.allow(other, now));
        assert!(r.allow(ip, now + Duration::from_millis(100)));
        assert!(!r.allow(ip, now + Duration::from_millis(100)));
    }
}

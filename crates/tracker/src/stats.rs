//! Request counters (lock-free atomics bumped by the front ends), request rates sampled
//! periodically, and their two renderings: JSON for `/stats` and Prometheus text for
//! `/metrics`.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::registry::RegistryTotals;

macro_rules! counters {
    ($($name:ident : $proto:literal, $kind:literal, $help:literal;)*) => {
        /// Monotonic counters of what the front ends did.
        #[derive(Debug, Default)]
        pub struct Counters {
            $(#[doc = $help] pub $name: AtomicU64,)*
        }

        /// A copy of [`Counters`] at one moment.
        #[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
        pub struct CounterValues {
            $(#[doc = $help] pub $name: u64,)*
        }

        impl Counters {
            /// Reads every counter.
            pub fn values(&self) -> CounterValues {
                CounterValues { $($name: self.$name.load(Ordering::Relaxed),)* }
            }
        }

        impl CounterValues {
            fn per_second(&self, earlier: &CounterValues, secs: f64) -> Vec<(&'static str, f64)> {
                vec![$((stringify!($name), (self.$name.saturating_sub(earlier.$name)) as f64 / secs),)*]
            }

            fn prometheus(&self, out: &mut String) {
                out.push_str("# HELP bitswarm_tracker_events_total Requests and connections handled by the tracker, by protocol and kind.\n");
                out.push_str("# TYPE bitswarm_tracker_events_total counter\n");
                $(let _ = writeln!(out, "bitswarm_tracker_events_total{{protocol=\"{}\",kind=\"{}\"}} {}", $proto, $kind, self.$name);)*
            }
        }
    };
}

counters! {
    http_announces: "http", "announce", "HTTP announces answered (including failures).";
    http_scrapes: "http", "scrape", "HTTP scrapes answered (including failures).";
    http_failures: "http", "failure", "HTTP replies carrying a bencoded failure reason.";
    http_bad_requests: "http", "bad_request", "HTTP requests refused with 400 (malformed, too large).";
    http_other: "http", "other", "HTTP requests for /stats, /metrics or unknown paths.";
    http_connections: "http", "connection", "HTTP connections accepted.";
    http_connections_refused: "http", "connection_refused", "HTTP connections closed at once because of the connection limit.";
    http_timeouts: "http", "timeout", "HTTP connections closed because a request took too long.";
    udp_connects: "udp", "connect", "UDP connect requests answered.";
    udp_announces: "udp", "announce", "UDP announces answered (including errors).";
    udp_scrapes: "udp", "scrape", "UDP scrapes answered (including errors).";
    udp_errors: "udp", "error", "UDP error replies sent (bad connection id, malformed, refused).";
    udp_dropped: "udp", "dropped", "UDP packets dropped without reply (too short, unknown action).";
}

impl Counters {
    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Rates over the last sampling period.
#[derive(Debug, Clone)]
pub struct RateSampler {
    last: CounterValues,
    last_at: Instant,
    rates: Vec<(&'static str, f64)>,
}

impl RateSampler {
    /// Starts sampling at `now`.
    pub fn new(now: Instant) -> RateSampler {
        RateSampler {
            last: CounterValues::default(),
            last_at: now,
            rates: Vec::new(),
        }
    }

    /// Takes a sample: rates become (current − previous) / elapsed.
    pub fn sample(&mut self, current: CounterValues, now: Instant) {
        let secs = now.saturating_duration_since(self.last_at).as_secs_f64();
        if secs > 0.0 {
            self.rates = current.per_second(&self.last, secs);
            self.last = current;
            self.last_at = now;
        }
    }

    /// The latest rates, per second, by counter name.
    pub fn rates(&self) -> &[(&'static str, f64)] {
        &self.rates
    }
}

/// Everything `/stats` shows.
#[derive(Debug, Serialize)]
pub struct StatsReport {
    /// Seconds since start.
    pub uptime_secs: u64,
    /// Registry sizes and totals.
    pub registry: RegistryTotals,
    /// Counters since start.
    pub counters: CounterValues,
    /// Per-second rates over the last sampling period.
    pub rates_per_sec: serde_json::Map<String, serde_json::Value>,
    /// Sampling period of `rates_per_sec`, seconds.
    pub rate_period_secs: u64,
}

impl StatsReport {
    /// Builds a report.
    pub fn new(
        uptime: Duration,
        registry: RegistryTotals,
        counters: CounterValues,
        rates: &RateSampler,
        period: Duration,
    ) -> Self {
        let rates_per_sec = rates
            .rates()
            .iter()
            .map(|(k, v)| {
                (
                    (*k).to_owned(),
                    serde_json::json!((v * 10.0).round() / 10.0),
                )
            })
            .collect();
        StatsReport {
            uptime_secs: uptime.as_secs(),
            registry,
            counters,
            rates_per_sec,
            rate_period_secs: period.as_secs(),
        }
    }

    /// As pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// As Prometheus text exposition format.
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        self.counters.prometheus(&mut out);
        let r = &self.registry;
        for (name, help, value) in [
            ("torrents", "Torrents tracked.", r.torrents as u64),
            ("seeders", "Seeders over all torrents.", r.seeders as u64),
            ("leechers", "Leechers over all torrents.", r.leechers as u64),
            (
                "completed",
                "Completed downloads counted over tracked torrents.",
                r.completed,
            ),
        ] {
            let _ = writeln!(out, "# HELP bitswarm_tracker_{name} {help}\n# TYPE bitswarm_tracker_{name} gauge\nbitswarm_tracker_{name} {value}");
        }
        for (name, help, value) in [
            (
                "peers_refused_total",
                "New peers not stored because a peer limit was reached.",
                r.peers_refused,
            ),
            (
                "torrents_refused_total",
                "Announces refused because max_torrents was reached.",
                r.torrents_refused,
            ),
        ] {
            let _ = writeln!(out, "# HELP bitswarm_tracker_{name} {help}\n# TYPE bitswarm_tracker_{name} counter\nbitswarm_tracker_{name} {value}");
        }
        let _ = writeln!(
            out,
            "# HELP bitswarm_tracker_uptime_seconds Seconds since the tracker started.\n# TYPE bitswarm_tracker_uptime_seconds gauge\nbitswarm_tracker_uptime_seconds {}",
            self.uptime_secs
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_renderings() {
        let c = Counters::default();
        let t = Instant::now();
        let mut s = RateSampler::new(t);
        for _ in 0..20 {
            Counters::bump(&c.udp_announces);
        }
        s.sample(c.values(), t + Duration::from_secs(10));
        assert!(s.rates().contains(&("udp_announces", 2.0)));
        let report = StatsReport::new(
            Duration::from_secs(10),
            RegistryTotals::default(),
            c.values(),
            &s,
            Duration::from_secs(10),
        );
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(json["counters"]["udp_announces"], 20);
        assert_eq!(json["rates_per_sec"]["udp_announces"], 2.0);
        let prom = report.to_prometheus();
        assert!(
            prom.contains("bitswarm_tracker_events_total{protocol=\"udp\",kind=\"announce\"} 20\n")
        );
        assert!(prom.contains("bitswarm_tracker_torrents 0\n"));
    }
}

//! The announcer of one torrent: BEP 12 tiers (shuffled within a tier, a tracker that
//! answers moves to the front of its tier), events `started` / `completed` / `stopped`,
//! re-announces on the tracker's interval, retries with backoff when every tracker fails.
//!
//! It runs as its own task, reads the torrent's transfer counters from a `watch`, and
//! hands peer addresses to the torrent driver through a bounded channel.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use bitswarm_tracker::Event;
use rand::seq::SliceRandom;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, info, warn};

use crate::tracker_http;
use crate::tracker_types::{AnnounceParams, AnnounceResult, ScrapeResult, TrackerError};
use crate::tracker_udp::{UdpTiming, UdpTracker};

/// Trackers in BEP 12 tiers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrackerTiers {
    tiers: Vec<Vec<String>>,
}

impl TrackerTiers {
    /// Tiers as listed in the torrent, each shuffled ("the URLs within each tier [are
    /// processed] in a randomized order").
    pub fn new(mut tiers: Vec<Vec<String>>, rng: &mut impl rand::Rng) -> Self {
        tiers.retain(|t| !t.is_empty());
        for t in &mut tiers {
            t.shuffle(rng);
        }
        TrackerTiers { tiers }
    }

    /// The tiers in order.
    pub fn tiers(&self) -> &[Vec<String>] {
        &self.tiers
    }

    /// Whether there is no tracker at all.
    pub fn is_empty(&self) -> bool {
        self.tiers.is_empty()
    }

    /// BEP 12: a tracker that answered moves to the front of its tier.
    pub fn promote(&mut self, tier: usize, index: usize) {
        if let Some(t) = self.tiers.get_mut(tier) {
            if index < t.len() {
                let url = t.remove(index);
                t.insert(0, url);
            }
        }
    }
}

/// Transfer counters the announcer reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AnnounceStatus {
    /// Payload uploaded.
    pub uploaded: u64,
    /// Payload downloaded.
    pub downloaded: u64,
    /// Bytes left.
    pub left: u64,
    /// Whether the download completed in this session (triggers `completed` once).
    pub completed: bool,
    /// Whether the data on disk was checked (`left` is known): nothing is announced
    /// before.
    pub checked: bool,
}

/// Static settings of an announcer.
#[derive(Debug, Clone)]
pub struct AnnouncerConfig {
    /// Torrent.
    pub info_hash: [u8; 20],
    /// Our peer id.
    pub peer_id: [u8; 20],
    /// Our listen port.
    pub port: u16,
    /// Peers asked for.
    pub numwant: u32,
    /// Re-announce at least this often, whatever the tracker says (tests use a few
    /// seconds so that late joiners are found; `None`: the tracker's interval).
    pub max_interval: Option<Duration>,
    /// UDP retransmission schedule.
    pub udp_timing: UdpTiming,
    /// Timeout of one HTTP announce.
    pub http_timeout: Duration,
}

/// Commands to a running announcer.
#[derive(Debug)]
pub enum AnnouncerCommand {
    /// Announce `stopped` and end; the sender is told when done.
    Stop(oneshot::Sender<()>),
}

/// Runs the announcer until stopped.
pub async fn run_announcer(
    config: AnnouncerConfig,
    mut tiers: TrackerTiers,
    mut status: watch::Receiver<AnnounceStatus>,
    peers_out: mpsc::Sender<Vec<SocketAddr>>,
    mut commands: mpsc::Receiver<AnnouncerCommand>,
) {
    // `left` is only known once the torrent checked its data: a seed announcing
    // `started` with everything left would be listed as a leecher.
    while !status.borrow().checked {
        tokio::select! {
            cmd = commands.recv() => {
                if let Some(AnnouncerCommand::Stop(done)) = cmd {
                    let _ = done.send(());
                }
                return;
            }
            changed = status.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
    let mut clients = Clients::default();
    let mut event = Event::Started;
    let mut sent_completed = status.borrow().completed;
    let mut failures = 0u32;
    let mut next = tokio::time::Instant::now();
    loop {
        tokio::select! {
            cmd = commands.recv() => {
                let owed = completed_owed(&status, sent_completed, event);
                return stop(cmd, event, owed, &mut clients, &mut tiers, &config, &status).await;
            }
            changed = status.changed() => {
                if changed.is_err() {
                    // The torrent is gone without a stop command.
                    return;
                }
                let completed = status.borrow().completed;
                if completed && !sent_completed && event != Event::Started {
                    event = Event::Completed;
                    next = tokio::time::Instant::now();
                }
                continue;
            }
            _ = tokio::time::sleep_until(next) => {}
        }
        let s = *status.borrow();
        if s.completed {
            sent_completed = true;
        }
        let p = clients.params(&config, &s, event);
        // A stop command interrupts a slow announce (a dead UDP tracker retries for
        // minutes).
        let result = tokio::select! {
            r = announce_once(&mut clients, &mut tiers, &config, p) => Ok(r),
            cmd = commands.recv() => Err(cmd),
        };
        let result = match result {
            Ok(r) => r,
            Err(cmd) => {
                let owed = completed_owed(&status, sent_completed, event);
                return stop(cmd, event, owed, &mut clients, &mut tiers, &config, &status).await;
            }
        };
        match result {
            Ok(r) => {
                failures = 0;
                event = Event::None;
                let mut wait = r.interval;
                if let Some(max) = config.max_interval {
                    wait = wait.min(max);
                }
                // Never more often than the tracker's `min interval`.
                wait = wait.max(r.min_interval.unwrap_or_default());
                next = tokio::time::Instant::now() + wait.max(Duration::from_secs(1));
                if !r.peers.is_empty() {
                    let _ = peers_out.send(r.peers).await;
                }
            }
            Err(e) => {
                failures += 1;
                let backoff =
                    Duration::from_secs(5u64 << failures.min(6)).min(Duration::from_secs(300));
                warn!(error = %e, retry_in = ?backoff, "every tracker failed");
                next = tokio::time::Instant::now() + backoff;
            }
        }
    }
}

/// Whether the download completed in this session and no tracker has been told yet:
/// no announce went out since completion, or the `completed` one has not succeeded.
fn completed_owed(status: &watch::Receiver<AnnounceStatus>, sent: bool, event: Event) -> bool {
    status.borrow().completed && (!sent || event == Event::Completed)
}

/// Announces `stopped` (if we ever announced) within 5 s, then acknowledges. A download
/// that completed just before the stop announces `completed` first (within 5 s too), so
/// the tracker counts it: trackers count completions from that event only.
#[allow(clippy::too_many_arguments)]
async fn stop(
    cmd: Option<AnnouncerCommand>,
    event: Event,
    completed_owed: bool,
    clients: &mut Clients,
    tiers: &mut TrackerTiers,
    config: &AnnouncerConfig,
    status: &watch::Receiver<AnnounceStatus>,
) {
    let done = cmd.map(|AnnouncerCommand::Stop(done)| done);
    if event != Event::Started {
        let s = *status.borrow();
        if completed_owed {
            let p = clients.params(config, &s, Event::Completed);
            let completed = announce_once(clients, tiers, config, p);
            let _ = tokio::time::timeout(Duration::from_secs(5), completed).await;
        }
        let p = clients.params(config, &s, Event::Stopped);
        let stop = announce_once(clients, tiers, config, p);
        let _ = tokio::time::timeout(Duration::from_secs(5), stop).await;
    }
    if let Some(done) = done {
        let _ = done.send(());
    }
}

#[derive(Default)]
struct Clients {
    udp: HashMap<String, UdpTracker>,
    tracker_ids: HashMap<String, String>,
    key: u32,
}

impl Clients {
    fn params(&mut self, c: &AnnouncerConfig, s: &AnnounceStatus, event: Event) -> AnnounceParams {
        if self.key == 0 {
            self.key = rand::random::<u32>() | 1;
        }
        AnnounceParams {
            info_hash: c.info_hash,
            peer_id: c.peer_id,
            port: c.port,
            uploaded: s.uploaded,
            downloaded: s.downloaded,
            left: s.left,
            event,
            numwant: if event == Event::Stopped {
                0
            } else {
                c.numwant
            },
            key: self.key,
            tracker_id: None,
        }
    }

    async fn announce(
        &mut self,
        url: &str,
        c: &AnnouncerConfig,
        mut p: AnnounceParams,
        last_resort: bool,
    ) -> Result<AnnounceResult, TrackerError> {
        if url.starts_with("udp://") {
            if !self.udp.contains_key(url) {
                self.udp
                    .insert(url.to_owned(), UdpTracker::new(url, c.udp_timing)?);
            }
            // With other trackers left to try, give up after two attempts (15 + 30 s
            // by BEP 15's schedule) instead of the full hour of retransmissions.
            let max_n = if last_resort {
                c.udp_timing.max_n
            } else {
                c.udp_timing.max_n.min(1)
            };
            match self.udp.get_mut(url) {
                Some(t) => t.announce(&p, max_n).await,
                None => Err(TrackerError::UnsupportedUrl(url.to_owned())),
            }
        } else {
            p.tracker_id = self.tracker_ids.get(url).cloned();
            let r = tracker_http::announce(url, &p, c.http_timeout).await?;
            if let Some(id) = &r.tracker_id {
                self.tracker_ids.insert(url.to_owned(), id.clone());
            }
            Ok(r)
        }
    }
}

/// Scrapes one torrent from one tracker: BEP 48 over HTTP (the scrape URL derived from
/// the announce URL), BEP 15 over UDP with the retransmission schedule `udp_timing`.
pub async fn scrape(
    url: &str,
    info_hash: [u8; 20],
    udp_timing: UdpTiming,
    http_timeout: Duration,
) -> Result<ScrapeResult, TrackerError> {
    if url.starts_with("udp://") {
        let (seeders, completed, leechers) =
            UdpTracker::new(url, udp_timing)?.scrape(info_hash).await?;
        Ok(ScrapeResult {
            seeders,
            completed,
            leechers,
        })
    } else {
        tracker_http::scrape(url, info_hash, http_timeout).await
    }
}

/// Tries tier by tier, tracker by tracker, until one answers (BEP 12).
async fn announce_once(
    clients: &mut Clients,
    tiers: &mut TrackerTiers,
    config: &AnnouncerConfig,
    p: AnnounceParams,
) -> Result<AnnounceResult, TrackerError> {
    let mut last_error = TrackerError::Timeout;
    for t in 0..tiers.tiers().len() {
        for i in 0..tiers.tiers()[t].len() {
            let url = tiers.tiers()[t][i].clone();
            let last = t + 1 == tiers.tiers().len() && i + 1 == tiers.tiers()[t].len();
            match clients.announce(&url, config, p.clone(), last).await {
                Ok(r) => {
                    if let Some(w) = &r.warning {
                        warn!(tracker = %url, warning = %w, "tracker warning");
                    }
                    info!(tracker = %url, event = ?p.event, peers = r.peers.len(), interval = ?r.interval, "announced");
                    tiers.promote(t, i);
                    return Ok(r);
                }
                Err(e) => {
                    debug!(tracker = %url, error = %e, "announce failed");
                    last_error = e;
                }
            }
        }
    }
    Err(last_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn tiers_shuffle_within_and_promote() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let tiers = vec![
            vec!["a".to_string(), "b".into(), "c".into()],
            vec![],
            vec!["d".into()],
        ];
        let mut t = TrackerTiers::new(tiers, &mut rng);
        assert_eq!(t.tiers().len(), 2);
        let mut first = t.tiers()[0].clone();
        first.sort();
        assert_eq!(first, vec!["a", "b", "c"]);
        let third = t.tiers()[0][2].clone();
        t.promote(0, 2);
        assert_eq!(t.tiers()[0][0], third);
        assert_eq!(t.tiers()[1], vec!["d".to_string()]);
    }
}

//! Our outstanding requests to one peer: adaptive pipeline depth, timeouts, snubbing.
//!
//! Depth follows the bandwidth-delay product: enough 16 KiB requests to cover
//! `rate × target_latency`, at least `min_depth`, at most `max_depth` and the peer's
//! advertised `reqq` (BEP 10: "the number of outstanding request messages this client
//! supports without dropping any"). Until the peer's rate is measured (its first second)
//! the depth is `initial_depth`.
//!
//! The floor matters where uploads are capped: an uploader serves its requests in turn,
//! so a request waits behind everything queued there, and a queue deeper than the rate
//! covers only adds waiting. With a floor of 64 blocks (1 MiB) at a peer that gives us
//! 200 KiB/s (a 1 MiB/s uploader with five upload slots), a block came 5 s after it was
//! asked for, and the blocks a downloader still missed sat in such queues while other
//! peers that had unchoked it found nothing left to ask for.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bitswarm_wire::BlockInfo;
use thiserror::Error;

use crate::geometry::BLOCK_LEN;

/// Tunables of a request queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestQueueConfig {
    /// Fewest requests kept in flight once the peer's rate is measured.
    pub min_depth: usize,
    /// Requests kept in flight before the peer's rate is measured.
    pub initial_depth: usize,
    /// Most requests kept in flight, whatever the rate.
    pub max_depth: usize,
    /// How much transfer time the queue should cover.
    pub target_latency: Duration,
    /// A request unanswered for this long is given up.
    pub request_timeout: Duration,
    /// A peer that sent no block for this long while we had requests out is snubbed.
    pub snub_timeout: Duration,
}

impl Default for RequestQueueConfig {
    fn default() -> Self {
        RequestQueueConfig {
            min_depth: 2,
            initial_depth: 2,
            max_depth: 250,
            target_latency: Duration::from_secs(3),
            request_timeout: Duration::from_secs(60),
            snub_timeout: Duration::from_secs(60),
        }
    }
}

/// A block arrived that we did not request (BEP 6: "if a peer receives a piece that was
/// never requested, the peer MUST close the connection").
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("received block {0:?} that was not requested")]
pub struct UnrequestedBlock(pub BlockInfo);

/// The requests we have in flight to one peer.
#[derive(Debug, Clone)]
pub struct RequestQueue {
    config: RequestQueueConfig,
    outstanding: VecDeque<(BlockInfo, Instant)>,
    peer_reqq: Option<usize>,
    /// Last block arrival, or when the queue went from empty to non-empty.
    last_progress: Option<Instant>,
    snubbed: bool,
}

impl RequestQueue {
    /// An empty queue.
    pub fn new(config: RequestQueueConfig) -> Self {
        RequestQueue {
            config,
            outstanding: VecDeque::new(),
            peer_reqq: None,
            last_progress: None,
            snubbed: false,
        }
    }

    /// Records the peer's `reqq` from its extension handshake.
    pub fn set_peer_reqq(&mut self, reqq: u32) {
        self.peer_reqq = Some(reqq.max(1) as usize);
    }

    /// Requests in flight.
    pub fn len(&self) -> usize {
        self.outstanding.len()
    }

    /// Whether no request is in flight.
    pub fn is_empty(&self) -> bool {
        self.outstanding.is_empty()
    }

    /// The blocks in flight, oldest first.
    pub fn outstanding(&self) -> impl Iterator<Item = &BlockInfo> {
        self.outstanding.iter().map(|(b, _)| b)
    }

    /// Whether `block` is in flight.
    pub fn contains(&self, block: &BlockInfo) -> bool {
        self.outstanding.iter().any(|(b, _)| b == block)
    }

    /// Whether the peer is snubbed (see [`RequestQueueConfig::snub_timeout`]).
    pub fn is_snubbed(&self) -> bool {
        self.snubbed
    }

    /// Target number of requests in flight for a download rate in bytes/s (`None`: not
    /// measured yet). A snubbed peer gets a single request, enough to notice when it
    /// wakes up.
    pub fn depth(&self, rate: Option<u64>) -> usize {
        if self.snubbed {
            return 1;
        }
        let cap = self
            .peer_reqq
            .map_or(self.config.max_depth, |q| q.min(self.config.max_depth));
        let Some(rate) = rate else {
            return self.config.initial_depth.max(1).min(cap);
        };
        let bytes = u128::from(rate) * self.config.target_latency.as_millis() / 1000;
        let wanted = bytes.div_ceil(u128::from(BLOCK_LEN));
        let wanted = usize::try_from(wanted).unwrap_or(usize::MAX);
        wanted.max(self.config.min_depth).min(cap)
    }

    /// How many more requests to send now (`rate` as for [`RequestQueue::depth`]).
    pub fn free_slots(&self, rate: Option<u64>) -> usize {
        self.depth(rate).saturating_sub(self.outstanding.len())
    }

    /// Records a request sent at `now`.
    pub fn on_sent(&mut self, block: BlockInfo, now: Instant) {
        if self.outstanding.is_empty() {
            self.last_progress = Some(now);
        }
        self.outstanding.push_back((block, now));
    }

    /// A block arrived. Returns how long the request took.
    pub fn on_block(
        &mut self,
        block: &BlockInfo,
        now: Instant,
    ) -> Result<Duration, UnrequestedBlock> {
        let i = self
            .outstanding
            .iter()
            .position(|(b, _)| b == block)
            .ok_or(UnrequestedBlock(*block))?;
        let (_, sent) = self.outstanding.remove(i).ok_or(UnrequestedBlock(*block))?;
        self.last_progress = Some(now);
        self.snubbed = false;
        Ok(now.saturating_duration_since(sent))
    }

    /// Removes `block` (we cancelled it, or the peer rejected it). Returns whether it was
    /// in flight.
    pub fn remove(&mut self, block: &BlockInfo) -> bool {
        match self.outstanding.iter().position(|(b, _)| b == block) {
            Some(i) => {
                self.outstanding.remove(i);
                true
            }
            None => false,
        }
    }

    /// Removes and returns every request (disconnect, or choke without fast extension).
    pub fn drain(&mut self) -> Vec<BlockInfo> {
        self.outstanding.drain(..).map(|(b, _)| b).collect()
    }

    /// Expires requests older than the request timeout and updates snubbing. Returns the
    /// expired blocks, to give back to the picker (and count a timeout against the peer).
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<BlockInfo> {
        let mut expired = Vec::new();
        while let Some(&(block, sent)) = self.outstanding.front() {
            if now.saturating_duration_since(sent) < self.config.request_timeout {
                break;
            }
            self.outstanding.pop_front();
            expired.push(block);
        }
        if let Some(last) = self.last_progress {
            if now.saturating_duration_since(last) >= self.config.snub_timeout
                && (!self.outstanding.is_empty() || !expired.is_empty())
            {
                self.snubbed = true;
            }
        }
        expired
    }

    /// The next instant at which [`RequestQueue::handle_timeout`] has something to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let &(_, oldest) = self.outstanding.front()?;
        let expire = oldest + self.config.request_timeout;
        let snub = self
            .last_progress
            .filter(|_| !self.snubbed)
            .map(|t| t + self.config.snub_timeout);
        Some(snub.map_or(expire, |s| s.min(expire)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(i: u32) -> BlockInfo {
        BlockInfo {
            piece: i,
            offset: 0,
            length: BLOCK_LEN,
        }
    }

    #[test]
    fn depth_follows_rate_within_bounds() {
        let mut q = RequestQueue::new(RequestQueueConfig::default());
        assert_eq!(q.depth(Some(0)), 2);
        // 1 MiB/s × 3 s / 16 KiB = 192
        assert_eq!(q.depth(Some(1 << 20)), 192);
        assert_eq!(q.depth(Some(u64::MAX)), 250);
        q.set_peer_reqq(50);
        assert_eq!(q.depth(Some(1 << 20)), 50);
        q.set_peer_reqq(0);
        assert_eq!(q.depth(Some(1 << 20)), 1);
    }

    #[test]
    fn slots_shrink_as_requests_go_out() {
        let t0 = Instant::now();
        let mut q = RequestQueue::new(RequestQueueConfig::default());
        assert_eq!(q.free_slots(Some(0)), 2);
        q.on_sent(block(0), t0);
        q.on_sent(block(1), t0);
        assert_eq!(q.free_slots(Some(0)), 0);
        assert_eq!(
            q.on_block(&block(0), t0 + Duration::from_millis(250)),
            Ok(Duration::from_millis(250))
        );
        assert_eq!(q.free_slots(Some(0)), 1);
    }

    #[test]
    fn initial_depth_until_the_rate_is_measured_then_the_floor() {
        let mut q = RequestQueue::new(RequestQueueConfig {
            min_depth: 4,
            initial_depth: 64,
            max_depth: 1000,
            target_latency: Duration::from_secs(1),
            ..RequestQueueConfig::default()
        });
        assert_eq!(q.depth(None), 64);
        // A measured rate that a second covers with fewer blocks: the floor, not the
        // initial depth.
        assert_eq!(q.depth(Some(0)), 4);
        assert_eq!(q.depth(Some(200 * 1024)), 13);
        assert_eq!(q.depth(Some(100 << 20)), 1000);
        q.set_peer_reqq(10);
        assert_eq!(
            q.depth(None),
            10,
            "the peer's reqq bounds the initial depth too"
        );
    }

    #[test]
    fn unrequested_block_is_an_error() {
        let mut q = RequestQueue::new(RequestQueueConfig::default());
        assert_eq!(
            q.on_block(&block(3), Instant::now()),
            Err(UnrequestedBlock(block(3)))
        );
    }

    #[test]
    fn requests_time_out_and_peer_gets_snubbed() {
        let t0 = Instant::now();
        let mut q = RequestQueue::new(RequestQueueConfig::default());
        q.on_sent(block(0), t0);
        q.on_sent(block(1), t0 + Duration::from_secs(30));
        assert_eq!(q.poll_timeout(), Some(t0 + Duration::from_secs(60)));
        assert!(q.handle_timeout(t0 + Duration::from_secs(59)).is_empty());
        assert!(!q.is_snubbed());
        assert_eq!(
            q.handle_timeout(t0 + Duration::from_secs(60)),
            vec![block(0)]
        );
        assert!(q.is_snubbed());
        assert_eq!(q.depth(Some(1 << 20)), 1);
        assert_eq!(q.poll_timeout(), Some(t0 + Duration::from_secs(90)));
        // A block un-snubs.
        q.on_block(&block(1), t0 + Duration::from_secs(61)).unwrap();
        assert!(!q.is_snubbed());
        assert_eq!(q.poll_timeout(), None);
    }

    #[test]
    fn idle_queue_is_never_snubbed() {
        let t0 = Instant::now();
        let mut q = RequestQueue::new(RequestQueueConfig::default());
        q.on_sent(block(0), t0);
        q.on_block(&block(0), t0).unwrap();
        assert!(q.handle_timeout(t0 + Duration::from_secs(600)).is_empty());
        assert!(!q.is_snubbed());
    }

    #[test]
    fn snub_clock_starts_when_requests_go_out() {
        let t0 = Instant::now();
        let mut q = RequestQueue::new(RequestQueueConfig::default());
        q.on_sent(block(0), t0);
        q.on_block(&block(0), t0).unwrap();
        // Idle for 100 s, then a new request: not snubbed right away.
        q.on_sent(block(1), t0 + Duration::from_secs(100));
        q.handle_timeout(t0 + Duration::from_secs(101));
        assert!(!q.is_snubbed());
    }

    #[test]
    fn remove_and_drain() {
        let t0 = Instant::now();
        let mut q = RequestQueue::new(RequestQueueConfig::default());
        for i in 0..3 {
            q.on_sent(block(i), t0);
        }
        assert!(q.remove(&block(1)));
        assert!(!q.remove(&block(1)));
        assert!(q.contains(&block(2)));
        assert_eq!(q.drain(), vec![block(0), block(2)]);
        assert!(q.is_empty());
    }
}

//! Who we upload to: tit-for-tat with one optimistic unchoke (BEP 3).
//!
//! BEP 3: peers are unchoked by the rate at which they give us data ("the best rate
//! downloaded from"), the choice is re-evaluated every 10 seconds, one optimistic unchoke
//! rotates every 30 seconds, and "newly connected peers are three times as likely to start
//! as the current optimistic unchoke as anywhere else in the rotation". While seeding
//! there is nothing to download, so peers are ranked by the rate we upload to them.
//! Like libtorrent, the optimistic slot comes on top of the regular slots (4 + 1).
//!
//! Between re-evaluations a slot does not stay idle: when an unchoked peer loses
//! interest or leaves, [`Choker::fill`] chokes the peers that no longer want anything
//! and gives the free slots to the best interested peers at once (libtorrent chokes a
//! peer that sends `not interested` and triggers an unchoke likewise). Early in a
//! download a peer's unchoked neighbours take the few pieces it has within a second and
//! lose interest; without this, half of the upload slots idled until the next 10 s
//! re-evaluation. Likewise a slot whose peer stays interested but asks for nothing (all
//! it misses is requested from others) goes to a choked interested peer: a seed kept
//! its five fastest peers unchoked after they had all it could give them, and its
//! upload, the swarm's scarcest, idled for seconds at a time.
//!
//! With a capped upload the slot count follows the use of the cap
//! ([`Choker::resize`], as libtorrent's `auto_upload_slots` did): while the cap is not
//! saturated and interested peers wait, more regular slots open; once it is saturated
//! they close again one at a time (4 + 1 where the cap is saturated or absent). At the
//! end of a capped swarm the complete clients' unchoked peers were nearly done and asked
//! for a block now and then, so those clients used 15-50% of their cap while each of
//! the last downloaders was choked by 15-25 of them. Slots open only while some
//! unchoked peer has nothing queued (a slot goes unused), and at most 8 more: with 16,
//! a 500-client swarm of 512 KiB/s uploaders peaked at 2.0 GiB instead of 1.3 GiB (each
//! slot holds the blocks its peer asked for until the bucket lets them out), and the
//! 50-client swarm finished no sooner than with 8.

use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::Rng;

use crate::PeerKey;

/// Tunables of the choker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChokerConfig {
    /// Regular (tit-for-tat) upload slots (more while a capped upload is not saturated,
    /// see [`Choker::resize`]).
    pub regular_slots: usize,
    /// How often the regular slots are re-evaluated.
    pub rechoke_interval: Duration,
    /// How often the optimistic unchoke rotates.
    pub optimistic_interval: Duration,
    /// A peer connected for less than this counts as new for the optimistic draw.
    pub new_peer_window: Duration,
    /// Draw weight of a new peer (others weigh 1).
    pub new_peer_weight: u32,
    /// Most regular slots opened on top of `regular_slots` while a capped upload is
    /// not saturated ([`Choker::resize`]).
    pub max_extra_slots: usize,
    /// A capped upload below this share of its cap (percent) is not saturated.
    pub saturated_percent: u64,
    /// Least time between two slot count changes (the upload rate must show the last
    /// one before the next).
    pub resize_interval: Duration,
}

impl Default for ChokerConfig {
    fn default() -> Self {
        ChokerConfig {
            regular_slots: 4,
            rechoke_interval: Duration::from_secs(10),
            optimistic_interval: Duration::from_secs(30),
            new_peer_window: Duration::from_secs(90),
            new_peer_weight: 3,
            max_extra_slots: 8,
            saturated_percent: 90,
            resize_interval: Duration::from_secs(1),
        }
    }
}

/// What the choker needs to know about one connected peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChokerPeer {
    /// The caller's handle for the peer.
    pub key: PeerKey,
    /// The peer is interested in our pieces.
    pub interested: bool,
    /// The peer has not sent us a block for a long time while we had requests out.
    pub snubbed: bool,
    /// The peer has every piece (it never needs an unchoke).
    pub is_seed: bool,
    /// Rate at which the peer sends us payload, bytes/s (rolling average).
    pub download_rate: u64,
    /// Rate at which we send the peer payload, bytes/s (rolling average).
    pub upload_rate: u64,
    /// When the connection was established.
    pub connected_at: Instant,
    /// Whether we currently unchoke the peer.
    pub unchoked: bool,
    /// Unchoked and interested, but it has asked us for nothing for a while (its
    /// missing pieces are all requested from others): the slot is unused.
    pub idle: bool,
    /// Something waits to go to the peer: its requests, blocks being read for it, or
    /// bytes not yet written to its socket.
    pub queued: bool,
}

/// How much of its upload a client uses, for [`Choker::resize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UploadUse {
    /// Bytes/s sent over the last little while (since the previous `resize`).
    pub rate: u64,
    /// The upload cap, bytes/s; `None`: uncapped (the slot count stays fixed).
    pub limit: Option<u64>,
}

/// The outcome of a re-evaluation: changes to apply, relative to `ChokerPeer::unchoked`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChokeDecision {
    /// Peers to send `unchoke`.
    pub unchoke: Vec<PeerKey>,
    /// Peers to send `choke`.
    pub choke: Vec<PeerKey>,
    /// The current optimistic unchoke, if any.
    pub optimistic: Option<PeerKey>,
}

/// Choking state of one torrent.
#[derive(Debug, Clone)]
pub struct Choker {
    config: ChokerConfig,
    optimistic: Option<PeerKey>,
    next_rechoke: Option<Instant>,
    next_optimistic: Option<Instant>,
    /// Regular slots open on top of `regular_slots` ([`Choker::resize`]).
    extra_slots: usize,
    next_resize: Option<Instant>,
}

impl Choker {
    /// A choker that re-evaluates on its first [`Choker::rechoke`] call.
    pub fn new(config: ChokerConfig) -> Self {
        Choker {
            config,
            optimistic: None,
            next_rechoke: None,
            next_optimistic: None,
            extra_slots: 0,
            next_resize: None,
        }
    }

    /// Regular slots now: `regular_slots`, plus any opened by [`Choker::resize`].
    pub fn regular_slots(&self) -> usize {
        self.config.regular_slots + self.extra_slots
    }

    /// Sizes the regular slots by the use of a capped upload: below
    /// `saturated_percent` of the cap, with interested peers waiting (choked) and
    /// unchoked peers with nothing queued for them (their slots go unused: the shortfall
    /// is for want of requests, not of CPU, disk or a receiver that reads), as many more
    /// slots open as the unused share of the cap would feed at the current slots'
    /// average rate (at least one; at most one per waiting peer, one per unused slot, and
    /// `max_extra_slots` in all); at or over it, one opened slot closes (its peer keeps
    /// it until the next [`Choker::rechoke`] or until it leaves the slot). Uncapped,
    /// the slots stay `regular_slots`. At most one change per `resize_interval`. Call
    /// before [`Choker::fill`] and [`Choker::rechoke`].
    pub fn resize(&mut self, upload: UploadUse, peers: &[ChokerPeer], seeding: bool, now: Instant) {
        let Some(limit) = upload.limit.filter(|l| *l > 0) else {
            self.extra_slots = 0;
            return;
        };
        if self.next_resize.is_some_and(|t| now < t) {
            return;
        }
        let saturated = u128::from(upload.rate) * 100
            >= u128::from(limit) * u128::from(self.config.saturated_percent);
        let before = self.extra_slots;
        if saturated {
            self.extra_slots = self.extra_slots.saturating_sub(1);
        } else {
            let waiting = peers
                .iter()
                .filter(|p| !p.unchoked && p.interested && !p.is_seed && (seeding || !p.snubbed))
                .count();
            let unused = peers.iter().filter(|p| p.unchoked && !p.queued).count();
            if waiting > 0 && unused > 0 {
                // The current slots (with the optimistic one) at their average rate.
                let slots = self.regular_slots() as u128 + 1;
                let spare = u128::from(limit.saturating_sub(upload.rate));
                let more = (spare * slots).div_ceil(u128::from(limit)).max(1);
                let more = usize::try_from(more)
                    .unwrap_or(usize::MAX)
                    .min(waiting)
                    .min(unused);
                self.extra_slots = (self.extra_slots + more).min(self.config.max_extra_slots);
            }
        }
        if self.extra_slots != before {
            self.next_resize = Some(now + self.config.resize_interval);
        }
    }

    /// The current optimistic unchoke.
    pub fn optimistic(&self) -> Option<PeerKey> {
        self.optimistic
    }

    /// When [`Choker::rechoke`] should run next (`None` before the first run).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_rechoke
    }

    /// Whether a re-evaluation is due at `now`.
    pub fn is_due(&self, now: Instant) -> bool {
        self.next_rechoke.map_or(true, |t| now >= t)
    }

    /// Re-evaluates who is unchoked. Call when [`Choker::poll_timeout`] fires; calling it
    /// early (a peer left or became interested) is fine and restarts the 10 s timer.
    pub fn rechoke(
        &mut self,
        peers: &[ChokerPeer],
        seeding: bool,
        now: Instant,
        rng: &mut impl Rng,
    ) -> ChokeDecision {
        // A snubbed peer gives us nothing, so it earns no regular slot while we download.
        let ranked = rank(
            peers
                .iter()
                .filter(|p| p.interested && !p.is_seed && (seeding || !p.snubbed)),
            seeding,
            rng,
        );
        let regular: Vec<PeerKey> = ranked
            .iter()
            .take(self.regular_slots())
            .map(|p| p.key)
            .collect();

        let current_ok = self.optimistic.is_some_and(|k| {
            !regular.contains(&k)
                && peers
                    .iter()
                    .any(|p| p.key == k && p.interested && !p.is_seed && !p.idle)
        });
        let rotate_due = self.next_optimistic.map_or(true, |t| now >= t);
        if !current_ok || rotate_due {
            self.optimistic = self.draw_optimistic(peers, &regular, now, rng);
            self.next_optimistic = Some(now + self.config.optimistic_interval);
        }
        self.next_rechoke = Some(now + self.config.rechoke_interval);

        let wanted = |k: PeerKey| regular.contains(&k) || self.optimistic == Some(k);
        ChokeDecision {
            unchoke: peers
                .iter()
                .filter(|p| !p.unchoked && wanted(p.key))
                .map(|p| p.key)
                .collect(),
            choke: peers
                .iter()
                .filter(|p| p.unchoked && !wanted(p.key))
                .map(|p| p.key)
                .collect(),
            optimistic: self.optimistic,
        }
    }

    /// Refills free slots without re-ranking the peers that keep theirs: unchoked peers
    /// that are not interested (or are seeds) are choked, idle ones too while choked
    /// interested peers wait (one for one), and free regular slots and a
    /// vacant optimistic slot go to interested choked peers (by the same ranking as
    /// [`Choker::rechoke`]). Call when an unchoked peer loses interest or leaves, or a
    /// choked one becomes interested; the re-evaluation timers are left alone.
    pub fn fill(
        &mut self,
        peers: &[ChokerPeer],
        seeding: bool,
        now: Instant,
        rng: &mut impl Rng,
    ) -> ChokeDecision {
        let wants = |p: &ChokerPeer| p.interested && !p.is_seed;
        let mut choke: Vec<PeerKey> = peers
            .iter()
            .filter(|p| p.unchoked && !wants(p))
            .map(|p| p.key)
            .collect();
        // Idle slots go to waiting peers, as many as there are waiting.
        let waiting = peers
            .iter()
            .filter(|p| !p.unchoked && wants(p) && (seeding || !p.snubbed))
            .count();
        choke.extend(
            peers
                .iter()
                .filter(|p| p.unchoked && wants(p) && p.idle)
                .take(waiting)
                .map(|p| p.key),
        );
        let kept = |p: &ChokerPeer| p.unchoked && wants(p) && !choke.contains(&p.key);
        // The optimistic unchoke keeps its slot while it is still unchoked and interested.
        if !self
            .optimistic
            .is_some_and(|k| peers.iter().any(|p| p.key == k && kept(p)))
        {
            self.optimistic = None;
        }
        let mut regular: Vec<PeerKey> = peers
            .iter()
            .filter(|p| kept(p) && Some(p.key) != self.optimistic)
            .map(|p| p.key)
            .collect();
        let mut unchoke = Vec::new();
        let slots = self.regular_slots();
        if regular.len() < slots {
            let ranked = rank(
                peers
                    .iter()
                    .filter(|p| !p.unchoked && wants(p) && (seeding || !p.snubbed)),
                seeding,
                rng,
            );
            for p in ranked {
                if regular.len() >= slots {
                    break;
                }
                regular.push(p.key);
                unchoke.push(p.key);
            }
        }
        if self.optimistic.is_none() {
            let choked: Vec<ChokerPeer> = peers.iter().filter(|p| !p.unchoked).copied().collect();
            self.optimistic = self.draw_optimistic(&choked, &regular, now, rng);
            if let Some(k) = self.optimistic {
                unchoke.push(k);
                self.next_optimistic = Some(now + self.config.optimistic_interval);
            }
        }
        ChokeDecision {
            unchoke,
            choke,
            optimistic: self.optimistic,
        }
    }

    fn draw_optimistic(
        &self,
        peers: &[ChokerPeer],
        regular: &[PeerKey],
        now: Instant,
        rng: &mut impl Rng,
    ) -> Option<PeerKey> {
        let weight = |p: &ChokerPeer| {
            if now.saturating_duration_since(p.connected_at) < self.config.new_peer_window {
                self.config.new_peer_weight.max(1)
            } else {
                1
            }
        };
        let pool: Vec<(&ChokerPeer, u32)> = peers
            .iter()
            .filter(|p| p.interested && !p.is_seed && !p.idle && !regular.contains(&p.key))
            .map(|p| (p, weight(p)))
            .collect();
        // Prefer someone other than the current optimistic when there is a choice.
        let pool: Vec<(&ChokerPeer, u32)> = if pool.len() > 1 {
            pool.into_iter()
                .filter(|(p, _)| Some(p.key) != self.optimistic)
                .collect()
        } else {
            pool
        };
        let total: u64 = pool.iter().map(|(_, w)| u64::from(*w)).sum();
        if total == 0 {
            return None;
        }
        let mut ticket = rng.gen_range(0..total);
        for (p, w) in pool {
            if ticket < u64::from(w) {
                return Some(p.key);
            }
            ticket -= u64::from(w);
        }
        None
    }
}

/// `candidates` best first: by download rate (upload rate while seeding), equal rates in
/// random order (shuffled, then a stable sort), peers idling in their slot after every
/// other.
fn rank<'a>(
    candidates: impl Iterator<Item = &'a ChokerPeer>,
    seeding: bool,
    rng: &mut impl Rng,
) -> Vec<&'a ChokerPeer> {
    let mut ranked: Vec<&ChokerPeer> = candidates.collect();
    ranked.shuffle(rng);
    ranked.sort_by_key(|p| {
        let rate = if seeding {
            p.upload_rate
        } else {
            p.download_rate
        };
        (p.idle, std::cmp::Reverse(rate))
    });
    ranked
}

#[cfg(test)]
#[path = "choker_tests.rs"]
mod tests;

//! The registry: every torrent the tracker knows and its swarms, as a plain struct with
//! no I/O, no clock and no randomness of its own (time and the RNG are passed in).
//!
//! Inputs: [`Registry::announce`], [`Registry::scrape`], [`Registry::expire`].
//!
//! Limits, and what happens when they are reached:
//! - `max_torrents`: an announce for a new torrent is refused with a failure reason
//!   ([`AnnounceError::TooManyTorrents`]); known torrents keep working.
//! - `max_peers_per_torrent` and `max_peers_total`: a *new* peer is not stored (existing
//!   entries are never evicted, they expire); its announce still succeeds and it still gets
//!   a peer list, so it can join the swarm, it is just not handed to others until room frees.
//! - Empty torrents are dropped by [`Registry::expire`] (their `downloaded` count with them).
//!
//! A completed download is counted once per peer (peer id, IP) and torrent: on event
//! `completed`, or when a peer stored as a leecher announces `left=0` (with any event,
//! `stopped` included). The torrent remembers who was counted, so a peer that stops and
//! announces again (or whose `completed` arrives after its `stopped`) is not counted twice.
//!
//! Peers are identified by (peer id, IP). IPv4 and IPv6 peers of a torrent live in separate
//! swarms and an announce is answered with peers of its own address family (BEP 7: a
//! dual-stack client announces once per family).

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use rand::Rng;

use crate::fast_hash::{FastHashBuilder, FastMap};
use crate::swarm::{Peer, PeerKey, PeerSample, Swarm, Upsert};
use crate::types::{InfoHash, PeerId};

/// The announce `event` (BEP 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Event {
    /// A regular re-announce.
    #[default]
    None,
    /// The download finished.
    Completed,
    /// The first announce of a session.
    Started,
    /// The client is leaving the swarm.
    Stopped,
}

/// An announce, already validated by a front end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnnounceRequest {
    /// Torrent.
    pub info_hash: InfoHash,
    /// Announcing peer's id.
    pub peer_id: PeerId,
    /// Address others should dial: the socket's IP (or `ip` if allowed) and the `port` param.
    pub addr: SocketAddr,
    /// What happened.
    pub event: Event,
    /// Bytes still missing; 0 means seeder.
    pub left: u64,
    /// Bytes uploaded this session (accepted, not used).
    pub uploaded: u64,
    /// Bytes downloaded this session (accepted, not used).
    pub downloaded: u64,
    /// Peers wanted; `None` means the configured default.
    pub numwant: Option<u32>,
}

/// The answer to an announce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnnounceResponse {
    /// Seconds until the next regular announce.
    pub interval: u32,
    /// Seconds clients must wait between announces.
    pub min_interval: u32,
    /// Seeders of this torrent (both families).
    pub complete: u32,
    /// Leechers of this torrent (both families).
    pub incomplete: u32,
    /// Completed downloads counted.
    pub downloaded: u32,
    /// Peers to try, all of the asker's address family.
    pub peers: Vec<ResponsePeer>,
}

/// The answer to an announce without its peers (see [`Registry::announce_into`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnnounceCounts {
    /// Seconds until the next regular announce.
    pub interval: u32,
    /// Seconds clients must wait between announces.
    pub min_interval: u32,
    /// Seeders of this torrent (both families).
    pub complete: u32,
    /// Leechers of this torrent (both families).
    pub incomplete: u32,
    /// Completed downloads counted.
    pub downloaded: u32,
}

/// A peer in a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponsePeer {
    /// Its peer id (for the non-compact dictionary model).
    pub id: PeerId,
    /// Where to dial it.
    pub addr: SocketAddr,
}

/// Seeders, completed downloads and leechers of one torrent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ScrapeCounts {
    /// Seeders.
    pub complete: u32,
    /// Completed downloads counted.
    pub downloaded: u32,
    /// Leechers.
    pub incomplete: u32,
}

/// Why an announce was refused; `Display` is the failure reason sent to the client.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum AnnounceError {
    /// The whitelist is on and does not hold this info-hash.
    #[error("torrent not registered with this tracker")]
    NotWhitelisted,
    /// The torrent is new and the tracker already tracks `max_torrents`.
    #[error("tracker is full: too many torrents")]
    TooManyTorrents,
}

/// Limits and timings of a registry.
#[derive(Clone, Debug)]
pub struct RegistryConfig {
    /// Announce interval sent to clients.
    pub interval: Duration,
    /// Minimum announce interval sent to clients.
    pub min_interval: Duration,
    /// A peer not heard from for this long is dropped.
    pub peer_timeout: Duration,
    /// Peers returned when the client does not say.
    pub default_numwant: u32,
    /// Most peers returned in one reply.
    pub max_numwant: u32,
    /// Most torrents tracked.
    pub max_torrents: usize,
    /// Most peers stored per torrent (both families together).
    pub max_peers_per_torrent: usize,
    /// Most peers stored overall.
    pub max_peers_total: usize,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            interval: Duration::from_secs(1800),
            min_interval: Duration::from_secs(60),
            peer_timeout: Duration::from_secs(2 * 1800 + 60),
            default_numwant: 50,
            max_numwant: 200,
            max_torrents: 100_000,
            max_peers_per_torrent: 50_000,
            max_peers_total: 2_000_000,
        }
    }
}

/// Totals over the whole registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize)]
pub struct RegistryTotals {
    /// Torrents tracked.
    pub torrents: usize,
    /// Seeders over all torrents.
    pub seeders: usize,
    /// Leechers over all torrents.
    pub leechers: usize,
    /// Completed downloads counted over tracked torrents.
    pub completed: u64,
    /// New peers not stored because a peer limit was reached (since start).
    pub peers_refused: u64,
    /// Announces refused because `max_torrents` was reached (since start).
    pub torrents_refused: u64,
}

#[derive(Debug)]
struct Torrent {
    v4: Swarm,
    v6: Swarm,
    completed: u32,
    /// The peers counted in `completed` (kept after they leave the swarm).
    counted: HashSet<PeerKey, FastHashBuilder>,
}

impl Default for Torrent {
    fn default() -> Self {
        Torrent {
            v4: Swarm::default(),
            v6: Swarm::ipv6(),
            completed: 0,
            counted: HashSet::default(),
        }
    }
}

impl Torrent {
    fn counts(&self) -> ScrapeCounts {
        ScrapeCounts {
            complete: (self.v4.seeders() + self.v6.seeders()) as u32,
            downloaded: self.completed,
            incomplete: (self.v4.leechers() + self.v6.leechers()) as u32,
        }
    }

    fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }
}

/// Every torrent and its peers.
#[derive(Debug)]
pub struct Registry {
    config: RegistryConfig,
    torrents: FastMap<InfoHash, Torrent>,
    whitelist: Option<HashSet<InfoHash>>,
    peers: usize,
    seeders: usize,
    peers_refused: u64,
    torrents_refused: u64,
}

/// Maps an IPv4-mapped IPv6 address to plain IPv4, so one host is one peer.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

impl Registry {
    /// An empty registry; `whitelist: Some(..)` makes it a private tracker.
    pub fn new(config: RegistryConfig, whitelist: Option<HashSet<InfoHash>>) -> Registry {
        Registry {
            config,
            torrents: FastMap::default(),
            whitelist,
            peers: 0,
            seeders: 0,
            peers_refused: 0,
            torrents_refused: 0,
        }
    }

    /// Replaces the whitelist (`None` turns it off). Tracked torrents no longer listed
    /// are dropped.
    pub fn set_whitelist(&mut self, whitelist: Option<HashSet<InfoHash>>) {
        if let Some(list) = &whitelist {
            let gone: Vec<InfoHash> = self
                .torrents
                .keys()
                .filter(|h| !list.contains(h))
                .copied()
                .collect();
            for h in gone {
                if let Some(t) = self.torrents.remove(&h) {
                    self.forget(&t);
                }
            }
        }
        self.whitelist = whitelist;
    }

    fn forget(&mut self, t: &Torrent) {
        self.peers -= t.len();
        self.seeders -= t.v4.seeders() + t.v6.seeders();
    }

    /// The configuration in use.
    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    /// Handles one announce at time `now` and returns the full answer (allocates the peer
    /// list; the front ends use [`Registry::announce_into`]).
    pub fn announce<R: Rng + ?Sized>(
        &mut self,
        req: &AnnounceRequest,
        now: Instant,
        rng: &mut R,
    ) -> Result<AnnounceResponse, AnnounceError> {
        let mut sample = PeerSample::new(true);
        let c = self.announce_into(req, now, rng, &mut sample)?;
        Ok(AnnounceResponse {
            interval: c.interval,
            min_interval: c.min_interval,
            complete: c.complete,
            incomplete: c.incomplete,
            downloaded: c.downloaded,
            peers: (0..sample.len())
                .map(|i| ResponsePeer {
                    id: sample.ids[i],
                    addr: sample.addr(i),
                })
                .collect(),
        })
    }

    /// Handles one announce at time `now`, appending the peers for the reply to `peers`
    /// (compact, plus ids if `peers` was made to keep them): the hot path, no allocation
    /// once `peers` has grown.
    pub fn announce_into<R: Rng + ?Sized>(
        &mut self,
        req: &AnnounceRequest,
        now: Instant,
        rng: &mut R,
        peers: &mut PeerSample,
    ) -> Result<AnnounceCounts, AnnounceError> {
        if let Some(list) = &self.whitelist {
            if !list.contains(&req.info_hash) {
                return Err(AnnounceError::NotWhitelisted);
            }
        }
        let ip = canonical_ip(req.addr.ip());
        let key = PeerKey {
            id: req.peer_id,
            ip,
        };
        let seeder = req.left == 0;
        let stopping = req.event == Event::Stopped;
        let (interval, min_interval) = (
            self.config.interval.as_secs() as u32,
            self.config.min_interval.as_secs() as u32,
        );

        let full = self.torrents.len() >= self.config.max_torrents;
        let room_overall = self.peers < self.config.max_peers_total;
        let max_per_torrent = self.config.max_peers_per_torrent;
        // One hash lookup for known torrents (the common case), the entry API otherwise.
        let torrent = match self.torrents.entry(req.info_hash) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(_) if stopping => {
                // Nothing to remove, and no reason to create a torrent for it.
                return Ok(AnnounceCounts {
                    interval,
                    min_interval,
                    complete: 0,
                    incomplete: 0,
                    downloaded: 0,
                });
            }
            std::collections::hash_map::Entry::Vacant(_) if full => {
                self.torrents_refused += 1;
                return Err(AnnounceError::TooManyTorrents);
            }
            std::collections::hash_map::Entry::Vacant(e) => e.insert(Torrent::default()),
        };
        let room = room_overall && torrent.len() < max_per_torrent;
        let swarm = if ip.is_ipv4() {
            &mut torrent.v4
        } else {
            &mut torrent.v6
        };

        if stopping {
            if let Some((old, was_seeder)) = swarm.remove(&key) {
                self.peers -= 1;
                self.seeders -= usize::from(was_seeder);
                // A leecher that leaves finished (aria2c with --seed-time=0 sends only
                // `stopped` with left=0, never `completed`).
                if !was_seeder && seeder && !old.counted_complete && torrent.counted.insert(key) {
                    torrent.completed = torrent.completed.saturating_add(1);
                }
            }
        } else {
            let before = swarm
                .get_with_role(&key)
                .map(|(p, was_seeder)| (p.counted_complete, was_seeder));
            // Counted once per peer: on `completed`, or when a known leecher reports
            // left=0 without saying `completed`.
            let count_complete = match before {
                Some((counted, was_seeder)) => {
                    !counted && (req.event == Event::Completed || (!was_seeder && seeder))
                }
                None => req.event == Event::Completed,
            } && !torrent.counted.contains(&key);
            let peer = Peer {
                key,
                port: req.addr.port(),
                last_seen: now,
                counted_complete: count_complete,
            };
            match swarm.upsert(peer, seeder, room) {
                Some(Upsert::Added) => {
                    self.peers += 1;
                    self.seeders += usize::from(seeder);
                }
                Some(Upsert::Updated) => {
                    let was_seeder = before.map(|(_, s)| s).unwrap_or(seeder);
                    self.seeders = self.seeders + usize::from(seeder) - usize::from(was_seeder);
                }
                None => self.peers_refused += 1,
            }
            if count_complete {
                torrent.counted.insert(key);
                torrent.completed = torrent.completed.saturating_add(1);
            }
            let want = req
                .numwant
                .unwrap_or(self.config.default_numwant)
                .min(self.config.max_numwant) as usize;
            let swarm = if ip.is_ipv4() {
                &torrent.v4
            } else {
                &torrent.v6
            };
            swarm.sample(&key, seeder, want, rng, peers);
        }
        let counts = torrent.counts();
        if torrent.len() == 0 && counts.downloaded == 0 {
            self.torrents.remove(&req.info_hash);
        }
        Ok(AnnounceCounts {
            interval,
            min_interval,
            complete: counts.complete,
            incomplete: counts.incomplete,
            downloaded: counts.downloaded,
        })
    }

    /// Counts for each hash, in order; unknown (or not whitelisted) torrents count zero.
    pub fn scrape(&self, hashes: &[InfoHash]) -> Vec<ScrapeCounts> {
        hashes
            .iter()
            .map(|h| {
                self.torrents
                    .get(h)
                    .map(Torrent::counts)
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Drops peers not heard from within the peer timeout, then empty torrents.
    pub fn expire(&mut self, now: Instant) {
        let Some(cutoff) = now.checked_sub(self.config.peer_timeout) else {
            return;
        };
        let mut removed_peers = 0;
        let mut removed_seeders = 0;
        self.torrents.retain(|_, t| {
            for swarm in [&mut t.v4, &mut t.v6] {
                let (s, l) = swarm.expire(cutoff);
                removed_seeders += s;
                removed_peers += s + l;
            }
            t.len() > 0
        });
        self.peers -= removed_peers;
        self.seeders -= removed_seeders;
    }

    /// Totals, in O(1) but for `completed` (O(torrents)).
    pub fn totals(&self) -> RegistryTotals {
        RegistryTotals {
            torrents: self.torrents.len(),
            seeders: self.seeders,
            leechers: self.peers - self.seeders,
            completed: self.torrents.values().map(|t| u64::from(t.completed)).sum(),
            peers_refused: self.peers_refused,
            torrents_refused: self.torrents_refused,
        }
    }

    /// Torrents and peers stored, in O(1).
    pub fn sizes(&self) -> (usize, usize) {
        (self.torrents.len(), self.peers)
    }
}

//! Local Service Discovery (BEP 14), sans-I/O: when to announce which swarms, and which
//! received announces to believe.
//!
//! A torrent is announced as soon as it is added and then every
//! [`LSD_ANNOUNCE_INTERVAL`]; torrents due together share one datagram (up to
//! [`MAX_LSD_HASHES`]). An announce from another client for a torrent we serve is
//! answered with an early announce of it (at most once per [`REPLY_GAP`] per torrent),
//! so a newcomer hears of the clients already there instead of waiting for their next
//! periodic announce, and can dial them (a magnet download cannot take connections yet). Received announces carrying our own cookie are ours, looped
//! back by the multicast group, and are dropped; so are announces from a source that
//! sends more than [`MAX_ANNOUNCES_PER_SOURCE`] per [`SOURCE_WINDOW`], and info-hashes we
//! do not serve. The table of sources is bounded ([`MAX_SOURCES`]).
//!
//! The network driver owns the multicast socket: it calls [`LsdState::poll_announce`]
//! until `None` and sleeps until [`LsdState::next_deadline`], and feeds every datagram
//! to [`LsdState::on_datagram`]. Time and the cookie are passed in.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bitswarm_wire::lsd::MAX_LSD_HASHES;
use bitswarm_wire::LsdAnnounce;

/// Time between two announces of one torrent (libtorrent and WebTorrent use 5 minutes).
pub const LSD_ANNOUNCE_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// Least time between two early announces of one torrent made in answer to others.
pub const REPLY_GAP: Duration = Duration::from_secs(60);
/// Window over which a source's announces are counted.
pub const SOURCE_WINDOW: Duration = Duration::from_secs(60);
/// Announces taken from one source IP per window (a client announcing a few dozen
/// torrents in batches stays well under it; a flooder does not get through).
pub const MAX_ANNOUNCES_PER_SOURCE: u32 = 20;
/// Sources remembered at once; when full, windows that have ended are forgotten first,
/// and a new source is refused while every remembered one is still in its window.
pub const MAX_SOURCES: usize = 1024;

/// The LSD state of one session.
#[derive(Debug)]
pub struct LsdState {
    cookie: String,
    port: u16,
    /// The torrents we announce: when each is next due, and when it was last
    /// announced early in answer to another client.
    torrents: BTreeMap<[u8; 20], (Instant, Option<Instant>)>,
    /// Per source IP: when its window started and how many announces it sent in it.
    sources: HashMap<IpAddr, (Instant, u32)>,
}

/// What a received datagram gave us.
#[derive(Debug, PartialEq, Eq)]
pub enum LsdReceived {
    /// Peers for torrents we serve: `(info_hash, address)`.
    Peers(Vec<([u8; 20], SocketAddr)>),
    /// Our own announce, looped back.
    Own,
    /// Not an announce, or refused (over the rate, too many sources).
    Ignored,
}

impl LsdState {
    /// State for a session listening on TCP `port`, marking its announces with `cookie`
    /// (a few random characters; at most 64, without line breaks).
    pub fn new(port: u16, cookie: String) -> Self {
        LsdState {
            cookie,
            port,
            torrents: BTreeMap::new(),
            sources: HashMap::new(),
        }
    }

    /// Starts announcing `info_hash`, first at `now`.
    pub fn add(&mut self, info_hash: [u8; 20], now: Instant) {
        self.torrents.entry(info_hash).or_insert((now, None));
    }

    /// Stops announcing `info_hash` and taking peers for it.
    pub fn remove(&mut self, info_hash: &[u8; 20]) {
        self.torrents.remove(info_hash);
    }

    /// Whether `info_hash` is announced.
    pub fn contains(&self, info_hash: &[u8; 20]) -> bool {
        self.torrents.contains_key(info_hash)
    }

    /// The next announce due at `now`, covering up to [`MAX_LSD_HASHES`] torrents (each
    /// then due again after [`LSD_ANNOUNCE_INTERVAL`]); `None` when nothing is due.
    pub fn poll_announce(&mut self, now: Instant) -> Option<LsdAnnounce> {
        let due: Vec<[u8; 20]> = self
            .torrents
            .iter()
            .filter(|(_, (at, _))| *at <= now)
            .map(|(h, _)| *h)
            .take(MAX_LSD_HASHES)
            .collect();
        if due.is_empty() {
            return None;
        }
        for h in &due {
            if let Some((at, _)) = self.torrents.get_mut(h) {
                *at = now + LSD_ANNOUNCE_INTERVAL;
            }
        }
        Some(LsdAnnounce {
            port: self.port,
            info_hashes: due,
            cookie: Some(self.cookie.clone()),
        })
    }

    /// When the next announce is due (`None`: no torrent).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.torrents.values().map(|(at, _)| *at).min()
    }

    /// A datagram received from `from` at `now`.
    pub fn on_datagram(&mut self, from: SocketAddr, datagram: &[u8], now: Instant) -> LsdReceived {
        let Ok(a) = LsdAnnounce::parse(datagram) else {
            return LsdReceived::Ignored;
        };
        if a.cookie.as_deref() == Some(self.cookie.as_str()) {
            return LsdReceived::Own;
        }
        if !self.admit(from.ip(), now) {
            return LsdReceived::Ignored;
        }
        let peer = SocketAddr::new(from.ip(), a.port);
        let mut peers = Vec::new();
        for h in a.info_hashes {
            let Some((at, replied)) = self.torrents.get_mut(&h) else {
                continue;
            };
            if !replied.is_some_and(|r| now.saturating_duration_since(r) < REPLY_GAP) {
                *at = (*at).min(now);
                *replied = Some(now);
            }
            peers.push((h, peer));
        }
        LsdReceived::Peers(peers)
    }

    /// Counts an announce from `ip` against its window; false when over the limit.
    fn admit(&mut self, ip: IpAddr, now: Instant) -> bool {
        let ended = |start: Instant| now.saturating_duration_since(start) >= SOURCE_WINDOW;
        if !self.sources.contains_key(&ip) && self.sources.len() >= MAX_SOURCES {
            self.sources.retain(|_, (start, _)| !ended(*start));
            if self.sources.len() >= MAX_SOURCES {
                return false;
            }
        }
        let entry = self.sources.entry(ip).or_insert((now, 0));
        if ended(entry.0) {
            *entry = (now, 0);
        }
        if entry.1 >= MAX_ANNOUNCES_PER_SOURCE {
            return false;
        }
        entry.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "239.192.152.143:6771";

    fn announce(port: u16, hashes: &[[u8; 20]], cookie: &str) -> Vec<u8> {
        LsdAnnounce {
            port,
            info_hashes: hashes.to_vec(),
            cookie: Some(cookie.into()),
        }
        .encode(HOST)
    }

    fn from(ip: [u8; 4]) -> SocketAddr {
        SocketAddr::from((ip, 6771))
    }

    #[test]
    fn announces_when_added_then_every_interval_in_batches() {
        let t0 = Instant::now();
        let mut s = LsdState::new(6881, "me".into());
        assert_eq!(s.poll_announce(t0), None);
        assert_eq!(s.next_deadline(), None);
        for i in 0..25u8 {
            s.add([i; 20], t0);
        }
        let first = s.poll_announce(t0).expect("due");
        assert_eq!(first.port, 6881);
        assert_eq!(first.cookie.as_deref(), Some("me"));
        assert_eq!(first.info_hashes.len(), MAX_LSD_HASHES);
        let second = s.poll_announce(t0).expect("the rest");
        assert_eq!(second.info_hashes.len(), 5);
        assert_eq!(s.poll_announce(t0), None);
        assert_eq!(s.next_deadline(), Some(t0 + LSD_ANNOUNCE_INTERVAL));
        let later = t0 + LSD_ANNOUNCE_INTERVAL - Duration::from_secs(1);
        assert_eq!(s.poll_announce(later), None);
        assert!(s.poll_announce(t0 + LSD_ANNOUNCE_INTERVAL).is_some());
        // Adding a torrent again does not move its schedule; removing it stops it.
        s.add([0; 20], t0 + LSD_ANNOUNCE_INTERVAL);
        s.remove(&[1; 20]);
        assert!(!s.contains(&[1; 20]));
        let t2 = t0 + 2 * LSD_ANNOUNCE_INTERVAL;
        let n: usize = std::iter::from_fn(|| s.poll_announce(t2))
            .map(|a| a.info_hashes.len())
            .sum();
        assert_eq!(n, 24);
    }

    #[test]
    fn takes_peers_for_our_torrents_from_others_only() {
        let t0 = Instant::now();
        let mut s = LsdState::new(6881, "me".into());
        s.add([7; 20], t0);
        let theirs = announce(51413, &[[7; 20], [8; 20]], "them");
        assert_eq!(
            s.on_datagram(from([10, 0, 0, 5]), &theirs, t0),
            LsdReceived::Peers(vec![([7; 20], SocketAddr::from(([10, 0, 0, 5], 51413)))])
        );
        let own = announce(6881, &[[7; 20]], "me");
        assert_eq!(
            s.on_datagram(from([10, 0, 0, 1]), &own, t0),
            LsdReceived::Own
        );
        assert_eq!(
            s.on_datagram(from([10, 0, 0, 5]), b"GET / HTTP/1.1\r\n\r\n", t0),
            LsdReceived::Ignored
        );
        // An announce without a cookie is someone else's.
        let no_cookie = LsdAnnounce {
            port: 7000,
            info_hashes: vec![[7; 20]],
            cookie: None,
        }
        .encode(HOST);
        assert!(matches!(
            s.on_datagram(from([10, 0, 0, 6]), &no_cookie, t0),
            LsdReceived::Peers(p) if p.len() == 1
        ));
    }

    #[test]
    fn an_announce_from_another_client_is_answered_at_most_once_per_gap() {
        let t0 = Instant::now();
        let mut s = LsdState::new(6881, "me".into());
        s.add([7; 20], t0);
        s.add([9; 20], t0);
        while s.poll_announce(t0).is_some() {}
        let t1 = t0 + Duration::from_secs(5);
        assert_eq!(s.poll_announce(t1), None);
        let newcomer = announce(51413, &[[7; 20]], "them");
        assert!(matches!(
            s.on_datagram(from([10, 0, 0, 5]), &newcomer, t1),
            LsdReceived::Peers(_)
        ));
        let reply = s.poll_announce(t1).expect("an early announce in answer");
        assert_eq!(
            reply.info_hashes,
            vec![[7; 20]],
            "only the torrent asked about"
        );
        assert_eq!(s.poll_announce(t1), None);
        // Another announce within the gap gets no second answer; after it, it does.
        let t2 = t1 + REPLY_GAP - Duration::from_secs(1);
        s.on_datagram(from([10, 0, 0, 6]), &newcomer, t2);
        assert_eq!(s.poll_announce(t2), None);
        let t3 = t1 + REPLY_GAP;
        s.on_datagram(from([10, 0, 0, 6]), &newcomer, t3);
        assert!(s.poll_announce(t3).is_some());
        // Our own announces are not answered.
        let t4 = t3 + REPLY_GAP;
        s.on_datagram(from([10, 0, 0, 1]), &announce(6881, &[[9; 20]], "me"), t4);
        assert_eq!(s.poll_announce(t4), None);
    }

    #[test]
    fn a_flooding_source_is_cut_off_for_its_window() {
        let t0 = Instant::now();
        let mut s = LsdState::new(6881, "me".into());
        s.add([7; 20], t0);
        let d = announce(51413, &[[7; 20]], "them");
        let flooder = from([10, 0, 0, 9]);
        for _ in 0..MAX_ANNOUNCES_PER_SOURCE {
            assert!(matches!(
                s.on_datagram(flooder, &d, t0),
                LsdReceived::Peers(_)
            ));
        }
        assert_eq!(s.on_datagram(flooder, &d, t0), LsdReceived::Ignored);
        // Others are not affected, and the flooder is heard again in its next window.
        assert!(matches!(
            s.on_datagram(from([10, 0, 0, 10]), &d, t0),
            LsdReceived::Peers(_)
        ));
        assert!(matches!(
            s.on_datagram(flooder, &d, t0 + SOURCE_WINDOW),
            LsdReceived::Peers(_)
        ));
    }

    #[test]
    fn the_source_table_is_bounded() {
        let t0 = Instant::now();
        let mut s = LsdState::new(6881, "me".into());
        s.add([7; 20], t0);
        let d = announce(51413, &[[7; 20]], "them");
        for i in 0..MAX_SOURCES as u32 {
            let ip = IpAddr::from((0x0a00_0000u32 + i).to_be_bytes());
            assert!(matches!(
                s.on_datagram(SocketAddr::new(ip, 1), &d, t0),
                LsdReceived::Peers(_)
            ));
        }
        assert_eq!(s.sources.len(), MAX_SOURCES);
        let newcomer = from([192, 168, 1, 1]);
        assert_eq!(s.on_datagram(newcomer, &d, t0), LsdReceived::Ignored);
        // Once the old windows end, they make room.
        assert!(matches!(
            s.on_datagram(newcomer, &d, t0 + SOURCE_WINDOW),
            LsdReceived::Peers(_)
        ));
        assert!(s.sources.len() <= MAX_SOURCES);
    }
}

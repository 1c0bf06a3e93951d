//! Peer exchange (BEP 11 `ut_pex`) with one peer, sans-I/O: what to tell it (peers
//! added and dropped since the last message, at most once a minute, at most 50 of each)
//! and what to believe of what it tells us (bounded per message and per peer; our own
//! address, unusable addresses and messages sent too often are ignored).
//!
//! The driver calls [`PexState::poll_send`] with the peers it is connected to now and
//! [`PexState::on_receive`] with each decoded message; time is passed in.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bitswarm_wire::PexMessage;

/// Least time between two messages we send to one peer (BEP 11: once a minute).
pub const PEX_INTERVAL: Duration = Duration::from_secs(60);
/// Most peers in the `added` lists (IPv4 and IPv6 together) of one message we send.
pub const MAX_ADDED: usize = 50;
/// Most peers in the `dropped` lists of one message we send.
pub const MAX_DROPPED: usize = 50;
/// Messages from a peer closer together than this are ignored (it should wait a
/// minute; some slack for timers).
pub const MIN_RECEIVE_GAP: Duration = Duration::from_secs(30);
/// Most new addresses taken from one message.
pub const MAX_TAKEN_PER_MESSAGE: usize = 50;
/// Most addresses one peer may give us over its connection.
pub const MAX_TAKEN_PER_PEER: usize = 200;

/// PEX with one connected peer.
#[derive(Debug, Clone, Default)]
pub struct PexState {
    /// The peers this peer was told about (added and not since dropped).
    told: HashSet<SocketAddr>,
    last_sent: Option<Instant>,
    last_received: Option<Instant>,
    /// Addresses taken from this peer so far.
    taken: HashSet<SocketAddr>,
}

impl PexState {
    /// A peer we have told nothing yet.
    pub fn new() -> Self {
        PexState::default()
    }

    /// The message to send now, if one is due: `current` are the peers we are
    /// connected to (the address they can be reached at, and BEP 11 flags), without
    /// this peer itself. `None` before [`PEX_INTERVAL`] has passed
    /// since the last message, or when nothing changed. Peers over the limits go in a
    /// later message.
    pub fn poll_send(&mut self, now: Instant, current: &[(SocketAddr, u8)]) -> Option<PexMessage> {
        if self
            .last_sent
            .is_some_and(|t| now.saturating_duration_since(t) < PEX_INTERVAL)
        {
            return None;
        }
        let mut seen = HashSet::with_capacity(current.len());
        let mut added = Vec::new();
        for (addr, flags) in current {
            if !seen.insert(*addr) {
                continue;
            }
            if added.len() < MAX_ADDED && !self.told.contains(addr) {
                added.push((*addr, *flags));
            }
        }
        let mut dropped: Vec<SocketAddr> = self
            .told
            .iter()
            .filter(|a| !seen.contains(*a))
            .copied()
            .collect();
        dropped.sort();
        dropped.truncate(MAX_DROPPED);
        if added.is_empty() && dropped.is_empty() {
            return None;
        }
        for (a, _) in &added {
            self.told.insert(*a);
        }
        for a in &dropped {
            self.told.remove(a);
        }
        self.last_sent = Some(now);
        Some(PexMessage { added, dropped })
    }

    /// A message from the peer: the addresses worth dialling (new, usable, not
    /// `own`, within this peer's budget). Dropped peers are ignored (we do not forget
    /// peers on someone else's word); so is a message sent too soon after the last.
    pub fn on_receive(
        &mut self,
        msg: &PexMessage,
        now: Instant,
        own: &dyn Fn(&SocketAddr) -> bool,
    ) -> Vec<SocketAddr> {
        if self
            .last_received
            .is_some_and(|t| now.saturating_duration_since(t) < MIN_RECEIVE_GAP)
        {
            return Vec::new();
        }
        self.last_received = Some(now);
        let mut out = Vec::new();
        for (addr, _) in &msg.added {
            if out.len() >= MAX_TAKEN_PER_MESSAGE || self.taken.len() >= MAX_TAKEN_PER_PEER {
                break;
            }
            if !usable(addr) || own(addr) || self.taken.contains(addr) {
                continue;
            }
            self.taken.insert(*addr);
            out.push(*addr);
        }
        out
    }

    /// How many addresses this peer gave us so far.
    pub fn taken(&self) -> usize {
        self.taken.len()
    }
}

/// Whether an address from PEX could be a peer: a port, a unicast, specified IP.
pub fn usable(addr: &SocketAddr) -> bool {
    let ip = addr.ip();
    addr.port() != 0 && !ip.is_unspecified() && !ip.is_multicast() && !is_broadcast(addr)
}

fn is_broadcast(addr: &SocketAddr) -> bool {
    matches!(addr.ip(), std::net::IpAddr::V4(v4) if v4.is_broadcast())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitswarm_wire::pex::{FLAG_REACHABLE, FLAG_SEED};

    fn a(port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, 1], port))
    }

    fn none(_: &SocketAddr) -> bool {
        false
    }

    #[test]
    fn first_message_at_once_then_at_most_once_a_minute_with_changes() {
        let t0 = Instant::now();
        let mut s = PexState::new();
        let m = s
            .poll_send(t0, &[(a(1), FLAG_SEED), (a(2), FLAG_REACHABLE)])
            .expect("first message");
        assert_eq!(m.added, vec![(a(1), FLAG_SEED), (a(2), FLAG_REACHABLE)]);
        assert!(m.dropped.is_empty());
        // a(2) left, a(3) came: nothing before a minute.
        let now = [(a(1), 0), (a(3), 0)];
        assert!(s.poll_send(t0 + Duration::from_secs(59), &now).is_none());
        let m = s
            .poll_send(t0 + PEX_INTERVAL, &now)
            .expect("second message");
        assert_eq!(m.added, vec![(a(3), 0)]);
        assert_eq!(m.dropped, vec![a(2)]);
        // Nothing changed: no message.
        assert!(s.poll_send(t0 + 3 * PEX_INTERVAL, &now).is_none());
    }

    #[test]
    fn at_most_50_added_and_50_dropped_the_rest_later() {
        let t0 = Instant::now();
        let mut s = PexState::new();
        let many: Vec<(SocketAddr, u8)> = (1..=120).map(|p| (a(p), 0)).collect();
        let m1 = s.poll_send(t0, &many).unwrap();
        assert_eq!(m1.added.len(), MAX_ADDED);
        let m2 = s.poll_send(t0 + PEX_INTERVAL, &many).unwrap();
        assert_eq!(m2.added.len(), MAX_ADDED);
        assert!(m1.added.iter().all(|x| !m2.added.contains(x)));
        // Everyone leaves: 100 told, 50 dropped per message.
        let m3 = s.poll_send(t0 + 2 * PEX_INTERVAL, &[]).unwrap();
        assert_eq!((m3.added.len(), m3.dropped.len()), (0, MAX_DROPPED));
        let m4 = s.poll_send(t0 + 3 * PEX_INTERVAL, &[]).unwrap();
        assert_eq!(m4.dropped.len(), MAX_DROPPED);
        assert!(s.poll_send(t0 + 4 * PEX_INTERVAL, &[]).is_none());
    }

    #[test]
    fn received_peers_are_filtered_and_bounded() {
        let t0 = Instant::now();
        let mut s = PexState::new();
        let own = |x: &SocketAddr| *x == a(9);
        let msg = PexMessage {
            added: vec![
                (a(1), 0),
                (a(1), 0),
                (a(9), 0),
                (a(0), 0),
                ("0.0.0.0:5".parse().unwrap(), 0),
                ("224.0.0.1:5".parse().unwrap(), 0),
                ("255.255.255.255:5".parse().unwrap(), 0),
                ("[::1]:7".parse().unwrap(), 0),
            ],
            dropped: vec![a(2)],
        };
        let got = s.on_receive(&msg, t0, &own);
        assert_eq!(got, vec![a(1), "[::1]:7".parse().unwrap()]);
        // Too soon: ignored; later: only new addresses.
        let more = PexMessage {
            added: vec![(a(1), 0), (a(3), 0)],
            dropped: vec![],
        };
        assert!(s
            .on_receive(&more, t0 + Duration::from_secs(5), &none)
            .is_empty());
        assert_eq!(s.on_receive(&more, t0 + PEX_INTERVAL, &none), vec![a(3)]);
    }

    #[test]
    fn one_peer_cannot_flood_us() {
        let t0 = Instant::now();
        let mut s = PexState::new();
        let mut total = 0;
        for round in 0..10u16 {
            let msg = PexMessage {
                added: (0..150).map(|i| (a(1 + round * 150 + i), 0)).collect(),
                dropped: vec![],
            };
            let got = s.on_receive(&msg, t0 + PEX_INTERVAL * u32::from(round), &none);
            assert!(got.len() <= MAX_TAKEN_PER_MESSAGE);
            total += got.len();
        }
        assert_eq!(total, MAX_TAKEN_PER_PEER);
        assert_eq!(s.taken(), MAX_TAKEN_PER_PEER);
    }
}

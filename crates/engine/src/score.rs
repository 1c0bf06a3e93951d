//! Per-peer failure counting and the ban decision.

/// Default number of faults after which a peer is banned.
pub const DEFAULT_BAN_THRESHOLD: u32 = 3;

/// A fault attributed to a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// A piece the peer contributed to failed its hash check.
    HashFailure,
    /// The peer broke the protocol (bad message, oversized message, unrequested piece…).
    ProtocolError,
    /// A request or the connection timed out.
    Timeout,
}

/// Failure counters for one peer (kept by address, so they survive reconnects).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerScore {
    /// Hash failures of pieces the peer contributed to.
    pub hash_failures: u32,
    /// Protocol errors.
    pub protocol_errors: u32,
    /// Timeouts.
    pub timeouts: u32,
}

impl PeerScore {
    /// Counts one fault.
    pub fn record(&mut self, fault: Fault) {
        let counter = match fault {
            Fault::HashFailure => &mut self.hash_failures,
            Fault::ProtocolError => &mut self.protocol_errors,
            Fault::Timeout => &mut self.timeouts,
        };
        *counter = counter.saturating_add(1);
    }

    /// Total faults.
    pub fn failcount(&self) -> u32 {
        self.hash_failures
            .saturating_add(self.protocol_errors)
            .saturating_add(self.timeouts)
    }

    /// Whether the peer reached `threshold` faults and should be banned.
    pub fn should_ban(&self, threshold: u32) -> bool {
        self.failcount() >= threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bans_at_the_threshold() {
        let mut s = PeerScore::default();
        s.record(Fault::HashFailure);
        s.record(Fault::Timeout);
        assert!(!s.should_ban(DEFAULT_BAN_THRESHOLD));
        s.record(Fault::ProtocolError);
        assert_eq!(s.failcount(), 3);
        assert!(s.should_ban(DEFAULT_BAN_THRESHOLD));
        assert_eq!((s.hash_failures, s.protocol_errors, s.timeouts), (1, 1, 1));
    }

    #[test]
    fn counters_saturate() {
        let mut s = PeerScore {
            timeouts: u32::MAX,
            ..PeerScore::default()
        };
        s.record(Fault::Timeout);
        s.record(Fault::HashFailure);
        assert_eq!(s.failcount(), u32::MAX);
    }
}
